"""Residents (issue 16) on both databases: finding a place, who will handle a suggestion and
the expected wait before posting, browsing (title search, sorts, +1s remembered per device),
category questions shared with Open311, consent to progress messages and what is sent (to a
real SMTP server and a real HTTP SMS gateway on loopback), the stop link, who acted at each
step, the receipt's QR code, plant cards (care log for the adopter only, the kind kept with
its photo, printable tags, moving an adoption to a new phone)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import io
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import segno
from PIL import Image
from sqlalchemy import select

from renewmap.db.models import Plant, PlantCare, Request
from renewmap.db.queries.accounts import staff_user_by_username
from renewmap.db.queries.notify import all_notifications
from renewmap.devtools.e2e import free_port, thread_server
from renewmap.services.access import accounts
from renewmap.services.access.scope import scope_of
from renewmap.services.requests import notify, progress, suggestions, workflow
from renewmap.settings import Settings
from tests.support.db import count
from tests.support.places import add_test_community, pt
from tests.support.receivers import Mailbox, mailbox

SECRET = "test-secret"
SMS_SECRET = "gateway-key"
BASE = "http://intranet.example:8000"
DEMO = "310109010026"
G07_POINT = (121.4905, 31.2890)  # routes to 第7网格 · 第四网格党支部


# --- real receivers on loopback -------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server on loopback (tests.support.receivers)."""
    with mailbox() as box:
        yield box.port, box


class Gateway:
    """What an SMS gateway received: (path, headers, body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()


@pytest.fixture
def sms() -> Iterator[tuple[str, Gateway]]:
    gateway = Gateway()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with gateway.lock:
                gateway.received.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"code": 0}')

        def log_message(self, format: str, *args: object) -> None:
            pass

    with thread_server(Receiver) as base:
        yield base, gateway


def settings_for(smtp_port: int, sms_url: str | None, **more) -> Settings:
    return Settings(
        env="test",
        secret_key=SECRET,
        notify_smtp_host="127.0.0.1",
        notify_smtp_port=smtp_port,
        notify_smtp_from="renewmap@example.org",
        notify_sms_url=sms_url,
        notify_sms_secret=SMS_SECRET if sms_url else None,
        notify_sms_signature="【测试社区】",
        public_base_url=BASE,
        **more,
    )


@pytest.fixture
def staffed(session):
    ids = add_test_community(session)
    for name, role in (
        ("lead_a", "grid_lead=T0001/A"),
        ("secretary_b", "branch_secretary=T-BB"),
        ("admin_t", "community_admin=T0001"),
    ):
        accounts.create_user(
            session,
            username=name,
            display_name=f"秘密的{name}",
            password="correct horse battery",
            roles=[(role.split("=")[0], role.split("=")[1])],
        )
    session.flush()
    return ids


def principal(session, username: str):
    return accounts.principal_of(staff_user_by_username(session, username=username))


def act(session, username: str, request: Request, action: str, note: str | None = None, **kw):
    who = principal(session, username)
    return workflow.act(
        session,
        principal=who,
        scope=scope_of(session, who),
        request_id=request.id,
        action=action,
        version=request.version,
        note=note,
        **kw,
    )


@pytest.fixture
def api(make_client, staffed, smtp, sms):
    """A resident's client of an app that can send e-mail and SMS (community T0001 staffed)."""
    return make_client(settings_for(smtp[0], sms[0] + "/send"), csrf=True)


def post(client, x=0.5, y=0.5, **fields):
    p = pt(x, y)
    data = {"category": "lighting", "title": "路灯不亮", "lon": str(p.x), "lat": str(p.y)}
    data.update(fields)
    return client.post("/api/suggestions", data={k: v for k, v in data.items() if v is not None})


# --- finding a place -------------------------------------------------------------------------


