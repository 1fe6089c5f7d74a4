"""Pure spatial logic: metric measures against the ellipsoid, CRS checks, geometry parsing."""

from __future__ import annotations

import pytest
import shapely
from pyproj import Geod

from renewmap.errors import CRSError, InvalidGeometry
from renewmap.spatial.crs import area_m2, check_projected, length_m, utm_epsg
from renewmap.spatial.geometry import as_multi, parse_geojson

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(121.49, 31.29, 32651), (10.0, 50.0, 32632), (-70.6, -33.4, 32719), (179.9, 0.0, 32660)],
)
def test_utm_zone(lon, lat, epsg) -> None:
    assert utm_epsg(lon, lat) == epsg


@pytest.mark.parametrize("size_deg", [0.0005, 0.002, 0.01])
def test_area_and_length_match_the_ellipsoid(size_deg) -> None:
    """A square of 50 m to 1 km near the demo: UTM measures within 0.5 % of pyproj.Geod."""
    square = shapely.box(121.49, 31.28, 121.49 + size_deg, 31.28 + size_deg)
    epsg = utm_epsg(121.49, 31.28)
    geod_area, geod_perimeter = GEOD.geometry_area_perimeter(square)
    assert area_m2(square, epsg) == pytest.approx(abs(geod_area), rel=0.005)
    assert length_m(square.exterior, epsg) == pytest.approx(geod_perimeter, rel=0.005)
    line = shapely.LineString([(121.49, 31.28), (121.49 + size_deg, 31.28 + size_deg / 2)])
    assert length_m(line, epsg) == pytest.approx(GEOD.geometry_length(line), rel=0.005)


def test_degrees_are_not_metres() -> None:
    """The same square in degrees² is meaningless: guard against computing in EPSG:4326."""
    square = shapely.box(121.49, 31.28, 121.5, 31.29)
    assert square.area < 1e-3 < area_m2(square, 32651)


def test_projected_crs_check() -> None:
    assert check_projected(32651) == 32651
    with pytest.raises(CRSError, match="not a projected CRS in metres"):
        check_projected(4326)
    with pytest.raises(CRSError, match="unknown CRS"):
        check_projected(999999)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ("{", "not valid JSON"),
        ([1, 2], "a GeoJSON geometry object is required"),
        ({"type": "Point", "coordinates": [float("nan"), 1]}, "NaN"),
        ({"type": "LineString", "coordinates": [[121.49, 31.28]]}, "malformed GeoJSON"),
        ({"type": "Point", "coordinates": [500000, 3460000]}, "projected CRS"),
    ],
)
def test_parse_geojson_errors(obj, message) -> None:
    with pytest.raises(InvalidGeometry, match=message):
        parse_geojson(obj, where="body")


def test_as_multi() -> None:
    assert as_multi(shapely.box(0, 0, 1, 1)).geom_type == "MultiPolygon"
    assert as_multi(shapely.LineString([(0, 0), (1, 1)])).geom_type == "MultiLineString"
