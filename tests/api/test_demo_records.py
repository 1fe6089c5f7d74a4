"""The demo community's year of participation records (issue 18, records.json) on both
databases: the subdistrict's and community's counts are what was built, the loaded records are
the ones in the file (statuses, money, team growth, attendance, points), the 联席会 meetings are
S01's and S02's steps' records exactly when the sites have those steps (the bare demo the suite
starts from, and the demo with its history loaded on a fixed day, every day moved alike), no
person's contact or name reaches a public page or API, the public proposals are on the
residents' map, and building the file twice gives the same bytes."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from renewmap.db.models import Community, Meeting, Site
from renewmap.db.queries.process import find_stage
from renewmap.services.access import accounts
from renewmap.services.ingest.demo import DEMO_COMMUNITY, SEED
from renewmap.services.ingest.demo_records import RECORDS_FILE, write_records
from tests.support.paths import DEMO_DIR

CODE = DEMO_COMMUNITY
SUBDISTRICT = CODE[:9]
BUILT = json.loads((DEMO_DIR / RECORDS_FILE).read_text())


def _token(session, name: str, role: str, place: str) -> dict[str, str]:
    user = accounts.create_user(
        session, username=name, password="correct horse battery", roles=[(role, place)]
    )
    token, _ = accounts.issue_token(session, user=user, kind="api")
    return {"Authorization": f"Bearer {token}"}


def _participants(meeting: dict) -> int:
    return sum(a.get("count", 1) for a in meeting["attendees"])


def _shift(session) -> timedelta:
    """How far the loader moved the file's days (AS_OF to the loading day): read off one
    meeting of the register."""
    built = BUILT["meetings"][-1]
    loaded = session.query(Meeting).filter_by(title=built["title"]).one()
    return loaded.held_on - date.fromisoformat(built["held_on"])


def _expected_years(shift: timedelta) -> dict[int, dict[str, int]]:
    """Per year, what the file holds, its days moved as the loader moved them."""

    def year(day: str) -> int:
        return (date.fromisoformat(day) + shift).year

    years: dict[int, Counter] = {}
    for m in BUILT["meetings"]:
        c = years.setdefault(year(m["held_on"]), Counter())
        c["meetings"] += 1
        c["participants"] += _participants(m)
    for p in BUILT["proposals"]:
        c = years.setdefault(year(p["submitted_on"]), Counter())
        c["proposals"] += 1
        final = p["moves"][-1]["status"] if p["moves"] else None
        c["adopted"] += final in ("adopted", "became_site")
        c["became_site"] += final == "became_site"
    for e in BUILT["events"]:
        c = years.setdefault(year(e["day"]), Counter())
        c["events"] += 1
        c["event_attendances"] += e["walk_ins"] + sum(
            s["party"] for s in e["signups"] if s["attended"]
        )
    return {y: dict(c) for y, c in years.items()}


def test_the_file_is_a_year_of_records() -> None:
    """What the issue asks of the demo, read from the built file itself."""
    days = [m["held_on"] for m in BUILT["meetings"]]
    assert len(days) == 14 and min(days) > "2025-11-21" and max(days) <= BUILT["as_of"]
    assert {m["kind"] for m in BUILT["meetings"]} == {
        "joint",
        "forum",
        "council",
        "building_group",
        "four_party",
    }
    steps = [(m["step"]["site"], m["step"]["stage"]) for m in BUILT["meetings"] if m["step"]]
    assert steps == [
        ("S02", "joint_meeting"),
        ("S02", "final_joint_meeting"),
        ("S01", "joint_meeting"),
    ]
    kinds = Counter(p["partner_kind"] for p in BUILT["people"] if "partner" in p["roles"])
    assert kinds == dict.fromkeys(("think_tank", "planning", "governance", "media", "education"), 2)
    assert sum("party_volunteer" in p["roles"] for p in BUILT["people"]) == 8


def test_counts_are_what_was_built(make_client, session) -> None:
    sub = _token(session, "demo_rec_sub", "subdistrict_admin", SUBDISTRICT)
    admin = _token(session, "demo_rec_admin", "community_admin", CODE)
    c = make_client()
    shift = _shift(session)
    expected = _expected_years(shift)
    as_of = date.fromisoformat(BUILT["as_of"]) + shift
    assert set(expected) == {as_of.year - 1, as_of.year}  # the year before the "as of" day
    out = c.get(f"/api/records/subdistricts/{SUBDISTRICT}/counts", headers=sub)
    assert out.status_code == 200, out.text
    body = out.json()
    assert [row["code"] for row in body["communities"]] == [CODE]
    assert body["people"] == len(BUILT["people"]) == 36
    got = {row["year"]: row for row in body["years"]}
    assert sorted(got) == sorted(expected)
    for year, counts in expected.items():
        for key, value in counts.items():
            assert got[year][key] == value, (year, key)
    # the numbers themselves, summed over the year: 14 meetings, 6 proposals, 2 events
    assert sum(r["meetings"] for r in got.values()) == 14
    assert sum(r["proposals"] for r in got.values()) == 6
    assert sum(r["became_site"] for r in got.values()) == 1
    assert sum(r["participants"] for r in got.values()) == sum(
        _participants(m) for m in BUILT["meetings"]
    )
    mine = c.get(f"/api/records/communities/{CODE}/counts", headers=admin).json()
    assert mine["years"] == body["years"] and mine["people"] == 36


def test_loaded_records_are_the_files(make_client, session) -> None:
    admin = _token(session, "demo_rec_admin2", "community_admin", CODE)
    c = make_client()
    base = f"/api/records/communities/{CODE}"
    props = c.get(f"{base}/proposals", headers=admin).json()["proposals"]
    status = {p["title"]: p["status"] for p in props}
    assert Counter(status.values()) == {
        "became_site": 1,
        "declined": 1,
        "discussing": 3,
        "submitted": 1,
    }
    garden = next(p for p in props if p["status"] == "became_site")
    assert garden["site"]["code"] == "S01" and garden["geometry"]["type"] == "Polygon"
    declined = next(p for p in props if p["status"] == "declined")
    assert declined["decline_reason"].startswith("中心绿地是小区唯一的集中绿地")

    # money: 街道拨款 + 居民自筹 + the crowdfunding that equals its ten pledges
    m = c.get(f"{base}/sites/S01/money", headers=admin).json()
    pledged = sum(Decimal(f["amount"]) for f in BUILT["money"] if f["kind"] == "pledge")
    assert m["pledges"] == 10 and m["pledged_fen"] == int(pledged * 100)
    assert m["income_fen"] == int((Decimal(100000) + Decimal(18000) + pledged) * 100)
    assert m["budget_fen"] == 150000_00
    assert m["spent_fen"] == (12000 + 1800 + 10935) * 100
    assert {s["source"] for s in m["sources"]} == {
        "subdistrict_grant",
        "self_funded",
        "crowdfunding",
    }

    roster = c.get(f"{base}/people", headers=admin).json()
    elder = next(t for t in roster["teams"] if t["name"] == "睦邻敬老服务队")
    assert elder["growth"][0]["members"] == 3 and max(g["members"] for g in elder["growth"]) == 22
    assert elder["members_now"] == 21

    events = {e["title"]: e for e in c.get(f"{base}/events", headers=admin).json()["events"]}
    for built in BUILT["events"]:
        came = sum(s["party"] for s in built["signups"] if s["attended"])
        assert events[built["title"]]["attendance"] == came + built["walk_ins"]

    ledger = c.get(f"{base}/points", headers=admin).json()
    assert len(ledger["entries"]) == len(BUILT["points"])
    assert all(b["points"] >= 0 for b in ledger["balances"])
    assert sum(e["points"] < 0 for e in ledger["entries"]) == 2  # two redemptions

    conventions = c.get(f"/api/communities/{CODE}/conventions").json()["conventions"]
    building = next(x for x in conventions if x["title"] == "1号楼楼组文明公约")
    assert [v["number"] for v in building["versions"]] == [2, 1]


def test_joint_meetings_are_steps_when_the_sites_have_them(make_client, session) -> None:
    """Linked to a site's 联席会 step exactly when the site has that step (the bare demo has
    neither S02 nor S01's steps; the demo's history makes them): the register says which, and
    each site's process shows its own."""
    admin = _token(session, "demo_rec_admin3", "community_admin", CODE)
    c = make_client()
    community = session.query(Community).filter_by(code=CODE).one()
    register = c.get(f"/api/records/communities/{CODE}/meetings", headers=admin).json()
    by_title = {m["title"]: m for m in register["meetings"]}
    assert len(by_title) == len(BUILT["meetings"])
    linked: Counter = Counter()
    for built in BUILT["meetings"]:
        got = by_title[built["title"]]
        step = built["step"]
        if step is None:
            assert got["step"] is None
            continue
        site = session.query(Site).filter_by(community_id=community.id, code=step["site"]).first()
        if site is not None and find_stage(session, site_id=site.id, stage=step["stage"]):
            assert (got["step"]["site"], got["step"]["stage"]) == (step["site"], step["stage"])
            linked[step["site"]] += 1
        else:
            assert got["step"] is None
        assert [s["code"] for s in got["sites"]] == ([step["site"]] if site is not None else [])
    for code in ("S01", "S02"):
        process = c.get(f"/api/sites/{CODE}/{code}/process")
        if process.status_code == 404:
            assert linked[code] == 0
            continue
        shown = [r for s in process.json()["steps"] for r in s["meeting_records"]]
        assert len(shown) == linked[code]