def test_places_are_found_by_the_names_residents_use(client) -> None:
    url = f"/api/communities/{DEMO}/places"
    found = client.get(url, params={"q": "17"}).json()
    assert found["places"][0]["name"] == "17号楼" and found["places"][0]["kind"] == "building"
    names = [p["name"] for p in found["places"]]
    assert "1号楼" not in names  # "17" is in 17号楼, not in 1号楼
    first = found["places"][0]
    west, south, east, north = first["bbox"]
    assert west <= first["lon"] <= east and south <= first["lat"] <= north
    # a site, a facility and a grid by their names; 7 finds 第7网格 and 7号楼, 7号楼 first
    assert client.get(url, params={"q": "微花园"}).json()["places"][0]["kind"] == "site"
    assert client.get(url, params={"q": "公告栏"}).json()["places"][0]["kind"] == "facility"
    seven = [p["name"] for p in client.get(url, params={"q": "7"}).json()["places"]]
    assert seven[0] == "7号楼" and "第7网格" in seven and "17号楼" in seven
    # without words: the whole list to choose from, buildings first in their numbers' order
    everything = client.get(url).json()["places"]
    buildings = [p["name"] for p in everything if p["kind"] == "building"]
    assert buildings[:3] == ["1号楼", "2号楼", "3号楼"] and everything[0]["kind"] == "building"
    # LIKE's wildcards are taken literally
    assert client.get(url, params={"q": "%"}).json() == {"places": [], "more": False}
    assert client.get(url, params={"q": "_"}).json() == {"places": [], "more": False}
    assert client.get("/api/communities/NOPE/places").status_code == 404


# --- who will handle it, and how soon --------------------------------------------------------


def test_preview_says_who_will_handle_it_and_warns_outside(client) -> None:
    body = {"community": DEMO, "geometry": {"type": "Point", "coordinates": list(G07_POINT)}}
    r = client.post("/api/suggestions/preview", json=body)
    assert r.status_code == 200
    x = r.json()
    assert x["message"] == "将由 第7网格 · 第四网格党支部 处理"
    assert x["owner"]["grid"]["code"] == "G07"
    assert (x["outside"], x["elsewhere"]) == (False, False)
    assert x["expected"] == {
        "days": 3,
        "basis": "rule",
        "sample": 0,
        "percent": None,
        "window_days": 180,
    }
    # far outside every community: the same 422 a post would get
    far = {"community": DEMO, "geometry": {"type": "Point", "coordinates": [121.6, 31.3]}}
    r = client.post("/api/suggestions/preview", json=far)
    assert r.status_code == 422 and r.json()["error"] == "not_routable"
    # nothing was written by asking
    assert (
        client.get(f"/api/communities/{DEMO}/suggestions", params={"limit": 1}).status_code == 200
    )


def test_preview_just_outside_and_in_another_community(client, session) -> None:
    add_test_community(session)
    just_outside = pt(3.2, 0.5)  # 0.2 units ≈ 14 m east of community T
    r = client.post(
        "/api/suggestions/preview",
        json={
            "community": "T0001",
            "geometry": {"type": "Point", "coordinates": [just_outside.x, just_outside.y]},
        },
    )
    assert r.status_code == 200 and r.json()["outside"] is True
    r = client.post(
        "/api/suggestions/preview",
        json={
            "community": DEMO,
            "geometry": {"type": "Point", "coordinates": [pt(0.5, 0.5).x, pt(0.5, 0.5).y]},
        },
    )
    assert r.status_code == 200 and r.json()["elsewhere"] is True
    assert r.json()["owner"]["community"]["code"] == "T0001"


# --- browsing ----------------------------------------------------------------------------------


