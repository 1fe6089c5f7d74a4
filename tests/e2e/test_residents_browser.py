"""Residents (issue 16) in Debian's Chromium on a phone (390×844), against the real app on each
database, with a real SMTP server and a real SMS gateway on loopback: the page says what it is
for and fits a small phone; suggestions show while placing (icon by category, colour by
status, a legend); a place is found by name and the pin placed and moved without a pointer;
who will handle it shows at once, and a warning outside the community; every resident task
is done with the keyboard alone (report with a category's questions, photos and consent to
messages; browse, +1, comment; follow; adopt and log care); the messages arrive with their
follow and stop links; browsing pages, sorts, searches, remembers +1s and shows an item in its
grid and back; the follow page's map, who acted, one form at a time."""

from __future__ import annotations

import email
import email.policy
import http.server
import io
import math
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from PIL import Image

from renewmap.devtools.e2e import app_server, free_port, thread_server
from renewmap.web.sitemap import STATUS_COLOURS
from tests.support.paths import DEMO_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DEMO = "310109010026"
PASSWORD = "a long enough password"
PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI}`));
document.addEventListener("rm:map", (e) => { window.__rmMap = e.detail; });
"""
MAP = "() => window.__rmMap !== undefined"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


# --- the world: the app on each database, an SMTP server, an SMS gateway ----------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    def wait_for(self, to: str, words: str, timeout_s: float = 30) -> email.message.EmailMessage:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for m in list(self.messages):
                if m["To"] == to and words in m.get_content():
                    return m
            time.sleep(0.1)
        raise AssertionError(f"no mail to {to} saying {words!r}")


class Gateway:
    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def wait_for(self, words: str, timeout_s: float = 30) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                for r in self.received:
                    if words in r["text"]:
                        return r
            time.sleep(0.1)
        raise AssertionError(f"no SMS saying {words!r}: {self.received}")


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[int, Inbox, str, Gateway]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    gateway = Gateway()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            from urllib.parse import parse_qsl

            with gateway.lock:
                gateway.received.append(dict(parse_qsl(body.decode())))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    try:
        with thread_server(Receiver) as sms:
            yield port, inbox, sms, gateway
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def world(backend, database_url_factory, tmp_path_factory, receivers) -> Iterator[dict[str, Any]]:
    """The app on this test's database, its messages going to the loopback receivers."""
    port, inbox, sms, gateway = receivers
    url = database_url_factory()
    log = tmp_path_factory.mktemp("residents") / "server.log"
    env = {
        "RENEWMAP_NOTIFY_SMTP_HOST": "127.0.0.1",
        "RENEWMAP_NOTIFY_SMTP_PORT": str(port),
        "RENEWMAP_NOTIFY_SMS_URL": sms + "/sms",
        "RENEWMAP_NOTIFY_SMS_SECRET": "gateway-key",
        "RENEWMAP_NOTIFY_SMS_FORMAT": "form",
        "RENEWMAP_NOTIFY_POLL_S": "0.3",
        "RENEWMAP_RATE_POSTS": "200",
        "RENEWMAP_RATE_INTERACTIONS": "500",
        "RENEWMAP_RATE_LOGINS": "100",
        "RENEWMAP_SECRET_KEY": "residents-browser-secret",
    }
    with app_server(url, log, demo_dir=DEMO_DIR, env=env) as base:
        import os
        import subprocess
        import sys

        cli_env = {**os.environ, **env, "RENEWMAP_DATABASE_URL": url, "RENEWMAP_ENV": "dev"}
        subprocess.run(
            [sys.executable, "-m", "renewmap.cli", "user", "add", "lead7", "--password-stdin",
             "--display-name", "王秘密", "--role", f"grid_lead={DEMO}/G07"],
            input=PASSWORD + "\n", text=True, env=cli_env, check=True, capture_output=True,
        )  # fmt: skip
        yield {"base": base, "inbox": inbox, "gateway": gateway, "backend": backend}


@pytest.fixture
def phone(browser, world, request):
    """A phone's page; JavaScript errors, CSP violations, failed loads and requests leaving the
    intranet fail the test (``@pytest.mark.allow_console("…")``: a load the test expects to
    fail, such as an honest 422)."""
    marker = request.node.get_closest_marker("allow_console")
    allowed = tuple(marker.args) if marker else ()
    context = browser.new_context(**PHONE)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=world["base"])
    context.set_default_timeout(20_000)
    context.add_init_script(PROBE)
    problems: list[str] = []
    context.route(
        "**/*",
        lambda r: (
            r.continue_()
            if r.request.url.startswith((world["base"], "blob:", "data:"))
            else (problems.append(r.request.url), r.abort())
        ),
    )
    page = context.new_page()
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not any(a in m.text for a in allowed)
            else None
        ),
    )
    yield page
    problems.extend(page.evaluate("window.__csp || []"))
    context.close()
    assert problems == [], problems


def jpeg(colour: tuple[int, int, int] = (30, 90, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, format="JPEG")
    return out.getvalue()


def tab_to(page: Any, selector: str, limit: int = 200) -> None:
    """Press Tab (only the keyboard) until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def choose_with_keyboard(page: Any, selector: str, files: list[dict[str, Any]]) -> None:
    """Tab to a file input, open its chooser with Space (the keyboard alone) and choose
    ``files``. Playwright asks Chromium to intercept choosers when the wait starts, by a DevTools
    message the renderer may handle after a key press already queued (input goes first on a busy
    CPU): the chooser would then open unseen. The page's answer to a question on the same
    session (is the focus still on the input?) comes after that message is handled."""
    tab_to(page, selector)
    with page.expect_file_chooser() as chooser:
        assert page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        )
        page.keyboard.press("Space")
    chooser.value.set_files(files)


def staff_api(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    r = c.post("/api/staff/session", json={"username": "lead7", "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = c.cookies["rm_csrf"]
    return c


def distance_m(a: dict[str, float], b: dict[str, float]) -> float:
    dy = (a["lat"] - b["lat"]) * 111_320
    dx = (a["lng"] - b["lng"]) * 111_320 * math.cos(math.radians(a["lat"]))
    return math.hypot(dx, dy)


BROKEN_WORDS = """() => {
  const out = [];
  const cjk = /[\u4e00-\u9fff]/;
  const labels = ".rm-header nav a, .rm-header small, .rm-tabs button, .rm-purpose";
  for (const el of document.querySelectorAll(labels)) {
    for (const node of [...el.childNodes].filter((n) => n.nodeType === 3)) {
      const text = node.textContent;
      const sentence = el.matches(".rm-purpose");
      if (sentence && cjk.test(text)) continue;
      const words = cjk.test(text) ? [text.trim()] : text.split(/\\s+/).filter(Boolean);
      for (const w of words) {
        const start = text.indexOf(w);
        if (start < 0 || !w) continue;
        const r = document.createRange();
        r.setStart(node, start);
        r.setEnd(node, start + w.length);
        const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
        if (tops.size > 1) out.push(w);
      }
    }
  }
  return out;
}"""
PIN = """() => { let ll = null; window.__rmMap.eachLayer((l) => {
  if (l.options && l.options.draggable && l.getLatLng) ll = l.getLatLng(); });
  return ll && {lat: ll.lat, lng: ll.lng}; }"""


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_page_says_what_it_is_for_and_fits_a_small_phone(browser, world, lang) -> None:
    context = browser.new_context(**{**PHONE, "viewport": {"width": 360, "height": 740}})
    page = context.new_page()
    page.goto(f"{world['base']}/c/{DEMO}?lang={lang}")
    page.wait_for_function("() => document.querySelector('.leaflet-container')")
    assert page.text_content("h1") == "巴林居委会"
    purpose = page.text_content(".rm-purpose")
    assert ("公共空间" in purpose) if lang == "zh_CN" else ("shared space" in purpose)
    # nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # the app's own words in the header and tabs never break inside a word: every word of
    # theirs lies on one line (a Chinese label is one word; a Chinese sentence breaks between
    # characters, as Chinese does)
    broken = page.evaluate(BROKEN_WORDS)
    assert broken == []
    context.close()


def test_suggestions_show_while_placing_with_a_legend_and_a_metric_scale(phone, world) -> None:
    page = phone
    page.goto(f"{world['base']}/c/{DEMO}")
    page.wait_for_function(MAP, polling=100)
    # the legend names every status in its colour, as the markers are drawn
    legend = page.evaluate(
        """() => [...document.querySelectorAll('.rm-legend li')].map((li) => [li.textContent.trim(),
           getComputedStyle(li.querySelector('.rm-dot')).backgroundColor])"""
    )
    assert [label for label, _ in legend] == [
        "新提交",
        "已重新打开",
        "已受理",
        "处理中",
        "已办结",
        "未采纳",
        "重复",
    ]

    def rgb(hex_colour: str) -> str:
        r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgb({r}, {g}, {b})"

    assert [c for _, c in legend] == [rgb(c) for c in STATUS_COLOURS.values()]
    # the suggestions already made are on the map while placing (the suggest tab is open)
    assert not page.is_hidden("#rm-suggest")
    page.wait_for_selector(".leaflet-marker-icon.rm-sug, .marker-cluster", state="attached")
    # close in, single ones: the category's icon in a ring of the status's colour
    page.evaluate("() => window.__rmMap.setView([31.2890, 121.4905], 20, {animate: false})")
    page.wait_for_selector(".leaflet-marker-icon.rm-sug", state="attached")
    ring = page.evaluate(
        """() => { const m = document.querySelector('.leaflet-marker-icon.rm-sug');
           const status = [...m.classList].find((c) => c.startsWith('rm-s-')).slice(5);
           return [status, getComputedStyle(m).borderTopColor, m.textContent, m.title]; }"""
    )
    assert ring[1] == rgb(STATUS_COLOURS[ring[0]])
    assert ring[2].strip() and ring[3]  # the icon, and a title naming it
    # the scale bar is metric only
    scales = page.locator(".leaflet-control-scale-line").all_text_contents()
    assert len(scales) == 1 and scales[0].strip().endswith(("m", "km"))


def test_building_numbers_do_not_collide_at_the_opening_zoom(phone, world) -> None:
    page = phone
    page.goto(f"{world['base']}/c/{DEMO}")
    page.wait_for_function(MAP, polling=100)
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('.rm-label-icon:not([hidden]) .rm-label')]
             .map((e) => { const r = e.getBoundingClientRect();
               return [r.left, r.top, r.right, r.bottom, e.textContent]; })"""
    )
    assert len(boxes) >= 5
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            assert not overlap, (a, b)
    # close in, every building has its number
    page.evaluate("() => window.__rmMap.setZoom(20, {animate: false})")
    page.evaluate("() => window.__rmMap.setView([31.2887, 121.4920], 20, {animate: false})")
    shown = page.evaluate("() => document.querySelectorAll('.rm-label-icon:not([hidden])').length")
    assert shown > len(boxes) or shown >= 5


def test_a_place_is_found_and_the_pin_placed_and_moved_without_a_pointer(phone, world) -> None:
    page = phone
    page.goto(f"{world['base']}/c/{DEMO}")
    page.wait_for_function(MAP, polling=100)
    tab_to(page, "#rm-find-q")
    page.keyboard.type("17号楼")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rm-places .rm-place")
    first = page.locator("#rm-places .rm-place").first
    assert "17号楼" in first.text_content()
    place = {
        "lat": float(first.get_attribute("data-lat")),
        "lng": float(first.get_attribute("data-lon")),
    }
    tab_to(page, "#rm-places .rm-place")  # the first place found
    assert page.evaluate("document.activeElement.dataset.name") == "17号楼"
    page.keyboard.press("Enter")
    page.wait_for_function(PIN, polling=100)
    assert distance_m(page.evaluate(PIN), place) < 0.5
    # who will handle it: the server's own routing of that point, said at once
    route = httpx.post(
        f"{world['base']}/api/route",
        json={"type": "Point", "coordinates": [place["lng"], place["lat"]]},
    ).json()
    page.wait_for_selector("#rm-owner-preview")
    assert page.text_content("#rm-owner-preview") == route["message"]
    assert "天内受理" in page.text_content("#rm-where")
    # the focus is on the nudges: → moves the pin 5 m east
    assert page.evaluate("document.activeElement.closest('#rm-nudge') !== null")
    before = page.evaluate(PIN)
    east = page.locator("#rm-nudge button[data-move='1,0']")
    east.focus()
    page.keyboard.press("Enter")
    after = page.evaluate(PIN)
    assert abs(distance_m(before, after) - 5) < 0.2 and after["lng"] > before["lng"]
    # the pin itself moves 1 m a key press, and the map does not pan under it
    page.evaluate("() => document.querySelector('.leaflet-marker-draggable').focus()")
    centre = page.evaluate("() => window.__rmMap.getCenter()")
    page.keyboard.press("ArrowUp")
    moved = page.evaluate(PIN)
    assert abs(distance_m(after, moved) - 1) < 0.1 and moved["lat"] > after["lat"]
    assert page.evaluate("() => window.__rmMap.getCenter()") == centre


def test_tab_leaves_the_map_and_a_focused_marker_is_not_redrawn(phone, world) -> None:
    """Leaflet pans to a marker the keyboard focuses, and a moved view asks for its layer: the
    markers are not redrawn under the focus (it would fall to the page, trapping Tab in the
    map) but once the focus leaves them."""
    page = phone
    page.goto(f"{world['base']}/c/{DEMO}")
    page.wait_for_function(MAP, polling=100)
    page.evaluate("() => window.__rmMap.setView([31.2890, 121.4905], 20, {animate: false})")
    page.wait_for_selector(".leaflet-marker-icon.rm-sug")
    tab_to(page, ".leaflet-marker-icon.rm-sug")
    page.evaluate("() => { document.activeElement.dataset.probe = 'focused'; }")
    page.evaluate("() => window.__rmMap.panBy([2, 0], {animate: false})")
    # the new view's layer came while a marker has the focus: it waits, the focus stays
    page.wait_for_selector("#rm-map[aria-busy=true]", state="attached")
    assert page.evaluate("document.activeElement.dataset.probe") == "focused"
    # Tab goes on past the markers, out of the map; then the layer is drawn
    tab_to(page, "#tab-suggest")
    page.wait_for_function(
        "() => !document.querySelector('#rm-map').hasAttribute('aria-busy')"
        " && document.querySelector('[data-probe]') === null"
        " && document.querySelector('.leaflet-marker-icon.rm-sug') !== null",
        polling=100,
    )
    assert page.evaluate("document.activeElement.id") == "tab-suggest"


@pytest.mark.allow_console("status of 422")
def test_a_pin_outside_the_community_is_warned_at_once(phone, world) -> None:
    page = phone
    page.goto(f"{world['base']}/c/{DEMO}")
    page.wait_for_function(MAP, polling=100)
    page.evaluate("() => window.__rmMap.setView([31.30, 121.52], 17, {animate: false})")
    page.locator("#rm-centre").tap()
    page.wait_for_selector(".rm-warn")
    assert "不在社区范围内" in page.text_content(".rm-warn")
    # submitting says so too, and nothing is posted
    posts: list[str] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.url)
            if r.method == "POST" and r.url.endswith("/api/suggestions")
            else None
        ),
    )
    page.locator(".rm-cat[data-code=other]").tap()
    page.fill("#rm-title", "外面")
    page.locator("#rm-submit").tap()
    page.wait_for_function("() => document.querySelector('#rm-error').textContent !== ''")
    assert "不在社区范围内" in page.text_content("#rm-error") and posts == []


def test_reporting_with_the_keyboard_alone_and_being_told_of_progress(phone, world) -> None:
    page = phone
    base = world["base"]
    page.goto(f"{base}/c/{DEMO}")
    page.wait_for_function(MAP, polling=100)
    tab_to(page, "#rm-find-q")
    page.keyboard.type("18号楼")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rm-places .rm-place")
    tab_to(page, "#rm-places .rm-place")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rm-owner-preview")
    # the category: pipes, which asks which building (filled from the place found) and what
    tab_to(page, ".rm-cat[data-code=pipes_drainage]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rm-q-building")
    assert page.input_value("#rm-q-building") == "18号楼"
    tab_to(page, "#rm-q-problem")
    page.keyboard.press("ArrowDown")  # the first choice: a leaking pipe
    tab_to(page, "#rm-title")
    page.keyboard.type("18号楼下水管漏水")
    # photos: four chosen, three kept with previews, the limit said; one removed
    choose_with_keyboard(
        page,
        "#rm-photos",
        [
            {"name": f"p{i}.jpg", "mimeType": "image/jpeg", "buffer": jpeg((20 * i, 90, 200))}
            for i in range(4)
        ],
    )
    page.wait_for_function("() => document.querySelectorAll('#rm-photo-list img').length >= 3")
    assert page.locator("#rm-photo-list img").count() == 3
    assert "最多 3 张照片" in page.text_content("#rm-error")
    assert "达到上限" in page.text_content("#rm-photo-note")
    # the previews show the photos (decoded as the browser has time)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#rm-photo-list img')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    # the add button hid (full): the focus stayed in the box, on the last photo's remove button
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "删除照片 3"
    page.keyboard.press("Enter")
    assert page.locator("#rm-photo-list img").count() == 2
    # contact and consent to be told of progress
    tab_to(page, "#rm-phone")
    page.keyboard.type("13900001111")
    tab_to(page, "#rm-email")
    page.keyboard.type("zhang@example.org")
    tab_to(page, "#rm-notify")
    page.keyboard.press("Space")
    tab_to(page, "#rm-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rm-receipt:not([hidden])")
    code = page.text_content("#rm-receipt-title").rsplit("：", 1)[1]
    assert page.text_content("#rm-owner").startswith("将由 ")
    assert "天内受理" in page.text_content("#rm-expected")
    assert "短信" in page.text_content("#rm-told") and "邮件" in page.text_content("#rm-told")
    # copy the link, and its QR code to save
    follow = page.text_content("#rm-follow")
    page.locator("#rm-copy").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#rm-copied').textContent !== ''")
    assert page.evaluate("navigator.clipboard.readText()") == follow
    page.wait_for_function("() => document.querySelector('#rm-qr').naturalWidth > 0")
    assert page.get_attribute("#rm-qr-save", "download") == f"{code}.png"
    # what was stored: the answers, two photos
    view = httpx.get(f"{base}/api/receipts/{code}", params={"token": follow.split("t=")[1]}).json()
    assert len(view["photos"]) == 2 and view["notify"] == ["sms", "email"]
    assert view["your_email"] == "zhang@example.org"
    # grid 7's lead accepts and replies: the resident hears of each, with the links
    lead = staff_api(base)
    detail = lead.get(f"/api/staff/requests/{view['id']}").json()
    assert detail["properties"]["answers"] == {"building": "18号楼", "problem": "leak"}
    assert detail["properties"]["email"] == "zhang@example.org"
    r = lead.post(
        f"/api/staff/requests/{view['id']}/actions",
        json={"action": "accept", "version": detail["properties"]["version"]},
    )
    assert r.status_code == 200, r.text
    mail = world["inbox"].wait_for("zhang@example.org", code)
    text = mail.get_content()
    assert "已由第7网格 网格长受理" in text
    assert follow in text and f"/r/{code}/stop?s=" in text and "王秘密" not in text
    sms = world["gateway"].wait_for(code)
    assert sms["phone"] == "13900001111" and follow in sms["text"] and "sign" in sms
    # the follow page: on a map, who acted, one labelled form
    page.goto(follow)
    page.wait_for_function(MAP, polling=100)
    assert page.locator("#rm-map .leaflet-interactive, #rm-map canvas").count() > 0
    assert "第7网格 网格长" in page.text_content("#rm-history")
    forms = page.evaluate(
        """() => [...document.querySelectorAll('main form')]
             .filter((f) => !f.hidden && f.querySelector('textarea'))
             .map((f) => [...f.querySelectorAll('textarea')].map((t) => t.labels.length))"""
    )
    assert forms == [[1]]
    # adding details with the keyboard
    tab_to(page, "#rm-details-text")
    page.keyboard.type("晚上漏得更厉害")
    tab_to(page, "#rm-details button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#rm-history').textContent.includes('晚上漏得更厉害')"
    )
    # the stop link, from the e-mail, without signing in: confirm, and it is done
    stop = re.search(r"https?://\S+/stop\?s=[\w-]+", text).group(0)
    page.goto(stop)
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rm-stopped")
    assert (
        httpx.get(f"{base}/api/receipts/{code}", params={"token": follow.split("t=")[1]}).json()[
            "notify"
        ]
        == []
    )


def test_a_resolved_suggestion_offers_one_form_at_a_time(phone, world) -> None:
    base = world["base"]
    page = phone
    page.goto(f"{base}/c/{DEMO}")
    page.wait_for_function(MAP, polling=100)
    created = page.evaluate(
        """async () => { const s = await (await fetch('/api/session')).json();
          const fd = new FormData(); fd.append('category', 'sanitation');
          fd.append('title', '垃圾桶坏了');
          fd.append('lon', '121.4905'); fd.append('lat', '31.2890');
          return (await fetch('/api/suggestions', {method: 'POST', body: fd,
            headers: {'X-CSRF-Token': s.csrf_token}})).json(); }"""
    )
    lead = staff_api(base)
    for action, note in (("accept", None), ("resolve", "已经换了新桶")):
        version = lead.get(f"/api/staff/requests/{created['id']}").json()["properties"]["version"]
        r = lead.post(
            f"/api/staff/requests/{created['id']}/actions",
            json={"action": action, "version": version, "note": note},
        )
        assert r.status_code == 200, r.text
    page.goto(base + created["follow_url"])
    visible = (
        "() => [...document.querySelectorAll('main form')]"
        ".filter((f) => !f.hidden).map((f) => f.id)"
    )
    assert page.evaluate(visible) == ["rm-reopen"]
    assert page.locator("#rm-reopen-note").evaluate("(t) => t.labels.length") == 1
    tab_to(page, "#rm-swap-form")
    page.keyboard.press("Enter")
    assert page.evaluate(visible) == ["rm-details"]
    assert page.evaluate("document.activeElement.id") == "rm-details-text"


def test_browsing_pages_sorts_searches_and_remembers_supports(phone, world) -> None:
    page = phone
    base = world["base"]
    page.goto(f"{base}/c/{DEMO}#browse")
    page.wait_for_function(
        "() => document.querySelectorAll('#rm-list > li').length > 0", polling=100
    )
    assert page.locator("#rm-list > li").count() == 20  # a page at a time
    # each item: its status and date
    first = page.locator("#rm-list > li").first
    assert first.locator(".rm-badge").count() == 1 and first.locator("time").count() == 1
    assert first.locator("time").text_content()[:2] == "20"
    page.locator("#rm-more").tap()
    page.wait_for_function(
        "() => document.querySelectorAll('#rm-list > li').length === 40", polling=100
    )
    # a title search
    page.fill("#rm-f-q", "路灯")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#rm-list > li strong')]"
        ".every((s) => s.textContent.includes('路灯'))"
        " && document.querySelectorAll('#rm-list > li').length > 0",
        polling=100,
    )
    page.fill("#rm-f-q", "")
    with page.expect_response(lambda r: "sort=supports" in r.url and "q=" not in r.url):
        page.select_option("#rm-f-sort", "supports")
    page.wait_for_function(
        "() => document.querySelectorAll('#rm-list > li').length === 20", polling=100
    )
    counts = [int(t) for t in page.locator("#rm-list > li .rm-support .rm-n").all_text_contents()]
    assert counts == sorted(counts, reverse=True)  # most supported first
    # +1 with the keyboard; after a reload the list still says it was given from here
    target = page.locator("#rm-list > li").nth(3)
    item_id = target.get_attribute("data-id")
    button = f"#rm-list > li[data-id='{item_id}'] .rm-support"
    before = int(page.text_content(f"{button} .rm-n"))
    tab_to(page, button)
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => document.querySelector(\"{button}\").getAttribute('aria-pressed') === 'true'"
    )
    title = page.text_content(f"#rm-list > li[data-id='{item_id}'] strong")
    page.reload()
    page.wait_for_function(
        "() => document.querySelectorAll('#rm-list > li').length > 0", polling=100
    )
    page.fill("#rm-f-q", title)
    page.wait_for_function(
        "(t) => { const s = [...document.querySelectorAll('#rm-list > li strong')];"
        " return s.length > 0 && s.every((e) => e.textContent === t); }",
        arg=title,
        polling=100,
    )
    assert page.get_attribute(button, "aria-pressed") == "true" and page.is_disabled(button)
    assert int(page.text_content(f"{button} .rm-n")) == before + 1
    # a comment with the keyboard, shown with its time
    item = page.locator(f"#rm-list > li[data-id='{item_id}']")
    tab_to(page, f"#rm-list > li[data-id='{item_id}'] summary")
    page.keyboard.press("Enter")
    tab_to(page, f"#rm-c-{item_id}")
    page.keyboard.type("同意，这里需要改")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([id, words]) => document.querySelector(`#rm-list > li[data-id='${id}'] .rm-comments`)"
        ".textContent.includes(words)",
        arg=[item_id, "同意，这里需要改"],
    )
    assert item.locator(".rm-comments li time").first.text_content()[:2] == "20"
    # "show on map": the item in its grid (the grid outlined and in view), then back to the list
    scroll = page.evaluate("window.scrollY")
    locate = f"#rm-list > li[data-id='{item_id}'] .rm-locate"
    listed = page.locator("#rm-list > li").count()
    page.locator(locate).focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup-content")
    grid_in_view = page.evaluate(
        """() => { const m = window.__rmMap; let outlined = null;
             m.eachLayer((l) => { if (l.feature && l.options.weight === 3 && !l.options.dashArray
               && l.feature.properties.code) outlined = l; });
             return outlined !== null
               && m.getBounds().pad(0.01).contains(outlined.getBounds()); }"""
    )
    assert grid_in_view
    page.wait_for_timeout(600)  # past the map's 250 ms wait before a new view's list
    assert page.locator("#rm-list > li").count() == listed  # the list stays as it was
    assert page.evaluate("document.activeElement.id") == "rm-back"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.classList.contains('rm-locate')")
    assert page.evaluate("document.activeElement.closest('li').dataset.id") == item_id
    box = page.locator(locate).bounding_box()
    assert 0 <= box["y"] <= 844, (box, scroll, page.evaluate("window.scrollY"))


