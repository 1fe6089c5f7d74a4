"""People, conventions, events and points on both databases (issue 18 items 3, 5, 6): the
consent-based roster and teams (growth 3 → 70, known answers), removal on request (details
erased, records stay), conventions with versions and households agreed, events with sign-ups
and attendance (人次), the points ledger and balances; scope (another community's staff: 404)
and privacy (no name or phone on any public page or API)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from shapely.geometry import mapping

from renewmap.db.models import Community, Grid, Patrol
from tests.support.places import pt
from tests.support.records import records_world

BASE = "/api/records/communities/T0001"
PHONE = "13911112222"


@pytest.fixture
def world(make_client, session):
    headers, _ = records_world(session)
    t1 = session.query(Community).filter_by(code="T0001").one()
    grid = session.query(Grid).filter_by(community_id=t1.id, code="A").one()
    patrol = Patrol(grid_id=grid.id, day=date(2025, 5, 8), participants="党员", recorded_by="t")
    session.add(patrol)
    session.flush()
    return make_client(), headers, patrol.id


def _person(**over):
    body = {
        "name": "陈老师",
        "phone": PHONE,
        "roles": ["partner"],
        "partner_kind": "education",
        "organisation": "第一小学",
        "skills": ["自然教育", "绘本"],
        "consent_on": "2025-03-01",
    }
    return {**body, **over}


def _add(c, h, **over):
    r = c.post(f"{BASE}/people", headers=h["admin"], json=_person(**over))
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"consent_on": None}, "person_consent_missing"),
        ({"roles": []}, "person_roles_missing"),
        ({"partner_kind": None}, "record_code_unknown"),
        ({"partner_kind": "sports"}, "record_code_unknown"),
        ({"roles": ["volunteer"]}, "person_partner_kind_unexpected"),
        ({"roles": ["mayor"], "partner_kind": None}, "record_code_unknown"),
        ({"consent_on": "2025-02-30"}, "date_invalid"),
    ],
)
def test_a_person_needs_consent_and_known_roles(world, change, code) -> None:
    c, h, _ = world
    r = c.post(f"{BASE}/people", headers=h["admin"], json=_person(**change))
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert c.get(f"{BASE}/people", headers=h["admin"]).json()["people"] == []


def test_the_roster_and_a_team_that_grew_from_3_to_70(world) -> None:
    c, h, _ = world
    partner = _add(c, h)
    assert partner["roles"] == [{"code": "partner", "label": "社区合伙人"}]
    assert partner["partner_kind_label"] == "教育" and partner["skills"] == ["自然教育", "绘本"]
    ids = [partner["id"]] + [
        _add(c, h, name=f"志愿者{i}", roles=["volunteer"], partner_kind=None, phone=None)["id"]
        for i in range(69)
    ]
    team = c.post(
        f"{BASE}/teams",
        headers=h["admin"],
        json={"name": "为老服务队", "purpose": "助老", "founded_on": "2024-03-01"},
    )
    assert team.status_code == 201, team.text
    tid = team.json()["id"]
    url = f"/api/records/teams/{tid}/members"
    first = c.post(url, headers=h["admin"], json={"people": ids[:3], "joined_on": "2024-03-01"})
    assert first.json()["members_now"] == 3
    r = c.post(url, headers=h["admin"], json={"people": ids, "joined_on": "2025-06-01"})
    assert r.status_code == 200, r.text
    assert r.json()["growth"] == [
        {"day": "2024-03-01", "members": 3},
        {"day": "2025-06-01", "members": 70},
    ]
    left = c.post(
        f"/api/records/teams/{tid}/leave",
        headers=h["admin"],
        json={"person": ids[5], "left_on": "2025-09-01"},
    ).json()
    assert (left["members_now"], left["growth"][-1]) == (69, {"day": "2025-09-01", "members": 69})
    early = c.post(url, headers=h["admin"], json={"people": ids[:1], "joined_on": "2020-01-01"})
    assert early.json()["code"] == "team_joined_before_founded"
    dup = c.post(
        f"{BASE}/teams", headers=h["admin"], json={"name": "为老服务队", "founded_on": "2024-01-01"}
    )
    assert dup.status_code == 409 and dup.json()["code"] == "team_exists"
    # the person's teams and their links to a site and a patrol
    p = c.get(f"/api/records/people/{partner['id']}", headers=h["lead_a"]).json()
    # already a member since the first day: joining again changes nothing
    assert [(x["team"], x["joined_on"]) for x in p["teams"]] == [("为老服务队", "2024-03-01")]
    _, _, patrol_id = world
    r = c.post(
        f"/api/records/people/{partner['id']}/links",
        headers=h["admin"],
        json={"target": "site", "site": "S1"},
    )
    assert r.json()["links"][0]["name"] == "睦邻花园"
    r = c.post(
        f"/api/records/people/{partner['id']}/links",
        headers=h["admin"],
        json={"target": "patrol", "id": patrol_id},
    )
    assert [x["target"] for x in r.json()["links"]] == ["site", "patrol"]
    r = c.post(
        f"/api/records/people/{partner['id']}/links",
        headers=h["admin"],
        json={"target": "site", "site": "S9"},
    )
    assert r.status_code == 404 and r.json()["code"] == "person_link_not_found"
    counts = c.get(f"{BASE}/counts", headers=h["admin"]).json()
    assert counts["people"] == 70


def test_removed_on_request_the_details_go_and_the_records_stay(world) -> None:
    c, h, _ = world
    p = _add(c, h, roles=["party_volunteer"], partner_kind=None)
    m = c.post(
        f"{BASE}/meetings",
        headers=h["admin"],
        json={
            "kind": "building_group",
            "title": "楼组会",
            "held_on": "2025-05-08",
            "attendees": [
                {"role": "resident", "person": p["id"]},
                {"role": "resident", "count": 3},
            ],
        },
    )
    assert m.status_code == 201, m.text
    assert [a["name"] for a in m.json()["attendees"]] == ["陈老师", None]
    v = c.post(
        f"{BASE}/points",
        headers=h["admin"],
        json={"person": p["id"], "kind": "volunteering", "day": "2025-05-09", "hours": 2},
    )
    assert v.status_code == 201, v.text
    r = c.delete(f"/api/records/people/{p['id']}", headers=h["admin"])
    assert r.status_code == 200, r.text
    gone = r.json()
    assert gone["removed"] and gone["phone"] is None and gone["organisation"] is None
    assert gone["name"] == "已按本人要求删除" and gone["skills"] == []
    roster = c.get(f"{BASE}/people", headers=h["admin"])
    assert PHONE not in roster.text and "陈老师" not in roster.text
    meeting = c.get(f"/api/records/meetings/{m.json()['id']}", headers=h["admin"]).json()
    assert meeting["participants"] == 4 and "陈老师" not in str(meeting)
    ledger = c.get(f"{BASE}/points", headers=h["admin"]).json()
    assert ledger["balances"] == [
        {"person_id": p["id"], "person": "已按本人要求删除", "points": 20}
    ]
    assert c.get(f"{BASE}/counts", headers=h["admin"]).json()["people"] == 0
    r = c.put(f"/api/records/people/{p['id']}", headers=h["admin"], json=_person(version=2))
    assert r.status_code == 409 and r.json()["code"] == "person_removed"


def test_conventions_with_versions_and_households_agreed(world) -> None:
    c, h, _ = world
    body = {
        "title": "1号楼楼组文明公约",
        "scope": "building",
        "building": "1号楼",
        "body": "不高空抛物；楼道不堆物。",
        "adopted_on": "2025-04-01",
        "agreed": 17,
    }
    r = c.post(f"{BASE}/conventions", headers=h["admin"], json=body)
    assert r.status_code == 201, r.text
    conv = r.json()
    assert (conv["place"], conv["households"], conv["current"]["agreed"]) == ("1号楼", 20, 17)
    too_many = c.post(f"{BASE}/conventions", headers=h["admin"], json={**body, "agreed": 21})
    assert too_many.json()["code"] == "convention_agreed_out_of_range"
    shed = c.post(
        f"{BASE}/conventions",
        headers=h["admin"],
        json={
            "title": "车棚使用公约",
            "scope": "facility",
            "facility": "北门车棚",
            "households": 50,
            "point": mapping(pt(0.6, 0.3)),
            "body": "电动车不得在楼道充电。",
            "adopted_on": "2025-05-01",
            "agreed": 41,
        },
    )
    assert shed.status_code == 201, shed.text
    stair = c.post(
        f"{BASE}/conventions",
        headers=h["admin"],
        json={**body, "scope": "stairwell", "unit": "2单元", "households": 8, "agreed": 8},
    ).json()
    assert stair["place"] == "1号楼2单元"  # as residents write it
    url = f"/api/records/conventions/{conv['id']}/versions"
    v2 = c.post(
        url, headers=h["admin"], json={"body": "第二版", "adopted_on": "2025-10-01", "agreed": 19}
    )
    assert v2.status_code == 201 and v2.json()["current"]["number"] == 2
    back = c.post(
        url, headers=h["admin"], json={"body": "x", "adopted_on": "2025-01-01", "agreed": 1}
    )
    assert back.json()["code"] == "convention_version_before_last"
    nowhere = c.post(f"{BASE}/conventions", headers=h["admin"], json={**body, "building": "9号楼"})
    assert nowhere.status_code == 404
    public = c.get("/api/communities/T0001/conventions").json()["conventions"]
    assert [(x["title"], x["current"]["agreed"], len(x["versions"])) for x in public] == [
        ("1号楼楼组文明公约", 19, 2),
        ("车棚使用公约", 41, 1),
        ("1号楼楼组文明公约", 8, 1),
    ]
    page = c.get("/c/T0001/conventions")
    assert page.status_code == 200 and "20 户中 19 户同意" in page.text and "第二版" in page.text
    assert (
        c.post(
            url, headers=h["admin2"], json={"body": "x", "adopted_on": "2026-01-01", "agreed": 1}
        ).status_code
        == 404
    )
    assert (
        c.post(
            url, headers=h["lead_a"], json={"body": "x", "adopted_on": "2026-01-01", "agreed": 1}
        ).status_code
        == 403
    )


def test_events_sign_up_attendance_and_points(world, make_client) -> None:
    c, h, patrol_id = world
    coming = (date.today() + timedelta(days=10)).isoformat()
    r = c.post(
        f"{BASE}/events",
        headers=h["admin"],
        json={
            "kind": "lecture",
            "title": "垃圾分类微讲堂",
            "day": coming,
            "time": "14:30",
            "place": "党群服务站",
            "point": mapping(pt(0.6, 0.3)),
            "capacity": 5,
        },
    )
    assert r.status_code == 201, r.text
    ev = r.json()
    bad = c.post(
        f"{BASE}/events",
        headers=h["admin"],
        json={"kind": "lecture", "title": "x", "day": coming, "time": "25:00"},
    )
    assert bad.json()["code"] == "event_time_invalid"
    resident = make_client(app=c.app, csrf=True)
    url = f"/api/communities/T0001/events/{ev['id']}/signups"
    s = resident.post(url, json={"name": "王阿姨", "phone": PHONE, "party": 2})
    assert s.status_code == 201, s.text
    assert (s.json()["signed_up"], s.json()["places_left"]) == (2, 3)
    assert PHONE not in s.text and "王阿姨" not in s.text
    again = resident.post(url, json={"name": "王阿姨", "party": 1})
    assert again.status_code == 409 and again.json()["code"] == "event_signed_up"
    other = make_client(app=c.app, csrf=True)
    full = other.post(url, json={"name": "李", "party": 4})
    assert full.status_code == 409 and full.json()["code"] == "event_full"
    no_csrf = make_client(app=c.app).post(url, json={"name": "李", "party": 1})
    assert no_csrf.status_code == 403
    # staff: a person of the roster signs up, both come, 3 walk in
    p = _add(c, h, roles=["volunteer"], partner_kind=None)
    r = c.post(
        f"/api/records/events/{ev['id']}/signups",
        headers=h["admin"],
        json={"person": p["id"], "party": 1, "attended": True},
    )
    assert r.status_code == 201, r.text
    staff_ev = r.json()
    mine = next(x for x in staff_ev["signups"] if x["person_id"] == p["id"])
    theirs = next(x for x in staff_ev["signups"] if x["person_id"] is None)
    assert theirs["phone"] == PHONE and mine["name"] == "陈老师"
    r = c.post(
        f"/api/records/event-signups/{theirs['id']}/attended",
        headers=h["admin"],
        json={"attended": True},
    )
    r = c.post(
        f"/api/records/events/{ev['id']}/walk-ins",
        headers=h["admin"],
        json={"walk_ins": 3, "version": 1},
    )
    assert r.json()["attendance"] == 6  # 2 + 1 signed up and came, 3 walked in
    public = c.get("/api/communities/T0001/events")
    assert public.json()["events"][0]["attendance"] == 6
    assert PHONE not in public.text and "王阿姨" not in public.text and "陈老师" not in public.text
    page = c.get("/c/T0001/events")
    assert page.status_code == 200 and "垃圾分类微讲堂" in page.text and PHONE not in page.text
    year = int(coming[:4])
    years = {y["year"]: y for y in c.get(f"{BASE}/counts", headers=h["admin"]).json()["years"]}
    assert (years[year]["events"], years[year]["event_attendances"]) == (1, 6)
    # points: the event, a patrol, volunteering; a redemption within the balance only
    pts = f"{BASE}/points"

    def earn(**body):
        return c.post(
            pts, headers=h["admin"], json={"person": p["id"], "day": "2025-06-01", **body}
        )

    assert earn(kind="event", source=mine["id"]).status_code == 201
    assert earn(kind="event", source=mine["id"]).json()["code"] == "points_already_earned"
    assert (
        earn(kind="event", source=theirs["id"] + 1000).json()["code"] == "points_source_not_found"
    )
    assert earn(kind="patrol", source=patrol_id).status_code == 201
    assert earn(kind="volunteering", hours=2.5).status_code == 201
    short = earn(kind="redemption", points=41, item="洗衣液")
    assert short.status_code == 409 and short.json()["code"] == "points_not_enough"
    done = earn(kind="redemption", points=30, item="洗衣液")
    assert done.status_code == 201, done.text
    ledger = done.json()
    assert [e["points"] for e in ledger["entries"]] == [5, 10, 25, -30]
    assert ledger["balances"] == [{"person_id": p["id"], "person": "陈老师", "points": 10}]
    assert c.get(f"/api/records/people/{p['id']}", headers=h["lead_a"]).json()["points"] == 10


def test_another_communitys_staff_see_nothing_and_the_public_no_contact(world, make_client) -> None:
    c, h, _ = world
    p = _add(c, h)
    team = c.post(
        f"{BASE}/teams", headers=h["admin"], json={"name": "花园队", "founded_on": "2025-01-01"}
    ).json()
    ev = c.post(
        f"{BASE}/events",
        headers=h["admin"],
        json={"kind": "market", "title": "跳蚤市场", "day": "2025-07-01"},
    ).json()
    for outsider in ("admin2", "demo_admin"):
        hh = h[outsider]
        for url in (
            f"{BASE}/people",
            f"/api/records/people/{p['id']}",
            f"{BASE}/events",
            f"/api/records/events/{ev['id']}",
            f"{BASE}/points",
        ):
            assert c.get(url, headers=hh).status_code == 404, (outsider, url)
        for method, url, body in (
            ("post", f"{BASE}/people", _person()),
            ("put", f"/api/records/people/{p['id']}", _person(version=1)),
            ("delete", f"/api/records/people/{p['id']}", None),
            ("post", f"/api/records/people/{p['id']}/links", {"target": "site", "site": "S1"}),
            (
                "post",
                f"/api/records/teams/{team['id']}/members",
                {"people": [p["id"]], "joined_on": "2025-02-01"},
            ),
            ("post", f"/api/records/events/{ev['id']}/walk-ins", {"walk_ins": 1, "version": 1}),
            (
                "post",
                f"{BASE}/points",
                {"person": p["id"], "kind": "volunteering", "day": "2025-06-01", "hours": 1},
            ),
        ):
            r = c.request(method.upper(), url, headers=hh, json=body)
            assert r.status_code == 404, (outsider, url, r.text)
    # T0002's admin cannot put T0001's person on a T0002 sign-in sheet
    r = c.post(
        "/api/records/communities/T0002/meetings",
        headers=h["admin2"],
        json={
            "kind": "forum",
            "title": "x",
            "held_on": "2025-05-01",
            "attendees": [{"role": "resident", "person": p["id"]}],
        },
    )
    assert r.status_code == 404 and r.json()["code"] == "person_not_found"
    # a reader (grid lead) reads the roster, does not keep it
    assert c.get(f"{BASE}/people", headers=h["lead_a"]).status_code == 200
    assert c.post(f"{BASE}/people", headers=h["lead_a"], json=_person()).status_code == 403
    anonymous = make_client(app=c.app)
    assert anonymous.get(f"{BASE}/people").status_code == 401
    for url in (
        "/api/communities/T0001/events",
        "/api/communities/T0001/conventions",
        "/api/communities/T0001/proposals",
        "/c/T0001/events",
        "/c/T0001/conventions",
    ):
        r = anonymous.get(url)
        assert r.status_code == 200 and PHONE not in r.text and "陈老师" not in r.text, url


def test_ogc_publishes_public_events_and_proposals_only(world) -> None:
    c, h, _ = world
    for title, public in (("邻里集市", True), ("筹备会（内部）", False)):
        r = c.post(
            f"{BASE}/events",
            headers=h["admin"],
            json={
                "kind": "market",
                "title": title,
                "day": "2025-09-20",
                "point": mapping(pt(0.6, 0.3)),
                "public": public,
            },
        )
        assert r.status_code == 201, r.text
    for title, public in (("加装座椅", True), ("不公开的提案", False)):
        r = c.post(
            f"{BASE}/proposals",
            headers=h["admin"],
            json={
                "title": title,
                "body": "说明",
                "proposer_kind": "resident",
                "proposer_name": "陈老师",
                "proposer_phone": PHONE,
                "public": public,
                "submitted_on": "2025-04-02",
                "geometry": mapping(pt(0.6, 0.3)),
            },
        )
        assert r.status_code == 201, r.text
    events = c.get("/ogc/collections/events/items", params={"f": "json", "limit": 1000})
    assert events.status_code == 200, events.text
    # the collections hold every community's public features (the demo's too): T0001's here
    got = [f for f in events.json()["features"] if f["properties"]["community"] == "T0001"]
    assert [f["properties"]["title"] for f in got] == ["邻里集市"]
    assert got[0]["geometry"]["type"] == "Point"
    proposals = c.get("/ogc/collections/proposals/items", params={"f": "json", "limit": 1000})
    mine = [f for f in proposals.json()["features"] if f["properties"]["community"] == "T0001"]
    assert [f["properties"]["title"] for f in mine] == ["加装座椅"]
    assert PHONE not in proposals.text and "陈老师" not in proposals.text
