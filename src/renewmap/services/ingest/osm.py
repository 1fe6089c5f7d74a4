"""Build a community from a real OpenStreetMap extract (GDAL's OSM driver via pyogrio).

The compound outline is the ``landuse=residential`` polygon with the given name. Buildings
that touch the outline grown by a small buffer belong to the compound (footprints are kept
whole); paths, green areas and water are clipped to that buffered outline. The community is
the outline united with its buildings' footprints, so that every building lies inside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from renewmap.errors import ImportFailed
from renewmap.i18n import Text
from renewmap.services.ingest.importer import REMOVABLE_KINDS, ImportReport, import_frame
from renewmap.services.places import admin_codes
from renewmap.spatial.crs import to_metric, transform
from renewmap.spatial.geometry import lineal_part, polygonal_part
from renewmap.vocabulary import metric_epsg

OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"
GREEN_LANDUSE = {"grass", "forest", "village_green", "recreation_ground", "meadow", "flowerbed"}
GREEN_LEISURE = {"park", "garden", "playground", "pitch"}
GREEN_NATURAL = {"wood", "scrub", "grassland"}
_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def parse_other_tags(text: object) -> dict[str, str]:
    """GDAL's ``other_tags`` hstore text into a dict."""
    if not isinstance(text, str):
        return {}
    return {k: v for k, v in _TAG.findall(text)}


def _path(p: Path) -> str:
    return f"/vsigzip/{p}" if p.name.endswith(".gz") else str(p)


