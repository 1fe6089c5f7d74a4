"""The staff workspace's new pieces in real headless Chromium (issue 20): the public reply and
the internal note are separate fields (the note never reaches the resident), a rejection asks
for confirmation showing its public reason, the list counts requests that arrive while it is
open, the open request is highlighted on the map, a patrol is recorded by the phone's GPS
(Playwright's geolocation); the town's map and the overview colour their areas.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from renewmap.devtools.e2e import app_server
from tests.support.paths import DEMO_DIR, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = ROOT / "test-artifacts"
DEMO = "310109010026"
G07_POINT = (121.4905, 31.2890)  # routes to 第7网格
PASSWORD = "a long enough password"
PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
document.addEventListener("rm:map", (e) => { window.__rmMap = e.detail; });
"""


@pytest.fixture(scope="module")
def e2e(database_url_factory, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The real app with the demo on the test's backend, asking for arrivals every second."""
    db = database_url_factory()
    log = tmp_path_factory.mktemp("org-e2e") / "server.log"
    env = {"RENEWMAP_STAFF_POLL_S": "1", "RENEWMAP_RATE_LOGINS": "100"}
    with app_server(db, log, demo_dir=DEMO_DIR, env=env) as base:
        yield base, db


def _cli(db: str, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "RENEWMAP_DATABASE_URL": db, "RENEWMAP_ENV": "dev"}
    done = subprocess.run(
        [sys.executable, "-m", "renewmap.cli", *args],
        input=stdin,
        text=True,
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _add_staff(db: str, username: str, *roles: str) -> None:
    args = ["user", "add", username, "--password-stdin", "--display-name", username]
    for role in roles:
        args += ["--role", role]
    _cli(db, *args, stdin=PASSWORD + "\n")


def _signed_in(browser, server: str, username: str, path: str, **context_options):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", **context_options
    )
    errors: list[str] = []
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
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    from urllib.parse import quote

    page.goto(f"{server}/staff/login?next={quote(path)}")
    page.fill("#rm-user", username)
    page.fill("#rm-pass", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server}{path}")
    return context, page, errors


def _post_as_resident(page, title: str, lon: float, lat: float) -> dict:
    """A resident's suggestion through the public API, from a page of the same site."""
    return page.evaluate(
        """async ([title, lon, lat]) => {
            const s = await (await fetch('/api/session')).json();
            const fd = new FormData();
            fd.append('category', 'lighting'); fd.append('title', title);
            fd.append('lon', lon); fd.append('lat', lat);
            const r = await fetch('/api/suggestions', {method: 'POST', body: fd,
              headers: {'X-CSRF-Token': s.csrf_token}});
            return r.json(); }""",
        [title, lon, lat],
    )


def _chosen_marker(page):
    """[lat, lng] of the map's highlighted request marker (radius 13), or null."""
    return page.evaluate(
        """() => {
            let found = null;
            window.__rmMap.eachLayer((l) => {
              if (l instanceof L.CircleMarker && l.options.radius === 13) {
                const p = l.getLatLng(); found = [p.lat, p.lng]; }
            });
            return found; }"""
    )


def test_reply_and_note_are_separate_and_rejecting_asks_first(browser, e2e) -> None:
    server, db = e2e
    _add_staff(db, "org_lead", f"grid_lead={DEMO}/G07")
    resident = browser.new_context(locale="zh-CN")
    rp = resident.new_page()
    rp.goto(f"{server}/c/{DEMO}")
    first = _post_as_resident(rp, "七号楼门口路灯不亮", *G07_POINT)
    second = _post_as_resident(rp, "同一盏路灯", G07_POINT[0] + 0.00005, G07_POINT[1])
    context, page, errors = _signed_in(browser, server, "org_lead", f"/staff?community={DEMO}")
    page.wait_for_function("() => document.querySelector('#rm-count').textContent !== ''")

    # one request open: highlighted on the map
    page.get_by_role("button", name="七号楼门口路灯不亮").click()
    page.wait_for_selector("#rm-d-title")
    marker = _chosen_marker(page)
    assert marker == pytest.approx([G07_POINT[1], G07_POINT[0]], abs=1e-6)
    # the internal note has its own field: typed there, it stays there when replying
    page.fill("#rm-note-text", "内部：电工张师傅 13900000000")
    page.fill("#rm-reply-text", "明天上门查看")
    page.locator("#rm-public-form").get_by_role("button", name="回复居民").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#rm-d-history li')]"
        ".some(li => li.textContent.includes('明天上门查看'))"
    )
    page.fill("#rm-note-text", "内部：电工张师傅 13900000000")
    page.locator("#rm-internal-form").get_by_role("button", name="内部备注").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#rm-d-history li.rm-internal')]"
        ".some(li => li.textContent.includes('电工张师傅'))"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "org-01-reply-and-note.png"), full_page=True)
    follow = rp.goto(server + first["follow_url"])
    assert follow is not None and "明天上门查看" in rp.content()
    assert "电工张师傅" not in rp.content() and "13900000000" not in rp.content()

    # rejecting asks first and shows the reason the resident will read
    page.get_by_role("button", name="同一盏路灯").click()
    page.wait_for_function(
        "() => document.querySelector('#rm-d-title').textContent === '同一盏路灯'"
    )
    assert _chosen_marker(page) == pytest.approx([G07_POINT[1], G07_POINT[0] + 0.00005], abs=1e-6)
    page.get_by_role("button", name="不予采纳").click()
    assert "先写好" in page.text_content("#rm-public-error")  # no reason, no rejection
    page.fill("#rm-reply-text", "与另一条反映重复，已一并处理")
    page.get_by_role("button", name="不予采纳").click()
    assert page.is_visible("#rm-reject-confirm")
    assert page.text_content("#rm-reject-reason") == "与另一条反映重复，已一并处理"
    page.click("#rm-reject-no")
    assert not page.is_visible("#rm-reject-confirm")
    url = f"/api/staff/requests/{second['id']}"
    status = page.evaluate(f"async () => (await (await fetch('{url}')).json()).properties.status")
    assert status == "new"  # cancelled: nothing happened
    page.get_by_role("button", name="不予采纳").click()
    page.click("#rm-reject-yes")
    page.wait_for_function("() => document.querySelector('#rm-d-status').textContent === '未采纳'")

    # a request arriving while the list is open is counted, and shown on request
    _post_as_resident(rp, "新来的：井盖松动", G07_POINT[0] - 0.00005, G07_POINT[1])
    page.wait_for_function("() => !document.querySelector('#rm-arrivals').hidden", timeout=15_000)
    assert "1 件新诉求" in page.text_content("#rm-arrivals")
    page.click("#rm-arrivals")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#rm-list strong')]"
        ".some(e => e.textContent === '新来的：井盖松动')"
    )
    assert page.is_hidden("#rm-arrivals")
    errors.extend(page.evaluate("window.__csp"))
    context.close()
    resident.close()
    assert errors == []


