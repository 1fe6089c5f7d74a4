"""Walking coverage with known answers: an L-shaped path network drawn in metres (UTM 32N)."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, box

from renewmap.spatial.coverage import walking_coverage
from tests.support.design import EPSG, w

# The path runs east 400 m along y = 0, then north 400 m along x = 400.
PATHS = [w(LineString([(0, 0), (400, 0)])), w(LineString([(400, 0), (400, 400)]))]
GARDEN = w(box(-20, -10, 0, 10))  # at the path's west end


def house(x: float, y: float):
    return w(box(x - 5, y - 5, x + 5, y + 5))


def test_network_distance_not_straight_line() -> None:
    found = walking_coverage(
        [
            ("near", 20, house(100, 15)),  # 100 m along the path, 10 m off it
            ("corner", 30, house(400, 190)),  # 400 + 190 = 590 m walking, 440 m straight
            ("far", 40, house(250, 200)),  # 195 m from any path: not connected → straight line
        ],
        [GARDEN],
        PATHS,
        epsg=EPSG,
    )
    by = {c.building: c for c in found}
    assert by["near"].method == "network" and by["near"].covered
    # It joins the path at the nodes (every 5 m) within one step of its nearest (15 m): the
    # best is x = 85, then straight to the house's corner (95, 10): 85 + √(10² + 10²).
    assert by["near"].distance_m == pytest.approx(85 + 200**0.5, abs=0.2)
    assert by["corner"].method == "network" and not by["corner"].covered
    assert by["corner"].distance_m == pytest.approx(400 + 190, abs=5)  # nodes every 5 m
    assert by["far"].method == "straight" and not by["far"].covered
    assert by["far"].distance_m == pytest.approx(((245) ** 2 + 185**2) ** 0.5, abs=0.5)


def test_without_paths_straight_line_is_the_fallback() -> None:
    (c,) = walking_coverage([("h", 10, house(150, 0))], [GARDEN], [], epsg=EPSG)
    assert (c.method, c.covered) == ("straight", True)
    assert c.distance_m == pytest.approx(145, abs=0.5)
    (none,) = walking_coverage([("h", 10, house(150, 0))], [], [], epsg=EPSG)
    assert (none.distance_m, none.covered) == (None, False)
