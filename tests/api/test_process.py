"""The participatory process of a site on both databases: the step decides what residents may
do (pin for the site in the survey, comment while joining the design and in consultation, one
vote in consultation, nothing after the announcement); the timeline with dates, minutes and
attachments; suggestions a draft adopts; before/after photos; adopters' phones for staff only."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from shapely.geometry import box, mapping

from renewmap.db.models import Community, Plant, Site
from renewmap.services.access import accounts
from renewmap.spatial.geometry import as_multi, to_db
from tests.support.places import add_test_community, m2w, pt

SITE = box(0.5, 0.2, 0.8, 0.4)  # in grid A, ≈ 21 m × 22 m
BASE = "/api/design/communities/T0001/sites/S1"


@pytest.fixture
def world(make_client, session):
    add_test_community(session)
    community = session.query(Community).filter_by(code="T0001").one()
    session.add(
        Site(community_id=community.id, code="S1", name="睦邻花园", geom=to_db(as_multi(m2w(SITE))))
    )
    session.add(
        Plant(
            community_id=community.id,
            code="P1",
            name="桂花",
            species="osmanthus_fragrans",
            geom=to_db(pt(0.6, 0.3)),
        )
    )
    session.flush()
    headers = {}
    for name, role in (
        ("designer", "designer=T0001"),
        ("admin", "community_admin=T0001"),
        ("lead_a", "grid_lead=T0001/A"),
        ("lead_b", "grid_lead=T0001/B"),
    ):
        user = accounts.create_user(
            session,
            username=name,
            password="correct horse battery",
            roles=[tuple(role.split("=", 1))],
        )
        token, _ = accounts.issue_token(session, user=user, kind="api")
        headers[name] = {"Authorization": f"Bearer {token}"}
    staff = make_client()

    def resident() -> TestClient:
        return make_client(app=staff.app, csrf=True)

    return staff, headers, resident


def _move(staff, h, stage: str, reason: str | None = None) -> dict:
    body = {"stage": stage} | ({"reason": reason} if reason else {})
    r = staff.post(f"{BASE}/stage", headers=h["designer"], json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _suggest(c, *, site: str | None = "S1", where=(0.6, 0.35), lang=None):
    p = pt(*where)
    data = {"category": "greenery", "title": "多种桂花", "lon": p.x, "lat": p.y}
    if site:
        data["site"] = site
    return c.post("/api/suggestions", data=data, params={"lang": lang} if lang else None)


def _two_public_drafts(staff, h) -> list[dict]:
    drafts = []
    for name in ("方案一", "方案二"):
        d = staff.post(f"{BASE}/drafts", headers=h["designer"], json={"name": name}).json()
        r = staff.put(
            f"/api/design/drafts/{d['id']}/public", headers=h["designer"], json={"public": True}
        )
        assert r.status_code == 200 and r.json()["public"] is True
        drafts.append(d)
    return drafts


def test_the_step_decides_what_residents_may_do(world) -> None:
    staff, h, resident = world
    alice, bob = resident(), resident()
    # not started: nothing open
    r = _suggest(alice)
    assert r.status_code == 409 and r.json()["code"] == "step_closed_to_residents"
    assert r.json()["message"] == (
        "居民现在不能在“睦邻花园”为本点位标注建议：它的参与式规划尚未开始（开放的步骤：社区调研）"
    )
    assert r.json()["details"]["field"] == "stage"
    # survey: pins for the site are taken and remembered with it; a pin elsewhere is refused
    timeline = _move(staff, h, "survey")
    assert timeline["residents_may"] == ["suggest"] and timeline["stage"] == "survey"
    ok = _suggest(alice)
    assert ok.status_code == 201, ok.text
    far = _suggest(alice, where=(1.5, 0.5))
    assert far.status_code == 422 and far.json()["code"] == "pin_not_at_site"
    assert far.json()["params"] == {"site": "S1", "limit": 20.0}
    d1, d2 = _two_public_drafts(staff, h)
    hidden = staff.post(f"{BASE}/drafts", headers=h["designer"], json={"name": "内部稿"}).json()
    # drafts: the survey is over
    _move(staff, h, "drafts", reason="访谈与调研合并进行")
    r = _suggest(alice, lang="en")
    assert r.status_code == 409 and r.json()["code"] == "step_closed_to_residents"
    assert r.json()["message"] == (
        "residents cannot pin suggestions for this site at 睦邻花园 now: it is in the step "
        "“Several design drafts” (open during: Survey)"
    )
    url = "/api/sites/T0001/S1"
    assert alice.post(f"{url}/drafts/1/comments", json={"body": "好"}).status_code == 409
    # residents join the design: comments yes (placed on the map too), votes not yet
    _move(staff, h, "co_design")
    here = mapping(pt(0.6, 0.3))
    r = alice.post(f"{url}/drafts/1/comments", json={"body": "座椅多一些", "point": here})
    assert r.status_code == 201, r.text
    assert r.json()["geometry"]["type"] == "Point"
    off = alice.post(f"{url}/drafts/1/comments", json={"body": "x", "point": mapping(pt(2.5, 0.5))})
    assert off.status_code == 422 and off.json()["code"] == "comment_point_far_from_site"
    assert off.json()["message"].startswith("您标注的位置离“睦邻花园”超过 20 米")
    assert (
        alice.post(f"{url}/drafts/{hidden['number']}/comments", json={"body": "x"}).status_code
        == 404
    )
    assert alice.post(f"{url}/vote", json={"draft": 1}).status_code == 409
    # consultation: one vote each, counts hidden while it runs
    _move(staff, h, "consultation", reason="测试：直接征询")
    assert alice.post(f"{url}/vote", json={"draft": 2}).status_code == 201
    again = alice.post(f"{url}/vote", json={"draft": 1})
    assert again.status_code == 409 and again.json()["code"] == "already_voted"
    assert again.json()["message"] == (
        "您已经在这部手机上给“睦邻花园”的方案 2 投过票了；非正式投票每部手机一票"
    )
    assert bob.post(f"{url}/vote", json={"draft": 2}).status_code == 201
    view = alice.get(f"{url}/consultation").json()
    assert view["my_vote"] == 2 and view["results_visible"] is False
    assert [d["votes"] for d in view["drafts"]] == [None, None]
    assert [d["number"] for d in view["drafts"]] == [d1["number"], d2["number"]]  # not 内部稿
    assert [c["body"] for c in view["drafts"][0]["comments"]] == ["座椅多一些"]
    # after the consultation the result shows; after the announcement everything is read-only
    _move(staff, h, "final_revision")
    view = bob.get(f"{url}/consultation").json()
    assert [d["votes"] for d in view["drafts"]] == [0, 2] and view["my_vote"] == 2
    r = staff.put(f"{BASE}/decision", headers=h["admin"], json={"draft": 2, "reasons": "多数支持"})
    assert r.status_code == 200, r.text
    _move(staff, h, "announcement", reason="测试：不再开会")
    for r in (
        alice.post(f"{url}/drafts/1/comments", json={"body": "x"}),
        alice.post(f"{url}/vote", json={"draft": 1}),
        _suggest(alice),
    ):
        assert r.status_code == 409 and r.json()["code"] == "step_closed_to_residents"
        assert "：方案已公示（" in r.json()["message"]
    # only the community's designers and admins run the process
    assert (
        staff.post(f"{BASE}/stage", headers=h["lead_a"], json={"stage": "survey"}).status_code
        == 403
    )
    assert (
        staff.post(f"{BASE}/stage", headers=h["admin"], json={"stage": "nope"}).status_code == 422
    )


def test_timeline_dates_minutes_attachments(world) -> None:
    staff, h, _resident = world
    today = date.today().isoformat()
    _move(staff, h, "survey")
    t = _move(staff, h, "interviews")
    steps = {s["stage"]: s for s in t["steps"]}
    assert len(t["steps"]) == 14 and t["steps"][10]["stage"] == "announcement"
    assert t["steps"][-1]["stage"] == "maintenance"
    assert (steps["survey"]["state"], steps["survey"]["starts_on"], steps["survey"]["ends_on"]) == (
        "done",
        today,
        today,
    )
    assert steps["interviews"]["state"] == "current" and steps["drafts"]["state"] == "upcoming"
    r = staff.put(
        f"{BASE}/stages/joint_meeting",
        headers=h["admin"],
        json={"starts_on": "2026-06-10", "ends_on": "2026-06-10", "minutes": "三方协商同意方案二"},
    )
    assert r.status_code == 200
    step = next(s for s in r.json()["steps"] if s["stage"] == "joint_meeting")
    assert (step["starts_on"], step["minutes"]) == ("2026-06-10", "三方协商同意方案二")
    bad = staff.put(
        f"{BASE}/stages/joint_meeting",
        headers=h["admin"],
        json={"starts_on": "2026-06-10", "ends_on": "2026-06-01"},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "stage_dates_reversed"
    assert bad.json()["params"] == {"end": "2026-06-01", "start": "2026-06-10"}
    pdf = b"%PDF-1.4\n% minutes\n"
    r = staff.post(
        f"{BASE}/stages/joint_meeting/attachments",
        headers=h["admin"],
        files={"file": ("会议纪要.pdf", pdf, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    (att,) = next(s for s in r.json()["steps"] if s["stage"] == "joint_meeting")["attachments"]
    got = staff.get(att["url"])
    assert got.content == pdf and got.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E4%BC%9A" in got.headers["content-disposition"]
    fake = staff.post(
        f"{BASE}/stages/joint_meeting/attachments",
        headers=h["admin"],
        files={"file": ("纪要.pdf", b"MZ\x90\x00", "application/pdf")},
    )
    assert fake.status_code == 422 and fake.json()["code"] == "attachment_not_pdf"
    assert fake.json()["message"] == "附件“纪要.pdf”不是 PDF 文件"
    exe = staff.post(
        f"{BASE}/stages/survey/attachments",
        headers=h["admin"],
        files={"file": ("x.exe", b"MZ", "application/octet-stream")},
    )
    assert exe.status_code == 422
    public = staff.get("/api/sites/T0001/S1/process").json()  # anyone may read it
    assert public["stage"] == "interviews"
    assert staff.get("/api/communities/T0001/sites").json()[0]["stage"] == "interviews"


def test_adopted_suggestions_and_before_after_photos(world) -> None:
    staff, h, resident = world
    _move(staff, h, "survey")
    sid = _suggest(resident()).json()["id"]
    d = staff.post(f"{BASE}/drafts", headers=h["designer"], json={"name": "方案一"}).json()
    r = staff.put(
        f"/api/design/drafts/{d['id']}/adopts", headers=h["designer"], json={"request_ids": [sid]}
    )
    assert r.status_code == 200 and r.json()["adopts"] == [{"id": sid, "title": "多种桂花"}]
    shown = staff.get(f"/api/suggestions/{sid}").json()["properties"]["adopted_in"]
    assert shown == [{"site": "S1", "site_name": "睦邻花园", "draft": 1, "name": "方案一"}]
    missing = staff.put(
        f"/api/design/drafts/{d['id']}/adopts",
        headers=h["designer"],
        json={"request_ids": [sid, 999999]},
    )
    assert missing.status_code == 422 and missing.json()["code"] == "adopted_suggestions_not_found"
    assert "999999" in missing.json()["message"]

    def jpeg() -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (40, 30), (90, 160, 90)).save(out, "JPEG")
        return out.getvalue()

    for phase, day in (("before", "2026-03-01"), ("after", "2026-10-01")):
        r = staff.post(
            f"{BASE}/photos",
            headers=h["designer"],
            data={"phase": phase, "taken_on": day, "caption": phase},
            files={"file": ("p.jpg", jpeg(), "image/jpeg")},
        )
        assert r.status_code == 201, r.text
    photos = staff.get("/api/sites/T0001/S1/photos").json()
    assert [p["taken_on"] for p in photos["before"]] == ["2026-03-01"]
    assert [p["taken_on"] for p in photos["after"]] == ["2026-10-01"]
    img = staff.get(photos["after"][0]["url"])
    assert img.headers["content-type"] == "image/jpeg" and Image.open(
        io.BytesIO(img.content)
    ).size == (40, 30)
    bad = staff.post(
        f"{BASE}/photos",
        headers=h["designer"],
        data={"phase": "during", "taken_on": "2026-03-01"},
        files={"file": ("p.jpg", jpeg(), "image/jpeg")},
    )
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "phase"


def test_adopters_phones_only_for_staff_in_scope(world, session) -> None:
    staff, h, resident = world
    plant = session.query(Plant).filter_by(code="P1").one()
    c = resident()
    r = c.post(
        f"/api/plants/{plant.id}/adoption", json={"nickname": "王阿姨", "phone": "13800000000"}
    )
    assert r.status_code == 201 and "13800000000" not in r.text
    for who in ("admin", "designer", "lead_a"):
        (row,) = staff.get(
            "/api/staff/adopters", params={"community": "T0001"}, headers=h[who]
        ).json()
        assert (row["nickname"], row["phone"]) == ("王阿姨", "13800000000")
    # the plant is in grid A: grid B's lead sees no one
    assert (
        staff.get("/api/staff/adopters", params={"community": "T0001"}, headers=h["lead_b"]).json()
        == []
    )
    # care with a photo, by the adopter only
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 100, 50)).save(out, "PNG")
    r = c.post(
        f"/api/plants/{plant.id}/care/photo",
        data={"note": "开花了"},
        files={"file": ("flower.png", out.getvalue(), "image/png")},
    )
    assert r.status_code == 201, r.text
    entry = r.json()["care"][-1]
    assert entry["kind"] == "photo" and entry["note"] == "开花了"
    assert c.get(entry["thumbnail"]).headers["content-type"] == "image/jpeg"
    other = resident().post(
        f"/api/plants/{plant.id}/care/photo", files={"file": ("f.png", out.getvalue(), "image/png")}
    )
    assert other.status_code == 403


def test_pages_for_designers_and_residents(world) -> None:
    """Every designers' and residents' page renders from the app's own assets; designers'
    pages are for the community's designers and admins only."""
    import re

    staff, h, resident = world

    def signed_in(username: str) -> TestClient:  # pages use the browser's session cookie
        c = resident()
        r = c.post(
            "/api/staff/session", json={"username": username, "password": "correct horse battery"}
        )
        assert r.status_code == 200, r.text
        return c

    designer, lead = signed_in("designer"), signed_in("lead_a")
    d1 = staff.post(f"{BASE}/drafts", headers=h["designer"], json={"name": "方案一"}).json()
    d2 = staff.post(
        f"{BASE}/drafts", headers=h["designer"], json={"name": "方案二", "copy_from": d1["id"]}
    ).json()
    pages = [
        "/staff/design?community=T0001",
        "/staff/design?community=T0001&site=S1",
        f"/staff/design/drafts/{d1['id']}",
        f"/staff/design/compare?a={d1['id']}&b={d2['id']}",
        "/staff/coverage?community=T0001",
    ]
    for url in pages:
        r = designer.get(url, follow_redirects=False)
        assert r.status_code == 200, (url, r.text[:300])
        assert re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", r.text) == [], url
        assert lead.get(url, follow_redirects=False).status_code == 403, url
        signed_out = staff.get(url, follow_redirects=False)
        assert signed_out.status_code == 303 and "/staff/login" in signed_out.headers["location"]
    drawing = designer.get(pages[2]).text
    assert "/static/vendor/leaflet-geoman/leaflet-geoman.min.js" in drawing
    assert staff.get("/static/vendor/leaflet-geoman/leaflet-geoman.min.js").status_code == 200
    for url in ("/c/T0001/sites", "/c/T0001/sites/S1"):
        r = staff.get(url)
        assert r.status_code == 200 and "睦邻花园" in r.text, url
    assert staff.get("/c/T0001/sites/NOPE").status_code == 404
    # a designer's own workspace is the sites' hub (they handle no requests)
    r = designer.get("/staff", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/design?community=T0001"
