"""The routing rule, with known answers, on both databases and in memory (the batch path).

Community T (see fixtures): grids A | B | gap, buildings bA in A and bB in B.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renewmap.errors import NotRoutable
from renewmap.services.places.routing import (
    DbSource,
    batch_lookup,
    load_memory_source,
    owner_for,
    route_geometry,
    route_many,
)
from renewmap.spatial.routing import RULES_BY_CODE, Rule, decide, locate_building
from tests.support.places import add_building_groups, add_test_community, m2w, pt, shared_edge_wgs

CASES = [
    # (x, y) in local metres, expected rule, expected grid code, why
    ((0.5, 0.5), "inside", "A", "interior of A"),
    ((1.5, 0.2), "inside", "B", "interior of B"),
    ((0.2, 0.5), "building", "A", "inside building bA"),
    ((1.6, 0.5), "building", "B", "inside building bB"),
    ((1.0, 0.5), "boundary", "B", "shared edge: bB is 0.5 units away, bA 0.7"),
    ((1.0, 0.0), "boundary", "B", "shared vertex on the outline: bB 57 m, bA 67 m"),
    ((1.0, 1.0), "boundary", "B", "the other shared vertex"),
    ((2.5, 0.5), "community", None, "gap: in the community, in no grid"),
    ((3.28, 0.5), "snapped", "B", "≈20 m east of the community; B is its nearest grid"),
]


@pytest.mark.parametrize(("xy", "rule", "grid", "why"), CASES, ids=[c[3] for c in CASES])
def test_point_rules_through_database(session, xy, rule, grid, why) -> None:
    add_test_community(session)
    owner = route_geometry(session, pt(*xy), snap_m=50)
    assert owner.rule == rule, why
    assert (owner.grid.code if owner.grid else None) == grid
    assert owner.community.code == "T0001"
    assert owner.subdistrict.code == "T00"
    if grid:
        assert owner.branch.code == f"T-B{grid}"
        assert [r.code for r in owner.chain] == [f"T-B{grid}", "T-GB", "T00"]
    else:
        assert owner.branch is None
        assert owner.general_branch.code == "T-GB"
        assert [r.code for r in owner.chain] == ["T-GB", "T00"]


def test_snapped_reports_distance(session) -> None:
    add_test_community(session)
    from pyproj import Geod

    owner = route_geometry(session, pt(3.28, 0.5), snap_m=50)
    edge, p = pt(3.0, 0.5), pt(3.28, 0.5)
    _, _, on_ellipsoid = Geod(ellps="WGS84").inv(edge.x, edge.y, p.x, p.y)
    assert 19 < on_ellipsoid < 21
    assert owner.distance_m == pytest.approx(on_ellipsoid, rel=0.005)


def test_beyond_snap_distance_is_not_routable(session) -> None:
    add_test_community(session)
    with pytest.raises(NotRoutable, match="more than 50 m"):
        route_geometry(session, pt(4.5, 0.5), snap_m=50)
    # A larger snap distance reaches it.
    assert route_geometry(session, pt(4.5, 0.5), snap_m=150).rule == "snapped"


def test_within_misses_shared_edge_but_covers_finds_both() -> None:
    """The measured fact the rule is designed around."""
    a, b = shared_edge_wgs()
    # the shared vertices are bit-identical in both polygons
    shared = set(a.exterior.coords) & set(b.exterior.coords)
    assert len(shared) == 2
    on_edge = shapely.Point(sorted(shared)[0])
    assert not a.contains(on_edge) and not b.contains(on_edge)
    assert a.covers(on_edge) and b.covers(on_edge)


def test_lines_go_to_largest_overlap(session) -> None:
    add_test_community(session)
    line = m2w(shapely.LineString([(0.5, 0.5), (1.8, 0.5)]))  # 0.5 units in A, 0.8 in B
    owner = route_geometry(session, line)
    assert (owner.rule, owner.grid.code) == ("overlap", "B")
    line = m2w(shapely.LineString([(0.2, 0.2), (1.3, 0.2)]))  # 0.8 in A, 0.3 in B
    assert route_geometry(session, line).grid.code == "A"


def test_line_on_shared_edge_ties_then_nearest_buildings(session) -> None:
    add_test_community(session)
    a, b = shared_edge_wgs()
    shared = sorted(set(a.exterior.coords) & set(b.exterior.coords))
    edge = shapely.LineString(shared)
    owner = route_geometry(session, edge)
    assert (owner.rule, owner.grid.code) == ("overlap", "B")


def test_polygon_goes_to_largest_area(session) -> None:
    add_test_community(session)
    poly = m2w(shapely.box(0.6, 0.1, 1.2, 0.3))  # 0.4 wide in A, 0.2 in B
    owner = route_geometry(session, poly)
    assert (owner.rule, owner.grid.code) == ("overlap", "A")


def test_polygon_in_gap_goes_to_community(session) -> None:
    add_test_community(session)
    owner = route_geometry(session, m2w(shapely.box(2.2, 0.2, 2.6, 0.6)))
    assert owner.rule == "community" and owner.grid is None


def test_ties_without_buildings_go_to_lowest_code(session) -> None:
    from renewmap.db.models import Building

    ids = add_test_community(session)
    for b in session.query(Building).filter(Building.community_id == ids["community"]):
        session.delete(b)
    session.flush()
    owner = route_geometry(session, pt(1.0, 0.5))
    assert (owner.rule, owner.grid.code) == ("boundary", "A")


def test_demo_requests_routed_with_every_point_rule(session) -> None:
    from collections import Counter

    from renewmap.db.models import Request

    rules = Counter(r.route_rule for r in session.query(Request))
    assert sum(rules.values()) == 200
    assert {"inside", "boundary", "building", "snapped"} <= set(rules)


# --- property: the database path and the batch path agree everywhere ----------------------


def _interesting_points(draw) -> shapely.Point:
    a, b = shared_edge_wgs()
    shared = sorted(set(a.exterior.coords) & set(b.exterior.coords))
    (x0, y0), (x1, y1) = shared
    kind = draw(st.sampled_from(["edge", "vertex", "anywhere", "gap", "outside", "corner"]))
    if kind == "vertex":
        return shapely.Point(draw(st.sampled_from(shared)))
    if kind == "edge":
        t = draw(st.floats(0, 1))
        return shapely.Point(x0 + t * (x1 - x0), y0 + t * (y1 - y0))
    if kind == "corner":
        return shapely.Point(
            draw(st.sampled_from(list(a.exterior.coords) + list(b.exterior.coords)))
        )
    if kind == "gap":
        return pt(draw(st.floats(2, 3)), draw(st.floats(0, 1)))
    if kind == "outside":
        return pt(
            draw(st.floats(-1.2, 4.2)), draw(st.sampled_from([-0.6, -0.3, -1e-9, 1.00001, 1.3]))
        )
    return pt(draw(st.floats(-0.2, 3.2)), draw(st.floats(-0.2, 1.2)))


def _quad_points(draw) -> shapely.Point:
    """Points around community Q: the 4-grid vertex, its edges, corners, just outside."""
    from tests.support.places import qpt

    kind = draw(st.sampled_from(["centre", "edge", "corner", "anywhere"]))
    if kind == "centre":
        return qpt(1.0, 1.0)
    if kind == "edge":
        t = draw(st.floats(0, 2))
        return qpt(1.0, t) if draw(st.booleans()) else qpt(t, 1.0)
    if kind == "corner":
        return qpt(draw(st.sampled_from([0.0, 1.0, 2.0])), draw(st.sampled_from([0.0, 1.0, 2.0])))
    return qpt(draw(st.floats(-0.5, 2.5)), draw(st.floats(-0.5, 2.5)))


def _any_point(draw) -> shapely.Point:
    return _quad_points(draw) if draw(st.booleans()) else _interesting_points(draw)


def _load_both(session) -> None:
    from tests.support.places import add_quad_community

    if not session.info.get("t_loaded"):
        add_test_community(session)
        add_building_groups(session)
        add_quad_community(session)
        session.info["t_loaded"] = True
        session.info["memory"] = load_memory_source(session)


def test_four_grid_vertex_with_equidistant_buildings(session) -> None:
    from tests.support.places import qpt

    _load_both(session)
    owner = route_geometry(session, qpt(1.0, 1.0))
    # NW and SE buildings are mirror images through the centre: a tie, lowest code wins
    assert (owner.rule, owner.grid.code) == ("boundary", "NW")
    decision = decide(qpt(1.0, 1.0), DbSource(session))
    assert len(decision.candidates) == 4


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_database_and_batch_paths_agree(session, data) -> None:
    _load_both(session)
    memory = session.info["memory"]
    points = [data.draw(st.composite(lambda d: _any_point(d))()) for _ in range(5)]
    db = DbSource(session)
    x = np.array([p.x for p in points])
    y = np.array([p.y for p in points])
    batch = memory.route_points(x, y, snap_m=50)
    grid_idx, comm_idx, rules = memory.route_points_arrays(x, y, snap_m=50)
    for i, (p, from_batch) in enumerate(zip(points, batch, strict=True)):
        from_db = decide(p, db, snap_m=50)
        from_memory = decide(p, memory, snap_m=50)
        assert from_db.rule == from_batch.rule == from_memory.rule, p.wkt
        assert from_db.grid_id == from_batch.grid_id == from_memory.grid_id, p.wkt
        assert from_db.community_id == from_batch.community_id, p.wkt
        # the array form measured by the benchmark agrees too
        assert RULES_BY_CODE[rules[i]] == from_db.rule, p.wkt
        arr_grid = memory.grids[grid_idx[i]].id if grid_idx[i] >= 0 else None
        arr_comm = memory.communities[comm_idx[i]].id if comm_idx[i] >= 0 else None
        assert (arr_grid, arr_comm) == (from_db.grid_id, from_db.community_id), p.wkt
        if from_db.rule is Rule.BOUNDARY:
            assert len(from_db.candidates) >= 2
        # below the grid: the same building from both sources
        assert locate_building(p, from_db, db) == locate_building(p, from_memory, memory), p.wkt
    # the batch rows name the building group the API's owner names
    rows = route_many(memory, batch_lookup(session), points, snap_m=50)
    for p, row in zip(points, rows, strict=True):
        decision = decide(p, db, snap_m=50)
        if not decision.routable:
            assert row["rule"] == "outside"
            continue
        owner = owner_for(session, decision, p)
        assert row["building"] == (owner.building.name if owner.building else None), p.wkt
        group = owner.building_group.code if owner.building_group else None
        assert row["building_group_code"] == group, p.wkt
    # lines and polygons between drawn points: DB and memory sources agree
    a, b, c = points[0], points[1], points[2]
    shapes = [shapely.LineString([a, b]), shapely.LineString([a, b, c])]
    tri = shapely.Polygon([a, b, c])
    if tri.is_valid and tri.area > 0:
        shapes.append(tri)
    for g in shapes:
        if g.length == 0:
            continue
        from_db, from_memory = decide(g, db, snap_m=50), decide(g, memory, snap_m=50)
        assert (from_db.rule, from_db.grid_id) == (from_memory.rule, from_memory.grid_id), g.wkt


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_prefetch_path_equals_general_path(session, data) -> None:
    """route_geometry's one-round-trip path gives exactly the general path's owner."""
    _load_both(session)
    p = data.draw(st.composite(lambda d: _any_point(d))())
    general = decide(p, DbSource(session), snap_m=50)
    if not general.routable:
        with pytest.raises(NotRoutable):
            route_geometry(session, p, snap_m=50)
        return
    assert route_geometry(session, p, snap_m=50) == owner_for(session, general, p)


def test_prefetch_equals_general_on_demo_requests(session) -> None:
    from renewmap.db.models import Request
    from renewmap.spatial.geometry import from_db

    for r in session.query(Request).order_by(Request.id):
        p = from_db(r.geom)
        general = owner_for(session, decide(p, DbSource(session)), p)
        assert route_geometry(session, p) == general, r.id
