"""The demo community's history: six months of life before the demo's "as of" day.

``build_history`` plans it from the seed and the built demo files (never from the clock) and
writes ``history.json`` (sorted keys, stable order: the same bytes on every build).
``load_history`` replays it through the ordinary services, as staff and residents would have
done it: requests accepted, answered, handed to the property company, transferred, resolved
with notes and "after" photos, one reopened by its resident; +1s and comments; three months
of branch patrols (one branch, 第7网格's, late); the micro-garden S01 part-way through its
participatory process (two drafts, residents' comments, the joint meeting's minutes); and a
second garden, S02, built, with before/after photos, adopted plants and care logs.

Dates. The plan's times are absolute, up to ``AS_OF`` (the seed's day, 2026-11-21, Asia/
Shanghai). At load time every time is moved by whole days so that ``AS_OF`` falls on the
loading day (the newest event is then yesterday): overdue requests, reopen windows and
patrol months stay true whenever the demo is loaded. Patrols are planned per month relative
to the loading month and dated by the community's patrol rule, so that they keep its due day.
The services stamp some rows with the clock (a request's creation, a +1, a comment, an
adoption, a care log): those timestamps are then set to the planned moment.

Staff act as the demo accounts (``services.access.demo_accounts``) and as the leads of the
other grids and secretaries of the other branches named here; they act in memory (no login
is created for the latter).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import shapely
from PIL import Image, ImageDraw
from shapely.geometry import mapping
from shapely.ops import polylabel
from sqlalchemy.orm import Session

from renewmap.db.models import DesignDraft, DraftComment, Request, RequestComment, Site
from renewmap.db.queries.design import care_log, current_adoption
from renewmap.db.queries.places import community_by_code, community_grids, find_site
from renewmap.db.queries.requests import find_support
from renewmap.services.access.accounts import Principal, resolve_place
from renewmap.spatial.crs import to_metric, transform
from renewmap.vocabulary import Role, Status

AS_OF = datetime(2026, 11, 21, tzinfo=ZoneInfo("Asia/Shanghai"))
ZONE = ZoneInfo("Asia/Shanghai")
SPAN_DAYS = 182  # about six months of requests
HISTORY_FILE = "history.json"

# (username, display name, role, place suffix): the demo accounts and the other grids' leads
# and branches' secretaries.
STAFF: tuple[tuple[str, str, str, str], ...] = (
    ("demo-g01-lead", "钱网格长", Role.GRID_LEAD, "/G01"),
    ("demo-g02-lead", "孙网格长", Role.GRID_LEAD, "/G02"),
    ("demo-g03-lead", "李网格长", Role.GRID_LEAD, "/G03"),
    ("demo-g04-lead", "周网格长", Role.GRID_LEAD, "/G04"),
    ("demo-g05-lead", "吴网格长", Role.GRID_LEAD, "/G05"),
    ("demo-g06-lead", "郑网格长", Role.GRID_LEAD, "/G06"),
    ("demo-grid-lead", "王网格长", Role.GRID_LEAD, "/G07"),
    ("demo-b1-secretary", "冯支部书记", Role.BRANCH_SECRETARY, "-B1"),
    ("demo-b2-secretary", "陈支部书记", Role.BRANCH_SECRETARY, "-B2"),
    ("demo-b3-secretary", "褚支部书记", Role.BRANCH_SECRETARY, "-B3"),
    ("demo-branch-secretary", "李支部书记", Role.BRANCH_SECRETARY, "-B4"),
    ("demo-community-admin", "赵社区管理员", Role.COMMUNITY_ADMIN, ""),
    ("demo-designer", "刘设计师", Role.DESIGNER, ""),
    ("demo-property", "周物业", Role.PROPERTY_STAFF, "/WY1"),
)
GRID_LEADS = {f"G{k:02d}": STAFF[k - 1][0] for k in range(1, 8)}
BRANCH_SECRETARIES = {"B1": STAFF[7][0], "B2": STAFF[8][0], "B3": STAFF[9][0], "B4": STAFF[10][0]}
BRANCH_GRIDS = {"B1": ["G01", "G02"], "B2": ["G03", "G04"], "B3": ["G05", "G06"], "B4": ["G07"]}
LATE_BRANCH = "B4"  # 第四网格党支部 (第7网格): late two months ago, then missed last month
ADMIN, DESIGNER, PROPERTY = "demo-community-admin", "demo-designer", "demo-property"

REPLIES = (
    "您好，已收到，网格员会在两天内到现场查看。",
    "感谢反映，已转告物业和楼组长，会尽快安排。",
    "已登记，本周居民区议事会将讨论此事。",
    "已到现场查看，正在联系施工队报价。",
)
RESOLUTIONS: dict[str, str] = {
    "greenery": "已补种花卉并清除杂草，楼组长负责日常看护。",
    "paths": "破损路面已修补，积水点加装了排水口。",
    "lighting": "已更换灯具和声控开关，晚上试灯正常。",
    "ebike_parking": "已划定临时停放区并加装两组充电桩。",
    "fitness_play": "器材已除锈刷漆，松动部件已紧固。",
    "pets": "已设置两个宠物便袋箱，并在公告栏张贴文明养宠倡议。",
    "sanitation": "垃圾箱房已清洗消毒，建筑垃圾已清运。",
    "safety_fire": "已清理占道车辆并设置禁停标识，灭火器已更换。",
    "pipes_drainage": "物业已疏通雨水管，漏水点已修复。",
    "overhead_wires": "已联系运营商整理飞线，下垂线缆已收紧固定。",
    "accessibility": "入口已加装无障碍坡道和扶手。",
    "other": "已增加休息座椅，公告栏已更新。",
}
REJECTIONS = (
    "该位置属于市政道路，已告知您拨打12345热线反映。",
    "经核实为私人物品，已请楼组长与业主协商处理。",
)
PROPERTY_CATEGORIES = ("pipes_drainage", "lighting", "sanitation")
PROPERTY_DONE = "物业已完成维修，请网格长验收。"
NICKNAMES = (
    "老王",
    "张阿姨",
    "小李",
    "陈老师",
    "刘师傅",
    "周阿婆",
    "吴大伯",
    "郑姐",
    "钱叔叔",
    "林妈妈",
)
COMMENTS = (
    "我家楼下也是这样，希望尽快解决。",
    "支持！老人晚上出门太不方便了。",
    "上周已经有人来看过了，谢谢网格长。",
    "建议和物业一起处理，效率更高。",
    "这个问题反映好几次了。",
    "修好了，点赞！",
)
REOPEN_NOTE = "过了几天问题又出现了，没有彻底解决，请再来看看。"
TRANSFER_NOTE = "经现场核实，位置在相邻网格范围内，转交处理。"

S01_STEPS = (  # (stage, days before AS_OF the step started)
    ("survey", 120),
    ("interviews", 104),
    ("drafts", 90),
    ("co_design", 72),
    ("revision", 58),
    ("joint_meeting", 47),
    ("optimisation", 40),
    ("consultation", 18),
)
S01_MINUTES = (
    "联席会议纪要（睦邻微花园）\n出席：居民区党总支、居委会、业委会、物业、设计师、居民代表12人。\n"
    "一、设计师介绍方案一（睦邻花圃）和方案二（四季花境与健身步道）。\n"
    "二、居民代表意见：保留现有桂花树；步道宜用透水材料；座椅靠近庭院灯。\n"
    "三、议定：两稿均按意见修改后进入公众咨询，物业负责后期浇水协调。"
)
S02_STEPS = (  # the second garden: from survey to maintenance
    ("survey", 330),
    ("interviews", 318),
    ("drafts", 305),
    ("co_design", 290),
    ("revision", 276),
    ("joint_meeting", 266),
    ("optimisation", 258),
    ("consultation", 245),
    ("final_revision", 230),
    ("final_joint_meeting", 222),
    ("announcement", 212),
    ("construction", 200),
    ("acceptance", 158),
    ("maintenance", 150),
)
S02_MINUTES = {
    "joint_meeting": "联席会议纪要（口袋花园）：同意以方案一为基础，增加儿童沙池的遮阴。",
    "final_joint_meeting": "联席会议纪要（口袋花园）：确定方案一定稿，物业负责施工期间的围挡。",
}
CARE_NOTES = {
    "watering": "早上浇透水一次。",
    "pruning": "剪去枯枝，修整造型。",
    "fertilising": "施了一次缓释肥。",
    "photo": "长势很好，拍照留念。",
}


# --- building the plan ------------------------------------------------------------------------


def _iso(t: datetime) -> str:
    return t.astimezone(ZONE).isoformat(timespec="minutes")


def _feature(kind: str, geom: Any, **props: Any) -> dict[str, Any]:
    rounded = shapely.set_precision(geom, 1e-7)
    return {
        "type": "Feature",
        "properties": {"kind": kind, **props},
        "geometry": mapping(rounded),
    }


def build_history(out_dir: str | Path, *, seed: int) -> int:
    """Plan the history from the built demo files in ``out_dir``; write ``history.json``.
    Returns the number of requests it gives a history."""
    out = Path(out_dir)
    reqs = gpd.read_file(out / "requests.geojson")
    grids = gpd.read_file(out / "grids.geojson")
    community = gpd.read_file(out / "community.geojson")
    epsg = int(community["metric_epsg"].iloc[0])
    rng = np.random.default_rng(seed + 1)
    requests = _plan_requests(rng, reqs, grids)
    plan: dict[str, Any] = {
        "as_of": _iso(AS_OF),
        "seed": seed,
        "staff": [
            {"username": u, "display_name": d, "role": str(r), "place": p} for u, d, r, p in STAFF
        ],
        "requests": requests,
        "patrols": _plan_patrols(rng),
        "sites": _plan_sites(out, epsg),
    }
    plan["summary"] = _summary(requests)
    (out / HISTORY_FILE).write_text(
        json.dumps(plan, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    )
    return len(requests)


class _Steps:
    """A request's planned steps, each some days after the one before."""

    def __init__(self, start: datetime) -> None:
        self.t = start
        self.items: list[dict[str, Any]] = []

    def add(self, action: str, after_days: float, **extra: Any) -> None:
        self.t = self.t + timedelta(days=after_days)
        self.items.append({"action": action, "at": _iso(self.t), **extra})


