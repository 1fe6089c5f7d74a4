"""The demo community's year of participation records (issue 18), in the spirit of the reports:
community partners of the five kinds, party-member volunteers and an elder-care team that grew,
a dozen meetings (联席会, 座谈会, 议事会, 楼组会, 四议共答) with attendees, minutes, decisions and
links, proposals (one became the micro-garden S01, one declined with its reason, others under
discussion), S01's money and materials (budget, 街道拨款, a 众筹 line with residents' pledges,
居民自筹, spending against the bill of quantities, a donated material), a building convention
(楼组文明公约) in two versions, a 微讲堂 and a workshop with sign-ups and attendance, and a few
points ledger lines.

``write_records`` builds ``records.json`` (sorted keys, stable order) from the demo files already
written and the demo seed, never from the clock: its days lie in the year before the fixed
``AS_OF`` day (the seed's day, as in the demo's history). ``load_records`` enters it through the
records' services, as the community's admin would, after the demo's places and its history,
every day moved by whole days so that ``AS_OF`` falls on the loading day (the history's rule).
Three meetings are 联席会 steps: S01's joint meeting and the two of the garden S02 that the
history builds; a meeting is linked to a step (and to a site) only when the site and that step
are there, so the records load as well onto the bare demo.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy.orm import Session

from renewmap.db.queries.places import community_by_code, find_site
from renewmap.db.queries.process import find_stage
from renewmap.db.queries.records import household_codes_of_community, requests_titled
from renewmap.services.access.accounts import Principal, RoleGrant
from renewmap.services.ingest.demo_history import AS_OF as HISTORY_AS_OF
from renewmap.services.ingest.demo_history import shift_to
from renewmap.services.records import (
    conventions,
    events,
    meetings,
    money,
    people,
    points,
    proposals,
)
from renewmap.vocabulary import Role

RECORDS_FILE = "records.json"
AS_OF = HISTORY_AS_OF.date()  # the demo's "as of" day: the day of its seed (20261121)
STREAM = 18  # issue 18: the records' own random stream of the demo seed
# Who enters the records: the demo's community admin (services/access/demo_accounts.py).
KEEPER = ("demo-community-admin", "赵社区管理员")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"
# given names as people of the compound's generation have them, two characters each
GIVEN = tuple(
    "建国秀英玉兰志明丽华桂芳海燕春梅国强德明淑珍凤英文杰永红美玲金宝宏伟晓东"
    "丽娟雪梅卫东建华秀兰玉珍志强丽萍桂英海涛春华国平德华淑芬凤兰文静永明美华"[i : i + 2]
    for i in range(0, 72, 2)
)
# (kind, organisation, skills) of the community partners, two of each kind (社区合伙人).
PARTNERS = (
    ("think_tank", "高校城市规划学院", ["社区规划研究", "参与式设计"]),
    ("think_tank", "社区发展研究会", ["社会调查", "政策咨询"]),
    ("planning", "社区规划师工作室", ["景观设计", "方案绘图"]),
    ("planning", "城市更新设计工作室", ["建筑设计", "工程造价"]),
    ("governance", "社区法律顾问工作室", ["法律咨询", "调解"]),
    ("governance", "退休干部协会", ["议事规则", "群众工作"]),
    ("media", "曲阳社区报", ["采访写作", "摄影"]),
    ("media", "睦邻拍客团", ["短视频", "公众号运营"]),
    ("education", "社区学校", ["垃圾分类宣讲", "亲子活动"]),
    ("education", "青少年活动中心", ["自然教育", "手工课"]),
)
PARTY_VOLUNTEERS = 8
VOLUNTEERS = 18
ELDER_TEAM = "睦邻敬老服务队"
# The demo's history (demo_history, loaded before) builds a second garden, S02 (口袋花园), whose
# two 联席会 steps were held 266 and 222 days before AS_OF, and takes S01 through its joint
# meeting (47 days before). Meetings link to a site and its step only when they are there.
SECOND_SITE = "S02"
S01_JOINT_MEETING = 47
GARDEN_TEAM = "花园养护队"


def _day(offset: int) -> str:
    """The day ``offset`` days before the demo's "as of" day."""
    return (AS_OF - timedelta(days=offset)).isoformat()


def _rounded(geom: Any) -> dict[str, Any]:
    """GeoJSON with coordinates to 1e-7° (about a centimetre): the same text on every build."""
    geom = shapely.transform(geom, lambda xy: np.round(xy, 7))
    return json.loads(json.dumps(mapping(geom)))


