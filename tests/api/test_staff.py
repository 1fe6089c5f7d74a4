"""Staff accounts, scope and the request workflow, on both databases.

Places (tests/support/places.py): community T0001 (subdistrict T00) with grid A (branch T-BA) and
grid B (branch T-BB) under the general branch T-GB, and a strip in no grid; community Q0001
elsewhere. One request in each: rA (grid A), rB (grid B), rGap (T, no grid), rQ (Q0001).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from renewmap.api.schemas.common import ErrorBody, FeatureCollection
from renewmap.db.models import AuthToken, Request, RequestSupport
from renewmap.services.access import accounts
from renewmap.services.access.scope import scope_of
from renewmap.services.requests import handling, workflow
from renewmap.services.requests.intake import create_request
from tests.support.places import add_quad_community, add_test_community, pt, qpt

PASSWORD = "correct horse battery"
# role → place, as `renewmap user add --role ROLE=PLACE` takes them
USERS = {
    "lead_a": [("grid_lead", "T0001/A")],
    "secretary_b": [("branch_secretary", "T-BB")],
    "general_secretary": [("branch_secretary", "T-GB")],
    "admin_t": [("community_admin", "T0001")],
    "sub_t": [("subdistrict_admin", "T00")],
    "designer_t": [("designer", "T0001")],
    "admin_q": [("community_admin", "Q0001")],
    "lead_a_and_q": [("grid_lead", "T0001/A"), ("community_admin", "Q0001")],
}
# who may see which of the four requests
SEES = {
    "lead_a": {"rA"},
    "secretary_b": {"rB"},
    "general_secretary": {"rA", "rB", "rGap"},
    "admin_t": {"rA", "rB", "rGap"},
    "sub_t": {"rA", "rB", "rGap"},
    "designer_t": set(),
    "admin_q": {"rQ"},
    "lead_a_and_q": {"rA", "rQ"},
}


@pytest.fixture
def world(session):
    add_test_community(session)
    add_quad_community(session)
    ids = {}
    for name, geom in {
        "rA": pt(0.5, 0.5),
        "rB": pt(1.5, 0.2),
        "rGap": pt(2.5, 0.5),
        "rQ": qpt(0.5, 0.5),
    }.items():
        request, _ = create_request(session, geom=geom, category="lighting", title=name)
        request.phone = "13800000000"
        ids[name] = request.id
    users = {}
    for username, roles in USERS.items():
        users[username] = accounts.create_user(
            session, username=username, password=PASSWORD, roles=roles
        )
    session.flush()
    return {"ids": ids, "users": users}


def bearer(session, user) -> dict[str, str]:
    token, _ = accounts.issue_token(session, user=user, kind="api")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("username", sorted(USERS))
def test_scope_matrix(make_client, session, world, username: str) -> None:
    """Every staff endpoint × every role × every request, in and out of scope."""
    ids, allowed = world["ids"], SEES[username]
    names = {v: k for k, v in ids.items()}
    h = bearer(session, world["users"][username])
    with make_client() as c:
        listing = c.get("/api/staff/requests", headers=h)
        if not allowed:  # a designer has no requests at all
            assert listing.status_code == 403
        else:
            fc = FeatureCollection.model_validate(listing.json())
            assert {names[f.id] for f in fc.features} == allowed
            # widening the box never widens the scope
            wide = c.get("/api/staff/requests", headers=h, params={"bbox": "-180,-90,180,90"})
            assert {names[f["id"]] for f in wide.json()["features"]} == allowed
            for status in ("open", "new"):
                by_status = c.get("/api/staff/requests", headers=h, params={"status": status})
                assert {names[f["id"]] for f in by_status.json()["features"]} == allowed
        for name, rid in ids.items():
            one = c.get(f"/api/staff/requests/{rid}", headers=h)
            note = c.post(
                f"/api/staff/requests/{rid}/actions",
                headers=h,
                json={"action": "note", "version": 1, "note": "checked"},
            )
            if name in allowed:
                assert one.status_code == 200, (name, one.text)
                assert one.json()["properties"]["phone"] == "13800000000"
                assert note.status_code == 200, note.text
            else:
                assert one.status_code == 404 and "13800000000" not in one.text
                assert ErrorBody.model_validate(one.json()).error == "not_found"
                assert note.status_code == 404
        # asking for another area by name is refused, not silently emptied
        if "rB" not in allowed and allowed:
            r = c.get("/api/staff/requests", headers=h, params={"grid": "B"})
            assert r.status_code == 403 and ErrorBody.model_validate(r.json()).error == "forbidden"
    # nothing out of scope was written
    for name, rid in ids.items():
        notes = [e for e in session.get(Request, rid).events if e.kind == "note"]
        assert len(notes) == (1 if name in allowed else 0)


def test_community_filter_is_scoped(make_client, session, world) -> None:
    both = bearer(session, world["users"]["lead_a_and_q"])
    only_t = bearer(session, world["users"]["lead_a"])
    names = {v: k for k, v in world["ids"].items()}
    with make_client() as c:
        q = c.get("/api/staff/requests", headers=both, params={"community": "Q0001"})
        assert [names[f["id"]] for f in q.json()["features"]] == ["rQ"]
        r = c.get("/api/staff/requests", headers=only_t, params={"community": "Q0001"})
        assert r.status_code == 403 and r.json()["details"]["field"] == "community"
        r = c.get("/api/staff/requests", headers=only_t, params={"community": "NOPE"})
        assert r.status_code == 404
        r = c.get("/api/staff/requests/99999999999", headers=only_t)
        assert r.status_code == 422  # beyond 32 bits: a clear error, not a database crash


def test_unauthenticated_and_bad_credentials(make_client, session, world) -> None:
    with make_client() as c:
        r = c.get("/api/staff/requests")
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
        r = c.get("/api/staff/requests", headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401
        r = c.post("/api/staff/session", json={"username": "lead_a", "password": "wrong one!"})
        assert r.status_code == 401 and r.json()["code"] == "wrong_credentials"
        assert r.json()["message"] == "用户名或密码错误"
        r = c.post("/api/staff/session?lang=en", json={"username": "nobody", "password": PASSWORD})
        assert r.status_code == 401 and r.json()["message"] == "wrong username or password"


def test_browser_session_needs_csrf_for_writes_and_signs_out(make_client, session, world) -> None:
    rid = world["ids"]["rA"]
    with make_client() as c:
        r = c.post("/api/staff/session", json={"username": "lead_a", "password": PASSWORD})
        assert r.status_code == 200, r.text
        csrf = r.json()["csrf_token"]
        assert r.json()["scope"]["grids"] and "rm_staff" in c.cookies
        assert c.get("/api/staff/me").json()["username"] == "lead_a"
        body = {"action": "accept", "version": 1}
        no_csrf = c.post(f"/api/staff/requests/{rid}/actions", json=body)
        assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_token_wrong"
        assert "CSRF" in no_csrf.json()["message"]
        ok = c.post(f"/api/staff/requests/{rid}/actions", json=body, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200 and ok.json()["properties"]["status"] == "accepted"
        # a long-lived API token needs the password again, not just the session
        t = c.post("/api/staff/tokens", json={"password": "guess"}, headers={"X-CSRF-Token": csrf})
        assert t.status_code == 401
        t = c.post(
            "/api/staff/tokens",
            json={"password": PASSWORD, "label": "cron"},
            headers={"X-CSRF-Token": csrf},
        )
        assert t.status_code == 201
        token_headers = {"Authorization": f"Bearer {t.json()['token']}"}
        out = c.delete("/api/staff/session", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
        assert c.get("/api/staff/me").status_code == 401  # the cookie is gone…
        c.cookies.clear()
        assert c.get("/api/staff/me", headers=token_headers).json()["username"] == "lead_a"
    revoked = session.scalars(AuthToken.__table__.select().where(AuthToken.kind == "session")).all()
    assert revoked and all(session.get(AuthToken, t).revoked for t in revoked)  # …and dead


def test_expired_and_revoked_tokens(make_client, session, world) -> None:
    user = world["users"]["lead_a"]
    token, row = accounts.issue_token(session, user=user, kind="api")
    h = {"Authorization": f"Bearer {token}"}
    with make_client() as c:
        assert c.get("/api/staff/me", headers=h).status_code == 200
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.flush()
        r = c.get("/api/staff/me", headers=h)
        assert r.status_code == 401 and r.json()["code"] == "session_expired"
        assert r.json()["message"] == "登录已过期，请重新登录"
        token2, _ = accounts.issue_token(session, user=user, kind="api")
        accounts.set_password(session, username="lead_a", password="a brand new secret")
        assert (
            c.get("/api/staff/me", headers={"Authorization": f"Bearer {token2}"}).status_code == 401
        )


def test_workflow_to_resolution_with_public_replies_and_internal_notes(
    make_client, session, world
) -> None:
    rid = world["ids"]["rA"]
    h = bearer(session, world["users"]["lead_a"])

    def step(c, version, **body):
        return c.post(
            f"/api/staff/requests/{rid}/actions", headers=h, json={"version": version, **body}
        )

    with make_client() as c:
        bad = step(c, 1, action="start")  # not accepted yet
        assert bad.status_code == 409
        assert bad.json()["details"]["current"] == {"id": rid, "status": "new", "version": 1}
        # the refusal in words, the status as a label, never a code
        assert bad.json()["code"] == "action_not_allowed"
        assert bad.json()["message"] == "不能开始处理：诉求的状态为“新提交”"
        assert step(c, 1, action="accept").json()["properties"]["version"] == 2
        # the verb is the action's own word (受理), not the history's label (已受理)
        again = step(c, 2, action="accept")
        assert (again.status_code, again.json()["code"]) == (409, "action_not_allowed")
        assert again.json()["message"] == "不能受理：诉求的状态为“已受理”"
        english = c.post(
            f"/api/staff/requests/{rid}/actions",
            headers={**h, "Accept-Language": "en"},
            json={"version": 2, "action": "accept"},
        )
        assert english.json()["message"] == "cannot accept it: the request is “Accepted”"
        assert step(c, 2, action="note", note="电工周三来").status_code == 200
        assert step(c, 3, action="start").status_code == 200
        r = step(c, 4, action="resolve")
        assert r.status_code == 422 and r.json()["details"]["field"] == "note"
        assert (r.json()["code"], r.json()["message"]) == (
            "note_required",
            "请说明做了什么（备注）",
        )
        done = step(c, 4, action="resolve", note="已更换灯泡")
        props = done.json()["properties"]
        assert (props["status"], props["version"]) == ("resolved", 5)
        kinds = [(e["kind"], e["public"]) for e in props["history"]]
        assert kinds[-4:] == [("accept", True), ("note", False), ("start", True), ("resolve", True)]
        # history in words: what happened, and who (residents and the system by role)
        labels = [(e["label"], e["actor"]) for e in props["history"]]
        assert labels[:2] == [("已提交", "居民"), ("已分派", "系统")]
        assert [lab for lab, _ in labels[-4:]] == ["已受理", "内部备注", "开始处理", "已办结"]
        assert props["history"][0]["actor_code"] == "resident"
        assert step(c, 5, action="accept").status_code == 409  # resolved is final for staff
    request = session.get(Request, rid)
    assert request.accepted_at is not None and request.resolved_at is not None
    # the resident's view: the reply, never the internal note
    from renewmap.services.requests.suggestions import public_history

    history = public_history(request)
    notes = [h["note"] for h in history]
    assert "已更换灯泡" in notes and "电工周三来" not in notes


def test_two_leads_cannot_overwrite_each_other(make_client, session, world) -> None:
    rid = world["ids"]["rA"]
    accounts.grant_roles(session, username="admin_t", roles=[("grid_lead", "T0001/A")])
    first = bearer(session, world["users"]["lead_a"])
    second = bearer(session, world["users"]["admin_t"])
    with make_client() as c:
        a = c.post(
            f"/api/staff/requests/{rid}/actions",
            headers=first,
            json={"action": "accept", "version": 1},
        )
        b = c.post(
            f"/api/staff/requests/{rid}/actions",
            headers=second,
            json={"action": "reject", "version": 1, "note": "不属于本网格"},
        )
    assert a.status_code == 200
    assert b.status_code == 409
    assert b.json()["details"]["current"] == {"id": rid, "status": "accepted", "version": 2}
    assert session.get(Request, rid).status == "accepted"


def test_transfer_moves_the_request_to_the_receiving_grid(make_client, session, world) -> None:
    rid = world["ids"]["rA"]
    a = bearer(session, world["users"]["lead_a"])
    b = bearer(session, world["users"]["secretary_b"])
    with make_client() as c:
        r = c.post(
            f"/api/staff/requests/{rid}/actions",
            headers=a,
            json={"action": "transfer", "version": 1, "target_grid": "B", "note": "在B网格一侧"},
        )
        assert r.status_code == 200 and r.json()["in_your_area"] is False
        assert c.get(f"/api/staff/requests/{rid}", headers=a).status_code == 404
        theirs = c.get(f"/api/staff/requests/{rid}", headers=b).json()["properties"]
        assert (theirs["status"], theirs["grid"]["code"]) == ("new", "B")
        moved, reason = theirs["history"][-2:]
        assert (moved["kind"], moved["public"], moved["data"]["from_grid"]) == (
            "transfer",
            True,
            "A",
        )
        assert (reason["kind"], reason["public"], reason["note"]) == (
            "transfer_reason",
            False,
            "在B网格一侧",
        )
        bad = c.post(
            f"/api/staff/requests/{rid}/actions",
            headers=b,
            json={"action": "transfer", "version": 2, "target_grid": "Z", "note": "x"},
        )
        assert bad.status_code == 404 and bad.json()["details"]["field"] == "target_grid"
    request = session.get(Request, rid)
    assert request.branch_id is not None
    # the resident sees that it moved, not the grids' reason
    from renewmap.services.requests.suggestions import public_history

    assert [h["note"] for h in public_history(request) if h["kind"] == "transfer"] == [None]
    assert "在B网格一侧" not in str(public_history(request))


def test_duplicate_merges_supporters(make_client, session, world) -> None:
    keep = world["ids"]["rA"]
    dup, _ = create_request(session, geom=pt(0.6, 0.5), category="lighting", title="同一盏灯")
    for rid, hashes in ((keep, ["x", "y"]), (dup.id, ["y", "z", "w"])):
        for h in hashes:
            session.add(RequestSupport(request_id=rid, supporter_hash=h))
    session.get(Request, keep).support_count = 2
    dup.support_count = 3
    session.flush()
    h = bearer(session, world["users"]["lead_a"])
    with make_client() as c:
        r = c.post(
            f"/api/staff/requests/{dup.id}/actions",
            headers=h,
            json={"action": "duplicate", "version": dup.version, "duplicate_of": keep},
        )
        assert r.status_code == 200, r.text
        assert r.json()["properties"]["duplicate_of"] == keep
        out = c.post(
            f"/api/staff/requests/{dup.id}/actions",
            headers=h,
            json={"action": "duplicate", "version": 2, "duplicate_of": world["ids"]["rB"]},
        )
        assert out.status_code == 409  # already a duplicate
    kept = session.get(Request, keep)
    # x, y + z, w moved (y once) + the duplicate's author
    assert kept.support_count == 5
    assert kept.events[-1].kind == "merged" and kept.events[-1].data["supporters_moved"] == 2


def test_duplicate_of_a_request_out_of_scope_is_not_found(make_client, session, world) -> None:
    h = bearer(session, world["users"]["lead_a"])
    with make_client() as c:
        r = c.post(
            f"/api/staff/requests/{world['ids']['rA']}/actions",
            headers=h,
            json={"action": "duplicate", "version": 1, "duplicate_of": world["ids"]["rB"]},
        )
    assert r.status_code == 404
    assert session.get(Request, world["ids"]["rA"]).status == "new"


def test_resident_reopens_within_30_days(session, world) -> None:
    request = session.get(Request, world["ids"]["rA"])
    principal = accounts.principal_of(world["users"]["lead_a"])
    scope = scope_of(session, principal)
    for action, note in (("accept", None), ("resolve", "修好了")):
        workflow.act(
            session,
            principal=principal,
            scope=scope,
            request_id=request.id,
            action=action,
            version=request.version,
            note=note,
        )
    resolved = request.resolved_at
    with pytest.raises(Exception, match="within 30 days"):
        workflow.reopen(
            session, request=request, note="还是不亮", now=resolved + timedelta(days=31)
        )
    workflow.reopen(session, request=request, note="还是不亮", now=resolved + timedelta(days=29))
    assert request.status == "reopened"
    workflow.act(
        session,
        principal=principal,
        scope=scope,
        request_id=request.id,
        action="accept",
        version=request.version,
    )
    assert request.status == "accepted"


def test_overdue_after_n_days_without_acceptance(session, world) -> None:
    principal = accounts.principal_of(world["users"]["admin_t"])
    created = session.get(Request, world["ids"]["rA"]).created_at
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    later = handling.my_requests(session, principal=principal, now=created + timedelta(days=3.5))
    fresh = handling.my_requests(session, principal=principal, now=created + timedelta(days=2))
    assert all(f["properties"]["overdue"] for f in later["features"])
    assert not any(f["properties"]["overdue"] for f in fresh["features"])
    # sorted by age: the open ones, oldest first
    ids = [f["id"] for f in later["features"]]
    assert ids == sorted(ids)


@pytest.mark.parametrize("username", ["lead_a", "admin_t", "admin_q"])
def test_exports_hold_exactly_the_area(make_client, session, world, username: str) -> None:
    """CSV and XLSX carry the same rows as the list: the caller's area, nothing more."""
    import csv
    import io

    from openpyxl import load_workbook

    h = bearer(session, world["users"][username])
    with make_client() as c:
        r = c.get("/api/staff/requests.csv", headers=h)
        assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
        table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        x = c.get("/api/staff/requests.xlsx", headers=h)
        sheet = load_workbook(io.BytesIO(x.content)).active
        wide = c.get("/api/staff/requests.csv", headers=h, params={"grid": "B"})
    header, *body = table
    title, phone = header.index("标题"), header.index("电话")
    assert {row[title] for row in body} == SEES[username]
    assert all(row[phone] == "13800000000" for row in body)  # in scope: the phone is there
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == header and {row[title] for row in cells[1:]} == SEES[username]
    if "rB" not in SEES[username]:
        assert wide.status_code == 403  # an export filter cannot reach another grid


