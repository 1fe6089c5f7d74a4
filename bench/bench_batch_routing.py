"""Batch-routing benchmark: ``MemorySource.route_points_arrays`` against ``geopandas.sjoin``.

Synthetic city: a 30 km square near Shanghai (built in metres in UTM 51N, EPSG:32651, then
transformed to WGS84 lon/lat), cut into N Voronoi grids that are grouped into communities of
~15 grids (dissolved with ``shapely.union_all``, so grids nest exactly in communities).
M random points, of which 0.1 % are replaced by points lying exactly on vertices shared by two
or more grids: ``within`` drops those, the routing rule resolves them (rule 3, ``boundary``).

For every N the script times, best of 3 repeats:

* ours:  ``source.route_points_arrays(lon, lat)`` from numpy arrays (the grid STRtree and the
  prepared geometries are built beforehand, in ``MemorySource(...)``; that cost is reported
  separately as "source build");
* sjoin: ``geopandas.sjoin(points, grids, predicate="within", how="left")`` given a prebuilt
  points GeoDataFrame.  For ``within`` geopandas builds its STRtree over the *points* inside the
  call and caches it on the frame, so every repeat gets a fresh frame (no cached index); the
  time to build that frame is reported separately as "points GDF build".

Usage::

    python bench/bench_batch_routing.py            # N = 1k / 10k / 50k, M = 1,000,000
    python bench/bench_batch_routing.py --quick    # N = 1k, M = 100,000 (smoke run)

A full run writes its table into ``bench/README.md`` between the markers
``<!-- batch-routing:start -->`` and ``<!-- batch-routing:end -->``; ``--quick`` only prints
(unless ``--write-readme`` is given).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from benchutil import cpu_model, replace_section
from renewmap.spatial.routing import (
    RULE_CODES,
    RULES_BY_CODE,
    CommunityRef,
    GridRef,
    MemorySource,
    Rule,
)

SEED = 20240611
CENTRE_LON, CENTRE_LAT = 121.5, 31.25
METRIC_EPSG = 32651  # UTM zone 51N
SIDE_M = 30_000.0
GRIDS_PER_COMMUNITY = 15
VERTEX_SHARE = 0.001
REPEATS = 3
TARGET_RATIO = 1.0

README = Path(__file__).resolve().parent / "README.md"
START_MARK = "<!-- batch-routing:start -->"
END_MARK = "<!-- batch-routing:end -->"

T = TypeVar("T")


@dataclass
class City:
    """Synthetic grids/communities in WGS84 plus the routing source built over them."""

    grids: list[GridRef]
    communities: list[CommunityRef]
    grid_geoms: np.ndarray
    union: BaseGeometry
    shared_vertices: np.ndarray  # (k, 2) lon/lat of vertices shared by >= 2 grids
    square_m: tuple[float, float, float, float]


@dataclass
class Result:
    """Numbers for one N."""

    n_grids: int
    n_communities: int
    n_points: int
    n_vertex: int
    city_build_s: float
    source_build_s: float
    points_gdf_s: float
    ours_s: float
    sjoin_s: float
    ours_runs: list[float]
    sjoin_runs: list[float]
    vertex_unmatched_sjoin: int
    vertex_resolved_ours: int
    vertex_boundary_ours: int
    sjoin_single: int
    disagreements: int
    ours_rules: dict[str, int]

    @property
    def ours_pps(self) -> float:
        """Our points per second."""
        return self.n_points / self.ours_s

    @property
    def sjoin_pps(self) -> float:
        """sjoin points per second."""
        return self.n_points / self.sjoin_s

    @property
    def ratio(self) -> float:
        """Our throughput relative to sjoin's (>1 means faster)."""
        return self.ours_pps / self.sjoin_pps


def best_of(fn: Callable[[], T], repeats: int = REPEATS) -> tuple[float, T]:
    """Minimum wall time of ``repeats`` calls and the last call's result."""
    best = float("inf")
    out: T | None = None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out  # type: ignore[return-value]


def _to_wgs84() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(METRIC_EPSG, 4326, always_xy=True)


def _square_m() -> tuple[float, float, float, float]:
    """The 30 km square in UTM 51N metres, centred on (CENTRE_LON, CENTRE_LAT)."""
    fwd = pyproj.Transformer.from_crs(4326, METRIC_EPSG, always_xy=True)
    cx, cy = fwd.transform(CENTRE_LON, CENTRE_LAT)
    h = SIDE_M / 2
    return (cx - h, cy - h, cx + h, cy + h)


