"""Issue 17 in real headless Chromium (Debian's /usr/bin/chromium via Playwright) against the
real app with the demo community: a bed started on a path stays a bed with its name and layer;
household codes give one vote per household across two phones (a reused code is refused, the
turnout counts); skipped steps say they were not held; the decision, the build and a new plant
adopted; the A3 plan downloaded and read back; the compare page labelled. Every page is
checked for JavaScript errors and CSP violations; nothing leaves the machine."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
import shapely

from renewmap.devtools.e2e import app_server
from tests.support.paths import DEMO_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DEMO = "310109010026"
PASSWORD = "a long enough password"
CODE = re.compile(r"(?<![0-9A-Z])([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})(?![0-9A-Z])")
CORNERS = ".leaflet-marker-pane .marker-icon:not(.marker-icon-middle)"  # a shape's corners
PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
document.addEventListener("rm:map", (e) => { window.__rmMap = e.detail; });
"""


@pytest.fixture(scope="module")
def server(database_url_factory, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The real app (uvicorn, the test's backend, demo loaded) on a free loopback port, with a
    designer and the general branch's secretary."""
    db = database_url_factory()
    log = tmp_path_factory.mktemp("consult") / "server.log"
    env = {"RENEWMAP_RATE_LOGINS": "100"}
    with app_server(db, log, demo_dir=DEMO_DIR, env=env) as base:
        _add_staff(db, "designer17", f"designer={DEMO}")
        _add_staff(db, "secretary17", f"branch_secretary={DEMO}-GB")
        yield base, db


def _add_staff(db: str, username: str, role: str) -> None:
    env = {**os.environ, "RENEWMAP_DATABASE_URL": db, "RENEWMAP_ENV": "dev"}
    subprocess.run(
        [sys.executable, "-m", "renewmap.cli", "user", "add", username, "--password-stdin",
         "--display-name", username, "--role", role],
        input=f"{PASSWORD}\n".encode(), env=env, check=True, capture_output=True,
    )  # fmt: skip


class Watch:
    """A browser context that fails the test on JavaScript errors, CSP violations and any
    request that would leave the machine."""

    def __init__(
        self, browser: Any, base: str, *, refused: tuple[int, ...] = (), **options: Any
    ) -> None:
        self.errors: list[str] = []
        # the answers the test provokes (a refused code): the browser logs them as errors
        self.expected = [f"the server responded with a status of {s} " for s in refused]
        self.context = browser.new_context(locale="zh-CN", accept_downloads=True, **options)
        self.context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(base) or route.request.url.startswith("blob:")
                else (self.errors.append(f"external: {route.request.url}"), route.abort())
            ),
        )
        self.context.add_init_script(PROBE)
        self.context.set_default_timeout(30_000)
        self.pages: list[Any] = []

    def page(self) -> Any:
        p = self.context.new_page()
        p.on("pageerror", lambda e: self.errors.append(str(e)))
        p.on("console", lambda m: self.errors.append(m.text) if self._unexpected(m) else None)
        self.pages.append(p)
        return p

    def _unexpected(self, message: Any) -> bool:
        return message.type == "error" and not any(e in message.text for e in self.expected)

    def close(self) -> None:
        for p in self.pages:
            if not p.is_closed():
                self.errors.extend(p.evaluate("window.__csp || []"))
        self.context.close()
        assert self.errors == [], self.errors


