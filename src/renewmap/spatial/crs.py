"""Coordinate reference systems: metric projections per community and GCJ-02 at the edges.

Storage is WGS84. Areas, lengths and distances are computed in metres in a projected CRS
(by default the community's UTM zone). GCJ-02 (the obfuscated datum of Chinese web maps) is
converted only when importing digitised data or displaying on a Chinese basemap, never stored.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TypeVar

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError
from shapely.geometry.base import BaseGeometry

from renewmap.errors import CRSError

G = TypeVar("G", bound=BaseGeometry)  # reprojecting keeps the kind of geometry

WGS84 = 4326


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone containing (lon, lat)."""
    zone = math.floor((lon + 180.0) / 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def check_epsg(epsg: int) -> int:
    """Validate an EPSG code and return it as int (SRIDs are always integers here)."""
    try:
        code = int(epsg)
        CRS.from_epsg(code)
    except (ValueError, TypeError, PyprojCRSError) as exc:
        raise CRSError("unknown CRS EPSG:{epsg}", key="crs_unknown", epsg=epsg) from exc
    return code


def check_projected(epsg: int) -> int:
    """A metric CRS must be projected with metre units."""
    code = check_epsg(epsg)
    crs = CRS.from_epsg(code)
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if not crs.is_projected or unit not in ("metre", "meter"):
        raise CRSError(
            "EPSG:{epsg} is not a projected CRS in metres", key="crs_not_metric", epsg=code
        )
    return code


@lru_cache(maxsize=64)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def transform(geom: G, src: int, dst: int) -> G:
    """Reproject a shapely geometry (x = longitude / easting always)."""
    if src == dst:
        return geom
    tr = _transformer(src, dst)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def to_metric(geom: G, epsg: int) -> G:
    """WGS84 geometry into the given metric CRS."""
    return transform(geom, WGS84, epsg)


def area_m2(geom: BaseGeometry, epsg: int) -> float:
    """Planar area in square metres in the given projected CRS."""
    return float(to_metric(geom, epsg).area)


def length_m(geom: BaseGeometry, epsg: int) -> float:
    """Planar length in metres in the given projected CRS."""
    return float(to_metric(geom, epsg).length)


def metres_to_degrees(metres: float, lat: float) -> float:
    """Conservative degree margin covering ``metres`` in any direction near latitude ``lat``."""
    cos_lat = max(math.cos(math.radians(min(abs(lat), 89.0))), 0.01)
    return metres / (111_000.0 * cos_lat) * 1.25


# --- GCJ-02 ---------------------------------------------------------------------------------
# The published GCJ-02 forward formula (Krasovsky ellipsoid constants); the inverse is solved
# by fixed-point iteration to well below a centimetre.
_A = 6378245.0
_EE = 0.00669342162296594323


def _outside_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    sq = np.sqrt(np.abs(x))
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sq
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sq
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward GCJ-02 offset (identity outside China)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon, lat)
    out = _outside_china(lon, lat)
    return np.where(out, lon, lon + dlon), np.where(out, lat, lat + dlat)


def gcj02_to_wgs84_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse GCJ-02 by iteration: error far below the 1 m required for imports."""
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(30):
        flon, flat = wgs84_to_gcj02_xy(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon -= elon
        wlat -= elat
        if max(np.abs(elon).max(initial=0), np.abs(elat).max(initial=0)) < 1e-10:
            break
    return wlon, wlat


def gcj02_to_wgs84(geom: G) -> G:
    """Convert a GCJ-02 geometry (e.g. digitised on AMap) to WGS84."""
    return shapely.transform(
        geom, lambda xy: np.column_stack(gcj02_to_wgs84_xy(xy[:, 0], xy[:, 1]))
    )


def wgs84_to_gcj02(geom: G) -> G:
    """Convert a WGS84 geometry to GCJ-02 for display on a Chinese basemap."""
    return shapely.transform(
        geom, lambda xy: np.column_stack(wgs84_to_gcj02_xy(xy[:, 0], xy[:, 1]))
    )
