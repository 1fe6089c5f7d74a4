"""City-size hot spots on PostGIS: each staff and resident view against a raw-SQL baseline.

A synthetic city is built with bulk SQL in a throwaway PostGIS cluster: G square grids of about
100 m near Shanghai (a lattice), communities of 4 x 4 grids, and N requests at random points,
a share of them (default 7.5 %) in one busy community, the rest spread over the city; a third
resolved some days after they came in, some supported. Then, in one process and one run, each
view is timed through the service (``ours``: what the route calls, in a fresh read session)
against the same question asked in raw SQL on the same database (psycopg, autocommit,
prepared), and where the view used to work differently, against the old way (``old``,
re-enacted here: whole rows loaded into Python):

* *grid statistics* of the busy community: ``handling.grid_stats`` / one ``GROUP BY`` with
  ``percentile_cont`` for the median / old: every request of the community loaded and counted in
  Python;
* *nearby* (200 m, 10 nearest, in the busy community): ``suggestions.nearby`` / the box
  from the geometry index, then ``ST_DWithin`` and ``ST_Distance`` on geography, nearest
  first / old: every visible request in the box loaded, distances in Python;
* *staff list*, newest first, 50 rows: page 1, a deep page by ``offset`` and the same deep page
  by keyset (``after``): ``handling.my_requests`` / the same ``ORDER BY … LIMIT`` in SQL;
* *export* as XLSX of a typical community and of the busy one: the streamed export / the rows
  alone in SQL / (typical only) the old in-memory build of the same rows (time, and the
  Python heap's peak from tracemalloc).

Usage::

    python bench/bench_city.py            # G = 20,000 grids, N = 1,000,000 requests
    python bench/bench_city.py --quick    # G = 2,000, N = 100,000 (smoke run)

A run writes its section into ``bench/README.md`` between ``<!-- city:start -->`` and
``<!-- city:end -->`` (``--quick`` too, marked as such).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from benchutil import cpu_model, replace_section
from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.devtools.pgcluster import postgis_cluster
from renewmap.vocabulary import CATEGORIES

README = Path(__file__).resolve().parent / "README.md"
START_MARK = "<!-- city:start -->"
END_MARK = "<!-- city:end -->"
LON0, LAT0 = 121.30, 31.10  # south-west corner of the city
CELL = 0.001  # a grid's side in degrees (~95 m east-west, ~111 m north-south)
BLOCK = 4  # a community is BLOCK x BLOCK grids
HOT = 1  # the busy community's id
TYPICAL, TYPICAL_CODE = 2, "C000002"  # its neighbour, with its share of the rest
STATUSES_OPEN = ("new", "accepted", "in_progress")


# --- the city ---------------------------------------------------------------------------------


def build_city(engine: Any, grids: int, requests: int, hot_share: float) -> dict[str, Any]:
    """Communities, grids and requests by bulk SQL; returns the city's numbers."""
    side = math.ceil(math.sqrt(grids) / BLOCK) * BLOCK  # grids per row, whole communities
    blocks = side // BLOCK
    hot_n = int(requests * hot_share)
    t0 = time.perf_counter()
    with engine.begin() as c:
        c.execute(text("INSERT INTO subdistrict (id, code, name) VALUES (1, 'S1', '测试街道')"))
        c.execute(
            text(
                """
                INSERT INTO community (id, code, name, subdistrict_id, grid_set_version,
                                       site_version, state, geom)
                SELECT bx * :blocks + by + 1, 'C' || lpad((bx * :blocks + by + 1)::text, 6, '0'),
                       '社区' || (bx * :blocks + by + 1), 1, 1, 1, 'published',
                       ST_Multi(ST_MakeEnvelope(:lon0 + bx * :b * :cell, :lat0 + by * :b * :cell,
                                                :lon0 + (bx + 1) * :b * :cell,
                                                :lat0 + (by + 1) * :b * :cell, 4326))
                FROM generate_series(0, :blocks - 1) bx, generate_series(0, :blocks - 1) by
                """
            ),
            {"blocks": blocks, "b": BLOCK, "cell": CELL, "lon0": LON0, "lat0": LAT0},
        )
        c.execute(
            text(
                """
                INSERT INTO grid (id, community_id, code, name, geom)
                SELECT gx * :side + gy + 1, (gx / :b) * :blocks + (gy / :b) + 1,
                       'G' || ((gx % :b) * :b + gy % :b + 1), '第' || ((gx % :b) * :b + gy % :b + 1)
                       || '网格',
                       ST_Multi(ST_MakeEnvelope(:lon0 + gx * :cell, :lat0 + gy * :cell,
                                                :lon0 + (gx + 1) * :cell, :lat0 + (gy + 1) * :cell,
                                                4326))
                FROM generate_series(0, :side - 1) gx, generate_series(0, :side - 1) gy
                """
            ),
            {"side": side, "blocks": blocks, "b": BLOCK, "cell": CELL, "lon0": LON0, "lat0": LAT0},
        )
        # points: the first hot_n in the busy community (bx = by = 0), the rest anywhere
        c.execute(
            text(
                """
                CREATE TEMP TABLE pts AS
                SELECT i,
                       CASE WHEN i <= :hot THEN random() * :b ELSE random() * :side END AS x,
                       CASE WHEN i <= :hot THEN random() * :b ELSE random() * :side END AS y,
                       random() AS r1, random() AS r2
                FROM generate_series(1, :n) i
                """
            ),
            {"hot": hot_n, "b": BLOCK, "side": side, "n": requests},
        )
        c.execute(
            text(
                """
                INSERT INTO request (id, community_id, grid_id, category, title, description,
                    status, route_rule, source, receipt_code, nickname, show_nickname, phone,
                    hidden, support_count, version, status_since, resolved_at, created_at,
                    updated_at, geom)
                SELECT i, (floor(x)::int / :b) * :blocks + floor(y)::int / :b + 1,
                       floor(x)::int * :side + floor(y)::int + 1,
                       (CAST(:cats AS text[]))[1 + (i % :ncats)],
                       '建议 ' || i || CASE WHEN i % 97 = 0
                           THEN ' =HYPERLINK("x")' ELSE '' END,
                       '第' || i || '条的描述', s.status, 'inside', 'web',
                       'R' || lpad(i::text, 8, '0'), '居民' || (i % 1000), i % 3 = 0,
                       '138' || lpad((i % 100000000)::text, 8, '0'), i % 50 = 0,
                       floor(r2 * r2 * 30)::int, 1, t.created, s.resolved, t.created,
                       t.created,
                       ST_SetSRID(ST_MakePoint(:lon0 + x * :cell, :lat0 + y * :cell), 4326)
                FROM pts,
                     LATERAL (SELECT timestamptz '2026-11-30 00:00+00'
                                     - (r1 * 730) * interval '1 day' AS created) t,
                     LATERAL (SELECT CASE WHEN r1 < 0.34 THEN 'resolved'
                                          WHEN r1 < 0.5 THEN 'rejected'
                                          ELSE (CAST(:open AS text[]))[1 + (i % 3)] END AS status,
                                     CASE WHEN r1 < 0.34 THEN t.created + (1 + r2 * 20)
                                          * interval '1 day' END AS resolved) s
                """
            ),
            {
                "b": BLOCK,
                "blocks": blocks,
                "side": side,
                "cell": CELL,
                "lon0": LON0,
                "lat0": LAT0,
                "cats": list(CATEGORIES),
                "ncats": len(CATEGORIES),
                "open": list(STATUSES_OPEN),
            },
        )
        for table in ("subdistrict", "community", "grid", "request"):
            c.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
        typical = c.scalar(text(f"SELECT count(*) FROM request WHERE community_id = {TYPICAL}"))
    return {
        "grids": side * side,
        "communities": blocks * blocks,
        "requests": requests,
        "hot": hot_n,
        "typical": int(typical or 0),
        "build_s": time.perf_counter() - t0,
    }


