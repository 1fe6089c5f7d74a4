"""OGC API – Features and vector tiles: our server against tipg on the same PostGIS tables.

The demo community (巴林居委会, 310109010026) gets N extra suggestions (default 20,000; fixed
seed, uniform inside its polygon, routed in memory, bulk-inserted as in
``bench_resident_page.py``) in a throwaway PostGIS cluster. Two real servers then answer over
loopback HTTP, one after the other in alternating turns so drift on the shared machine hits
both alike:

* *ours*: ``renewmap serve`` (uvicorn, one worker), collection ``suggestions`` (public view:
  no contact details, hidden ones left out; community and grid codes looked up per row);
* *tipg* (``tipg.main:app`` under uvicorn, one worker), pointed at the same database, table
  ``public.request``. tipg publishes every column of the table (phone numbers included), so
  it is asked for the comparable columns only (``properties=``), and its per-tile cap
  (10,000 features) is raised so both tiles carry every suggestion. Both run with
  PostgreSQL's JIT off for their connections (ours always does; tipg through its DSN).

Cases: ``items?bbox=<the community's box>&limit=1000`` (every suggestion matches: the count
and the first page), and one tile at z12 and at z14 over the community. Each request is
timed from sending to the last byte on a kept-alive connection, after warm-up calls. Also
``ogr2ogr`` (GDAL's OAPIF driver) copying every suggestion to a GeoPackage with
``-oo PAGE_SIZE=5000`` from each server, and ours on SpatiaLite for information.

Usage::

    python bench/bench_ogc.py            # N = 20,000, 40 timed calls per case and server
    python bench/bench_ogc.py --quick    # N = 2,000, 10 calls (smoke run, prints only)

A full run writes its section into ``bench/README.md`` between ``<!-- ogc:start -->`` and
``<!-- ogc:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import importlib.util
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import mapbox_vector_tile
import pyogrio
from sqlalchemy import select, text

from benchutil import cpu_model, replace_section
from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.db.models import Community
from renewmap.devtools.e2e import app_server, free_port
from renewmap.devtools.pgcluster import postgis_cluster
from renewmap.spatial.geometry import from_db

ROOT = Path(__file__).resolve().parents[1]
README = Path(__file__).resolve().parent / "README.md"
START_MARK = "<!-- ogc:start -->"
END_MARK = "<!-- ogc:end -->"
COMMUNITY = "310109010026"
# the columns tipg is asked for: what our public collection shows, as plain columns
TIPG_PROPERTIES = (
    "community_id,grid_id,category,title,description,status,route_rule,support_count,created_at"
)


def _load_resident_bench():  # type: ignore[no-untyped-def]
    """The data generator of the residents' page benchmark (same seed, same suggestions)."""
    path = Path(__file__).resolve().parent / "bench_resident_page.py"
    spec = importlib.util.spec_from_file_location("bench_resident_page", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@dataclass
class Case:
    name: str
    ours: str  # path on our server
    tipg: str | None  # path on tipg's
    times: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    features: dict[str, int] = field(default_factory=dict)


class Client:
    """One kept-alive HTTP/1.1 connection to a loopback server."""

    def __init__(self, base: str) -> None:
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def get(self, path: str) -> tuple[float, int, bytes, str]:
        """(seconds, status, body, content type) of one GET, timed to the last byte."""
        t0 = time.perf_counter()
        try:
            self.conn.request("GET", path, headers={"Accept-Encoding": "identity"})
            r = self.conn.getresponse()
            body = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            raise
        return time.perf_counter() - t0, r.status, body, r.getheader("content-type", "")


def count_features(body: bytes, content_type: str) -> int:
    if "vector-tile" in content_type or "protobuf" in content_type:
        if not body:
            return 0
        return sum(len(layer["features"]) for layer in mapbox_vector_tile.decode(body).values())
    return len(json.loads(body)["features"])


def slippy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


@contextmanager
def tipg_server(database_url: str, log: Path) -> Iterator[str]:
    """tipg under uvicorn on a free loopback port, over the same database."""
    port = free_port()
    env = {
        **os.environ,
        # JIT off, as our connections have it (asyncpg takes unknown DSN parameters as
        # server settings): with JIT on, both servers lose 2-5x on these short queries
        "DATABASE_URL": database_url.replace("postgresql+psycopg://", "postgresql://") + "?jit=off",
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.request"]',
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        "TIPG_MAX_FEATURES_PER_TILE": "1000000",
    }
    cmd = [sys.executable, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--log-level", "warning"]
    out = log.open("ab")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib_open(base + "/collections") as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("tipg did not start:\n" + log.read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        out.close()


def urllib_open(url: str) -> http.client.HTTPResponse:
    return urllib.request.urlopen(url, timeout=5)


def measure(cases: list[Case], clients: dict[str, Client], repeats: int, warmup: int) -> None:
    """Alternate the servers call by call; the first ``warmup`` calls of each are untimed."""
    for case in cases:
        for who in clients:
            case.times[who] = []
        for i in range(warmup + repeats):
            for who, client in clients.items():
                path = case.ours if who.startswith("ours") else case.tipg
                if path is None:
                    continue
                seconds, status, body, ctype = client.get(path)
                if status != 200:
                    raise RuntimeError(f"{who} {path}: HTTP {status}: {body[:300]!r}")
                if i == 0:
                    case.sizes[who] = len(body)
                    case.features[who] = count_features(body, ctype)
                if i >= warmup:
                    case.times[who].append(seconds)


def ogr2ogr_copy(dataset: str, layer: str, out_dir: Path, name: str) -> tuple[float, int]:
    """Seconds for ``ogr2ogr`` to copy a whole collection, and the features it wrote."""
    out = out_dir / f"{name}.gpkg"
    cmd = ["ogr2ogr", "-f", "GPKG", str(out), dataset, layer, "-oo", "PAGE_SIZE=5000"]
    cmd += ["-nln", "copy"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t0
    return seconds, len(pyogrio.read_dataframe(out, layer="copy", read_geometry=False))


def ms(values: list[float], q: float) -> float:
    s = sorted(values)
    return 1000 * s[min(len(s) - 1, round(q * (len(s) - 1)))]


def populate(database_url: str, n: int, gen) -> tuple[tuple[float, float, float, float], int]:  # type: ignore[no-untyped-def]
    """Migrate, load the demo and add n suggestions; the community's box and visible count."""
    from sqlalchemy.orm import Session

    from renewmap.services.ingest.demo import load_demo

    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        load_demo(s, gen.DEMO_DIR)
    gen.insert_suggestions(engine, n)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    with Session(engine) as s:
        community = s.scalars(select(Community).where(Community.code == COMMUNITY)).one()
        box = from_db(community.geom).bounds
        visible = s.scalar(text("SELECT count(*) FROM request WHERE NOT hidden"))
    engine.dispose()
    return box, int(visible or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 2,000, 10 calls per case")
    parser.add_argument("-n", type=int, default=None, help="suggestions to add")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--write-readme", action="store_true", help="also after --quick")
    args = parser.parse_args(argv)
    n = args.n or (2_000 if args.quick else 20_000)
    repeats = args.repeats or (10 if args.quick else 40)
    warmup = 3 if args.quick else 10
    if shutil.which("ogr2ogr") is None:
        print("ogr2ogr is missing: apt-get install gdal-bin", file=sys.stderr)
        return 1
    gen = _load_resident_bench()
    work = Path(tempfile.mkdtemp(prefix="renewmap-bench-ogc-"))
    started = dt.datetime.now(dt.UTC)
    with postgis_cluster() as cluster:
        box, visible = populate(cluster.url, n, gen)
        sqlite_url = f"sqlite:///{work / 'bench.sqlite'}"
        populate(sqlite_url, n, gen)
        bbox = ",".join(f"{v:.7f}" for v in box)
        lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        z12, z14 = slippy(lon, lat, 12), slippy(lon, lat, 14)
        cases = [
            Case(
                "items, bbox + limit=1000",
                f"/ogc/collections/suggestions/items?bbox={bbox}&limit=1000",
                f"/collections/public.request/items?bbox={bbox}&limit=1000"
                f"&properties={TIPG_PROPERTIES}",
            ),
            Case(
                f"tile z12 ({z12[0]}/{z12[1]})",
                f"/ogc/collections/suggestions/tiles/WebMercatorQuad/12/{z12[0]}/{z12[1]}",
                f"/collections/public.request/tiles/WebMercatorQuad/12/{z12[0]}/{z12[1]}"
                f"?properties={TIPG_PROPERTIES}",
            ),
            Case(
                f"tile z14 ({z14[0]}/{z14[1]})",
                f"/ogc/collections/suggestions/tiles/WebMercatorQuad/14/{z14[0]}/{z14[1]}",
                f"/collections/public.request/tiles/WebMercatorQuad/14/{z14[0]}/{z14[1]}"
                f"?properties={TIPG_PROPERTIES}",
            ),
        ]
        env = {"RENEWMAP_ENV": "dev", "RENEWMAP_NOTIFY_DISPATCHER": "false"}
        with (
            app_server(cluster.url, work / "ours.log", env=env) as ours,
            app_server(sqlite_url, work / "ours-sqlite.log", env=env) as ours_sqlite,
            tipg_server(cluster.url, work / "tipg.log") as tipg,
        ):
            clients = {
                "ours": Client(ours),
                "tipg": Client(tipg),
                "ours (SpatiaLite)": Client(ours_sqlite),
            }
            measure(cases, clients, repeats, warmup)
            copies = {
                "ours": ogr2ogr_copy(f"OAPIF:{ours}/ogc", "suggestions", work, "ours"),
                "tipg": ogr2ogr_copy(f"OAPIF:{tipg}", "public.request", work, "tipg"),
                "ours (SpatiaLite)": ogr2ogr_copy(
                    f"OAPIF:{ours_sqlite}/ogc", "suggestions", work, "ours-sqlite"
                ),
            }
    section = readme_section(cases, copies, n, visible, repeats, warmup, started)
    print(section)
    if not args.quick or args.write_readme:
        write_readme(section)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def readme_section(
    cases: list[Case],
    copies: dict[str, tuple[float, int]],
    n: int,
    visible: int,
    repeats: int,
    warmup: int,
    started: dt.datetime,
) -> str:
    lines = [
        START_MARK,
        "## OGC API – Features and vector tiles, against tipg",
        "",
        "`python bench/bench_ogc.py` — " + (__doc__ or "").split("\n\n")[1].replace("\n", " "),
        "",
        f"Data: the demo community with {n:,} added suggestions ({visible:,} visible in all). "
        f"{repeats} timed calls per case and server after {warmup} warm-up calls, the servers "
        "taking turns call by call; times from sending the request to the last byte on a "
        "kept-alive loopback connection.",
        "",
    ]
    verdicts = []
    for case in cases:
        if case.tipg is None:
            continue
        ok = statistics.median(case.times["ours"]) <= statistics.median(case.times["tipg"])
        verdicts.append(f"{case.name}: {'meets' if ok else 'MISSES'}")
    lines.append("Goal: our median latency ≤ tipg's on PostGIS — " + "; ".join(verdicts) + ".")
    lines += [
        "",
        "| case | server | p50 | p90 | min | features | bytes | p50 ours / tipg |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        base = statistics.median(case.times["tipg"]) if case.times.get("tipg") else None
        for who, times in case.times.items():
            if not times:
                continue
            ratio = ""
            if who == "ours" and base:
                ratio = f"**{statistics.median(times) / base:.2f}×**"
            lines.append(
                f"| {case.name} | {who} | {ms(times, 0.5):.1f} ms | {ms(times, 0.9):.1f} ms | "
                f"{min(times) * 1000:.1f} ms | {case.features.get(who, 0):,} | "
                f"{case.sizes.get(who, 0):,} | {ratio} |"
            )
    lines += [
        "",
        "`ogr2ogr -f GPKG out.gpkg OAPIF:<server> <collection> -oo PAGE_SIZE=5000` (every "
        "suggestion, one run each):",
        "",
        "| server | seconds | features written |",
        "|---|---:|---:|",
    ]
    for who, (seconds, count) in copies.items():
        lines.append(f"| {who} | {seconds:.2f} s | {count:,} |")
    cpu = cpu_model()
    gdal = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True).stdout.strip()
    lines += [
        "",
        f"- Machine: {cpu}, {os.cpu_count()} cores; {platform.platform()}; servers, database "
        "and client share the machine (which may also run other work)",
        f"- Python {platform.python_version()}; tipg {version('tipg')}, "
        f"mapbox-vector-tile {version('mapbox-vector-tile')}, {gdal}",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def write_readme(section: str, path: Path = README) -> None:
    replace_section(path, section, START_MARK, END_MARK)


if __name__ == "__main__":
    sys.exit(main())
