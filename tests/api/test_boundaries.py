"""Boundary administration on both databases: grid drafts validated, published with
re-routing and history; compounds merged (拆墙并院). Places: tests/support/places.py (community T:
grid A = [0,1]×[0,1], grid B = [1,2]×[0,1], a gap [2,3]×[0,1]; buildings at x 0.1–0.3 and
1.5–1.7)."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import mapping

from renewmap.db.models import Building, Community, Compound, Grid, Request
from renewmap.services.access import accounts
from renewmap.services.requests.intake import create_request
from renewmap.spatial.geometry import as_multi, to_db
from tests.support.places import add_test_community, m2w, pt


def grids_fc(*parts: tuple[str, float, float]) -> dict:
    """Grids as x-ranges of the community strip, in fixture units."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": code, "name": f"{code}网格"},
                "geometry": mapping(m2w(shapely.box(x0, 0, x1, 1))),
            }
            for code, x0, x1 in parts
        ],
    }


@pytest.fixture
def setup(make_client, session):
    add_test_community(session)
    ids = {}
    for name, (x, y) in {"rA": (0.5, 0.5), "rB": (1.5, 0.2), "rGap": (2.5, 0.5)}.items():
        r, _ = create_request(session, geom=pt(x, y), category="lighting", title=name)
        ids[name] = r.id
    admin = accounts.create_user(
        session,
        username="admin",
        password="correct horse battery",
        roles=[("community_admin", "T0001")],
    )
    lead = accounts.create_user(
        session,
        username="lead",
        password="correct horse battery",
        roles=[("grid_lead", "T0001/A")],
    )
    headers = {}
    for user in (admin, lead):
        token, _ = accounts.issue_token(session, user=user, kind="api")
        headers[user.username] = {"Authorization": f"Bearer {token}"}
    return make_client(), headers, ids


URL = "/api/staff/communities/T0001/grid-drafts"


def test_redraw_validate_publish_and_reroute(session, setup) -> None:
    client, h, ids = setup
    community = session.query(Community).filter_by(code="T0001").one()
    version = community.grid_set_version
    # A grows east to 1.55, B covers the rest (the former gap too)
    r = client.post(URL, headers=h["admin"], json=grids_fc(("A", 0, 1.55), ("B", 1.55, 3)))
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["report"]["ok"] and draft["report"]["grid_count"] == 2
    # nothing changed yet
    assert (
        session.get(Request, ids["rB"]).grid_id
        == session.query(Grid).filter_by(code="B", community_id=community.id).one().id
    )
    out = client.post(f"{URL}/{draft['id']}/publish", headers=h["admin"]).json()
    assert out["status"] == "published" and out["grid_set_version"] > version
    moves = {m["id"]: (m["from"], m["to"]) for m in out["rerouted"]}
    assert moves == {ids["rB"]: ("B", "A"), ids["rGap"]: (None, "B")}
    rB = session.get(Request, ids["rB"])
    assert rB.events[-1].kind == "rerouted" and rB.events[-1].data["from"]["grid"] == "B"
    # buildings follow the new boundaries: 2号楼 (x 1.5–1.7) is mostly east of 1.55
    b2 = session.query(Building).filter_by(number="2号楼", community_id=community.id).one()
    assert b2.grid_id == session.query(Grid).filter_by(code="B", community_id=community.id).one().id
    again = client.post(f"{URL}/{draft['id']}/publish", headers=h["admin"])
    assert again.status_code == 409


def test_problems_are_reported_with_locations_and_block_publishing(setup) -> None:
    client, h, _ = setup
    r = client.post(URL, headers=h["admin"], json=grids_fc(("A", 0, 2), ("B", 1, 2.5)))
    report = r.json()["report"]
    kinds = sorted(i["properties"]["kind"] for i in report["issues"])
    assert kinds == ["gap", "overlap"] and not report["ok"]
    overlap = next(i for i in report["issues"] if i["properties"]["kind"] == "overlap")
    lon, lat = overlap["geometry"]["coordinates"]
    assert 10.001 < lon < 10.002 and 50.0 < lat < 50.001  # inside [1,2]×[0,1]
    assert overlap["properties"]["grids"] == ["A", "B"]
    blocked = client.post(f"{URL}/{r.json()['id']}/publish", headers=h["admin"])
    assert blocked.status_code == 409 and blocked.json()["code"] == "grid_draft_has_problems"
    assert blocked.json()["message"].startswith("草稿不能发布：网格 A 与 B 重叠")
    assert blocked.json()["details"]["issues"][0].startswith("网格 A 与 B 重叠")
    assert overlap["properties"]["message"].startswith("网格 A 与 B 重叠")


