"""Walking coverage with known answers: an L-shaped path network drawn in metres (UTM 32N)."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, box

from renewmap.spatial.coverage import walking_coverage
from tests.support.design import EPSG, w

# The path runs east 400 m along y = 0, then north 400 m along x = 400.
PATHS = [w(LineString([(0, 0), (400, 0)])), w(LineString([(400, 0), (400, 400)]))]
GARDEN = w(box(-20, -10, 0, 10))  # at the path's west end


def house(x: float, y: float):  # type: ignore[no-untyped-def]
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


def test_community_coverage_through_the_api(client, session) -> None:
    """Community T (0.001° units ≈ 71.5 m east-west): a garden at its west end and a path along
    y = 0.5; 1号楼 (x 0.1–0.3, 20 households) is next to the garden, 2号楼 (x 1.5–1.7, 30
    households) about 85 m further along the path."""
    import shapely

    from renewmap.db.models import Community, GreenArea, Path
    from renewmap.spatial.geometry import as_multi, to_db
    from tests.support.places import add_test_community, m2w

    add_test_community(session)
    community = session.query(Community).filter_by(code="T0001").one()
    session.add(
        GreenArea(
            community_id=community.id,
            name="小花园",
            layer="lawn",
            geom=to_db(as_multi(m2w(shapely.box(0, 0.4, 0.08, 0.6)))),
        )
    )
    session.add(
        Path(
            community_id=community.id,
            width_m=1.5,
            geom=to_db(as_multi(m2w(LineString([(0, 0.3), (3, 0.3)])))),
        )
    )
    session.flush()
    from renewmap.services.access import accounts

    designer = accounts.create_user(
        session,
        username="designer",
        password="correct horse battery",
        roles=[("designer", "T0001")],
    )
    lead = accounts.create_user(
        session, username="lead", password="correct horse battery", roles=[("grid_lead", "T0001/A")]
    )
    auth = {}
    for name, user in (("designer", designer), ("lead", lead)):
        token, _ = accounts.issue_token(session, user=user, kind="api")
        auth[name] = {"Authorization": f"Bearer {token}"}
    url = "/api/design/communities/T0001/coverage"
    # buildings and households are for the staff who plan the sites, as on the page
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth["lead"]).status_code == 403
    wide = client.get(url, params={"radius_m": 300}, headers=auth["designer"]).json()
    tight = client.get(url, params={"radius_m": 60}, headers=auth["designer"]).json()
    bad = client.get(url, params={"radius_m": 1}, headers=auth["designer"])
    assert (wide["buildings_covered"], wide["share_households"]) == (2, 1.0)
    assert (tight["buildings_covered"], tight["households_covered"], tight["share_households"]) == (
        1,
        20,
        0.4,
    )
    by = {f["properties"]["building"]: f["properties"] for f in tight["features"]["features"]}
    assert by["1号楼"]["covered"] and not by["2号楼"]["covered"]
    # Both sit 11.1 m from the path and join it up to one step (5 m) beyond their nearest
    # node, i.e. 16.1 m diagonally, reaching √(16.1² − 11.1²) ≈ 11.7 m past their ends:
    # garden end 0.08 × 71.5 = 5.7 m, 2号楼 start 1.5 × 71.5 = 107.3 m.
    along = (107.3 - 11.7) - (5.7 + 11.7)
    assert by["2号楼"]["method"] == "network"
    assert by["2号楼"]["distance_m"] == pytest.approx(along + 2 * 16.1, abs=2.5)  # node spacing
    assert bad.status_code == 422