def _features(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["features"])


def _names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` different names (a surname and a two-character given name)."""
    out: list[str] = []
    while len(out) < n:
        name = SURNAMES[int(rng.integers(len(SURNAMES)))] + GIVEN[int(rng.integers(len(GIVEN)))]
        if name not in out:
            out.append(name)
    return out


def build_records(demo_dir: Path, seed: int) -> dict[str, Any]:
    """The year of records, from the demo's buildings and site and the seed."""
    rng = np.random.default_rng([seed, STREAM])
    buildings = {f["properties"]["number"]: f for f in _features(demo_dir / "buildings.geojson")}
    site = _features(demo_dir / "site.geojson")[0]
    site_geom = shape(site["geometry"])

    def at(number: str) -> dict[str, Any]:
        """A point just in front of a building (inside its footprint: on the map for sure)."""
        return _rounded(shape(buildings[number]["geometry"]).representative_point())

    garden = _rounded(site_geom.representative_point())
    office = at("13号楼")  # the residents' committee's room (居委会会议室) by 13号楼

    # --- people: partners of the five kinds, party-member volunteers, volunteers -------------
    total = len(PARTNERS) + PARTY_VOLUNTEERS + VOLUNTEERS
    names = _names(rng, total)
    people_rows: list[dict[str, Any]] = []
    for k in range(total):
        key = f"P{k + 1:02d}"
        consent = _day(360 - int(rng.integers(0, 40)))
        row: dict[str, Any] = {
            "key": key,
            "name": names[k],
            "phone": f"1380000{k + 1:04d}",  # sample numbers, one a person
            "consent_on": consent,
            "joined_on": consent,
            "organisation": None,
            "partner_kind": None,
            "skills": [],
        }
        if k < len(PARTNERS):
            kind, organisation, skills = PARTNERS[k]
            row |= {
                "roles": ["partner"],
                "partner_kind": kind,
                "organisation": organisation,
                "skills": skills,
            }
        elif k < len(PARTNERS) + PARTY_VOLUNTEERS:
            row["roles"] = ["party_volunteer", "volunteer"]
            row["skills"] = [["楼道巡查", "助老服务", "政策宣传", "矛盾调解"][k % 4]]
        else:
            row["roles"] = ["volunteer"]
            row["skills"] = [["助老服务", "花园养护", "垃圾分类", "文艺"][k % 4]]
        people_rows.append(row)
    keys = [p["key"] for p in people_rows]
    partners = keys[: len(PARTNERS)]
    party = keys[len(PARTNERS) : len(PARTNERS) + PARTY_VOLUNTEERS]
    volunteers = keys[len(PARTNERS) + PARTY_VOLUNTEERS :]

    # --- teams: the elder-care team grew from 3 members, the garden team formed in summer ------
    elder_first = party[:3]
    elder_later = party[3:] + volunteers[:14]
    joins: dict[int, list[str]] = {}
    for key in elder_later:
        joins.setdefault(300 - 30 * int(rng.integers(0, 9)), []).append(key)
    teams = [
        {
            "name": ELDER_TEAM,
            "purpose": "为独居和高龄老人上门探访、代购、陪同就医",
            "founded_on": _day(345),
            "joins": [{"day": _day(345), "people": elder_first}]
            + [{"day": _day(off), "people": joins[off]} for off in sorted(joins, reverse=True)],
            "leaves": [{"day": _day(40), "person": joins[max(joins)][0]}],
        },
        {
            "name": GARDEN_TEAM,
            "purpose": "口袋花园建成后的日常浇水、除草和认养植物的照看",
            "founded_on": _day(150),
            "joins": [
                {"day": _day(150), "people": [partners[2], *volunteers[14:17]]},
                {"day": _day(60), "people": [volunteers[17], party[7], partners[8]]},
            ],
            "leaves": [],
        },
    ]

    # --- proposals (社区规划提案) --------------------------------------------------------------
    proposal_rows = [
        {
            "key": "garden",
            "title": "把楼间空地改造成睦邻微花园",
            "body": "楼间空地常年堆放杂物、黄土裸露。建议改造为居民共建的微花园：花圃、健身步道"
            "和休息座椅，老人能坐一坐，孩子有地方玩。",
            "proposer_kind": "resident",
            "proposer_name": names[len(PARTNERS) + PARTY_VOLUNTEERS + 2],
            "proposer_phone": "13800000901",
            "shown_as": "3号楼居民",
            "public": True,
            "submitted_on": _day(358),
            "geometry": _rounded(site_geom),
            "moves": [
                {"status": "adopted"},
                {"status": "became_site", "site": site["properties"]["code"]},
            ],
        },
        {
            "key": "ebike",
            "title": "增设电瓶车集中充电棚",
            "body": "电动车在楼道里充电很危险。建议在小区北侧增设带智能充电桩的集中车棚，"
            "按月收费。",
            "proposer_kind": "resident",
            "proposer_name": "钱老师",
            "proposer_phone": "13800000902",
            "shown_as": "7号楼居民",
            "public": True,
            "submitted_on": _day(320),
            "geometry": at("7号楼"),
            "moves": [],
        },
        {
            "key": "parking",
            "title": "拆除中心绿地改建停车位",
            "body": "停车难，建议把中心绿地改成二十个停车位。",
            "proposer_kind": "resident",
            "proposer_name": "孙先生",
            "proposer_phone": "13800000903",
            "shown_as": None,
            "public": True,
            "submitted_on": _day(300),
            "geometry": at("9号楼"),
            "moves": [
                {
                    "status": "declined",
                    "reason": "中心绿地是小区唯一的集中绿地，议事会表决不同意改为停车位；"
                    "停车问题转由业委会与物业研究错峰停车方案。",
                }
            ],
        },
        {
            "key": "reading",
            "title": "在党群服务站设立睦邻书屋",
            "body": "由教育合伙人和志愿者轮值，周末开放给孩子们看书、做作业。",
            "proposer_kind": "partner",
            "proposer_name": names[8],
            "proposer_phone": "13800000009",
            "shown_as": "社区学校",
            "public": True,
            "submitted_on": _day(200),
            "geometry": office,
            "moves": [],
        },
        {
            "key": "seeds",
            "title": "设立种子驿站",
            "body": "在微花园旁放一个种子交换箱，居民可以把自家阳台收的花籽放进来、带回去。",
            "proposer_kind": "partner",
            "proposer_name": names[2],
            "proposer_phone": "13800000003",
            "shown_as": None,
            "public": False,  # the proposer has not agreed to show it yet
            "submitted_on": _day(120),
            "geometry": garden,
            "moves": [],
        },
        {
            "key": "handrails",
            "title": "老楼楼道加装扶手",
            "body": "17号楼到20号楼的老人上下楼困难，建议每个楼道加装扶手。",
            "proposer_kind": "resident",
            "proposer_name": "郑阿姨",
            "proposer_phone": "13800000906",
            "shown_as": "郑阿姨",
            "public": True,
            "submitted_on": _day(12),
            "geometry": at("18号楼"),
            "moves": [],
        },
    ]

    code = site["properties"]["code"]

    # --- meetings: a dozen over the year ------------------------------------------------------
    def reps(low: int, high: int) -> int:
        return int(rng.integers(low, high + 1))

    def lines(*parts: tuple[str, int], people_of: tuple[str, list[str]] | None = None) -> list:
        out: list[dict[str, Any]] = [{"role": r, "count": n} for r, n in parts]
        if people_of is not None:
            role, who = people_of
            out += [{"role": role, "person": key} for key in who]
        return out

    meeting_rows = [
        {
            "kind": "council",
            "title": "楼间空地改造提案议事会",
            "held_on": _day(350),
            "place": "居委会会议室",
            "point": office,
            "parties": ["residents_committee", "resident_reps", "party_branch"],
            "attendees": lines(
                ("residents_committee", 3), ("resident_reps", reps(12, 18)), ("party_branch", 2)
            ),
            "minutes": "居民代表逐一发言，认为楼间空地杂物多、无处休息；提案人介绍了微花园设想。",
            "decisions": "提案进入讨论；请规划合伙人下月带领居民做现场踏勘。",
            "proposals": ["garden"],
            "requests": ["健身器材老旧"],
            "sites": [],
            "step": None,
        },
        {
            "kind": "building_group",
            "title": "1号楼楼组会：商议楼组文明公约",
            "held_on": _day(335),
            "place": "1号楼底楼门厅",
            "point": at("1号楼"),
            "parties": ["party_branch", "resident_reps"],
            "attendees": lines(("resident", reps(10, 16)), people_of=("party_branch", party[:2])),
            "minutes": "楼组长宣读公约草案：楼道不堆物、电瓶车不进楼、垃圾分类定时投放。",
            "decisions": "公约第一版通过，由楼组长上门征求未到会住户的意见。",
            "proposals": [],
            "requests": [],
            "sites": [],
            "step": None,
        },
        {
            "kind": "forum",
            "title": "社区合伙人座谈会",
            "held_on": _day(310),
            "place": "党群服务站",
            "point": office,
            "parties": ["partners", "residents_committee", "party_branch"],
            "attendees": lines(("residents_committee", 2), people_of=("partners", partners)),
            "minutes": "五类合伙人介绍各自能为小区做的事：调研、设计、议事规则、宣传和教育。",
            "decisions": "合伙人按专长结对网格，每季度座谈一次。",
            "proposals": ["ebike"],
            "requests": [],
            "sites": [],
            "step": None,
        },
        {
            "kind": "council",
            "title": "年度提案议事会",
            "held_on": _day(280),
            "place": "居委会会议室",
            "point": office,
            "parties": ["residents_committee", "resident_reps", "owners_committee"],
            "attendees": lines(
                ("residents_committee", 3),
                ("owners_committee", 2),
                ("resident_reps", reps(15, 22)),
            ),
            "minutes": "审议三项提案。微花园提案获多数赞成；停车位提案因占用唯一集中绿地被否决。",
            "decisions": "微花园提案通过，列为今年的微更新点位；"
            "停车位提案不予采纳，理由向居民公开。",
            "proposals": ["garden", "parking"],
            "requests": [],
            "sites": [],
            "step": None,
        },
        {
            "kind": "four_party",
            "title": "电瓶车充电难“四议共答”",
            "held_on": _day(250),
            "place": "党群服务站",
            "point": office,
            "parties": [
                "residents_committee",
                "owners_committee",
                "property_manager",
                "resident_reps",
            ],
            "attendees": lines(
                ("residents_committee", 2),
                ("owners_committee", 2),
                ("property_manager", 2),
                ("resident_reps", reps(8, 12)),
            ),
            "minutes": "物业通报楼道充电隐患；业委会提出可用公共收益建车棚；居民代表关心收费标准。",
            "decisions": "物业一个月内提出车棚选址和收费方案，下次四方会议表决。",
            "proposals": ["ebike"],
            "requests": ["需要电瓶车棚", "充电桩不够"],
            "sites": [],
            "step": None,
        },
        {
            "kind": "joint",
            "title": "口袋花园方案联席会",
            "held_on": _day(266),
            "place": "居委会会议室",
            "point": office,
            "parties": [
                "residents_committee",
                "owners_committee",
                "property_manager",
                "resident_reps",
                "designers",
                "party_branch",
            ],
            "attendees": lines(
                ("residents_committee", 2),
                ("owners_committee", 2),
                ("property_manager", 1),
                ("resident_reps", reps(10, 14)),
                ("party_branch", 2),
                people_of=("designers", partners[2:4]),
            ),
            "minutes": "设计团队介绍口袋花园的两稿方案，居民代表关心儿童活动区夏天的遮阴。",
            "decisions": "同意以方案一为基础，增加儿童沙池的遮阴。",
            "proposals": [],
            "requests": [],
            "sites": [SECOND_SITE],
            "step": {"site": SECOND_SITE, "stage": "joint_meeting"},
        },
        {
            "kind": "forum",
            "title": "独居老人关爱座谈会",
            "held_on": _day(165),
            "place": "居委会会议室",
            "point": office,
            "parties": ["residents_committee", "party_branch", "resident_reps"],
            "attendees": lines(("residents_committee", 2), people_of=("party_branch", party)),
            "minutes": "敬老服务队汇报半年来的探访情况，介绍新加入的志愿者。",
            "decisions": "服务队按网格分组，每名独居老人每周至少探访一次。",
            "proposals": [],
            "requests": [],
            "sites": [],
            "step": None,
        },
        {
            "kind": "building_group",
            "title": "7号楼楼组会：楼道堆物清理",
            "held_on": _day(140),
            "place": "7号楼门前",
            "point": at("7号楼"),
            "parties": ["party_branch", "property_manager", "resident_reps"],
            "attendees": lines(("resident", reps(14, 20)), ("property_manager", 1)),
            "minutes": "消防通道被占和楼道堆物问题突出，住户同意限期自行清理。",
            "decisions": "两周内清理完毕，物业协助清运大件。",
            "proposals": [],
            "requests": ["消防通道被占"],
            "sites": [],
            "step": None,
        },
        {
            "kind": "council",
            "title": "社区规划提案议事会（下半年）",
            "held_on": _day(110),
            "place": "居委会会议室",
            "point": office,
            "parties": ["residents_committee", "resident_reps", "partners"],
            "attendees": lines(
                ("residents_committee", 3),
                ("resident_reps", reps(12, 18)),
                people_of=("partners", [partners[0], partners[8]]),
            ),
            "minutes": "讨论睦邻书屋和种子驿站两项提案，合伙人介绍其他社区的做法。",
            "decisions": "两项提案继续讨论，请提案人补充运营和值守安排。",
            "proposals": ["reading", "seeds"],
            "requests": [],
            "sites": [],
            "step": None,
        },
        {
            "kind": "four_party",
            "title": "口袋花园日常养护“四议共答”",
            "held_on": _day(155),
            "place": "党群服务站",
            "point": office,
            "parties": [
                "residents_committee",
                "owners_committee",
                "property_manager",
                "resident_reps",
            ],
            "attendees": lines(
                ("residents_committee", 2),
                ("owners_committee", 1),
                ("property_manager", 2),
                ("resident_reps", reps(6, 10)),
            ),
            "minutes": "商定口袋花园建成后物业负责浇灌设施，养护队负责日常照看，"
            "认养植物由认养家庭负责。",
            "decisions": "成立花园养护队，积分计入积分超市。",
            "proposals": [],
            "requests": [],
            "sites": [SECOND_SITE],
            "step": None,
        },
        {
            "kind": "joint",
            "title": "口袋花园终稿联席会",
            "held_on": _day(222),
            "place": "居委会会议室",
            "point": office,
            "parties": [
                "residents_committee",
                "owners_committee",
                "property_manager",
                "resident_reps",
                "designers",
                "subdistrict",
            ],
            "attendees": lines(
                ("residents_committee", 2),
                ("owners_committee", 2),
                ("property_manager", 1),
                ("subdistrict", 1),
                ("resident_reps", reps(10, 14)),
                people_of=("designers", partners[2:4]),
            ),
            "minutes": "汇报公众咨询结果和修改情况，确认终稿和施工安排。",
            "decisions": "确定方案一定稿，物业负责施工期间的围挡；终稿进入方案公示。",
            "proposals": [],
            "requests": [],
            "sites": [SECOND_SITE],
            "step": {"site": SECOND_SITE, "stage": "final_joint_meeting"},
        },
        {
            "kind": "joint",
            "title": "睦邻微花园方案联席会",
            "held_on": _day(S01_JOINT_MEETING),
            "place": "睦邻微花园现场",
            "point": garden,
            "parties": [
                "party_branch",
                "residents_committee",
                "owners_committee",
                "property_manager",
                "designers",
                "resident_reps",
            ],
            "attendees": lines(
                ("party_branch", 2),
                ("residents_committee", 2),
                ("owners_committee", 1),
                ("property_manager", 1),
                ("resident_reps", 12),
                people_of=("designers", partners[2:4]),
            ),
            "minutes": "设计师介绍方案一（睦邻花圃）和方案二（四季花境与健身步道）。居民代表建议"
            "保留现有桂花树，步道用透水材料，座椅靠近庭院灯。",
            "decisions": "两稿均按意见修改后进入公众咨询，物业负责后期浇水协调。",
            "proposals": [],
            "requests": [],
            "sites": [code],
            "step": {"site": code, "stage": "joint_meeting"},
        },
        {
            "kind": "building_group",
            "title": "1号楼楼组会：公约修订",
            "held_on": _day(30),
            "place": "1号楼底楼门厅",
            "point": at("1号楼"),
            "parties": ["party_branch", "resident_reps"],
            "attendees": lines(("resident", reps(12, 18)), people_of=("party_branch", party[:2])),
            "minutes": "对照一年来的执行情况修订公约，增加文明养宠和高空抛物条款。",
            "decisions": "公约第二版通过。",
            "proposals": [],
            "requests": ["遛狗不牵绳"],
            "sites": [],
            "step": None,
        },
        {
            "kind": "forum",
            "title": "年度社区微更新总结座谈会",
            "held_on": _day(8),
            "place": "党群服务站",
            "point": office,
            "parties": ["residents_committee", "party_branch", "partners", "resident_reps"],
            "attendees": lines(
                ("residents_committee", 3),
                ("resident_reps", reps(15, 20)),
                people_of=("partners", partners[::2]),
            ),
            "minutes": "回顾一年的议事会、提案和微花园进展，征集明年的提案方向。",
            "decisions": "新收到的老楼扶手提案列入下次议事会。",
            "proposals": [],
            "requests": [],
            "sites": [],
            "step": None,
        },
    ]

    # --- money and materials of S01 (amounts in yuan, as text: exact) -------------------------
    pledgers = [names[k] for k in range(len(PARTNERS) + PARTY_VOLUNTEERS, total)][:10]
    pledge_amounts = [int(rng.integers(1, 11)) * 100 for _ in pledgers]
    fund_rows: list[dict[str, Any]] = [
        {"kind": "budget", "amount": "150000.00", "day": _day(270), "item": "睦邻微花园总预算"},
        {
            "kind": "income",
            "source": "subdistrict_grant",
            "amount": "100000.00",
            "day": _day(240),
            "item": "街道微更新专项资金",
        },
        {
            "kind": "income",
            "source": "self_funded",
            "amount": "18000.00",
            "day": _day(200),
            "item": "周边楼栋居民自筹",
        },
    ]
    for k, (who, amount) in enumerate(zip(pledgers, pledge_amounts, strict=True)):
        fund_rows.append(
            {
                "kind": "pledge",
                "source": "crowdfunding",
                "amount": f"{amount}.00",
                "day": _day(215 - 3 * k),
                "contributor": who,
                "contact": f"1380000{keys.index(volunteers[k]) + 1:04d}",
            }
        )
    fund_rows.append(
        {
            "kind": "income",
            "source": "crowdfunding",
            "amount": f"{sum(pledge_amounts)}.00",
            "day": _day(180),
            "item": "“一平米花园”众筹到账",
        }
    )
    fund_rows += [
        {
            "kind": "spending",
            "amount": "12000.00",
            "day": _day(100),
            "item": "社区调研与方案设计",
        },
        {"kind": "spending", "amount": "1800.00", "day": _day(18), "item": "公众咨询展板制作"},
        {
            "kind": "spending",
            "amount": "10935.00",
            "day": _day(9),
            "item": "彩色透水混凝土健身步道（材料预付三成）",
        },
        {
            "kind": "material",
            "quantity": 120,
            "unit": "株",
            "day": _day(20),
            "item": "月季苗",
            "contributor": "区绿化市容局苗圃",
        },
    ]
    for row in fund_rows:
        row["site"] = code

    # --- a building convention in two versions, a facility convention ---------------------------
    first = buildings["1号楼"]["properties"]["households"]
    convention_rows = [
        {
            "title": "1号楼楼组文明公约",
            "scope": "building",
            "building": "1号楼",
            "facility": None,
            "point": at("1号楼"),
            "versions": [
                {
                    "adopted_on": _day(335),
                    "agreed": first - 4,
                    "body": "一、楼道不堆物，保持消防通道畅通。\n二、电瓶车不进楼道、不上楼充电。\n"
                    "三、垃圾分类，定时定点投放。\n四、邻里互助，关心独居老人。",
                },
                {
                    "adopted_on": _day(30),
                    "agreed": first - 2,
                    "body": "一、楼道不堆物，保持消防通道畅通。\n二、电瓶车不进楼道、不上楼充电。\n"
                    "三、垃圾分类，定时定点投放。\n四、邻里互助，关心独居老人。\n"
                    "五、文明养宠，遛狗牵绳，及时清理。\n六、严禁高空抛物。",
                },
            ],
        },
        {
            "title": "车棚使用公约",
            "scope": "facility",
            "building": None,
            "facility": "北侧电瓶车棚",
            "point": at("7号楼"),
            "households": sum(int(f["properties"]["households"]) for f in buildings.values()),
            "versions": [
                {
                    "adopted_on": _day(200),
                    "agreed": 212,
                    "body": "一、电瓶车只在车棚内充电。\n二、按位停放，不占消防通道。\n"
                    "三、充电费用按月结算。",
                }
            ],
        },
    ]

    # --- events with sign-ups and attendance -------------------------------------------------
    walk_in_lecture, walk_in_workshop = reps(6, 12), reps(3, 8)
    event_rows: list[dict[str, Any]] = [
        {
            "kind": "lecture",
            "title": "垃圾分类微讲堂",
            "description": "社区学校老师讲解四分类和定时定点投放，现场答疑。",
            "day": _day(150),
            "time": "14:00",
            "place": "党群服务站",
            "point": office,
            "capacity": 40,
            "public": True,
            "signups": [
                {"person": key, "party": 1, "attended": k != 3}
                for k, key in enumerate([partners[8], *volunteers[:7]])
            ]
            + [
                {"name": "何阿婆", "phone": "13800000951", "party": 2, "attended": True},
                {"name": "小陈", "phone": "13800000952", "party": 1, "attended": True},
                {"name": "罗先生", "phone": None, "party": 3, "attended": False},
            ],
            "walk_ins": walk_in_lecture,
        },
        {
            "kind": "workshop",
            "title": "睦邻微花园共建工作坊",
            "description": "和设计师一起在图纸上摆放花圃、座椅和步道，孩子们画出心中的花园。",
            "day": _day(70),
            "time": "09:30",
            "place": "睦邻微花园",
            "point": garden,
            "capacity": 30,
            "public": True,
            "signups": [
                {"person": key, "party": 1, "attended": True}
                for key in [partners[2], partners[9], *volunteers[14:18]]
            ]
            + [{"name": "林家三口", "phone": "13800000953", "party": 3, "attended": True}],
            "walk_ins": walk_in_workshop,
        },
    ]

    # --- points: volunteering hours, events attended, redemptions ------------------------------
    points_rows: list[dict[str, Any]] = []
    for k, key in enumerate(elder_first + party[3:6]):
        points_rows.append(
            {"person": key, "kind": "volunteering", "day": _day(100 - k), "hours": 2 + k % 3}
        )
    for e, event in enumerate(event_rows):
        for s, signup in enumerate(event["signups"]):
            if signup.get("person") and signup["attended"]:
                points_rows.append(
                    {
                        "person": signup["person"],
                        "kind": "event",
                        "day": event["day"],
                        "event": e,
                        "signup": s,
                    }
                )
    points_rows += [
        {
            "person": elder_first[0],
            "kind": "redemption",
            "day": _day(20),
            "points": 15,
            "item": "洗衣液一瓶",
        },
        {
            "person": volunteers[0],
            "kind": "redemption",
            "day": _day(10),
            "points": 5,
            "item": "环保购物袋",
        },
    ]

    person_links = [{"person": key, "site": code} for key in [*partners[2:4], partners[9]]]

    return {
        "as_of": AS_OF.isoformat(),
        "seed": seed,
        "people": people_rows,
        "person_links": person_links,
        "teams": teams,
        "proposals": proposal_rows,
        "meetings": meeting_rows,
        "money": fund_rows,
        "conventions": convention_rows,
        "events": event_rows,
        "points": points_rows,
    }


def write_records(demo_dir: str | Path, seed: int) -> int:
    """Write ``records.json`` into the demo directory (after its places); the meetings written."""
    d = Path(demo_dir)
    data = build_records(d, seed)
    (d / RECORDS_FILE).write_text(
        json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    )
    return len(data["meetings"])


# --- loading ------------------------------------------------------------------------------------


def read_records(demo_dir: str | Path) -> dict[str, Any] | None:
    path = Path(demo_dir) / RECORDS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def load_records(
    session: Session, demo_dir: str | Path, *, community_code: str, now: datetime | None = None
) -> dict[str, int]:
    """Enter the demo's records through the records' services (in the caller's transaction),
    every day moved by ``shift_to(now)``."""
    data = read_records(demo_dir)
    if data is None:
        return {}
    shift = shift_to(now)
    community = community_by_code(session, code=community_code)
    me = Principal(
        user_id=0,
        username=KEEPER[0],
        display_name=KEEPER[1],
        roles=(RoleGrant(role=Role.COMMUNITY_ADMIN, community_id=community.id),),
    )

    def day(text: str) -> str:
        return (date.fromisoformat(text) + shift).isoformat()

    person_id: dict[str, int] = {}
    for p in data["people"]:
        made = people.add(
            session,
            principal=me,
            community_code=community_code,
            data={**p, "consent_on": day(p["consent_on"]), "joined_on": day(p["joined_on"])},
        )
        person_id[p["key"]] = made["id"]
    for x in data["person_links"]:
        people.link(
            session, principal=me, person_id=person_id[x["person"]], target="site", site=x["site"]
        )
    for team in data["teams"]:
        made = people.create_team(
            session,
            principal=me,
            community_code=community_code,
            data={**team, "founded_on": day(team["founded_on"])},
        )
        for j in team["joins"]:
            people.join(
                session,
                principal=me,
                team_id=made["id"],
                person_ids=[person_id[k] for k in j["people"]],
                joined_on=day(j["day"]),
            )
        for leave in team["leaves"]:
            people.leave(
                session,
                principal=me,
                team_id=made["id"],
                person_id=person_id[leave["person"]],
                left_on=day(leave["day"]),
            )

    number: dict[str, int] = {}
    for p in data["proposals"]:
        made = proposals.submit(
            session,
            principal=me,
            community_code=community_code,
            data={**p, "submitted_on": day(p["submitted_on"])},
        )
        number[p["key"]] = made["number"]

    site = find_site(session, community_id=community.id, code="S01")
    for m in data["meetings"]:
        step = m["step"]
        if step is not None:
            here = find_site(session, community_id=community.id, code=step["site"])
            if here is None or find_stage(session, site_id=here.id, stage=step["stage"]) is None:
                step = None  # the site has not reached that step: the meeting stands alone
        sites = [c for c in m["sites"] if find_site(session, community_id=community.id, code=c)]
        request_ids = []
        for title in m["requests"]:
            request_ids += [
                r.id for r in requests_titled(session, community_id=community.id, title=title)
            ][:1]
        attendees = [
            {**a, "person": person_id[a["person"]]} if "person" in a else a for a in m["attendees"]
        ]
        meetings.record(
            session,
            principal=me,
            community_code=community_code,
            data={
                **m,
                "held_on": day(m["held_on"]),
                "step": step,
                "sites": sites,
                "requests": request_ids,
                "proposals": [number[k] for k in m["proposals"]],
                "attendees": attendees,
            },
        )
    for p in data["proposals"]:
        for move in p["moves"]:
            current = proposals.one(
                session, principal=me, community_code=community_code, number=number[p["key"]]
            )
            proposals.move(
                session,
                principal=me,
                community_code=community_code,
                number=number[p["key"]],
                version=current["version"],
                status=move["status"],
                reason=move.get("reason"),
                site_code=move.get("site"),
            )

    lines = 0
    for f in data["money"]:
        if site is None:
            break
        amount = f.get("amount")
        money.record(
            session,
            principal=me,
            community_code=community_code,
            site_code=f["site"],
            data={
                **f,
                "amount": Decimal(amount) if amount is not None else None,
                "day": day(f["day"]),
            },
        )
        lines += 1

    for c in data["conventions"]:
        first, *later = c["versions"]
        by_codes = c["building"] is not None and bool(
            household_codes_of_community(
                session,
                community_id=community.id,
                building_id=_building_id(session, community.id, c["building"]),
            )
        )

        def version(v: dict[str, Any], *, by_codes: bool = by_codes) -> dict[str, Any]:
            # households with consultation codes agree with them, not by a count of staff
            return {
                **v,
                "adopted_on": day(v["adopted_on"]),
                "agreed": None if by_codes else v["agreed"],
            }

        made = conventions.create(
            session,
            principal=me,
            community_code=community_code,
            data={**c, **version(first)},
        )
        for v in later:
            conventions.add_version(
                session, principal=me, convention_id=made["id"], data=version(v)
            )

    signup_ids: dict[tuple[int, int], int] = {}
    for e, ev in enumerate(data["events"]):
        made = events.create(
            session,
            principal=me,
            community_code=community_code,
            data={**ev, "day": day(ev["day"])},
        )
        view = made
        for s, signup in enumerate(ev["signups"]):
            view = events.staff_sign_up(
                session,
                principal=me,
                event_id=made["id"],
                person_id=person_id[signup["person"]] if signup.get("person") else None,
                name=signup.get("name"),
                phone=signup.get("phone"),
                party=signup["party"],
                attended=signup["attended"],
            )
            signup_ids[(e, s)] = max(x["id"] for x in view["signups"])
        events.set_walk_ins(
            session,
            principal=me,
            event_id=made["id"],
            walk_ins=ev["walk_ins"],
            version=view["version"],
        )

    for row in data["points"]:
        entry: dict[str, Any] = {
            "person": person_id[row["person"]],
            "kind": row["kind"],
            "day": day(row["day"]),
        }
        if row["kind"] == "volunteering":
            entry["hours"] = row["hours"]
        elif row["kind"] == "event":
            entry["source"] = signup_ids[(row["event"], row["signup"])]
        else:
            entry |= {"points": row["points"], "item": row["item"]}
        points.record(session, principal=me, community_code=community_code, data=entry)

    return {
        "person": len(data["people"]),
        "meeting": len(data["meetings"]),
        "proposal": len(data["proposals"]),
        "fund_line": lines,
        "convention": len(data["conventions"]),
        "event": len(data["events"]),
        "points_entry": len(data["points"]),
    }


def _building_id(session: Session, community_id: int, number: str) -> int:
    from renewmap.db.queries.places import buildings_numbered

    return buildings_numbered(session, community_id=community_id, number=number)[0].id