def test_exports_show_labels_local_times_and_neutralise_formulas(
    make_client, session, world
) -> None:
    """A title a spreadsheet would run stays text; labels beside codes; Shanghai time."""
    import csv
    import io

    from openpyxl import load_workbook

    formula = '=HYPERLINK("http://x","y")'
    r = session.get(Request, world["ids"]["rA"])
    r.title, r.description, r.nickname = formula, "+1 and more", "@everyone"
    r.status, r.phone = "in_progress", "-13800000000"
    r.created_at = datetime(2026, 11, 1, 20, 30, tzinfo=UTC)  # 04:30 next day in Shanghai
    session.flush()
    h = bearer(session, world["users"]["lead_a"])
    with make_client() as c:
        got = c.get("/api/staff/requests.csv", headers=h)
        english = c.get("/api/staff/requests.csv", headers={**h, "Accept-Language": "en"})
        x = c.get("/api/staff/requests.xlsx", headers=h)
    (header, row) = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    cell = dict(zip(header, row, strict=True))
    assert cell["标题"] == "'" + formula and cell["描述"] == "'+1 and more"
    assert cell["昵称"] == "'@everyone" and cell["电话"] == "'-13800000000"
    assert (cell["状态"], cell["状态代码"]) == ("处理中", "in_progress")
    assert (cell["类别"], cell["类别代码"]) == ("照明", "lighting")
    assert cell["超期"] in ("是", "否")
    assert cell["提交时间（Asia/Shanghai）"] == "2026-11-02 04:30"
    assert cell["编号"] == str(world["ids"]["rA"]) and cell["支持数"] == "0"
    (en_header, en_row) = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    en = dict(zip(en_header, en_row, strict=True))
    assert (en["Status"], en["Status code"], en["Category"]) == (
        "In progress",
        "in_progress",
        "Lighting",
    )
    assert en["Submitted on (Asia/Shanghai)"] == "2026-11-02 04:30"
    sheet = load_workbook(io.BytesIO(x.content)).active
    head = [c.value for c in sheet[1]]
    values = dict(zip(head, sheet[2], strict=True))
    assert head == header
    assert values["标题"].value == "'" + formula and values["标题"].data_type == "s"
    assert values["电话"].data_type == "s" and values["电话"].value == "'-13800000000"
    assert values["编号"].data_type == "n" and values["编号"].value == world["ids"]["rA"]
    assert values["支持数"].value == 0 and isinstance(values["经度"].value, float)
    assert values["提交时间（Asia/Shanghai）"].value == datetime(2026, 11, 2, 4, 30)
    assert values["状态"].value == "处理中" and values["状态代码"].value == "in_progress"
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row), (
        "no formula in the workbook"
    )


