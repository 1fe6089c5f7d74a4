"""The demo community: 巴林小区 (巴林居委会, 曲阳路街道), built from the real OSM extract.

``build_demo_files`` regenerates ``src/renewmap/data/demo/`` (package data, so an installed
``renewmap serve --demo`` finds it) deterministically (same input → same files): the compound,
its buildings, paths and green areas from OpenStreetMap, plus generated governance data (grids
as dissolved Voronoi cells of building groups, fewer party branches than grids, a building party
group for each building, named on the building, stairwells with their entrances, the property
company and the owners' committee), one micro-garden site with its design layers, and sample
requests; and ``history.json``, six months of the community's life (``demo_history``).
``load_demo`` imports those files through the ordinary importers, then replays the history.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel
from sqlalchemy.orm import Session

from renewmap.services.ingest.importer import (
    import_branches,
    import_file,
    import_organisations,
)
from renewmap.services.ingest.osm import OSM_ATTRIBUTION, extract_compound, read_osm
from renewmap.services.places import admin_codes
from renewmap.services.requests.intake import create_request
from renewmap.spatial.crs import to_metric, transform
from renewmap.spatial.grids import voronoi_grids
from renewmap.vocabulary import ORG_OWNERS, ORG_PROPERTY, PATROL_RULE_DEFAULT, Status

DEMO_COMPOUND = "巴林小区"
DEMO_COMMUNITY = "310109010026"  # 巴林居委会, 曲阳路街道, 虹口区 (NBS 2023)
GRID_COUNT = 7
BRANCH_GROUPS = (("G01", "G02"), ("G03", "G04"), ("G05", "G06"), ("G07",))
BRANCH_NAMES = ("第一网格党支部", "第二网格党支部", "第三网格党支部", "第四网格党支部")
REQUEST_COUNT = 200
SEED = 20261121
# The categories the sample requests are drawn from (fixed, so that categories added to the
# vocabulary later do not change the sample).
DEMO_CATEGORIES = (
    "greenery",
    "paths",
    "lighting",
    "ebike_parking",
    "fitness_play",
    "pets",
    "sanitation",
    "safety_fire",
    "pipes_drainage",
    "overhead_wires",
    "accessibility",
    "other",
)
HOUSEHOLDS_PER_STAIRWELL = 12  # six floors, two flats a landing

REQUEST_TEXT: dict[str, list[tuple[str, str]]] = {
    "greenery": [
        ("花坛杂草丛生", "希望重新种植四季有景的花卉"),
        ("想认养一棵树", "楼前空地可以种桂花"),
    ],
    "paths": [
        ("步道破损积水", "雨天路面积水，老人容易滑倒"),
        ("希望铺设健身步道", "彩色透水混凝土步道"),
    ],
    "lighting": [("路灯不亮", "晚上回家很黑，请尽快修理"), ("楼道灯坏了", "声控灯失灵")],
    "ebike_parking": [("需要电瓶车棚", "电动车在楼道充电很危险"), ("充电桩不够", "希望增加充电桩")],
    "fitness_play": [("健身器材老旧", "中心花园的器材生锈了"), ("缺少儿童游乐设施", "亲子活动角")],
    "pets": [("宠物粪便无人清理", "希望设置宠物便袋箱"), ("遛狗不牵绳", "请加强文明养宠宣传")],
    "sanitation": [("垃圾箱房异味", "夏天异味很重"), ("建筑垃圾堆放", "装修垃圾长期未清运")],
    "safety_fire": [("消防通道被占", "私家车占用消防通道"), ("灭火器过期", "楼道灭火器需要更换")],
    "pipes_drainage": [("雨水管堵塞", "下雨时雨水倒灌"), ("水管漏水", "地下水管漏水")],
    "overhead_wires": [("空中飞线", "“蜘蛛网”电线很危险"), ("线缆下垂", "通信线缆垂到头顶")],
    "accessibility": [("入口没有坡道", "轮椅无法进入"), ("希望加装扶手", "楼梯需要扶手")],
    "other": [("希望增加休息座椅", "老人散步需要坐一坐"), ("公告栏需要更新", "信息公示栏破旧")],
}


def _bisect(idx: list[int], xy: np.ndarray, groups: int) -> list[list[int]]:
    """Split points into compact groups by recursive balanced bisection (deterministic)."""
    if groups <= 1:
        return [idx]
    pts = xy[idx]
    axis = 0 if np.ptp(pts[:, 0]) >= np.ptp(pts[:, 1]) else 1
    order = [idx[i] for i in np.lexsort((pts[:, 1 - axis], pts[:, axis]))]
    left_groups = groups // 2
    cut = round(len(order) * left_groups / groups)
    return _bisect(order[:cut], xy, left_groups) + _bisect(order[cut:], xy, groups - left_groups)


def build_demo_files(osm_path: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Regenerate the demo community files; returns feature counts per file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = extract_compound(read_osm(osm_path), compound=DEMO_COMPOUND, buffer_m=20.0)
    epsg = int(parts["epsg"]["epsg"].iloc[0])
    community_geom = parts["community_geom"].geometry.iloc[0]
    outline = parts["outline"].geometry.iloc[0]
    counts: dict[str, int] = {}

    def write(name: str, frame: gpd.GeoDataFrame) -> None:
        path = out / name
        if path.exists():
            path.unlink()
        frame = frame.reset_index(drop=True)
        path.write_text(frame.to_json(drop_id=True, ensure_ascii=False, indent=1) + "\n")
        counts[name] = len(frame)

    name = admin_codes.committee_name(DEMO_COMMUNITY) or DEMO_COMPOUND
    write(
        "community.geojson",
        gpd.GeoDataFrame(
            {
                "code": [DEMO_COMMUNITY],
                "name": [name],
                "metric_epsg": [epsg],
                "attribution": [OSM_ATTRIBUTION],
                "top_level": ["general_branch"],  # 居民区党总支
                "patrol_rule": [PATROL_RULE_DEFAULT],  # 每月第二周的周四
            },
            geometry=[community_geom],
            crs=4326,
        ),
    )
    write("compound.geojson", parts["outline"])

    # Buildings: number them in reading order (north to south, then west to east).
    b = parts["building"].copy()
    cm = b.geometry.apply(lambda g: to_metric(g.centroid, epsg))
    b["_x"], b["_y"] = [p.x for p in cm], [p.y for p in cm]
    b = b.sort_values(by=["_y", "_x"], ascending=[False, True]).reset_index(drop=True)
    b["number"] = [f"{i}号楼" for i in range(1, len(b) + 1)]
    b["code"] = [f"B{i:02d}" for i in range(1, len(b) + 1)]
    areas = b.geometry.apply(lambda g: to_metric(g, epsg).area)
    b["households"] = [max(6, int(round(a * 6 / 75 / 6) * 6)) for a in areas]  # 6 floors, ~75 m²

    xy = np.column_stack([b["_x"], b["_y"]])
    groups = _bisect(list(range(len(b))), xy, GRID_COUNT)
    groups.sort(key=lambda g: (-max(xy[g][:, 1]), min(xy[g][:, 0])))
    grid_of = {}
    for gi, members in enumerate(groups, start=1):
        for m in members:
            grid_of[m] = f"G{gi:02d}"
    b["grid_code"] = [grid_of[i] for i in range(len(b))]
    b["compound_code"] = "C1"
    cells = voronoi_grids(
        seeds=list(b.geometry), groups=list(b["grid_code"]), clip=community_geom, epsg=epsg
    )
    branch_of = {g: f"{DEMO_COMMUNITY}-B{k}" for k, gs in enumerate(BRANCH_GROUPS, 1) for g in gs}
    grids = gpd.GeoDataFrame(
        {
            "code": sorted(cells),
            "name": [f"第{int(c[1:])}网格" for c in sorted(cells)],
            "branch_code": [branch_of[c] for c in sorted(cells)],
            "compound_code": "C1",
        },
        geometry=[cells[c] for c in sorted(cells)],
        crs=4326,
    )
    write("grids.geojson", grids)
    # One building party group per building, named on the building it serves (its code says
    # so: LZ = 楼组, never to be mistaken for a grid branch's B1…B4).
    b["group_code"] = [f"{DEMO_COMMUNITY}-LZ{i:02d}" for i in range(1, len(b) + 1)]
    write(
        "buildings.geojson",
        b[
            [
                "code",
                "number",
                "households",
                "grid_code",
                "group_code",
                "compound_code",
                "osm_id",
                "geometry",
            ]
        ],
    )
    write("stairwells.geojson", _stairwells(b, epsg))
    organisations = pd.DataFrame(
        [
            {
                "code": "WY1",
                "name": "巴林小区物业服务中心",
                "kind": ORG_PROPERTY,
                "compound_code": "C1",
                "community_code": DEMO_COMMUNITY,
                "phone": "021-55550100",
            },
            {
                "code": "YWH1",
                "name": "巴林小区业主委员会",
                "kind": ORG_OWNERS,
                "compound_code": "C1",
                "community_code": DEMO_COMMUNITY,
                "phone": "",
            },
        ]
    )
    organisations.to_csv(out / "organisations.csv", index=False)
    counts["organisations.csv"] = len(organisations)

    branches = [
        {
            "code": f"{DEMO_COMMUNITY}-GB",
            "name": "巴林居民区党总支",
            "parent_code": "",
            "level": "general",
            "community_code": DEMO_COMMUNITY,
        }
    ]
    for k, bname in enumerate(BRANCH_NAMES, start=1):
        branches.append(
            {
                "code": f"{DEMO_COMMUNITY}-B{k}",
                "name": bname,
                "parent_code": f"{DEMO_COMMUNITY}-GB",
                "level": "grid",
                "community_code": DEMO_COMMUNITY,
            }
        )
    for _, row in b.iterrows():
        branches.append(
            {
                "code": row["group_code"],
                "name": f"{row['number']}楼组党小组",
                "parent_code": branch_of[row["grid_code"]],
                "level": "building_group",
                "community_code": DEMO_COMMUNITY,
            }
        )
    pd.DataFrame(branches).to_csv(out / "branches.csv", index=False)
    counts["branches.csv"] = len(branches)

    _write_site(write, outline, b, parts, epsg)
    _write_requests(write, community_geom, grids, epsg)
    from renewmap.services.ingest.demo_history import build_history  # reads the files above

    counts["history.json"] = build_history(out, seed=SEED)
    (out / "SOURCE.json").write_text(
        json.dumps(
            {
                "osm_extract": Path(osm_path).name,
                "compound": DEMO_COMPOUND,
                "community": DEMO_COMMUNITY,
                "seed": SEED,
                "attribution": OSM_ATTRIBUTION,
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )
    return counts


def _stairwells(buildings: gpd.GeoDataFrame, epsg: int) -> gpd.GeoDataFrame:
    """The stairwells of each building: one per ``HOUSEHOLDS_PER_STAIRWELL`` households, their
    entrances spread along the south face (1 m out from it), numbered west to east."""
    rows, points = [], []
    for _, b in buildings.iterrows():
        foot = to_metric(b.geometry, epsg)
        rect = foot.minimum_rotated_rectangle
        corners = list(rect.exterior.coords)[:4]
        edges = [(corners[k], corners[(k + 1) % 4]) for k in range(4)]
        longest = max(shapely.LineString(e).length for e in edges)
        long_edges = [e for e in edges if shapely.LineString(e).length > longest * 0.999]
        (x0, y0), (x1, y1) = min(long_edges, key=lambda e: (e[0][1] + e[1][1], e[0][0]))
        if x1 < x0:
            (x0, y0), (x1, y1) = (x1, y1), (x0, y0)
        centre = rect.centroid
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        out_x, out_y = mx - centre.x, my - centre.y
        norm = max((out_x**2 + out_y**2) ** 0.5, 1e-9)
        n = max(1, round(int(b["households"]) / HOUSEHOLDS_PER_STAIRWELL))
        share, extra = divmod(int(b["households"]), n)
        for k in range(n):
            t = (k + 0.5) / n
            p = shapely.Point(x0 + t * (x1 - x0) + out_x / norm, y0 + t * (y1 - y0) + out_y / norm)
            points.append(transform(p, epsg, 4326))
            rows.append(
                {
                    "building": b["number"],
                    "number": f"{k + 1}单元",
                    "households": share + (1 if k < extra else 0),
                }
            )
    return gpd.GeoDataFrame(rows, geometry=points, crs=4326)


Writer = Callable[[str, gpd.GeoDataFrame], None]  # writes one demo file


def _write_site(
    write: Writer,
    outline: BaseGeometry,
    buildings: gpd.GeoDataFrame,
    parts: dict[str, gpd.GeoDataFrame],
    epsg: int,
) -> None:
    """A micro-garden in the largest open space of the compound, with beds, plants, a path."""
    outline_m = to_metric(outline, epsg)
    built = shapely.union_all([to_metric(g, epsg).buffer(4) for g in buildings.geometry])
    free = outline_m.difference(built)
    pieces = list(free.geoms) if hasattr(free, "geoms") else [free]
    largest = cast(shapely.Polygon, max(pieces, key=lambda g: g.area))  # of a polygon
    centre = polylabel(largest, tolerance=0.5)
    half = min(14.0, max(6.0, largest.exterior.distance(centre) * 0.9))
    site_m: BaseGeometry = shapely.box(
        centre.x - half, centre.y - half * 0.8, centre.x + half, centre.y + half * 0.8
    )
    site_m = site_m.intersection(largest)
    cx, cy = centre.x, centre.y

    def to_wgs(g: BaseGeometry) -> BaseGeometry:
        return transform(g, epsg, 4326)

    write(
        "site.geojson",
        gpd.GeoDataFrame(
            {
                "code": ["S01"],
                "name": ["睦邻微花园"],
                "description": ["楼间空地改造为微花园：睦邻花圃、四季花境、健身步道"],
            },
            geometry=[to_wgs(site_m)],
            crs=4326,
        ),
    )
    bed1 = shapely.box(cx - half + 1, cy + 1, cx - 1.5, cy + half * 0.8 - 1).intersection(site_m)
    bed2 = shapely.box(cx + 1.5, cy + 1, cx + half - 1, cy + half * 0.8 - 1).intersection(site_m)
    green = gpd.GeoDataFrame(
        {
            "code": ["S01-G1", "S01-G2"],
            "name": ["睦邻花圃", "四季花境"],
            "kind": ["bed", "bed"],
            "layer": ["shrub", "ground_cover"],
            "species": ["月季; 绣球", "美丽月见草; 金鸡菊"],
            "site_code": ["S01", "S01"],
        },
        geometry=[to_wgs(bed1), to_wgs(bed2)],
        crs=4326,
    )
    osm_green = parts["green"].copy()
    osm_green["code"] = [f"OSM-G{i}" for i in range(1, len(osm_green) + 1)]
    write("green.geojson", pd.concat([osm_green, green], ignore_index=True))
    species = [
        ("桂花", "tree"),
        ("樱花", "tree"),
        ("红枫", "tree"),
        ("蜡梅", "shrub"),
        ("月季", "shrub"),
        ("绣球", "shrub"),
        ("八角金盘", "shrub"),
        ("麦冬", "ground_cover"),
    ]
    pts, rows = [], []
    for k, (sp, layer) in enumerate(species):
        bed = bed1 if k % 2 == 0 else bed2
        minx, miny, maxx, maxy = bed.bounds
        p = shapely.Point(
            minx + (maxx - minx) * (0.2 + 0.6 * ((k // 2) % 4) / 3),
            miny + (maxy - miny) * (0.3 if k % 4 < 2 else 0.7),
        )
        pts.append(to_wgs(p))
        rows.append(
            {
                "code": f"S01-P{k + 1}",
                "name": f"{sp}{k + 1}",
                "species": sp,
                "layer": layer,
                "adoptable": "true",
                "site_code": "S01",
            }
        )
    write("plants.geojson", gpd.GeoDataFrame(rows, geometry=pts, crs=4326))
    path_m = shapely.LineString(
        [(cx - half + 1, cy - 1.5), (cx, cy - half * 0.5), (cx + half - 1, cy - 1.5)]
    ).intersection(site_m)
    osm_paths = parts["path"].copy()
    osm_paths["code"] = [f"OSM-P{i}" for i in range(1, len(osm_paths) + 1)]
    site_path = gpd.GeoDataFrame(
        {
            "code": ["S01-R1"],
            "name": ["彩色透水混凝土健身步道"],
            "width_m": [1.5],
            "surface": ["permeable_concrete"],
            "purpose": ["fitness"],
            "site_code": ["S01"],
        },
        geometry=[to_wgs(path_m)],
        crs=4326,
    )
    write("paths.geojson", pd.concat([osm_paths, site_path], ignore_index=True))
    write(
        "facilities.geojson",
        gpd.GeoDataFrame(
            {
                "code": ["S01-F1", "S01-F2", "S01-F3"],
                "name": ["休息座椅", "庭院灯", "花园议事厅公告栏"],
                "kind": ["bench", "light", "notice_board"],
                "site_code": ["S01"] * 3,
            },
            geometry=[
                to_wgs(shapely.Point(cx, cy)),
                to_wgs(shapely.Point(cx + 2, cy - 2)),
                to_wgs(shapely.Point(cx - 2, cy - 2)),
            ],
            crs=4326,
        ),
    )


def _write_requests(
    write: Writer, community_geom: BaseGeometry, grids: gpd.GeoDataFrame, epsg: int
) -> None:
    """Sample requests: most inside the community, some exactly on shared grid edges, a few
    just outside (they snap)."""
    rng = np.random.default_rng(SEED)
    comm_m = to_metric(community_geom, epsg)
    minx, miny, maxx, maxy = comm_m.bounds
    pts: list[shapely.Point] = []
    while len(pts) < int(REQUEST_COUNT * 0.85):
        p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if comm_m.contains(p):
            pts.append(transform(p, epsg, 4326))
    shared = []
    g = list(grids.geometry)
    for i in range(len(g)):
        for j in range(i + 1, len(g)):
            edge = g[i].boundary.intersection(g[j].boundary)
            if edge.length > 0:
                shared.append(edge)
    while len(pts) < int(REQUEST_COUNT * 0.95):
        edge = shared[int(rng.integers(len(shared)))]
        coords = shapely.get_coordinates(edge)
        pts.append(shapely.Point(coords[int(rng.integers(len(coords)))]))  # a shared vertex
    ring = comm_m.buffer(25).difference(comm_m.buffer(5))
    rminx, rminy, rmaxx, rmaxy = ring.bounds
    while len(pts) < REQUEST_COUNT:
        p = shapely.Point(rng.uniform(rminx, rmaxx), rng.uniform(rminy, rmaxy))
        if ring.contains(p):
            pts.append(transform(p, epsg, 4326))
    statuses = [Status.NEW] * 6 + [Status.ACCEPTED] * 2 + [Status.IN_PROGRESS, Status.RESOLVED]
    rows = []
    for _ in pts:
        cat = DEMO_CATEGORIES[int(rng.integers(len(DEMO_CATEGORIES)))]
        title, text = REQUEST_TEXT[cat][int(rng.integers(2))]
        rows.append(
            {
                "category": cat,
                "title": title,
                "description": text,
                "status": str(statuses[int(rng.integers(len(statuses)))]),
            }
        )
    write("requests.geojson", gpd.GeoDataFrame(rows, geometry=pts, crs=4326))


DEMO_FILES = (
    ("community", "community.geojson"),
    ("compound", "compound.geojson"),
    ("organisations", "organisations.csv"),
    ("branches", "branches.csv"),
    ("grid", "grids.geojson"),
    ("building", "buildings.geojson"),
    ("stairwell", "stairwells.geojson"),
    ("site", "site.geojson"),
    ("green", "green.geojson"),
    ("plant", "plants.geojson"),
    ("path", "paths.geojson"),
    ("facility", "facilities.geojson"),
)


def load_demo(
    session: Session, demo_dir: str | Path, *, history: bool = True, now: datetime | None = None
) -> dict[str, int]:
    """Import the demo files and route the sample requests, in the caller's transaction;
    then replay its history (``demo_history``), moved so that it ends on ``now``'s day.
    ``history=False``: the bare community, each request in its file's status (the state the
    test suite starts from)."""
    d = Path(demo_dir)
    counts: dict[str, int] = {}
    for kind, name in DEMO_FILES:
        if kind == "branches":
            rep = import_branches(session, d / name)
        elif kind == "organisations":
            rep = import_organisations(session, d / name)
        else:
            community = None if kind == "community" else DEMO_COMMUNITY
            rep = import_file(session, d / name, kind=kind, community_code=community)
        counts[kind] = rep.created + rep.updated
    reqs = gpd.read_file(d / "requests.geojson")
    made = []
    for _, r in reqs.iterrows():
        request, _owner = create_request(
            session,
            geom=r.geometry,
            category=r["category"],
            title=r["title"],
            description=r["description"],
            status=Status.NEW if history else r["status"],  # the history takes them on
            source="demo",
        )
        made.append(request)
    counts["request"] = len(reqs)
    if history:
        from renewmap.services.ingest.demo_history import load_history

        counts |= load_history(session, d, community_code=DEMO_COMMUNITY, requests=made, now=now)
    return counts
