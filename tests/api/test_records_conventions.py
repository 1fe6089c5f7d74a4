"""Conventions agreed by household code on both databases (issue 18 item 5): where the place's
households have consultation codes (征询单), each household agrees once per version with its
code (any of its forms' codes), counted per building; codes are looked up by keyed hash and
wrong ones are rate limited like the consultation's; elsewhere staff count the signatures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from shapely.geometry import box

from renewmap.db.models import Building, Community, HouseholdCode, Site
from renewmap.services.design.households import code_hash
from renewmap.spatial.geometry import as_multi, to_db
from tests.support.places import m2w
from tests.support.records import records_world

BASE = "/api/records/communities/T0001"
PUBLIC = "/api/communities/T0001/conventions"

# household → its code; 1号楼 has three households with forms, 2号楼 two (stairwells 1 and 2);
# household 1 of 1号楼 has a second form from another site's consultation; one form was reissued.
CODES = {
    ("S1", "1号楼", None, "1"): "AAAA2222",
    ("S1", "1号楼", None, "2"): "AAAA3333",
    ("S1", "1号楼", None, "3"): "AAAA4444",
    ("S2", "1号楼", None, "1"): "BBBB2222",
    ("S1", "2号楼", "1", "1"): "CCCC2222",
    ("S1", "2号楼", "2", "1"): "CCCC3333",
}
REVOKED = "DDDD2222"  # 1号楼 household 2's old form


@pytest.fixture
def world(make_client, session):
    headers, _ = records_world(session)
    c = make_client(rate_codes=3)
    secret = c.app.state.settings.secret_key
    t1 = session.query(Community).filter_by(code="T0001").one()
    s1 = session.query(Site).filter_by(community_id=t1.id, code="S1").one()
    s2 = Site(
        community_id=t1.id,
        code="S2",
        name="车棚",
        geom=to_db(as_multi(m2w(box(0.1, 0.1, 0.2, 0.2)))),
    )
    session.add(s2)
    session.flush()
    sites = {"S1": s1.id, "S2": s2.id}
    buildings = {b.number: b.id for b in session.query(Building).filter_by(community_id=t1.id)}
    for (site, building, stairwell, household), code in CODES.items():
        session.add(
            HouseholdCode(
                site_id=sites[site],
                building_id=buildings[building],
                building=building,
                stairwell=stairwell,
                household=household,
                code_hash=code_hash(secret, code),
                issued_by="t",
            )
        )
    session.add(
        HouseholdCode(
            site_id=s1.id,
            building_id=buildings["1号楼"],
            building="1号楼",
            household="2",
            code_hash=code_hash(secret, REVOKED),
            issued_by="t",
            revoked_at=datetime.now(UTC),
        )
    )
    session.flush()
    return c, headers


def _convention(**over):
    body = {
        "title": "1号楼楼组文明公约",
        "scope": "building",
        "building": "1号楼",
        "body": "不高空抛物；楼道不堆物。",
        "adopted_on": "2025-04-01",
    }
    return {**body, **over}


def _phone(make_client, c):
    return make_client(app=c.app, csrf=True)


def test_households_agree_with_their_codes_once_per_version(world, make_client) -> None:
    c, h = world
    counted = c.post(f"{BASE}/conventions", headers=h["admin"], json=_convention(agreed=3))
    assert counted.status_code == 422 and counted.json()["code"] == "convention_agreed_by_codes"
    r = c.post(f"{BASE}/conventions", headers=h["admin"], json=_convention())
    assert r.status_code == 201, r.text
    conv = r.json()
    assert conv["households"] == 3  # the building's households with a form
    assert conv["current"]["by_codes"] is True and conv["current"]["agreed"] == 0
    assert conv["current"]["buildings"] == [{"building": "1号楼", "households": 3, "agreed": 0}]
    url = f"/api/communities/T0001/conventions/{conv['id']}/agree"
    a, b = _phone(make_client, c), _phone(make_client, c)
    first = a.post(url, json={"code": "aaaa-2222"})  # as typed off the paper
    assert first.status_code == 200, first.text
    assert first.json() == {
        "convention": conv["id"],
        "version": 1,
        "household": "1号楼 第1户",
        "agreed": 1,
        "households": 3,
        "buildings": [{"building": "1号楼", "households": 3, "agreed": 1}],
    }
    # the same household with its other form's code: once per household and version
    again = a.post(url, json={"code": "BBBB2222"})
    assert again.status_code == 409 and again.json()["code"] == "convention_already_agreed"
    assert b.post(url, json={"code": "AAAA3333"}).json()["agreed"] == 2
    # a code another phone holds; a building the convention does not bind; a reissued form's
    taken = b.post(url, json={"code": "AAAA2222"})
    assert taken.status_code == 409 and taken.json()["code"] == "household_code_taken"
    bad = b.post(url, json={"code": "12"})
    assert bad.status_code == 422 and bad.json()["code"] == "household_code_malformed"
    # a new version is agreed anew; the first keeps its count
    v2 = c.post(
        f"/api/records/conventions/{conv['id']}/versions",
        headers=h["admin"],
        json={"body": "第二版", "adopted_on": "2025-10-01"},
    )
    assert v2.status_code == 201, v2.text
    assert a.post(url, json={"code": "AAAA2222"}).json()["version"] == 2
    public = c.get(PUBLIC).json()["conventions"][0]
    assert [(v["number"], v["agreed"]) for v in public["versions"]] == [(2, 1), (1, 2)]
    page = c.get("/c/T0001/conventions")
    assert "3 户中 1 户同意" in page.text and "AAAA" not in page.text
    # a building the convention does not bind (last: a wrong code ends the request's
    # transaction before its try is counted, and the test's world lives in it)
    other = b.post(url, json={"code": "CCCC2222"})
    assert other.status_code == 404 and other.json()["code"] == "convention_code_unknown"


def test_facility_and_stairwell_conventions_count_per_building(world, make_client) -> None:
    c, h = world
    shed = c.post(
        f"{BASE}/conventions",
        headers=h["admin"],
        json=_convention(title="车棚使用公约", scope="facility", facility="北门车棚"),
    ).json()
    assert shed["households"] == 5  # every household with a form in the community
    phone = _phone(make_client, c)
    url = f"/api/communities/T0001/conventions/{shed['id']}/agree"
    assert phone.post(url, json={"code": "CCCC3333"}).status_code == 200
    out = phone.post(url, json={"code": "AAAA4444"}).json()
    assert out["buildings"] == [
        {"building": "1号楼", "households": 3, "agreed": 1},
        {"building": "2号楼", "households": 2, "agreed": 1},
    ]
    stair = c.post(
        f"{BASE}/conventions",
        headers=h["admin"],
        json=_convention(title="2单元公约", scope="stairwell", building="2号楼", unit="2单元"),
    ).json()
    assert stair["households"] == 1
    url = f"/api/communities/T0001/conventions/{stair['id']}/agree"
    assert phone.post(url, json={"code": "CCCC3333"}).json()["agreed"] == 1
    assert phone.post(url, json={"code": "CCCC2222"}).status_code == 404  # stairwell 1 (last)


def test_wrong_codes_are_rate_limited(world, make_client) -> None:
    c, h = world
    conv = c.post(f"{BASE}/conventions", headers=h["admin"], json=_convention()).json()
    url = f"/api/communities/T0001/conventions/{conv['id']}/agree"
    phone = _phone(make_client, c)
    for _ in range(3):
        assert phone.post(url, json={"code": "ZZZZ9999"}).status_code == 404
    assert phone.post(url, json={"code": "AAAA2222"}).status_code == 429  # even a right one


def test_staff_count_where_there_are_no_codes(world, make_client) -> None:
    c, h = world
    body = _convention(title="车棚公约", scope="facility", facility="车棚", households=10)
    missing = c.post("/api/records/communities/T0002/conventions", headers=h["admin2"], json=body)
    assert missing.status_code == 422 and missing.json()["code"] == "convention_agreed_missing"
    r = c.post(
        "/api/records/communities/T0002/conventions",
        headers=h["admin2"],
        json={**body, "agreed": 7},
    )
    assert r.status_code == 201, r.text
    conv = r.json()
    assert (conv["households"], conv["current"]["agreed"], conv["current"]["by_codes"]) == (
        10,
        7,
        False,
    )
    url = f"/api/communities/T0002/conventions/{conv['id']}/agree"
    paper = _phone(make_client, c).post(url, json={"code": "AAAA2222"})
    assert paper.status_code == 409 and paper.json()["code"] == "convention_not_by_codes"
    # another community's convention is not found through T0001
    wrong = _phone(make_client, c).post(
        f"/api/communities/T0001/conventions/{conv['id']}/agree", json={"code": "AAAA2222"}
    )
    assert wrong.status_code == 404 and wrong.json()["code"] == "convention_not_in_community"


def test_staff_enter_an_agreement_given_on_paper(world, make_client) -> None:
    c, h = world
    conv = c.post(f"{BASE}/conventions", headers=h["admin"], json=_convention()).json()
    url = f"{BASE}/conventions/{conv['id']}/agree"
    assert c.post(url, headers=h["admin2"], json={"code": "AAAA4444"}).status_code == 404
    assert c.post(url, headers=h["lead_a"], json={"code": "AAAA4444"}).status_code == 403
    paper = c.post(url, headers=h["admin"], json={"code": "AAAA4444"})
    assert paper.status_code == 200, paper.text
    assert (paper.json()["household"], paper.json()["agreed"]) == ("1号楼 第3户", 1)
    # the household's phone is told it has agreed already; the code stays free for its phone
    phone = _phone(make_client, c)
    public = f"/api/communities/T0001/conventions/{conv['id']}/agree"
    again = phone.post(public, json={"code": "AAAA4444"})
    assert again.status_code == 409 and again.json()["code"] == "convention_already_agreed"
    assert "1号楼 第3户" in again.json()["message"]
    assert c.post(url, headers=h["admin"], json={"code": "AAAA4444"}).status_code == 409
    # a reissued form's old code, a building the convention does not bind
    for code in (REVOKED, "CCCC2222"):
        wrong = c.post(url, headers=h["admin"], json={"code": code})
        assert wrong.status_code == 404 and wrong.json()["code"] == "convention_code_unknown"