def test_grid_report_for_the_monthly_meeting(make_client, session, world, tmp_path) -> None:
    with make_client() as c:
        c.post("/api/staff/session", json={"username": "lead_a", "password": PASSWORD})
        page = c.get("/staff/report", params={"community": "T0001", "grid": "A"})
        assert page.status_code == 200 and "A网格" in page.text
        assert "<td><bdi>rA</bdi></td>" in page.text and "<bdi>rB</bdi>" not in page.text
        external = re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", page.text)
        assert external == [] and "未办结: <b>1</b>" in page.text
        other = c.get(
            "/staff/report",
            params={"community": "T0001", "grid": "B"},
            headers={"Accept": "text/html"},
        )
        assert other.status_code == 403 and "text/html" in other.headers["content-type"]
        bad = c.get("/staff/report", params={"community": "T0001", "grid": "A", "month": "2026-13"})
        assert bad.status_code == 422


def test_grid_statistics_and_overview(make_client, session, world) -> None:
    """Known answers: one open request per place; resolving rA two days after it was made."""
    ids = world["ids"]
    admin = accounts.principal_of(world["users"]["admin_t"])
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    for name in ("rA", "rB", "rGap"):
        r = session.get(Request, ids[name])
        r.created_at = r.status_since = start
    rA = session.get(Request, ids["rA"])
    rA.status, rA.resolved_at = "resolved", start + timedelta(days=2)
    session.flush()
    now = start + timedelta(days=5)
    got = handling.grid_stats(session, principal=admin, community_code="T0001", now=now)
    table = {(s["grid"] or {}).get("code"): s for s in got["grids"]}
    assert list(table) == ["A", "B", None]  # grids in order, then what is in no grid
    assert (table["A"]["open"], table["A"]["resolved"], table["A"]["median_days_to_resolve"]) == (
        0,
        1,
        2.0,
    )
    assert (table["B"]["open"], table["B"]["overdue"]) == (1, 1)  # 5 days > 3
    assert (table[None]["open"], table[None]["overdue"]) == (1, 1)
    lead = accounts.principal_of(world["users"]["lead_a"])
    mine = handling.grid_stats(session, principal=lead, community_code="T0001", now=now)
    assert [s["grid"]["code"] for s in mine["grids"]] == ["A"]
    h = bearer(session, world["users"]["admin_q"])
    with make_client() as c:
        r = c.get("/api/staff/stats", headers=h, params={"community": "T0001"})
        assert r.status_code == 403
        c.post("/api/staff/session", json={"username": "admin_t", "password": PASSWORD})
        page = c.get("/staff/overview", params={"community": "T0001"})
    assert page.status_code == 200 and 'id="rm-stats"' in page.text
    assert "A网格" in page.text and "不在任何网格" in page.text