def _grid_of(point: Any, grids: gpd.GeoDataFrame) -> str | None:
    for code, geom in zip(grids["code"], grids.geometry, strict=True):
        if geom.contains(point):
            return str(code)
    return None


def _plan_requests(
    rng: np.random.Generator, reqs: gpd.GeoDataFrame, grids: gpd.GeoDataFrame
) -> list[dict[str, Any]]:
    """Each request's creation and steps, cut at ``AS_OF``."""
    plans: list[dict[str, Any]] = []
    devices = 0
    photos_left = 4
    reply_at = 0
    for i, r in reqs.iterrows():
        age = float(rng.uniform(0.3, SPAN_DAYS))
        created = AS_OF - timedelta(days=age)
        created = created.replace(hour=int(rng.integers(7, 21)), minute=int(rng.integers(60)))
        if created >= AS_OF - timedelta(hours=2):
            created = AS_OF - timedelta(hours=6)
        steps = _Steps(created)
        roll = float(rng.random())
        cat = str(r["category"])
        if age < 3:
            pass  # still waiting, within the three days
        elif age < 14 and roll < 0.3:
            pass  # waiting too long: overdue
        else:
            steps.add("accept", float(rng.uniform(0.1, 2.5)), by="grid")
            if float(rng.random()) < 0.6:
                steps.add(
                    "reply", float(rng.uniform(0.05, 1.0)), by="grid", note=REPLIES[reply_at % 4]
                )
                reply_at += 1
            if age < 30 and float(rng.random()) < 0.35:
                pass  # accepted, the work still to be planned
            elif roll < 0.07 and age > 14:
                steps.add("reject", float(rng.uniform(0.5, 3)), by="grid", note=REJECTIONS[i % 2])
            elif cat in PROPERTY_CATEGORIES and float(rng.random()) < 0.5:
                days = int(rng.integers(5, 11))
                steps.add("assign_property", float(rng.uniform(0.5, 3)), by="grid", due_days=days)
                if float(rng.random()) < 0.85:
                    steps.add(
                        "property_done",
                        float(rng.uniform(1, days)),
                        by="property",
                        note=PROPERTY_DONE,
                    )
                    steps.add(
                        "resolve", float(rng.uniform(0.2, 2)), by="grid", note=RESOLUTIONS[cat]
                    )
            else:
                steps.add("start", float(rng.uniform(0.5, 6)), by="grid")
                extra: dict[str, Any] = {}
                if photos_left and age > 30:
                    extra["photos"] = [f"after-{i}"]
                    photos_left -= 1
                steps.add(
                    "resolve", float(rng.uniform(2, 25)), by="grid", note=RESOLUTIONS[cat], **extra
                )
        done = [
            s for s in steps.items if datetime.fromisoformat(s["at"]) < AS_OF - timedelta(hours=2)
        ]
        supports = []
        for _ in range(int(rng.poisson(1.6))):
            end = min(AS_OF - timedelta(hours=2), created + timedelta(days=30))
            moment = created + (end - created) * float(rng.uniform(0.05, 1))
            devices += 1
            supports.append({"at": _iso(moment), "device": devices})
        comments = []
        if float(rng.random()) < 0.12:
            for k in range(int(rng.integers(1, 3))):
                moment = created + timedelta(hours=5 + 20 * k + float(rng.uniform(0, 12)))
                if moment < AS_OF - timedelta(hours=2):
                    comments.append(
                        {
                            "at": _iso(moment),
                            "body": COMMENTS[int(rng.integers(len(COMMENTS)))],
                            "nickname": NICKNAMES[int(rng.integers(len(NICKNAMES)))],
                        }
                    )
        plans.append(
            {
                "index": int(i),
                "created": _iso(created),
                "grid": _grid_of(r.geometry, grids),
                "steps": done,
                "supports": supports,
                "comments": comments,
            }
        )
    _special(plans, reqs, grids)
    for p in plans:  # photos only go with a resolution that happened
        for s in p["steps"]:
            if "photos" in s and s["action"] != "resolve":
                del s["photos"]
    return plans


