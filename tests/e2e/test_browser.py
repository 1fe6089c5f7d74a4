"""End to end in real headless Chromium (Debian's /usr/bin/chromium via Playwright; no browser
download): a resident on a phone pins, photographs, submits and follows a suggestion on the
demo community, then finds it on the public map and list. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import http.server
import io
import math
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image, ImageDraw

from renewmap.devtools.e2e import app_server, free_port, thread_server
from renewmap.spatial.crs import wgs84_to_gcj02_xy
from tests.support.paths import DEMO_DIR, ROOT

ARTIFACTS = ROOT / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.slow]
G07_POINT = (121.4905, 31.2890)  # routes to 第7网格 · 第四网格党支部 (see the API tests)


# Installed before any page script: records Content-Security-Policy violations and keeps the
# map each page draws (the pages announce it with an "rm:map" event; they set no globals).
PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
document.addEventListener("rm:map", (e) => { window.__rmMap = e.detail; });
"""
MAP_READY = "() => window.__rmMap !== undefined"
CONFIG = "JSON.parse(document.getElementById('rm-config').textContent)"


def csp_violations(page) -> list[str]:
    """The CSP violations the page has seen (pages that were navigated away from are gone)."""
    return page.evaluate("window.__csp || []")


@pytest.fixture(scope="module")
def e2e_db(database_url_factory) -> str:
    """The server's database on this test's backend (the server loads the demo into it)."""
    return database_url_factory()


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, to: str, timeout_s: float = 30) -> email.message.EmailMessage:
        """The first message to ``to``, as soon as it arrives."""
        with self.arrived:
            found = self.arrived.wait_for(
                lambda: next((m for m in self.messages if m["To"] == to), None), timeout_s
            )
        if found is None:
            raise AssertionError(f"no mail to {to}; got {[m['To'] for m in self.messages]}")
        return found


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def server(e2e_db: str, mailbox, tmp_path_factory) -> Iterator[str]:
    """The real app (uvicorn, the test's backend, demo loaded) on a free loopback port, sending
    its notifications to the loopback mailbox."""
    log = tmp_path_factory.mktemp("e2e") / "server.log"
    with app_server(e2e_db, log, demo_dir=DEMO_DIR, env=_server_env(mailbox)) as base:
        yield base


def _server_env(mailbox) -> dict[str, str]:
    return {
        "RENEWMAP_NOTIFY_SMTP_HOST": "127.0.0.1",
        "RENEWMAP_NOTIFY_SMTP_PORT": str(mailbox[0]),
        "RENEWMAP_NOTIFY_POLL_S": "0.5",
        "RENEWMAP_RATE_LOGINS": "100",  # the tests sign in more often than people do
    }


@pytest.fixture
def phone(browser, server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    # The app must work offline: any request leaving the machine fails the test.
    external: list[str] = []
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(server)
            else (external.append(route.request.url), route.abort())
        ),
    )
    context.set_default_timeout(20_000)  # a broken page fails fast instead of hanging
    context.add_init_script(PROBE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A failed load (a 404 asset, the favicon included) and a CSP violation are logged as
    # console errors; the probe records the violations too.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    errors.extend(csp_violations(page))
    context.close()
    assert external == [], f"requests left the intranet: {external}"
    assert errors == [], f"JavaScript errors or CSP violations: {errors}"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # what the phone shows


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 90, 200)).save(out, format="JPEG")
    return out.getvalue()


def screen_point(page, lon: float, lat: float) -> dict[str, float]:
    return page.evaluate(
        "([lon, lat]) => { const p = window.__rmMap.latLngToContainerPoint([lat, lon]);"
        " return {x: p.x, y: p.y}; }",
        [lon, lat],
    )