def test_adopting_and_logging_care_with_the_keyboard(phone, world) -> None:
    page = phone
    base = world["base"]
    page.goto(f"{base}/c/{DEMO}/sites/S01")
    plants = page.evaluate("JSON.parse(document.getElementById('rm-config').textContent).plants")
    free = next(p for p in plants if p["open"])
    page.goto(base + free["url"])
    assert page.locator("#rm-care-form").count() == 0
    tab_to(page, "#rm-nick")
    page.keyboard.type("小张")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#rm-adopter').textContent === '小张'")
    tab_to(page, "#rm-care-kind")
    page.keyboard.press("ArrowDown")  # 浇水 → 修剪
    page.keyboard.press("ArrowUp")  # back to 浇水
    tab_to(page, "#rm-care-note")
    page.keyboard.type("早上浇的")
    choose_with_keyboard(
        page,
        "#rm-care-photo",
        [{"name": "w.jpg", "mimeType": "image/jpeg", "buffer": jpeg((40, 160, 60))}],
    )
    tab_to(page, "#rm-care-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#rm-care').textContent.includes('早上浇的')"
    )
    entry = page.locator("#rm-care li", has_text="早上浇的")
    assert "浇水" in entry.text_content() and entry.locator("img").count() == 1
    assert "S01-P" not in page.content().split("<script", 1)[0]
