"""Accessibility of every public and staff page, checked by axe-core in Debian's Chromium.

axe-core comes from the npm registry (package.json's devDependencies, installed into
node_modules by ``./dev test``; never a CDN) and is put into each page by Playwright in a
browser context that bypasses the CSP for that purpose only. Every page is opened in the states
people see it in (a pin placed and a category's questions asked, the receipt, browsing with
comments open, a resolved suggestion, a plant's adopter and a passer-by, staff with a request
open), on a phone and, for staff, on a desktop: no serious or critical violation. Every page
also declares its language and lets people pinch-zoom (no ``user-scalable=no``, no
``maximum-scale``). The keyboard: no dead tab stops on the residents' page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from renewmap.devtools.e2e import app_server
from renewmap.services.requests.progress import stop_token
from renewmap.settings import DEV_SECRET
from tests.support.clients import axe
from tests.support.paths import DEMO_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DEMO = "310109010026"
PASSWORD = "a long enough password"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
MAP = "() => document.querySelector('.leaflet-container') !== null"
# Everything axe checks, reported by impact; these two fail the test.
FAILING = ("serious", "critical")
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
}"""
VIEWPORT = """() => [...document.querySelectorAll('meta[name=viewport]')].map((m) => m.content)"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    return axe()


def _cli(db: str, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "RENEWMAP_DATABASE_URL": db, "RENEWMAP_ENV": "dev"}
    done = subprocess.run(
        [sys.executable, "-m", "renewmap.cli", *args],
        input=stdin,
        env=env,
        text=True,
        capture_output=True,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def world(database_url_factory, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The app with the demo on this test's database, staff of every kind, a draft pair,
    suggestions in several states."""
    tmp = tmp_path_factory.mktemp("a11y")
    db = database_url_factory()
    env = {
        "RENEWMAP_NOTIFY_SMTP_HOST": "127.0.0.1",  # the consent box shows (nothing is sent)
        "RENEWMAP_RATE_LOGINS": "100",
        "RENEWMAP_RATE_POSTS": "100",
    }
    with app_server(db, tmp / "server.log", demo_dir=DEMO_DIR, env=env) as base:
        for user, role in (
            ("admin", f"community_admin={DEMO}"),
            ("designer", f"designer={DEMO}"),
            ("lead", f"grid_lead={DEMO}/G07"),
        ):
            _cli(db, "user", "add", user, "--password-stdin", "--display-name", user,
                 "--role", role, stdin=PASSWORD + "\n")  # fmt: skip
        staff = httpx.Client(base_url=base, timeout=30)
        assert (
            staff.post(
                "/api/staff/session", json={"username": "admin", "password": PASSWORD}
            ).status_code
            == 200
        )
        staff.headers["X-CSRF-Token"] = staff.cookies["rm_csrf"]
        drafts = [
            staff.post(
                f"/api/design/communities/{DEMO}/sites/S01/drafts",
                json={"name": name, "from_site": True},
            ).json()["id"]
            for name in ("方案一", "方案二")
        ]
        resident = httpx.Client(base_url=base, timeout=30)
        resident.headers["X-CSRF-Token"] = resident.get("/api/session").json()["csrf_token"]
        open_one = resident.post(
            "/api/suggestions",
            data={"category": "lighting", "title": "路灯不亮", "lon": "121.4905", "lat": "31.2890",
                  "email": "a@example.org", "notify": "true"},
        ).json()  # fmt: skip
        done_one = resident.post(
            "/api/suggestions",
            data={"category": "sanitation", "title": "垃圾桶坏了", "lon": "121.4905",
                  "lat": "31.2891"},
        ).json()  # fmt: skip
        for action, note in (("accept", None), ("reply", "明天来修"), ("resolve", "修好了")):
            version = staff.get(f"/api/staff/requests/{done_one['id']}").json()["properties"][
                "version"
            ]
            r = staff.post(
                f"/api/staff/requests/{done_one['id']}/actions",
                json={"action": action, "version": version, "note": note},
            )
            assert r.status_code == 200, r.text
        yield {
            "base": base,
            "db": db,
            "drafts": drafts,
            "open": open_one,
            "resolved": done_one,
        }