def test_a_patrol_recorded_by_gps(browser, e2e) -> None:
    """The phone's position (Playwright's geolocation) walks east along the grid: start,
    positions arrive, stop, save; the route is kept (simplified) as recorded by GPS."""
    server, db = e2e
    _add_staff(db, "org_walker", f"branch_secretary={DEMO}-B4")
    lon, lat = G07_POINT
    context, page, errors = _signed_in(
        browser,
        server,
        "org_walker",
        f"/staff?community={DEMO}",
        permissions=["geolocation"],
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 5},
    )
    page.wait_for_function("() => window.__rmMap !== undefined")
    page.locator("#rm-patrol summary").click()
    page.fill("#rm-p-study", "学习《社区微更新导则》")
    page.fill("#rm-p-who", "第四网格党支部 6 人")
    page.click("#rm-p-gps-start")
    page.wait_for_function("() => document.querySelector('#rm-p-points').textContent === '1'")
    steps = 12
    for i in range(1, steps + 1):  # about 5 m a step, east then a little north
        context.set_geolocation(
            {
                "longitude": lon + i * 0.00005,
                "latitude": lat + (i > 8) * (i - 8) * 0.00004,
                "accuracy": 5,
            }
        )
        try:
            page.wait_for_function(
                f"() => Number(document.querySelector('#rm-p-points').textContent) === {i + 1}",
                timeout=5000,
            )
        except Exception:
            raise AssertionError((i, page.text_content("#rm-p-gps"), errors)) from None
    # a poor fix is not part of the route
    context.set_geolocation({"longitude": lon + 0.002, "latitude": lat, "accuracy": 120})
    page.wait_for_function("() => document.querySelector('#rm-p-gps').textContent.includes('±')")
    page.click("#rm-p-gps-stop")
    recorded = int(page.text_content("#rm-p-points"))
    assert recorded == steps + 1
    page.get_by_role("button", name="保存巡查").click()
    page.wait_for_function("() => document.querySelector('#rm-p-result').textContent !== ''")
    month = page.evaluate(
        f"async () => (await (await fetch('/api/staff/patrols?community={DEMO}')).json())"
    )
    g07 = next(g for g in month["grids"] if g["grid"]["code"] == "G07")
    assert g07["patrolled"] and g07["walked"]
    page.screenshot(path=str(ARTIFACTS / "org-02-gps-patrol.png"), full_page=True)
    errors.extend(page.evaluate("window.__csp"))
    context.close()
    assert errors == []
    from sqlalchemy import text

    from renewmap.db.engine import make_engine

    eng = make_engine(db)
    try:
        with eng.connect() as conn:
            source, topic, points = conn.execute(
                text(
                    "SELECT route_source, study_topic, ST_NPoints(geom) FROM patrol "
                    "ORDER BY id DESC LIMIT 1"
                )
            ).one()
    finally:
        eng.dispose()
    assert (source, topic) == ("gps", "学习《社区微更新导则》")
    assert 2 <= points < recorded  # simplified: the straight stretches are a few points