def _special(plans: list[dict[str, Any]], reqs: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> None:
    """One transfer between grids and one reopen, on requests the seed made ordinary."""
    by_code = dict(zip(grids["code"], grids.geometry, strict=True))
    transfer = next(
        p
        for p in plans
        if p["grid"] == "G03"
        and datetime.fromisoformat(p["created"]) < AS_OF - timedelta(days=60)
        and by_code["G04"].distance(reqs.geometry.iloc[p["index"]]) < 0.0006
    )
    created = datetime.fromisoformat(transfer["created"])
    transfer["steps"] = [
        {
            "action": "transfer",
            "at": _iso(created + timedelta(hours=20)),
            "by": "grid",
            "note": TRANSFER_NOTE,
            "target_grid": "G04",
        },
        {"action": "accept", "at": _iso(created + timedelta(days=1, hours=3)), "by": "grid"},
        {"action": "start", "at": _iso(created + timedelta(days=3)), "by": "grid"},
        {
            "action": "resolve",
            "at": _iso(created + timedelta(days=9)),
            "by": "grid",
            "note": RESOLUTIONS[str(reqs["category"].iloc[transfer["index"]])],
        },
    ]
    reopened = next(
        p
        for p in plans
        if p is not transfer
        and p["grid"] is not None
        and AS_OF - timedelta(days=40)
        < datetime.fromisoformat(p["created"])
        < AS_OF - timedelta(days=20)
    )
    created = datetime.fromisoformat(reopened["created"])
    reopened["steps"] = [
        {"action": "accept", "at": _iso(created + timedelta(hours=18)), "by": "grid"},
        {"action": "start", "at": _iso(created + timedelta(days=2)), "by": "grid"},
        {
            "action": "resolve",
            "at": _iso(created + timedelta(days=6)),
            "by": "grid",
            "note": RESOLUTIONS[str(reqs["category"].iloc[reopened["index"]])],
        },
        {
            "action": "reopen",
            "at": _iso(created + timedelta(days=12)),
            "by": "resident",
            "note": REOPEN_NOTE,
        },
        {"action": "accept", "at": _iso(created + timedelta(days=12, hours=20)), "by": "grid"},
    ]


def _summary(plans: list[dict[str, Any]]) -> dict[str, Any]:
    """What the replay must give at ``AS_OF`` (tests check it against the database)."""
    to = {
        "accept": Status.ACCEPTED,
        "start": Status.IN_PROGRESS,
        "assign_property": Status.IN_PROGRESS,
        "resolve": Status.RESOLVED,
        "reject": Status.REJECTED,
        "transfer": Status.NEW,
        "reopen": Status.REOPENED,
    }
    statuses: dict[str, int] = {}
    overdue = 0
    for p in plans:
        status, since = Status.NEW, datetime.fromisoformat(p["created"])
        due = None
        done = False
        for s in p["steps"]:
            if s["action"] in to:
                status = to[s["action"]]
                if s["action"] in ("transfer", "reopen"):
                    since = datetime.fromisoformat(s["at"])
            if s["action"] == "assign_property":
                due = (datetime.fromisoformat(s["at"]) + timedelta(days=s["due_days"])).date()
            if s["action"] == "property_done":
                done = True
        late = status in (Status.NEW, Status.REOPENED) and AS_OF - since > timedelta(days=3)
        late_property = (
            status == Status.IN_PROGRESS and due is not None and not done and AS_OF.date() > due
        )
        overdue += late or late_property
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "statuses": dict(sorted(statuses.items())),
        "overdue": overdue,
        "supports": sum(len(p["supports"]) for p in plans),
        "comments": sum(len(p["comments"]) for p in plans),
        "photos": sum(len(s.get("photos", [])) for p in plans for s in p["steps"]),
    }


