"""The building group leader's and the property company's scope, in and out, for every staff
endpoint; handing a request to the property company with a due date, overdue when late; on
both databases.

Places (tests/support/places.py): community T with grids A and B; 1号楼 in A (group T-LZ1), 2号楼 in
B with a west and an east stairwell (groups T-LZ2W, T-LZ2E); the property company WY and the
owners' committee YWH of T; community Q elsewhere.
"""

from __future__ import annotations

from csv import reader
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest

from renewmap.api.schemas.common import ErrorBody
from renewmap.db.models import Organisation, Request
from renewmap.errors import InvalidInput
from renewmap.services.access import accounts
from renewmap.services.requests import handling, workflow
from renewmap.services.requests.intake import create_request
from tests.support.places import (
    add_building_groups,
    add_quad_community,
    add_test_community,
    pt,
    qpt,
)

PASSWORD = "correct horse battery"
DEMO = "310109010026"
USERS = {
    "leader_1": [("building_group_leader", "T-LZ1")],
    "leader_2w": [("building_group_leader", "T-LZ2W")],
    "property_t": [("property_staff", "T0001/WY")],
    "owners_t": [("owners_committee", "T0001/YWH")],
    "lead_a": [("grid_lead", "T0001/A")],
    "admin_t": [("community_admin", "T0001")],
}
SEES = {
    "leader_1": {"rA1"},
    "leader_2w": {"rB2"},
    "property_t": {"rB"},
    "owners_t": set(),
    "lead_a": {"rA", "rA1"},
    "admin_t": {"rA", "rA1", "rB", "rB2", "rGap"},
}
DUE = date(2026, 12, 10)
TODAY = date(2026, 12, 1)


def add_organisations(session) -> dict[str, int]:
    from sqlalchemy import select

    from renewmap.db.models import Community

    community = session.scalar(select(Community).where(Community.code == "T0001"))
    wy = Organisation(
        community_id=community.id, kind="property_company", code="WY", name="测试物业"
    )
    ywh = Organisation(
        community_id=community.id, kind="owners_committee", code="YWH", name="测试业委会"
    )
    session.add_all([wy, ywh])
    session.flush()
    return {"WY": wy.id, "YWH": ywh.id}


@pytest.fixture
def world(session):
    add_test_community(session)
    groups = add_building_groups(session)
    add_quad_community(session)
    orgs = add_organisations(session)
    ids = {}
    for name, geom in {
        "rA": pt(0.5, 0.5),
        "rA1": pt(0.2, 0.5),
        "rB": pt(1.5, 0.2),
        "rB2": pt(1.52, 0.45),
        "rGap": pt(2.5, 0.5),
        "rQ": qpt(0.5, 0.5),
    }.items():
        request, _ = create_request(session, geom=geom, category="lighting", title=name)
        request.phone = "13800000000"
        ids[name] = request.id
    users = {
        u: accounts.create_user(session, username=u, password=PASSWORD, roles=r)
        for u, r in USERS.items()
    }
    admin = accounts.principal_of(users["admin_t"])
    workflow.act(
        session,
        principal=admin,
        request_id=ids["rB"],
        action="assign_property",
        version=1,
        due=DUE,
        today=TODAY,
    )
    session.flush()
    return {"ids": ids, "users": users, "groups": groups, "orgs": orgs}


def bearer(session, user) -> dict[str, str]:
    token, _ = accounts.issue_token(session, user=user, kind="api")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("username", sorted(USERS))
