"""The residents' page before and after a change, in one run: bytes a phone downloads, time to
the first marker and to the first list item.

Two versions of the app run side by side: *before*, the source tree of a git revision
(``--before``, e.g. ``main``; extracted with ``git archive`` and put first on the Python path),
and *after*, this tree. Each gets its own SpatiaLite databases, built by its own code: the
demo community alone, and the demo with N extra suggestions (``bench_resident_page``'s data:
fixed seed, uniform inside the community). Debian's Chromium (Playwright), phone viewport
(390×844), a fresh context (empty cache) per page load, every request not to loopback
aborted; the two versions take turns, run after run.

* *bytes*: the response headers + bodies of every request of the page load once the network is
  idle (``bench_page_weight``), for the page as it opens (the suggest tab), opened on browsing,
  and opened on browsing with N suggestions;
* *first marker*, *first list item*: from navigation start to the first animation frame in
  which a marker of the suggestions layer is visible in the map, and in which the list has an
  item (``bench_resident_page``'s probe), opened on browsing.

Usage::

    python bench/bench_residents_ab.py --before main            # N = 100,000, 5 runs
    python bench/bench_residents_ab.py --before main --quick    # N = 10,000, 2 runs

A full run writes its section into ``bench/README.md`` between ``<!-- residents-ab:start -->``
and ``<!-- residents-ab:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench_page_weight import measure as measure_bytes
from bench_resident_page import COMMUNITY, measure
from benchutil import cpu_model, replace_section
from renewmap.devtools.e2e import CHROMIUM, CHROMIUM_ARGS, free_port

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
DEMO_DIR = ROOT / "src" / "renewmap" / "data" / "demo"
README = BENCH / "README.md"
START_MARK = "<!-- residents-ab:start -->"
END_MARK = "<!-- residents-ab:end -->"
VIEWPORT = "phone 390×844"
BUILD = """
import sys
from pathlib import Path
sys.path.insert(0, {bench!r})
from bench_resident_page import insert_suggestions, load_demo
from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
db, n = Path({db!r}), {n}
load_demo(db, db.with_suffix(".log"))
if n:
    engine = make_engine(f"sqlite:///{{db}}")
    upgrade(engine)
    print(insert_suggestions(engine, n))
    engine.dispose()
"""


def _env(pythonpath: str | None, db: Path) -> dict[str, str]:
    env = {**os.environ, "RENEWMAP_DATABASE_URL": f"sqlite:///{db}", "RENEWMAP_ENV": "dev"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    return env


def build(pythonpath: str | None, db: Path, n: int) -> None:
    """The demo (and ``n`` suggestions) in ``db``, by the version on ``pythonpath``."""
    code = BUILD.format(bench=str(BENCH), db=str(db), n=n)
    subprocess.run(
        [sys.executable, "-c", code], env=_env(pythonpath, db), check=True, cwd=db.parent
    )


@contextmanager
def serve(pythonpath: str | None, db: Path) -> Iterator[str]:
    """``renewmap serve`` of that version on ``db``; its URL."""
    import urllib.request

    port = free_port()
    log = db.with_suffix(".server.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "renewmap.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(pythonpath, db),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=db.parent,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                urllib.request.urlopen(base + "/health", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"server did not start, see {log.name}") from None
                import time

                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def extract(rev: str, into: Path) -> tuple[str, str]:
    """The source tree of ``rev`` in ``into``; (its src path, the short commit)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    archive = into / "before.tar"
    subprocess.run(
        ["git", "archive", "--format=tar", "-o", str(archive), rev, "src"], cwd=ROOT, check=True
    )
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return str(into / "tree" / "src"), commit