def _secrets() -> set[str]:
    """Every phone and every person's name in the file (not the names proposers chose to
    show)."""
    shown = {p["shown_as"] for p in BUILT["proposals"] if p["public"] and p["shown_as"]}
    found = {p["phone"] for p in BUILT["people"]} | {p["name"] for p in BUILT["people"]}
    found |= {p["proposer_phone"] for p in BUILT["proposals"]}
    found |= {p["proposer_name"] for p in BUILT["proposals"]}
    found |= {f[k] for f in BUILT["money"] for k in ("contributor", "contact") if f.get(k)}
    found |= {s.get(k) for e in BUILT["events"] for s in e["signups"] for k in ("name", "phone")}
    return {str(s) for s in found if s} - shown


PUBLIC = (
    "/c/{code}",
    "/c/{code}?lang=en",
    "/c/{code}/proposals",
    "/c/{code}/proposals?lang=en",
    "/c/{code}/events",
    "/c/{code}/conventions",
    "/c/{code}/sites/S01",
    "/c/{code}/sites/S01/disclosure",
    "/api/communities/{code}/proposals",
    "/api/communities/{code}/events",
    "/api/communities/{code}/conventions",
    "/api/communities/{code}/sites",
    "/api/sites/{code}/S01/disclosure",
    "/api/sites/{code}/S01/process",
    "/ogc/collections/proposals/items?f=json&limit=1000",
    "/ogc/collections/events/items?f=json&limit=1000",
)