class Auditor:
    """A browser context (CSP bypassed: only here, to put axe into pages) that audits pages."""

    def __init__(self, browser: Any, base: str, axe: str, device: dict[str, Any]) -> None:
        self.base = base
        self.axe = axe
        self.context = browser.new_context(locale="zh-CN", bypass_csp=True, **device)
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda e: self.problems.append(f"page error {e}"))

    def sign_in(self, username: str) -> None:
        r = self.context.request.post(
            f"{self.base}/api/staff/session", data={"username": username, "password": PASSWORD}
        )
        assert r.ok, r.text()

    def open(self, url: str, ready: str | None = None) -> None:
        self.page.goto(url if url.startswith("http") else self.base + url)
        self.page.wait_for_load_state("networkidle")
        if ready:
            self.page.wait_for_function(ready, polling=100)

    def audit(self, label: str) -> None:
        """axe on the page as it is now, and its language and zoom."""
        page = self.page
        if not page.evaluate("() => typeof axe !== 'undefined'"):
            page.add_script_tag(path=self.axe)
        for v in page.evaluate(RUN_AXE):
            if v["impact"] in FAILING:
                self.problems.append(f"{label}: {v['impact']} {v['id']} ({v['help']}) {v['nodes']}")
        lang = page.evaluate("document.documentElement.lang")
        if not lang:
            self.problems.append(f"{label}: no lang")
        for content in page.evaluate(VIEWPORT):
            squeezed = content.replace(" ", "").lower()
            if "user-scalable=no" in squeezed or "maximum-scale" in squeezed:
                self.problems.append(f"{label}: pinch-zoom disabled ({content})")

    def close(self) -> None:
        self.context.close()


