"""Walking coverage through the API on both databases, with known answers on community T0001."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString


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