def test_scope_matrix_of_leaders_and_the_property_company(
    make_client, session, world, username: str
) -> None:
    """List, one request, a note, a public reply and a step reserved to the grid, for every
    request in and out of the user's area."""
    ids, allowed = world["ids"], SEES[username]
    names = {v: k for k, v in ids.items()}
    h = bearer(session, world["users"][username])
    with make_client() as c:
        listing = c.get("/api/staff/requests", headers=h)
        if not allowed:
            assert listing.status_code == 403
        else:
            assert {names[f["id"]] for f in listing.json()["features"]} == allowed
            wide = c.get("/api/staff/requests", headers=h, params={"bbox": "-180,-90,180,90"})
            assert {names[f["id"]] for f in wide.json()["features"]} == allowed
            opened = c.get("/api/staff/requests", headers=h, params={"status": "open"})
            assert {names[f["id"]] for f in opened.json()["features"]} == allowed
        for name, rid in ids.items():
            version = session.get(Request, rid).version
            one = c.get(f"/api/staff/requests/{rid}", headers=h)
            note = c.post(
                f"/api/staff/requests/{rid}/actions",
                headers=h,
                json={"action": "note", "version": version, "note": "看过了"},
            )
            if name in allowed:
                assert one.status_code == 200, (name, one.text)
                assert one.json()["properties"]["phone"] == "13800000000"
                assert note.status_code == 200, note.text
                actions = note.json()["properties"]["actions"]
                accept = c.post(
                    f"/api/staff/requests/{rid}/actions",
                    headers=h,
                    json={"action": "transfer", "version": version + 1, "target_grid": "A"},
                )
                if username == "property_t":
                    # the company's own steps only: no transfer, accept, reject…
                    assert set(actions) == {"reply", "note", "property_done", "property_return"}
                    assert accept.status_code == 403, accept.text
                    assert ErrorBody.model_validate(accept.json()).error == "forbidden"
                else:
                    assert "transfer" in actions and "assign_property" in actions
            else:
                assert one.status_code == 404 and "13800000000" not in one.text
                assert note.status_code == 404
        if "rA" not in allowed and allowed:  # another area by name: refused
            r = c.get("/api/staff/requests", headers=h, params={"grid": "A"})
            assert r.status_code == 403
    for name, rid in ids.items():
        notes = [e for e in session.get(Request, rid).events if e.kind == "note"]
        assert len(notes) == (1 if name in allowed else 0), name


@pytest.mark.parametrize("username", sorted(USERS))
def test_every_other_endpoint_in_and_out_of_scope(
    make_client, session, world, username: str
) -> None:
    """Exports, stats, arrivals, patrols, the organisation, volunteers, templates,
    deliberations, the property company's list and the pages: 2xx inside, 403/404 outside."""
    ids = world["ids"]
    h = bearer(session, world["users"][username])
    allowed = SEES[username]
    touches_t = bool(allowed)
    covers_1 = {"leader_1", "lead_a", "admin_t"}
    grid_people = {"lead_a", "admin_t"}
    volunteer = {"name": "陈党员", "phone": "13900000001", "consent": True}
    patrol = {"community": "T0001", "grids": ["A"], "day": "2026-11-12", "participants": "王"}
    deliberation = {
        "community": "T0001",
        "request": ids["rB"],
        "held_on": "2026-11-20",
        "parties": ["residents_committee", "owners_committee", "property_company"],
        "attendees": "居委会王主任；业委会李主任；物业张经理",
        "question": "路灯由谁来修？",
        "decision": "物业负责更换，费用由维修基金支出",
    }
    grids = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "A"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[10, 50], [10.001, 50], [10.001, 50.001], [10, 50.001], [10, 50]]
                    ],
                },
            }
        ],
    }
    admins = username == "admin_t"
    checks = [
        ("GET", "/api/staff/requests.csv", None, touches_t, 403),
        ("GET", "/api/staff/requests.xlsx", None, touches_t, 403),
        ("POST", "/api/staff/communities/T0001/grid-drafts", grids, admins, 403),
        ("POST", "/api/staff/communities/T0001/assignments", {}, admins, 403),
        (
            "PUT",
            "/api/staff/building-groups/T-LZ9/places",
            {"buildings": ["1号楼"]},
            admins,
            403,
        ),
        ("GET", "/api/staff/stats?community=T0001", None, touches_t, 403),
        (
            "GET",
            "/api/staff/requests/arrivals?community=T0001&since=2026-01-01T00:00:00%2B08:00",
            None,
            touches_t,
            403,
        ),
        ("GET", "/api/staff/patrols?community=T0001", None, username in grid_people, 403),
        ("POST", "/api/staff/patrols", patrol, username in grid_people, 403),
        ("GET", "/api/staff/communities/T0001/organisation", None, touches_t, 403),
        ("PUT", "/api/staff/communities/T0001/organisation", {}, username == "admin_t", 403),
        (
            "PUT",
            "/api/staff/communities/T0001/organisations/WY",
            {"name": "测试物业", "kind": "property_company"},
            admins,
            403,
        ),
        ("GET", "/api/staff/building-groups/T-LZ1/volunteers", None, username in covers_1, 403),
        (
            "POST",
            "/api/staff/building-groups/T-LZ1/volunteers",
            volunteer,
            username in covers_1,
            403,
        ),
        ("GET", "/api/staff/reply-templates?community=T0001", None, touches_t, 403),
        (
            "POST",
            "/api/staff/reply-templates",
            {"community": "T0001", "title": "已派物业", "body": "已派物业维修"},
            username == "admin_t",
            403,
        ),
        ("POST", "/api/staff/deliberations", deliberation, username == "admin_t", None),
        (
            "GET",
            "/api/staff/property-tasks?community=T0001",
            None,
            username in ("property_t", "owners_t"),
            403,
        ),
    ]
    with make_client() as c:
        for method, url, body, ok, refused in checks:
            r = c.request(method, url, headers=h, json=body)
            if ok:
                assert 200 <= r.status_code < 300, (url, r.status_code, r.text)
            elif refused is None:  # the request itself is out of their area, or not theirs
                assert r.status_code in (403, 404), (url, r.status_code, r.text)
            else:
                assert r.status_code == refused, (url, r.status_code, r.text)
        csv = c.get("/api/staff/requests.csv", headers=h)
        if touches_t:
            header, *body = list(reader(StringIO(csv.content.decode("utf-8-sig"))))
            title = header.index("标题")
            assert {row[title] for row in body} == allowed
        # the OGC requests collection holds the same area
        ogc = c.get("/ogc/collections/requests/items?limit=10000", headers=h)
        if allowed:
            names = {v: k for k, v in ids.items()}
            assert {names[f["id"]] for f in ogc.json()["features"]} == allowed
        else:
            assert ogc.status_code == 403
        # a step with photos on a request out of the area: not found, before any photo is read
        for name, rid in ids.items():
            if name in allowed:
                continue
            r = c.post(
                f"/api/staff/requests/{rid}/actions/with-photos",
                headers=h,
                data={"action": "reply", "version": "1", "note": "看看"},
                files=[("photos", ("x.jpg", b"not even an image", "image/jpeg"))],
            )
            assert r.status_code == 404, (name, r.status_code, r.text)
        c.post("/api/staff/session", json={"username": username, "password": PASSWORD})
        html = {"Accept": "text/html"}
        workspace = c.get("/staff?community=T0001", headers=html, follow_redirects=False)
        overview = c.get("/staff/overview?community=T0001", headers=html)
        tasks = c.get("/staff/property?community=T0001", headers=html)
        report = c.get("/staff/report?community=T0001&grid=A", headers=html)
        branch_report = c.get("/staff/report?community=T0001&branch=T-BB", headers=html)
        printable = c.get("/staff/report.pdf?community=T0001&grid=A")
    if username == "owners_t":
        assert workspace.status_code == 303
        assert workspace.headers["location"] == "/staff/property?community=T0001"
    else:
        assert workspace.status_code == (200 if touches_t else 403), username
    assert overview.status_code == (200 if touches_t else 403), username
    assert report.status_code == (200 if username in ("lead_a", "admin_t") else 403), username
    assert branch_report.status_code == (200 if admins else 403), username
    assert printable.status_code == report.status_code, username
    if printable.status_code == 200:
        assert printable.headers["content-type"] == "application/pdf"
        assert printable.content.startswith(b"%PDF")
    assert tasks.status_code == (200 if username in ("property_t", "owners_t") else 403)
    if username == "owners_t":
        assert "13800000000" not in tasks.text and "rB" in tasks.text