def test_the_town_and_the_community_colour_their_areas(browser, e2e) -> None:
    server, db = e2e
    _add_staff(db, "org_town", f"subdistrict_admin={DEMO[:9]}")
    context, page, errors = _signed_in(browser, server, "org_town", "/staff/town")
    page.wait_for_function("() => window.__rmMap !== undefined")
    fills = page.evaluate(
        """() => { const out = [];
            window.__rmMap.eachLayer((l) => {
              if (l.feature && l.feature.properties.step !== undefined)
                out.push([l.feature.properties.code, l.options.fillColor]); });
            return out; }"""
    )
    config = json.loads(page.text_content("#rm-config"))
    steps = {
        f["properties"]["code"]: f["properties"]["step"] for f in config["communities"]["features"]
    }
    colours = ["#ffffff", "#ffe8cc", "#ffc078", "#fd7e14", "#d9480f"]
    assert fills and all(colour == colours[steps[code]] for code, colour in fills)
    assert steps[DEMO] > 0  # the demo has open requests
    page.screenshot(path=str(ARTIFACTS / "org-03-town.png"), full_page=True)
    page.locator("#rm-town a", has_text="巴林").click()
    page.wait_for_url(f"**/staff/overview?community={DEMO}")
    page.wait_for_function("() => window.__rmMap !== undefined")
    coloured = page.evaluate(
        """() => { let n = 0;
            window.__rmMap.eachLayer((l) => {
              if (l.feature && l.feature.properties.step !== undefined) n++; });
            return n; }"""
    )
    assert coloured == 7  # every grid of the community
    errors.extend(page.evaluate("window.__csp"))
    context.close()
    assert errors == []


def test_an_admin_keeps_reply_templates_and_a_lead_uses_them(browser, e2e) -> None:
    server, db = e2e
    _add_staff(db, "org_admin", f"community_admin={DEMO}")
    context, page, errors = _signed_in(browser, server, "org_admin", f"/staff?community={DEMO}")
    page.locator("#rm-templates summary").click()
    page.fill("#rm-t-title", "已派物业")
    page.fill("#rm-t-body", "已联系物业，预计三天内修好")
    page.get_by_role("button", name="添加模板").click()
    page.wait_for_function(
        "() => document.querySelector('#rm-t-list').textContent.includes('已派物业')"
    )
    page.wait_for_function("() => document.querySelector('#rm-count').textContent !== ''")
    page.locator(".rm-open").first.click()
    page.wait_for_selector("#rm-template")
    page.select_option("#rm-template", label="已派物业")
    assert page.input_value("#rm-reply-text") == "已联系物业，预计三天内修好"
    assert page.input_value("#rm-note-text") == ""  # a template never goes into the note
    errors.extend(page.evaluate("window.__csp"))
    context.close()
    assert errors == []


def test_volunteers_of_the_building_group_with_their_consent(browser, e2e) -> None:
    """A request at 17号楼: its building group and the group's volunteers; one is added with
    consent (without it the form does not send) and removed again."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from renewmap.db.engine import make_engine
    from renewmap.db.models import Building
    from renewmap.spatial.geometry import from_db

    server, db = e2e
    eng = make_engine(db)
    try:
        with Session(eng) as s:
            b = s.scalars(select(Building).where(Building.number == "17号楼")).one()
            door = from_db(b.geom).representative_point()
    finally:
        eng.dispose()
    _add_staff(db, "org_lead17", f"building_group_leader={DEMO}-LZ17")
    resident = browser.new_context(locale="zh-CN")
    rp = resident.new_page()
    rp.goto(f"{server}/c/{DEMO}")
    _post_as_resident(rp, "十七号楼楼道灯坏了", door.x, door.y)
    resident.close()
    context, page, errors = _signed_in(browser, server, "org_lead17", f"/staff?community={DEMO}")
    page.get_by_role("button", name="十七号楼楼道灯坏了").click()
    page.wait_for_selector("#rm-v-form")
    assert "17号楼楼组党小组" in page.text_content("#rm-d-group")
    page.fill("#rm-v-form input[name=name]", "陈党员")
    page.fill("#rm-v-form input[name=phone]", "13900000017")
    page.get_by_role("button", name="添加志愿者").click()
    assert not page.locator("#rm-volunteers li", has_text="陈党员").count()  # no consent yet
    page.check("#rm-v-form input[name=consent]")
    page.get_by_role("button", name="添加志愿者").click()
    page.wait_for_function(
        "() => document.querySelector('#rm-volunteers').textContent.includes('13900000017')"
    )
    page.locator(".rm-v-remove").first.click()
    page.wait_for_function(
        "() => !document.querySelector('#rm-volunteers').textContent.includes('陈党员')"
    )
    errors.extend(page.evaluate("window.__csp"))
    context.close()
    assert errors == []