def test_patrols_record_route_and_findings_and_show_who_has_not_walked(
    make_client, session, world
) -> None:
    from datetime import date

    from renewmap.services.requests import patrols

    assert patrols.second_thursday(2026, 11) == date(2026, 11, 12)
    assert patrols.second_thursday(2026, 10) == date(2026, 10, 8)  # the 1st is a Thursday
    h = bearer(session, world["users"]["lead_a"])
    walk = {"type": "LineString", "coordinates": [[10.0001, 50.0001], [10.0009, 50.0009]]}
    finding = {
        "category": "paths",
        "title": "路面塌陷",
        "geometry": {"type": "Point", "coordinates": [10.0004, 50.0004]},
    }
    body = {
        "community": "T0001",
        "grid": "A",
        "day": "2026-11-12",
        "participants": "王、李",
        "route": walk,
        "findings": [finding],
    }
    with make_client() as c:
        r = c.post("/api/staff/patrols", headers=h, json=body)
        assert r.status_code == 201, r.text
        out = r.json()
        assert out["route"]["type"] == "MultiLineString" and out["findings"][0]["grid"] == "A"
        found = session.get(Request, out["findings"][0]["id"])
        assert (found.source, found.patrol_id) == ("patrol", out["id"])
        # a bad finding: a precise message and nothing kept
        bad = {**body, "findings": [finding, {**finding, "category": "unicorns"}]}
        before = session.query(Request).count()
        r = c.post("/api/staff/patrols", headers=h, json=bad)
        assert r.status_code == 422 and r.json()["code"] == "category_unknown"
        assert r.json()["message"].startswith("findings[2]：未知类别“unicorns”")
        r = c.post("/api/staff/patrols?lang=en", headers=h, json=bad)
        assert r.json()["message"].startswith("findings[2]: unknown category")
        assert session.query(Request).count() == before
        # another grid's patrol is not theirs to record
        r = c.post("/api/staff/patrols", headers=h, json={**body, "grid": "B", "findings": []})
        assert r.status_code == 403
    admin = accounts.principal_of(world["users"]["admin_t"])
    month = patrols.month_status(
        session,
        principal=admin,
        community_code="T0001",
        month=date(2026, 11, 1),
        today=date(2026, 11, 20),
    )
    by = {g["grid"]["code"]: g for g in month["grids"]}
    assert by["A"]["patrols"] == ["2026-11-12"] and not by["A"]["late"]
    assert not by["B"]["patrolled"] and by["B"]["late"]  # past the second Thursday
    early = patrols.month_status(
        session,
        principal=admin,
        community_code="T0001",
        month=date(2026, 11, 1),
        today=date(2026, 11, 5),
    )
    assert not {g["grid"]["code"]: g for g in early["grids"]}["B"]["late"]