def test_a_role_without_an_area_is_refused_with_the_reason(session, world) -> None:
    cases = [
        ("branch_secretary", "T-LZ1", "is a building party group, which no grid belongs to"),
        ("building_group_leader", "T-LZ9", "serves no building or stairwell yet"),
        ("building_group_leader", "T-BA", "is a grid party branch, not a building party group"),
        ("property_staff", "T0001/YWH", "needs a property company, and 'YWH'"),
        ("owners_committee", "T0001/WY", "needs an owners' committee, and 'WY'"),
    ]
    zh = {
        "T-LZ1": "是楼组党小组，没有网格归属于它",
        "T-LZ9": "尚未联系任何楼栋或楼道",
        "T-BA": "是网格党支部，不是楼组党小组",
        "T0001/YWH": "需要所属组织是物业，而“YWH”",
        "T0001/WY": "需要所属组织是业委会，而“WY”",
    }
    for role, place, why in cases:
        with pytest.raises(InvalidInput) as err:
            accounts.create_user(
                session, username=f"x_{role}", password=PASSWORD, roles=[(role, place)]
            )
        english = err.value.render("en")
        assert why in english, (role, place, english)
        assert zh[place] in err.value.render("zh_CN"), (role, place)


def test_hand_to_the_property_company_due_and_overdue(session, world) -> None:
    """交物业处理: in progress, due by a day; the company's staff report it done; overdue the
    day after the due day (in the community's time zone) while not done."""
    from renewmap.services.requests.suggestions import public_history

    ids, users = world["ids"], world["users"]
    rb = session.get(Request, ids["rB"])
    assert rb.status == "in_progress" and rb.accepted_at is not None
    assert rb.assigned_org_id == world["orgs"]["WY"] and rb.assigned_due == DUE
    lead = accounts.principal_of(users["admin_t"])
    # the last moment of the due day in Shanghai is not late; the next one is
    due_end = datetime(2026, 12, 10, 23, 59, tzinfo=UTC) - timedelta(hours=8)
    for moment, late in ((due_end, False), (due_end + timedelta(minutes=2), True)):
        detail = handling.request_detail(
            session, principal=lead, request_id=rb.id, now=moment, overdue_days=3
        )["properties"]
        assert detail["overdue"] is late and detail["property"]["late"] is late
        assert detail["overdue_reason"] == ("property" if late else None)
    history = public_history(rb)
    assert (
        history[-1]["kind"] == "assign_property" and history[-1]["details"]["due"] == "2026-12-10"
    )
    company = accounts.principal_of(users["property_t"])
    with pytest.raises(InvalidInput):  # the work done must be said
        workflow.act(
            session, principal=company, request_id=rb.id, action="property_done", version=2
        )
    workflow.act(
        session,
        principal=company,
        request_id=rb.id,
        action="property_done",
        version=2,
        note="已更换灯泡",
        internal_note="材料费 80 元",
    )
    after = handling.request_detail(
        session, principal=lead, request_id=rb.id, now=due_end + timedelta(days=3)
    )["properties"]
    assert after["overdue"] is False and after["property"]["done"] is True
    assert "resolve" in after["actions"] and "property_done" not in after["actions"]
    texts = [h["note"] for h in public_history(rb)]
    assert "已更换灯泡" in texts and "材料费 80 元" not in texts