def test_every_public_page_on_a_phone(browser, world, axe_source) -> None:
    a = Auditor(browser, world["base"], axe_source, PHONE)
    page = a.page
    a.open("/")
    a.audit("index")
    # the residents' page: as it opens; a place found, the pin placed, a category's questions
    a.open(f"/c/{DEMO}", MAP)
    a.audit("residents' page")
    page.fill("#rm-find-q", "17")
    page.locator("#rm-find button").click()
    page.wait_for_selector("#rm-places .rm-place")
    a.audit("residents' page, places found")
    page.locator("#rm-places .rm-place").first.click()
    page.wait_for_selector("#rm-owner-preview")
    page.locator(".rm-cat[data-code=safety_fire]").click()
    page.wait_for_selector("#rm-questions fieldset")
    a.audit("residents' page, placing with questions")
    page.locator(".rm-cat[data-code=pipes_drainage]").click()
    page.wait_for_selector("#rm-q-problem")
    page.select_option("#rm-q-problem", "leak")
    page.fill("#rm-title", "漏水")
    page.locator("#rm-submit").click()
    page.wait_for_selector("#rm-receipt:not([hidden])")
    page.wait_for_function("() => document.querySelector('#rm-qr').naturalWidth > 0")
    a.audit("residents' page, receipt")
    # browsing, with comments open and an item shown on the map
    a.open(f"/c/{DEMO}#browse", "() => document.querySelectorAll('#rm-list > li').length > 0")
    a.audit("browse")
    first = page.locator("#rm-list > li").first
    first.locator("summary").click()
    first.locator(".rm-locate").click()
    page.wait_for_selector(".leaflet-popup-content")
    # once it has faded in
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )
    a.audit("browse, comments open, shown on the map")
    # the follow pages: open (with messages to stop), resolved (reopen), the stop link
    a.open(world["open"]["follow_url"], MAP)
    a.audit("follow page")
    a.open(world["resolved"]["follow_url"], MAP)
    a.audit("follow page, resolved")
    page.locator("#rm-swap-form").click()
    a.audit("follow page, adding details")
    code = world["open"]["receipt_code"]
    stop = stop_token(DEV_SECRET, code)
    a.open(f"/r/{code}/stop?s={stop}")
    a.audit("stop page")
    page.locator("button[type=submit]").click()
    page.wait_for_selector("#rm-stopped")
    a.audit("stop page, done")
    # sites, a site in its process, a plant card (to adopt; adopted here; seen by another)
    a.open(f"/c/{DEMO}/sites")
    a.audit("sites")
    a.open(f"/c/{DEMO}/sites/S01", MAP)
    a.audit("a site")
    plants = page.evaluate("JSON.parse(document.getElementById('rm-config').textContent).plants")
    a.open(plants[0]["url"])
    a.audit("plant card, open for adoption")
    page.fill("#rm-nick", "小李")
    page.locator("#rm-adopt button").click()
    page.wait_for_selector("#rm-care-form")
    a.audit("plant card, its adopter")
    page.locator("#rm-move summary").click()
    page.locator("#rm-move-code").click()
    page.wait_for_function("() => document.querySelector('#rm-move-result').textContent !== ''")
    a.audit("plant card, moving the adoption")
    other = Auditor(browser, world["base"], axe_source, PHONE)
    other.open(plants[0]["url"])
    other.page.locator("#rm-claim summary").click()
    other.audit("plant card, seen by another phone")
    other.close()
    # the API's page, an error page, the staff sign-in
    a.open("/docs")
    a.audit("API docs")
    a.page.goto(world["base"] + "/c/NOPE")
    a.audit("error page")
    a.open("/staff/login")
    a.audit("staff sign-in")
    a.close()
    problems = a.problems + other.problems
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_every_staff_page(browser, world, axe_source, device) -> None:
    a = Auditor(browser, world["base"], axe_source, DESKTOP if device == "desktop" else PHONE)
    a.sign_in("admin")
    page = a.page
    a.open("/staff", "() => document.querySelector('#rm-count').textContent !== ''")
    a.audit("workspace")
    page.locator(".rm-open").first.click()
    page.wait_for_selector("#rm-d-title")
    a.audit("workspace, a request open")
    page.locator("#rm-patrol summary").click()
    a.audit("workspace, recording a patrol")
    a.open(f"/staff/overview?community={DEMO}", MAP)
    a.audit("overview")
    a.open(f"/staff/boundaries?community={DEMO}", MAP)
    a.audit("boundaries")
    a.open(f"/staff/report?community={DEMO}&grid=G07", MAP)
    a.audit("monthly report")
    a.open(f"/staff/design?community={DEMO}&site=S01", MAP)
    a.audit("design hub")
    a.open(f"/staff/design/drafts/{world['drafts'][0]}", MAP)
    a.audit("drawing")
    a.open(f"/staff/design/compare?a={world['drafts'][0]}&b={world['drafts'][1]}", MAP)
    a.audit("comparing drafts")
    a.open(f"/staff/coverage?community={DEMO}", MAP)
    a.audit("walking coverage")
    a.close()
    assert a.problems == [], "\n".join(a.problems)


# What a keyboard stop may be: something that acts (a link, a control, a disclosure) or the map
# itself (its arrow keys pan it) and a suggestion on it (Enter opens it).
ACTIONABLE = (
    "a[href], button, input, select, textarea, summary, .leaflet-container, "
    ".leaflet-marker-icon[title], [role=tab]"
)


def test_the_residents_page_has_no_dead_tab_stops(browser, world) -> None:
    context = browser.new_context(locale="zh-CN", **PHONE)
    page = context.new_page()
    page.goto(f"{world['base']}/c/{DEMO}")
    page.wait_for_function(MAP, polling=100)
    stops: list[str] = []
    for _ in range(120):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """(ok) => { const e = document.activeElement;
                 return e === document.body ? null
                   : [e.matches(ok), e.tagName, e.className || '', e.id || '',
                      (e.getAttribute('aria-label') || e.title || e.textContent || '')
                        .trim().slice(0, 20)]; }""",
            ACTIONABLE,
        )
        if stop is None:
            break
        if not stop[0]:
            stops.append(" ".join(str(x) for x in stop[1:]))
    labels = page.evaluate(
        "() => [...document.querySelectorAll('.rm-label-icon')]"
        ".filter((e) => e.tabIndex >= 0).length"
    )
    context.close()
    assert stops == [] and labels == 0, "\n".join(stops)