def test_resident_pins_submits_and_follows(phone, server) -> None:
    page = phone
    page.goto(f"{server}/c/310109010026")
    page.wait_for_function(MAP_READY, polling=100)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    shot(page, "01-open")
    # close in (the suggestions already made are on the map, clustered at the opening zoom:
    # a tap on one opens it), then tap the place
    page.evaluate(
        "([lon, lat]) => window.__rmMap.setView([lat, lon], 20, {animate: false})", list(G07_POINT)
    )
    page.locator("#rm-map").tap(position=screen_point(page, *G07_POINT))
    page.wait_for_selector(".leaflet-marker-draggable")
    page.get_by_role("button", name="照明").tap()
    page.fill("#rm-title", "3号楼前路灯不亮")
    page.fill("#rm-description", "晚上很黑，老人走路不安全")
    page.set_input_files(
        "#rm-photos", [{"name": "lamp.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    page.fill("#rm-nickname", "王阿姨")
    page.fill("#rm-phone", "13800000000")
    shot(page, "02-form")
    page.get_by_role("button", name="提交").tap()
    page.wait_for_selector("#rm-receipt:not([hidden])")
    receipt = page.text_content("#rm-receipt-title")
    assert receipt.startswith("提交成功，回执号：RM")
    assert page.text_content("#rm-owner") == "将由 第7网格 · 第四网格党支部 处理"
    shot(page, "03-receipt")
    follow = page.get_attribute("#rm-follow", "href")
    code = receipt.rsplit("：", 1)[1]

    # the private page: status and history, no one else's data
    page.goto(server + follow)
    assert page.text_content("#rm-title") == "3号楼前路灯不亮"
    assert page.text_content("#rm-status") == "新提交"
    assert "已分派" in page.text_content("#rm-history")
    shot(page, "04-follow")

    # browse: the map and the list show it (the list is the text alternative)
    page.goto(f"{server}/c/310109010026#browse")
    page.wait_for_function("() => document.querySelectorAll('#rm-list li').length > 0", polling=100)
    page.select_option("#rm-f-grid", "G07")
    # the filtered list has replaced the first one (which showed it too, among other grids')
    page.wait_for_function(
        "() => { const items = [...document.querySelectorAll('#rm-list li')];"
        " return items.length > 0 && items.every(e => e.textContent.includes('第7网格'))"
        " && items.some(e => e.querySelector('strong').textContent === '3号楼前路灯不亮'); }",
        polling=100,
    )
    items = page.locator("#rm-list li").all_text_contents()
    mine = [t for t in items if "3号楼前路灯不亮" in t]
    assert len(mine) == 1 and "照明" in mine[0] and "第7网格" in mine[0]
    assert "13800000000" not in page.content() and "王阿姨" not in page.content()
    # comment on it from the list
    item = page.locator("#rm-list li", has_text="3号楼前路灯不亮")
    item.locator("summary").tap()
    item.locator("input[name=body]").fill("我也觉得太黑了")
    item.get_by_role("button", name="发送").tap()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.rm-comments li')]"
        ".some(e => e.textContent.includes('我也觉得太黑了'))",
        polling=100,
    )
    assert item.locator(".rm-c").text_content() == "1"
    # from the list to the map: the map centres on it and names it
    item.get_by_role("button", name="在地图上看").tap()
    page.wait_for_selector(".leaflet-popup-content", state="visible")
    assert "3号楼前路灯不亮" in page.text_content(".leaflet-popup-content")
    # close in, the map layer is individual suggestions, and this one has its own marker
    page.wait_for_selector('.leaflet-marker-icon[title^="3号楼前路灯不亮"]', state="attached")
    shot(page, "05-browse")
    assert code.startswith("RM")


def test_user_text_is_shown_as_text(phone, server) -> None:
    """A <script> title posted through the API is displayed literally, never executed."""
    page = phone
    page.goto(f"{server}/c/310109010026")
    page.wait_for_function(MAP_READY, polling=100)
    evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    status = page.evaluate(
        """async ([evil, lon, lat]) => {
            const s = await (await fetch('/api/session')).json();
            const fd = new FormData();
            fd.append('category', 'other'); fd.append('title', evil);
            fd.append('lon', lon); fd.append('lat', lat);
            const r = await fetch('/api/suggestions', {method: 'POST', body: fd,
              headers: {'X-CSRF-Token': s.csrf_token}});
            return r.status; }""",
        [evil, *G07_POINT],
    )
    assert status == 201
    page.get_by_role("tab", name="看建议").tap()
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('#rm-list li strong')]"
        ".some(e => e.textContent === t)",
        arg=evil,
        polling=100,
    )
    assert page.evaluate("window.__xss") is None
    shot(page, "06-escaped")