def test_the_resident_who_consented_is_told_of_the_property_company(session, world) -> None:
    """Progress messages: handed to the property company with its due day, and the work it
    reported done, named by role and place (never a person)."""
    from sqlalchemy import select

    from renewmap.db.models import Notification
    from renewmap.services.requests import progress
    from renewmap.settings import Settings

    request, _ = create_request(session, geom=pt(1.4, 0.3), category="lighting", title="灯坏了")
    request.phone = "13800000001"
    request.receipt_code = "RMPROP01"
    request.notify_consent_at = datetime.now(UTC)
    request.notify_prefs = {"channels": ["sms"], "locale": "zh_CN"}
    session.flush()
    admin = accounts.principal_of(world["users"]["admin_t"])
    company = accounts.principal_of(world["users"]["property_t"])
    workflow.act(
        session,
        principal=admin,
        request_id=request.id,
        action="assign_property",
        version=1,
        due=DUE,
        today=TODAY,
    )
    workflow.act(
        session,
        principal=company,
        request_id=request.id,
        action="property_done",
        version=2,
        note="已更换灯泡",
        internal_note="材料费 80 元",
    )
    rows = session.scalars(
        select(Notification)
        .where(Notification.request_id == request.id, Notification.channel == "sms")
        .order_by(Notification.id)
    ).all()
    assert [n.reason for n in rows] == ["assign_property", "property_done"]
    settings = Settings(env="test", secret_key="s" * 32, public_base_url="https://map.example")
    sms = [progress.texts(settings, n.payload)["sms"] for n in rows]
    assert "已由测试社区 社区管理员交物业处理，预计 2026-12-10 前完成" in sms[0], sms[0]
    assert "已由测试物业 物业人员报告完成：已更换灯泡" in sms[1], sms[1]
    assert all("材料费" not in text and "13800000001" not in text for text in sms)
    english = progress.texts(settings, {**rows[0].payload, "locale": "en"})["sms"]
    assert "to the property company, to be done by 2026-12-10" in english


def test_due_date_checks(session, world) -> None:
    admin = accounts.principal_of(world["users"]["admin_t"])
    rid = world["ids"]["rA"]
    for due, field in ((None, "due"), (TODAY - timedelta(days=1), "due")):
        with pytest.raises(InvalidInput) as err:
            workflow.act(
                session,
                principal=admin,
                request_id=rid,
                action="assign_property",
                version=1,
                due=due,
                today=TODAY,
            )
        assert err.value.details["field"] == field
    with pytest.raises(Exception) as err:
        workflow.act(
            session,
            principal=admin,
            request_id=rid,
            action="assign_property",
            version=1,
            due=DUE,
            org="YWH",  # the owners' committee repairs nothing
            today=TODAY,
        )
    assert "property company 'YWH' not found" in str(err.value)