def test_filter_by_building(make_client, session, world) -> None:
    """Requests within 10 m of a building's footprint: 1号楼 spans x 0.1–0.3 (1 unit ≈ 71.5 m)."""
    near, _ = create_request(session, geom=pt(0.35, 0.5), category="lighting", title="楼门口")
    far = world["ids"]["rA"]  # x 0.5: about 14 m east of the building
    session.flush()
    h = bearer(session, world["users"]["lead_a"])
    admin = bearer(session, world["users"]["admin_t"])
    with make_client() as c:
        r = c.get("/api/staff/requests", headers=h, params={"building": "1号楼"})
        assert [f["id"] for f in r.json()["features"]] == [near.id]
        assert r.json()["numberMatched"] == 1 and far not in [f["id"] for f in r.json()["features"]]
        r = c.get("/api/staff/requests", headers=h, params={"building": "2号楼"})
        assert r.status_code == 404  # grid B's building is not in the lead's area
        r = c.get("/api/staff/requests", headers=admin, params={"building": "2号楼"})
        assert r.status_code == 200 and r.json()["features"] == []


COVERS_A = {"lead_a", "general_secretary", "admin_t", "sub_t", "lead_a_and_q"}
IN_T = COVERS_A | {"secretary_b"}
ADMINS_T = {"admin_t", "sub_t"}