def _staff(base: str, username: str) -> httpx.Client:
    api = httpx.Client(base_url=base, timeout=60)
    r = api.post("/api/staff/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    api.headers["X-CSRF-Token"] = api.cookies["rm_csrf"]
    return api


def _desk(browser: Any, base: str, api: httpx.Client) -> Watch:
    """A desktop browser signed in with ``api``'s session."""
    w = Watch(browser, base, viewport={"width": 1280, "height": 900})
    w.context.add_cookies([{"name": k, "value": v, "url": base} for k, v in api.cookies.items()])
    return w


def _phone(browser: Any, base: str, refused: tuple[int, ...] = ()) -> Watch:
    return Watch(
        browser,
        base,
        refused=refused,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


def _site_like_s01(api: httpx.Client, code: str, name: str) -> str:
    """A new site with S01's outline (each test runs its own process)."""
    outline = api.get(f"/api/communities/{DEMO}/layers/site").json()["features"][0]["geometry"]
    r = api.post(
        f"/api/design/communities/{DEMO}/sites",
        json={"name": name, "code": code, "geometry": outline},
    )
    assert r.status_code == 201, r.text
    return f"/api/design/communities/{DEMO}/sites/{code}"


def _public_draft(api: httpx.Client, site: str, name: str, **start: Any) -> dict[str, Any]:
    d = api.post(f"{site}/drafts", json={"name": name, **start}).json()
    r = api.put(
        f"/api/design/drafts/{d['id']}/public",
        json={"public": True, "acknowledge_violations": True},
    )
    assert r.status_code == 200, r.text
    return d


def pdf_text(data: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return "".join(
        c for p in pages for c in p.extract_text() if c.isprintable() and not c.isspace()
    )


# --- drawing without traps ----------------------------------------------------------------


def test_a_bed_started_on_a_path_stays_a_bed(browser, server) -> None:
    base, _db = server
    api = _staff(base, "designer17")
    desk = _desk(browser, base, api)
    page = desk.page()
    page.goto(f"{base}/staff/design?community={DEMO}&site=S01")
    page.fill("#rm-n-name", "花池方案")
    page.select_option("#rm-new-draft select[name=start]", "site")  # the path is in it
    page.get_by_role("button", name="创建").click()
    page.wait_for_url("**/staff/design/drafts/*")
    page.wait_for_function("() => window.__rmMap && window.__rmMap.pm", polling=100)
    page.wait_for_selector("#rm-metrics-table")
    before = float(page.text_content("td[data-metric=green_area_m2]").replace(",", ""))
    # a point on the path's line, between its first two corners: where snapping invites a start
    on_path = page.evaluate(
        """() => { const map = window.__rmMap; let out = null;
          map.eachLayer((l) => {
            if (out || !l.feature || l.feature.properties.kind !== "path") return;
            const lls = l.getLatLngs().flat(Infinity);
            const a = map.latLngToContainerPoint(lls[0]), b = map.latLngToContainerPoint(lls[1]);
            const p = a.add(b.subtract(a).multiplyBy(0.3));
            const r = map.getContainer().getBoundingClientRect();
            out = [r.left + p.x, r.top + p.y]; });
          return out; }"""
    )
    assert on_path is not None
    page.get_by_role("button", name="种植池").click()
    page.fill("#rm-p-name", "新花池")
    page.select_option("#rm-p-layer", "shrub")
    x, y = on_path
    corners = [(x, y), (x + 70, y), (x + 70, y + 55), (x, y + 55)]
    for i, (cx, cy) in enumerate(corners, start=1):
        page.mouse.click(cx, cy)
        page.wait_for_function(
            f"(n) => document.querySelectorAll('{CORNERS}').length >= n",
            arg=i,
            polling=50,
        )
        # the form is still the new bed's: nothing on the map took it over
        assert page.text_content("#rm-props-title") == "种植池"
        assert page.input_value("#rm-p-name") == "新花池"
    page.mouse.click(x, y)  # on the first corner: closed
    page.wait_for_function(
        f"() => parseFloat(document.querySelector('td[data-metric=green_area_m2]').textContent"
        f".replace(/,/g, '')) > {before}",
        polling=100,
    )
    assert page.text_content("#rm-props-title") == "种植池"
    assert page.input_value("#rm-p-name") == "新花池"
    page.get_by_role("button", name="保存").first.click()
    page.wait_for_function(
        "() => /第 \\d+ 版/.test(document.querySelector('#rm-saved').textContent)", polling=100
    )
    draft_id = page.evaluate(
        "JSON.parse(document.getElementById('rm-config').textContent).draft.id"
    )
    saved = api.get(f"/api/design/drafts/{draft_id}").json()
    props = [f["properties"] for f in saved["features"]["features"]]
    (bed,) = [p for p in props if p.get("name") == "新花池"]
    assert (bed["kind"], bed["layer"]) == ("green", "shrub")
    assert [p for p in props if p["kind"] == "keep"] == []  # no copy of the path appeared
    assert sum(p["kind"] == "path" for p in props) == 1
    assert saved["metrics"]["green_area_m2"] > before
    # a measured distance and a typed path length
    page.get_by_role("button", name="测量距离").click()
    page.mouse.click(x, y + 120)
    page.mouse.click(x + 100, y + 120)
    page.wait_for_function(
        "() => /距离 [1-9]/.test(document.querySelector('#rm-measure-out').textContent)"
    )
    page.keyboard.press("Escape")
    desk.close()


# --- household codes: one vote per household -------------------------------------------------


def test_household_codes_across_two_phones(browser, server) -> None:
    base, _db = server
    api = _staff(base, "designer17")
    site = _site_like_s01(api, "S11", "征询测试花园")
    _public_draft(api, site, "方案甲")
    _public_draft(api, site, "方案乙")
    r = api.post(f"{site}/stage", json={"stage": "consultation", "reason": "前期工作已线下完成"})
    assert r.status_code == 200, r.text
    r = api.post(f"{site}/households/forms", json={"buildings": [{"building": "3号楼"}]})
    assert r.status_code == 200, r.text
    codes = CODE.findall(pdf_text(r.content))  # one a page, as printed
    assert len(codes) == 18 and len(set(codes)) == 18
    page_url = f"{base}/c/{DEMO}/sites/S11"

    first = _phone(browser, base)
    a = first.page()
    a.goto(f"{page_url}#k={codes[0]}")  # the form's QR code
    a.wait_for_function(
        "() => document.querySelector('#rm-household-who').textContent.includes('3号楼')"
    )
    assert "每户一票" in a.text_content("#rm-vote-mode")
    assert a.evaluate("location.hash") == ""  # the code left the address bar
    a.locator("article.rm-draft[data-draft='2'] .rm-vote").tap()
    assert "方案 2" in a.text_content("#rm-confirm-text")
    a.get_by_role("button", name="取消").tap()
    a.locator("article.rm-draft[data-draft='2'] .rm-vote").tap()
    a.get_by_role("button", name="确认投票").tap()
    a.wait_for_selector("article.rm-draft[data-draft='2'] .rm-yes")
    assert "3号楼 第1户" in a.text_content("article.rm-draft[data-draft='2'] .rm-yes")

    second = _phone(browser, base, refused=(409,))
    b = second.page()
    b.goto(page_url)
    b.wait_for_selector("#rm-household:not([hidden])")
    b.fill("#rm-code", codes[0])  # the first household's code, on another phone
    b.get_by_role("button", name="使用此征询码").tap()
    b.wait_for_function("() => document.querySelector('#rm-error').textContent !== ''")
    assert b.text_content("#rm-household-who") == ""  # refused: no household, no vote button
    assert b.locator(".rm-vote").count() == 0
    b.fill("#rm-code", codes[1].lower())
    b.get_by_role("button", name="使用此征询码").tap()
    b.wait_for_function(
        "() => document.querySelector('#rm-household-who').textContent.includes('第2户')"
    )
    b.locator("article.rm-draft[data-draft='1'] .rm-vote").tap()
    b.get_by_role("button", name="确认投票").tap()
    b.wait_for_selector("article.rm-draft[data-draft='1'] .rm-yes")
    # the first household changes its mind
    a.locator("article.rm-draft[data-draft='1'] .rm-vote").tap()
    a.get_by_role("button", name="确认投票").tap()
    a.wait_for_selector("article.rm-draft[data-draft='1'] .rm-yes")

    turnout = api.get(f"{site}/households/turnout").json()
    assert (turnout["issued"], turnout["answered"]) == (18, 2)
    desk = _desk(browser, base, api)
    hub = desk.page()
    hub.goto(f"{base}/staff/design?community={DEMO}&site=S11")
    hub.wait_for_selector("#rm-turnout-rows tr[data-building='3号楼']")
    cells = hub.locator("#rm-turnout-rows tr[data-building='3号楼'] td").all_text_contents()
    assert cells == ["3号楼", "18", "2", "11%"]
    # skipped steps: not held, by whom and why, numbered once
    b.goto(page_url)
    skipped = b.locator("#rm-timeline li.rm-step-skipped")
    assert skipped.count() == 7
    assert (
        "未举行" in skipped.first.text_content()
        and "前期工作已线下完成" in skipped.first.text_content()
    )
    assert not b.text_content("#rm-timeline li").strip().startswith("1.")
    for w in (first, second, desk):
        w.close()


# --- the decision, the build, a plant adopted; the plan printed --------------------------------


def test_decision_build_and_the_printed_plan(browser, server) -> None:
    base, _db = server
    api = _staff(base, "designer17")
    secretary = _staff(base, "secretary17")
    site = _site_like_s01(api, "S12", "施工测试花园")
    _public_draft(api, site, "保留现状", from_site=True)
    chosen = _public_draft(api, site, "加桂花", from_site=True)
    fresh = api.get(f"/api/design/drafts/{chosen['id']}").json()
    feats = fresh["features"]["features"]
    outline = api.get(f"/api/communities/{DEMO}/layers/site").json()["features"][0]["geometry"]
    middle = shapely.geometry.shape(outline).centroid
    feats.append(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [middle.x, middle.y]},
            "properties": {"kind": "plant", "species": "桂花", "name": "新桂花", "adoptable": True},
        }
    )
    r = api.put(
        f"/api/design/drafts/{chosen['id']}/features",
        json={
            "version": fresh["version"],
            "features": {"type": "FeatureCollection", "features": feats},
        },
    )
    assert r.status_code == 200, r.text
    assert (
        api.post(f"{site}/stage", json={"stage": "consultation", "reason": "测试"}).status_code
        == 200
    )
    # the general branch's secretary records the decision in the hub
    desk = _desk(browser, base, secretary)
    hub = desk.page()
    hub.goto(f"{base}/staff/design?community={DEMO}&site=S12")
    hub.select_option("#rm-d-draft", "2")
    hub.fill("#rm-d-reasons", "多数居民支持，增加桂花")
    hub.get_by_role("button", name="记录决定").click()
    hub.wait_for_function(
        "() => document.querySelector('#rm-decision-now').textContent.includes('加桂花')"
    )
    assert (
        api.post(f"{site}/stage", json={"stage": "announcement", "reason": "测试"}).status_code
        == 200
    )
    past = {"starts_on": (date.today() - timedelta(days=8)).isoformat(),
            "ends_on": (date.today() - timedelta(days=1)).isoformat()}  # fmt: skip
    assert api.put(f"{site}/stages/announcement", json=past).status_code == 200
    assert api.post(f"{site}/stage", json={"stage": "construction"}).status_code == 200
    # residents see the decision, with what comes next
    phone = _phone(browser, base)
    res = phone.page()
    res.goto(f"{base}/c/{DEMO}/sites/S12")
    res.wait_for_selector("#rm-decision:not([hidden])")
    decided = res.text_content("#rm-decision")
    assert (
        "采用：方案 2「加桂花」" in decided
        and "多数居民支持，增加桂花" in decided
        and "施工" in decided
    )
    # the plan as printed: A3 PDF downloaded from the page and read back
    with res.expect_download() as got:
        res.locator("article.rm-draft[data-draft='2'] a", has_text="PDF").tap()
    text = pdf_text(Path(got.value.path()).read_bytes())
    for words in ("施工测试花园·方案2·加桂花", "图例", "比例1:", "北", "桂花", "OpenStreetMap"):
        assert words in text, words
    # the build, from the hub: the new plant gets its card and can be adopted
    hub.goto(f"{base}/staff/design?community={DEMO}&site=S12")
    hub.get_by_role("button", name="按选定方案施工入库").click()
    hub.wait_for_selector("#rm-build-result a")
    card_url = hub.get_attribute("#rm-build-result a", "href")
    assert hub.text_content("#rm-build-result a") == "新桂花"
    res.goto(f"{base}{card_url}")
    res.fill("#rm-nick", "小张")
    res.get_by_role("button", name="认养", exact=True).tap()
    res.wait_for_function("() => document.querySelector('#rm-adopter').textContent === '小张'")
    desk.close()
    phone.close()


def test_compare_page_labels_and_shared_features(browser, server) -> None:
    base, _db = server
    api = _staff(base, "designer17")
    site = f"/api/design/communities/{DEMO}/sites/S01"  # drafts of S01 (its process is untouched)
    a = api.post(f"{site}/drafts", json={"name": "现状", "from_site": True}).json()
    b = api.post(f"{site}/drafts", json={"name": "去掉步道", "copy_from": a["id"]}).json()
    feats = [f for f in b["features"]["features"] if f["properties"]["kind"] != "path"]
    r = api.put(
        f"/api/design/drafts/{b['id']}/features",
        json={
            "version": b["version"],
            "features": {"type": "FeatureCollection", "features": feats},
        },
    )
    assert r.status_code == 200
    desk = _desk(browser, base, api)
    page = desk.page()
    page.goto(f"{base}/staff/design?community={DEMO}&site=S01")
    page.get_by_label(f"方案 {a['number']} 作为 A").check()
    page.get_by_label(f"方案 {b['number']} 作为 B").check()
    page.get_by_role("button", name="比较所选两稿").click()
    page.wait_for_url("**/staff/design/compare*")
    page.wait_for_function("() => window.__rmMap")
    legend = page.text_content("#rm-compare-legend")
    for words in ("仅方案 A 有", "仅方案 B 有", "两个方案相同", "点位范围"):
        assert words in legend
    shown = page.text_content("#rm-show")
    assert f"A · 方案 {a['number']}" in shown and f"B · 方案 {b['number']}" in shown
    ratio = (
        page.locator("#rm-compare-table tr", has_text="绿地率").locator("td").all_text_contents()
    )
    assert ratio[2].endswith("个百分点")
    # on the map: the shared features in grey, what only A has (the path) in blue
    colours = page.evaluate(
        """() => { const out = {}; window.__rmMap.eachLayer((l) => {
             if (l.feature && l.feature.properties && l.feature.properties.kind) {
               const c = l.options.color; out[c] = (out[c] || 0) + 1; } }); return out; }"""
    )
    assert colours.get("#1971c2") == 1  # the path: only in A
    assert colours.get("#868e96", 0) == len(feats)  # everything B kept is the same as in A
    page.get_by_label(f"B · 方案 {b['number']}").check()
    page.wait_for_function(
        """() => { let blue = 0; window.__rmMap.eachLayer((l) => {
             if (l.feature && l.options.color === "#1971c2") blue += 1; }); return blue === 0; }"""
    )
    desk.close()