@pytest.mark.parametrize("template", PUBLIC)
def test_no_person_on_a_public_page_or_api(make_client, template) -> None:
    c = make_client()
    r = c.get(template.format(code=CODE))
    assert r.status_code == 200, r.text
    text = r.text
    if r.headers["content-type"].startswith("application/"):
        text = json.dumps(r.json(), ensure_ascii=False)  # "\u…" escapes would hide a name
    leaked = sorted(s for s in _secrets() if s in text)
    assert leaked == []


def test_public_side_shows_what_was_agreed(make_client) -> None:
    """The privacy check is not vacuous: the public proposals are there, the one whose
    proposer did not agree is not."""
    c = make_client()
    listed = c.get(f"/api/communities/{CODE}/proposals").json()["proposals"]
    titles = {p["title"] for p in listed}
    assert titles == {p["title"] for p in BUILT["proposals"] if p["public"]}
    assert "设立种子驿站" not in titles and len(titles) == 5
    page = c.get(f"/c/{CODE}/proposals").text
    assert "把楼间空地改造成睦邻微花园" in page and "3号楼居民" in page


def test_records_build_twice_identically(tmp_path: Path) -> None:
    runs = []
    for k in (1, 2):
        d = tmp_path / f"build{k}"
        d.mkdir()
        for f in DEMO_DIR.glob("*.geojson"):
            shutil.copy(f, d)
        write_records(d, SEED)
        runs.append((d / RECORDS_FILE).read_bytes())
    assert runs[0] == runs[1] == (DEMO_DIR / RECORDS_FILE).read_bytes()


def test_a_joint_meeting_becomes_the_step_record_once_the_step_exists(
    make_client, session, tmp_path: Path
) -> None:
    """The loader links a 联席会 to a site's step when the step is there and leaves it alone
    when it is not (here: S01's joint meeting made, its final one not reached, and, on the
    bare demo, no S02 at all)."""
    from renewmap.db.models import SiteStage
    from renewmap.services.ingest.demo_records import load_records

    community = session.query(Community).filter_by(code=CODE).one()
    s01 = session.query(Site).filter_by(community_id=community.id, code="S01").one()
    if find_stage(session, site_id=s01.id, stage="joint_meeting") is None:
        session.add(SiteStage(site_id=s01.id, stage="joint_meeting", updated_by="test"))
    final = find_stage(session, site_id=s01.id, stage="final_joint_meeting")
    if final is not None:
        session.delete(final)
    session.flush()
    joint = [  # without the people of the roster (not in this file)
        dict(
            m,
            title=m["title"] + "（测试）",
            attendees=[a for a in m["attendees"] if "person" not in a],
        )
        for m in BUILT["meetings"]
        if m["step"]
    ]
    only = {k: [] for k in BUILT if isinstance(BUILT[k], list)} | {"meetings": joint}
    (tmp_path / RECORDS_FILE).write_text(json.dumps(only, ensure_ascii=False))
    assert load_records(session, tmp_path, community_code=CODE)["meeting"] == 3
    admin = _token(session, "demo_rec_admin4", "community_admin", CODE)
    c = make_client()
    meetings = c.get(f"/api/records/communities/{CODE}/meetings", headers=admin).json()
    steps = {m["title"]: m["step"] for m in meetings["meetings"] if m["title"].endswith("（测试）")}
    s01 = steps.pop("睦邻微花园方案联席会（测试）")
    assert (s01["site"], s01["site_name"], s01["stage"]) == ("S01", "睦邻微花园", "joint_meeting")
    if session.query(Site).filter_by(community_id=community.id, code="S02").first() is None:
        assert steps == {"口袋花园方案联席会（测试）": None, "口袋花园终稿联席会（测试）": None}
    process = c.get(f"/api/sites/{CODE}/S01/process").json()
    joint_step = next(s for s in process["steps"] if s["stage"] == "joint_meeting")
    assert "睦邻微花园方案联席会（测试）" in [r["title"] for r in joint_step["meeting_records"]]