def _plan_patrols(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Each branch walks its grids once a month, by the due day; the fourth branch (第7网格)
    walked six days late two months ago, missed last month and has not walked this month: the
    late grid, whatever the loading day."""
    topics = ("学习社区微更新工作指引", "学习垃圾分类新规", "学习消防安全常识", "学习文明养宠公约")
    out = []
    for months_back in (3, 2, 1, 0):
        for branch, grid_codes in BRANCH_GRIDS.items():
            if branch == LATE_BRANCH and months_back in (0, 1):
                continue  # missed last month, not walked yet this month
            after = 6 if (branch == LATE_BRANCH and months_back == 2) else -int(rng.integers(0, 6))
            out.append(
                {
                    "months_back": months_back,
                    "branch": branch,
                    "grids": grid_codes,
                    "after_due_days": after,
                    "participants": f"支部党员{int(rng.integers(5, 12))}人、楼组长2人",
                    "study_topic": topics[months_back],
                    "notes": "巡查楼道堆物、消防通道和路灯，情况已记录。",
                }
            )
    return out


def _plan_sites(out: Path, epsg: int) -> dict[str, Any]:
    site = gpd.read_file(out / "site.geojson").geometry.iloc[0]
    buildings = gpd.read_file(out / "buildings.geojson")
    outline = gpd.read_file(out / "compound.geojson").geometry.iloc[0]
    s01 = to_metric(site, epsg)
    cx, cy = s01.centroid.x, s01.centroid.y
    minx, miny, maxx, maxy = s01.bounds

    def wgs(g: Any) -> Any:
        return transform(g, epsg, 4326)

    def box(x0: float, y0: float, x1: float, y1: float) -> Any:
        return shapely.box(x0, y0, x1, y1).intersection(s01)

    draft1 = [
        _feature(
            "green", wgs(box(minx + 1, cy + 1, cx - 1, maxy - 1)), name="睦邻花圃", species="月季"
        ),
        _feature(
            "green", wgs(box(cx + 1, cy + 1, maxx - 1, maxy - 1)), name="香草花园", species="迷迭香"
        ),
        _feature("plant", wgs(shapely.Point(minx + 3, maxy - 3)), species="桂花"),
        _feature("plant", wgs(shapely.Point(maxx - 3, maxy - 3)), species="红枫"),
        _feature(
            "path",
            wgs(shapely.LineString([(minx + 1, cy - 1), (maxx - 1, cy - 1)])),
            name="透水铺装小路",
            width_m=1.5,
        ),
        _feature("facility", wgs(shapely.Point(cx, cy - 3)), name="休息座椅", type="bench"),
    ]
    draft2 = [
        _feature(
            "green",
            wgs(box(minx + 1, cy + 1, maxx - 1, maxy - 1)),
            name="四季花境",
            species="金鸡菊",
        ),
        _feature("plant", wgs(shapely.Point(cx, maxy - 2.5)), species="樱花"),
        _feature(
            "path",
            wgs(shapely.LineString([(minx + 1, cy - 1.5), (cx, miny + 2), (maxx - 1, cy - 1.5)])),
            name="彩色健身步道",
            width_m=1.5,
        ),
        _feature("facility", wgs(shapely.Point(cx + 2, cy - 2)), name="庭院灯", type="light"),
        _feature("facility", wgs(shapely.Point(cx - 2, cy - 2)), name="健身器材", type="fitness"),
    ]
    # S02: the largest free space left once the buildings (4 m around) and S01 are taken.
    outline_m = to_metric(outline, epsg)
    taken = shapely.union_all(
        [to_metric(g, epsg).buffer(4) for g in buildings.geometry] + [s01.buffer(6)]
    )
    free = outline_m.difference(taken)
    pieces = list(free.geoms) if hasattr(free, "geoms") else [free]
    largest = max(pieces, key=lambda g: g.area)
    centre = polylabel(largest, tolerance=0.5)
    half = min(9.0, max(4.0, largest.exterior.distance(centre) * 0.9))
    s02 = shapely.box(
        centre.x - half, centre.y - half * 0.7, centre.x + half, centre.y + half * 0.7
    )
    s02 = s02.intersection(largest).buffer(0)
    x0, y0, x1, y1 = s02.bounds
    mx, my = s02.centroid.x, s02.centroid.y
    plants = []
    for k, sp in enumerate(("桂花", "蜡梅", "绣球", "月季", "八角金盘", "山茶")):
        px = x0 + (x1 - x0) * (0.2 + 0.3 * (k % 3))
        py = y0 + (y1 - y0) * (0.3 if k < 3 else 0.7)
        plants.append(_feature("plant", wgs(shapely.Point(px, py)), species=sp, adoptable=True))
    s02_draft = [
        _feature(
            "green",
            wgs(shapely.box(x0 + 0.5, y0 + 0.5, x1 - 0.5, y1 - 0.5).intersection(s02)),
            name="口袋花园花境",
            species="麦冬",
        ),
        *plants,
        _feature("facility", wgs(shapely.Point(mx, my)), name="儿童沙池", type="play"),
    ]
    return {
        "S01": {
            "steps": [{"stage": s, "days_before": d} for s, d in S01_STEPS],
            "minutes": {"joint_meeting": S01_MINUTES},
            "drafts": [
                {
                    "name": "方案一：睦邻花圃",
                    "days_before": 88,
                    "features": {"type": "FeatureCollection", "features": draft1},
                },
                {
                    "name": "方案二：四季花境与健身步道",
                    "days_before": 84,
                    "features": {"type": "FeatureCollection", "features": draft2},
                },
            ],
            "public_days_before": 72,
            "comments": [
                {
                    "draft": 1,
                    "days_before": 70,
                    "nickname": "张阿姨",
                    "body": "花圃旁边能不能留一块给孩子种菜？",
                },
                {
                    "draft": 2,
                    "days_before": 69,
                    "nickname": "刘师傅",
                    "body": "健身步道很好，希望晚上有灯。",
                },
                {
                    "draft": 1,
                    "days_before": 66,
                    "nickname": "老王",
                    "body": "请保留楼前那棵老桂花树。",
                },
                {
                    "draft": 2,
                    "days_before": 62,
                    "nickname": "陈老师",
                    "body": "座椅多放几张，老人散步可以歇脚。",
                },
                {
                    "draft": 1,
                    "days_before": 15,
                    "nickname": "周阿婆",
                    "body": "修改后的方案一我很满意。",
                },
                {
                    "draft": 2,
                    "days_before": 12,
                    "nickname": "小李",
                    "body": "步道用透水材料，下雨不积水。",
                },
            ],
        },
        "S02": {
            "name": "楼间口袋花园",
            "description": "闲置的楼间空地改造为口袋花园：花境、儿童沙池，植物由居民认养",
            "geometry": mapping(shapely.set_precision(wgs(s02), 1e-7)),
            "steps": [{"stage": s, "days_before": d} for s, d in S02_STEPS],
            "minutes": S02_MINUTES,
            "draft": {
                "name": "方案一：口袋花园",
                "days_before": 300,
                "features": {"type": "FeatureCollection", "features": s02_draft},
            },
            "decision": {
                "days_before": 232,
                "reasons": "公众咨询中支持率最高，儿童沙池加遮阴后各方同意。",
            },
            "built_days_before": 170,
            "photos": [
                {
                    "phase": "before",
                    "days_before": 331,
                    "caption": "改造前：杂草和堆物",
                    "name": "s02-before-1",
                },
                {
                    "phase": "before",
                    "days_before": 331,
                    "caption": "改造前：破损的地面",
                    "name": "s02-before-2",
                },
                {
                    "phase": "after",
                    "days_before": 152,
                    "caption": "建成后：花境和沙池",
                    "name": "s02-after-1",
                },
                {
                    "phase": "after",
                    "days_before": 40,
                    "caption": "认养三个月后",
                    "name": "s02-after-2",
                },
            ],
            "adoptions": [
                {
                    "plant": k,
                    "nickname": NICKNAMES[k],
                    "device": 1000 + k,
                    "days_before": 140 - 5 * k,
                    "care": [
                        {"kind": kind, "days_before": 140 - 5 * k - 10 * (j + 1)}
                        for j, kind in enumerate(("watering", "pruning", "fertilising", "photo"))
                        if j <= k % 3 + 1
                    ],
                }
                for k in range(4)
            ],
        },
    }


# --- replaying it --------------------------------------------------------------------------


def device_hash(n: int) -> str:
    """A resident's device in the demo (as the app keeps it: a hash, never the device id)."""
    return hashlib.sha256(f"renewmap-demo-device-{n}".encode()).hexdigest()


def demo_photo(name: str) -> tuple[str, bytes]:
    """A small deterministic picture (a garden scene drawn from ``name``) as a PNG file."""
    h = hashlib.sha256(name.encode()).digest()
    img = Image.new("RGB", (320, 240), (150 + h[0] % 80, 190 + h[1] % 50, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 150, 320, 240), fill=(90 + h[2] % 60, 140 + h[3] % 60, 70))
    for k in range(8):
        x, y, r = 20 + h[4 + k] % 280, 150 + h[12 + k] % 70, 6 + h[20 + k] % 14
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(200 + h[k] % 55, 60 + h[k + 8] % 120, 90))
    draw.rectangle((230, 60, 300, 150), fill=(200, 190, 170), outline=(120, 110, 100))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return f"{name}.png", buf.getvalue()


