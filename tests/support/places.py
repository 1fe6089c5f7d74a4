"""Tiny hand-drawn places with known answers (far from the demo community).

Drawn in WGS84 units of 0.001° from (lon 10, lat 50): one unit is ≈ 71.5 m east-west and
≈ 111.2 m north-south. Edges are axis-aligned, so a point with the edge's x lies exactly on it.
Community T (code T0001) = [0,3]×[0,1]: grid A = [0,1]×[0,1], grid B = [1,2]×[0,1], and a gap
[2,3]×[0,1] in no grid. Buildings: bA (grid A) x∈[0.1,0.3]; bB (grid B) x∈[1.5,1.7]; y∈[0.4,0.6].
"""

from __future__ import annotations

import shapely
from shapely import box
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from renewmap.db.models import Building, Community, Grid, PartyBranch, Subdistrict
from renewmap.spatial.geometry import as_multi, to_db

EPSG = 32632  # UTM 32N: the community's metric CRS
UNIT = 0.001
LON0, LAT0 = 10.0, 50.0


def m2w(g: BaseGeometry) -> BaseGeometry:
    """Local units to WGS84 (the same arithmetic for polygons and points: exact edges)."""
    return shapely.affinity.affine_transform(g, [UNIT, 0, 0, UNIT, LON0, LAT0])


def pt(x: float, y: float) -> BaseGeometry:
    return m2w(shapely.Point(x, y))


COMMUNITY = box(0, 0, 3, 1)
GRID_A = box(0, 0, 1, 1)
GRID_B = box(1, 0, 2, 1)
BUILDING_A = box(0.1, 0.4, 0.3, 0.6)
BUILDING_B = box(1.5, 0.4, 1.7, 0.6)


def shared_edge_wgs() -> tuple[BaseGeometry, BaseGeometry]:
    """The exact WGS84 grid polygons as stored (their shared edge is bit-identical)."""
    return m2w(GRID_A), m2w(GRID_B)


def add_test_community(session: Session) -> dict[str, int]:
    """Insert community T with two grids, two branches under a general branch, two buildings."""
    sub = Subdistrict(code="T00", name="测试街道")
    community = Community(
        code="T0001",
        name="测试社区",
        subdistrict=sub,
        metric_epsg=EPSG,
        grid_set_version=1,
        geom=to_db(as_multi(m2w(COMMUNITY))),
    )
    session.add(community)
    session.flush()
    general = PartyBranch(
        code="T-GB", name="测试党总支", level="general", community_id=community.id
    )
    session.add(general)
    session.flush()
    ba = PartyBranch(
        code="T-BA", name="A支部", level="grid", parent_id=general.id, community_id=community.id
    )
    bb = PartyBranch(
        code="T-BB", name="B支部", level="grid", parent_id=general.id, community_id=community.id
    )
    session.add_all([ba, bb])
    session.flush()
    ga = Grid(
        community_id=community.id,
        code="A",
        name="A网格",
        branch_id=ba.id,
        geom=to_db(as_multi(m2w(GRID_A))),
    )
    gb = Grid(
        community_id=community.id,
        code="B",
        name="B网格",
        branch_id=bb.id,
        geom=to_db(as_multi(m2w(GRID_B))),
    )
    session.add_all([ga, gb])
    session.flush()
    session.add_all(
        [
            Building(
                community_id=community.id,
                grid_id=ga.id,
                number="1号楼",
                households=20,
                geom=to_db(as_multi(m2w(BUILDING_A))),
            ),
            Building(
                community_id=community.id,
                grid_id=gb.id,
                number="2号楼",
                households=30,
                geom=to_db(as_multi(m2w(BUILDING_B))),
            ),
        ]
    )
    session.flush()
    return {"community": community.id, "A": ga.id, "B": gb.id}


# Community Q (code Q0001): four grids NW, NE, SW, SE of 1×1 units meeting at one vertex (1,1),
# at lon 20, lat 40. Buildings bNW and bSE are mirror images through the centre, so a point on
# the centre is exactly equidistant: the tie goes to the lower code (NE has no building).
Q_LON0, Q_LAT0 = 20.0, 40.0


