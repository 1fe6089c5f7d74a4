"""The browser's setup flow (issue 15): a community's outline and buildings from an uploaded
file, a proposed grid partition, where the setup stands, and publishing.

A community made in the browser starts in the "setup" state: residents do not see it and no
pin is routed to it (db.queries.places filters it) until its admin publishes it. Every step
saves as it goes (the community, its buildings, grid drafts, invitations), so the page can be
left and picked up again at any step.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import Community
from renewmap.db.queries.places import (
    PUBLISHED,
    buildings_of_community,
    community_by_code,
    community_grids,
    community_has_grids,
    find_community,
    grid_drafts_of_community,
    layer_rows,
    list_communities,
)
from renewmap.errors import Conflict, ImportFailed, InvalidInput, NotFound
from renewmap.i18n import t
from renewmap.services.access.accounts import Principal
from renewmap.services.ingest import importer, osm
from renewmap.services.ingest.files import checked_upload
from renewmap.services.places import boundaries, branch_chain, organisation
from renewmap.services.places.communities import (
    require_setup_staff,
    subdistrict_ids_administered,
)
from renewmap.spatial import partition
from renewmap.spatial.crs import area_m2, to_metric, transform
from renewmap.spatial.geometry import (
    POLYGONAL,
    as_multi,
    from_db,
    polygonal_part,
    to_db,
    to_geojson,
)
from renewmap.vocabulary import Role, metric_epsg

SETUP = "setup"
MAX_UPLOAD = 20 * 1024 * 1024
OSM_SUFFIXES = (".osm", ".osm.gz", ".pbf", ".osm.pbf")
FILE_SUFFIXES = (".geojson", ".json", ".gpkg")
# Buildings near the outline (within this many metres) but mostly outside it are listed for a
# yes/no; farther ones are not the community's at all.
NEAR_M = 30.0
MAX_GRIDS = 50


# --- where the setup stands ------------------------------------------------------------------


def my_communities(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """The communities this admin may set up (their subdistricts' and their own), with state."""
    require_setup_staff(principal)
    subs = subdistrict_ids_administered(principal)
    own = {
        g.community_id
        for g in principal.roles
        if g.role == Role.COMMUNITY_ADMIN and g.community_id is not None
    }
    return [
        {"code": c.code, "name": c.name, "state": c.state}
        for c in list_communities(session)
        if c.id in own or (c.subdistrict_id is not None and c.subdistrict_id in subs)
    ]


def _community_for_admin(session: Session, principal: Principal, code: str) -> Community:
    community = community_by_code(session, code=code)
    boundaries.require_admin(session, principal, community)
    return community


def status(session: Session, *, principal: Principal, code: str) -> dict[str, Any]:
    """Every step of the setup and how far it has come: to show, and to pick it up again."""
    community = _community_for_admin(session, principal, code)
    buildings = buildings_of_community(session, community_id=community.id)
    drafts = len(grid_drafts_of_community(session, community_id=community.id))
    return {
        "code": community.code,
        "name": community.name,
        "state": community.state,
        "outline": to_geojson(from_db(community.geom)),
        "buildings": len(buildings),
        "numbered": sum(1 for b in buildings if b.number),
        "grids": len(community_grids(session, community_id=community.id)),
        "grid_drafts": drafts,
        "branch_problems": len(branch_chain.problems(session, community)),
    }


def community_to_preview(session: Session, *, principal: Principal | None, code: str) -> Community:
    """The community whose residents' page this admin may preview. Anyone else (signed out,
    or no admin of it) is told it does not exist, as residents are while it is set up."""
    community = find_community(session, code=code)
    if principal is None or community is None or not organisation.is_admin_of(principal, community):
        raise NotFound(
            "community '{code}' not found",
            key="community_not_found",
            code=code,
            field="community",
            value=code,
        )
    return community


def publish(session: Session, *, principal: Principal, code: str) -> dict[str, Any]:
    """Open the community to residents: refused until it has published grids (a pin there
    would reach no one)."""
    community = _community_for_admin(session, principal, code)
    if not community_has_grids(session, community_id=community.id):
        raise Conflict(
            "community {name} has no grids yet: publish a grid set first",
            key="community_without_grids",
            name=community.name,
        )
    community.state = PUBLISHED
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    return status(session, principal=principal, code=code)


# --- files: an outline, buildings -------------------------------------------------------------


def _kind_of(name: str) -> str:
    lower = name.lower()
    if lower.endswith(OSM_SUFFIXES):
        return "osm"
    if lower.endswith(FILE_SUFFIXES):
        return "file"
    raise InvalidInput(
        "file '{file}': use an OpenStreetMap extract (.osm, .osm.gz, .pbf), GeoJSON (.geojson) "
        "or GeoPackage (.gpkg)",
        key="setup_file_format",
        file=name,
        field="file",
    )


def _suffix(name: str) -> str:
    lower = name.lower()
    return next((s for s in (*OSM_SUFFIXES, *FILE_SUFFIXES) if lower.endswith(s)), "")


class _Upload:
    """An upload written to a private temporary file (GDAL reads paths)."""

    def __init__(self, filename: str | None, data: bytes) -> None:
        self.name = checked_upload(filename, data, limit=MAX_UPLOAD)
        self.kind = _kind_of(self.name)
        self._dir = tempfile.TemporaryDirectory(prefix="rm-setup-")
        self.path = Path(self._dir.name) / f"upload{_suffix(self.name)}"
        self.path.write_bytes(data)

    def __enter__(self) -> _Upload:
        return self

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()

    def osm_layers(self) -> dict[str, gpd.GeoDataFrame]:
        try:
            return osm.read_osm(self.path)
        except ImportFailed as exc:
            raise InvalidInput(
                "file '{file}' cannot be read as OpenStreetMap data",
                key="setup_osm_unreadable",
                file=self.name,
                field="file",
            ) from exc

    def features(self) -> gpd.GeoDataFrame:
        try:
            frame = importer.read_features(self.path)
        except ImportFailed as exc:
            raise InvalidInput(
                "file '{file}' cannot be read: {reason}",
                key="setup_file_unreadable",
                file=self.name,
                reason=exc.msg,
                field="file",
            ) from exc
        frame = frame[frame.geometry.notna()]
        return frame[frame.geometry.geom_type.isin(POLYGONAL)]


def _compounds(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    mp = layers["multipolygons"]
    return mp[(mp["landuse"] == "residential") & mp["name"].notna()]


def outline_from_file(
    filename: str | None, data: bytes, *, compound: str | None = None
) -> dict[str, Any]:
    """An outline read from a file: an OSM extract's named compound (``compound``; without it,
    the names to choose from), or the union of a GeoJSON/GeoPackage file's polygons."""
    with _Upload(filename, data) as up:
        if up.kind == "osm":
            found = _compounds(up.osm_layers())
            choices = sorted({str(n) for n in found["name"]})
            if compound is None:
                return {"compounds": choices, "outline": None}
            chosen = found[found["name"] == compound]
            if len(chosen) != 1:
                raise InvalidInput(
                    "no single compound named '{compound}' in file '{file}'",
                    key="setup_compound_unknown",
                    compound=compound,
                    file=up.name,
                    field="compound",
                )
            geom = polygonal_part(shapely.make_valid(chosen.geometry.iloc[0]))
            return {"compounds": choices, "outline": to_geojson(geom)}
        frame = up.features()
        if not len(frame):
            raise InvalidInput(
                "file '{file}' holds no polygon",
                key="setup_file_no_polygon",
                file=up.name,
                field="file",
            )
        geom = polygonal_part(shapely.make_valid(shapely.union_all(list(frame.geometry))))
        return {"compounds": [], "outline": to_geojson(geom)}


def _building_frame(
    up: _Upload, layers: dict[str, gpd.GeoDataFrame] | None = None
) -> gpd.GeoDataFrame:
    """The file's buildings: an OSM extract's ``building=*`` polygons (OSM id, name, house
    number), or a file's polygons with their properties (number, name, households, code)."""
    if up.kind == "osm":
        mp = (layers or up.osm_layers())["multipolygons"]
        b = mp[mp["building"].notna()]
        rows = []
        for _, r in b.iterrows():
            tags = osm.parse_other_tags(r.get("other_tags"))
            oid = r["osm_id"] if isinstance(r["osm_id"], str) else r["osm_way_id"]
            rows.append(
                {
                    "osm_id": str(oid),
                    "name": r["name"] if isinstance(r["name"], str) else None,
                    "number": tags.get("addr:housenumber"),
                    "geometry": polygonal_part(shapely.make_valid(r.geometry)),
                }
            )
        return gpd.GeoDataFrame(rows or {"geometry": []}, geometry="geometry", crs=4326)
    frame = up.features().copy()
    if "code" not in frame.columns and "id" in frame.columns:
        frame = frame.rename(columns={"id": "code"})
    keep = [c for c in ("code", "osm_id", "number", "name", "households") if c in frame.columns]
    return gpd.GeoDataFrame(frame[keep], geometry=frame.geometry.values, crs=4326)


def _source_id(row: pd.Series) -> str | None:
    for key in ("osm_id", "code"):
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is not None and not pd.isna(value):
            return str(value)
    return None


def buildings_from_file(
    session: Session,
    *,
    principal: Principal,
    code: str,
    filename: str | None,
    data: bytes,
    include: list[str] | None = None,
    save: bool = False,
) -> dict[str, Any]:
    """The file's buildings sorted against the community's outline: those mostly inside are
    taken; those near it but mostly outside are listed for a yes/no (``include`` names the
    ones to take too, by source id). With ``save``, they are imported (again: matched by
    source id, nothing duplicated) and the outline grows to hold each taken building whole."""
    community = _community_for_admin(session, principal, code)
    outline = from_db(community.geom)
    epsg = metric_epsg(community.metric_epsg, outline)
    outline_m = to_metric(outline, epsg)
    near = transform(outline_m.buffer(NEAR_M), epsg, 4326)
    with _Upload(filename, data) as up:
        layers = up.osm_layers() if up.kind == "osm" else None
        frame = _building_frame(up, layers)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame[frame.intersects(near)]
    wanted = set(include or [])
    inside, outside, take = [], [], []
    for i, (_, row) in enumerate(frame.iterrows()):
        footprint = to_metric(row.geometry, epsg)
        share = footprint.intersection(outline_m).area / footprint.area if footprint.area else 0.0
        sid = _source_id(row) or f"#{i + 1}"
        number = row.get("number") if isinstance(row.get("number"), str) else None
        name = row.get("name") if isinstance(row.get("name"), str) else None
        item = {
            "id": sid,
            "label": names.building(number, name),
            "share_inside": round(float(share), 3),
            "area_m2": round(float(footprint.area), 1),
            "point": [round(c, 7) for c in row.geometry.representative_point().coords[0]],
        }
        if share >= osm.INSIDE_SHARE:
            inside.append(item)
            take.append(i)
        else:
            outside.append(item)
            if sid in wanted:
                take.append(i)
    # (one taken before may lie inside now: the outline grew to hold it)
    unknown = sorted(wanted - {b["id"] for b in inside + outside})
    if unknown:
        raise InvalidInput(
            "no building near the outline is named {ids} in file '{file}'",
            key="setup_building_unknown",
            ids=", ".join(unknown),
            file=up.name,
            field="include",
        )
    result: dict[str, Any] = {"inside": inside, "outside": outside, "saved": None}
    if not save:
        return result
    chosen = frame.iloc[take]
    if not len(chosen):
        raise InvalidInput(
            "file '{file}' has no building inside the outline",
            key="setup_no_buildings",
            file=up.name,
            field="file",
        )
    report = importer.import_frame(
        session, chosen.reset_index(drop=True), kind="building", community_code=code, label=up.name
    )
    grown = polygonal_part(shapely.union_all([outline, *chosen.geometry]))
    if area_m2(grown, epsg) - area_m2(outline, epsg) > 0.5:
        community.geom = to_db(as_multi(grown))
    # an extract's roads inside the outline come too: grids are drawn along them (snapping)
    # and a proposal can split the outline by them; matched by OSM id like the buildings
    road_count = 0
    if layers is not None:
        roads = osm.roads(layers["lines"], grown, epsg)
        if len(roads):
            importer.import_frame(session, roads, kind="path", community_code=code, label=up.name)
            road_count = len(roads)
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    result["saved"] = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "roads": road_count,
    }
    return result


# --- a proposed partition ----------------------------------------------------------------------


PROPOSAL_METHODS = ("buildings", "roads")


def propose_grids(
    session: Session,
    *,
    principal: Principal,
    code: str,
    count: int,
    method: str = "buildings",
    prefix: str = "G",
) -> dict[str, Any]:
    """A grid set covering the outline, as a GeoJSON FeatureCollection a grid draft takes
    (codes G01, G02…); check it like any drawn set. ``buildings``: ``count`` grids grouping
    neighbouring buildings; ``roads``: the outline split along the community's roads and paths
    (``count`` unused), small strips merged into their neighbours."""
    community = _community_for_admin(session, principal, code)
    if method not in PROPOSAL_METHODS:
        raise InvalidInput(
            "a proposal groups the buildings or follows the roads, not '{method}'",
            key="setup_proposal_method",
            method=method,
            field="method",
        )
    if method == "buildings" and not 1 <= count <= MAX_GRIDS:
        raise InvalidInput(
            "a proposal has 1 to {max} grids, got {count}",
            key="setup_grid_count",
            max=MAX_GRIDS,
            count=count,
            field="count",
        )
    outline = from_db(community.geom)
    epsg = metric_epsg(community.metric_epsg, outline)
    footprints = [
        to_metric(from_db(b.geom), epsg)
        for b in buildings_of_community(session, community_id=community.id)
    ]
    if method == "roads":
        roads = [
            to_metric(from_db(p.geom), epsg)
            for p in layer_rows(session, kind="path", community_id=community.id)
        ]
        if not roads:
            raise InvalidInput(
                "{community} has no roads or paths to split along: bring them in with the "
                "buildings from OpenStreetMap, or group the buildings instead",
                key="setup_no_roads",
                community=community.name,
                field="method",
            )
        parts = partition.split_by_roads(to_metric(outline, epsg), roads, footprints)
    else:
        parts = partition.partition(to_metric(outline, epsg), footprints, count)
    features = []
    for n, part in enumerate(parts, start=1):
        grid_code = f"{prefix}{n:02d}"
        features.append(
            {
                "type": "Feature",
                "geometry": to_geojson(transform(part, epsg, 4326)),
                "properties": {
                    "code": grid_code,
                    "name": t("Grid {n}", n=n),
                    "branch_code": None,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