def _med(values: list[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def _s(ms: float | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.2f} s"


def _kb(b: float | None) -> str:
    return "—" if b is None else f"{b / 1000:.1f} kB"


def section(results: dict[str, Any], meta: dict[str, str]) -> str:
    n = meta["n"]
    rows = []
    for scenario in ("demo, suggest tab", "demo, browse", f"{n} suggestions, browse"):
        b = results["bytes"][scenario]
        before, after = _med(b["before"]), _med(b["after"])
        ratio = f"{after / before:.2f}×" if before and after else "—"
        rows.append(f"| {scenario} | bytes | {_kb(before)} | {_kb(after)} | {ratio} |")
    for scenario in ("demo, browse", f"{n} suggestions, browse"):
        t = results["times"][scenario]
        for what in ("first marker", "first list item"):
            before, after = _med(t["before"][what]), _med(t["after"][what])
            ratio = f"{after / before:.2f}×" if before and after else "—"
            rows.append(f"| {scenario} | {what} | {_s(before)} | {_s(after)} | {ratio} |")
    runs = []
    for scenario, t in results["times"].items():
        for version in ("before", "after"):
            for what, values in t[version].items():
                shown = ", ".join(_s(v) for v in values)
                runs.append(f"- {scenario}, {version}, {what}: {shown}")
    for scenario, b in results["bytes"].items():
        for version in ("before", "after"):
            shown = ", ".join(f"{v:,}" for v in b[version])
            runs.append(f"- {scenario}, {version}, bytes: {shown}")
    return (
        f"{START_MARK}\n## Residents' page before and after (issue 16)\n\n"
        "`python bench/bench_residents_ab.py --before REV` — the residents' page of the demo "
        f"community in two versions of the app run side by side in one run: *before* "
        f"({meta['before']}, the source tree of that revision) and *after* ({meta['after']}, "
        "this tree), each on SpatiaLite databases built by its own code (the demo; the demo "
        f"with {n} extra suggestions). Debian's Chromium, phone 390×844 on loopback, an empty "
        f"cache per load, the versions taking turns; {meta['runs']} loads per version and "
        "case, medians below (every load further down). *bytes*: response headers + bodies "
        "once the network is idle; *first marker* / *first list item*: from navigation start "
        "to the first animation frame with a visible marker of the suggestions layer / a list "
        "item, the page opened on browsing. After ÷ before ≤ 1 is not heavier / not slower. "
        "The suggest tab now also loads the suggestions already made (they show while "
        "placing), and the list pages 20 suggestions at a time instead of 200.\n\n"
        "| page | measure | before | after | after ÷ before |\n|---|---|---:|---:|---:|\n"
        + "\n".join(rows)
        + "\n\nEvery load, in order:\n\n"
        + "\n".join(runs)
        + f"\n\n- Machine: {cpu_model()}, {os.cpu_count()} cores; "
        f"{platform.platform()}; Python {platform.python_version()}\n"
        f"- Date: {meta['date']}\n{END_MARK}\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="git revision of the 'before' version")
    ap.add_argument("--quick", action="store_true", help="10,000 suggestions, 2 runs")
    ap.add_argument("--runs", type=int, default=None)
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    n = 10_000 if args.quick else 100_000
    runs = args.runs or (2 if args.quick else 5)
    label = f"{n:,} suggestions, browse"
    tmp = Path(tempfile.mkdtemp(prefix="bench_ab_"))
    try:
        before_src, before_commit = extract(args.before, tmp)
        after_commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        versions = {"before": before_src, "after": None}
        dbs: dict[tuple[str, str], Path] = {}
        for version, path in versions.items():
            for kind, count in (("demo", 0), ("many", n)):
                db = tmp / f"{version}-{kind}.sqlite"
                print(f"building {db.name}", flush=True)
                build(path, db, count)
                dbs[(version, kind)] = db
        results: dict[str, Any] = {
            "bytes": {
                s: {"before": [], "after": []} for s in ("demo, suggest tab", "demo, browse", label)
            },
            "times": {
                s: {v: {"first marker": [], "first list item": []} for v in ("before", "after")}
                for s in ("demo, browse", label)
            },
        }
        with ExitStack() as stack:
            urls = {
                key: stack.enter_context(serve(versions[key[0]], db)) for key, db in dbs.items()
            }
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = f"/c/{COMMUNITY}"
                for version, kind in dbs:  # one untimed load each: server and OS warm
                    measure(browser, "ours", VIEWPORT, urls[(version, kind)] + page + "#browse", n)
                for i in range(runs):
                    for version in ("before", "after") if i % 2 == 0 else ("after", "before"):
                        demo, many = urls[(version, "demo")], urls[(version, "many")]
                        for scenario, url in (
                            ("demo, suggest tab", demo + page),
                            ("demo, browse", demo + page + "#browse"),
                            (label, many + page + "#browse"),
                        ):
                            got = measure_bytes(browser, url, browse=url.endswith("#browse"))
                            results["bytes"][scenario][version].append(got["transfer"])
                        for scenario, url in (
                            ("demo, browse", demo + page + "#browse"),
                            (label, many + page + "#browse"),
                        ):
                            run = measure(browser, "ours", VIEWPORT, url, n)
                            if run.errors:
                                print(f"  {version} {scenario}: {run.errors}", flush=True)
                            t = results["times"][scenario][version]
                            t["first marker"].append(run.marker_ms)
                            t["first list item"].append(run.list_ms)
                        print(f"run {i + 1}/{runs} {version} done", flush=True)
                browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    meta = {
        "before": f"{args.before} at {before_commit}",
        "after": after_commit or "?",
        "n": f"{n:,}",
        "runs": str(runs),
        "date": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
    }
    text = section(results, meta)
    print(text)
    if not args.quick:
        replace_section(README, text, START_MARK, END_MARK)
        print(f"Updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
