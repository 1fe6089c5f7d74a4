"""Issue 18 in real headless Chromium (Debian's /usr/bin/chromium via Playwright) against the
real app with the demo community, on both databases: staff record a 联席会 with its attendees on
/staff/records and link it to site S01's joint-meeting step, then the residents' site page shows
it on the timeline (title, day, attendances, decisions; nobody named); staff record a money line
with the form. Every page is checked for JavaScript errors and CSP violations; nothing leaves
the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from renewmap.devtools.e2e import app_server
from tests.support.paths import DEMO_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DEMO = "310109010026"
PASSWORD = "a long enough password"
TITLE = "睦邻花园方案联席会（浏览器）"
PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture(scope="module")
def server(database_url_factory, tmp_path_factory) -> Iterator[str]:
    """The real app (uvicorn, the test's backend, demo loaded) with a community admin."""
    db = database_url_factory()
    log = tmp_path_factory.mktemp("records") / "server.log"
    with app_server(db, log, demo_dir=DEMO_DIR, env={"RENEWMAP_RATE_LOGINS": "100"}) as base:
        env = {**os.environ, "RENEWMAP_DATABASE_URL": db, "RENEWMAP_ENV": "dev"}
        subprocess.run(
            [sys.executable, "-m", "renewmap.cli", "user", "add", "admin18", "--password-stdin",
             "--display-name", "admin18", "--role", f"community_admin={DEMO}"],
            input=f"{PASSWORD}\n".encode(), env=env, check=True, capture_output=True,
        )  # fmt: skip
        yield base


class Watch:
    """A browser context that fails the test on JavaScript errors, CSP violations and any
    request that would leave the machine."""

    def __init__(self, browser: Any, base: str, **options: Any) -> None:
        self.errors: list[str] = []
        self.context = browser.new_context(locale="zh-CN", **options)
        self.context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(base)
                else (self.errors.append(f"external: {route.request.url}"), route.abort())
            ),
        )
        self.context.add_init_script(PROBE)
        self.context.set_default_timeout(30_000)
        self.pages: list[Any] = []

    def page(self) -> Any:
        p = self.context.new_page()
        p.on("pageerror", lambda e: self.errors.append(str(e)))
        p.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.pages.append(p)
        return p

    def close(self) -> None:
        for p in self.pages:
            if not p.is_closed():
                self.errors.extend(p.evaluate("window.__csp || []"))
        self.context.close()
        assert self.errors == [], self.errors


def test_staff_record_a_joint_meeting_and_the_site_page_shows_it(browser, server) -> None:
    base = server
    api = httpx.Client(base_url=base, timeout=60)
    r = api.post("/api/staff/session", json={"username": "admin18", "password": PASSWORD})
    assert r.status_code == 200, r.text
    desk = Watch(browser, base, viewport={"width": 1280, "height": 900})
    desk.context.add_cookies([{"name": k, "value": v, "url": base} for k, v in api.cookies.items()])
    page = desk.page()
    page.goto(f"{base}/staff/records?community={DEMO}")
    form = page.locator("#rm-meeting-form")
    form.wait_for(state="visible")
    page.select_option("#rm-m-kind", "joint")
    page.fill("#rm-m-title", TITLE)
    page.fill("#rm-m-day", "2025-06-01")
    page.fill("#rm-m-place", "党群服务站")
    form.locator("input[name=party][value=residents_committee]").check()
    form.locator("input[name=party][value=property_manager]").check()
    first = form.locator(".rm-attendee").nth(0)
    first.locator("[name=role]").select_option("resident_reps")
    first.locator("[name=count]").fill("7")
    page.click("#rm-m-add-attendee")
    second = form.locator(".rm-attendee").nth(1)
    second.locator("[name=role]").select_option("property_manager")
    second.locator("[name=name]").fill("王经理")
    second.locator("[name=count]").fill("1")
    page.fill("#rm-m-minutes", "王经理介绍两稿方案")
    page.fill("#rm-m-decisions", "同意采用第二稿")
    page.select_option("#rm-m-site", "S01")
    page.select_option("#rm-m-step", "joint_meeting")
    form.locator("button[type=submit]").click()
    item = page.locator("#rm-meetings li", has_text=TITLE)
    item.wait_for()
    assert "8 人次" in item.text_content() and "王经理" in item.text_content()  # staff see names
    assert page.text_content("#rm-error") == ""

    # a money line with the form: the staff list shows it with who gave
    money = page.locator("#rm-money-form")
    money.wait_for(state="visible")
    page.select_option("#rm-f-site", "S01")
    page.select_option("#rm-f-kind", "pledge")
    page.select_option("#rm-f-source", "crowdfunding")
    page.fill("#rm-f-amount", "200.50")
    page.fill("#rm-f-contributor", "李阿姨")
    page.fill("#rm-f-contact", "13800000009")
    page.fill("#rm-f-day", "2025-06-02")
    money.locator("button[type=submit]").click()
    line = page.locator("#rm-money li[data-site=S01] li", has_text="李阿姨")
    line.wait_for()
    assert "200.50" in line.text_content() and "众筹认捐" in line.text_content()
    lines = api.get(f"/api/records/communities/{DEMO}/sites/S01/money").json()["lines"]
    assert [(x["kind"], x["amount_fen"]) for x in lines if x["day"] == "2025-06-02"] == [
        ("pledge", 20050)
    ]
    desk.close()

    # the residents' site page: the step shows its meeting, nobody named
    phone = Watch(browser, base, viewport={"width": 390, "height": 844}, is_mobile=True)
    site = phone.page()
    site.goto(f"{base}/c/{DEMO}/sites/S01")
    record = site.locator("li[data-stage=joint_meeting] .rm-step-meeting", has_text=TITLE)
    record.wait_for()
    text = record.text_content()
    for part in ("2025-06-01", "8 人次", "同意采用第二稿"):
        assert part in text, (part, text)
    assert "王经理" not in site.content() and "13800000009" not in site.content()
    phone.close()
    steps = {
        s["stage"]: s for s in httpx.get(f"{base}/api/sites/{DEMO}/S01/process").json()["steps"]
    }
    mine = [m for m in steps["joint_meeting"]["meeting_records"] if m["title"] == TITLE]
    assert [(m["held_on"], m["attendees"], m["decisions"]) for m in mine] == [
        ("2025-06-01", 8, "同意采用第二稿")
    ]