def shift_to(now: datetime | None) -> timedelta:
    """How far the demo's days move so that ``AS_OF`` falls on ``now``'s day in Shanghai (the
    rule of the demo's records too): the demo keeps its age whenever it is loaded."""
    today = (now or datetime.now(UTC)).astimezone(ZONE).date()
    return timedelta(days=(today - AS_OF.date()).days)


class _Clock:
    """The plan's times moved to the loading day."""

    def __init__(self, now: datetime) -> None:
        self.today = now.astimezone(ZONE).date()
        self.shift = shift_to(now)

    def at(self, iso: str) -> datetime:
        return (datetime.fromisoformat(iso) + self.shift).astimezone(UTC)

    def day(self, days_before: int) -> date:
        return self.today - timedelta(days=days_before)

    def moment(self, days_before: float) -> datetime:
        return (AS_OF + self.shift - timedelta(days=days_before)).astimezone(UTC) + timedelta(
            hours=10
        )


def _principals(session: Session, plan: dict[str, Any], community: str) -> dict[str, Principal]:
    out = {}
    for k, s in enumerate(plan["staff"], start=1):
        place = community + s["place"]
        out[s["username"]] = Principal(
            user_id=-k,  # acting in memory: no login
            username=s["username"],
            display_name=s["display_name"],
            roles=(resolve_place(session, role=s["role"], place=place),),
        )
    return out


