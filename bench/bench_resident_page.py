"""Residents' map page with 100,000 suggestions: bytes and time to markers in headless Chromium.

The demo community (巴林居委会, 310109010026) gets N extra suggestions (fixed seed, uniform
inside its polygon, routed to grids in memory) bulk-inserted into a SpatiaLite database; the
real app (``renewmap serve``) then serves the residents' page ``/c/310109010026#browse``,
which asks the API what to draw for the current view (``/suggestions/map``: every suggestion
as a point while at most 1,000 match, else counts per 64-pixel cell) and, separately, the
first page (200) of the list.

Against it, two naive folium pages that embed every visible suggestion of the community (the
same rows, read back from the database), served by a loopback static HTTP server and using
the app's vendored Leaflet / Leaflet.markercluster by absolute URL:

* ``FastMarkerCluster`` with ``[lat, lon]`` of every suggestion;
* ``GeoJson`` of every suggestion as a FeatureCollection (id, title, category, status, date).

Every case runs in Debian's Chromium through Playwright (no browser download) with a phone
and a desktop viewport, a fresh browser context per run, and every request not to 127.0.0.1
aborted and counted.

Usage::

    python bench/bench_resident_page.py            # N = 100,000, 3 runs per case
    python bench/bench_resident_page.py --quick    # N = 10,000, 1 run (smoke run)

A full run writes its section into ``bench/README.md`` between ``<!-- resident-page:start -->``
and ``<!-- resident-page:end -->``; ``--quick`` only prints (unless ``--write-readme``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Engine, LargeBinary, func, insert, select

from benchutil import cpu_model, replace_section
from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.db.models import Community, Request
from renewmap.devtools.e2e import CHROMIUM, CHROMIUM_ARGS, app_server, static_server
from renewmap.services.places.routing import load_memory_source
from renewmap.spatial.geometry import to_db
from renewmap.spatial.routing import RULES_BY_CODE
from renewmap.vocabulary import CATEGORIES

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "src" / "renewmap" / "data" / "demo"
COMMUNITY = "310109010026"
SEED = 20240612
BATCH = 5_000
TIMEOUT_S = 180.0
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
FAST_4G = "phone 390×844, 4G-like network"
# Setups: browser context options. Loopback is the machine's own network; FAST_4G adds
# Chromium's network emulation (CDP ``Network.emulateNetworkConditions``) with the numbers of
# DevTools' "Fast 4G" preset: 9 Mbit/s × 0.9 down, 1.5 Mbit/s × 0.9 up, 165 ms latency.
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone 390×844": PHONE,
    "desktop 1280×800": {"viewport": {"width": 1280, "height": 800}},
    FAST_4G: PHONE,
}
THROTTLE: dict[str, dict[str, Any]] = {
    FAST_4G: {
        "offline": False,
        "latency": 165,
        "downloadThroughput": 9_000_000 / 8 * 0.9,
        "uploadThroughput": 1_500_000 / 8 * 0.9,
    }
}
CASES = ("ours", "FastMarkerCluster", "GeoJson")
# Not run: GeoJson already takes minutes on loopback; throttling only adds its download.
SKIP = {(FAST_4G, "GeoJson")}
BYTES_GOAL = 10.0  # naive bytes / ours bytes
TIME_GOAL = 2.0  # "well under the naive page's time", read as at most half of it
README = Path(__file__).resolve().parent / "README.md"
START_MARK = "<!-- resident-page:start -->"
END_MARK = "<!-- resident-page:end -->"
TITLES = (
    "楼下路灯晚上不亮",
    "希望增加电动车充电桩",
    "绿化带里有积水",
    "健身器材损坏需要维修",
    "楼道堆放杂物有消防隐患",
    "希望增加无障碍坡道",
    "垃圾分类点气味太大",
    "空中飞线很乱",
    "雨天路面积水严重",
    "希望增设遛狗区域",
)
# A marker of the suggestions layer: a cluster, a single suggestion (its category's icon, since
# issue 16) or a single marker's image (the building numbers of the site plan are other
# DivIcons, the resident's own pin is draggable).
MARKER_SEL = (
    ".leaflet-marker-pane .marker-cluster, .leaflet-marker-pane .rm-sug, "
    ".leaflet-marker-pane img.leaflet-marker-icon:not(.leaflet-marker-draggable)"
)
LIST_SEL = "#rm-list li"
API_URL = re.compile(r"/suggestions(/map)?\?")  # the list's page, the map's layer
# Installed before any page script: checks every animation frame (i.e. right before the
# browser paints) whether a marker is visible and whether the list has items.
PROBE_JS = """
(() => {
  const SEL = %s, LIST = %s;
  const b = (window.__bench = { marker: null, list: null });
  const visible = (el) => {
    if (el.tagName === "IMG" && !(el.complete && el.naturalWidth > 0)) return false;
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    const box = el.closest(".leaflet-container");
    const c = box ? box.getBoundingClientRect() : { left: 0, top: 0, right: 1e9, bottom: 1e9 };
    const left = Math.max(r.left, c.left, 0), top = Math.max(r.top, c.top, 0);
    const right = Math.min(r.right, c.right, innerWidth);
    const bottom = Math.min(r.bottom, c.bottom, innerHeight);
    if (right <= left || bottom <= top) return false;
    const s = getComputedStyle(el);
    return s.visibility !== "hidden" && s.display !== "none" && Number(s.opacity) > 0;
  };
  const tick = () => {
    const now = performance.now();
    if (b.marker === null && document.querySelector(SEL)) {
      const els = document.querySelectorAll(SEL);
      for (let i = 0; i < els.length && i < 500; i++) {
        if (visible(els[i])) { b.marker = now; break; }
      }
    }
    if (LIST && b.list === null && document.querySelector(LIST)) b.list = now;
    if (b.marker === null || (LIST && b.list === null)) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""
REPORT_JS = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const api = performance.getEntriesByType("resource")
    .filter((e) => /\/suggestions(\/map)?\?/.test(e.name))
    .map((e) => ({
      url: e.name,
      start: e.startTime,
      total: e.responseEnd - e.startTime,
      wait: e.responseStart - e.requestStart,
    }));
  const count = document.querySelector("#rm-count");
  return {
    bench: window.__bench,
    htmlEnd: nav ? nav.responseEnd : null,
    dcl: nav ? nav.domContentLoadedEventEnd : null,
    api,
    count: count ? count.textContent : null,
    clusters: document.querySelectorAll(".marker-cluster").length,
    markerImgs: document.querySelectorAll(".leaflet-marker-pane img.leaflet-marker-icon").length,
    listItems: document.querySelectorAll("#rm-list li").length,
  };
}
"""


@dataclass
class Run:
    """One page load in one fresh browser context."""

    case: str
    viewport: str
    n: int
    marker_ms: float | None = None  # None: timed out
    list_ms: float | None = None
    wall_ms: float | None = None
    html_ms: float | None = None
    wire_bytes: int = 0  # Chromium's response headers + body sizes, summed
    body_bytes: int = 0  # decoded response bodies, summed
    html_bytes: int = 0
    requests: int = 0
    api_calls: int = 0
    api_ms: list[float] = field(default_factory=list)
    api_wait_ms: list[float] = field(default_factory=list)
    api_start_ms: list[float] = field(default_factory=list)
    api_urls: list[str] = field(default_factory=list)
    by_type: dict[str, int] = field(default_factory=dict)  # wire bytes by resource type
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    number_matched: int | None = None
    clusters: int = 0
    marker_imgs: int = 0
    list_items: int = 0


# ---- data -----------------------------------------------------------------------------------


def _env(db: Path) -> dict[str, str]:
    return {**os.environ, "RENEWMAP_DATABASE_URL": f"sqlite:///{db}", "RENEWMAP_ENV": "dev"}


def load_demo(db: Path, log: Path) -> None:
    """``renewmap db upgrade`` then ``renewmap demo load`` into a new database (commands
    refuse a database without the schema)."""
    with log.open("ab") as out:
        for args in (["db", "upgrade"], ["demo", "load", "--dir", str(DEMO_DIR)]):
            subprocess.run(
                [sys.executable, "-m", "renewmap.cli", *args],
                env=_env(db),
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                cwd=ROOT,
            )


def random_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n uniform points inside the demo community polygon (rejection sampling)."""
    poly = shapely.union_all(gpd.read_file(DEMO_DIR / "community.geojson").to_crs(4326).geometry)
    shapely.prepare(poly)
    minx, miny, maxx, maxy = poly.bounds
    lon: list[np.ndarray] = []
    lat: list[np.ndarray] = []
    have = 0
    while have < n:
        x = rng.uniform(minx, maxx, 2 * n)
        y = rng.uniform(miny, maxy, 2 * n)
        inside = shapely.contains_xy(poly, x, y)
        lon.append(x[inside])
        lat.append(y[inside])
        have += int(inside.sum())
    return np.concatenate(lon)[:n], np.concatenate(lat)[:n]


def insert_suggestions(engine: Engine, n: int) -> float:
    """Bulk-insert n suggestions into the demo community, routed in memory; seconds taken."""
    from sqlalchemy.orm import Session

    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    lon, lat = random_points(n, rng)
    with Session(engine) as session:
        community_id = session.scalar(select(Community.id).where(Community.code == COMMUNITY))
        source = load_memory_source(session)
    if community_id is None:
        raise RuntimeError(f"demo community {COMMUNITY} is not loaded")
    grid_idx, _, rules = source.route_points_arrays(lon, lat)
    grid_ids = [source.grids[i].id if i >= 0 else None for i in grid_idx.tolist()]
    rule_names = [str(RULES_BY_CODE[r].value) for r in rules.tolist()]
    now = dt.datetime.now(dt.UTC)
    ages = rng.uniform(0, 365 * 24 * 3600, n)
    table = Request.__table__
    with engine.begin() as conn:
        for start in range(0, n, BATCH):
            rows = []
            for i in range(start, min(start + BATCH, n)):
                created = now - dt.timedelta(seconds=float(ages[i]))
                rows.append(
                    {
                        "community_id": community_id,
                        "grid_id": grid_ids[i],
                        "category": CATEGORIES[i % len(CATEGORIES)],
                        "title": f"{TITLES[i % len(TITLES)]}（{i + 1}）",
                        "status": "new",
                        "route_rule": rule_names[i],
                        "source": "bench",
                        "hidden": False,
                        "support_count": 0,
                        "show_nickname": False,
                        "created_at": created,
                        "updated_at": created,
                        "geom": to_db(shapely.Point(float(lon[i]), float(lat[i]))),
                    }
                )
            conn.execute(insert(table), rows)
    return time.perf_counter() - t0


def visible_suggestions(engine: Engine) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Every visible suggestion of the community: properties and representative points."""
    t = Request.__table__
    query = (
        select(
            t.c.id,
            t.c.title,
            t.c.category,
            t.c.status,
            t.c.created_at,
            func.AsBinary(t.c.geom, type_=LargeBinary),
        )
        .join(Community.__table__, Community.__table__.c.id == t.c.community_id)
        .where(Community.__table__.c.code == COMMUNITY, t.c.hidden.is_(False))
        .order_by(t.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    geoms = shapely.from_wkb([bytes(r[5]) for r in rows])
    props = [
        {
            "id": r[0],
            "title": r[1],
            "category": r[2],
            "status": r[3],
            "created_at": r[4].isoformat() if r[4] else None,
        }
        for r in rows
    ]
    return props, geoms


# ---- naive pages ----------------------------------------------------------------------------


def _naive_map(bounds: tuple[float, float, float, float], app: str) -> folium.Map:
    """A bare folium map (no tiles, no CDN) framed on the community."""
    minx, miny, maxx, maxy = bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=17, tiles=None)
    m.default_js = [("leaflet", f"{app}/static/vendor/leaflet/leaflet.js")]
    m.default_css = [("leaflet_css", f"{app}/static/vendor/leaflet/leaflet.css")]
    # No tile layer gives the map a zoom range; markercluster needs one (as resident.js does).
    m.options["maxZoom"] = 22
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def build_naive_pages(
    props: list[dict[str, Any]], geoms: np.ndarray, app: str, out: Path
) -> dict[str, Path]:
    """The two naive pages as HTML files in ``out``."""
    points = shapely.point_on_surface(geoms)
    xs, ys = shapely.get_x(points), shapely.get_y(points)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    bounds = (float(x0), float(y0), float(x1), float(y1))
    vendor = f"{app}/static/vendor/leaflet.markercluster"
    pages: dict[str, Path] = {}

    m = _naive_map(bounds, app)
    fmc = folium.plugins.FastMarkerCluster(
        data=np.column_stack([ys, xs]).tolist(),
        # folium's default callback needs Leaflet.awesome-markers from a CDN; the app's
        # clusters use Leaflet's own marker image, so do the same here.
        callback="function (row) { return L.marker(new L.LatLng(row[0], row[1])); }",
    )
    fmc.default_js = [("markerclusterjs", f"{vendor}/leaflet.markercluster.js")]
    fmc.default_css = [
        ("markerclustercss", f"{vendor}/MarkerCluster.css"),
        ("markerclusterdefaultcss", f"{vendor}/MarkerCluster.Default.css"),
    ]
    fmc.add_to(m)
    pages["FastMarkerCluster"] = out / "fast_marker_cluster.html"
    m.save(str(pages["FastMarkerCluster"]))

    m = _naive_map(bounds, app)
    features = [
        {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": p}
        for p, g in zip(props, geoms, strict=True)
    ]
    folium.GeoJson({"type": "FeatureCollection", "features": features}).add_to(m)
    pages["GeoJson"] = out / "geojson.html"
    m.save(str(pages["GeoJson"]))
    return pages


# ---- browser --------------------------------------------------------------------------------


def measure(browser: Any, case: str, viewport: str, url: str, n: int) -> Run:
    """Load ``url`` in a fresh context; time to the first visible marker (and list), bytes."""
    from playwright.sync_api import Error as PlaywrightError

    run = Run(case=case, viewport=viewport, n=n)
    context = browser.new_context(**VIEWPORTS[viewport], locale="zh-CN")

    def route(r: Any) -> None:
        if r.request.url.startswith("http://127.0.0.1:"):
            r.continue_()
        else:
            run.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    want_list = case == "ours"
    context.add_init_script(
        PROBE_JS % (json.dumps(MARKER_SEL), json.dumps(LIST_SEL if want_list else None))
    )
    page = context.new_page()
    if viewport in THROTTLE:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", THROTTLE[viewport])
    finished: list[Any] = []
    page.on("requestfinished", lambda r: finished.append(r))
    page.on("requestfailed", lambda r: run.failed.append(f"{r.url} {r.failure}"))
    page.on("pageerror", lambda e: run.errors.append(f"pageerror: {e}"))
    page.on(
        "console",
        lambda m: run.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
    )
    done = "() => window.__bench && window.__bench.marker !== null"
    if want_list:
        done += " && window.__bench.list !== null"
    timeout_ms = TIMEOUT_S * 1000
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=timeout_ms)
        try:
            page.wait_for_function(done, polling=100, timeout=timeout_ms)
            run.wall_ms = (time.perf_counter() - t0) * 1000
        except PlaywrightError as exc:
            run.errors.append(f"timeout after {TIMEOUT_S:.0f} s: {str(exc).splitlines()[0]}")
        try:
            page.wait_for_load_state("networkidle", timeout=30_000)
        except PlaywrightError:
            run.notes.append("network not idle within 30 s after the markers (bytes summed then)")
        info = page.evaluate(REPORT_JS)
        bench = info["bench"] or {}
        run.marker_ms = bench.get("marker")
        run.list_ms = bench.get("list")
        run.html_ms = info["htmlEnd"]
        run.api_ms = [a["total"] for a in info["api"]]
        run.api_wait_ms = [a["wait"] for a in info["api"]]
        run.api_start_ms = [a["start"] for a in info["api"]]
        run.api_urls = [a["url"] for a in info["api"]]
        run.clusters = info["clusters"]
        run.marker_imgs = info["markerImgs"]
        run.list_items = info["listItems"]
        if info["count"]:
            digits = re.sub(r"\D", "", info["count"])
            run.number_matched = int(digits) if digits else None
        for req in finished:
            run.requests += 1
            if API_URL.search(req.url):
                run.api_calls += 1
            sizes = req.sizes()
            wire = max(sizes["responseHeadersSize"], 0) + max(sizes["responseBodySize"], 0)
            run.wire_bytes += wire
            kind = "API" if "/api/" in req.url else req.resource_type
            run.by_type[kind] = run.by_type.get(kind, 0) + wire
            response = req.response()
            if response is None:
                continue
            try:
                body = len(response.body())
            except PlaywrightError:
                body = 0
            run.body_bytes += body
            if req.resource_type == "document":
                run.html_bytes += max(sizes["responseBodySize"], 0)
    finally:
        context.close()
    return run


# ---- report ---------------------------------------------------------------------------------


def _med(values: list[float | None]) -> float | None:
    """Median of the finished runs; None if any run timed out."""
    if not values or any(v is None for v in values):
        return None
    return float(statistics.median([v for v in values if v is not None]))


def _mb(b: float) -> str:
    if b >= 1e6:
        return f"{b / 1e6:.2f} MB"
    if b >= 1e3:
        return f"{b / 1e3:.0f} kB"
    return f"{b:.0f} B"


def _s(ms: float | None) -> str:
    return f"> {TIMEOUT_S:.0f} s (timeout)" if ms is None else f"{ms / 1000:.2f} s"


def _group(runs: list[Run], case: str, viewport: str) -> list[Run]:
    return [r for r in runs if r.case == case and r.viewport == viewport]


def markdown_table(runs: list[Run]) -> str:
    """Medians per viewport and page, with naive ÷ ours ratios."""
    head = (
        "| setup | page | transfer | requests | first marker visible | list filled "
        "| bytes ÷ ours | time ÷ ours |\n|---|---|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for vp in VIEWPORTS:
        ours = _group(runs, "ours", vp)
        if not ours:
            continue
        ours_bytes = statistics.median(r.wire_bytes for r in ours)
        ours_ms = _med([r.marker_ms for r in ours])
        for case in CASES:
            g = _group(runs, case, vp)
            if not g:
                continue
            b = statistics.median(r.wire_bytes for r in g)
            ms = _med([r.marker_ms for r in g])
            lst = _med([r.list_ms for r in g]) if case == "ours" else None
            if case == "ours":
                rb, rt = "1×", "1×"
            else:
                rb = f"**{b / ours_bytes:.1f}×**"
                if ms is None:
                    rt = f"**> {TIMEOUT_S * 1000 / ours_ms:.0f}×**" if ours_ms else "—"
                else:
                    rt = f"**{ms / ours_ms:.1f}×**" if ours_ms else "—"
            reqs = int(statistics.median(r.requests for r in g))
            rows.append(
                f"| {vp} | {case} | {_mb(b)} | {reqs} | {_s(ms)} | "
                f"{_s(lst) if case == 'ours' else '—'} | {rb} | {rt} |"
            )
    return head + "\n".join(rows) + "\n"


def verdict(runs: list[Run]) -> tuple[bool, str]:
    """Whether both goals hold for every viewport and naive page, and a sentence saying so."""
    parts, ok = [], True
    for vp in VIEWPORTS:
        ours = _group(runs, "ours", vp)
        if not ours:
            continue
        ob = statistics.median(r.wire_bytes for r in ours)
        om = _med([r.marker_ms for r in ours])
        for case in CASES[1:]:
            g = _group(runs, case, vp)
            if not g:
                continue
            rb = statistics.median(r.wire_bytes for r in g) / ob
            nm = _med([r.marker_ms for r in g])
            rt = (TIMEOUT_S * 1000 if nm is None else nm) / om if om else 0.0
            good = rb >= BYTES_GOAL and rt >= TIME_GOAL
            ok = ok and good
            parts.append(
                f"{vp} vs {case}: bytes {rb:.1f}× ({'meets' if rb >= BYTES_GOAL else 'MISSES'}), "
                f"time {'≥ ' if nm is None else ''}{rt:.1f}× "
                f"({'meets' if rt >= TIME_GOAL else 'MISSES'})"
            )
    return ok, "; ".join(parts)


def runs_listing(runs: list[Run]) -> str:
    """Every run: time to first marker (and list), transfer, API timings."""
    lines = []
    for vp in VIEWPORTS:
        for case in CASES:
            g = _group(runs, case, vp)
            if not g:
                continue
            marker = ", ".join(_s(r.marker_ms) for r in g)
            wire = ", ".join(f"{r.wire_bytes:,}" for r in g)
            line = f"- {vp}, {case}: first marker {marker}; transfer {wire} B"
            line += "; HTML received at " + ", ".join(_s(r.html_ms) for r in g)
            if case == "ours":
                line += "; list " + ", ".join(_s(r.list_ms) for r in g)
                api = [
                    " + ".join(
                        f"{st / 1000:.2f}–{(st + t) / 1000:.2f} s (server {w / 1000:.2f} s)"
                        for st, t, w in zip(r.api_start_ms, r.api_ms, r.api_wait_ms, strict=True)
                    )
                    for r in g
                ]
                line += f"; suggestions API calls {', '.join(api)}"
            lines.append(line)
    return "\n".join(lines) + "\n"


def details(runs: list[Run]) -> str:
    """Checks: suggestions matched, blocked and failed requests, page errors."""
    ours = [r for r in runs if r.case == "ours"]
    matched = sorted({r.number_matched for r in ours}, key=lambda v: v or -1)
    api_calls = "; ".join(
        f"{vp} {', '.join(str(r.api_calls) for r in _group(runs, 'ours', vp))}" for vp in VIEWPORTS
    )
    items = sorted({r.list_items for r in ours})
    blocked = {c: sum(len(r.blocked) for r in runs if r.case == c) for c in CASES}
    failed = sorted({f for r in runs for f in r.failed})
    errors = sorted({f"{r.case}: {e}" for r in runs for e in r.errors})
    notes = sorted(
        {
            f"{r.case}: {e} ({sum(e in x.notes for x in runs if x.case == r.case)}×)"
            for r in runs
            for e in r.notes
        }
    )
    html = {c: max((r.html_bytes for r in runs if r.case == c), default=0) for c in CASES}
    split = []
    for case in CASES:
        g = [r for r in runs if r.case == case]
        kinds = sorted({k for r in g for k in r.by_type})
        parts = [
            f"{k} {_mb(statistics.median(r.by_type.get(k, 0) for r in g))}"
            for k in sorted(kinds, key=lambda k: -max(r.by_type.get(k, 0) for r in g))
        ]
        if parts:
            split.append(f"{case}: {', '.join(parts)}")
    timeline = []
    for vp in VIEWPORTS:
        g = [r for r in _group(runs, "ours", vp) if r.api_ms and r.marker_ms is not None]
        if not g:
            continue
        html_at = statistics.median(r.html_ms or 0 for r in g)
        first = [next((i for i, u in enumerate(r.api_urls) if "/map?" in u), 0) for r in g]
        start = statistics.median(r.api_start_ms[i] for r, i in zip(g, first, strict=True))
        end = statistics.median(
            r.api_start_ms[i] + r.api_ms[i] for r, i in zip(g, first, strict=True)
        )
        wait = statistics.median(r.api_wait_ms[i] for r, i in zip(g, first, strict=True))
        shown = statistics.median(r.marker_ms or 0 for r in g)
        timeline.append(
            f"{vp}: HTML received {html_at / 1000:.2f} s → map layer API call sent "
            f"{start / 1000:.2f} s, answered {end / 1000:.2f} s (server {wait / 1000:.2f} s) → "
            f"markers visible {shown / 1000:.2f} s"
        )
    double = [r for r in ours if r.api_calls > 2]
    why = ""
    if double:
        why = (
            f"- {len(double)} of {len(ours)} loads of ours called the suggestions API more than "
            "twice (map layer + list): the map moved after the first view was asked for, and "
            "its `moveend` reloaded both. Every call is counted in the transfer.\n"
        )
    return (
        f"- Ours, timeline (medians): {'; '.join(timeline)}\n"
        + why
        + f"- `numberMatched` shown in `#rm-count` (ours): {', '.join(map(str, matched))}; "
        f"suggestions API calls per load: {api_calls}; "
        f"list items: {', '.join(map(str, items))}\n"
        f"- HTML document: ours {_mb(html['ours'])}, FastMarkerCluster "
        f"{_mb(html['FastMarkerCluster'])}, GeoJson {_mb(html['GeoJson'])}\n"
        f"- Transfer by resource type (median over all runs of all setups): "
        f"{'; '.join(split)}\n"
        f"- Requests aborted for leaving 127.0.0.1: "
        + ", ".join(f"{c} {n}" for c, n in blocked.items())
        + "\n"
        f"- Failed requests: {'; '.join(failed) if failed else 'none'}\n"
        f"- Page errors / console errors: {'; '.join(errors) if errors else 'none'}\n"
        f"- Notes: {'; '.join(notes) if notes else 'none'}\n"
    )


def machine_info(chromium: str) -> str:
    """Markdown bullets: machine, Python, library and browser versions."""
    cpu = cpu_model()
    return (
        f"- Machine: {cpu}, {os.cpu_count()} cores; {platform.platform()}; "
        "server, static server and browser share the machine (which may also run other work)\n"
        f"- Python {platform.python_version()}; folium {folium.__version__}, "
        f"playwright {version('playwright')}, Chromium {chromium} (`/usr/bin/chromium`); "
        "SpatiaLite database\n"
    )


def readme_section(runs: list[Run], n: int, total: int, repeats: int, chromium: str) -> str:
    """The README block for this benchmark (between the markers)."""
    ok, said = verdict(runs)
    return (
        f"{START_MARK}\n"
        "## Residents' map page with 100,000 suggestions\n\n"
        "`python bench/bench_resident_page.py` — the demo community (巴林居委会, "
        f"`{COMMUNITY}`) gets {n:,} extra suggestions (uniform inside its polygon, fixed seed, "
        "routed to grids in memory, bulk-inserted into SpatiaLite), so it has "
        f"{total:,} visible suggestions. The real app (`renewmap serve`) serves "
        f"`/c/{COMMUNITY}#browse`, which asks the API what the map should draw for the "
        "current view (`/suggestions/map`: every matching suggestion as a point while at most "
        "1,000 match, clustered in the browser; beyond that, counts per 64-pixel cell "
        "aggregated in the database and drawn as the same cluster bubbles) and, in parallel, "
        "the first page (200) of the list. The naive pages embed **every** "
        "suggestion (the same rows, read back from the database) and are served as static "
        "files by a loopback `http.server`; they load the app's vendored Leaflet and "
        "Leaflet.markercluster by URL (folium's CDNs are unreachable here):\n\n"
        "- *FastMarkerCluster*: `folium.plugins.FastMarkerCluster` with `[lat, lon]` of every "
        "suggestion (callback `L.marker(...)`, Leaflet's own marker image, as the app uses).\n"
        "- *GeoJson*: `folium.GeoJson` of a FeatureCollection of every suggestion with id, "
        "title, category, status and date (plain Leaflet markers, no clustering).\n\n"
        "The naive pages have no site plan (buildings, grids, paths), which ours carries, so "
        "their byte counts are a lower bound for a naive version of our page.\n\n"
        "Headless Chromium through Playwright; a fresh browser context (empty cache) per run; "
        f"{repeats} run(s) per case, the cases interleaved; medians in the table, every run "
        "below. Before the timed runs each page is loaded once untimed (server and OS warm). "
        "Every request not to 127.0.0.1 is aborted and counted. Setups: a phone (390×844, "
        "device scale factor 2, mobile, touch) and a desktop (1280×800) on loopback, where "
        "bytes cost almost no time; and the phone on an emulated 4G-like network (Chromium's "
        "network emulation with the numbers of DevTools' *Fast 4G* preset: "
        f"{THROTTLE[FAST_4G]['downloadThroughput'] * 8 / 1e6:.1f} Mbit/s down, "
        f"{THROTTLE[FAST_4G]['uploadThroughput'] * 8 / 1e6:.2f} Mbit/s up, "
        f"{THROTTLE[FAST_4G]['latency']} ms latency; GeoJson is not run there, it already "
        "takes minutes on loopback).\n\n"
        "- *transfer*: the sum over every response of the page load (HTML, JS, CSS, images, "
        "`/api/session`, the suggestions API) of Chromium's response header size + response "
        "body size (`request.sizes()`), counted once the page is network-idle after the "
        "markers show. Neither server compresses, so the body part equals the decoded bodies.\n"
        "- *first marker visible*: from navigation start (`performance.timeOrigin`) to the "
        "first animation frame (i.e. right before a paint) in which a cluster "
        "(`.marker-cluster`) or a marker image (`img.leaflet-marker-icon`, loaded) of the "
        "marker pane is inside the map's box and the viewport; the site plan's building "
        "numbers (DivIcons, `<div>`) do not count. Probed by an init script on every frame.\n"
        "- *list filled* (ours): same, for the first `#rm-list li`.\n\n"
        f"Goal: transfer ≤ 1/{BYTES_GOAL:.0f} of the naive page (bytes ÷ ours ≥ "
        f"{BYTES_GOAL:.0f}×) and markers in well under the naive page's time (read here as "
        f"time ÷ ours ≥ {TIME_GOAL:.0f}×) — **{'met' if ok else 'NOT met'}**: {said}.\n\n"
        + markdown_table(runs)
        + "\nAll runs, in order:\n\n"
        + runs_listing(runs)
        + "\n"
        + details(runs)
        + machine_info(chromium)
        + f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n"
        f"{END_MARK}\n"
    )


def write_readme(section: str, path: Path = README) -> None:
    replace_section(path, section, START_MARK, END_MARK)


# ---- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Build the data, serve ours and the naive pages, measure in Chromium, report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10,000 suggestions, 1 run")
    ap.add_argument("--write-readme", action="store_true", help="update README with --quick")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)
    n = 10_000 if args.quick else 100_000
    repeats = 1 if args.quick else 3
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench_resident_"))
    db, log = tmp / "bench.sqlite", tmp / "server.log"
    runs: list[Run] = []
    try:
        print(f"Residents' page benchmark: {n:,} extra suggestions, {repeats} run(s) per case")
        load_demo(db, log)
        engine = make_engine(f"sqlite:///{db}")
        try:
            upgrade(engine)
            took = insert_suggestions(engine, n)
            props, geoms = visible_suggestions(engine)
        finally:
            engine.dispose()
        total = len(props)
        print(f"  inserted {n:,} in {took:.1f} s; {total:,} visible suggestions", flush=True)
        naive_dir = tmp / "naive"
        naive_dir.mkdir()
        with (
            app_server(db, log, demo_dir=DEMO_DIR) as app,
            static_server(naive_dir) as static,
        ):
            pages = build_naive_pages(props, geoms, app, naive_dir)
            del props, geoms
            urls = {"ours": f"{app}/c/{COMMUNITY}#browse"}
            urls.update({k: f"{static}/{p.name}" for k, p in pages.items()})
            for k, p in pages.items():
                print(f"  {k}: {p.stat().st_size / 1e6:.1f} MB of HTML", flush=True)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    chromium = browser.version
                    for vp in VIEWPORTS:
                        cases = [c for c in CASES if (vp, c) not in SKIP]
                        for case in cases:
                            warm = measure(browser, case, vp, urls[case], n)
                            print(f"  warm-up {vp} {case}: {_s(warm.marker_ms)}", flush=True)
                        for i in range(repeats):
                            for case in cases:
                                r = measure(browser, case, vp, urls[case], n)
                                runs.append(r)
                                print(
                                    f"  {vp} {case} run {i + 1}: marker {_s(r.marker_ms)}, "
                                    f"list {_s(r.list_ms) if case == 'ours' else '—'}, "
                                    f"{r.wire_bytes:,} B in {r.requests} requests, "
                                    f"matched {r.number_matched}, blocked {len(r.blocked)}, "
                                    f"errors {len(r.errors)}",
                                    flush=True,
                                )
                                if r.api_calls > 2:
                                    print(f"    API calls: {r.api_urls}", flush=True)
                finally:
                    browser.close()
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(markdown_table(runs))
    print(runs_listing(runs))
    print(details(runs))
    print(machine_info(chromium))
    ok, said = verdict(runs)
    print(("Goal met: " if ok else "Goal NOT met: ") + said)
    if not args.quick or args.write_readme:
        write_readme(readme_section(runs, n, total, repeats, chromium))
        print(f"Updated {README}")
    blocked = sum(len(r.blocked) for r in runs if r.case == "ours")
    if blocked:
        print(f"FAIL: the residents' page tried {blocked} external requests", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
