"""The organisation below and beside the grid (issue 20), on both databases: buildings and
their party groups in the routing chain, stairwells, the demo's explicit links, the migration.

Places (tests/support/places.py): community T with grids A and B; 1号楼 (bA) in A is served by
T-LZ1; 2号楼 (bB) in B has a west and an east stairwell, served by T-LZ2W and T-LZ2E.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from renewmap.db.models import (
    Building,
    BuildingGroupPlace,
    Grid,
    PartyBranch,
    Request,
    Stairwell,
)
from renewmap.errors import InvalidInput
from renewmap.services.places.routing import route_geometry
from renewmap.services.requests.intake import create_request
from tests.support.paths import DEMO_DIR
from tests.support.places import add_building_groups, add_test_community, pt

DEMO = "310109010026"

# (x, y) in local units (x ≈ 71.5 m, y ≈ 111.2 m), the building and its group, why
CHAINS = [
    ((0.2, 0.5), "1号楼", "T-LZ1", "inside 1号楼"),
    ((0.32, 0.5), "1号楼", "T-LZ1", "1.4 m east of 1号楼's wall: at the building"),
    ((0.2, 0.65), "1号楼", "T-LZ1", "5.6 m north of 1号楼"),
    ((0.5, 0.5), None, None, "in the open, 14 m from 1号楼"),
    ((1.52, 0.45), "2号楼", "T-LZ2W", "in 2号楼 by the west entrance"),
    ((1.68, 0.45), "2号楼", "T-LZ2E", "in 2号楼 by the east entrance"),
    ((1.66, 0.38), "2号楼", "T-LZ2E", "outside the east entrance"),
]


@pytest.mark.parametrize(("xy", "building", "group", "why"), CHAINS, ids=[c[3] for c in CHAINS])
def test_routing_chain_names_the_building_group(session, xy, building, group, why) -> None:
    add_test_community(session)
    add_building_groups(session)
    owner = route_geometry(session, pt(*xy))
    grid = owner.grid.code
    assert owner.rule in ("inside", "building")  # the grid is chosen as before
    assert (owner.building.name if owner.building else None) == building, why
    assert (owner.building_group.code if owner.building_group else None) == group, why
    codes = [r.code for r in owner.chain]
    assert codes == ([group] if group else []) + [f"T-B{grid}", "T-GB", "T00"], why
    if group:
        assert owner.message().endswith(f" · {owner.building_group.name} 处理")
    assert owner.general_branch.kind == "general_branch"


def test_the_grid_choice_does_not_depend_on_building_groups(session) -> None:
    add_test_community(session)
    before = [route_geometry(session, pt(x, 0.5)) for x in (0.2, 0.32, 1.0, 1.52, 2.5)]
    add_building_groups(session)
    after = [route_geometry(session, pt(x, 0.5)) for x in (0.2, 0.32, 1.0, 1.52, 2.5)]
    assert [(o.rule, o.grid_id, o.branch_id) for o in before] == [
        (o.rule, o.grid_id, o.branch_id) for o in after
    ]


def test_a_request_keeps_its_building(session) -> None:
    ids = add_test_community(session) | add_building_groups(session)
    request, owner = create_request(session, geom=pt(0.32, 0.5), category="lighting", title="灯")
    assert request.building_id == ids["b1"] == owner.building_id
    open_air, _ = create_request(session, geom=pt(0.6, 0.5), category="lighting", title="灯")
    assert open_air.building_id is None


def test_top_level_named_per_community(session) -> None:
    from renewmap.db.models import Community

    add_test_community(session)
    community = session.scalar(select(Community).where(Community.code == "T0001"))
    community.top_level = "party_committee"
    session.flush()
    owner = route_geometry(session, pt(2.5, 0.5))  # in no grid: the top level owns it
    assert owner.general_branch.kind == "party_committee"
    assert owner.chain[0].kind == "party_committee"


def test_demo_building_groups_are_linked_explicitly(session) -> None:
    """Every demo building has its group (codes …-LZnn, never to be confused with a grid
    branch's …-Bn), the group's parent is the branch of the building's grid, and stairwells
    sum to the building's households."""
    groups = session.scalars(select(PartyBranch).where(PartyBranch.level == "building_group")).all()
    assert len(groups) == 21 and all("-LZ" in g.code for g in groups)
    links = session.scalars(select(BuildingGroupPlace)).all()
    assert len(links) == 21 and all(link.stairwell_id is None for link in links)
    for link in links:
        building = session.get(Building, link.building_id)
        group = session.get(PartyBranch, link.branch_id)
        grid = session.get(Grid, building.grid_id)
        assert group.parent_id == grid.branch_id
        assert group.name == f"{building.number}楼组党小组"
        stairwells = session.scalars(
            select(Stairwell).where(Stairwell.building_id == building.id)
        ).all()
        assert stairwells and sum(s.households for s in stairwells) == building.households
    at_buildings = session.scalar(
        select(func.count(Request.id)).where(Request.building_id.is_not(None))
    )
    assert at_buildings > 0


def test_import_rejects_a_group_that_is_not_a_building_group(session, tmp_path) -> None:
    import json

    from renewmap.errors import ImportFailed
    from renewmap.services.ingest.importer import import_file

    data = json.loads((DEMO_DIR / "buildings.geojson").read_text())
    data["features"] = data["features"][:2]
    data["features"][0]["properties"]["group_code"] = "310109010026-B1"  # a grid branch
    data["features"][1]["properties"]["group_code"] = "NOPE"
    path = tmp_path / "buildings.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False))
    with pytest.raises(ImportFailed) as err:
        import_file(session, path, kind="building", community_code="310109010026")
    english = err.value.render("en")
    assert (
        "feature 1, field 'group_code': '310109010026-B1' is a grid party branch, not a building "
        "party group" in english
    )
    assert "feature 2, field 'group_code': unknown party branch code 'NOPE'" in english
    assert "第 1 个要素的“group_code”字段：“310109010026-B1”是网格党支部" in err.value.message


def test_migration_keeps_patrols_and_finds_buildings(database_url_factory) -> None:
    """Down to before 0017_org and up again: a patrol of the old kind keeps its grid (now the
    first grid walked, with its branch), every point request gets the building it is in or at."""
    from sqlalchemy import inspect
    from sqlalchemy.orm import Session

    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import downgrade, upgrade
    from renewmap.services.ingest.demo import load_demo

    e = make_engine(database_url_factory())
    try:
        upgrade(e)
        with Session(e) as s, s.begin():
            load_demo(s, DEMO_DIR)
        with Session(e) as s:
            expected = dict(s.execute(select(Request.id, Request.building_id)).all())
        downgrade(e, "0015_consult")
        with e.begin() as conn:
            assert not inspect(conn).has_table("building_group_place")
            assert "building_id" not in {c["name"] for c in inspect(conn).get_columns("request")}
            grid_id, branch_id = conn.execute(
                text("SELECT id, branch_id FROM grid ORDER BY code LIMIT 1")
            ).one()
            conn.execute(
                text(
                    "INSERT INTO patrol (grid_id, day, participants, recorded_by, created_at) "
                    "VALUES (:g, '2026-11-05', '王', 'test', '2026-11-05T10:00:00+08:00')"
                ),
                {"g": grid_id},
            )
        upgrade(e)
        with Session(e) as s:
            found = dict(s.execute(select(Request.id, Request.building_id)).all())
            assert found == expected and sum(v is not None for v in found.values()) > 0
            row = s.execute(
                text(
                    "SELECT p.branch_id, pg.grid_id FROM patrol p "
                    "JOIN patrol_grid pg ON pg.patrol_id = p.id WHERE p.recorded_by = 'test'"
                )
            ).one()  # the demo's history has patrols of its own
            assert tuple(row) == (branch_id, grid_id)
            top, rule = s.execute(text("SELECT top_level, patrol_rule FROM community")).first()
            assert (top, rule) == ("general_branch", "week:2:thu")
    finally:
        e.dispose()


# --- patrols: the due rule, branch patrols, GPS routes -------------------------------------------

# One month of 2026 starting on each weekday: (year, month, week:2:thu, nth:2:thu)
DUE_DAYS = [
    (2026, 6, 11, 11),  # starts on a Monday
    (2026, 9, 10, 10),  # Tuesday
    (2026, 4, 9, 9),  # Wednesday
    (2026, 1, 8, 8),  # Thursday: week 1's Thursday is the 1st
    (2026, 5, 7, 14),  # Friday: week 1's Thursday was in April
    (2026, 8, 6, 13),  # Saturday
    (2026, 11, 5, 12),  # Sunday: the example
]


@pytest.mark.parametrize(("year", "month", "week", "nth"), DUE_DAYS)
def test_due_day_in_months_starting_on_each_weekday(year, month, week, nth) -> None:
    from datetime import date

    from renewmap.services.requests.patrols import due_day

    first = date(year, month, 1)
    assert first.weekday() == [m for _, m, _, _ in DUE_DAYS].index(month)
    assert due_day("week:2:thu", year, month) == date(year, month, week)  # 第二周的周四
    assert due_day("nth:2:thu", year, month) == date(year, month, nth)  # 第二个周四
    assert due_day("day:15", year, month) == date(year, month, 15)
    assert due_day("week:2:thu", year, month).weekday() == 3


def test_due_rules_at_the_month_edges_and_bad_rules() -> None:
    from datetime import date

    from renewmap.services.requests.patrols import due_day, parse_rule

    assert due_day("day:31", 2026, 2) == date(2026, 2, 28)
    assert due_day("nth:5:thu", 2026, 2) == date(2026, 2, 26)  # no fifth Thursday
    assert due_day("week:1:thu", 2026, 5) == date(2026, 5, 1)  # its Thursday was in April
    assert due_day("week:5:sun", 2026, 2) == date(2026, 2, 28)
    for bad in ("", "week:2", "week:0:thu", "nth:6:thu", "day:32", "week:2:thursday", "x:1"):
        with pytest.raises(InvalidInput) as err:
            parse_rule(bad)
        assert err.value.details["field"] == "patrol_rule"


def _demo_admin(session):
    from renewmap.services.access.accounts import operator_principal

    return operator_principal(session, community_code=DEMO)


def test_one_patrol_clears_every_grid_of_its_branch(session) -> None:
    from datetime import date

    from renewmap.services.requests import patrols

    admin = _demo_admin(session)
    out = patrols.record(
        session,
        principal=admin,
        community_code=DEMO,
        grid_codes=["G01"],
        day=date(2026, 11, 5),
        participants="第一网格党支部 8 人",
        study_topic="学习《社区微更新导则》",
        study_attendees="支部党员 8 人",
        today=date(2026, 11, 20),
    )
    assert out["grids"] == ["G01"] and out["study_topic"] == "学习《社区微更新导则》"
    month = patrols.month_status(
        session,
        principal=admin,
        community_code=DEMO,
        month=date(2026, 11, 1),
        today=date(2026, 11, 20),
    )
    by = {g["grid"]["code"]: g for g in month["grids"]}
    # G02 belongs to the same branch (第一网格党支部): cleared without being walked
    assert by["G01"]["patrolled"] and by["G02"]["patrolled"] and not by["G02"]["late"]
    assert by["G01"]["walked"] == ["2026-11-05"] and by["G02"]["walked"] == []
    assert not by["G03"]["patrolled"] and by["G03"]["late"]  # another branch, past the 5th
    branches = {b["branch"]["code"]: b for b in month["branches"]}
    assert branches[f"{DEMO}-B1"]["grids"] == ["G01", "G02"]
    assert branches[f"{DEMO}-B1"]["patrolled"] and branches[f"{DEMO}-B2"]["late"]
    assert month["due"] == "2026-11-05" and month["rule"] == "week:2:thu"
    # one patrol is one branch's
    with pytest.raises(InvalidInput) as err:
        patrols.record(
            session,
            principal=admin,
            community_code=DEMO,
            grid_codes=["G01", "G03"],
            day=date(2026, 11, 6),
            participants="王",
            today=date(2026, 11, 20),
        )
    assert "the grids G01, G03 belong to different branches" in err.value.render("en")
    assert err.value.key == "patrol_grids_of_several_branches"


def test_the_late_flag_follows_the_communitys_rule(session) -> None:
    from datetime import date

    from renewmap.services.places import organisation
    from renewmap.services.requests import patrols

    admin = _demo_admin(session)

    def late_on(day: date) -> bool:
        month = patrols.month_status(
            session, principal=admin, community_code=DEMO, month=day.replace(day=1), today=day
        )
        return month["grids"][0]["late"]

    assert late_on(date(2026, 11, 6))  # 第二周的周四 was the 5th
    organisation.configure(session, principal=admin, community_code=DEMO, patrol_rule="nth:2:thu")
    assert not late_on(date(2026, 11, 6)) and late_on(date(2026, 11, 13))  # 第二个周四: the 12th
    organisation.configure(session, principal=admin, community_code=DEMO, patrol_rule="day:20")
    assert not late_on(date(2026, 11, 20)) and late_on(date(2026, 11, 21))


def test_a_gps_walk_is_kept_simplified(session) -> None:
    """200 fixes along a street with ±1 m of jitter: stored as a few points, never more than
    the tolerance away from what the phone logged."""
    import math
    from datetime import date

    import numpy as np
    import shapely

    from renewmap.services.requests import patrols
    from renewmap.spatial.crs import to_metric
    from renewmap.spatial.geometry import from_db

    rng = np.random.default_rng(7)
    grid = session.scalars(select(Grid).where(Grid.code == "G01")).first()
    start = from_db(grid.geom).representative_point()
    epsg = 32651
    fixes = []
    for i in range(200):
        east = i * 0.5 + rng.normal(0, 0.3)  # 100 m east, then 60 m north
        north = rng.normal(0, 0.3) if i < 120 else (i - 120) * 0.75
        fixes.append(
            [
                start.x + east / (111_320 * math.cos(math.radians(start.y))),
                start.y + north / 110_574,
            ]
        )
    out = patrols.record(
        session,
        principal=_demo_admin(session),
        community_code=DEMO,
        grid_codes=["G01"],
        day=date(2026, 11, 5),
        participants="王",
        route={"type": "LineString", "coordinates": fixes},
        route_source="gps",
        today=date(2026, 11, 5),
    )
    stored = shapely.geometry.shape(out["route"])
    assert out["route_source"] == "gps" and shapely.get_num_coordinates(stored) < 20
    logged = to_metric(shapely.LineString(fixes), epsg)
    assert to_metric(stored, epsg).hausdorff_distance(logged) <= patrols.GPS_TOLERANCE_M + 0.01


# --- the monthly report --------------------------------------------------------------------------


def test_the_monthly_report_counts_within_the_months_bounds_in_shanghai(session) -> None:
    """November in Shanghai runs from 2026-10-31 16:00 UTC to 2026-11-30 16:00 UTC: a request
    created at 00:30 on 1 December (Shanghai) is December's, one at 00:30 on 1 November is
    November's. Resolved in November with their days; still open at the end of November even
    when resolved since."""
    from datetime import UTC, date, datetime

    from renewmap.services.access.accounts import operator_principal
    from renewmap.services.requests import workflow
    from renewmap.services.requests.reports import monthly_report

    add_test_community(session)
    admin = operator_principal(session, community_code="T0001")

    def made(title: str, utc: datetime) -> Request:
        r, _ = create_request(session, geom=pt(0.5, 0.5), category="lighting", title=title)
        r.created_at = r.status_since = utc
        for e in r.events:
            e.at = utc
        session.flush()
        return r

    def step(r: Request, action: str, utc: datetime, **kw) -> None:
        workflow.act(
            session,
            principal=admin,
            request_id=r.id,
            action=action,
            version=r.version,
            now=utc,
            **kw,
        )

    oct_last = made("十月最后一分钟", datetime(2026, 10, 31, 15, 59, tzinfo=UTC))
    nov_first = made("十一月第一天", datetime(2026, 10, 31, 16, 30, tzinfo=UTC))
    nov_last = made("十一月最后一分钟", datetime(2026, 11, 30, 15, 59, tzinfo=UTC))
    made("十二月第一天", datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    old = made("十月的老问题", datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    step(old, "accept", datetime(2026, 10, 21, 2, 0, tzinfo=UTC))
    step(old, "resolve", datetime(2026, 11, 10, 2, 0, tzinfo=UTC), note="修好了")  # 21 days
    step(nov_first, "accept", datetime(2026, 11, 2, 0, 0, tzinfo=UTC))
    step(nov_first, "resolve", datetime(2026, 11, 3, 16, 30, tzinfo=UTC), note="修好了")  # 3 days
    step(oct_last, "accept", datetime(2026, 11, 30, 16, 30, tzinfo=UTC))  # December's
    step(nov_last, "reject", datetime(2026, 12, 2, 0, 0, tzinfo=UTC), note="不属实")  # later
    report = monthly_report(
        session,
        principal=admin,
        community_code="T0001",
        grid_code="A",
        month=date(2026, 11, 1),
        time_zone="Asia/Shanghai",
        now=datetime(2026, 12, 5, tzinfo=UTC),
    )
    titles = lambda rows: sorted(r["title"] for r in rows)  # noqa: E731
    assert titles(report["new_requests"]) == ["十一月最后一分钟", "十一月第一天"]
    assert titles(report["resolved_requests"]) == ["十一月第一天", "十月的老问题"]
    assert titles(report["open_requests"]) == ["十一月最后一分钟", "十月最后一分钟"]
    assert report["figures"] == {
        "new": 2,
        "accepted": 1,
        "resolved": 2,
        "median_days_to_resolve": 12.0,
        "open_at_end": 2,
    }
    assert report["start"] == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert report["end"] == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    in_utc = monthly_report(
        session,
        principal=admin,
        community_code="T0001",
        grid_code="A",
        month=date(2026, 11, 1),
        time_zone="UTC",
        now=datetime(2026, 12, 5, tzinfo=UTC),
    )  # the same data counted in UTC: the edges move
    assert titles(in_utc["new_requests"]) == ["十一月最后一分钟", "十二月第一天"]


def test_a_branch_report_covers_its_grids_and_its_patrols(session) -> None:
    from datetime import UTC, date, datetime

    from renewmap.services.requests import patrols
    from renewmap.services.requests.reports import monthly_report
    from renewmap.web.report import report_page

    admin = _demo_admin(session)
    patrols.record(
        session,
        principal=admin,
        community_code=DEMO,
        grid_codes=["G02"],
        day=date(2026, 11, 5),
        participants="第一网格党支部",
        study_topic="学习垃圾分类新规",
        route={"type": "LineString", "coordinates": [[121.4905, 31.2890], [121.4908, 31.2892]]},
        findings=[
            {
                "category": "lighting",
                "title": "巡查发现路灯不亮",
                "geometry": {"type": "Point", "coordinates": [121.4905, 31.2890]},
            }
        ],
        today=date(2026, 11, 5),
    )
    report = monthly_report(
        session,
        principal=admin,
        community_code=DEMO,
        branch_code=f"{DEMO}-B1",
        month=date(2026, 11, 1),
        now=datetime(2026, 11, 20, tzinfo=UTC),
    )
    assert [g["code"] for g in report["grids"]] == ["G01", "G02"]
    assert [g["grid"]["code"] for g in report["per_grid"]] == ["G01", "G02"]
    [walk] = report["patrols"]
    assert walk["study_topic"] == "学习垃圾分类新规" and walk["route"]["type"] == "MultiLineString"
    assert [f["title"] for f in walk["findings"]] == ["巡查发现路灯不亮"]
    grid_report = monthly_report(
        session,
        principal=admin,
        community_code=DEMO,
        grid_code="G01",  # not walked itself, but its branch walked
        month=date(2026, 11, 1),
        now=datetime(2026, 11, 20, tzinfo=UTC),
    )
    assert len(grid_report["patrols"]) == 1
    html = report_page(report, locale="en", nonce="n", time_zone="Asia/Shanghai")
    assert "Patrol of 2026-11-05" in html and "学习垃圾分类新规" in html
    assert "Resolved this month" in html and "本月办结" not in html  # the reader's language


def test_organisations_import_all_or_nothing(session, tmp_path) -> None:
    from renewmap.db.models import Organisation
    from renewmap.errors import ImportFailed
    from renewmap.services.ingest.importer import import_organisations

    bad = tmp_path / "orgs.csv"
    bad.write_text(
        "code,name,kind,community_code,compound_code\n"
        f"WY2,新物业,property_company,{DEMO},C1\n"
        f"X,某公司,cleaning,{DEMO},\n"
        f"Y,某业委会,owners_committee,{DEMO},C9\n",
        encoding="utf-8",
    )
    before = session.scalar(select(func.count(Organisation.id)))
    with pytest.raises(ImportFailed) as err:
        import_organisations(session, bad)
    english = err.value.render("en")
    assert "feature 2, field 'kind': unknown kind 'cleaning'" in english
    assert "feature 3, field 'compound_code': unknown compound code 'C9'" in english
    assert session.scalar(select(func.count(Organisation.id))) == before
    again = import_organisations(session, DEMO_DIR / "organisations.csv")
    assert (again.created, again.updated) == (0, 2)


def test_the_monthly_report_as_a_printable_pdf(session, monkeypatch) -> None:
    """A branch's November as A4 PDF: its words in the reader's language, the figures, the
    open requests and the patrol's study read back from the file; without a Chinese font the
    server says what to install."""
    import io
    from datetime import UTC, date, datetime

    from pypdf import PdfReader

    from renewmap import printing
    from renewmap.errors import FontMissing
    from renewmap.services.requests import patrols
    from renewmap.services.requests.reports import monthly_report
    from renewmap.web.report_pdf import report_pdf

    admin = _demo_admin(session)
    patrols.record(
        session,
        principal=admin,
        community_code=DEMO,
        grid_codes=["G07"],
        day=date(2026, 11, 5),
        participants="第四网格党支部 6 人",
        study_topic="学习《社区微更新导则》",
        route={"type": "LineString", "coordinates": [[121.4905, 31.2890], [121.4910, 31.2892]]},
        route_source="gps",
        today=date(2026, 11, 5),
    )
    report = monthly_report(
        session,
        principal=admin,
        community_code=DEMO,
        branch_code=f"{DEMO}-B4",
        month=date(2026, 11, 1),
        now=datetime(2026, 12, 1, 2, tzinfo=UTC),
    )

    def text_of(pdf: bytes) -> str:
        reader = PdfReader(io.BytesIO(pdf))
        raw = "".join(page.extract_text() for page in reader.pages)
        return "".join(c for c in raw if c.isprintable() and not c.isspace())

    zh = report_pdf(report, locale="zh_CN", time_zone="Asia/Shanghai")
    assert zh.startswith(b"%PDF")
    text = text_of(zh)
    assert "第四网格党支部·2026年11月诉求报告" in text
    assert f"未办结:{report['figures']['open_at_end']}" in text
    assert "学习《社区微更新导则》" in text and "GPS记录" in text
    for r in report["open_requests"][:3]:
        assert r["title"] in text
    english = text_of(report_pdf(report, locale="en", time_zone="Asia/Shanghai"))
    assert "Resolvedthismonth" in english and "本月办结" not in english
    printing._font.cache_clear()
    monkeypatch.setenv("RENEWMAP_CJK_FONT", "/nonexistent/font.ttc")
    try:
        with pytest.raises(FontMissing) as err:
            report_pdf(report, locale="zh_CN", time_zone="Asia/Shanghai")
        assert "RENEWMAP_CJK_FONT" in err.value.message
    finally:
        printing._font.cache_clear()


def test_removing_a_building_or_retiring_the_community_takes_its_organisation(session) -> None:
    """Setup's ``building remove`` and ``community retire`` (issue 15) on the organisation: a
    removed building's stairwells and group links go with it (the groups stay, serving what is
    left); a retired community's stairwells, groups, volunteers, property company and owners'
    committee go with it, with the roles held in them."""
    from datetime import UTC, datetime

    from renewmap.db.models import Organisation, PartyVolunteer, StaffRole, StaffUser
    from renewmap.services.access import accounts
    from renewmap.services.places.communities import remove_building, retire

    add_test_community(session)
    groups = add_building_groups(session)
    community_id = session.scalar(select(Building.community_id).where(Building.id == groups["b2"]))
    session.add(
        Organisation(community_id=community_id, kind="property_company", code="WY", name="物业")
    )
    session.add(
        PartyVolunteer(
            branch_id=groups["T-LZ2W"],
            name="王阿姨",
            consent_at=datetime(2026, 11, 1, tzinfo=UTC),
            consent_recorded_by="t",
        )
    )
    session.flush()
    accounts.create_user(
        session,
        username="wy",
        password="a long password 1",
        roles=[("property_staff", "T0001/WY"), ("building_group_leader", "T-LZ2W")],
    )
    session.flush()

    wy = session.scalar(select(StaffUser.id).where(StaffUser.username == "wy"))
    branch_ids = select(PartyBranch.id).where(PartyBranch.community_id == community_id)

    def counts() -> dict[str, int]:
        def n(query) -> int:
            return session.scalar(select(func.count()).select_from(query.subquery()))

        return {
            "stairwells": n(select(Stairwell.id).where(Stairwell.community_id == community_id)),
            "links": n(
                select(BuildingGroupPlace.id)
                .join(Building, Building.id == BuildingGroupPlace.building_id)
                .where(Building.community_id == community_id)
            ),
            "volunteers": n(
                select(PartyVolunteer.id).where(PartyVolunteer.branch_id.in_(branch_ids))
            ),
            "orgs": n(select(Organisation.id).where(Organisation.community_id == community_id)),
            "roles": n(select(StaffRole.id).where(StaffRole.user_id == wy)),
            "buildings": n(select(Building.id).where(Building.community_id == community_id)),
            "branches": n(branch_ids),
        }

    before = counts()
    assert before == {
        "stairwells": 2,
        "links": 3,
        "volunteers": 1,
        "orgs": 1,
        "roles": 2,
        "buildings": 2,
        "branches": 7,  # the general branch, two grid branches, four building groups
    }
    assert str(remove_building(session, community_code="T0001", ref="2号楼")) == "2号楼"
    session.expire_all()
    places = session.execute(
        select(PartyBranch.code, Building.number)
        .join(BuildingGroupPlace, BuildingGroupPlace.branch_id == PartyBranch.id)
        .join(Building, Building.id == BuildingGroupPlace.building_id)
        .where(Building.community_id == community_id)
    ).all()
    assert [tuple(p) for p in places] == [("T-LZ1", "1号楼")]
    assert session.get(PartyBranch, groups["T-LZ2W"]) is not None  # the group itself stays
    assert counts() == before | {"stairwells": 0, "links": 1, "buildings": 1}

    assert retire(session, code="T0001") == "测试社区"
    session.expire_all()
    assert counts() == dict.fromkeys(before, 0)