def load_history(
    session: Session,
    demo_dir: str | Path,
    *,
    community_code: str,
    requests: Sequence[Request],
    now: datetime | None = None,
) -> dict[str, int]:
    """Replay ``history.json`` onto the freshly loaded demo (``requests`` in file order,
    created as new); ``now``: the loading moment."""
    plan = json.loads((Path(demo_dir) / HISTORY_FILE).read_text())
    clock = _Clock(now or datetime.now(UTC))
    staff = _principals(session, plan, community_code)
    counts = {"history_steps": 0}
    counts["history_steps"] = _replay_requests(
        session, plan["requests"], requests, staff, clock, community_code
    )
    counts["patrols"] = _replay_patrols(session, plan["patrols"], staff, clock, community_code)
    _replay_s01(session, plan["sites"]["S01"], staff, clock, community_code)
    counts["adoptions"] = _replay_s02(session, plan["sites"]["S02"], staff, clock, community_code)
    return counts


def _replay_requests(
    session: Session,
    plans: list[dict[str, Any]],
    requests: Sequence[Request],
    staff: dict[str, Principal],
    clock: _Clock,
    community_code: str,
) -> int:
    from renewmap.services.requests import suggestions, workflow

    community = community_by_code(session, code=community_code)
    grid_codes = {g.id: g.code for g in community_grids(session, community_id=community.id)}
    n = 0
    for p in plans:
        request = requests[p["index"]]
        created = clock.at(p["created"])
        request.created_at = request.status_since = request.updated_at = created
        for event in request.events:
            event.at = created
        session.flush()
        for s in p["steps"]:
            at = clock.at(s["at"])
            if s["action"] == "reopen":
                workflow.reopen(session, request=request, note=s["note"], now=at)
                n += 1
                continue
            if s["by"] == "property":
                who = staff[PROPERTY]
            else:
                grid = grid_codes.get(request.grid_id or -1)
                who = staff[GRID_LEADS[grid]] if grid in GRID_LEADS else staff[ADMIN]
            due = None
            if "due_days" in s:
                due = at.astimezone(ZONE).date() + timedelta(days=s["due_days"])
            workflow.act(
                session,
                principal=who,
                request_id=request.id,
                action=s["action"],
                version=request.version,
                note=s.get("note"),
                target_grid=s.get("target_grid"),
                due=due,
                photos=[demo_photo(name) for name in s.get("photos", [])],
                today=at.astimezone(ZONE).date(),
                now=at,
            )
            n += 1
        for sup in p["supports"]:
            suggestions.support(
                session, request_id=request.id, supporter=device_hash(sup["device"])
            )
            row = find_support(
                session, request_id=request.id, supporter_hash=device_hash(sup["device"])
            )
            if row is not None:
                row.created_at = clock.at(sup["at"])
        for c in p["comments"]:
            view = suggestions.comment(
                session, request_id=request.id, body=c["body"], nickname=c["nickname"]
            )
            said = session.get(RequestComment, view["id"])
            if said is not None:
                said.created_at = clock.at(c["at"])
        session.flush()  # the +1s' count, which stamps the clock's time: the last step's instead
        request.updated_at = clock.at(p["steps"][-1]["at"]) if p["steps"] else created
    session.flush()
    return n