# --- timing ------------------------------------------------------------------------------------


@dataclass
class View:
    name: str
    paths: dict[str, Callable[[], Any]]
    times: dict[str, list[float]] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    peaks: dict[str, int] = field(default_factory=dict)
    repeats: int | None = None  # fewer for the slow ones


def run_views(views: list[View], repeats: int, warmup: int) -> None:
    """The paths of a view take turns call by call, so drift hits them alike."""
    for view in views:
        for name in view.paths:
            view.times[name] = []
        n = min(repeats, view.repeats or repeats)
        for i in range(min(warmup, n) + n):
            for name, fn in view.paths.items():
                gc.collect()
                t0 = time.perf_counter()
                answer = fn()
                seconds = time.perf_counter() - t0
                if i == 0:
                    view.answers[name] = answer
                if i >= min(warmup, n):
                    view.times[name].append(seconds)


def heap_peak(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def ms(values: list[float], q: float) -> float:
    s = sorted(values)
    return 1000 * s[min(len(s) - 1, round(q * (len(s) - 1)))]


# --- the views ----------------------------------------------------------------------------------


def make_views(url: str, dsn: str, city: dict[str, Any]) -> tuple[list[View], Any]:
    from renewmap.db.queries.requests import staff_requests
    from renewmap.services.access.accounts import Principal, RoleGrant
    from renewmap.services.access.scope import scope_of
    from renewmap.services.requests import exports, handling, suggestions
    from renewmap.spatial.crs import metres_to_degrees, to_metric, utm_epsg
    from renewmap.spatial.geometry import from_db
    from renewmap.vocabulary import OPEN_STATUSES, Role

    engine = make_engine(url)
    factory = sessionmaker(engine)
    raw = psycopg.connect(dsn, autocommit=True)
    raw.execute("SET jit = off")
    admin = Principal(
        1,
        "bench",
        "bench",
        tuple(RoleGrant(Role.COMMUNITY_ADMIN, community_id=c) for c in (HOT, TYPICAL)),
    )
    code = "C000001"
    lon, lat = LON0 + 2 * BLOCK * CELL / 4, LAT0 + 2 * BLOCK * CELL / 4  # in the busy one
    radius = 200.0
    deep = max(0, min(city["hot"] - 50, 50_000))

    def ours(fn: Callable[[Session], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with factory() as s:
                return fn(s)

        return call

    def sql(query: str, params: tuple[Any, ...]) -> Callable[[], Any]:
        def call() -> Any:
            return raw.execute(query, params, prepare=True).fetchall()

        return call

    # grid statistics
    def stats_old(s: Session) -> Any:
        scope = scope_of(s, admin)
        rows, _ = staff_requests(s, in_scope=scope.condition(), community_id=HOT, limit=None)
        out: dict[Any, list[int]] = {}
        for r in rows:
            b = out.setdefault(r.grid_id, [0, 0, 0, 0])
            b[0] += 1
            b[1] += r.status in OPEN_STATUSES
            b[2] += r.status == "resolved"
            b[3] += r.support_count or 0
        return len(out)

    stats_sql = (
        "SELECT grid_id, count(*), count(*) FILTER (WHERE status = ANY(%s)), "
        "count(*) FILTER (WHERE status = 'resolved'), coalesce(sum(support_count), 0), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - "
        "created_at)) FILTER (WHERE status = 'resolved') "
        "FROM request WHERE community_id = %s GROUP BY grid_id"
    )

    # nearby
    def nearby_old(s: Session) -> Any:
        import shapely

        from renewmap.db.models import Request

        margin = metres_to_degrees(radius, lat)
        rows = (
            s.query(Request)
            .filter(
                Request.hidden.is_(False),
                Request.geom.intersects(
                    text(
                        f"ST_MakeEnvelope({lon - margin}, {lat - margin}, {lon + margin}, "
                        f"{lat + margin}, 4326)"
                    )
                ),
            )
            .all()
        )
        epsg = utm_epsg(lon, lat)
        here = to_metric(shapely.Point(lon, lat), epsg)
        found = sorted(
            (d, r.id)
            for r in rows
            if (d := here.distance(to_metric(from_db(r.geom), epsg))) <= radius
        )
        return [rid for _, rid in found[:10]]

    # the box from the geometry index, then true distances on the spheroid
    nearby_sql = (
        "SELECT id, ST_Distance(geom::geography, p::geography) AS d FROM request, "
        "ST_SetSRID(ST_MakePoint(%s, %s), 4326) p WHERE NOT hidden AND geom && ST_Expand(p, %s) "
        "AND ST_DWithin(geom::geography, p::geography, %s) ORDER BY d, id LIMIT 10"
    )
    margin = metres_to_degrees(radius, lat)

    # staff list
    list_sql = (
        "SELECT * FROM request WHERE community_id = %s ORDER BY created_at DESC, id DESC "
        "LIMIT 50 OFFSET %s"
    )
    count_sql = "SELECT count(*) FROM request WHERE community_id = %s"
    with factory() as s:
        page = handling.my_requests(
            s, principal=admin, community_code=code, sort="newest", limit=1, offset=deep - 1
        )
        last = page["features"][0]["properties"]
        after_created, after_id = last["created_at"], page["features"][0]["id"]
    keyset_sql = (
        "SELECT * FROM request WHERE community_id = %s AND (created_at, id) < (%s, %s) "
        "ORDER BY created_at DESC, id DESC LIMIT 50"
    )

    def my_list(offset: int = 0, after: Any = None) -> Callable[[Session], Any]:
        def call(s: Session) -> Any:
            kw: dict[str, Any] = {"after": after} if after is not None else {"offset": offset}
            return handling.my_requests(
                s, principal=admin, community_code=code, sort="newest", limit=50, **kw
            )["numberReturned"]

        return call

    def both(*fns: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: [f() for f in fns]

    after_at = dt.datetime.fromisoformat(after_created)
    staff_deep_paths = {
        "ours (offset)": ours(my_list(offset=deep)),
        "raw SQL (offset + count)": both(sql(list_sql, (HOT, deep)), sql(count_sql, (HOT,))),
        "ours (keyset, after=)": ours(my_list(after=after_id)),
        "raw SQL (keyset + count)": both(
            sql(keyset_sql, (HOT, after_at, after_id)), sql(count_sql, (HOT,))
        ),
    }

    # export: a typical community with the old way beside it; the busy one without it (the old
    # way is quadratic: openpyxl's ``max_row`` walks every cell for each row it styled)
    def export_new(community: str) -> Callable[[Session], int]:
        def call(s: Session) -> int:
            records = exports.iter_records(s, principal=admin, community_code=community)
            with exports.export_file("xlsx", records) as f:
                return len(f.read())

        return call

    def export_old(s: Session) -> int:
        """The export as it was: every row in a list, then a normal (in-memory) workbook."""
        from openpyxl import Workbook

        records = exports.rows(s, principal=admin, community_code=TYPICAL_CODE)
        wb = Workbook()
        ws = wb.active
        ws.append(exports.headers())
        for r in records:
            ws.append([exports.neutralise(r[k]) for k, _ in exports.COLUMNS])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        out = io.BytesIO()
        wb.save(out)
        return len(out.getvalue())

    export_sql = (
        "SELECT r.id, r.receipt_code, r.created_at, r.status, r.category, r.title, "
        "r.description, g.code, g.name, r.support_count, r.nickname, r.phone, "
        "ST_X(r.geom), ST_Y(r.geom) FROM request r LEFT JOIN grid g ON g.id = r.grid_id "
        "WHERE r.community_id = %s ORDER BY r.created_at, r.id"
    )
    typical_export = {
        "ours (streamed)": ours(export_new(TYPICAL_CODE)),
        "old (rows in memory, then the workbook)": ours(export_old),
        "raw SQL (the rows only)": sql(export_sql, (TYPICAL,)),
    }
    busy_export = {
        "ours (streamed)": ours(export_new(code)),
        "raw SQL (the rows only)": sql(export_sql, (HOT,)),
    }

    views = [
        View(
            "grid statistics (busy community)",
            {
                "ours": ours(
                    lambda s: handling.grid_stats(s, principal=admin, community_code=code)
                ),
                "raw SQL": sql(stats_sql, (list(STATUSES_OPEN), HOT)),
                "old (rows into Python)": ours(stats_old),
            },
        ),
        View(
            f"nearby ({radius:.0f} m, 10 nearest)",
            {
                "ours": ours(
                    lambda s: [
                        f["id"] for f in suggestions.nearby(s, lon=lon, lat=lat, radius_m=radius)
                    ]
                ),
                "raw SQL": sql(nearby_sql, (lon, lat, margin, radius)),
                "old (rows into Python)": ours(nearby_old),
            },
        ),
        View(
            "staff list, newest, page 1 (50)",
            {
                "ours": ours(my_list()),
                "raw SQL (page + count)": both(sql(list_sql, (HOT, 0)), sql(count_sql, (HOT,))),
            },
        ),
        View(f"staff list, newest, rows {deep:,}–{deep + 50:,}", staff_deep_paths),
        View(
            f"export XLSX, a typical community ({city['typical']:,} rows)",
            typical_export,
            repeats=3,
        ),
        View(f"export XLSX, the busy community ({city['hot']:,} rows)", busy_export, repeats=1),
    ]
    return views, (engine, raw, factory)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 grids, 100,000 requests")
    parser.add_argument("--grids", type=int)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--hot-share", type=float, default=0.075)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    grids = args.grids or (2_000 if args.quick else 20_000)
    requests = args.requests or (100_000 if args.quick else 1_000_000)
    repeats = args.repeats or (5 if args.quick else 20)
    warmup = 2
    started = dt.datetime.now(dt.UTC)
    load = os.getloadavg()
    with postgis_cluster() as cluster:
        engine = make_engine(cluster.url)
        upgrade(engine)
        city = build_city(engine, grids, requests, args.hot_share)
        engine.dispose()
        print(f"city built: {city}", file=sys.stderr)
        views, (engine, raw, _) = make_views(cluster.url, cluster.dsn, city)
        run_views(views, repeats, warmup)
        for view in views:
            if view.name.startswith("export"):
                for name, fn in view.paths.items():
                    view.peaks[name] = heap_peak(fn)
        raw.close()
        engine.dispose()
    section = readme_section(views, city, repeats, warmup, started, load, args.quick)
    print(section)
    if not args.no_readme:
        replace_section(README, section, START_MARK, END_MARK)
    return 0


def readme_section(
    views: list[View],
    city: dict[str, Any],
    repeats: int,
    warmup: int,
    started: dt.datetime,
    load: tuple[float, float, float],
    quick: bool,
) -> str:
    lines = [
        START_MARK,
        "## City-size hot spots (PostGIS)" + (" — quick run" if quick else ""),
        "",
        "`python bench/bench_city.py` — " + (__doc__ or "").split("\n\n")[1].replace("\n", " "),
        "",
        f"City: {city['grids']:,} grids, {city['communities']:,} communities, "
        f"{city['requests']:,} requests ({city['hot']:,} in the busy community), built in "
        f"{city['build_s']:.0f} s. {repeats} timed calls per path after {warmup} warm-up "
        "calls (the exports: 3 after 2 for the typical community, 1 after 1 for the busy one), "
        "the paths taking turns call by call. The old export is not run on the busy community: "
        "it is quadratic (openpyxl's `max_row`, read for every row to style it, walks every "
        "cell), hours at 75,000 rows. Heap peak: tracemalloc over one call.",
        "",
    ]
    verdicts = []
    for view in views:
        if view.name.startswith("export"):
            continue
        for name in (n for n in view.times if n.startswith("ours")):
            p50 = ms(view.times[name], 0.5)
            label = view.name + (name[4:] if name != "ours" else "")
            verdicts.append(f"{label}: {'meets' if p50 <= 100 else 'MISSES'} ({p50:.0f} ms)")
    nearby = next(v for v in views if v.name.startswith("nearby"))
    same = nearby.answers["ours"] == [row[0] for row in nearby.answers["raw SQL"]]
    old_same = nearby.answers["ours"] == nearby.answers["old (rows into Python)"]
    lines += [
        f"Answers: nearby's ten ids equal the raw SQL's: {'yes' if same else 'NO'}, the old "
        f"way's: {'yes' if old_same else 'NO'}.",
        "",
    ]
    lines.append(
        "Goal: every staff and resident view ≤ 100 ms p50 in-process — " + "; ".join(verdicts) + "."
    )
    lines += [
        "",
        "| view | path | p50 | p99 | p50 / raw SQL | heap peak |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for view in views:
        raws = [n for n in view.times if n.startswith("raw SQL")]
        for name, times in view.times.items():
            # against the raw query of the same kind (keyset against keyset)
            kind = name.split("(")[-1].split(",")[0].split(" ")[0]
            base_name = next((n for n in raws if f"({kind}" in n), raws[0])
            base = statistics.median(view.times[base_name])
            peak = f"{view.peaks[name] / 2**20:,.1f} MiB" if name in view.peaks else ""
            lines.append(
                f"| {view.name} | {name} | {ms(times, 0.5):.1f} ms | {ms(times, 0.99):.1f} ms | "
                f"{statistics.median(times) / base:.2f}× | {peak} |"
            )
    import sqlalchemy

    lines += [
        "",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores; {platform.platform()}; database and "
        f"client share the machine, which was loaded by other work during the run (load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the start): read the ratios, not the "
        "absolute times",
        f"- Python {platform.python_version()}; SQLAlchemy {sqlalchemy.__version__}; psycopg "
        f"{psycopg.__version__}",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
