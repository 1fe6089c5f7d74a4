"""Web Mercator tiles (OGC's WebMercatorQuad, the XYZ scheme of web maps) and MVT encoding.

Pure arithmetic and encoding, no database: the PostGIS path encodes in SQL with ST_AsMVT;
SpatiaLite rows are encoded here with ``mapbox-vector-tile`` after the same clipping, so both
databases give the same tile (up to a rounding unit of the 4096 grid).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import mapbox_vector_tile
import numpy as np
import shapely

from renewmap.errors import InvalidInput

WEB_MERCATOR = 3857
EXTENT = 4096  # tile grid units (the MVT default)
BUFFER = 64  # grid units drawn outside the tile so strokes and labels join across edges
MAX_ZOOM = 22
HALF_WORLD = 20037508.342789244  # π·R, R = 6378137 m
MAX_LATITUDE = 85.0511287798066  # where the square world of WebMercatorQuad ends
TILE_MATRIX_SET = "WebMercatorQuad"
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def check_tile(z: int, x: int, y: int) -> None:
    """A tile that exists in WebMercatorQuad, or a 400 naming the coordinate out of range."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(
            "zoom {zoom} is outside 0–{limit}", key="tile_zoom", zoom=z, limit=MAX_ZOOM, field="z"
        )
    n = 2**z
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < n:
            raise InvalidInput(
                "tile {field}={value} is outside 0–{limit} at zoom {zoom}",
                key="tile_out_of_range",
                value=value,
                limit=n - 1,
                field=name,
                zoom=z,
            )


def tile_bounds_mercator(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a tile in EPSG:3857 metres (y of tile rows grows south)."""
    size = 2 * HALF_WORLD / 2**z
    minx = -HALF_WORLD + x * size
    maxy = HALF_WORLD - y * size
    return (minx, maxy - size, minx + size, maxy)


def mercator_to_lonlat(mx: float, my: float) -> tuple[float, float]:
    """EPSG:3857 metres to WGS84 degrees (spherical formulas: exact for this projection)."""
    lon = mx / HALF_WORLD * 180.0
    lat = math.degrees(2.0 * math.atan(math.exp(my / HALF_WORLD * math.pi)) - math.pi / 2.0)
    return lon, lat


def tile_bounds_lonlat(
    z: int, x: int, y: int, *, buffer: int = BUFFER
) -> tuple[float, float, float, float]:
    """The tile with its buffer, in WGS84 degrees: the box for the spatial index."""
    minx, miny, maxx, maxy = tile_bounds_mercator(z, x, y)
    pad = (maxx - minx) * buffer / EXTENT
    west, south = mercator_to_lonlat(max(minx - pad, -HALF_WORLD), max(miny - pad, -HALF_WORLD))
    east, north = mercator_to_lonlat(min(maxx + pad, HALF_WORLD), min(maxy + pad, HALF_WORLD))
    return west, south, east, north


def _to_mercator(geom: Any) -> Any:
    """WGS84 to EPSG:3857, vectorised (latitudes clamped to the square world of the tiles)."""

    def forward(coords: np.ndarray) -> np.ndarray:
        lat = np.clip(coords[:, 1], -MAX_LATITUDE, MAX_LATITUDE)
        out = coords.copy()
        out[:, 0] = coords[:, 0] * HALF_WORLD / 180.0
        out[:, 1] = np.log(np.tan((90.0 + lat) * np.pi / 360.0)) * HALF_WORLD / np.pi
        return out

    return shapely.transform(geom, forward)


def encode_tile(
    ids: Sequence[int],
    geoms: np.ndarray,
    props: Sequence[Mapping[str, Any]],
    *,
    z: int,
    x: int,
    y: int,
    layer: str,
) -> bytes:
    """One MVT layer of features (ids, WGS84 geometries as an array, properties): projected
    and clipped to the tile and its buffer in bulk, quantised to the 4096 grid. An empty tile
    is empty bytes (as PostGIS makes it)."""
    minx, miny, maxx, maxy = tile_bounds_mercator(z, x, y)
    pad = (maxx - minx) * BUFFER / EXTENT
    clipped = shapely.clip_by_rect(
        _to_mercator(np.asarray(geoms, dtype=object)),
        minx - pad,
        miny - pad,
        maxx + pad,
        maxy + pad,
    )
    keep = ~(shapely.is_missing(clipped) | shapely.is_empty(clipped))
    out = [
        {
            "id": int(ids[i]),
            "geometry": clipped[i],
            "properties": {k: _mvt_value(v) for k, v in props[i].items() if v is not None},
        }
        for i in np.flatnonzero(keep).tolist()
    ]
    if not out:
        return b""
    tile: bytes = mapbox_vector_tile.encode(
        [{"name": layer, "features": out}],
        default_options={"quantize_bounds": (minx, miny, maxx, maxy), "extents": EXTENT},
    )
    return tile


def _mvt_value(value: Any) -> Any:
    """MVT values are strings, numbers and booleans; dates become ISO 8601 text."""
    if isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