def test_english_switch(phone, server) -> None:
    page = phone
    page.goto(f"{server}/c/310109010026?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("tab", name="Suggest").is_visible()
    page.goto(f"{server}/c/310109010026")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "en"


def test_opening_on_browse_asks_for_the_view_once_and_early(phone, server) -> None:
    """The first view's map layer and list are requested before the page has loaded
    (DOMContentLoaded): resident.js asks as soon as the map's view is set, before it draws the
    site plan, and takes those answers instead of asking again."""
    page = phone
    calls: list[str] = []
    api = re.compile(r"/api/communities/310109010026/suggestions(/map)?\?")
    page.on("request", lambda r: calls.append(r.url) if api.search(r.url) else None)
    page.goto(f"{server}/c/310109010026#browse")
    page.wait_for_function("() => document.querySelectorAll('#rm-list li').length > 0", polling=100)
    page.wait_for_selector(".leaflet-marker-pane .marker-cluster, .leaflet-marker-pane img")
    # nothing more is asked for: the network stays idle (500 ms, past the map's 250 ms
    # moveend debounce)
    page.wait_for_load_state("networkidle")
    assert sorted("/map?" in u for u in calls) == [False, True], calls
    early = page.evaluate(
        """() => {
          const dcl = performance.getEntriesByType('navigation')[0].domContentLoadedEventStart;
          return performance.getEntriesByType('resource')
            .filter((e) => e.name.includes('/suggestions'))
            .map((e) => e.startTime < dcl);
        }"""
    )
    assert early == [True, True]


def _tile_pixel(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Web Mercator global pixel of a point at zoom z (256-pixel tiles)."""
    n = 256 * 2**z
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2
    return (lon + 180) / 360 * n, y * n


def _marked_tiles(target: tuple[float, float], requested: list[str]) -> type:
    """Tiles that are white except a red 13×13 square where ``target`` (lon, lat) falls."""

    class Tiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            m = re.fullmatch(r"/(\d+)/(\d+)/(\d+)\.png", self.path)
            if not m:
                self.send_error(404)
                return
            requested.append(self.path)
            z, x, y = map(int, m.groups())
            px, py = _tile_pixel(*target, z)
            cx, cy = px - x * 256, py - y * 256
            img = Image.new("RGB", (256, 256), (255, 255, 255))
            ImageDraw.Draw(img).rectangle((cx - 6, cy - 6, cx + 6, cy + 6), fill=(255, 0, 0))
            out = io.BytesIO()
            img.save(out, format="PNG")
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(out.getvalue())))
            self.end_headers()
            self.wfile.write(out.getvalue())

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Tiles


def test_gcj02_basemap_lines_up_with_wgs84_data(browser, database_url_factory, tmp_path) -> None:
    """A Chinese (GCJ-02) basemap, configured as an option, is drawn under the WGS84 site plan
    where it belongs: a mark the tile server draws at the GCJ-02 position of a place shows on
    screen exactly at that place's WGS84 position (about 480 m away in GCJ-02 terms)."""
    lon, lat = G07_POINT
    glon, glat = (float(v[0]) for v in wgs84_to_gcj02_xy(np.array([lon]), np.array([lat])))
    assert 300 < math.hypot((glon - lon) * 95_000, (glat - lat) * 111_000) < 700
    requested: list[str] = []
    tiles_env = {
        "RENEWMAP_TILES_CRS": "gcj02",
        "RENEWMAP_TILES_ATTRIBUTION": "测试底图 test tiles",
        "RENEWMAP_TILES_MAX_ZOOM": "18",
    }
    with thread_server(_marked_tiles((glon, glat), requested)) as tiles:
        tiles_env["RENEWMAP_TILES_URL"] = tiles + "/{z}/{x}/{y}.png"
        with app_server(
            database_url_factory(), tmp_path / "server.log", demo_dir=DEMO_DIR, env=tiles_env
        ) as app:
            context = browser.new_context(viewport={"width": 500, "height": 900})
            context.add_init_script(PROBE)
            context.set_default_timeout(20_000)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{app}/c/310109010026")
            page.wait_for_function(MAP_READY, polling=100)
            page.evaluate(
                "([lat, lon]) => window.__rmMap.setView([lat, lon], 18, {animate: false})",
                [lat, lon],
            )
            # every tile loaded and faded in (Leaflet fades tiles in over 200 ms)
            page.wait_for_function(
                "() => { const t = [...document.querySelectorAll('img.leaflet-tile')];"
                " return t.length > 0 && t.every((i) => i.complete && i.naturalWidth > 0"
                " && getComputedStyle(i).opacity === '1'); }",
                polling=100,
            )
            here = screen_point(page, lon, lat)
            box = page.locator("#rm-map").bounding_box()
            shot(page, "07-gcj02-basemap")
            img = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
            r, g, b = img.getpixel((round(box["x"] + here["x"]), round(box["y"] + here["y"])))
            attribution = page.text_content(".leaflet-control-attribution")
            errors.extend(csp_violations(page))
            context.close()
    assert r > 180 and g < 120 and b < 120, (r, g, b)  # the mark, under light veils
    assert "测试底图" in attribution
    assert any(p.startswith("/18/") for p in requested)
    assert errors == []


def _add_staff(db: str, username: str, role: str) -> None:
    """`renewmap user add` against the running server's database, as an admin would."""
    env = {**os.environ, "RENEWMAP_DATABASE_URL": db, "RENEWMAP_ENV": "dev"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "renewmap.cli",
            "user",
            "add",
            username,
            "--password-stdin",
            "--display-name",
            username,
            "--role",
            role,
            "--email",
            f"{username}@example.org",
        ],
        input="a long enough password\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )


def _sign_in(page, server: str, username: str) -> None:
    page.set_default_timeout(30_000)
    page.goto(f"{server}/staff")
    page.wait_for_url("**/staff/login**")
    page.fill("#rm-user", username)
    page.fill("#rm-pass", "a long enough password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server}/staff")
    page.wait_for_function(
        "() => document.querySelector('#rm-count').textContent !== ''", polling=100
    )


def test_grid_lead_handles_a_residents_request(browser, phone, server, e2e_db, mailbox) -> None:
    """A resident pins in grid 7 → grid 7's lead signs in, sees it, accepts and replies → the
    resident's private page shows the reply; grid 1's lead never sees it."""
    _add_staff(e2e_db, "lead_g07", "grid_lead=310109010026/G07")
    _add_staff(e2e_db, "lead_g01", "grid_lead=310109010026/G01")
    page = phone
    page.goto(f"{server}/c/310109010026")
    page.wait_for_function(MAP_READY, polling=100)
    created = page.evaluate(
        """async ([lon, lat]) => {
            const s = await (await fetch('/api/session')).json();
            const fd = new FormData();
            fd.append('category', 'sanitation'); fd.append('title', '垃圾房门坏了');
            fd.append('phone', '13912345678');
            fd.append('lon', lon); fd.append('lat', lat);
            const r = await fetch('/api/suggestions', {method: 'POST', body: fd,
              headers: {'X-CSRF-Token': s.csrf_token}});
            return r.json(); }""",
        list(G07_POINT),
    )
    assert created["owner"]["grid"]["code"] == "G07"
    # the real dispatcher (a thread of the server) mails grid 7's lead, and only them
    mail = mailbox[1].wait_for("lead_g07@example.org")
    assert "垃圾房门坏了" in mail["Subject"] and "13912345678" not in mail.get_content()
    assert not any(m["To"] == "lead_g01@example.org" for m in mailbox[1].messages)

    # grid 1's lead: not in their list, not readable by id
    other = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    other.add_init_script(PROBE)
    other_page = other.new_page()
    _sign_in(other_page, server, "lead_g01")
    assert "垃圾房门坏了" not in other_page.text_content("#rm-list")
    status = other_page.evaluate(
        f"async () => (await fetch('/api/staff/requests/{created['id']}')).status"
    )
    assert status == 404
    other.close()

    # grid 7's lead: finds it, sees the phone, accepts, replies
    lead = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    lead.add_init_script(PROBE)
    lp = lead.new_page()
    errors: list[str] = []
    lp.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(lp, server, "lead_g07")
    lp.get_by_role("button", name="垃圾房门坏了").click()
    lp.wait_for_selector("#rm-d-title")
    assert "13912345678" in lp.text_content("#rm-detail")
    lp.get_by_role("button", name="受理").click()
    lp.wait_for_function(
        "() => document.querySelector('#rm-d-status') && "
        "document.querySelector('#rm-d-status').textContent === '已受理'",
        polling=100,
    )
    lp.fill("#rm-reply-text", "物业明天来修门")
    lp.get_by_role("button", name="回复居民").click()
    lp.wait_for_function(
        "() => [...document.querySelectorAll('#rm-d-history li')]"
        ".some(li => li.textContent.includes('物业明天来修门'))",
        polling=100,
    )
    shot(lp, "08-workspace")
    # this month's patrol: the route is three taps on the map
    lp.locator("#rm-patrol summary").click()
    lp.fill("#rm-p-who", "王、李、张")
    box = lp.locator("#rm-map").bounding_box()
    for dx, dy in ((0.3, 0.3), (0.5, 0.45), (0.7, 0.5)):
        lp.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    assert lp.text_content("#rm-p-points") == "3"
    # a finding on the way: what and where; it becomes a request of grid 7
    lp.select_option("#rm-p-f-category", "paths")
    lp.fill("#rm-p-f-title", "井盖松动")
    lp.get_by_role("button", name="在地图上标出位置").click()
    spot = lp.evaluate(
        "([lon, lat]) => window.__rmMap.latLngToContainerPoint([lat, lon])", list(G07_POINT)
    )
    lp.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    assert "井盖松动" in lp.text_content("#rm-p-findings")
    assert lp.text_content("#rm-p-points") == "3"  # the finding's tap is not a route point
    lp.get_by_role("button", name="保存巡查").click()
    lp.wait_for_function(
        "() => document.querySelector('#rm-p-result').textContent"
        ".includes('1 个问题已作为诉求提交')",
        polling=100,
    )
    lp.wait_for_function(
        "() => [...document.querySelectorAll('#rm-list strong')]"
        ".some(e => e.textContent === '井盖松动')",
        polling=100,
    )
    errors.extend(csp_violations(lp))
    lead.close()
    assert errors == []

    # the resident's private page shows the reply and the new status
    page.goto(server + created["follow_url"])
    assert page.text_content("#rm-status") == "已受理"
    assert "物业明天来修门" in page.text_content("#rm-history")
    shot(page, "09-follow-reply")


def test_admin_checks_and_publishes_a_grid_set(browser, server, e2e_db) -> None:
    """The community admin loads a grid set file, sees it checked on the map, publishes it."""
    _add_staff(e2e_db, "admin_demo", "community_admin=310109010026")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.add_init_script(PROBE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(page, server, "admin_demo")
    page.goto(f"{server}/staff/boundaries?community=310109010026")
    grids = (DEMO_DIR / "grids.geojson").read_bytes()
    page.set_input_files(
        "#rm-draft-file",
        [{"name": "grids.geojson", "mimeType": "application/geo+json", "buffer": grids}],
    )
    page.get_by_role("button", name="检查", exact=True).click()
    page.wait_for_selector("#rm-publish", state="visible")
    assert page.locator("#rm-issues li").count() >= 1  # problems, or "未发现问题"
    page.get_by_role("button", name="发布并重新分派").click()
    page.wait_for_function(
        "() => document.querySelector('#rm-result').textContent.includes('已发布为第')", polling=100
    )
    assert "0 条未办结诉求已重新分派" in page.text_content("#rm-result")  # same grids, no moves
    shot(page, "10-boundaries")
    # drawing: start from the published grids, redraw grid 7 as a small triangle → the
    # check finds the land it no longer covers, located on the map
    page.get_by_role("button", name="从现有网格开始").click()
    page.wait_for_function("() => !document.querySelector('#rm-d-check').hidden", polling=100)
    page.fill("#rm-d-code", "G07")
    box = page.locator("#rm-map").bounding_box()
    for dx, dy in ((0.30, 0.45), (0.34, 0.45), (0.32, 0.50)):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    assert page.text_content("#rm-d-points") == "3"
    page.get_by_role("button", name="完成这个网格").click()
    page.get_by_role("button", name="检查画好的网格").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#rm-issues li')]"
        ".some(li => li.textContent.includes('不属于任何网格'))",  # a gap, in the reader's words
        polling=100,
    )
    shot(page, "11-boundaries-drawn")
    # a broken file: a precise message, nothing published
    page.set_input_files(
        "#rm-draft-file",
        [{"name": "bad.geojson", "mimeType": "application/geo+json", "buffer": b"{not json"}],
    )
    page.get_by_role("button", name="检查", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('#rm-b-error').textContent.includes('bad.geojson')",
        polling=100,
    )
    errors.extend(csp_violations(page))
    context.close()
    assert errors == []


def test_a_write_is_committed_before_its_response(server, e2e_db) -> None:
    """A 200/201 means saved: the very next request sees it. Sign in, then at once (on the same
    keep-alive connection, as a browser does) ask who I am; many times, over real HTTP, since a
    commit that runs after the response is sent only shows as a race on a real server."""
    import http.client
    import json as jsonlib
    from urllib.parse import urlsplit

    _add_staff(e2e_db, "quick_lead", "grid_lead=310109010026/G01")
    where = urlsplit(server)
    body = jsonlib.dumps({"username": "quick_lead", "password": "a long enough password"})
    for _ in range(30):
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
        conn.request("POST", "/api/staff/session", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        cookie = "; ".join(
            c.split(";", 1)[0] for k, c in r.getheaders() if k.lower() == "set-cookie"
        )
        r.read()
        assert r.status == 200
        conn.request("GET", "/api/staff/me", headers={"Cookie": cookie})
        me = conn.getresponse()
        assert me.status == 200, me.read()
        assert jsonlib.loads(me.read())["username"] == "quick_lead"
        conn.close()


def _staff_context(browser, server: str, username: str, next_path: str):
    """A desktop browser signed in as ``username``, on ``next_path``; collects JS errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    errors: list[str] = []  # JavaScript errors, and any request that leaves the intranet
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(server)
            else (errors.append(f"external: {route.request.url}"), route.abort())
        ),
    )
    context.add_init_script(PROBE)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # CSP violations are console errors too (and recorded by the probe)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server}/staff/login?next={quote(next_path)}")
    page.fill("#rm-user", username)
    page.fill("#rm-pass", "a long enough password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server}{next_path}")
    return context, page, errors


def _site_point(page, fx: float, fy: float) -> tuple[float, float]:
    """Page coordinates of the point at fractions (fx, fy) of the site's bounding box."""
    return page.evaluate(
        """([fx, fy]) => {
            const config = JSON.parse(document.getElementById("rm-config").textContent);
            const b = L.geoJSON(config.site).getBounds();
            const ll = L.latLng(b.getSouth() + fy * (b.getNorth() - b.getSouth()),
                                b.getWest() + fx * (b.getEast() - b.getWest()));
            const map = window.__rmMap;
            const p = map.latLngToContainerPoint(ll);
            const r = map.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [fx, fy],
    )


# Geoman's corner markers of the shape being drawn (not the midpoint handles)
VERTICES = (
    "document.querySelectorAll('.leaflet-marker-pane .marker-icon:not(.marker-icon-middle)').length"
)


def _add_vertex(page, fx: float, fy: float, count: int) -> None:
    """Click a corner of the shape being drawn; wait until Geoman has ``count`` corners."""
    page.mouse.click(*_site_point(page, fx, fy))
    page.wait_for_function(f"() => {VERTICES} >= {count}", polling=50)


def test_designer_draws_and_residents_comment_vote_and_adopt(
    browser, phone, server, e2e_db
) -> None:
    """On the demo community a designer draws a planting bed and a barrier-free path on site
    S01 and sees the metrics and a rule violation update live; saves; makes a second draft as a
    copy; opens the consultation. A resident then comments, votes (once) and adopts a plant."""
    import httpx
    import shapely

    from renewmap.spatial.crs import area_m2, utm_epsg

    _add_staff(e2e_db, "designer_demo", "designer=310109010026")
    hub = "/staff/design?community=310109010026&site=S01"
    context, page, errors = _staff_context(browser, server, "designer_demo", hub)
    page.fill("#rm-n-name", "方案一")
    page.select_option("#rm-new-draft select[name=start]", "empty")
    page.get_by_role("button", name="创建").click()
    page.wait_for_url("**/staff/design/drafts/*")
    page.wait_for_function("() => window.__rmMap && window.__rmMap.pm", polling=100)
    page.wait_for_selector("#rm-metrics-table")
    assert page.text_content("td[data-metric=green_area_m2]") == "0"
    draft_id = page.evaluate(f"{CONFIG}.draft.id")
    # a planting bed: four corners in the upper part of the site, closed on the first corner
    page.get_by_role("button", name="种植池").click()
    page.fill("#rm-p-species", "rosa_chinensis")
    corners = [(0.3, 0.6), (0.6, 0.6), (0.6, 0.85), (0.3, 0.85), (0.3, 0.6)]
    for i, (fx, fy) in enumerate(corners[:-1]):
        _add_vertex(page, fx, fy, i + 1)
    page.mouse.click(*_site_point(page, *corners[-1]))  # on the first corner: closed
    page.wait_for_function(
        "() => document.querySelector('td[data-metric=green_area_m2]').textContent !== '0'",
        polling=100,
    )
    # a barrier-free path 1.0 m wide across the lower part: too narrow (the 1.2 m rule)
    page.get_by_role("button", name="步道").click()
    page.fill("#rm-p-width", "1")
    page.select_option("#rm-p-purpose", "barrier_free")
    _add_vertex(page, 0.2, 0.25, 1)
    _add_vertex(page, 0.8, 0.25, 2)
    page.mouse.click(*_site_point(page, 0.8, 0.25))  # on the last corner: finished
    page.wait_for_selector("#rm-violations li[data-rule=barrier_free_width]")
    assert page.text_content("td[data-metric=path_length_m]") != "—"
    shot(page, "20-design-drawn")
    page.get_by_role("button", name="保存").first.click()
    page.wait_for_function(
        "() => document.querySelector('#rm-saved').textContent.includes('第 2 版')", polling=100
    )
    # the saved draft, read back by the API: the shown green area is the bed's real area
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    api = httpx.Client(
        base_url=server, cookies=cookies, headers={"X-CSRF-Token": cookies["rm_csrf"]}
    )
    saved = api.get(f"/api/design/drafts/{draft_id}").json()
    kinds = sorted(f["properties"]["kind"] for f in saved["features"]["features"])
    assert kinds == ["green", "path"]
    bed = next(f for f in saved["features"]["features"] if f["properties"]["kind"] == "green")
    shape = shapely.geometry.shape(bed["geometry"])
    expected = area_m2(shape, utm_epsg(shape.centroid.x, shape.centroid.y))
    assert saved["metrics"]["green_area_m2"] == pytest.approx(expected, rel=0.01)
    assert [v["rule"] for v in saved["violations"]] == ["barrier_free_width"]
    shown = float(page.text_content("td[data-metric=green_area_m2]").replace(",", ""))
    assert shown == pytest.approx(saved["metrics"]["green_area_m2"], abs=0.1)
    # a second draft as a copy; both shown to residents; the site goes to consultation
    second = api.post(
        "/api/design/communities/310109010026/sites/S01/drafts",
        json={"name": "方案二", "copy_from": draft_id},
    ).json()
    for d in (draft_id, second["id"]):
        shown = {"public": True, "acknowledge_violations": True}  # the path is too narrow
        assert api.put(f"/api/design/drafts/{d}/public", json=shown).status_code == 200
    page.goto(f"{server}{hub}")
    page.select_option("#rm-stage select", "consultation")
    page.fill("#rm-reason", "调研与访谈已在线下完成")
    page.get_by_role("button", name="将点位推进到此步骤").click()
    page.wait_for_selector(".rm-timeline li.rm-step-current")
    assert "公众咨询" in page.text_content(".rm-timeline li.rm-step-current")
    errors.extend(csp_violations(page))
    context.close()
    assert errors == [], errors
    # a resident on a phone: comments on draft 1, votes for draft 2 (once), adopts a plant
    res = phone
    res.goto(f"{server}/c/310109010026/sites/S01")
    res.wait_for_selector("article.rm-draft")
    assert res.locator("article.rm-draft").count() == 2
    draft1 = res.locator("article.rm-draft[data-draft='1']")
    draft1.locator("textarea").fill("希望多一些座椅")
    draft1.get_by_role("button", name="评论").tap()
    res.wait_for_function(
        "() => document.querySelector(\"article[data-draft='1'] .rm-comments\").textContent"
        ".includes('希望多一些座椅')",
        polling=100,
    )
    res.locator("article.rm-draft[data-draft='2'] .rm-vote").tap()
    res.get_by_role("button", name="确认投票").tap()  # a vote asks first
    res.wait_for_selector("article.rm-draft[data-draft='2'] .rm-yes")
    assert res.locator(".rm-vote").count() == 0  # one vote each
    shot(res, "21-consultation")
    res.locator("a", has_text="桂花").first.tap()
    res.wait_for_url("**/p/*")
    res.fill("#rm-nick", "小李")
    res.get_by_role("button", name="认养", exact=True).tap()
    res.wait_for_function(
        "() => document.querySelector('#rm-adopter').textContent === '小李'", polling=100
    )


DEMO = "310109010026"


def test_large_layers_come_as_vector_tiles(browser, server, e2e_db) -> None:
    """A site plan whose layers are over the threshold draws them from our own vector tiles
    (vendored Leaflet.VectorGrid): tiles of the community are fetched from /ogc, drawn on
    canvases, and a click on a building shows its number from the tile."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from renewmap.api.security import page_csp
    from renewmap.db.engine import make_engine
    from renewmap.db.models import Building, Community
    from renewmap.services.places.layers import community_layers
    from renewmap.spatial.geometry import from_db
    from renewmap.web.resident import resident_page

    engine = make_engine(e2e_db)
    with Session(engine) as s:
        layers = community_layers(
            s, community_code=DEMO, kinds=("community", "grid", "building", "green", "path")
        )
        community_id = s.scalar(select(Community.id).where(Community.code == DEMO))
        building = s.scalars(
            select(Building)
            .where(Building.community_id == community_id, Building.number.is_not(None))
            .order_by(Building.id)
        ).first()
        assert building is not None
        footprint = from_db(building.geom)
    engine.dispose()
    html = resident_page(layers, locale="zh_CN", nonce="tiles-test", vector_tiles_from=1)
    assert "leaflet.vectorgrid" in html
    assert (
        f"/ogc/collections/buildings/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}?community={DEMO}"
        in html
    )
    assert f'"number":"{building.number}"' not in html  # not embedded: it comes in the tiles
    context = browser.new_context(viewport={"width": 800, "height": 700})
    context.set_default_timeout(20_000)
    external: list[str] = []
    tiles: list[str] = []

    def handle(route):
        url = route.request.url
        if url == server + "/__vector_tiles_page":
            return route.fulfill(
                body=html,
                content_type="text/html; charset=utf-8",
                headers={"Content-Security-Policy": page_csp("tiles-test")},
            )
        if not url.startswith(server):
            external.append(url)
            return route.abort()
        if "/tiles/WebMercatorQuad/" in url:
            tiles.append(url)
        return route.continue_()

    context.route("**/*", handle)
    context.add_init_script(PROBE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server + "/__vector_tiles_page")
    page.wait_for_function("() => document.querySelectorAll('canvas.leaflet-tile').length > 0")
    point = footprint.representative_point()
    with page.expect_response(lambda r: "/buildings/tiles/WebMercatorQuad/19/" in r.url):
        page.evaluate(
            "([lat, lon]) => window.__rmMap.setView([lat, lon], 19, {animate: false})",
            [point.y, point.x],
        )
    # the new view's tiles are drawn
    page.wait_for_function(
        "() => { const t = [...document.querySelectorAll('.leaflet-rmVectorTiles-pane canvas')];"
        " return t.length > 0 && t.every((c) => c.classList.contains('leaflet-tile-loaded')); }",
        polling=100,
    )
    here = screen_point_any(page, point.x, point.y)
    page.mouse.click(here["x"], here["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    shot(page, "09-vector-tiles")
    errors.extend(csp_violations(page))
    context.close()
    assert any("/ogc/collections/buildings/tiles/WebMercatorQuad/19/" in t for t in tiles)
    assert all(f"community={DEMO}" in t for t in tiles)
    assert building.number in text
    assert external == [] and errors == [], (external, errors)


def screen_point_any(page, lon: float, lat: float) -> dict[str, float]:
    """Page coordinates of (lon, lat) on the page's map."""
    return page.evaluate(
        """([lat, lon]) => { const m = window.__rmMap;
             const p = m.latLngToContainerPoint([lat, lon]);
             const r = m.getContainer().getBoundingClientRect();
             return {x: r.left + p.x, y: r.top + p.y}; }""",
        [lat, lon],
    )


# --- the zh_CN UI says nothing in English -------------------------------------------------------

# What a person sees of the page now: visible text, and the labels, placeholders and titles of
# visible controls (a closed <details>, a hidden element, a script's text, people's own text —
# the pages isolate it in <bdi> — and text marked as another language, Latin plant names, left
# out).
VISIBLE_TEXT = """() => {
  const skip = 'script,style,code,noscript,datalist,template,bdi,[lang="la"],[hidden]';
  const shown = (el) => {
    if (!el || el.closest(skip)) return false;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none') return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const out = [document.title];
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) {
    const n = w.currentNode;
    if (n.textContent.trim() && shown(n.parentElement)) out.push(n.textContent);
  }
  for (const el of document.querySelectorAll('[placeholder],[aria-label],[title],img[alt]')) {
    if (!shown(el)) continue;
    for (const a of ['placeholder', 'aria-label', 'title', 'alt']) {
      const v = el.getAttribute(a);
      if (v) out.push(v);
    }
  }
  return out.join('\\n');
}"""
# Names that are the same in every language (products, formats, licences, the time zone).
NOT_ENGLISH = {
    "RenewMap", "Leaflet", "OpenStreetMap", "ODbL", "contributors", "GeoPackage", "GeoJSON",
    "DXF", "PNG", "SVG", "JPEG", "WebP", "PDF", "UTF", "QR", "API", "EPSG", "CSV", "Excel", "JSON",
    "Asia", "Shanghai", "CSRF",
}  # fmt: skip


def english_words(page, quoted: tuple[str, ...] = ()) -> list[str]:
    """The English words a person can see on the page now (links, receipt codes and a field's
    path are not words, and ``quoted`` is what the person typed, a file's name for one)."""
    text = re.sub(r"https?://\S+", " ", page.evaluate(VISIBLE_TEXT))  # links are no words
    text = re.sub(r"\bRM[A-Z0-9]{4,}\b", " ", text)
    # a field's path in a request (body.name, properties.kind) names it as the API does
    text = re.sub(r"\b[a-z_]+(?:\.[a-z_][a-z_0-9]*|\[\d+\])+", " ", text)
    for q in quoted:
        text = text.replace(q, " ")
    return sorted({w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in NOT_ENGLISH})


def says_only_chinese(page, where: str, quoted: tuple[str, ...] = ()) -> None:
    words = english_words(page, quoted)
    assert words == [], f"{where}: English on the page: {words}"


def test_the_chinese_ui_says_nothing_in_english(
    browser, mailbox, database_url_factory, tmp_path
) -> None:
    """A resident, a grid lead and a designer walk their flows in the zh_CN UI, meeting the
    refusals they can meet on the way; no visible word is English at any step. On a server and
    database of its own: the walk meets the site's process from its start, whatever the tests
    before did to the module's."""
    db = database_url_factory()
    with app_server(db, tmp_path / "server.log", demo_dir=DEMO_DIR, env=_server_env(mailbox)) as s:
        _walk_the_chinese_ui(browser, s, db)


def _walk_the_chinese_ui(browser, server: str, e2e_db: str) -> None:
    _add_staff(e2e_db, "zh_lead", "grid_lead=310109010026/G07")
    _add_staff(e2e_db, "zh_designer", "designer=310109010026")

    # --- a resident on a phone (the refusals are 4xx answers: expected, not errors) ---
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    phone.add_init_script(PROBE)
    page = phone.new_page()
    page.set_default_timeout(20_000)
    resident_errors: list[str] = []
    page.on("pageerror", lambda e: resident_errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            resident_errors.append(m.text)
            if m.type == "error" and "status of 4" not in m.text
            else None
        ),
    )
    page.goto(f"{server}/c/310109010026")
    page.wait_for_function(MAP_READY, polling=100)
    says_only_chinese(page, "residents' map")
    page.get_by_role("button", name="提交").tap()  # no pin yet: refused on the page
    page.wait_for_function("() => document.querySelector('#rm-error').textContent !== ''")
    says_only_chinese(page, "no pin")
    # the suggestions already made show while placing, and earlier tests' lie at G07_POINT (a
    # tap there opens one): the map is brought there and the pin put at its centre
    page.evaluate(
        "([lon, lat]) => window.__rmMap.setView([lat, lon], 19, {animate: false})", list(G07_POINT)
    )
    page.get_by_role("button", name="在地图中心放图钉").tap()
    page.wait_for_selector(".leaflet-marker-draggable")
    page.wait_for_selector("#rm-owner-preview")
    assert page.text_content("#rm-owner-preview") == "将由 第7网格 · 第四网格党支部 处理"
    says_only_chinese(page, "a pin placed")
    page.get_by_role("button", name="照明").tap()
    page.fill("#rm-title", "七号楼单元门禁坏了")
    page.set_input_files(
        "#rm-photos", [{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo"}]
    )
    page.get_by_role("button", name="提交").tap()  # refused by the server: not an image
    page.wait_for_function(
        "() => document.querySelector('#rm-error').textContent.includes('notes.jpg')"
    )
    assert "照片“notes.jpg”不是可读的" in page.text_content("#rm-error")
    says_only_chinese(page, "a photo that is not one", quoted=("notes.jpg",))
    # the page keeps chosen photos (with previews): the refused one is removed by its button
    page.get_by_role("button", name="删除照片 1").tap()
    assert page.locator("#rm-photo-list li").count() == 0
    page.get_by_role("button", name="提交").tap()
    page.wait_for_selector("#rm-receipt:not([hidden])")
    assert page.text_content("#rm-owner") == "将由 第7网格 · 第四网格党支部 处理"
    says_only_chinese(page, "receipt")
    follow = page.get_attribute("#rm-follow", "href")
    page.goto(server + follow)
    assert "已分派" in page.text_content("#rm-history")
    says_only_chinese(page, "follow page")
    code = follow.split("/r/")[1].split("?")[0]
    page.goto(f"{server}/r/{code}?t=wrong-token-123")  # a link copied wrongly: refused
    assert "此链接的令牌与回执编号不符" in page.text_content("body")
    says_only_chinese(page, "a wrong private link")

    # --- the grid lead ---
    lead = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    lead.add_init_script(PROBE)
    lp = lead.new_page()
    lp.set_default_timeout(30_000)
    lp.goto(f"{server}/staff/login")
    lp.fill("#rm-user", "zh_lead")
    lp.fill("#rm-pass", "not the password")
    lp.get_by_role("button", name="登录").click()  # refused: wrong password
    lp.wait_for_function("() => document.querySelector('#rm-error').textContent !== ''")
    assert lp.text_content("#rm-error") == "用户名或密码错误"
    says_only_chinese(lp, "sign-in refused", quoted=("zh_lead",))
    _sign_in(lp, server, "zh_lead")
    says_only_chinese(lp, "workspace", quoted=("zh_lead",))
    lp.get_by_role("button", name="七号楼单元门禁坏了").click()
    lp.wait_for_selector("#rm-d-title")
    history = lp.text_content("#rm-d-history")
    assert "居民" in history and "系统" in history  # who did each step, by role
    says_only_chinese(lp, "a request in full", quoted=("zh_lead",))
    # someone else accepts it meanwhile: the lead's accept is refused with the current state
    rid = lp.get_attribute("#rm-public-form", "data-id")
    lp.evaluate(
        """async (id) => {
            const csrf = document.cookie.split('; ').find((c) => c.startsWith('rm_csrf='))
              .split('=')[1];
            await fetch(`/api/staff/requests/${id}/actions`, {method: 'POST',
              headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
              body: JSON.stringify({action: 'accept', version: 1})}); }""",
        rid,
    )
    lp.get_by_role("button", name="受理").click()
    lp.wait_for_function(
        "() => document.querySelector('#rm-public-error').textContent.includes('已被他人修改')"
    )
    says_only_chinese(lp, "a step someone else took first", quoted=("zh_lead",))
    lp.get_by_role("button", name="办结").click()  # refused: what was done?
    lp.wait_for_function(
        "() => document.querySelector('#rm-public-error').textContent === '请说明做了什么（备注）'"
    )
    says_only_chinese(lp, "resolving without saying what was done", quoted=("zh_lead",))
    lp.goto(f"{server}/staff/overview?community=310109010026")
    lp.wait_for_function(MAP_READY, polling=100)
    says_only_chinese(lp, "overview", quoted=("zh_lead",))
    lp.goto(f"{server}/staff/report?community=310109010026&grid=G07")
    says_only_chinese(lp, "monthly report", quoted=("zh_lead",))
    errors = csp_violations(lp)
    lead.close()
    assert errors == []

    # --- the designer ---
    designers = ("zh_designer",)  # a name (shown as who skipped a step), not a word of the UI
    hub = "/staff/design?community=310109010026&site=S01"
    context, dp, errors = _staff_context(browser, server, "zh_designer", hub)
    says_only_chinese(dp, "designers' hub", quoted=designers)
    dp.fill("#rm-n-name", "   ")  # a name of spaces: refused by the server
    dp.get_by_role("button", name="创建").click()
    dp.wait_for_function("() => document.querySelector('#rm-error').textContent !== ''")
    assert dp.text_content("#rm-error") == "请求有误：body.name：不能为空或只有空格"
    says_only_chinese(dp, "a draft without a name", quoted=designers)
    dp.fill("#rm-n-name", "方案甲")
    dp.select_option("#rm-new-draft select[name=start]", "empty")
    dp.get_by_role("button", name="创建").click()
    dp.wait_for_url("**/staff/design/drafts/*")
    dp.wait_for_function("() => window.__rmMap && window.__rmMap.pm", polling=100)
    says_only_chinese(dp, "an empty draft", quoted=designers)
    # a barrier-free path 1 m wide: the rule names it as people do
    dp.get_by_role("button", name="步道").click()
    dp.fill("#rm-p-width", "1")
    dp.select_option("#rm-p-purpose", "barrier_free")
    _add_vertex(dp, 0.2, 0.25, 1)
    _add_vertex(dp, 0.8, 0.25, 2)
    dp.mouse.click(*_site_point(dp, 0.8, 0.25))
    dp.wait_for_selector("#rm-violations li[data-rule=barrier_free_width]")
    violation = dp.text_content("#rm-violations li[data-rule=barrier_free_width]")
    assert "1号步道是无障碍通道，宽 1 米；至少需要 1.2 米" in violation
    for details in dp.locator("details").all():  # the bill of quantities, opened
        if details.is_visible() and details.get_attribute("open") is None:
            details.locator("summary").click()
    says_only_chinese(dp, "a path too narrow, the metrics and the bill", quoted=designers)
    dp.get_by_role("button", name="保存").first.click()
    # saved: until then the status says there are unsaved changes (and an import is refused)
    dp.wait_for_function(
        "() => document.querySelector('#rm-saved').textContent.startsWith('已保存（第')"
    )
    # a file that is not GeoJSON: refused, naming the file and where it breaks
    dp.set_input_files(
        "#rm-import input[type=file]",
        [{"name": "bad.geojson", "mimeType": "application/geo+json", "buffer": b"{not json"}],
    )
    dp.locator("#rm-import button[type=submit]").click()
    dp.wait_for_function(
        "() => document.querySelector('#rm-error').textContent.includes('bad.geojson')"
    )
    assert dp.text_content("#rm-error") == "文件“bad.geojson”：不是有效的 JSON（第 1 行第 2 列）"
    says_only_chinese(dp, "a broken file", quoted=(*designers, "bad.geojson"))
    dp.goto(f"{server}{hub}")
    dp.select_option("#rm-stage select", "co_design")
    dp.get_by_role("button", name="将点位推进到此步骤").click()  # refused: steps skipped, why?
    dp.wait_for_function(
        "() => document.querySelector('#rm-error').textContent.includes('请说明跳过的原因')"
    )
    assert dp.text_content("#rm-error") == (
        "将“睦邻微花园”推进到“居民参与设计”会跳过未举行的步骤（社区调研、居民访谈、多稿设计）："
        "请说明跳过的原因"
    )
    says_only_chinese(dp, "skipping steps without a reason", quoted=designers)
    dp.fill("#rm-reason", "调研和访谈已在街道层面完成")
    dp.get_by_role("button", name="将点位推进到此步骤").click()
    dp.wait_for_function(
        "() => (document.querySelector('.rm-timeline li.rm-step-current') || {textContent: ''})"
        ".textContent.includes('居民参与设计')"
    )
    says_only_chinese(dp, "the process", quoted=designers)
    errors.extend(csp_violations(dp))
    context.close()
    # the refusals answered 4xx (the browser logs them); anything else is an error
    assert [e for e in errors if "status of 4" not in e] == [], errors

    # the resident on the site's page, while residents join the design (no vote yet)
    page.goto(f"{server}/c/310109010026/sites/S01")
    page.wait_for_function(MAP_READY, polling=100)
    # the steps skipped show as not held, with who skipped them (by role: a staff login name is
    # never public) and why
    skipped = page.text_content(".rm-timeline li[data-stage=survey] .rm-skipped")
    assert skipped == "未举行 · 由设计师跳过: 调研和访谈已在街道层面完成", skipped
    assert "zh_designer" not in skipped
    says_only_chinese(page, "the site's page", quoted=designers)
    resident_errors.extend(csp_violations(page))
    phone.close()
    assert resident_errors == [], resident_errors