@pytest.mark.parametrize("username", sorted(USERS))
def test_scope_matrix_every_other_staff_endpoint(
    make_client, session, world, username: str
) -> None:
    """The rest of the staff surface × every role, in and out of scope (see also the matrix
    above for list, one request and actions). Expected: 2xx inside, 403/404 outside."""
    h = bearer(session, world["users"][username])
    patrol = {"community": "T0001", "grid": "A", "day": "2026-11-12", "participants": "王"}
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
    checks = [
        ("GET", "/api/staff/requests.csv", None, IN_T | {"admin_q"}, 403),
        ("GET", "/api/staff/requests.xlsx", None, IN_T | {"admin_q"}, 403),
        ("GET", "/api/staff/stats?community=T0001", None, IN_T, 403),
        ("GET", "/api/staff/patrols?community=T0001", None, IN_T, 403),
        ("POST", "/api/staff/patrols", patrol, COVERS_A, 403),
        ("POST", "/api/staff/communities/T0001/grid-drafts", grids, ADMINS_T, 403),
        ("POST", "/api/staff/communities/T0001/assignments", {}, ADMINS_T, 403),
        # an admin gets past the gate and learns the compounds do not exist
        (
            "POST",
            "/api/staff/communities/T0001/compounds/merge",
            {"keep": "X", "merge": "Y"},
            set(),
            403,
        ),
    ]
    with make_client() as c:
        for method, url, body, allowed, refused in checks:
            r = c.request(method, url, headers=h, json=body)
            if username in allowed:
                assert 200 <= r.status_code < 300, (url, r.status_code, r.text)
            elif url.endswith("/merge") and username in ADMINS_T:
                assert r.status_code == 404, r.text
            else:
                assert r.status_code == refused, (url, r.status_code, r.text)
                assert ErrorBody.model_validate(r.json()).error == "forbidden"
        # the pages, with the browser's session cookie
        c.post("/api/staff/session", json={"username": username, "password": PASSWORD})
        html = {"Accept": "text/html"}
        report = c.get("/staff/report?community=T0001&grid=A", headers=html)
        overview = c.get("/staff/overview?community=T0001", headers=html)
        borders = c.get("/staff/boundaries?community=T0001", headers=html)
    assert report.status_code == (200 if username in COVERS_A else 403), username
    assert overview.status_code == (200 if username in IN_T else 403), username
    assert borders.status_code == (200 if username in ADMINS_T else 403), username