def _replay_patrols(
    session: Session,
    plans: list[dict[str, Any]],
    staff: dict[str, Principal],
    clock: _Clock,
    community_code: str,
) -> int:
    from renewmap.services.requests import patrols

    rule = community_by_code(session, code=community_code).patrol_rule
    n = 0
    for p in plans:
        first = clock.today.replace(day=1)
        year, month = first.year, first.month - p["months_back"]
        while month < 1:
            year, month = year - 1, month + 12
        due = patrols.due_day(rule, year, month)
        day = max(due.replace(day=1), due + timedelta(days=p["after_due_days"]))  # in its month
        if day > clock.today:
            continue  # not yet walked this month
        patrols.record(
            session,
            principal=staff[BRANCH_SECRETARIES[p["branch"]]],
            community_code=community_code,
            grid_codes=p["grids"],
            day=day,
            participants=p["participants"],
            notes=p["notes"],
            study_topic=p["study_topic"],
            today=clock.today,
        )
        n += 1
    return n


def _walk(
    session: Session,
    steps: list[dict[str, Any]],
    minutes: dict[str, str],
    who: Principal,
    clock: _Clock,
    community_code: str,
    site_code: str,
    at_step: dict[str, Any],
) -> None:
    """Move the site through its steps, in order, each on its day; ``at_step``: what to do
    once a step has started (stage → callable)."""
    from renewmap.services.design import process

    for s in steps:
        day = clock.day(s["days_before"])
        process.move_to(
            session,
            principal=who,
            community_code=community_code,
            site_code=site_code,
            stage=s["stage"],
            today=day,
        )
        if s["stage"] in minutes:
            process.record_stage(
                session,
                principal=who,
                community_code=community_code,
                site_code=site_code,
                stage=s["stage"],
                starts_on=day.isoformat(),
                minutes=minutes[s["stage"]],
            )
        if s["stage"] in at_step:
            at_step[s["stage"]]()


def _draft(
    session: Session,
    who: Principal,
    community_code: str,
    site_code: str,
    spec: dict[str, Any],
    clock: _Clock,
) -> int:
    from renewmap.services.design import drafts

    view = drafts.create_draft(
        session,
        principal=who,
        community_code=community_code,
        site_code=site_code,
        name=spec["name"],
    )
    draft_id = int(view["id"])
    drafts.save_features(
        session,
        principal=who,
        draft_id=draft_id,
        version=view["version"],
        features=spec["features"],
    )
    row = session.get(DesignDraft, draft_id)
    if row is not None:
        row.created_at = row.updated_at = clock.moment(spec["days_before"])
    return draft_id


