"""A community's layers as GeoDataFrames (for the API, exports and notebooks).

Foreign keys become codes (``grid_code``, ``branch_code``, ``site_code``) so that an export
can be re-imported, edited in QGIS, or read by people.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from renewmap.db.models import (
    LAYER_MODELS,
    Compound,
    Grid,
    PartyBranch,
    Request,
    Site,
    Subdistrict,
)
from renewmap.db.queries.places import (
    branches_of_community,
    codes_by_id,
    community_by_code,
    layer_rows,
)
from renewmap.db.queries.requests import requests_of_community
from renewmap.errors import InvalidInput, NotFound
from renewmap.services.ingest.files import atomic_output
from renewmap.spatial.geometry import from_db
from renewmap.vocabulary import metric_epsg

LAYER_KINDS = (*LAYER_MODELS, "request")
# Measures are computed in metres in the community's projected CRS (default: its UTM zone).
MEASURED_AREA = ("community", "compound", "grid", "building", "site", "green", "water")
MEASURED_LENGTH = ("path",)


_SKIP = {
    "id",
    "geom",
    "community_id",
    "site_id",
    "grid_id",
    "branch_id",
    "compound_id",
    "subdistrict_id",
    "parent_id",
}


def _columns(model: type[Any]) -> list[str]:
    return [c.key for c in model.__table__.columns if c.key not in _SKIP]


def community_layers(
    session: Session, *, community_code: str, kinds: tuple[str, ...] = LAYER_KINDS
) -> dict[str, gpd.GeoDataFrame]:
    """Every requested layer of one community, WGS84, one GeoDataFrame per kind."""
    unknown = [k for k in kinds if k not in LAYER_KINDS]
    if unknown:
        raise NotFound(
            "unknown layer '{layer}'; use one of {layers}",
            key="layer_unknown",
            layer=unknown[0],
            layers=LAYER_KINDS,
        )
    community = community_by_code(session, code=community_code)
    epsg = metric_epsg(community.metric_epsg, from_db(community.geom))
    grid_codes = codes_by_id(session, model=Grid)
    branch_codes = codes_by_id(session, model=PartyBranch)
    site_codes = codes_by_id(session, model=Site)
    compound_codes = codes_by_id(session, model=Compound)
    out: dict[str, gpd.GeoDataFrame] = {}
    for kind in kinds:
        if kind == "request":
            rows: Sequence[Any] = requests_of_community(session, community_id=community.id)
            model: type[Any] = Request
        else:
            model = LAYER_MODELS[kind]
            rows = layer_rows(session, kind=kind, community_id=community.id)
        cols = _columns(model)
        records: list[dict[str, Any]] = []
        geoms = []
        for r in rows:
            rec = {"id": r.id, **{c: getattr(r, c) for c in cols}}
            if hasattr(r, "grid_id"):
                rec["grid_code"] = grid_codes.get(r.grid_id)
            if hasattr(r, "branch_id"):
                rec["branch_code"] = branch_codes.get(r.branch_id)
            if hasattr(r, "site_id"):
                rec["site_code"] = site_codes.get(r.site_id)
            if hasattr(r, "compound_id"):
                rec["compound_code"] = compound_codes.get(r.compound_id)
            if kind == "community":
                sub = session.get(Subdistrict, r.subdistrict_id) if r.subdistrict_id else None
                rec["subdistrict_code"] = sub.code if sub else None
                rec["subdistrict_name"] = sub.name if sub else None
            records.append(rec)
            geoms.append(from_db(r.geom))
        frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=["id"])
        gdf = gpd.GeoDataFrame(frame, geometry=geoms, crs=4326)
        if kind in MEASURED_AREA and len(gdf):
            gdf["area_m2"] = gdf.to_crs(epsg).area.round(2)
        elif kind in MEASURED_LENGTH and len(gdf):
            gdf["length_m"] = gdf.to_crs(epsg).length.round(2)
        out[kind] = gdf
    return out


def branches_frame(session: Session, *, community_code: str) -> pd.DataFrame:
    community = community_by_code(session, code=community_code)
    rows = branches_of_community(session, community_id=community.id)
    codes: dict[int | None, str] = {b.id: b.code for b in rows}
    return pd.DataFrame(
        [
            {
                "code": b.code,
                "name": b.name,
                "parent_code": codes.get(b.parent_id, ""),
                "level": b.level,
                "community_code": community_code,
            }
            for b in rows
        ],
        columns=["code", "name", "parent_code", "level", "community_code"],
    )


def export_community(session: Session, *, community_code: str, out: str | Path) -> list[str]:
    """Write every layer and return their names.

    GeoPackage: one layer per kind plus the party tree as a table. GeoJSON: one
    FeatureCollection with a ``renewmap_layer`` property. CSV: the same rows with WKT.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".csv"):
        raise InvalidInput(
            "{file}: export format must be .gpkg, .geojson or .csv",
            key="export_format",
            file=path.name,
        )
    layers = community_layers(session, community_code=community_code)
    with atomic_output(path) as tmp:
        return _write_layers(session, layers, tmp, suffix, community_code)


def _write_layers(
    session: Session,
    layers: dict[str, gpd.GeoDataFrame],
    path: Path,
    suffix: str,
    community_code: str,
) -> list[str]:
    import pyogrio

    written: list[str] = []
    if suffix == ".gpkg":
        for kind, frame in layers.items():
            if len(frame) == 0:
                continue
            pyogrio.write_dataframe(_plain(frame), path, layer=kind, driver="GPKG")
            written.append(kind)
        branches = branches_frame(session, community_code=community_code)
        if len(branches):
            pyogrio.write_dataframe(branches, path, layer="party_branch", driver="GPKG")
            written.append("party_branch")
        return written
    frames = []
    for kind, frame in layers.items():
        if len(frame):
            f = _plain(frame).copy()
            f.insert(0, "renewmap_layer", kind)
            frames.append(f)
            written.append(kind)
    merged = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)
    if suffix == ".geojson":
        pyogrio.write_dataframe(merged, path, driver="GeoJSON")
    else:
        df = pd.DataFrame(merged.drop(columns="geometry"))
        df["wkt"] = merged.geometry.to_wkt()
        df.to_csv(path, index=False)
    return written


def _plain(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Datetimes as ISO text and JSON-ish values as strings, which every driver accepts."""
    f = frame.copy()
    for col in f.columns:
        if col == "geometry":
            continue
        if pd.api.types.is_datetime64_any_dtype(f[col]):
            f[col] = f[col].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
        elif f[col].dtype == object:
            f[col] = f[col].map(
                lambda v: v if v is None or isinstance(v, str | int | float | bool) else str(v)
            )
    return f