def test_browse_searches_titles_sorts_and_remembers_supports(client, session) -> None:
    add_test_community(session)
    client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf_token"]
    ids = {}
    for title, x in (("路灯不亮", 0.2), ("路面坑洼 100%_好", 0.5), ("垃圾满了", 0.9)):
        ids[title] = post(client, x, 0.5, title=title).json()["id"]
    url = "/api/communities/T0001/suggestions"
    titles = lambda r: [f["properties"]["title"] for f in r.json()["features"]]  # noqa: E731
    # newest first by default; a title search; LIKE's wildcards are text
    assert titles(client.get(url)) == ["垃圾满了", "路面坑洼 100%_好", "路灯不亮"]
    assert titles(client.get(url, params={"q": "路"})) == ["路面坑洼 100%_好", "路灯不亮"]
    assert titles(client.get(url, params={"q": "%_"})) == ["路面坑洼 100%_好"]
    # nearest to a point first
    near = pt(0.95, 0.5)
    r = client.get(url, params={"sort": "nearest", "near": f"{near.x},{near.y}"})
    assert titles(r) == ["垃圾满了", "路面坑洼 100%_好", "路灯不亮"]
    assert client.get(url, params={"sort": "nearest"}).status_code == 422
    assert client.get(url, params={"sort": "nearest", "near": "x,1"}).status_code == 422
    assert client.get(url, params={"sort": "loudest"}).status_code == 422
    # +1 from this device: most supported first, and the list says this device gave it
    assert client.post(f"/api/suggestions/{ids['路灯不亮']}/supports").status_code == 201
    r = client.get(url, params={"sort": "supports"})
    assert titles(r)[0] == "路灯不亮"
    supported = {
        f["properties"]["title"]: f["properties"]["supported"] for f in r.json()["features"]
    }
    assert supported == {"路灯不亮": True, "路面坑洼 100%_好": False, "垃圾满了": False}
    # another device has given none; a browser without the cookie is not told
    client.cookies.clear()
    assert all("supported" not in f["properties"] for f in client.get(url).json()["features"])
    client.get("/api/session")
    assert not any(f["properties"]["supported"] for f in client.get(url).json()["features"])
    # paging: 20 at a time is the page's size
    r = client.get(url, params={"limit": 2, "offset": 2})
    assert r.json()["numberMatched"] == 3 and r.json()["numberReturned"] == 1


# --- category questions (one definition with Open311) ------------------------------------------


def test_the_residents_form_asks_and_stores_the_open311_questions(client, session) -> None:
    add_test_community(session)
    client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf_token"]
    page = client.get(f"/c/{DEMO}").text
    config = json.loads(page.split('id="rm-config">', 1)[1].split("</script>", 1)[0])
    asked = {q["code"] for q in config["questions"]["pipes_drainage"]}
    defined = client.get("/open311/v2/services/pipes_drainage.json").json()
    assert asked == {a["code"] for a in defined["attributes"]} == {"building", "problem"}
    pipes = {"category": "pipes_drainage", "title": "漏水"}
    r = post(client, **pipes, attributes=json.dumps({"building": "1", "problem": ["leak"]}))
    assert r.status_code == 201, r.text
    stored = session.get(Request, r.json()["id"]).attributes
    assert stored == {"building": "1号楼", "problem": "leak"}  # stored as Open311's are
    before = count(session, "request")
    for answers, field in (
        ({"building": "1"}, "attribute[problem]"),  # a required answer missing
        ({"building": "99", "problem": "leak"}, "attribute[building]"),  # no such building
        ({"building": "1", "problem": "flood"}, "attribute[problem]"),  # not a choice
        ({"building": "1", "problem": "leak", "colour": "red"}, "attribute[colour]"),
    ):
        r = post(client, **pipes, attributes=json.dumps(answers))
        assert r.status_code == 422 and r.json()["details"]["field"] == field, (answers, r.text)
    r = post(client, **pipes, attributes="{not json")
    assert r.status_code == 422 and r.json()["details"]["field"] == "attributes"
    r = post(client, **pipes, attributes="{}")  # asked, and the required ones not answered
    assert r.status_code == 422 and r.json()["details"]["field"] == "attribute[building]"
    assert count(session, "request") == before  # nothing written
    # a form that asks no questions (a site's survey pin) sends no attributes: none stored
    r = post(client, **pipes)
    assert r.status_code == 201 and session.get(Request, r.json()["id"]).attributes is None


# --- progress messages ------------------------------------------------------------------------


def test_no_consent_no_messages_and_consent_needs_a_contact(api, session) -> None:
    before = count(session, "request")
    r = post(api, notify="true")  # consent, but no phone and no e-mail
    assert r.status_code == 422 and r.json()["details"]["field"] == "phone"
    r = post(api, notify="true", email="not-an-address")
    assert r.status_code == 422 and r.json()["details"]["field"] == "email"
    assert count(session, "request") == before
    r = post(api, phone="13800000000")  # a phone for staff, no consent
    assert r.status_code == 201 and r.json()["notify"] == []
    request = session.get(Request, r.json()["id"])
    assert request.notify_consent_at is None
    act(session, "lead_a", request, "accept")
    residents = [n for n in all_notifications(session) if n.payload.get("audience") == "resident"]
    assert residents == []


