"""Batch routing of files: CSV with lon,lat (WGS84) or any vector file, all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from sqlalchemy.orm import Session

from renewmap.errors import ImportFailed, InvalidGeometry
from renewmap.services.ingest.files import atomic_output
from renewmap.services.ingest.importer import feature_at, read_features
from renewmap.services.places.routing import batch_lookup, load_memory_source, route_many
from renewmap.spatial.geometry import check_geometry, check_routable
from renewmap.spatial.routing import DEFAULT_SNAP_M

OUTPUT_COLUMNS = (
    "community_code",
    "grid_code",
    "branch_code",
    "rule",
    "building",
    "building_group_code",
)


def route_file(
    session: Session, src: str | Path, out: str | Path, *, snap_m: float = DEFAULT_SNAP_M
) -> int:
    """Route every row of ``src`` and write ``out`` with the owner columns added."""
    src, out = Path(src), Path(out)
    if out.suffix.lower() not in (".csv", ".geojson", ".gpkg"):
        raise ImportFailed(
            "{file}: output must be .csv, .geojson or .gpkg",
            key="route_output_format",
            file=out.name,
        )
    gdf = read_features(src)
    for i, geom in enumerate(gdf.geometry, start=1):
        where = feature_at(src.name, i, "geometry")
        if geom is None or geom.is_empty:
            raise ImportFailed(
                "{where}: missing geometry",
                key="route_geometry_missing",
                where=where,
                file=src.name,
            )
        try:
            check_geometry(geom, where=where)
            check_routable(geom, where=where)
        except InvalidGeometry as exc:
            raise ImportFailed(exc.msg, key=exc.key, file=src.name) from exc
    rows = route_many(
        load_memory_source(session), batch_lookup(session), list(gdf.geometry), snap_m=snap_m
    )
    result = pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS), index=gdf.index)
    for col in OUTPUT_COLUMNS:
        gdf[col] = result[col]
    with atomic_output(out) as tmp:
        _write(gdf, result, src, tmp, layer=out.stem)
    return len(gdf)


def _write(
    gdf: gpd.GeoDataFrame, result: pd.DataFrame, src: Path, out: Path, *, layer: str
) -> None:
    if out.suffix.lower() == ".csv":
        if src.suffix.lower() == ".csv":
            original = pd.read_csv(src, dtype=str, keep_default_na=False)
            for col in OUTPUT_COLUMNS:
                original[col] = result[col].values
            original.to_csv(out, index=False)
        else:
            df = pd.DataFrame(gdf.drop(columns="geometry"))
            df["wkt"] = gdf.geometry.to_wkt()
            df.to_csv(out, index=False)
    else:
        # the temporary file's name must not become the layer name
        pyogrio.write_dataframe(gdf, out, layer=layer if out.suffix == ".gpkg" else None)