def _shared_vertices(geoms: np.ndarray) -> np.ndarray:
    """Exact coordinates that occur as a vertex of at least two different polygons."""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    # One row per (polygon, vertex): drops each ring's closing duplicate.
    rows = np.unique(np.column_stack([owner.astype(float), coords]), axis=0)
    xy, counts = np.unique(rows[:, 1:], axis=0, return_counts=True)
    return xy[counts >= 2]


def build_city(n_grids: int, rng: np.random.Generator) -> City:
    """Voronoi grids clipped to the square, grouped into ~15-grid communities, in WGS84."""
    minx, miny, maxx, maxy = square = _square_m()
    box_m = shapely.box(*square)
    seeds = np.column_stack([rng.uniform(minx, maxx, n_grids), rng.uniform(miny, maxy, n_grids)])
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box_m, ordered=True)
    cells_m = shapely.intersection(shapely.get_parts(cells), box_m)
    assert len(cells_m) == n_grids and (shapely.get_type_id(cells_m) == 3).all()

    tr = _to_wgs84()
    cells_ll = shapely.transform(
        cells_m, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
    )

    n_comm = max(1, round(n_grids / GRIDS_PER_COMMUNITY))
    comm_seeds = shapely.points(rng.uniform(minx, maxx, n_comm), rng.uniform(miny, maxy, n_comm))
    grid_pts = shapely.points(seeds)
    src_i, tree_i = shapely.STRtree(comm_seeds).query_nearest(grid_pts, all_matches=False)
    owner = np.empty(n_grids, dtype=np.int64)
    owner[src_i] = tree_i
    # Communities that drew no grid (possible with random seeds) are dropped, ids renumbered.
    used, owner = np.unique(owner, return_inverse=True)

    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(used) + 1))
    communities = [
        CommunityRef(
            id=j + 1,
            code=f"C{j + 1:05d}",
            geom=shapely.union_all(cells_ll[order[bounds[j] : bounds[j + 1]]]),
            metric_epsg=METRIC_EPSG,
        )
        for j in range(len(used))
    ]
    grids = [
        GridRef(id=i + 1, code=f"G{i + 1:06d}", community_id=int(owner[i]) + 1, geom=g)
        for i, g in enumerate(cells_ll)
    ]
    union = shapely.union_all([c.geom for c in communities])
    return City(
        grids=grids,
        communities=communities,
        grid_geoms=cells_ll,
        union=union,
        shared_vertices=_shared_vertices(cells_ll),
        square_m=square,
    )