def test_residents_see_the_public_proposals_on_the_map(browser, server) -> None:
    """/c/{code}/proposals draws the demo's public proposals that have a place (the one whose
    proposer did not agree is not there); a tap names one as text and picks it in the list."""
    import json

    from renewmap.services.ingest.demo_records import RECORDS_FILE

    built = json.loads((DEMO_DIR / RECORDS_FILE).read_text())["proposals"]
    public = [p for p in built if p["public"] and p["geometry"]]
    desk = Watch(browser, server, viewport={"width": 1280, "height": 900})
    page = desk.page()
    page.goto(f"{server}/c/{DEMO}/proposals")
    shapes = page.locator("#rm-map path.rm-proposal")
    shapes.first.wait_for()
    assert shapes.count() == len(public) == 5
    handrails = next(p for p in public if p["title"] == "老楼楼道加装扶手")
    marker = shapes.nth(len(public) - 1)  # drawn in the list's order: the newest is last
    marker.hover()
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for()
    assert handrails["title"] in tip.text_content() and "第 6 号提案" in tip.text_content()
    marker.click()
    chosen = page.locator("#rm-proposals > li.rm-chosen")
    chosen.wait_for()
    assert chosen.count() == 1 and handrails["title"] in chosen.text_content()
    assert "设立种子驿站" not in page.content()
    desk.close()


def test_staff_add_a_photo_to_a_proposal_and_take_it_off(browser, server, tmp_path) -> None:
    """A keeper adds a photo with its caption to a proposal on /staff/records: its thumbnail
    loads (the staff's cookie reads it whether or not the proposal is public) and leads to the
    full size; taking it off removes it from the list and the API."""
    import io

    from PIL import Image

    base = server
    api = httpx.Client(base_url=base, timeout=60)
    r = api.post("/api/staff/session", json={"username": "admin18", "password": PASSWORD})
    assert r.status_code == 200, r.text
    photo = tmp_path / "seat.jpg"
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 60)).save(out, format="JPEG")
    photo.write_bytes(out.getvalue())
    desk = Watch(browser, base, viewport={"width": 1280, "height": 900})
    desk.context.add_cookies([{"name": k, "value": v, "url": base} for k, v in api.cookies.items()])
    page = desk.page()
    page.goto(f"{base}/staff/records?community={DEMO}")
    item = page.locator("#rm-proposals > li[data-number='1']")
    item.locator(".rm-photo-form").wait_for()
    item.locator("input[type=file]").set_input_files(str(photo))
    item.locator("input[name=caption]").fill("座椅位置（浏览器）")
    item.locator(".rm-photo-form button[type=submit]").click()
    figure = page.locator(
        "#rm-proposals > li[data-number='1'] figure", has_text="座椅位置（浏览器）"
    )
    figure.wait_for()
    figure.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#rm-proposals figure img')]"
        ".some((img) => img.complete && img.naturalWidth === 320)",
        polling=100,
    )
    href = figure.locator("a").get_attribute("href")
    assert href is not None and href.startswith("/api/proposal-photos/")
    assert page.text_content("#rm-error") == ""
    mine = api.get(f"/api/records/communities/{DEMO}/proposals/1").json()["photos"]
    assert [(p["caption"], p["width"], p["height"], p["url"]) for p in mine] == [
        ("座椅位置（浏览器）", 800, 600, href)
    ]
    figure.locator("button").click()
    figure.wait_for(state="detached")
    assert api.get(f"/api/records/communities/{DEMO}/proposals/1").json()["photos"] == []
    desk.close()
