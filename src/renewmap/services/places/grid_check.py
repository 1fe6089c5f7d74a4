"""Grid-set validation of a stored community."""

from __future__ import annotations

from sqlalchemy.orm import Session

from renewmap.db.queries.places import (
    buildings_of_community,
    community_by_code,
    community_grids,
)
from renewmap.spatial.geometry import from_db
from renewmap.spatial.grids import GridSetReport, check_grid_set
from renewmap.vocabulary import metric_epsg


def validate_grids(
    session: Session, *, community_code: str, tolerance_m2: float = 1.0
) -> GridSetReport:
    community = community_by_code(session, code=community_code)
    geom = from_db(community.geom)
    grids = community_grids(session, community_id=community.id)
    codes = {g.id: g.code for g in grids}
    buildings = buildings_of_community(session, community_id=community.id)
    return check_grid_set(
        community_code=community.code,
        community_geom=geom,
        grids=[(g.code, from_db(g.geom)) for g in grids],
        buildings=[
            (b.id, b.number, from_db(b.geom), codes.get(b.grid_id) if b.grid_id else None)
            for b in buildings
        ],
        building_names=[b.name for b in buildings],
        community_name=community.name,
        epsg=metric_epsg(community.metric_epsg, geom),
        tolerance_m2=tolerance_m2,
    )