def _dated(session: Session, draft_id: int, moment: datetime) -> None:
    """The draft was last changed at ``moment`` (not at the loading time)."""
    session.flush()
    row = session.get(DesignDraft, draft_id)
    if row is not None:
        row.updated_at = moment
        session.flush()


def _replay_s01(
    session: Session,
    spec: dict[str, Any],
    staff: dict[str, Principal],
    clock: _Clock,
    community_code: str,
) -> None:
    from renewmap.services.design import consultation, drafts

    admin, designer = staff[ADMIN], staff[DESIGNER]
    ids: list[int] = []

    def make_drafts() -> None:
        ids.extend(
            _draft(session, designer, community_code, "S01", d, clock) for d in spec["drafts"]
        )

    def comments(upto: int, since: int) -> Any:
        def go() -> None:
            for c in spec["comments"]:
                if since >= c["days_before"] > upto:
                    view = consultation.comment(
                        session,
                        community_code=community_code,
                        site_code="S01",
                        draft_number=c["draft"],
                        device_hash=device_hash(2000 + spec["comments"].index(c)),
                        body=c["body"],
                        nickname=c["nickname"],
                    )
                    row = session.get(DraftComment, view["id"])
                    if row is not None:
                        row.created_at = clock.moment(c["days_before"])

        return go

    def co_design() -> None:
        for draft_id in ids:
            drafts.set_public(session, principal=designer, draft_id=draft_id, public=True)
            _dated(session, draft_id, clock.moment(spec["public_days_before"]))
        comments(upto=58, since=72)()

    _walk(
        session,
        spec["steps"],
        spec["minutes"],
        admin,
        clock,
        community_code,
        "S01",
        {"drafts": make_drafts, "co_design": co_design, "consultation": comments(0, 18)},
    )


def _replay_s02(
    session: Session,
    spec: dict[str, Any],
    staff: dict[str, Principal],
    clock: _Clock,
    community_code: str,
) -> int:
    from renewmap.services.design import adoption, decision, drafts, places, process

    admin, designer = staff[ADMIN], staff[DESIGNER]
    places.create_site(
        session,
        principal=admin,
        community_code=community_code,
        name=spec["name"],
        geometry=spec["geometry"],
        code="S02",
        description=spec["description"],
    )
    community = community_by_code(session, code=community_code)
    site = find_site(session, community_id=community.id, code="S02")
    if not isinstance(site, Site):  # create_site has just made it
        raise RuntimeError("site S02 was not created")
    draft_id: list[int] = []

    def photos(phase: str) -> Any:
        def go() -> None:
            for ph in spec["photos"]:
                if ph["phase"] == phase:
                    name, data = demo_photo(ph["name"])
                    process.add_photo(
                        session,
                        principal=admin,
                        community_code=community_code,
                        site_code="S02",
                        phase=phase,
                        taken_on=clock.day(ph["days_before"]).isoformat(),
                        filename=name,
                        data=data,
                        caption=ph["caption"],
                    )

        return go

    def make_draft() -> None:
        draft_id.append(_draft(session, designer, community_code, "S02", spec["draft"], clock))

    def co_design() -> None:
        drafts.set_public(session, principal=designer, draft_id=draft_id[0], public=True)
        _dated(session, draft_id[0], clock.moment(spec["draft"]["days_before"] - 15))

    def decide() -> None:
        decision.decide(
            session,
            principal=admin,
            community_code=community_code,
            site_code="S02",
            draft_number=1,
            reasons=spec["decision"]["reasons"],
        )
        site.decided_at = clock.moment(spec["decision"]["days_before"])

    def build() -> None:
        decision.build(
            session,
            principal=admin,
            community_code=community_code,
            site_code="S02",
            built_on=clock.day(spec["built_days_before"]),
        )

    _walk(
        session,
        spec["steps"],
        spec["minutes"],
        admin,
        clock,
        community_code,
        "S02",
        {
            "survey": photos("before"),
            "drafts": make_draft,
            "co_design": co_design,
            "final_joint_meeting": decide,
            "construction": build,
            "maintenance": photos("after"),
        },
    )
    plants = adoption.site_plants(session, community_code=community_code, site_code="S02")
    n = 0
    for a in spec["adoptions"]:
        plant_id = int(plants[a["plant"]]["id"])
        device = device_hash(a["device"])
        adoption.adopt(session, plant_id=plant_id, nickname=a["nickname"], device_hash=device)
        adopted = current_adoption(session, plant_id=plant_id)
        if adopted is not None:
            adopted.adopted_at = clock.moment(a["days_before"])
        for c in a["care"]:
            photo = (
                demo_photo(f"care-{plant_id}-{c['days_before']}") if c["kind"] == "photo" else None
            )
            adoption.log_care(
                session,
                plant_id=plant_id,
                device_hash=device,
                kind=c["kind"],
                note=CARE_NOTES[c["kind"]],
                photo=photo,
            )
            care = max(care_log(session, plant_id=plant_id), key=lambda row: row.id)
            care.at = clock.moment(c["days_before"])
        n += 1
    session.flush()
    return n
