"""Design drawings in metres (UTM zone 32N, EPSG:32632, near lon 9°E 50°N), stored in WGS84 as
the app stores them; measured back in the same metric CRS, the known answers hold to a few mm.
The test community's metric CRS (tests/support/places.py) is the same zone."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import LineString, Point, box, mapping
from shapely.geometry.base import BaseGeometry

from renewmap.spatial.crs import transform

EPSG = 32632
X0, Y0 = 500_000.0, 5_540_000.0  # UTM 32N, near lon 9°E 50°N


def w(g: BaseGeometry) -> BaseGeometry:
    """Local metres (origin X0, Y0) → WGS84."""
    return transform(shapely.affinity.translate(g, X0, Y0), EPSG, 4326)


def fc(*features: tuple[str, object, dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection of (kind, geometry, properties) as the design API takes it."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": mapping(g), "properties": {"kind": kind, **props}}
            for kind, g, props in features
        ],
    }


# A small garden on site S1 (box 0,0–20,10 in metres): beds, a path, plants and a bench
GARDEN = [
    ("green", w(box(1, 1, 6, 5)), {"layer": "shrub", "species": "gardenia_jasminoides"}),
    ("green", w(box(8, 1, 18, 3)), {"layer": "lawn", "species": "lolium_perenne"}),
    ("path", w(LineString([(0, 7), (10, 7)])), {"width_m": 1.5, "surface": "permeable_concrete"}),
    ("plant", w(Point(2, 8.5)), {"species": "osmanthus_fragrans"}),
    ("plant", w(Point(12, 8.5)), {"species": "prunus_serrulata"}),
    ("plant", w(Point(3, 3)), {"species": "rhododendron_simsii"}),
    ("facility", w(Point(15, 6)), {"type": "bench"}),
]

# Where the design API makes new drafts of site S1
NEW = "/api/design/communities/T0001/sites/S1/drafts"
