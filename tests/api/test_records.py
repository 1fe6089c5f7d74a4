"""Participation records on both databases (issue 18): the meetings register and proposals end
to end, their counts per community and subdistrict per year (known answers), scope (another
community's staff see nothing: 404), privacy (no contact on public answers), exports."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from shapely.geometry import box, mapping

from tests.support.places import m2w, pt
from tests.support.records import records_world

BASE = "/api/records/communities/T0001"


@pytest.fixture
def world(make_client, session):
    """T0001 and T0002 of subdistrict T00 with their staff (tests.support.records)."""
    headers, request_id = records_world(session)
    return make_client(), headers, request_id


def _meeting(**over):
    body = {
        "kind": "joint",
        "title": "睦邻花园方案联席会",
        "held_on": "2025-05-08",
        "place": "党群服务站",
        "point": mapping(pt(0.6, 0.3)),
        "parties": ["residents_committee", "owners_committee", "property_manager"],
        "attendees": [
            {"role": "resident_reps", "count": 5},
            {"role": "property_manager", "name": "王经理", "count": 1},
        ],
        "minutes": "讨论两稿方案",
        "decisions": "采用第二稿",
    }
    return {**body, **over}


def _proposal(**over):
    body = {
        "title": "中心花园加装座椅",
        "body": "老人散步需要歇脚的地方",
        "proposer_kind": "resident",
        "proposer_name": "李阿姨",
        "proposer_phone": "13800000001",
        "public": True,
        "shown_as": "7号楼李阿姨",
        "submitted_on": "2025-04-02",
        "geometry": mapping(pt(0.6, 0.3)),
    }
    return {**body, **over}


def test_a_meeting_end_to_end(world) -> None:
    c, h, request_id = world
    p = c.post(f"{BASE}/proposals", headers=h["admin"], json=_proposal())
    assert p.status_code == 201, p.text
    assert p.json()["number"] == 1 and p.json()["status"] == "submitted"
    r = c.post(
        f"{BASE}/meetings",
        headers=h["secretary"],
        json=_meeting(
            requests=[request_id],
            proposals=[1],
            sites=["S1"],
            step={"site": "S1", "stage": "joint_meeting"},
        ),
    )
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["participants"] == 6
    assert [a["role_label"] for a in m["attendees"]] == ["居民代表", "物业"]
    assert m["kind_label"] == "联席会"
    assert m["requests"] == [{"id": request_id, "title": "中心花园设施老旧", "receipt_code": None}]
    assert m["proposals"][0]["number"] == 1 and m["sites"] == [{"code": "S1", "name": "睦邻花园"}]
    assert m["step"] == {
        "site": "S1",
        "site_name": "睦邻花园",
        "stage": "joint_meeting",
        "label": "联席会讨论",
    }
    # discussed at a meeting: the proposal is now under discussion, and names the meeting
    p = c.get(f"{BASE}/proposals/1", headers=h["lead_a"]).json()
    assert p["status"] == "discussing" and [x["id"] for x in p["meetings"]] == [m["id"]]
    # a grid lead and a designer read the register; they do not keep it
    for reader in ("lead_a", "designer"):
        assert c.get(f"{BASE}/meetings", headers=h[reader]).json()["meetings"][0]["id"] == m["id"]
        assert c.post(f"{BASE}/meetings", headers=h[reader], json=_meeting()).status_code == 403
    # rewrite names the version; a stale one is a 409 and changes nothing
    edit = _meeting(title="改期后的联席会", attendees=[], version=1)
    r = c.put(f"/api/records/meetings/{m['id']}", headers=h["admin"], json=edit)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["participants"] == 0
    assert (
        c.put(f"/api/records/meetings/{m['id']}", headers=h["admin"], json=edit).status_code == 409
    )
    # a file with it (staff in scope only)
    pdf = b"%PDF-1.4 sign-in sheet"
    f = c.post(
        f"/api/records/meetings/{m['id']}/files",
        headers=h["admin"],
        files={"file": ("签到表.pdf", pdf, "application/pdf")},
    )
    assert f.status_code == 201, f.text
    assert c.get(f.json()["url"], headers=h["lead_a"]).content == pdf
    assert c.get(f.json()["url"], headers=h["admin2"]).status_code == 404
    assert c.get(f.json()["url"]).status_code == 401
    assert c.delete(f"/api/records/meetings/{m['id']}", headers=h["admin"]).status_code == 204
    assert c.get(f"/api/records/meetings/{m['id']}", headers=h["admin"]).status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"kind": "party"}, 422, "record_code_unknown"),
        ({"parties": ["mayor"]}, 422, "record_code_unknown"),
        ({"held_on": "2025-13-01"}, 422, "date_invalid"),
        ({"point": mapping(pt(50, 50))}, 422, "record_place_outside"),
        ({"point": mapping(m2w(box(0, 0, 0.1, 0.1)))}, 422, "record_place_not_point"),
        ({"requests": [2_000_000]}, 404, "meeting_request_not_found"),
        ({"proposals": [9]}, 404, "proposal_not_found"),
        ({"step": {"site": "S1", "stage": "survey"}}, 422, "record_code_unknown"),
        ({"attendees": [{"role": "king", "count": 1}]}, 422, "record_code_unknown"),
    ],
)
def test_a_bad_meeting_is_refused_precisely_and_writes_nothing(world, change, status, code) -> None:
    c, h, _ = world
    r = c.post(f"{BASE}/meetings", headers=h["admin"], json=_meeting(**change))
    assert r.status_code == status and r.json()["code"] == code, r.text
    assert c.get(f"{BASE}/meetings", headers=h["admin"]).json()["meetings"] == []


def test_another_communitys_staff_see_nothing(world) -> None:
    c, h, _ = world
    m = c.post(f"{BASE}/meetings", headers=h["admin"], json=_meeting()).json()
    c.post(f"{BASE}/proposals", headers=h["admin"], json=_proposal())
    for outsider in ("admin2", "demo_admin"):
        for url in (
            f"{BASE}/meetings",
            f"/api/records/meetings/{m['id']}",
            f"{BASE}/proposals",
            f"{BASE}/proposals/1",
            f"{BASE}/counts",
            f"{BASE}/meetings.csv",
            f"{BASE}/proposals.xlsx",
        ):
            assert c.get(url, headers=h[outsider]).status_code == 404, (outsider, url)
        assert c.post(f"{BASE}/meetings", headers=h[outsider], json=_meeting()).status_code == 404
        r = c.put(f"/api/records/meetings/{m['id']}", headers=h[outsider], json=_meeting(version=1))
        assert r.status_code == 404
        r = c.post(
            f"{BASE}/proposals/1/status",
            headers=h[outsider],
            json={"version": 1, "status": "adopted"},
        )
        assert r.status_code == 404
    assert c.get(f"{BASE}/meetings").status_code == 401
    # the demo's admin reads no subdistrict T00
    assert c.get("/api/records/subdistricts/T00/counts", headers=h["demo_admin"]).status_code == 404


def test_proposals_go_public_only_when_the_proposer_agreed_and_without_contact(world) -> None:
    c, h, _ = world
    c.post(f"{BASE}/proposals", headers=h["admin"], json=_proposal())
    c.post(
        f"{BASE}/proposals",
        headers=h["admin"],
        json=_proposal(title="不愿公开的提案", public=False, proposer_kind="partner"),
    )
    public = c.get("/api/communities/T0001/proposals")
    assert public.status_code == 200
    items = public.json()["proposals"]
    assert [p["title"] for p in items] == ["中心花园加装座椅"]
    assert items[0]["shown_as"] == "7号楼李阿姨"
    text = public.text
    assert "13800000001" not in text and '"李阿姨"' not in text and "proposer_name" not in text
    page = c.get("/c/T0001/proposals")
    assert page.status_code == 200 and "中心花园加装座椅" in page.text
    assert "13800000001" not in page.text and "不愿公开的提案" not in page.text
    # the staff see both, with the proposer
    staff = c.get(f"{BASE}/proposals", headers=h["lead_a"]).json()["proposals"]
    assert [p["proposer_phone"] for p in staff] == ["13800000001", "13800000001"]
    # the proposer withdraws consent: gone from the public list
    r = c.post(f"{BASE}/proposals/1/public", headers=h["admin"], json={"public": False})
    assert r.status_code == 200
    assert c.get("/api/communities/T0001/proposals").json()["proposals"] == []


def test_a_proposal_moves_on_to_a_site_or_is_declined_with_a_reason(world) -> None:
    c, h, _ = world
    c.post(f"{BASE}/proposals", headers=h["admin"], json=_proposal())
    c.post(f"{BASE}/proposals", headers=h["admin"], json=_proposal(title="拆除围墙"))

    def move(n, version, status, **kw):
        return c.post(
            f"{BASE}/proposals/{n}/status",
            headers=h["admin"],
            json={"version": version, "status": status, **kw},
        )

    assert move(1, 1, "became_site", site="S1").json()["code"] == "proposal_move_not_allowed"
    assert move(1, 1, "adopted").json()["status_label"] == "已采纳"
    assert move(1, 1, "became_site", site="S1").status_code == 409  # stale version
    assert move(1, 2, "became_site", site="S9").json()["code"] == "proposal_site_unknown"
    done = move(1, 2, "became_site", site="S1").json()
    assert done["site"] == {"code": "S1", "name": "睦邻花园"} and done["moves"] == []
    assert move(2, 1, "declined").json()["code"] == "proposal_decline_reason"
    declined = move(2, 1, "declined", reason="围墙属于相邻单位")
    assert declined.status_code == 200
    public = c.get("/api/communities/T0001/proposals").json()["proposals"]
    assert [(p["status"], p["decline_reason"]) for p in public] == [
        ("became_site", None),
        ("declined", "围墙属于相邻单位"),
    ]
    assert public[0]["site"]["name"] == "睦邻花园"


def test_counts_per_community_and_subdistrict_per_year(world) -> None:
    """Known answers: T0001 held two meetings in 2025 (6 and 4 attendances) and one in 2026
    (none recorded), T0002 one in 2026 (8); T0001 had two proposals in 2025 (one became the
    site) and one in 2026 (declined), T0002 none."""
    c, h, _ = world
    T2 = "/api/records/communities/T0002"
    for body in (
        _meeting(held_on="2025-05-08"),
        _meeting(held_on="2025-11-20", attendees=[{"role": "resident", "count": 4}]),
        _meeting(held_on="2026-01-15", attendees=[]),
    ):
        assert c.post(f"{BASE}/meetings", headers=h["admin"], json=body).status_code == 201
    r = c.post(
        f"{T2}/meetings",
        headers=h["admin2"],
        json=_meeting(
            point=None, attendees=[{"role": "resident", "count": 8}], held_on="2026-03-01"
        ),
    )
    assert r.status_code == 201, r.text
    for body in (
        _proposal(submitted_on="2025-03-01"),
        _proposal(submitted_on="2025-06-01"),
        _proposal(submitted_on="2026-02-01"),
    ):
        c.post(f"{BASE}/proposals", headers=h["admin"], json=body)
    c.post(
        f"{BASE}/proposals/1/status", headers=h["admin"], json={"version": 1, "status": "adopted"}
    )
    c.post(
        f"{BASE}/proposals/1/status",
        headers=h["admin"],
        json={"version": 2, "status": "became_site", "site": "S1"},
    )
    c.post(
        f"{BASE}/proposals/3/status",
        headers=h["admin"],
        json={"version": 1, "status": "declined", "reason": "不在小区范围"},
    )
    y2025 = {
        "year": 2025,
        "meetings": 2,
        "participants": 10,
        "proposals": 2,
        "adopted": 1,
        "became_site": 1,
        "events": 0,
        "event_attendances": 0,
    }
    y2026 = {
        "year": 2026,
        "meetings": 1,
        "participants": 0,
        "proposals": 1,
        "adopted": 0,
        "became_site": 0,
        "events": 0,
        "event_attendances": 0,
    }
    assert c.get(f"{BASE}/counts", headers=h["lead_a"]).json()["years"] == [y2026, y2025]
    sub = c.get("/api/records/subdistricts/T00/counts", headers=h["sub"])
    assert sub.status_code == 200, sub.text
    body = sub.json()
    assert [x["code"] for x in body["communities"]] == ["T0001", "T0002"]
    t2_2026 = {
        "year": 2026,
        "meetings": 1,
        "participants": 8,
        "proposals": 0,
        "adopted": 0,
        "became_site": 0,
        "events": 0,
        "event_attendances": 0,
    }
    assert body["communities"][1]["years"] == [t2_2026]
    assert body["years"] == [
        {**y2026, "meetings": 2, "participants": 8},
        y2025,
    ]
    # a community admin sees only their own community of the subdistrict
    mine = c.get("/api/records/subdistricts/T00/counts", headers=h["admin"]).json()
    assert [x["code"] for x in mine["communities"]] == ["T0001"]
    # one year of the register
    got = c.get(f"{BASE}/meetings", headers=h["admin"], params={"year": 2025}).json()
    assert [m["held_on"] for m in got["meetings"]] == ["2025-11-20", "2025-05-08"]


def test_exports_neutralise_formulas_and_carry_labels(world) -> None:
    c, h, _ = world
    evil = '=HYPERLINK("http://x","y")'
    c.post(f"{BASE}/meetings", headers=h["admin"], json=_meeting(title=evil, decisions="+1"))
    c.post(f"{BASE}/proposals", headers=h["admin"], json=_proposal(title="@SUM(A1)"))
    r = c.get(f"{BASE}/meetings.csv", headers=h["admin"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["日期", "会议类型", "类型代码"]
    assert rows[1][3] == "'" + evil and "'+1" in rows[1]
    assert rows[1][6] == "6"
    r = c.get(f"{BASE}/proposals.xlsx", headers=h["admin"], params={"lang": "en"})
    ws = load_workbook(io.BytesIO(r.content)).active
    values = [cell.value for cell in ws[2]]
    assert values[0] == 1 and values[2] == "'@SUM(A1)" and "13800000001" in values
    r = c.get(f"{BASE}/proposals.csv", headers={**h["admin"], "Accept-Language": "en"})
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[:3] == ["Proposal no.", "Submitted on", "Title"]


def test_the_staff_records_page(world) -> None:
    c, _h, _ = world
    session_cookie = c.post(
        "/api/staff/session", json={"username": "lead_a", "password": "correct horse battery"}
    )
    assert session_cookie.status_code == 200, session_cookie.text
    page = c.get("/staff/records")
    assert page.status_code == 200
    assert "参与记录" in page.text and 'src="/static/js/records.js"' in page.text
    assert '"keeper":false' in page.text  # a grid lead reads, does not keep
    assert c.get("/staff/records", params={"community": "310109010026"}).status_code == 404
    c.cookies.clear()
    r = c.get("/staff/records", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")