def _jpeg_with_gps() -> bytes:
    import io

    from PIL import Image

    img = Image.new("RGB", (64, 48), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 17.0, 20.0), 3: "E", 4: (121.0, 29.0, 25.0)}
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


SECRETS = ("SECRET-reply-note", "SECRET-note", "SECRET-return", "SECRET-resolve-note")


def test_internal_notes_never_reach_a_residents_page_api_or_export(
    make_client, session, world
) -> None:
    """Staff write internal notes next to public steps, as their own step, and as the
    property company's reason to hand back; residents read every public surface: none of it
    is there, while the public replies, the due day, the deliberation and the "after" photo
    are."""
    from zoneinfo import ZoneInfo

    p = pt(0.6, 0.5)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    due1, due2 = (today + timedelta(days=10)).isoformat(), (today + timedelta(days=11)).isoformat()
    admin_h = bearer(session, world["users"]["admin_t"])
    company_h = bearer(session, world["users"]["property_t"])
    with make_client() as c:
        c.headers["X-CSRF-Token"] = c.get("/api/session").json()["csrf_token"]
        posted = c.post(
            "/api/suggestions",
            data={"category": "lighting", "title": "路灯坏了", "lon": str(p.x), "lat": str(p.y)},
        ).json()
        rid, code, token = posted["id"], posted["receipt_code"], posted["follow_url"].split("t=")[1]

        def step(headers, version, **body):
            r = c.post(
                f"/api/staff/requests/{rid}/actions",
                headers=headers,
                json={"version": version, **body},
            )
            assert r.status_code == 200, r.text
            return session.get(Request, rid).version  # handed back: no longer the company's

        v = step(admin_h, 1, action="reply", note="我们明天去看", internal_note=SECRETS[0])
        v = step(admin_h, v, action="note", note=SECRETS[1])
        v = step(admin_h, v, action="assign_property", due=due1, org="WY")
        v = step(company_h, v, action="property_return", note=SECRETS[2])
        v = step(admin_h, v, action="assign_property", due=due2)
        r = c.post(
            f"/api/staff/requests/{rid}/actions/with-photos",
            headers=company_h,
            data={"action": "property_done", "version": str(v), "note": "已换新灯"},
            files=[("photos", ("after.jpg", _jpeg_with_gps(), "image/jpeg"))],
        )
        assert r.status_code == 200, r.text
        v = r.json()["properties"]["version"]
        assert r.json()["properties"]["photos"][-1]["kind"] == "after"
        v = step(admin_h, v, action="resolve", note="已修好", internal_note=SECRETS[3])
        delib = c.post(
            "/api/staff/deliberations",
            headers=admin_h,
            json={
                "community": "T0001",
                "request": rid,
                "held_on": "2026-11-20",
                "parties": ["property_company", "residents_committee", "owners_committee"],
                "attendees": "居委会王主任；业委会李主任；物业张经理",
                "question": "路灯由谁来修？",
                "decision": "物业负责，维修基金支出",
            },
        )
        assert delib.status_code == 201, delib.text
        assert delib.json()["parties"] == [
            "residents_committee",
            "owners_committee",
            "property_company",
        ]
        staff_view = c.get(f"/api/staff/requests/{rid}", headers=admin_h).text
        public = {
            "suggestion": c.get(f"/api/suggestions/{rid}"),
            "browse": c.get("/api/communities/T0001/suggestions"),
            "map": c.get("/api/communities/T0001/suggestions/map", params={"zoom": 18}),
            "nearby": c.get("/api/suggestions/nearby", params={"lon": p.x, "lat": p.y}),
            "receipt": c.get(f"/api/receipts/{code}", params={"token": token}),
            "follow page": c.get(f"/r/{code}", params={"t": token}),
            "residents page": c.get("/c/T0001"),
            "ogc": c.get("/ogc/collections/suggestions/items", params={"limit": 1000}),
            "open311": c.get("/open311/v2/requests.json", params={"service_request_id": rid}),
        }
    for secret in SECRETS:
        assert secret in staff_view  # staff see every note…
        for where, r in public.items():
            assert r.status_code == 200, (where, r.text)
            assert secret not in r.text, (where, secret)  # …residents none
    receipt = public["receipt"].json()
    kinds = [h["kind"] for h in receipt["history"]]
    assert kinds.count("assign_property") == 2 and "property_return" not in kinds
    assert "note" not in kinds and "deliberation" in kinds
    dues = [h["details"]["due"] for h in receipt["history"] if h["kind"] == "assign_property"]
    assert dues == [due1, due2]
    done = next(h for h in receipt["history"] if h["kind"] == "property_done")
    assert done["note"] == "已换新灯" and len(done["photos"]) == 1
    after = [ph for ph in receipt["photos"] if ph["kind"] == "after"]
    assert len(after) == 1
    page = public["follow page"].text
    assert "我们明天去看" in page and "物业负责，维修基金支出" in page and "路灯由谁来修？" in page
    assert "居委会王主任" in page
    with make_client() as c:
        photo = c.get(after[0]["url"])
    assert photo.status_code == 200 and b"SecretPhoneMaker" not in photo.content


