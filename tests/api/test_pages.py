"""Pages cannot be turned against their readers: every page comes from autoescaping templates
and carries a strict Content-Security-Policy with its own nonce; everything else is sent with
``default-src 'none'``; production adds HSTS and Secure cookies (both databases)."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser

import pytest

from renewmap.db.models import Plant
from renewmap.services.access import accounts
from renewmap.settings import Settings
from renewmap.web import assets
from renewmap.web.render import environment, render
from tests.support import clients
from tests.support.paths import SRC

DEMO = "310109010026"
TEMPLATES = SRC / "web" / "templates"
HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>${alert(3)}`'


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def check_page(response, *, img: tuple[str, ...] = (), referrer: str = "same-origin") -> None:
    """A page's headers and markup: strict CSP whose nonce every script carries, no inline
    script, handler or style."""
    assert response.headers["content-type"].startswith("text/html")
    csp = directives(response.headers["content-security-policy"])
    nonce = csp["script-src"][1].removeprefix("'nonce-").removesuffix("'")
    assert len(nonce) >= 16
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert csp["img-src"] == ["'self'", *img]
    for name in ("style-src", "font-src", "connect-src"):
        assert csp[name] == ["'self'"], name
    for name in ("frame-ancestors", "object-src", "base-uri"):
        assert csp[name] == ["'none'"], name
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == referrer
    parser = Tags()
    parser.feed(response.text)
    assert parser.tags, "a page"
    for tag, attrs in parser.tags:
        assert tag not in ("style", "iframe", "object", "embed", "base"), tag
        assert not [a for a in attrs if a.startswith("on") or a in ("style", "srcdoc")], tag
        if tag == "script":
            if attrs.get("type") == "application/json":
                assert "src" not in attrs
            else:
                assert attrs.get("nonce") == nonce and attrs.get("src", "").startswith("/static/")


@pytest.fixture
def pages(make_client, session):
    """A resident's follow link, and a signed-in community admin with two drafts of S01."""
    accounts.create_user(
        session,
        username="admin_pages",
        password="correct horse battery",
        display_name=HOSTILE,
        roles=[
            ("community_admin", DEMO),
            ("subdistrict_admin", DEMO[:9]),
            ("property_staff", f"{DEMO}/WY1"),
        ],
    )
    session.flush()
    c = make_client()
    csrf = c.get("/api/session").json()["csrf_token"]
    posted = c.post(
        "/api/suggestions",
        headers={"X-CSRF-Token": csrf},
        data={"category": "lighting", "title": HOSTILE, "lon": "121.4905", "lat": "31.289"},
    )
    assert posted.status_code == 201, posted.text
    signed = c.post(
        "/api/staff/session",
        json={"username": "admin_pages", "password": "correct horse battery"},
    )
    assert signed.status_code == 200, signed.text
    staff = {"X-CSRF-Token": c.cookies["rm_csrf"]}
    base = f"/api/design/communities/{DEMO}/sites/S01/drafts"
    a = c.post(base, headers=staff, json={"name": HOSTILE, "from_site": True}).json()
    b = c.post(base, headers=staff, json={"name": "B", "copy_from": a["id"]}).json()
    return c, posted.json()["follow_url"], a["id"], b["id"]


