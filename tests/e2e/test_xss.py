"""Pages cannot be turned against their readers, tried in a real browser.

Hostile text (``<script>``, an ``onerror`` image, ``${…}``, a lone backtick, ``</script>``,
``<!--<script>``, ``javascript:``, U+202E, a very long string) is written into every field a
person or a file can fill: through the API as residents and staff would (suggestion title,
description, nickname, e-mail, comments, reply, reject reason, draft and its features, draft
comments, minutes, attachment and photo file names and captions, adopter's nickname, care notes,
staff display name) and into the community's data as an import would leave it (community, grid,
branch, building, site, compound, green, path and plant names, building numbers, species,
attribution). Then Debian's Chromium opens every page that shows them, with the map's tooltips
and popups opened: no script runs (an instrumented function is never called, no dialog opens),
no page error and no CSP violation happen, and the text is shown literally. The monthly report's
offline file is opened from disk the same way.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pypdf
import pytest
from PIL import Image

from renewmap.devtools.e2e import app_server
from tests.support.paths import DEMO_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DEMO = "310109010026"
G07_POINT = (121.4905, 31.2890)
PASSWORD = "a long enough password"
# Every attack at once (93 characters): each field gets it with a tag naming the field.
CORE = (
    '<script>__xss(1)</script>"><img src=x onerror=__xss(2)>${__xss(3)}`<!--<script>'
    "javascript:\u202e"
)


def hostile(tag: str) -> str:
    return f"{CORE}#{tag}"


NICK = '"><svg onload=__xss(4)>`${__xss(5)}#'  # nicknames hold 40 characters
EMAIL = '"><svg/onload=__xss(8)>`${__xss(9)}@x.cn'  # an e-mail address has no spaces
NUMBER_A = "<b>${__xss(6)}</b>`#b1"  # building numbers hold 32
NUMBER_B = '"><svg onload=__xss(7)>#b2'
STAIR = '"><svg onload=__xss(10)>`#st'  # a stairwell's number holds 32
LONG = hostile("long") + " " + "很长的描述" * 360  # near the 2,000 characters allowed
# Installed before any page script: the function the payloads call, the dialogs they would
# open, CSP violations, and the map each page announces.
PROBE = """
window.__xssHits = [];
window.__xss = (n) => window.__xssHits.push(n);
for (const name of ["alert", "confirm", "prompt"]) window[name] = () => window.__xssHits.push(name);
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
document.addEventListener("rm:map", (e) => { window.__rmMap = e.detail; });
"""
# The page's text as people see it (scripts, i.e. the JSON config, left out), with every
# tooltip and popup of the map opened in turn.
PAGE_TEXT = """
() => {
  const parts = [];
  const map = window.__rmMap;
  if (map) {
    const layers = [];
    map.eachLayer((l) => layers.push(l));
    for (const l of layers) {
      if (l.getTooltip && l.getTooltip()) {
        l.openTooltip();
        const el = l.getTooltip().getElement();
        if (el) parts.push(el.textContent);
        l.closeTooltip();
      }
    }
    for (const l of layers) {
      if (l.getPopup && l.getPopup()) {
        l.openPopup();
        const el = l.getPopup().getElement();
        if (el) parts.push(el.textContent);
        l.closePopup();
      }
    }
  }
  const body = document.body.cloneNode(true);
  for (const s of body.querySelectorAll("script")) s.remove();
  parts.push(body.textContent);
  return parts.join("\\n");
}
"""


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 200)).save(out, format="JPEG")
    return out.getvalue()


def _cli(db: str, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "RENEWMAP_DATABASE_URL": db, "RENEWMAP_ENV": "dev"}
    done = subprocess.run(
        [sys.executable, "-m", "renewmap.cli", *args],
        input=stdin,
        text=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _seed_places(db: str) -> dict[str, Any]:
    """Names, numbers and species as a hostile import would leave them."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from renewmap.db.engine import make_engine
    from renewmap.db.models import (
        Building,
        Community,
        Compound,
        GreenArea,
        Grid,
        Organisation,
        PartyBranch,
        Plant,
        Site,
        Stairwell,
    )
    from renewmap.db.models import (
        Path as PathRow,
    )
    from renewmap.spatial.geometry import from_db

    engine = make_engine(db)
    try:
        with Session(engine) as s, s.begin():
            community = s.scalars(select(Community).where(Community.code == DEMO)).one()
            community.name = hostile("community")
            community.attribution = hostile("attribution")
            community.site_version = (community.site_version or 1) + 1
            grid = s.scalars(select(Grid).where(Grid.code == "G07")).one()
            grid.name = hostile("grid")
            branch = s.get(PartyBranch, grid.branch_id)
            assert branch is not None
            branch.name = hostile("branch")
            general = s.get(PartyBranch, branch.parent_id)
            assert general is not None
            general.name = hostile("general")
            for compound in s.scalars(select(Compound)):
                compound.name = hostile("compound")
            numbered = s.scalars(
                select(Building).where(Building.number.is_not(None)).order_by(Building.id)
            ).all()
            numbered[0].number, numbered[1].number = NUMBER_A, NUMBER_B
            numbered[0].households = 12
            stairwell = s.scalars(
                select(Stairwell).where(Stairwell.building_id == numbered[0].id)
            ).first()
            assert stairwell is not None
            stairwell.number = STAIR
            # a building known only by its (imported) name, as the buildings' tables show it
            # (its tag has no "#b": the place search test looks for the two numbers)
            numbered[2].number, numbered[2].name = None, hostile("named")
            for green in s.scalars(select(GreenArea)):
                green.name, green.species = hostile("green"), hostile("greenspecies")
            for path in s.scalars(select(PathRow)):
                path.name = hostile("path")
            site = s.scalars(select(Site).where(Site.code == "S01")).one()
            site.name = hostile("site")
            inside = from_db(site.geom).representative_point()
            plant = s.scalars(select(Plant).order_by(Plant.id)).first()
            assert plant is not None
            plant.name, plant.species, plant.adoptable = hostile("plant"), hostile("species"), True
            for org in s.scalars(select(Organisation)):
                org.name = hostile("org")
            for group in s.scalars(
                select(PartyBranch).where(PartyBranch.level == "building_group")
            ):
                group.name = hostile("group")
            at = s.scalars(
                select(Building).where(Building.grid_id == grid.id).order_by(Building.id)
            ).first()
            assert at is not None
            door = from_db(at.geom).representative_point()
            return {
                "site_point": (inside.x, inside.y),
                "plant": plant.id,
                "building_point": (door.x, door.y),
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def hostile_world(database_url_factory, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The demo community full of hostile text, served by the real app (on this backend)."""
    tmp = tmp_path_factory.mktemp("xss")
    db = database_url_factory()
    _cli(db, "db", "upgrade")  # commands check the schema, they do not migrate
    _cli(db, "demo", "load", "--dir", str(DEMO_DIR), "--bare")
    seeded = _seed_places(db)
    _cli(
        db,
        "user",
        "add",
        "admin_xss",
        "--password-stdin",
        "--display-name",
        hostile("staff"),
        "--role",
        f"community_admin={DEMO}",
        "--role",
        f"subdistrict_admin={DEMO[:9]}",
        "--role",
        f"property_staff={DEMO}/WY1",
        stdin=PASSWORD + "\n",
    )
    with app_server(db, tmp / "server.log") as base:
        world = {"base": base, "db": db, "tmp": tmp, **seeded}
        world.update(_write_through_the_api(base, seeded))
        yield world


def _today() -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _in_a_week() -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(_today()) + timedelta(days=7)).isoformat()


def _ok(r: httpx.Response) -> Any:
    assert r.status_code in (200, 201), (r.request.url, r.status_code, r.text[:500])
    return r.json()


def _write_through_the_api(base: str, seeded: dict[str, Any]) -> dict[str, Any]:
    """Residents and staff fill every field they can with hostile text."""
    resident = httpx.Client(base_url=base, timeout=30)
    csrf = {"X-CSRF-Token": _ok(resident.get("/api/session"))["csrf_token"]}
    lon, lat = G07_POINT
    a = _ok(
        resident.post(
            "/api/suggestions",
            headers=csrf,
            data={
                "category": "lighting",
                "title": hostile("title"),
                "description": LONG,
                "nickname": NICK + "n1",
                "show_nickname": "true",
                "email": EMAIL,  # a valid address can still be hostile
                "lon": str(lon),
                "lat": str(lat),
            },
            files=[("photos", (hostile("photo") + ".jpg", jpeg(), "image/jpeg"))],
        )
    )
    b = _ok(
        resident.post(
            "/api/suggestions",
            headers=csrf,
            data={
                "category": "other",
                "title": hostile("rejected"),
                "lon": str(lon),
                "lat": str(lat + 0.0001),
            },
        )
    )
    bx, by = seeded["building_point"]
    _ok(
        resident.post(
            "/api/suggestions",
            headers=csrf,
            data={
                "category": "stairwell",
                "title": hostile("atbuilding"),
                "lon": str(bx),
                "lat": str(by),
            },
        )
    )
    sx, sy = seeded["site_point"]
    c = _ok(
        resident.post(
            "/api/suggestions",
            headers=csrf,
            data={
                "category": "greenery",
                "title": hostile("adopted"),
                "lon": str(sx),
                "lat": str(sy),
            },
        )
    )
    _ok(
        resident.post(
            f"/api/suggestions/{a['id']}/comments",
            headers=csrf,
            json={"body": hostile("comment"), "nickname": NICK + "n2"},
        )
    )
    staff = httpx.Client(base_url=base, timeout=30)
    _ok(staff.post("/api/staff/session", json={"username": "admin_xss", "password": PASSWORD}))
    h = {"X-CSRF-Token": staff.cookies["rm_csrf"]}

    def act(request: dict[str, Any], action: str, note: str) -> None:
        one = _ok(staff.get(f"/api/staff/requests/{request['id']}"))
        version = one["properties"]["version"]
        _ok(
            staff.post(
                f"/api/staff/requests/{request['id']}/actions",
                headers=h,
                json={"action": action, "version": version, "note": note},
            )
        )

    act(a, "reply", hostile("reply"))
    act(b, "reject", hostile("reject"))
    # the organisation: handed to the property company, decided by the four parties, a reply
    # template, a branch's patrol with its study session
    one = _ok(staff.get(f"/api/staff/requests/{a['id']}"))
    _ok(
        staff.post(
            f"/api/staff/requests/{a['id']}/actions",
            headers=h,
            json={
                "action": "assign_property",
                "version": one["properties"]["version"],
                "due": _in_a_week(),
                "org": "WY1",
                "note": hostile("assign"),
            },
        )
    )
    _ok(
        staff.post(
            "/api/staff/deliberations",
            headers=h,
            json={
                "community": DEMO,
                "request": a["id"],
                "held_on": "2026-11-20",
                "parties": ["residents_committee", "owners_committee", "property_company"],
                "attendees": hostile("attendees"),
                "question": hostile("question"),
                "decision": hostile("decision"),
            },
        )
    )
    _ok(
        staff.post(
            "/api/staff/reply-templates",
            headers=h,
            json={"community": DEMO, "title": hostile("template"), "body": hostile("tbody")},
        )
    )
    _ok(
        staff.post(
            "/api/staff/patrols",
            headers=h,
            json={
                "community": DEMO,
                "grids": ["G07"],
                "day": _today(),
                "participants": hostile("walkers"),
                "study_topic": hostile("study"),
                "notes": hostile("pnotes"),
                "route": {
                    "type": "LineString",
                    "coordinates": [list(G07_POINT), [lon + 0.0002, lat]],
                },
            },
        )
    )
    site = f"/api/design/communities/{DEMO}/sites/S01"
    d1 = _ok(
        staff.post(f"{site}/drafts", headers=h, json={"name": hostile("draft"), "from_site": True})
    )
    ring = [
        [sx - 0.00003, sy - 0.00003],
        [sx + 0.00003, sy - 0.00003],
        [sx + 0.00003, sy + 0.00003],
        [sx - 0.00003, sy + 0.00003],
        [sx - 0.00003, sy - 0.00003],
    ]
    features = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"kind": "zone", "name": hostile("feature")},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [sx, sy]},
                "properties": {
                    "kind": "plant",
                    "name": hostile("fplant"),
                    "species": hostile("fspecies"),
                },
            },
        ],
    }
    saved = _ok(staff.get(f"/api/design/drafts/{d1['id']}"))
    _ok(
        staff.put(
            f"/api/design/drafts/{d1['id']}/features",
            headers=h,
            json={"version": saved["version"], "features": features},
        )
    )
    _ok(
        staff.put(
            f"/api/design/drafts/{d1['id']}/adopts", headers=h, json={"request_ids": [c["id"]]}
        )
    )
    d2 = _ok(
        staff.post(
            f"{site}/drafts", headers=h, json={"name": hostile("draft2"), "copy_from": d1["id"]}
        )
    )
    for d in (d1, d2):
        public = {"public": True, "acknowledge_violations": True}
        _ok(staff.put(f"/api/design/drafts/{d['id']}/public", headers=h, json=public))
    _ok(
        staff.post(
            f"{site}/stage", headers=h, json={"stage": "consultation", "reason": hostile("skip")}
        )
    )
    _ok(staff.put(f"{site}/stages/consultation", headers=h, json={"minutes": hostile("minutes")}))
    attachment = _ok(
        staff.post(
            f"{site}/stages/consultation/attachments",
            headers=h,
            files={"file": (hostile("file") + ".txt", b"minutes of the meeting", "text/plain")},
        )
    )
    _ok(
        staff.post(
            f"{site}/photos",
            headers=h,
            data={"phase": "before", "taken_on": "2026-10-01", "caption": hostile("caption")},
            files={"file": (hostile("sitephoto") + ".jpg", jpeg(), "image/jpeg")},
        )
    )
    _ok(
        resident.post(
            f"/api/sites/{DEMO}/S01/drafts/1/comments",
            headers=csrf,
            json={
                "body": hostile("dcomment"),
                "nickname": NICK + "n3",
                "point": {"type": "Point", "coordinates": [sx, sy]},
            },
        )
    )
    plant = seeded["plant"]
    _ok(
        resident.post(f"/api/plants/{plant}/adoption", headers=csrf, json={"nickname": NICK + "n4"})
    )
    _ok(
        resident.post(
            f"/api/plants/{plant}/care",
            headers=csrf,
            json={"kind": "note", "note": hostile("care")},
        )
    )
    # issue 17: the draft's description, household forms (a building number in every label),
    # a second site with its own description, decided and on display, objected to, answered;
    # a facility's name
    _ok(
        staff.put(
            f"/api/design/drafts/{d1['id']}/details",
            headers=h,
            json={"name": hostile("draft"), "description": hostile("ddesc")},
        )
    )
    forms = staff.post(
        f"{site}/households/forms",
        headers=h,
        json={"buildings": [{"building": NUMBER_A, "households": 2}]},
    )
    assert forms.status_code == 200, forms.text
    text = "".join(
        ch
        for page in pypdf.PdfReader(io.BytesIO(forms.content)).pages
        for ch in page.extract_text()
        if ch.isprintable() and not ch.isspace()
    )
    code = re.search(r"(?<![0-9A-Z])([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})(?![0-9A-Z])", text)
    assert code, text[:300]
    outline = _ok(staff.get(f"/api/communities/{DEMO}/layers/site"))["features"][0]["geometry"]
    other = f"/api/design/communities/{DEMO}/sites/S09"
    _ok(
        staff.post(
            f"/api/design/communities/{DEMO}/sites",
            headers=h,
            json={"name": hostile("site9"), "code": "S09", "description": hostile("sdesc"),
                  "geometry": outline},
        )
    )  # fmt: skip
    d9 = _ok(staff.post(f"{other}/drafts", headers=h, json={"name": hostile("draft9")}))
    _ok(staff.put(f"/api/design/drafts/{d9['id']}/public", headers=h, json={"public": True}))
    _ok(staff.post(f"{other}/stage", headers=h, json={"stage": "consultation", "reason": "x"}))
    _ok(staff.put(f"{other}/decision", headers=h, json={"draft": 1, "reasons": hostile("reasons")}))
    _ok(staff.post(f"{other}/stage", headers=h, json={"stage": "announcement", "reason": "x"}))
    objection = _ok(
        resident.post(
            f"/api/sites/{DEMO}/S09/objections",
            headers=csrf,
            json={"body": hostile("objection"), "nickname": NICK + "n5"},
        )
    )
    _ok(
        staff.post(
            f"/api/design/objections/{objection['id']}/answer",
            headers=h,
            json={"answer": hostile("answer")},
        )
    )
    _ok(
        staff.post(
            f"/api/design/communities/{DEMO}/facilities",
            headers=h,
            json={"type": "story_window", "name": hostile("facility"),
                  "geometry": {"type": "Point", "coordinates": [sx, sy]}},
        )
    )  # fmt: skip
    _write_records(base, staff, h, resident, csrf)
    steps = attachment.get("steps") or []
    names = [x["filename"] for s in steps for x in s.get("attachments", [])]
    return {
        "code": code.group(1),
        "a": a,
        "b": b,
        "c": c,
        "d1": d1["id"],
        "d2": d2["id"],
        "attachment": next((n for n in names if "#file" in n), hostile("file") + ".txt"),
        "staff_cookies": dict(staff.cookies),
    }


UNIT = "<b>${__xss(8)}#u"  # units hold 16 characters
SKILL = NICK + "sk"  # skills hold 40
# The records' fields (issue 18) that people fill, each tagged.
RECORDS = (
    "mtitle",
    "mplace",
    "mminutes",
    "mdecisions",
    "ptitle",
    "pbody",
    "pcaption",
    "declined",
    "moneyitem",
    "material",
    "donor",
    "person",
    "org",
    "team",
    "purpose",
    "ctitle",
    "fac",
    "cbody",
    "etitle",
    "eplace",
    "edesc",
    "signup",
    "pts",
)


def _write_records(
    base: str, staff: httpx.Client, h: dict[str, str], resident: httpx.Client, csrf: dict[str, str]
) -> None:
    """Participation records (meetings, proposals, money, people, teams, conventions, events,
    points) filled with hostile text by staff, and a resident's sign-up."""
    from datetime import date, timedelta

    rec = f"/api/records/communities/{DEMO}"
    person = _ok(
        staff.post(
            f"{rec}/people",
            headers=h,
            json={
                "name": hostile("person"),
                "phone": "13900001111",
                "roles": ["partner"],
                "partner_kind": "media",
                "organisation": hostile("org"),
                "skills": [SKILL],
                "consent_on": "2025-03-01",
            },
        )
    )
    _ok(
        staff.post(
            f"{rec}/meetings",
            headers=h,
            json={
                "kind": "joint",
                "title": hostile("mtitle"),
                "held_on": "2025-05-08",
                "place": hostile("mplace"),
                "parties": ["residents_committee"],
                "attendees": [
                    {"role": "resident_reps", "name": hostile("attendee")[:100], "count": 2},
                    {"role": "partners", "person": person["id"]},
                ],
                "minutes": hostile("mminutes"),
                "decisions": hostile("mdecisions"),
                "step": {"site": "S01", "stage": "joint_meeting"},  # on the site's timeline
            },
        )
    )
    numbers = []  # the demo's own proposals come first: these get the next numbers
    # the first has a place on the map (its tooltip on /c/{code}/proposals) and a photo
    place = {"type": "Point", "coordinates": list(G07_POINT)}
    for title, geometry in ((hostile("ptitle"), place), (hostile("declined") + "t", None)):
        made = _ok(
            staff.post(
                f"{rec}/proposals",
                headers=h,
                json={
                    "title": title,
                    "body": hostile("pbody"),
                    "proposer_kind": "resident",
                    "public": True,
                    "shown_as": NICK + "n6",
                    "submitted_on": "2025-04-01",
                    "geometry": geometry,
                },
            )
        )
        numbers.append(made["number"])
    _ok(
        staff.post(
            f"{rec}/proposals/{numbers[0]}/photos",
            headers=h,
            data={"caption": hostile("pcaption")},
            files=[("file", (hostile("pfile") + ".jpg", jpeg(), "image/jpeg"))],
        )
    )
    _ok(
        staff.post(
            f"{rec}/proposals/{numbers[1]}/status",
            headers=h,
            json={"version": 1, "status": "declined", "reason": hostile("declined")},
        )
    )
    money = f"{rec}/sites/S01/money"
    _ok(
        staff.post(
            money,
            headers=h,
            json={
                "kind": "spending",
                "item": hostile("moneyitem"),
                "amount": "10",
                "day": "2025-05-01",
            },
        )
    )
    _ok(
        staff.post(
            money,
            headers=h,
            json={
                "kind": "material",
                "item": hostile("material"),
                "quantity": 3,
                "unit": UNIT,
                "contributor": hostile("donor"),
                "day": "2025-05-02",
            },
        )
    )
    team = _ok(
        staff.post(
            f"{rec}/teams",
            headers=h,
            json={
                "name": hostile("team"),
                "purpose": hostile("purpose"),
                "founded_on": "2025-01-01",
            },
        )
    )
    _ok(
        staff.post(
            f"/api/records/teams/{team['id']}/members",
            headers=h,
            json={"people": [person["id"]], "joined_on": "2025-02-01"},
        )
    )
    _ok(
        staff.post(
            f"{rec}/conventions",
            headers=h,
            json={
                "title": hostile("ctitle"),
                "scope": "facility",
                "facility": hostile("fac"),
                "body": hostile("cbody"),
                "adopted_on": "2025-04-01",  # households with forms agree by code
            },
        )
    )
    event = _ok(
        staff.post(
            f"{rec}/events",
            headers=h,
            json={
                "kind": "workshop",
                "title": hostile("etitle"),
                "day": (date.today() + timedelta(days=30)).isoformat(),
                "place": hostile("eplace"),
                "description": hostile("edesc"),
            },
        )
    )
    _ok(
        resident.post(
            f"/api/communities/{DEMO}/events/{event['id']}/signups",
            headers=csrf,
            json={"name": hostile("signup"), "party": 2},
        )
    )
    _ok(
        staff.post(
            f"{rec}/points",
            headers=h,
            json={
                "person": person["id"],
                "kind": "volunteering",
                "hours": 2,
                "item": hostile("pts"),
                "day": "2025-05-03",
            },
        )
    )


class Tags(HTMLParser):
    """Every start tag of a document with its attributes (script contents are not tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


class Reader:
    """A browser context that opens pages and checks each as described above."""

    def __init__(self, browser: Any, base: str, **options: Any) -> None:
        self.base = base
        self.context = browser.new_context(locale="zh-CN", **options)
        self.context.set_default_timeout(30_000)
        self.context.add_init_script(PROBE)
        self.problems: list[str] = []
        allowed = ("http://127.0.0.1", "file://", "data:", "blob:")

        def route(r: Any) -> None:
            if r.request.url.startswith(allowed):
                r.continue_()
            else:
                self.problems.append(f"external request {r.request.url}")
                r.abort()

        self.context.route("**/*", route)

    def read(
        self, url: str, expect: list[str], *, ready: str | None = None, act: Any = None
    ) -> str:
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.problems.append(f"{url}: page error {e}"))
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"{url}: console {m.text}") if m.type == "error" else None
            ),
        )
        page.on(
            "dialog", lambda d: (self.problems.append(f"{url}: dialog {d.message}"), d.dismiss())
        )
        page.goto(url if url.startswith("file:") else self.base + url)
        page.wait_for_load_state("networkidle")
        if ready:
            page.wait_for_function(ready, polling=100)
        if act is not None:
            act(page)
        # long hostile names wrap: the page is never wider than the screen
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{url}: {wide} px wider than the screen"
        text = page.evaluate(PAGE_TEXT)
        hits = page.evaluate("window.__xssHits")
        csp = page.evaluate("window.__csp")
        page.close()
        assert hits == [], f"{url}: script ran: {hits}"
        assert csp == [], f"{url}: CSP violations: {csp}"
        missing = [e for e in expect if e not in text]
        assert missing == [], f"{url}: not shown literally: {missing}"
        return text

    def close(self) -> None:
        self.context.close()
        assert self.problems == [], self.problems


MAP = "() => window.__rmMap !== undefined"


def test_residents_pages_show_hostile_text_as_text(browser, hostile_world) -> None:
    w = hostile_world
    phone = Reader(
        browser,
        w["base"],
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )

    def open_comments(page: Any) -> None:
        item = page.locator("#rm-list li", has_text="#title").first
        item.locator("summary").click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.rm-comments li')]"
            ".some((li) => li.textContent.includes('#comment'))",
            polling=100,
        )
        item.locator(".rm-locate").click()  # its popup on the map
        page.wait_for_selector(".leaflet-popup-content")
        assert hostile("title") in page.text_content(".leaflet-popup-content")

    phone.read(
        f"/c/{DEMO}#browse",
        [
            hostile(t)
            for t in (
                "community",
                "grid",
                "title",
                "comment",
                "site",
                "green",
                "path",
                "greenspecies",
                "attribution",
            )
        ]
        + [LONG, NICK + "n2", NUMBER_A, NUMBER_B],
        ready="() => document.querySelectorAll('#rm-list li').length > 0",
        act=open_comments,
    )

    def submit(page: Any) -> None:
        # the place search lists the buildings by their numbers, as text
        page.fill("#rm-find-q", "#b")
        page.locator("#rm-find button").tap()
        page.wait_for_function(
            "() => document.querySelectorAll('#rm-places .rm-place').length === 2", polling=100
        )
        # the receipt names the grid and its branch that will handle it
        # (the hostile suggestions already made sit at this point: the pin goes to the map's
        # centre, put there, rather than by a tap that would open theirs)
        page.evaluate(
            "([lon, lat]) => window.__rmMap.setView([lat, lon], 19, {animate: false})",
            list(G07_POINT),
        )
        page.locator("#rm-centre").tap()
        page.wait_for_selector(".leaflet-marker-draggable")
        page.locator(".rm-cat[data-code=lighting]").tap()
        # similar suggestions nearby: the hostile one among them, as text
        page.wait_for_selector("#rm-nearby li")
        page.fill("#rm-title", hostile("ui"))
        page.locator("#rm-submit").tap()
        page.wait_for_selector("#rm-receipt:not([hidden])")

    phone.read(
        f"/c/{DEMO}",
        [hostile("grid"), hostile("branch"), hostile("title"), NUMBER_A, NUMBER_B],
        ready=MAP,
        act=submit,
    )

    def enter_code(page: Any) -> None:
        # the household's label carries a building number from the data
        page.fill("#rm-code", w["code"])
        page.locator("#rm-household button").tap()
        page.wait_for_function(
            "() => document.querySelector('#rm-household-who').textContent !== ''", polling=100
        )

    phone.read(
        w["a"]["follow_url"],
        [hostile(t) for t in ("title", "grid", "reply", "org", "attendees", "question", "decision")]
        + [LONG],
    )
    phone.read(w["b"]["follow_url"], [hostile("rejected"), hostile("reject")])
    phone.read(
        f"/c/{DEMO}/sites/S01",
        [
            hostile(t)
            for t in (
                "site",
                "community",
                "draft",
                "draft2",
                "feature",
                "fplant",
                "fspecies",
                "dcomment",
                "plant",
                "caption",
                "minutes",
                "adopted",
                "ddesc",
                "skip",
                "mtitle",  # the 联席会 step's meeting record
                "mdecisions",
            )
        ]
        + [NICK + "n3", w["attachment"], NUMBER_A],
        ready="() => document.querySelectorAll('article.rm-draft').length === 2",
        act=enter_code,
    )
    phone.read(
        f"/c/{DEMO}/sites/S09",
        [hostile(t) for t in ("site9", "sdesc", "draft9", "reasons", "objection", "answer")]
        + [NICK + "n5"],
        ready="() => !document.querySelector('#rm-objections').hidden"
        " && !document.querySelector('#rm-decision').hidden",
    )
    phone.read(f"/c/{DEMO}/sites", [hostile("site"), hostile("site9"), hostile("sdesc")])
    phone.read(
        f"/p/{w['plant']}", [hostile("plant"), hostile("species"), hostile("care"), NICK + "n4"]
    )
    phone.read("/", [hostile("community")])

    def proposal_tooltip(page: Any) -> None:
        # the hostile proposal's marker: its tooltip holds the title as text
        tips = page.evaluate(
            """() => { const out = []; window.__rmMap.eachLayer((l) => {
              if (l.getTooltip && l.getTooltip()) { l.openTooltip();
                out.push(l.getTooltip().getElement().textContent); l.closeTooltip(); } });
              return out; }"""
        )
        assert any(hostile("ptitle") in t for t in tips), tips
        # its photo's thumbnail leads to the full size; the caption is text
        link = page.locator("#rm-proposals .rm-photos a").first
        assert link.get_attribute("href").startswith("/api/proposal-photos/")
        link.scroll_into_view_if_needed()  # thumbnails load lazily
        page.wait_for_function(
            "() => [...document.querySelectorAll('#rm-proposals .rm-photos img')]"
            ".every((img) => img.complete && img.naturalWidth > 0)",
            polling=100,
        )

    phone.read(
        f"/c/{DEMO}/proposals",
        [hostile(t) for t in ("ptitle", "pbody", "declined", "pcaption")] + [NICK + "n6"],
        ready=MAP,
        act=proposal_tooltip,
    )
    phone.read(f"/c/{DEMO}/sites/S01/disclosure", [hostile("moneyitem"), hostile("material"), UNIT])
    phone.read(
        f"/c/{DEMO}/conventions", [*(hostile(t) for t in ("ctitle", "fac", "cbody")), NUMBER_A]
    )
    phone.read(f"/c/{DEMO}/events", [hostile(t) for t in ("etitle", "eplace", "edesc")])
    phone.close()


def test_staff_pages_show_hostile_text_as_text(browser, hostile_world) -> None:
    w = hostile_world
    desk = Reader(browser, w["base"], viewport={"width": 1280, "height": 860})
    desk.context.add_cookies(
        [{"name": k, "value": v, "url": w["base"]} for k, v in w["staff_cookies"].items()]
    )

    def open_request(page: Any) -> None:
        page.locator(".rm-open", has_text="#title").first.click()
        page.wait_for_selector("#rm-d-history li")
        page.select_option("#rm-template", label=hostile("template"))  # fills the reply
        assert page.input_value("#rm-reply-text") == hostile("tbody")

    desk.read(
        "/staff",
        [
            hostile("staff"),
            hostile("title"),
            hostile("grid"),
            hostile("reply"),
            LONG,
            NICK + "n1",
            NUMBER_A,
            NUMBER_B,
            hostile("org"),
            hostile("decision"),
            hostile("template"),
            EMAIL,
        ],
        ready="() => document.querySelector('#rm-count').textContent !== ''",
        act=open_request,
    )

    def open_at_building(page: Any) -> None:
        page.locator(".rm-open", has_text="#atbuilding").first.click()
        page.wait_for_selector("#rm-d-group")

    desk.read(
        "/staff",
        [hostile("atbuilding"), hostile("group")],
        ready="() => document.querySelector('#rm-count').textContent !== ''",
        act=open_at_building,
    )
    desk.read("/staff/town", [hostile("community")], ready=MAP)
    desk.read(
        f"/staff/property?community={DEMO}", [hostile("title"), hostile("org"), hostile("grid")]
    )
    desk.read(
        f"/staff/overview?community={DEMO}", [hostile("grid"), hostile("community")], ready=MAP
    )
    buildings_table = (
        "() => window.__rmMap !== undefined"
        " && document.querySelectorAll('#rm-buildings tbody tr').length > 0"
    )
    desk.read(
        f"/staff/boundaries?community={DEMO}",
        [hostile("grid"), NUMBER_A, NUMBER_B, hostile("named")],
        ready=buildings_table,
    )

    def setup_inputs(page: Any) -> None:
        # what the setup page puts into its inputs (stairwells, branch names) is their value
        wells = page.eval_on_selector_all(".rm-stairwells", "es => es.map(e => e.value)")
        assert any(STAIR in w for w in wells), wells
        assert page.input_value("#rm-b-general") == hostile("general")
        names = page.eval_on_selector_all(".rm-b-name", "es => es.map(e => e.value)")
        assert hostile("branch") in names, names

    desk.read(
        f"/staff/setup?community={DEMO}",
        # the grids' branches are chosen from a list of the branch names (as text)
        [hostile("community"), NUMBER_A, NUMBER_B, hostile("named"), hostile("branch")],
        ready=buildings_table.replace("#rm-buildings", "#rm-later:not([hidden]) #rm-buildings")
        + " && document.querySelectorAll('#rm-b-grids tbody tr').length > 0",
        act=setup_inputs,
    )

    def open_facilities(page: Any) -> None:
        page.locator("#rm-facilities summary").click()
        page.wait_for_selector("#rm-facility-list li")

    desk.read(
        f"/staff/design?community={DEMO}&site=S01",
        [hostile(t) for t in ("site", "draft", "draft2", "minutes", "skip", "facility")]
        + [w["attachment"], NICK + "n4", NUMBER_A],
        ready="() => window.__rmMap && document.querySelector('#rm-turnout-rows tr')",
        act=open_facilities,
    )
    desk.read(
        f"/staff/design?community={DEMO}&site=S09",
        [hostile(t) for t in ("site9", "draft9", "reasons", "objection")] + [NICK + "n5"],
        ready="() => document.querySelector('#rm-objection-list li form') !== null",
    )
    desk.read(
        f"/staff/design/drafts/{w['d1']}",
        [hostile("draft"), hostile("site"), hostile("adopted"), hostile("ddesc")],
        ready="() => document.querySelector('#rm-metrics-table') !== null",
    )
    desk.read(
        f"/staff/design/compare?a={w['d1']}&b={w['d2']}",
        [hostile("draft"), hostile("draft2"), hostile("site")],
        ready=MAP,
    )
    desk.read(
        f"/staff/coverage?community={DEMO}", [NUMBER_A, NUMBER_B, hostile("community")], ready=MAP
    )
    desk.read(
        f"/staff/records?community={DEMO}",
        [hostile(t) for t in RECORDS] + [hostile("attendee")[:100], SKILL, UNIT, NICK + "n6"],
        ready="() => document.querySelector('#rm-money li ul') !== null"
        " && document.querySelector('#rm-events li[data-id]') !== null",
    )
    report = [hostile(t) for t in ("grid", "community", "title", "study", "walkers", "pnotes")]
    desk.read(f"/staff/report?community={DEMO}&grid=G07", report, ready=MAP)
    # the offline file of the same report, opened from disk: no network at all
    out = w["tmp"] / "report.html"
    _cli(w["db"], "report", "--community", DEMO, "--grid", "G07", "--out", str(out))
    tags = Tags()
    tags.feed(out.read_text(encoding="utf-8"))
    names = [tag for tag, _ in tags.tags]
    assert "iframe" not in names and "div" in names  # the map is part of the document
    assert not [a for _, attrs in tags.tags for a in attrs if a == "srcdoc" or a.startswith("on")]
    scripts = [attrs for tag, attrs in tags.tags if tag == "script"]
    assert all("src" not in a for a in scripts)  # everything inlined: the file needs no server
    desk.read(out.as_uri(), report, ready=MAP)
    desk.close()


def test_the_overview_colours_every_grid_and_keeps_its_table_readable(
    browser, hostile_world
) -> None:
    w = hostile_world
    desk = Reader(browser, w["base"], viewport={"width": 1280, "height": 860})
    desk.context.add_cookies(
        [{"name": k, "value": v, "url": w["base"]} for k, v in w["staff_cookies"].items()]
    )
    page = desk.context.new_page()
    page.goto(f"{w['base']}/staff/overview?community={DEMO}")
    page.wait_for_function(MAP, polling=100)
    grids = page.evaluate(
        """() => { const out = [];
          window.__rmMap.eachLayer((l) => {
            if (l.feature && l.feature.properties && 'step' in l.feature.properties) {
              out.push({code: l.feature.properties.code, open: l.feature.properties.open,
                        fill: l.options.fillColor, opacity: l.options.fillOpacity});
            }
          });
          return out; }"""
    )
    rows = page.locator("#rm-stats tbody tr").count()
    # every grid of the table is on the map, filled with its step's colour
    steps = {0: "#ffffff", 1: "#ffe8cc", 3: "#ffc078", 6: "#fd7e14", 10: "#d9480f"}
    assert len(grids) == rows == 7
    for g in grids:
        expected = steps[max(t for t in steps if g["open"] >= t)]
        assert (g["fill"], g["opacity"]) == (expected, 0.75), g
    assert any(g["open"] > 0 for g in grids)
    # the table's headers and figures each keep to one line
    heights = page.evaluate(
        """() => [...document.querySelectorAll('#rm-stats th, #rm-stats td')].map((c) => {
          const line = parseFloat(getComputedStyle(c).lineHeight)
            || parseFloat(getComputedStyle(c).fontSize) * 1.5;
          return c.getBoundingClientRect().height / line; })"""
    )
    assert heights and max(heights) < 2.0, heights
    page.close()
    desk.close()
