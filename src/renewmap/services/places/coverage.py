"""Coverage analysis for a community: which buildings and households live within walking
distance of a green or activity site (to choose where the next micro-garden should go)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.queries.places import community_by_code, layer_rows
from renewmap.errors import InvalidInput
from renewmap.spatial.coverage import walking_coverage
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.vocabulary import metric_epsg


def community_coverage(
    session: Session, *, community_code: str, radius_m: float = 300.0
) -> dict[str, Any]:
    if not 10 <= radius_m <= 5000:
        raise InvalidInput(
            "radius_m must be between 10 and 5000", key="coverage_radius", field="radius_m"
        )
    community = community_by_code(session, code=community_code)
    epsg = metric_epsg(community.metric_epsg, from_db(community.geom))
    rows = {
        k: layer_rows(session, kind=k, community_id=community.id)
        for k in ("building", "green", "site", "path")
    }
    buildings = [
        (b.number or f"id {b.id}", int(b.households or 0), from_db(b.geom), b.id)
        for b in rows["building"]
    ]
    destinations = [from_db(g.geom) for g in (*rows["green"], *rows["site"])]
    found = walking_coverage(
        [(label, hh, fp) for label, hh, fp, _ in buildings],
        destinations,
        [from_db(p.geom) for p in rows["path"]],
        epsg=epsg,
        radius_m=radius_m,
    )
    covered = [f for f in found if f.covered]
    households = sum(f.households for f in found)
    return {
        "community": community.code,
        "radius_m": radius_m,
        "buildings": len(found),
        "buildings_covered": len(covered),
        "share_buildings": round(len(covered) / len(found), 4) if found else None,
        "households": households,
        "households_covered": sum(f.households for f in covered),
        "share_households": round(sum(f.households for f in covered) / households, 4)
        if households
        else None,
        "features": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": bid,
                    "geometry": to_geojson(fp),
                    "properties": {
                        "building": f.building,
                        "households": f.households,
                        "distance_m": f.distance_m,
                        "covered": f.covered,
                        "method": f.method,
                    },
                }
                for (_, _, fp, bid), f in zip(buildings, found, strict=True)
            ],
        },
    }