def q2w(g: BaseGeometry) -> BaseGeometry:
    return shapely.affinity.affine_transform(g, [UNIT, 0, 0, UNIT, Q_LON0, Q_LAT0])


def qpt(x: float, y: float) -> BaseGeometry:
    return q2w(shapely.Point(x, y))


QUADS = {"NE": box(1, 1, 2, 2), "NW": box(0, 1, 1, 2), "SE": box(1, 0, 2, 1), "SW": box(0, 0, 1, 1)}


def add_quad_community(session: Session) -> dict[str, int]:
    community = Community(
        code="Q0001",
        name="四格社区",
        metric_epsg=32634,
        grid_set_version=1,
        geom=to_db(as_multi(q2w(box(0, 0, 2, 2)))),
    )
    session.add(community)
    session.flush()
    ids = {"community": community.id}
    for code, g in QUADS.items():
        grid = Grid(
            community_id=community.id, code=code, name=f"{code}网格", geom=to_db(as_multi(q2w(g)))
        )
        session.add(grid)
        session.flush()
        ids[code] = grid.id
    session.add_all(
        [
            Building(
                community_id=community.id,
                grid_id=ids["NW"],
                number="NW楼",
                geom=to_db(as_multi(q2w(box(0.4, 1.4, 0.6, 1.6)))),
            ),
            Building(
                community_id=community.id,
                grid_id=ids["SE"],
                number="SE楼",
                geom=to_db(as_multi(q2w(box(1.4, 0.4, 1.6, 0.6)))),
            ),
        ]
    )
    session.flush()
    return ids


def add_building_groups(session: Session) -> dict[str, int]:
    """Building party groups of community T (after ``add_test_community``): T-LZ1 serves the
    whole of 1号楼 (bA); 2号楼 (bB) has two stairwells whose entrances lie 1.1 m south of its
    south face, west (x 1.55) and east (x 1.65), each with its own group, T-LZ2W and T-LZ2E;
    T-LZ9 serves nothing yet."""
    from sqlalchemy import select

    from renewmap.db.models import BuildingGroupPlace, Stairwell

    community = session.scalar(select(Community).where(Community.code == "T0001"))
    assert community is not None
    buildings = {
        b.number: b
        for b in session.scalars(select(Building).where(Building.community_id == community.id))
    }
    grid_branches = {
        b.code: b
        for b in session.scalars(select(PartyBranch).where(PartyBranch.code.in_(["T-BA", "T-BB"])))
    }
    groups = {}
    for code, name, parent in [
        ("T-LZ1", "1号楼楼组", "T-BA"),
        ("T-LZ2W", "2号楼西楼组", "T-BB"),
        ("T-LZ2E", "2号楼东楼组", "T-BB"),
        ("T-LZ9", "9号楼楼组", "T-BB"),
    ]:
        groups[code] = PartyBranch(
            code=code,
            name=name,
            level="building_group",
            parent_id=grid_branches[parent].id,
            community_id=community.id,
        )
    session.add_all(groups.values())
    session.flush()
    b1, b2 = buildings["1号楼"], buildings["2号楼"]
    west = Stairwell(
        community_id=community.id,
        building_id=b2.id,
        number="1单元",
        households=15,
        geom=to_db(m2w(shapely.Point(1.55, 0.39))),
    )
    east = Stairwell(
        community_id=community.id,
        building_id=b2.id,
        number="2单元",
        households=15,
        geom=to_db(m2w(shapely.Point(1.65, 0.39))),
    )
    session.add_all([west, east])
    session.flush()
    session.add_all(
        [
            BuildingGroupPlace(branch_id=groups["T-LZ1"].id, building_id=b1.id),
            BuildingGroupPlace(
                branch_id=groups["T-LZ2W"].id, building_id=b2.id, stairwell_id=west.id
            ),
            BuildingGroupPlace(
                branch_id=groups["T-LZ2E"].id, building_id=b2.id, stairwell_id=east.id
            ),
        ]
    )
    session.flush()
    return {code: g.id for code, g in groups.items()} | {"b1": b1.id, "b2": b2.id}