def read_osm(path: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """The multipolygons and lines layers of an .osm / .osm.gz / .pbf file."""
    p = Path(path)
    if not p.exists():
        raise ImportFailed(
            "{file}: file not found ({path})", key="import_file_missing", file=p.name, path=str(p)
        )
    try:
        return {
            "multipolygons": pyogrio.read_dataframe(_path(p), layer="multipolygons"),
            "lines": pyogrio.read_dataframe(_path(p), layer="lines"),
        }
    except Exception as exc:
        raise ImportFailed(
            "{file}: cannot read as OpenStreetMap data ({reason})",
            key="osm_unreadable",
            file=p.name,
            reason=str(exc),
        ) from exc


# A building belongs to the compound when at least this share of its footprint lies inside.
INSIDE_SHARE = 0.5


def extract_compound(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    compound: str,
    buffer_m: float = 20.0,
    inside_only: bool = False,
) -> dict[str, gpd.GeoDataFrame]:
    """Frames for compound, buildings, paths, green areas and water of one named compound.

    ``inside_only``: buildings with less than half their footprint inside the outline go to
    ``building_outside`` instead of ``building`` (neighbours touching the buffer)."""
    mp = layers["multipolygons"]
    lines = layers["lines"]
    residential = mp[(mp["landuse"] == "residential") & mp["name"].notna()]
    chosen = residential[residential["name"] == compound]
    if len(chosen) == 0:
        raise ImportFailed(
            "no landuse=residential polygon named '{compound}' in the extract; available: {names}",
            key="osm_compound_not_found",
            compound=compound,
            names=sorted(str(n) for n in residential["name"].unique()),
            field="compound",
        )
    if len(chosen) > 1:
        raise ImportFailed(
            "{n} residential polygons are named '{compound}'",
            key="osm_compound_ambiguous",
            n=len(chosen),
            compound=compound,
        )
    row = chosen.iloc[0]
    outline = shapely.make_valid(row.geometry)
    epsg = metric_epsg(None, outline)  # the community it becomes measures the same way
    region = transform(to_metric(outline, epsg).buffer(buffer_m), epsg, 4326)

    def osm_id(r: pd.Series) -> str:
        return str(r["osm_id"] if isinstance(r["osm_id"], str) else r["osm_way_id"])

    compound_frame = gpd.GeoDataFrame(
        {"code": ["C1"], "name": [compound], "osm_id": [osm_id(row)]},
        geometry=[outline],
        crs=4326,
    )

    b = mp[mp["building"].notna()]
    b = b[b.intersects(region)]
    b_rows = []
    for _, r in b.iterrows():
        tags = parse_other_tags(r.get("other_tags"))
        b_rows.append(
            {
                "osm_id": osm_id(r),
                "name": r["name"] if isinstance(r["name"], str) else None,
                "number": tags.get("addr:housenumber"),
                "building": r["building"],
                "levels": tags.get("building:levels"),
                "geometry": shapely.make_valid(r.geometry),
            }
        )
    outside_rows: list[dict[str, object]] = []
    if inside_only:
        outline_m = to_metric(outline, epsg)
        inside_rows: list[dict[str, object]] = []
        for r in b_rows:
            geom = r["geometry"]
            assert isinstance(geom, BaseGeometry)
            footprint = to_metric(geom, epsg)
            share = footprint.intersection(outline_m).area / footprint.area if footprint.area else 0
            (inside_rows if share >= INSIDE_SHARE else outside_rows).append(
                {**r, "share_inside": round(float(share), 3)}
            )
        b_rows = [{k: v for k, v in r.items() if k != "share_inside"} for r in inside_rows]
    buildings = _frame(b_rows)

    green_mask = (
        mp["landuse"].isin(GREEN_LANDUSE)
        | mp["leisure"].isin(GREEN_LEISURE)
        | mp["natural"].isin(GREEN_NATURAL)
    )
    green = _clip_polygons(
        mp[green_mask], region, epsg, kind_cols=("leisure", "landuse", "natural")
    )
    water = _clip_polygons(mp[mp["natural"] == "water"], region, epsg, kind_cols=("natural",))

    paths = roads(lines, region, epsg)
    community_geom = (
        shapely.union_all([outline, *buildings.geometry]) if len(buildings) else outline
    )
    return {
        "outline": compound_frame,
        "community_geom": gpd.GeoDataFrame(geometry=[polygonal_part(community_geom)], crs=4326),
        "building": buildings,
        "building_outside": _frame(outside_rows),
        "green": green,
        "water": water,
        "path": paths,
        "epsg": gpd.GeoDataFrame({"epsg": [epsg]}),
    }


def roads(lines: gpd.GeoDataFrame, region: BaseGeometry, epsg: int) -> gpd.GeoDataFrame:
    """The extract's ``highway=*`` lines clipped to ``region`` (WGS84) as path rows (OSM id,
    name, highway, surface, width); pieces under a metre are left out."""
    hw = lines[lines["highway"].notna()]
    hw = hw[hw.intersects(region)]
    p_rows = []
    for _, r in hw.iterrows():
        clipped = lineal_part(r.geometry.intersection(region))
        if clipped.is_empty or to_metric(clipped, epsg).length < 1.0:
            continue
        tags = parse_other_tags(r.get("other_tags"))
        width = tags.get("width")
        p_rows.append(
            {
                "osm_id": str(r["osm_id"]),
                "name": r["name"] if isinstance(r["name"], str) else None,
                "highway": r["highway"],
                "surface": tags.get("surface"),
                "width_m": width if width and _is_number(width) else None,
                "purpose": "access",
                "geometry": clipped,
            }
        )
    return _frame(p_rows)


def _frame(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=4326)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _clip_polygons(
    frame: gpd.GeoDataFrame, region: shapely.Geometry, epsg: int, *, kind_cols: tuple[str, ...]
) -> gpd.GeoDataFrame:
    rows = []
    for _, r in frame[frame.intersects(region)].iterrows():
        clipped = polygonal_part(shapely.make_valid(r.geometry).intersection(region))
        if clipped.is_empty or to_metric(clipped, epsg).area < 1.0:
            continue
        kind = next((r[c] for c in kind_cols if isinstance(r.get(c), str)), None)
        rows.append(
            {
                "osm_id": str(r["osm_id"] if isinstance(r["osm_id"], str) else r["osm_way_id"]),
                "name": r["name"] if isinstance(r["name"], str) else None,
                "kind": kind,
                "geometry": clipped,
            }
        )
    return _frame(rows)


@dataclass
class OsmImport:
    """What an OSM import did, per kind, and the buildings it left out (outside the outline)."""

    reports: list[ImportReport]
    outside: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[Text] = field(default_factory=list)


def import_osm(
    session: Session,
    path: str | Path,
    *,
    compound: str,
    community_code: str,
    community_name: str | None = None,
    buffer_m: float = 20.0,
    include_outside: bool | Iterable[str] = False,
    unofficial: bool = True,
) -> OsmImport:
    """Create or update a community from an OSM extract, in the caller's transaction.

    Only buildings mostly inside the compound's outline are imported, unless
    ``include_outside`` is True or names their OSM ids; the others are listed. Re-importing
    matches features by OSM id: nothing is duplicated, and buildings, green areas, water and
    paths the new extract no longer yields are removed. ``unofficial=False`` refuses a code
    outside the official list."""
    parts = extract_compound(read_osm(path), compound=compound, buffer_m=buffer_m, inside_only=True)
    buildings, outside = parts["building"], parts["building_outside"]
    wanted = {str(v) for v in include_outside} if not isinstance(include_outside, bool) else set()
    if len(outside) and (include_outside is True or wanted):
        take = outside if include_outside is True else outside[outside["osm_id"].isin(wanted)]
        rows = take.drop(columns=["share_inside"])
        buildings = gpd.GeoDataFrame(
            pd.concat([buildings, rows], ignore_index=True), geometry="geometry", crs=4326
        )
        outside = outside[~outside["osm_id"].isin(set(take["osm_id"]))]
    outline = parts["outline"].geometry.iloc[0]
    community_geom = polygonal_part(shapely.union_all([outline, *buildings.geometry]))
    if not unofficial and not admin_codes.is_official(community_code):
        from renewmap.services.places.communities import check_code

        check_code(community_code, unofficial=False)
    name = community_name or admin_codes.committee_name(community_code) or compound
    community = gpd.GeoDataFrame(
        {
            "code": [community_code],
            "name": [name],
            "metric_epsg": [str(int(parts["epsg"]["epsg"].iloc[0]))],
            "attribution": [OSM_ATTRIBUTION],
        },
        geometry=[community_geom],
        crs=4326,
    )
    label = Path(path).name
    first = import_frame(session, community, kind="community", label=label)
    result = OsmImport(reports=[first], warnings=list(first.warnings))
    for kind, frame in (
        ("compound", parts["outline"]),
        ("building", buildings),
        ("green", parts["green"]),
        ("water", parts["water"]),
        ("path", parts["path"]),
    ):
        if len(frame):
            result.reports.append(
                import_frame(
                    session,
                    frame,
                    kind=kind,
                    community_code=community_code,
                    label=label,
                    replace=kind in REMOVABLE_KINDS,
                )
            )
    result.outside = [
        {
            "osm_id": str(r["osm_id"]),
            "name": r["name"] if isinstance(r["name"], str) else None,
            "number": r["number"] if isinstance(r["number"], str) else None,
            "share_inside": float(r["share_inside"]),
        }
        for _, r in outside.iterrows()
    ]
    return result