def test_bad_drafts_and_wrong_people(session, setup) -> None:
    client, h, _ = setup
    fc = grids_fc(("A", 0, 1), ("B", 1, 3))
    del fc["features"][1]["properties"]["code"]
    r = client.post(URL, headers=h["admin"], json=fc)
    assert r.status_code == 422 and r.json()["code"] == "import_failed"
    assert "网格草稿 第 2 个要素的“code”字段：网格需要编号" in r.json()["message"]
    r = client.post(URL + "?lang=en", headers=h["admin"], json=fc)
    assert "grid draft, feature 2, field 'code'" in r.json()["message"]
    r = client.post(URL, headers=h["admin"], json={"type": "Feature"})
    assert r.status_code == 422
    r = client.post(URL, headers=h["lead"], json=grids_fc(("A", 0, 1), ("B", 1, 3)))
    assert r.status_code == 403
    # dropping grid B, which has a request, is refused at publishing
    r = client.post(URL, headers=h["admin"], json=grids_fc(("A", 0, 3)))
    out = client.post(f"{URL}/{r.json()['id']}/publish", headers=h["admin"])
    assert out.status_code == 409 and out.json()["details"]["grids"] == ["B"]
    assert (
        session.query(Grid)
        .filter_by(code="B")
        .join(Community)
        .filter(Community.code == "T0001")
        .count()
        == 1
    )


def test_merge_compounds(session, setup) -> None:
    client, h, ids = setup
    community = session.query(Community).filter_by(code="T0001").one()
    c1 = Compound(
        community_id=community.id,
        code="C1",
        name="东院",
        geom=to_db(as_multi(m2w(shapely.box(0, 0, 1, 1)))),
    )
    c2 = Compound(
        community_id=community.id,
        code="C2",
        name="西院",
        geom=to_db(as_multi(m2w(shapely.box(1, 0, 2, 1)))),
    )
    session.add_all([c1, c2])
    session.flush()
    session.query(Grid).filter_by(code="A", community_id=community.id).one().compound_id = c1.id
    session.query(Grid).filter_by(code="B", community_id=community.id).one().compound_id = c2.id
    session.flush()
    r = client.post(
        "/api/staff/communities/T0001/compounds/merge",
        headers=h["admin"],
        json={"keep": "C1", "merge": "C2"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["open_requests"] == [ids["rB"]] and r.json()["grids_moved"] == 1
    from renewmap.spatial.geometry import from_db

    merged = from_db(session.get(Compound, c1.id).geom)
    assert merged.equals(m2w(shapely.box(0, 0, 2, 1)))
    assert session.get(Compound, c2.id).merged_into_id == c1.id  # the row (history) stays
    assert (
        session.query(Grid).filter_by(code="B", community_id=community.id).one().compound_id
        == c1.id
    )
    assert session.get(Request, ids["rB"]).events[-1].kind == "compound_merged"
    again = client.post(
        "/api/staff/communities/T0001/compounds/merge",
        headers=h["admin"],
        json={"keep": "C1", "merge": "C2"},
    )
    assert again.status_code == 409


def test_assign_buildings_and_branches_by_hand(session, setup) -> None:
    client, h, ids = setup
    url = "/api/staff/communities/T0001/assignments"
    bad = client.post(
        url,
        headers=h["admin"],
        json={"buildings": {"9号楼": "A", "2号楼": "Z"}, "grid_branches": {"A": "T-GB"}},
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "assignments_invalid"
    problems = bad.json()["details"]["errors"]
    assert problems == [
        "buildings.9号楼：没有这栋楼",
        "buildings.2号楼：未知网格“Z”",
        "grid_branches.A：“T-GB”是党总支，不是网格党支部",
    ]
    english = client.post(
        url,
        headers={**h["admin"], "Accept-Language": "en"},
        json={"buildings": {"9号楼": "A", "2号楼": "Z"}, "grid_branches": {"A": "T-GB"}},
    )
    assert english.json()["details"]["errors"] == [
        "buildings.9号楼: no such building",
        "buildings.2号楼: unknown grid 'Z'",
        "grid_branches.A: 'T-GB' is a general party branch, not a grid party branch",
    ]
    community = session.query(Community).filter_by(code="T0001").one()
    version = community.grid_set_version
    ok = client.post(
        url, headers=h["admin"], json={"buildings": {"2号楼": "A"}, "grid_branches": {"B": "T-BA"}}
    )
    assert ok.status_code == 200 and ok.json()["changed"] == 2
    assert ok.json()["grid_set_version"] == version + 1
    grid_b = session.query(Grid).filter_by(code="B", community_id=community.id).one()
    assert grid_b.branch_id == session.get(Request, ids["rB"]).branch_id  # rB's owner chain
    assert client.post(url, headers=h["lead"], json={"buildings": {}}).status_code == 403