def test_accepted_replied_resolved_reach_the_resident_by_sms_and_email(
    api, session, smtp, sms
) -> None:
    port, inbox = smtp
    gateway_url, gateway = sms
    settings = settings_for(port, gateway_url + "/send?to={phone}")
    r = post(api, phone="13800000000", email="wang@example.org", notify="true")
    assert r.status_code == 201 and r.json()["notify"] == ["sms", "email"]
    request = session.get(Request, r.json()["id"])
    assert request.notify_consent_at is not None  # the consent, with its time
    code, token = request.receipt_code, r.json()["token"]
    notify.dispatch_due(session, settings=settings)  # the staff's "new request" mail
    inbox.messages.clear()

    act(session, "lead_a", request, "accept")
    assert notify.dispatch_due(session, settings=settings) == (2, 0)
    (mail,) = [m for m in inbox.messages if m["To"] == "wang@example.org"]
    follow_url = f"{BASE}/r/{code}?t={token}"
    stop_url = f"{BASE}/r/{code}/stop?s={progress.stop_token(SECRET, code)}"
    body = mail.get_content()
    assert "已由A网格 网格长受理" in body and follow_url in body and stop_url in body
    assert "秘密的" not in body  # never a member of staff's own name
    assert str(mail["List-Unsubscribe"]).strip() == f"<{stop_url}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # the SMS: POSTed JSON, signed with the gateway's key over the sorted parameters
    (path, headers, raw) = gateway.received[-1]
    assert path == "/send?to=13800000000"
    sent = json.loads(raw)
    assert sent["phone"] == "13800000000"
    assert sent["text"].startswith("【测试社区】您的建议「路灯不亮」")
    assert follow_url in sent["text"] and stop_url in sent["text"]
    unsigned = {k: v for k, v in sent.items() if k != "sign"}
    canonical = "&".join(f"{k}={unsigned[k]}" for k in sorted(unsigned))
    expected = hmac.new(SMS_SECRET.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    assert sent["sign"] == expected == headers["x-renewmap-signature"]

    # a reply and the resolution, each told; the resolution says until when to reopen
    act(session, "lead_a", request, "reply", note="物业明天来修")
    act(session, "lead_a", request, "start")  # not told: nothing for the resident to do
    now = datetime.now(UTC)
    act(session, "lead_a", request, "resolve", note="换了灯泡", now=now)
    assert notify.dispatch_due(session, settings=settings) == (4, 0)
    texts = [json.loads(b)["text"] for _, _, b in gateway.received]
    assert any("收到A网格 网格长的回复：物业明天来修" in t for t in texts)
    until = (now + timedelta(days=30)).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    resolved = next(t for t in texts if "办结" in t)
    assert f"已由A网格 网格长办结：换了灯泡。如未解决，可在 {until} 前通过链接重新打开" in resolved
    # the reminder before the reopen window closes waits, due 27 days after, on both channels
    reminders = [n for n in all_notifications(session) if n.reason == progress.REOPEN_CLOSING]
    assert sorted(n.channel for n in reminders) == ["email", "sms"]
    for n in reminders:
        due = (
            n.next_attempt_at if n.next_attempt_at.tzinfo else n.next_attempt_at.replace(tzinfo=UTC)
        )
        assert abs(due - (now + timedelta(days=27))) < timedelta(seconds=1)
    assert notify.dispatch_due(session, settings=settings) == (0, 0)  # not yet
    later = now + timedelta(days=27, minutes=1)
    assert notify.dispatch_due(session, settings=settings, now=later) == (2, 0)
    assert "如仍未解决" in json.loads(gateway.received[-1][2])["text"]


def test_a_gateway_that_is_down_is_retried_and_the_resident_still_posts(api, session, smtp) -> None:
    down = f"http://127.0.0.1:{free_port()}/send"  # nothing listens there
    settings = settings_for(smtp[0], down)
    r = post(api, phone="13800000000", notify="true")
    assert r.status_code == 201
    request = session.get(Request, r.json()["id"])
    act(session, "lead_a", request, "accept")
    now = datetime.now(UTC)
    notify.dispatch_due(session, settings=settings, now=now)
    (sms,) = [n for n in all_notifications(session) if n.channel == "sms"]
    assert (sms.status, sms.attempts) == ("pending", 1) and "URLError" in sms.last_error
    due = (
        sms.next_attempt_at
        if sms.next_attempt_at.tzinfo
        else sms.next_attempt_at.replace(tzinfo=UTC)
    )
    assert due == now + timedelta(seconds=notify.RETRY_DELAYS_S[0])


def test_a_reminder_is_cancelled_when_the_suggestion_was_reopened(api, session, smtp, sms) -> None:
    settings = settings_for(smtp[0], sms[0] + "/send")
    r = post(api, email="wang@example.org", notify="true")
    request = session.get(Request, r.json()["id"])
    act(session, "lead_a", request, "accept")
    act(session, "lead_a", request, "resolve", note="修好了")
    notify.dispatch_due(session, settings=settings)
    suggestions.reopen(
        session, code=request.receipt_code, token=r.json()["token"], secret=SECRET, note="没修好"
    )
    later = datetime.now(UTC) + timedelta(days=28)
    notify.dispatch_due(session, settings=settings, now=later)
    (reminder,) = [n for n in all_notifications(session) if n.reason == progress.REOPEN_CLOSING]
    assert reminder.status == "cancelled"


def test_the_stop_link_works_without_signing_in_and_only_when_confirmed(
    api, session, smtp, sms
) -> None:
    settings = settings_for(smtp[0], sms[0] + "/send")
    r = post(api, phone="13800000000", notify="true")
    request = session.get(Request, r.json()["id"])
    code = request.receipt_code
    stop = progress.stop_token(SECRET, code)
    act(session, "lead_a", request, "accept")  # a message waits in the outbox
    api.cookies.clear()
    # opening the link (a mail scanner does) stops nothing
    page = api.get(f"/r/{code}/stop", params={"s": stop})
    assert page.status_code == 200 and 'method="post"' in page.text
    assert session.get(Request, request.id).notify_stopped_at is None
    assert api.get(f"/r/{code}/stop", params={"s": "wrong" * 4}).status_code == 403
    assert api.post(f"/r/{code}/stop", params={"s": "wrong" * 4}).status_code == 403
    done = api.post(f"/r/{code}/stop", params={"s": stop}, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "rm-stopped" in done.text
    assert session.get(Request, request.id).notify_stopped_at is not None
    waiting = [n for n in all_notifications(session) if n.payload.get("audience") == "resident"]
    assert waiting and all(n.status == "cancelled" for n in waiting)
    assert notify.dispatch_due(session, settings=settings) == (0, 0)
    act(session, "lead_a", request, "reply", note="还在修")
    assert [n for n in all_notifications(session) if n.reason == "reply"] == []
    # the follow page says so, and offers nothing to stop
    follow = api.get(f"/r/{code}", params={"t": r.json()["token"]})
    assert 'id="rm-stop"' not in follow.text


def test_the_follow_page_stops_messages_with_its_token(api, session) -> None:
    r = post(api, email="wang@example.org", notify="true")
    code, token = r.json()["receipt_code"], r.json()["token"]
    page = api.get(f"/r/{code}", params={"t": token})
    assert 'id="rm-stop"' in page.text
    assert (
        api.post(f"/api/receipts/{code}/stop", data={"token": "wrong-token-xx"}).status_code == 403
    )
    assert api.post(f"/api/receipts/{code}/stop", data={}).status_code == 422
    r = api.post(f"/api/receipts/{code}/stop", data={"token": token})
    assert r.status_code == 200 and r.json()["stopped"] is True
    assert api.get(f"/api/receipts/{code}", params={"token": token}).json()["notify"] == []


def test_the_history_says_who_acted_by_role_and_place(api, session) -> None:
    r = post(api, 1.5, 0.2)  # grid B, outside the buildings
    request = session.get(Request, r.json()["id"])
    act(session, "secretary_b", request, "accept")
    act(session, "admin_t", request, "reply", note="社区会协调")
    view = api.get(
        f"/api/receipts/{request.receipt_code}", params={"token": r.json()["token"]}
    ).json()
    by = {h["kind"]: h["by"] for h in view["history"]}
    assert by["accept"] == {"role": "branch_secretary", "place": "B支部"}
    assert by["reply"] == {"role": "community_admin", "place": "测试社区"}
    assert by["created"] is None
    page = api.get(f"/r/{request.receipt_code}", params={"t": r.json()["token"]}).text
    assert "B支部 党支部书记" in page and "测试社区 社区管理员" in page
    assert "秘密的" not in page and "secretary_b" not in page
    assert view["geometry"]["type"] == "Point" and view["community"] == "T0001"


def test_the_receipts_qr_code_holds_the_follow_link(api, session) -> None:
    r = post(api)
    code, token = r.json()["receipt_code"], r.json()["token"]
    png = api.get(f"/api/receipts/{code}/qr.png", params={"token": token})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert "no-store" in png.headers["cache-control"]
    assert qr_matrix(png.content) == segno_matrix(f"{BASE}/r/{code}?t={token}")
    assert (
        api.get(f"/api/receipts/{code}/qr.png", params={"token": "wrong-token"}).status_code == 403
    )


def segno_matrix(text: str) -> list[list[bool]]:
    return [[bool(v) for v in row] for row in segno.make(text, error="m").matrix_iter(border=0)]


def qr_matrix(png: bytes, *, scale: int = 8, border: int = 4) -> list[list[bool]]:
    """The modules of a QR code PNG written with ``scale`` pixels a module and ``border``."""
    img = Image.open(io.BytesIO(png)).convert("L")
    n = img.width // scale - 2 * border
    return [
        [
            img.getpixel(((border + c) * scale + scale // 2, (border + r) * scale + scale // 2))
            < 128
            for c in range(n)
        ]
        for r in range(n)
    ]


# --- plants --------------------------------------------------------------------------------


@pytest.fixture
def plant_id(session) -> int:
    return int(session.scalar(select(Plant.id).order_by(Plant.id)))


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (40, 160, 60)).save(out, format="JPEG")
    return out.getvalue()


def test_only_the_adopter_keeps_the_care_log_and_photos_keep_their_kind(
    make_client, client, session, plant_id
) -> None:
    adopter = client
    adopter.headers["X-CSRF-Token"] = adopter.get("/api/session").json()["csrf_token"]
    page = adopter.get(f"/p/{plant_id}").text
    assert 'id="rm-care-form"' not in page and "rm-care-only" in page
    assert (
        adopter.post(f"/api/plants/{plant_id}/adoption", json={"nickname": "小李"}).status_code
        == 201
    )
    page = adopter.get(f"/p/{plant_id}").text
    assert 'id="rm-care-form"' in page and "本机" in page
    assert "S01-P" not in page  # the plant's code is not what people call it
    r = adopter.post(
        f"/api/plants/{plant_id}/care/photo",
        data={"kind": "watering", "note": "浇透了"},
        files=[("file", ("w.jpg", jpeg(), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    entry = r.json()["care"][-1]
    assert entry["kind"] == "watering" and entry["photo"] and entry["note"] == "浇透了"
    assert adopter.get(f"/p/{plant_id}").text.count("浇水") >= 2  # the entry and the form
    row = session.scalar(select(PlantCare).where(PlantCare.plant_id == plant_id))
    assert row.kind == "watering" and row.photo_key is not None
    # a "photo" entry without a photo is refused
    r = adopter.post(f"/api/plants/{plant_id}/care", json={"kind": "photo"})
    assert r.status_code == 422
    # another phone: no form, and asked to adopt
    with make_client(app=adopter.app, csrf=True) as other:
        page = other.get(f"/p/{plant_id}").text
        assert 'id="rm-care-form"' not in page and 'id="rm-claim"' in page
        assert other.get(f"/api/plants/{plant_id}").json()["mine"] is False
        r = other.post(f"/api/plants/{plant_id}/care", json={"kind": "watering"})
        assert r.status_code == 403


def test_an_adoption_moves_to_a_new_phone_with_a_code_from_the_old_one(
    make_client, client, session, plant_id
) -> None:
    old = client
    old.headers["X-CSRF-Token"] = old.get("/api/session").json()["csrf_token"]
    old.post(f"/api/plants/{plant_id}/adoption", json={"nickname": "小李"})
    with make_client(app=old.app, csrf=True) as new:
        assert new.post(f"/api/plants/{plant_id}/adoption/transfer-code").status_code == 403
        issued = old.post(f"/api/plants/{plant_id}/adoption/transfer-code")
        assert issued.status_code == 201
        code = issued.json()["code"]
        assert len(code) == 8
        r = new.post(f"/api/plants/{plant_id}/adoption/claim", json={"code": "WRONG234"})
        assert r.status_code == 403
        r = new.post(f"/api/plants/{plant_id}/adoption/claim", json={"code": code.lower()})
        assert r.status_code == 200 and r.json()["mine"] is True and r.json()["adopter"] == "小李"
        assert (
            new.post(f"/api/plants/{plant_id}/care", json={"kind": "watering"}).status_code == 201
        )
        # the old phone is no longer the adopter's; the code is used up
        assert (
            old.post(f"/api/plants/{plant_id}/care", json={"kind": "watering"}).status_code == 403
        )
        r = old.post(f"/api/plants/{plant_id}/adoption/claim", json={"code": code})
        assert r.status_code == 403
        # a code expires
        late = new.post(f"/api/plants/{plant_id}/adoption/transfer-code").json()["code"]
        from renewmap.db.models import PlantAdoption

        adoption = session.scalar(select(PlantAdoption).where(PlantAdoption.plant_id == plant_id))
        adoption.transfer_expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.flush()
        assert (
            old.post(f"/api/plants/{plant_id}/adoption/claim", json={"code": late}).status_code
            == 403
        )


def test_printable_tags_carry_name_species_caption_and_the_cards_qr(
    client, plant_id, monkeypatch
) -> None:
    card = client.get(f"/api/plants/{plant_id}").json()
    name, species = card["name"], card["species"]["name_zh"]
    url = f"http://testserver/p/{plant_id}"
    svg = client.get(f"/p/{plant_id}/tag.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts[0] == name and texts[1].startswith(species) and texts[2] == "扫码认养/查看成长档案"
    # the SVG's QR modules are the card URL's
    cells = {
        (round(float(r.get("y")), 2), round(float(r.get("x")), 2)) for r in root.iter(f"{ns}rect")
    }
    matrix = segno_matrix(url)
    assert sum(map(sum, matrix)) == len(cells) - 1  # every dark module, and the frame
    pdf = client.get(f"/p/{plant_id}/tag.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    from pypdf import PdfReader

    raw = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    text = "".join(c for c in raw if c.isprintable() and not c.isspace())
    assert name in text and species in text and "扫码认养/查看成长档案" in text
    png = client.get(f"/p/{plant_id}/tag.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(png.content)).convert("L")
    assert img.size == (709, 1063)  # 60 × 90 mm at 300 dpi
    px = 300 / 25.4  # the QR code: 46 mm wide, 26 mm from the top, centred
    n = len(matrix)
    side = round(46 * px)
    left, top = round(img.width / 2 - side / 2), round(26 * px)
    read = [
        [
            img.getpixel((left + int((c + 0.5) * side / n), top + int((r + 0.5) * side / n))) < 128
            for c in range(n)
        ]
        for r in range(n)
    ]
    assert read == matrix
    english = client.get(f"/p/{plant_id}/tag.svg", params={"lang": "en"}).text
    assert "Scan to adopt it or see its growth record" in english
    assert client.get(f"/p/{plant_id}/tag.gif").status_code == 404
    # without a font for Chinese, PNG and PDF say what to install (503); SVG still works
    from renewmap import printing

    printing._font.cache_clear()
    monkeypatch.setenv("RENEWMAP_CJK_FONT", "/nonexistent/font.ttc")
    try:
        r = client.get(f"/p/{plant_id}/tag.pdf")
        assert r.status_code == 503 and r.json()["error"] == "font_missing"
        assert "RENEWMAP_CJK_FONT" in r.json()["message"]
        assert client.get(f"/p/{plant_id}/tag.svg").status_code == 200
    finally:
        printing._font.cache_clear()