def make_points(
    city: City, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M uniform points in the square (lon/lat) with 0.1 % moved onto shared grid vertices.

    Returns lon, lat and the indices of the vertex points.
    """
    minx, miny, maxx, maxy = city.square_m
    tr = _to_wgs84()
    shapely.prepare(city.union)
    lon = np.empty(0)
    lat = np.empty(0)
    while len(lon) < m:
        k = int((m - len(lon)) * 1.01) + 16
        x, y = tr.transform(rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k))
        # Straight lon/lat edges vs the projected square: keep points the grids tile.
        keep = shapely.contains_xy(city.union, x, y)
        lon = np.concatenate([lon, x[keep]])
        lat = np.concatenate([lat, y[keep]])
    lon, lat = lon[:m].copy(), lat[:m].copy()
    n_vertex = max(1, round(m * VERTEX_SHARE))
    sv = city.shared_vertices
    at = rng.choice(m, size=n_vertex, replace=False)
    pick = rng.choice(len(sv), size=n_vertex, replace=n_vertex > len(sv))
    lon[at] = sv[pick, 0]
    lat[at] = sv[pick, 1]
    return lon, lat, np.sort(at)


def points_gdf(lon: np.ndarray, lat: np.ndarray) -> gpd.GeoDataFrame:
    """The points as a GeoDataFrame (fresh: no spatial index cached yet)."""
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)


def run_sjoin(pts: gpd.GeoDataFrame, grids_gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """The baseline: a point-in-polygon join with ``within``."""
    return gpd.sjoin(pts, grids_gdf, predicate="within", how="left")


def bench_one(n_grids: int, m: int) -> Result:
    """Build the city for one N, time both paths, cross-check their answers."""
    rng = np.random.default_rng([SEED, n_grids, m])
    t0 = time.perf_counter()
    city = build_city(n_grids, rng)
    lon, lat, vertex_at = make_points(city, m, rng)
    city_build_s = time.perf_counter() - t0
    print(
        f"  N={n_grids:,}: {len(city.communities):,} communities, "
        f"{len(city.shared_vertices):,} shared vertices, {m:,} points "
        f"({len(vertex_at):,} on vertices); city built in {city_build_s:.1f} s",
        flush=True,
    )

    def build_source() -> MemorySource:
        src = MemorySource(communities=city.communities, grids=city.grids)
        # GEOS builds an STRtree lazily on its first query: force it here so the build is
        # counted as source build, not as routing.
        src.route_points_arrays(lon[:1], lat[:1])
        return src

    source_build_s, source = best_of(build_source)
    grids_gdf = gpd.GeoDataFrame(
        {"code": [g.code for g in city.grids]}, geometry=list(city.grid_geoms), crs=4326
    )

    # Alternate the two paths within each repeat so drift hits both alike.
    ours_t: list[float] = []
    sjoin_t: list[float] = []
    gdf_t: list[float] = []
    ours_out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    sj: pd.DataFrame | None = None
    for _ in range(REPEATS):
        gc.collect()
        t0 = time.perf_counter()
        ours_out = source.route_points_arrays(lon, lat)
        ours_t.append(time.perf_counter() - t0)

        gc.collect()
        t0 = time.perf_counter()
        pts = points_gdf(lon, lat)
        gdf_t.append(time.perf_counter() - t0)
        assert not pts.geometry.has_sindex
        gc.collect()
        t0 = time.perf_counter()
        sj = run_sjoin(pts, grids_gdf)
        sjoin_t.append(time.perf_counter() - t0)
        del pts
    assert ours_out is not None and sj is not None
    print(
        "    ours  runs: " + ", ".join(f"{t:.3f}" for t in ours_t) + " s\n"
        "    sjoin runs: " + ", ".join(f"{t:.3f}" for t in sjoin_t) + " s",
        flush=True,
    )

    grid_idx, _comm_idx, rules = ours_out
    left = sj.index.to_numpy()
    right = sj["index_right"].to_numpy(dtype=float)
    matched = ~np.isnan(right)
    sj_count = np.bincount(left[matched], minlength=m)
    sj_grid = np.full(m, -1, dtype=np.int64)
    sj_grid[left[matched]] = right[matched].astype(np.int64)
    single = sj_count == 1
    disagreements = int(np.count_nonzero(grid_idx[single] != sj_grid[single]))

    outside = RULE_CODES[Rule.OUTSIDE]
    codes, counts = np.unique(rules, return_counts=True)
    ours_rules = {str(RULES_BY_CODE[c]): int(k) for c, k in zip(codes, counts, strict=True)}
    return Result(
        n_grids=n_grids,
        n_communities=len(city.communities),
        n_points=m,
        n_vertex=len(vertex_at),
        city_build_s=city_build_s,
        source_build_s=source_build_s,
        points_gdf_s=min(gdf_t),
        ours_s=min(ours_t),
        sjoin_s=min(sjoin_t),
        ours_runs=ours_t,
        sjoin_runs=sjoin_t,
        vertex_unmatched_sjoin=int(np.count_nonzero(sj_count[vertex_at] == 0)),
        vertex_resolved_ours=int(np.count_nonzero(rules[vertex_at] != outside)),
        vertex_boundary_ours=int(np.count_nonzero(rules[vertex_at] == RULE_CODES[Rule.BOUNDARY])),
        sjoin_single=int(np.count_nonzero(single)),
        disagreements=disagreements,
        ours_rules=ours_rules,
    )


def _mps(pps: float) -> str:
    return f"{pps / 1e6:.2f} M/s"


def markdown_table(results: list[Result]) -> str:
    """The results as a Markdown table."""
    head = (
        "| N grids | communities | M points | sjoin `within` | ours "
        "| ratio | vertex pts unmatched by sjoin | vertex pts resolved by ours "
        "| disagreements | source build | points GDF build |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {r.n_grids:,} | {r.n_communities:,} | {r.n_points:,} | {_mps(r.sjoin_pps)} "
        f"| {_mps(r.ours_pps)} | **{r.ratio:.2f}×** "
        f"| {r.vertex_unmatched_sjoin:,} / {r.n_vertex:,} "
        f"| {r.vertex_resolved_ours:,} / {r.n_vertex:,} "
        f"| {r.disagreements} / {r.sjoin_single:,} "
        f"| {r.source_build_s:.2f} s | {r.points_gdf_s:.2f} s |"
        for r in results
    ]
    return head + "\n".join(rows) + "\n"


def machine_info() -> str:
    """One Markdown bullet list describing the machine and library versions."""
    cpu = cpu_model()
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 2**20:.0f} GiB RAM"
                break
    except OSError:
        pass
    return (
        f"- Machine: {cpu}, {os.cpu_count()} cores{mem}; {platform.platform()}\n"
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}, "
        f"geopandas {gpd.__version__}, pyproj {pyproj.__version__}, numpy {np.__version__}, "
        f"pandas {pd.__version__}\n"
    )


def readme_section(results: list[Result], m: int) -> str:
    """The README block for this benchmark (between the markers)."""
    verdict = ", ".join(
        f"N={r.n_grids:,}: {'meets' if r.ratio >= TARGET_RATIO else 'MISSES'}" for r in results
    )
    return (
        f"{START_MARK}\n"
        "## Batch routing\n\n"
        "`python bench/bench_batch_routing.py` — synthetic city: a 30 km square near Shanghai "
        "(built in UTM 51N metres, stored as WGS84), N Voronoi grids grouped into communities "
        f"of ~{GRIDS_PER_COMMUNITY} grids, M = {m:,} uniform random points of which "
        f"{VERTEX_SHARE:.1%} sit exactly on vertices shared by ≥ 2 grids. Fixed seed.\n\n"
        f"Throughput is the best of {REPEATS} runs (minimum wall time).\n\n"
        "- *ours*: `MemorySource.route_points_arrays(lon, lat)` from numpy arrays. The grid "
        "STRtree and prepared geometries are built beforehand in `MemorySource(...)` "
        "(column *source build*, not included in *ours*; see the note on laziness below).\n"
        '- *sjoin*: `geopandas.sjoin(points, grids, predicate="within", how="left")` given a '
        "prebuilt points GeoDataFrame. For `within` geopandas builds an STRtree over the "
        "**points** inside the call (and caches it on the frame), so each run gets a fresh "
        "frame and the tree build is included in *sjoin*; building the frame itself is the "
        "column *points GDF build*, not included.\n"
        "- *vertex pts*: points exactly on a shared grid vertex. `within` matches no grid for "
        "them; the routing rule resolves them (rule 3, `boundary`).\n"
        "- *disagreements*: points where sjoin found exactly one grid but ours chose another "
        "(must be 0) / number of such points.\n"
        "- *source build*: `MemorySource(...)` plus a one-point query, because GEOS builds the "
        "STRtree lazily on the first query. Prepared geometries build their point-in-polygon "
        "index lazily per grid on first use, which lands in the first timed run of *ours* "
        "(all run times are listed below the table).\n\n"
        f"Target: ours ≥ {TARGET_RATIO:.1f}× sjoin at every N — {verdict}.\n\n"
        + markdown_table(results)
        + "\nRun times (s), in order:\n\n"
        + "".join(
            f"- N={r.n_grids:,}: ours {', '.join(f'{t:.3f}' for t in r.ours_runs)}; "
            f"sjoin {', '.join(f'{t:.3f}' for t in r.sjoin_runs)}\n"
            for r in results
        )
        + "\n"
        + machine_info()
        + f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n"
        f"{END_MARK}\n"
    )


def write_readme(section: str, path: Path = README) -> None:
    replace_section(path, section, START_MARK, END_MARK)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; non-zero exit if any answer disagrees with sjoin's."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 1,000 only, M = 100,000")
    ap.add_argument("--write-readme", action="store_true", help="update README with --quick")
    args = ap.parse_args(argv)
    sizes = [1_000] if args.quick else [1_000, 10_000, 50_000]
    m = 100_000 if args.quick else 1_000_000

    print(f"Batch routing benchmark: N = {sizes}, M = {m:,}; best of {REPEATS} runs (min)")
    results: list[Result] = []
    for n in sizes:
        r = bench_one(n, m)
        results.append(r)
        print(
            f"    sjoin {_mps(r.sjoin_pps)}, ours {_mps(r.ours_pps)}, ratio {r.ratio:.2f}×; "
            f"vertex points: sjoin unmatched {r.vertex_unmatched_sjoin}/{r.n_vertex}, "
            f"ours resolved {r.vertex_resolved_ours}/{r.n_vertex} "
            f"({r.vertex_boundary_ours} boundary); "
            f"disagreements {r.disagreements}/{r.sjoin_single:,}; rules {r.ours_rules}",
            flush=True,
        )

    print(f"\nBest of {REPEATS} runs (minimum wall time):\n")
    print(markdown_table(results))
    print(machine_info())
    if not args.quick or args.write_readme:
        write_readme(readme_section(results, m))
        print(f"Updated {README}")
    bad = sum(r.disagreements for r in results)
    if bad:
        print(f"FAIL: {bad} disagreements with sjoin", file=sys.stderr)
        return 1
    slow = [r.n_grids for r in results if r.ratio < TARGET_RATIO]
    if slow:
        print(f"NOTE: ours below {TARGET_RATIO:.1f}× sjoin at N = {slow}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