def test_proposals_page_puts_the_public_ones_on_the_map(make_client) -> None:
    """The page's map data: the community's plan and the public proposals with a place
    (number, title, status; nobody named), drawn by its own module under the page's CSP."""
    c = make_client()
    page = c.get(f"/c/{CODE}/proposals")
    assert page.status_code == 200
    assert 'id="rm-map"' in page.text and "/js/proposals.js" in page.text
    config = json.loads(
        page.text.split('<script type="application/json" id="rm-config">')[1].split("</script>")[0]
    )
    assert config["plan"]["community"] == CODE
    public = [p for p in BUILT["proposals"] if p["public"] and p["geometry"]]
    assert [p["title"] for p in config["proposals"]] == [p["title"] for p in public]
    for p in config["proposals"]:
        assert set(p) == {"geometry", "label", "number", "status", "status_label", "title"}
    assert config["proposals"][0]["label"] == "第 1 号提案"
    assert [p["geometry"]["type"] for p in config["proposals"]][:2] == ["Polygon", "Point"]


@pytest.fixture(scope="module")
def with_history(database_url_factory):
    """The demo with its history and records, loaded once per backend on a fixed day."""
    from sqlalchemy.orm import Session as DbSession

    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import upgrade
    from renewmap.services.ingest.demo import load_demo

    eng = make_engine(database_url_factory())
    upgrade(eng)
    with DbSession(eng) as s, s.begin():
        load_demo(s, DEMO_DIR, now=LOADED_ON)
    yield eng
    eng.dispose()


LOADED_ON = datetime(2027, 1, 15, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: AS_OF + 55 days


def test_with_the_history_the_joint_meetings_are_the_steps_records(with_history) -> None:
    """Loaded after the demo's history on 2027-01-15: every day moved by 55 days (so the year
    before is 2026 and 2027 now), S01's joint meeting and S02's two 联席会 are those steps'
    records, and the subdistrict's counts are the file's."""
    from sqlalchemy.orm import Session as DbSession

    from renewmap.services.access.accounts import Principal, resolve_place
    from renewmap.services.design.process import timeline
    from renewmap.services.records import counts

    shift = timedelta(days=55)
    with DbSession(with_history) as s:
        loaded = {m.title: m for m in s.query(Meeting)}
        assert len(loaded) == 14
        for built in BUILT["meetings"]:
            m = loaded[built["title"]]
            assert m.held_on == date.fromisoformat(built["held_on"]) + shift
            step = built["step"]
            site = s.get(Site, m.site_id) if m.site_id is not None else None
            got = (site.code, m.stage) if site is not None else None
            assert got == ((step["site"], step["stage"]) if step else None), built["title"]
        for code, stages in (
            ("S01", ["joint_meeting"]),
            ("S02", ["joint_meeting", "final_joint_meeting"]),
        ):
            steps = timeline(s, community_code=CODE, site_code=code)["steps"]
            shown = [x["stage"] for x in steps for _ in x["meeting_records"]]
            assert shown == stages, code
        grant = resolve_place(s, role="subdistrict_admin", place=SUBDISTRICT)
        me = Principal(user_id=0, username="t", display_name="t", roles=(grant,))
        out = counts.subdistrict_counts(s, principal=me, subdistrict_code=SUBDISTRICT)
        got_years = {row["year"]: row for row in out["years"]}
        expected = _expected_years(shift)
        assert sorted(got_years) == sorted(expected) == [2026, 2027]
        for year, by_key in expected.items():
            for key, value in by_key.items():
                assert got_years[year][key] == value, (year, key)
        assert out["people"] == 36