def test_every_page_carries_a_strict_policy_with_its_own_nonce(pages, session) -> None:
    c, follow, a, b = pages
    plant = session.query(Plant).order_by(Plant.id).first()
    html = {"Accept": "text/html"}
    urls = [
        "/",
        "/docs",
        f"/c/{DEMO}/sites",
        f"/c/{DEMO}/sites/S01",
        f"/p/{plant.id}",
        "/staff/login",
        "/staff",
        f"/staff/overview?community={DEMO}",
        f"/staff/boundaries?community={DEMO}",
        f"/staff/design?community={DEMO}&site=S01",
        f"/staff/design/compare?a={a}&b={b}",
        f"/staff/coverage?community={DEMO}",
        f"/staff/report?community={DEMO}&grid=G07",
        f"/staff/report?community={DEMO}&branch={DEMO}-B1",
        "/staff/town",
        f"/staff/property?community={DEMO}",
    ]
    nonces = set()
    for url in urls:
        r = c.get(url, headers=html)
        assert r.status_code == 200, (url, r.text[:300])
        check_page(r)
        nonces.add(directives(r.headers["content-security-policy"])["script-src"][1])
        assert "<script>alert(2)</script>" not in r.text, url
    assert len(nonces) == len(urls)  # a new nonce for every response
    # the drawing page also allows Leaflet-Geoman's data: icons; the follow page sends no
    # Referer (its address holds the private token)
    check_page(c.get(f"/staff/design/drafts/{a}", headers=html), img=("data:",))
    # the residents' page previews the photos a resident chooses from the phone (blob: URLs,
    # which only the page's own script can make)
    check_page(c.get(f"/c/{DEMO}", headers=html), img=("blob:",))
    check_page(c.get(follow, headers=html), referrer="no-referrer")
    # error pages for people too
    missing = c.get("/c/NOPE", headers=html)
    assert missing.status_code == 404
    check_page(missing)