def test_moderation_hides_from_the_public_not_from_staff(make_client, session, world) -> None:
    import io

    from PIL import Image

    from renewmap import blobs
    from renewmap.db.models import RequestPhoto

    rid = world["ids"]["rA"]
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buf, format="JPEG")
    photo = RequestPhoto(
        request_id=rid,
        position=0,
        content_type="image/jpeg",
        width=4,
        height=4,
        data_key=blobs.put(session, buf.getvalue(), "image/jpeg"),
        data_size=len(buf.getvalue()),
        thumbnail_key=blobs.put(session, buf.getvalue(), "image/jpeg"),
        thumbnail_size=len(buf.getvalue()),
    )
    session.add(photo)
    session.flush()
    lead, other = (
        bearer(session, world["users"]["lead_a"]),
        bearer(session, world["users"]["secretary_b"]),
    )
    with make_client() as c:
        bad = c.post(
            f"/api/staff/requests/{rid}/actions",
            headers=lead,
            json={"action": "hide", "version": 1},
        )
        assert bad.status_code == 422  # a reason is required
        r = c.post(
            f"/api/staff/requests/{rid}/actions",
            headers=lead,
            json={"action": "hide", "version": 1, "note": "含有他人电话号码"},
        )
        props = r.json()["properties"]
        assert (
            props["hidden"] is True
            and "unhide" in props["actions"]
            and "hide" not in props["actions"]
        )
        assert c.get(f"/api/suggestions/{rid}").status_code == 404
        assert c.get(f"/api/photos/{photo.id}").status_code == 404
        staff_photo = c.get(f"/api/staff/photos/{photo.id}", headers=lead)
        assert staff_photo.status_code == 200 and staff_photo.content == buf.getvalue()
        assert c.get(f"/api/staff/photos/{photo.id}", headers=other).status_code == 404
        again = c.post(
            f"/api/staff/requests/{rid}/actions",
            headers=lead,
            json={"action": "hide", "version": 2, "note": "x"},
        )
        assert again.status_code == 409
        c.post(
            f"/api/staff/requests/{rid}/actions",
            headers=lead,
            json={"action": "unhide", "version": 2},
        )
        assert c.get(f"/api/suggestions/{rid}").status_code == 200
    from renewmap.services.requests.suggestions import public_history

    assert "含有他人电话号码" not in str(public_history(session.get(Request, rid)))