def test_the_resident_sees_when_the_property_company_will_be_done(
    make_client, session, world
) -> None:
    from renewmap.services.requests.suggestions import create_suggestion, follow

    p = pt(0.6, 0.5)
    created = create_suggestion(
        session, geom=p, category="lighting", title="楼道灯", secret="test-secret"
    )
    admin = accounts.principal_of(world["users"]["admin_t"])
    workflow.act(
        session,
        principal=admin,
        request_id=created.request.id,
        action="assign_property",
        version=1,
        due=DUE,
        today=TODAY,
    )
    view = follow(
        session, code=created.request.receipt_code, token=created.token, secret="test-secret"
    )
    assert view["property"] == {"org": "测试物业", "due": "2026-12-10"}
    with make_client() as c:
        page = c.get(f"/r/{created.request.receipt_code}", params={"t": created.token})
    assert "已交物业处理，预计 2026-12-10 前完成" in page.text


def test_the_town_overview_against_sql(make_client, session, world) -> None:
    """Two communities of subdistrict T00; the figures per community equal what SQL counts
    (and what the workspace's own overdue rule says of each request)."""
    import statistics

    import shapely
    from sqlalchemy import select, text

    from renewmap.db.models import Community, Deliberation, Grid, Site, SiteStage, Subdistrict
    from renewmap.services.requests import patrols
    from renewmap.spatial.geometry import as_multi, to_db
    from tests.support.places import m2w

    sub = session.scalar(select(Subdistrict).where(Subdistrict.code == "T00"))
    other = Community(
        code="T0002",
        name="第二测试社区",
        subdistrict_id=sub.id,
        metric_epsg=32632,
        grid_set_version=1,
        geom=to_db(as_multi(m2w(shapely.box(0, 2, 2, 3)))),
        patrol_rule="day:1",
    )
    session.add(other)
    session.flush()
    session.add(
        Grid(
            community_id=other.id,
            code="X",
            name="X网格",
            geom=to_db(as_multi(m2w(shapely.box(0, 2, 2, 3)))),
        )
    )
    for code, stage in (("S1", "consultation"), ("S2", "consultation"), ("S3", None)):
        session.add(
            Site(
                community_id=other.id,
                code=code,
                name=code,
                stage=stage,
                geom=to_db(as_multi(m2w(shapely.box(0.1, 2.1, 0.2, 2.2)))),
            )
        )
    session.flush()
    # Meetings: a deliberation today and one last year; the sites' 联席会 (one on the 1st of
    # January, one not yet dated) and a step that is no meeting.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    new_year = today.replace(month=1, day=1)
    s1, s2 = (
        session.scalar(select(Site).where(Site.community_id == other.id, Site.code == c))
        for c in ("S1", "S2")
    )
    for held in (today, new_year - timedelta(days=1)):
        session.add(
            Deliberation(
                community_id=other.id,
                site_id=s1.id,
                held_on=held,
                parties=["residents_committee", "property_company"],
                attendees="居委会 王, 物业 李",
                question="路灯",
                decision="换灯",
                recorded_by="t",
            )
        )
    for site, stage, day in (
        (s1, "joint_meeting", new_year),
        (s2, "final_joint_meeting", None),
        (s2, "consultation", today),
    ):
        session.add(
            SiteStage(site_id=site.id, stage=stage, starts_on=day, ends_on=day, updated_by="t")
        )
    now = datetime.now(UTC)
    admin = accounts.principal_of(world["users"]["admin_t"])
    for i, (x, status, age) in enumerate(
        [(0.5, "new", 1), (1.0, "new", 9), (1.5, "resolved", 4), (0.3, "resolved", 2)]
    ):
        r, _ = create_request(session, geom=pt(x, 2.5), category="lighting", title=f"t2-{i}")
        r.status = status
        r.created_at = r.status_since = now - timedelta(days=age)
        if status == "resolved":
            r.resolved_at = now - timedelta(days=age - 1.5)
    late = session.get(Request, world["ids"]["rB"])  # with the property company…
    late.assigned_due = (now - timedelta(days=2)).date()  # …and past its day
    session.flush()
    patrols.record(
        session,
        principal=admin,
        community_code="T0001",
        grid_codes=["A"],
        day=now.date() - timedelta(days=0),
        participants="王",
    )
    sub_admin = accounts.create_user(
        session, username="sub_t", password=PASSWORD, roles=[("subdistrict_admin", "T00")]
    )
    with make_client() as c:
        r = c.get("/api/staff/subdistricts/T00/overview", headers=bearer(session, sub_admin))
        refused = c.get(
            "/api/staff/subdistricts/T00/overview",
            headers=bearer(session, world["users"]["admin_t"]),
        )
        c.post("/api/staff/session", json={"username": "sub_t", "password": PASSWORD})
        page = c.get("/staff/town", headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text
    assert refused.status_code == 403
    by = {row["community"]["code"]: row for row in r.json()["communities"]}
    assert sorted(by) == ["T0001", "T0002"]
    cut = now - timedelta(days=3)
    for code, row in by.items():
        cid = session.scalar(select(Community.id).where(Community.code == code))

        def q(sql: str, cid: int = cid, **kw: object) -> int:
            return int(session.execute(text(sql), {"c": cid, **kw}).scalar_one())

        assert row["open"] == q(
            "SELECT count(*) FROM request WHERE community_id = :c "
            "AND status IN ('new', 'reopened', 'accepted', 'in_progress')"
        )
        assert row["resolved"] == q(
            "SELECT count(*) FROM request WHERE community_id = :c AND status = 'resolved'"
        )
        assert row["overdue"] == q(
            "SELECT count(*) FROM request WHERE community_id = :c AND ("
            "(status IN ('new', 'reopened') AND COALESCE(status_since, created_at) < :cut) OR "
            "(status IN ('new', 'reopened', 'accepted', 'in_progress') "
            "AND assigned_org_id IS NOT NULL AND assigned_done_at IS NULL AND assigned_due < :d))",
            cut=cut,
            d=today,
        )
        mine = session.scalars(select(Request).where(Request.community_id == cid)).all()
        assert row["overdue"] == sum(handling.is_overdue(m, now=now, overdue_days=3) for m in mine)
        spans = session.execute(
            text(
                "SELECT created_at, resolved_at FROM request WHERE community_id = :c "
                "AND status = 'resolved'"
            ),
            {"c": cid},
        ).all()
        days = [(_utc(done) - _utc(made)).total_seconds() / 86400 for made, done in spans]
        median = round(statistics.median(days), 1) if days else None
        assert row["median_days_to_resolve"] == median
        for period, start in (("month", today.replace(day=1)), ("year", new_year)):
            assert row["meetings"][period] == q(
                "SELECT count(*) FROM deliberation WHERE community_id = :c "
                "AND held_on BETWEEN :s AND :e",
                s=start,
                e=today,
            ) + q(
                "SELECT count(*) FROM site_stage st JOIN site ON site.id = st.site_id "
                "WHERE site.community_id = :c "
                "AND st.stage IN ('joint_meeting', 'final_joint_meeting') "
                "AND COALESCE(st.ends_on, st.starts_on) BETWEEN :s AND :e",
                s=start,
                e=today,
            ), (code, period)
    assert by["T0002"]["open"] == 2 and by["T0002"]["overdue"] == 1
    assert by["T0002"]["median_days_to_resolve"] == 1.5
    assert by["T0001"]["overdue"] >= 1  # rB: the property company is late
    assert by["T0002"]["sites"] == {"consultation": 2, "": 1}
    assert by["T0002"]["meetings"] == {"month": 2 if today.month == 1 else 1, "year": 2}
    assert by["T0001"]["meetings"] == {"month": 0, "year": 0}
    assert by["T0001"]["patrols"]["units"] == 2 and by["T0001"]["patrols"]["patrolled"] == 1
    assert by["T0002"]["patrols"] == {
        "due": today.replace(day=1).isoformat(),
        "units": 1,
        "patrolled": 0,
        "late": 0 if today.day == 1 else 1,
    }
    assert page.status_code == 200 and "/staff/overview?community=T0002" in page.text
    assert "公众咨询 2" in page.text and "未开始 1" in page.text
    meetings = by["T0002"]["meetings"]
    assert f"<td>{meetings['month']} / {meetings['year']}</td>" in page.text


def _utc(moment):
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_sites_deliberation_is_public(make_client, session) -> None:
    """On the demo's site S01, its designer records what the four parties decided; anyone
    reads it on the site's page and API; a grid lead may not record it."""
    designer = accounts.create_user(
        session, username="designer_demo", password=PASSWORD, roles=[("designer", DEMO)]
    )
    lead = accounts.create_user(
        session, username="lead_demo", password=PASSWORD, roles=[("grid_lead", f"{DEMO}/G07")]
    )
    body = {
        "community": DEMO,
        "site": "S01",
        "held_on": "2026-11-18",
        "parties": ["resident_representatives", "residents_committee", "owners_committee"],
        "attendees": "居民代表 5 人；居委会；业委会",
        "question": "花园夜间是否开放？",
        "decision": "夜间 21 点关闭，由志愿者值守",
    }
    c = make_client()
    refused = c.post("/api/staff/deliberations", headers=bearer(session, lead), json=body)
    made = c.post("/api/staff/deliberations", headers=bearer(session, designer), json=body)
    too_few = c.post(
        "/api/staff/deliberations",
        headers=bearer(session, designer),
        json={**body, "parties": ["residents_committee"]},
    )
    public = c.get(f"/api/sites/{DEMO}/S01/deliberations")
    page = c.get(f"/c/{DEMO}/sites/S01")
    assert refused.status_code == 403
    assert made.status_code == 201, made.text
    assert too_few.status_code == 422 and too_few.json()["details"]["field"] == "parties"
    assert public.json() == [
        {
            "id": made.json()["id"],
            "held_on": "2026-11-18",
            "parties": ["residents_committee", "owners_committee", "resident_representatives"],
            "attendees": "居民代表 5 人；居委会；业委会",
            "question": "花园夜间是否开放？",
            "decision": "夜间 21 点关闭，由志愿者值守",
        }
    ]
    assert "夜间 21 点关闭，由志愿者值守" in page.text and "居委会、业委会、居民代表" in page.text


def test_admins_keep_the_communitys_organisations(make_client, session, world) -> None:
    """PUT …/organisations/{code}: an admin creates a property company and changes it; a kind
    cannot change once requests or staff depend on it; others are refused; bad input is 4xx
    with its code; the new company's staff get an account on it."""
    url = "/api/staff/communities/T0001/organisations/WY2"
    body = {"name": "第二物业", "kind": "property_company", "phone": "021-5555 0101"}
    admin = bearer(session, world["users"]["admin_t"])
    with make_client() as c:
        refused = c.put(url, json=body, headers=bearer(session, world["users"]["lead_a"]))
        created = c.put(url, json=body, headers=admin)
        renamed = c.put(url, json={**body, "name": "第二物业服务中心"}, headers=admin)
        bad = {
            "kind": c.put(url, json={**body, "kind": "cleaning"}, headers=admin),
            "code": c.put(url.replace("WY2", "W Y"), json=body, headers=admin),
            "phone": c.put(url, json={**body, "phone": "call me"}, headers=admin),
            "compound": c.put(url, json={**body, "compound": "C9"}, headers=admin),
            "in_use": c.put(
                "/api/staff/communities/T0001/organisations/WY",
                json={**body, "kind": "owners_committee"},
                headers=admin,
            ),
        }
    assert refused.status_code == 403 and refused.json()["code"] == "community_admin_only"
    assert created.status_code == 200, created.text
    orgs = {o["code"]: o for o in renamed.json()["organisations"]}
    assert orgs["WY2"] == {
        "code": "WY2",
        "name": "第二物业服务中心",
        "kind": "property_company",
        "phone": "021-5555 0101",
    }
    assert sorted(orgs) == ["WY", "WY2", "YWH"]
    codes = {k: (r.status_code, r.json()["code"]) for k, r in bad.items()}
    assert codes == {
        "kind": (422, "org_kind_unknown"),
        "code": (422, "org_code_invalid"),
        "phone": (422, "phone_format_invalid"),
        "compound": (404, "compound_not_found"),
        "in_use": (409, "org_kind_in_use"),
    }
    user = accounts.create_user(
        session, username="wy2", password=PASSWORD, roles=[("property_staff", "T0001/WY2")]
    )
    assert [r.role for r in user.roles] == ["property_staff"]
    wy = session.get(Organisation, world["orgs"]["WY"])
    assert wy.kind == "property_company"  # the refused change wrote nothing