class Text(HTMLParser):
    """What a page says (its text and the labels of its controls); scripts, the suggestions of
    a <datalist> and text marked as another language (Latin plant names) left out."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._closing: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # code: a file's keys, the same in every language
        if tag in ("script", "style", "datalist", "code") or dict(attrs).get("lang") == "la":
            self._skip += 1
            self._closing.append(tag)
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "title", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._closing and tag == self._closing[-1]:
            self._closing.pop()
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


# Names, formats and standards that are the same in every language.
NOT_ENGLISH = {
    "RenewMap", "Leaflet", "OpenStreetMap", "ODbL", "GeoPackage", "GeoJSON", "DXF", "PNG", "SVG",
    "QR", "API", "OpenAPI", "EPSG", "CSV", "Excel", "EN", "Asia", "Shanghai", "contributors",
    "JPEG", "WebP", "PDF", "GPS",
}  # fmt: skip


def test_chinese_pages_say_nothing_in_english(pages, session) -> None:
    """In the zh_CN pages (before their scripts run), every word comes from the catalog."""
    import html as htmllib

    c, follow, a, b = pages
    plant = session.query(Plant).order_by(Plant.id).first()
    zh = {"Accept": "text/html", "Accept-Language": "zh-CN"}
    urls = [
        "/", f"/c/{DEMO}", f"/c/{DEMO}/sites", f"/c/{DEMO}/sites/S01", f"/p/{plant.id}",
        "/staff/login", "/staff", f"/staff/overview?community={DEMO}",
        f"/staff/boundaries?community={DEMO}", f"/staff/design?community={DEMO}&site=S01",
        f"/staff/design/drafts/{a}", f"/staff/design/compare?a={a}&b={b}",
        f"/staff/coverage?community={DEMO}", f"/staff/report?community={DEMO}&grid=G07",
        f"/staff/report?community={DEMO}&branch={DEMO}-B1", "/staff/town",
        f"/staff/property?community={DEMO}", follow, "/c/NOPE",
    ]  # fmt: skip
    for url in urls:
        r = c.get(url, headers=zh)
        parser = Text()
        parser.feed(r.text)
        said = htmllib.unescape(" ".join(parser.parts)).replace(HOSTILE, " ")
        said = re.sub(r"\bRM[A-Z0-9]{4,}\b", " ", said)  # receipt codes
        words = {w for w in re.findall(r"[A-Za-z]{3,}", said) if w not in NOT_ENGLISH}
        # the error page quotes the precise message of the service (translated by services)
        if url == "/c/NOPE":
            continue
        assert words == set(), (url, sorted(words))


@pytest.mark.parametrize(
    "url", ["/api/communities", "/openapi.json", "/static/js/resident.js", "/health"]
)
def test_everything_else_may_run_nothing(client, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 200, url
    assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in r.headers  # not in dev/test
    assert client.get("/api/communities/NOPE").headers["x-content-type-options"] == "nosniff"
    # Swagger UI / ReDoc would load a CDN: /docs is our own page, /redoc is gone
    assert client.get("/redoc").status_code == 404
    check_page(client.get("/docs"))


def test_a_revalidated_page_keeps_the_policy_it_came_with(client) -> None:
    """A 304 sends no new policy: the browser keeps the page and the nonce it was sent with."""
    first = client.get(f"/c/{DEMO}")
    again = client.get(f"/c/{DEMO}", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and "content-security-policy" not in again.headers


def test_production_sends_hsts_and_secure_cookies(make_client) -> None:
    c = make_client(
        env="prod",
        secret_key="prod-secret-of-at-least-32-bytes!",
        allowed_hosts="testserver",
        public_base_url="https://testserver",
    )
    r = c.get("/api/session")
    cookies = r.headers.get_list("set-cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies)
    page = c.get(f"/c/{DEMO}?lang=en")
    assert all("Secure" in cookie for cookie in page.headers.get_list("set-cookie"))
    for response in (r, page):
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_tile_host_may_serve_images(make_client) -> None:
    c = make_client(
        tiles_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        tiles_attribution="Example tiles",
        tiles_subdomains="ab",
    )
    r = c.get(f"/c/{DEMO}")
    # Leaflet cancels a tile by pointing it at a data: image; photo previews are blob: URLs
    tiles = ("https://a.tiles.example.org", "https://b.tiles.example.org", "data:")
    check_page(r, img=(*tiles, "blob:"))


def test_templates_autoescape_everything() -> None:
    env = environment()
    for path in TEMPLATES.rglob("*.html"):
        name = path.relative_to(TEMPLATES).as_posix()
        source = path.read_text(encoding="utf-8")
        # nothing may switch escaping off or mark text as safe HTML
        assert "|safe" not in source.replace(" ", "") and "autoescape" not in source, name
        assert env.select_autoescape(name) if callable(env.autoescape) else env.autoescape
    page = render("error.html", locale="zh_CN", nonce="n", status=404, detail=HOSTILE, headline="x")
    assert "<script>alert(2)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    # data for scripts: nothing inside the JSON block can close it
    block = render(
        "staff/login.html", locale="en", nonce="n", config={"next": "</script><!--<script>"}
    )
    data = re.search(r'id="rm-config">(.*?)</script>', block, re.S)
    assert data is not None and "<" not in data.group(1)
    assert '"\\u003c/script\\u003e\\u003c!--\\u003cscript\\u003e"' in data.group(1)


def test_the_report_module_bundles_without_imports() -> None:
    """The offline report's script: our modules in one, with no import or export left, that a
    JavaScript engine parses."""
    order = assets.module_order("js/report.js")
    assert order[-1] == "js/report.js" and "js/lib/sitemap.js" in order
    code = assets.bundle("js/report.js")
    assert not re.search(r"^\s*(import|export)\b", code, re.M)
    done = subprocess.run(
        [clients.node(), "--input-type=module", "--check"],
        input=code,
        text=True,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr


def test_pages_carry_only_the_words_their_scripts_use() -> None:
    words = assets.msgids("js/resident.js")
    assert "Support (+1)" in words and "Submit" in words
    assert "Bill of quantities" not in words  # the drawing page's, not the residents'


def test_times_are_shown_in_the_communitys_time_zone() -> None:
    from renewmap.web.render import local_date, local_time

    # 17:30 UTC on 30 November is 01:30 on 1 December in Shanghai
    assert local_time("2026-11-30T17:30:00+00:00") == "2026-12-01 01:30"
    assert local_date("2026-11-30T17:30:00+00:00") == "2026-12-01"
    assert local_time("2026-11-30T17:30:00") == "2026-12-01 01:30"  # SQLite's naive UTC
    assert local_time("2026-11-30T17:30:00+00:00", "Europe/Berlin") == "2026-11-30 18:30"
    assert local_date("2026-11-30") == "2026-11-30" and local_time(None) == "—"
    with pytest.raises(ValueError, match="RENEWMAP_TIME_ZONE"):
        Settings(time_zone="Mars/Olympus")
