"""What a phone downloads for the residents' page: bytes of the HTML and of every asset and
API answer, with the demo community and with 100,000 extra suggestions.

The real app (``renewmap serve``) runs on a SpatiaLite file with the demo loaded; Debian's
Chromium (Playwright, phone viewport, empty cache, every non-loopback request aborted) opens:

* ``/c/310109010026`` — the page as it opens (the "suggest" tab: site plan and form);
* ``/c/310109010026#browse`` — opened on browsing (map layer and first list page);
* the same after 100,000 suggestions are bulk-inserted (``bench_resident_page``'s data).

Each result is stored under a label in ``bench/page_weight.json`` (``--label``, e.g. the
commit measured), so the README section compares every recorded version side by side: the
residents' page must not get heavier.

Usage::

    python bench/bench_page_weight.py --label "after (templates)"
    python bench/bench_page_weight.py --label X --quick     # 10,000 suggestions
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_resident_page import PHONE, insert_suggestions, load_demo
from benchutil import replace_section
from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.devtools.e2e import CHROMIUM, CHROMIUM_ARGS, app_server

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "src" / "renewmap" / "data" / "demo"
COMMUNITY = "310109010026"
RESULTS = Path(__file__).resolve().parent / "page_weight.json"
README = Path(__file__).resolve().parent / "README.md"
START_MARK = "<!-- page-weight:start -->"
END_MARK = "<!-- page-weight:end -->"
SCENARIOS = ("demo, suggest tab", "demo, browse", "100,000 suggestions, browse")


def measure(browser: Any, url: str, browse: bool) -> dict[str, Any]:
    """Open ``url`` on a phone with an empty cache; bytes per kind once the network is idle."""
    context = browser.new_context(**PHONE, locale="zh-CN")
    blocked: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("http://127.0.0.1:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    finished: list[Any] = []
    errors: list[str] = []
    page.on("requestfinished", lambda r: finished.append(r))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        page.wait_for_selector(".leaflet-container")
        if browse:
            page.wait_for_selector("#rm-list li")
        page.wait_for_load_state("networkidle")
        by_kind: dict[str, int] = {}
        total = html = 0
        for req in finished:
            sizes = req.sizes()
            wire = max(sizes["responseHeadersSize"], 0) + max(sizes["responseBodySize"], 0)
            kind = "API" if "/api/" in req.url else req.resource_type
            by_kind[kind] = by_kind.get(kind, 0) + wire
            total += wire
            if req.resource_type == "document":
                html += max(sizes["responseBodySize"], 0)
    finally:
        context.close()
    return {
        "transfer": total,
        "html": html,
        "requests": len(finished),
        "by_kind": by_kind,
        "blocked": blocked,
        "errors": errors,
    }


def _kb(b: int) -> str:
    return f"{b / 1000:.1f} kB"


def section(results: dict[str, Any]) -> str:
    labels = list(results)
    head = "| page | " + " | ".join(labels) + " |\n|---|" + "---:|" * len(labels) + "\n"
    rows = []
    for scenario in SCENARIOS:
        cells = []
        for label in labels:
            r = results[label]["runs"].get(scenario)
            cells.append(
                "—"
                if r is None
                else f"{_kb(r['transfer'])} ({r['requests']} requests; HTML {_kb(r['html'])})"
            )
        rows.append(f"| {scenario} | " + " | ".join(cells) + " |")
    kinds = []
    for label in labels:
        for scenario, r in results[label]["runs"].items():
            parts = ", ".join(f"{k} {_kb(v)}" for k, v in sorted(r["by_kind"].items()))
            kinds.append(f"- {label}, {scenario}: {parts}")
    measured = "\n".join(f"- {label}: {results[label]['note']}" for label in labels)
    return (
        f"{START_MARK}\n## Residents' page weight\n\n"
        "`python bench/bench_page_weight.py --label LABEL` — what a phone (390×844, empty "
        "cache, Debian's Chromium) downloads for the residents' page of the demo community: "
        "the HTML, every script, stylesheet and image, and the API answers, summed as response "
        "headers + bodies once the network is idle (nothing is compressed). *browse* opens the "
        "page on `#browse` (map layer and first list page); *100,000 suggestions* adds that "
        "many to the demo community first. The page must not get heavier than before.\n\n"
        + head
        + "\n".join(rows)
        + "\n\nBy kind of response:\n\n"
        + "\n".join(kinds)
        + "\n\nMeasured:\n\n"
        + measured
        + f"\n{END_MARK}\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--label", required=True, help="name of this version in the table")
    ap.add_argument("--quick", action="store_true", help="10,000 suggestions instead")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    n = 10_000 if args.quick else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="bench_weight_"))
    db, log = tmp / "bench.sqlite", tmp / "server.log"
    runs: dict[str, Any] = {}
    try:
        load_demo(db, log)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                with app_server(db, log) as app:
                    page = f"{app}/c/{COMMUNITY}"
                    runs[SCENARIOS[0]] = measure(browser, page, browse=False)
                    runs[SCENARIOS[1]] = measure(browser, page + "#browse", browse=True)
                engine = make_engine(f"sqlite:///{db}")
                try:
                    upgrade(engine)
                    insert_suggestions(engine, n)
                finally:
                    engine.dispose()
                with app_server(db, log) as app:
                    key = SCENARIOS[2] if n == 100_000 else f"{n:,} suggestions, browse"
                    runs[key] = measure(browser, f"{app}/c/{COMMUNITY}#browse", browse=True)
            finally:
                browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for scenario, r in runs.items():
        print(f"{scenario}: {r['transfer']:,} B in {r['requests']} requests, HTML {r['html']:,} B")
        print(f"  {r['by_kind']}")
        if r["blocked"] or r["errors"]:
            print(f"  blocked {r['blocked']} errors {r['errors']}")
    if args.quick:
        return 0
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = {
        "note": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, tree at {commit or '?'}",
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    replace_section(README, section(results), START_MARK, END_MARK)
    print(f"Updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
