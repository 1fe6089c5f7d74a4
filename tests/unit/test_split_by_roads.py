"""Splitting a community's outline along its internal roads (issue 15), on tiny metric
geometries whose answers can be worked out by hand."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Polygon, box

from renewmap.spatial.partition import split_by_roads

SQUARE = box(0, 0, 100, 100)  # 100 m × 100 m
THROUGH = LineString([(50, -10), (50, 110)])  # crosses the whole compound north to south
EAST_HALF = LineString([(50, 50), (100, 50)])  # a T junction: the east half cut in two


def areas(parts) -> list[float]:
    return [round(p.area, 6) for p in parts]


def test_a_road_across_and_a_t_junction_make_three_parts_in_reading_order() -> None:
    parts = split_by_roads(SQUARE, [THROUGH, EAST_HALF])
    # north-west first: the west half (its centre is the northernmost-left), then NE, then SE
    assert areas(parts) == [5000.0, 2500.0, 2500.0]
    assert parts[0].equals(box(0, 0, 50, 100))
    assert parts[1].equals(box(50, 50, 100, 100))
    assert parts[2].equals(box(50, 0, 100, 50))
    assert shapely.union_all(parts).equals(SQUARE)


def test_a_dead_end_cuts_nothing_and_no_road_leaves_the_outline_whole() -> None:
    dead_end = LineString([(20, 0), (20, 30)])  # from the fence into the compound, no further
    assert areas(split_by_roads(SQUARE, [dead_end])) == [10000.0]
    assert areas(split_by_roads(SQUARE, [])) == [10000.0]
    outside = LineString([(150, 0), (150, 100)])
    assert areas(split_by_roads(SQUARE, [outside])) == [10000.0]


def test_a_sliver_between_a_road_and_the_fence_joins_its_neighbour() -> None:
    strip = LineString([(0, 98), (50, 98)])  # 2 m from the north fence: a 100 m² strip
    parts = split_by_roads(SQUARE, [THROUGH, EAST_HALF, strip])
    assert areas(parts) == [5000.0, 2500.0, 2500.0]  # the strip is back in the west half
    # with a smaller sliver limit the strip is a part of its own
    parts = split_by_roads(SQUARE, [THROUGH, EAST_HALF, strip], sliver_m2=50)
    assert sorted(areas(parts)) == [100.0, 2500.0, 2500.0, 4900.0]


def test_a_building_on_a_road_goes_whole_to_the_part_holding_most_of_it() -> None:
    building = box(45, 10, 52, 20)  # 50 m² west of the road, 20 m² east
    parts = split_by_roads(SQUARE, [THROUGH, EAST_HALF], [building])
    assert areas(parts) == [5020.0, 2500.0, 2480.0]
    assert parts[0].covers(building)
    assert parts[2].intersection(building).area == pytest.approx(0)
    assert shapely.union_all(parts).area == pytest.approx(10000)


def test_roads_as_multilines_and_a_courtyard_hole() -> None:
    courtyard = Polygon(
        [(0, 0), (100, 0), (100, 100), (0, 100)], holes=[[(60, 60), (80, 60), (80, 80), (60, 80)]]
    )
    roads = [MultiLineString([[(50, -10), (50, 110)], [(50, 50), (100, 50)]])]
    parts = split_by_roads(courtyard, roads)
    # the hole is no part; the north-east part keeps its hole
    assert areas(parts) == [5000.0, 2100.0, 2500.0]
    assert not any(p.covers(shapely.Point(70, 70)) for p in parts)
