"""The setup page's organisation steps through the API (issue 15), on both databases: the branch
chain (a general branch, grid branches, each grid attached to one) with the validator saying what
is missing; stairwells (单元) in the buildings' table, saved with the rules of ``building set``."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import mapping
from sqlalchemy import select

from renewmap.api.deps import STAFF_COOKIE
from renewmap.db.models import (
    Building,
    BuildingGroupPlace,
    Community,
    Grid,
    PartyBranch,
    Stairwell,
)
from renewmap.services.access import accounts

MIYUN = "310110009013"  # 密云路居委会, 四平路街道 (on the official list)
BALIN = "310109010026"
PASSWORD = "a long enough password"
# the outline and three grids side by side (west to east), far from the demo's compound
OUTLINE = shapely.box(121.600, 31.300, 121.603, 31.302)
GRIDS = [shapely.box(121.600 + k * 0.001, 31.300, 121.601 + k * 0.001, 31.302) for k in range(3)]


def _headers(session, name, role):
    user = accounts.create_user(session, username=name, password=PASSWORD, roles=[role])
    token, _ = accounts.issue_token(session, user=user, kind="api")
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


@pytest.fixture
def api(make_client, session):
    """A community in setup (密云路) with three published grids G01–G03; its subdistrict's admin,
    the demo community's admin (not its admin) and a grid lead of the demo."""
    client = make_client()
    h = {
        "sub": _headers(session, "sub", ("subdistrict_admin", "310110009")),
        "other": _headers(session, "other", ("community_admin", BALIN)),
    }
    r = client.post(
        "/api/staff/communities",
        json={"code": MIYUN, "outline": mapping(OUTLINE)},
        headers=h["sub"],
    )
    assert r.status_code == 201, r.text
    features = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": mapping(g),
                "properties": {"code": f"G0{k}", "name": f"第{'一二三'[k - 1]}网格"},
            }
            for k, g in enumerate(GRIDS, start=1)
        ],
    }
    base = f"/api/staff/communities/{MIYUN}"
    r = client.post(f"{base}/grid-drafts", json=features, headers=h["sub"])
    assert r.status_code == 201 and r.json()["report"]["ok"], r.text
    r = client.post(f"{base}/grid-drafts/{r.json()['id']}/publish", headers=h["sub"])
    assert r.status_code == 200, r.text
    return client, h


def test_the_branch_chain_is_defined_and_the_grids_attached(api, session) -> None:
    client, h = api
    url = f"/api/staff/communities/{MIYUN}/branch-chain"
    # nothing yet: the validator names every missing piece
    r = client.get(url, headers=h["sub"])
    assert r.status_code == 200, r.text
    chain = r.json()
    assert chain["general"] is None and chain["branches"] == []
    assert [(p["kind"], p["grid"]) for p in chain["problems"]] == [
        ("no_general", None),
        ("grid_without_branch", "G01"),
        ("grid_without_branch", "G02"),
        ("grid_without_branch", "G03"),
    ]
    assert chain["problems"][1]["message"] == "grid 第一网格 has no party branch"
    assert (
        client.get(f"/api/staff/communities/{MIYUN}/setup", headers=h["sub"]).json()[
            "branch_problems"
        ]
        == 4
    )

    # a general branch, two grid branches; G03 left out, the second branch gets nothing
    body = {
        "general": {"name": "密云路居民区党总支"},
        "branches": [
            {"name": "第一网格党支部", "grids": ["G01", "G03"]},
            {"name": "第二网格党支部", "grids": []},
        ],
    }
    r = client.put(url, json=body, headers=h["sub"])
    assert r.status_code == 200, r.text
    chain = r.json()
    assert chain["general"] == {"code": f"{MIYUN}-GB", "name": "密云路居民区党总支"}
    assert chain["branches"] == [
        {"code": f"{MIYUN}-B1", "name": "第一网格党支部", "grids": ["G01", "G03"]},
        {"code": f"{MIYUN}-B2", "name": "第二网格党支部", "grids": []},
    ]
    assert [(p["kind"], p["grid"], p["branch"]) for p in chain["problems"]] == [
        ("grid_without_branch", "G02", None),
        ("empty_branch", None, f"{MIYUN}-B2"),
    ]
    assert chain["problems"][1]["message"] == "party branch 第二网格党支部 has no grid"
    # in the database: the chain and the grids' owners
    community = session.scalars(select(Community).where(Community.code == MIYUN)).one()
    rows = session.scalars(
        select(PartyBranch).where(PartyBranch.community_id == community.id)
    ).all()
    by_code = {b.code: b for b in rows}
    assert {(b.code, b.level) for b in rows} == {
        (f"{MIYUN}-GB", "general"),
        (f"{MIYUN}-B1", "grid"),
        (f"{MIYUN}-B2", "grid"),
    }
    assert by_code[f"{MIYUN}-B1"].parent_id == by_code[f"{MIYUN}-GB"].id
    grids = {
        g.code: g.branch_id
        for g in session.scalars(select(Grid).where(Grid.community_id == community.id))
    }
    assert grids == {
        "G01": by_code[f"{MIYUN}-B1"].id,
        "G02": None,
        "G03": by_code[f"{MIYUN}-B1"].id,
    }

    # revisited: renamed, G03 moved to the second branch, G02 attached, a third one removed
    body = {
        "general": {"name": "密云路居民区党总支（新）"},
        "branches": [
            {"code": f"{MIYUN}-B1", "name": "一支部", "grids": ["G01", "G02"]},
            {"code": f"{MIYUN}-B2", "name": "二支部", "grids": ["G03"]},
        ],
    }
    r = client.put(url, json=body, headers=h["sub"])
    assert r.status_code == 200, r.text
    chain = r.json()
    assert chain["problems"] == []
    assert chain["general"]["name"] == "密云路居民区党总支（新）"
    assert [(b["name"], b["grids"]) for b in chain["branches"]] == [
        ("一支部", ["G01", "G02"]),
        ("二支部", ["G03"]),
    ]
    assert [g["branch"] for g in chain["grids"]] == [f"{MIYUN}-B1", f"{MIYUN}-B1", f"{MIYUN}-B2"]
    # the second branch dropped: its grid has none again, the validator says so
    body["branches"] = body["branches"][:1]
    r = client.put(url, json=body, headers=h["sub"])
    assert r.status_code == 200, r.text
    assert [(p["kind"], p["grid"]) for p in r.json()["problems"]] == [
        ("grid_without_branch", "G03")
    ]
    assert find_branch_code(session, f"{MIYUN}-B2") is None
    # a branch holding a secretary cannot be removed: said so, nothing written
    secretary = accounts.create_user(
        session, username="sec", password=PASSWORD, roles=[("branch_secretary", f"{MIYUN}-B1")]
    )
    assert secretary.id
    r = client.put(url, json={"general": body["general"], "branches": []}, headers=h["sub"])
    assert r.status_code == 409 and r.json()["code"] == "branch_in_use"
    assert r.json()["message"] == (
        "party branch 一支部 cannot be removed: it still has 1 staff role(s)"
    )
    assert find_branch_code(session, f"{MIYUN}-B1") is not None


def find_branch_code(session, code):
    return session.scalars(select(PartyBranch).where(PartyBranch.code == code)).first()


@pytest.mark.parametrize(
    ("branches", "status", "key"),
    [
        ([{"name": "甲", "grids": ["G09"]}], 422, "branch_grid_unknown"),
        (
            [{"name": "甲", "grids": ["G01"]}, {"name": "乙", "grids": ["G01"]}],
            422,
            "branch_grid_twice",
        ),
        (
            [{"code": "X1", "name": "甲"}, {"code": "X1", "name": "乙"}],
            422,
            "branch_code_duplicate",
        ),
        ([{"code": "bad code", "name": "甲"}], 422, "branch_code_invalid"),
        ([{"code": f"{BALIN}-B1", "name": "甲"}], 409, "branch_code_taken"),
        ([{"name": "  "}], 422, None),
    ],
)
def test_a_bad_chain_is_refused_whole(api, session, branches, status, key) -> None:
    client, h = api
    url = f"/api/staff/communities/{MIYUN}/branch-chain"
    r = client.put(url, json={"general": {"name": "总支"}, "branches": branches}, headers=h["sub"])
    assert r.status_code == status, r.text
    if key:
        assert r.json()["code"] == key
    # nothing half-written: no general branch, no branch, no grid attached
    assert client.get(url, headers=h["sub"]).json()["general"] is None
    community = session.scalars(select(Community).where(Community.code == MIYUN)).one()
    assert not session.scalars(
        select(PartyBranch).where(PartyBranch.community_id == community.id)
    ).all()


def test_only_its_admins_see_or_change_the_chain(api) -> None:
    client, h = api
    url = f"/api/staff/communities/{MIYUN}/branch-chain"
    assert client.get(url, headers=h["other"]).status_code == 403
    body = {"general": {"name": "总支"}, "branches": []}
    assert client.put(url, json=body, headers=h["other"]).status_code == 403
    assert client.get(url).status_code == 401
    r = client.get("/api/staff/communities/nope/branch-chain", headers=h["sub"])
    assert r.status_code == 404


def test_the_demo_chain_reads_as_imported(make_client, session) -> None:
    client = make_client()
    admin = _headers(session, "admin", ("community_admin", BALIN))
    chain = client.get(f"/api/staff/communities/{BALIN}/branch-chain", headers=admin).json()
    assert chain["general"] == {"code": f"{BALIN}-GB", "name": "巴林居民区党总支"}
    assert [b["code"] for b in chain["branches"]] == [f"{BALIN}-B{k}" for k in range(1, 5)]
    assert chain["problems"] == []
    # a branch with building groups under it cannot be removed
    body = {
        "general": chain["general"],
        "branches": [
            {"code": b["code"], "name": b["name"], "grids": b["grids"]}
            for b in chain["branches"][1:]
        ],
    }
    r = client.put(f"/api/staff/communities/{BALIN}/branch-chain", json=body, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "branch_in_use"
    assert "building party group(s) under it" in r.json()["message"]


# --- stairwells in the buildings' table ----------------------------------------------------------


def test_stairwells_are_saved_by_count_or_by_number(make_client, session) -> None:
    client = make_client()
    admin = _headers(session, "admin", ("community_admin", BALIN))
    base = f"/api/staff/communities/{BALIN}/buildings"
    rows = {b["label"]: b for b in client.get(base, headers=admin).json()}
    assert rows["1号楼"]["stairwells"] == [
        {"number": "1单元", "households": 9},
        {"number": "2单元", "households": 9},
    ]
    # a count: 1单元…3单元, the two it had kept with their households
    r = client.patch(f"{base}/1号楼", json={"stairwells": 3, "households": 27}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["households"] == 27
    assert r.json()["stairwells"] == [
        {"number": "1单元", "households": 9},
        {"number": "2单元", "households": 9},
        {"number": "3单元", "households": None},
    ]
    # by number: bare numbers become 单元; the ones left out go
    r = client.patch(f"{base}/1号楼", json={"stairwells": ["2", "东单元"]}, headers=admin)
    assert r.status_code == 200, r.text
    assert [w["number"] for w in r.json()["stairwells"]] == ["2单元", "东单元"]
    building = session.scalars(select(Building).where(Building.number == "1号楼")).one()
    assert sorted(
        w.number
        for w in session.scalars(select(Stairwell).where(Stairwell.building_id == building.id))
    ) == ["2单元", "东单元"]
    # refused, nothing written: a stairwell twice, too many, one a building group serves alone
    r = client.patch(f"{base}/1号楼", json={"stairwells": ["2", "2单元"]}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "stairwell_twice"
    r = client.patch(f"{base}/1号楼", json={"stairwells": 51}, headers=admin)
    assert r.status_code == 422
    group = session.scalars(select(PartyBranch).where(PartyBranch.code == f"{BALIN}-LZ01")).one()
    well = session.scalars(
        select(Stairwell).where(Stairwell.building_id == building.id, Stairwell.number == "东单元")
    ).one()
    session.add(
        BuildingGroupPlace(branch_id=group.id, building_id=building.id, stairwell_id=well.id)
    )
    session.flush()
    r = client.patch(
        f"{base}/1号楼", json={"stairwells": ["2单元"], "number": "101"}, headers=admin
    )
    assert r.status_code == 409 and r.json()["code"] == "stairwell_in_use"
    assert r.json()["message"] == "1号楼 东单元 cannot be removed: a building party group serves it"
    session.expire_all()
    assert session.get(Building, building.id).number == "1号楼"  # the number was not changed


# --- the residents' page previewed by its admins before publishing ------------------------------


def _signed_in(session, make_client, client, name, role=None):
    """Another browser of the same app, signed in (a session cookie) as a new user, or not."""
    browser = make_client(app=client.app)
    if role is not None:
        user = accounts.create_user(session, username=name, password=PASSWORD, roles=[role])
        token, _ = accounts.issue_token(session, user=user, kind="session")
        browser.cookies.set(STAFF_COOKIE, token)
    return browser


def test_the_preview_is_for_its_admins_only(api, session, make_client) -> None:
    client, h = api
    url = f"/staff/setup/preview/{MIYUN}"
    admin = _signed_in(session, make_client, client, "sub2", ("subdistrict_admin", "310110009"))
    r = admin.get(url, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200, r.text
    page = r.text
    assert '<p id="rm-preview" class="rm-preview" role="status"><strong>预览</strong>' in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert r.headers["x-robots-tag"] == "noindex, nofollow"
    assert r.headers["cache-control"] == "no-store"
    assert 'id="rm-submit" class="rm-primary" disabled>' in page
    assert "密云路居委会" in page and "第一网格" in page  # its name and its grids
    # residents, and everyone else, find nothing: signed out, another community's admin, a
    # grid lead of it, an unknown code
    assert client.get(f"/c/{MIYUN}").status_code == 404
    assert client.get(url).status_code == 404
    other = _signed_in(session, make_client, client, "other2", ("community_admin", BALIN))
    assert other.get(url).status_code == 404
    lead = _signed_in(session, make_client, client, "lead", ("grid_lead", f"{MIYUN}/G01"))
    assert lead.get(url).status_code == 404
    assert admin.get("/staff/setup/preview/999999").status_code == 404
    # nothing can be posted: a pin in it is not routed to it while it is in setup
    centre = GRIDS[0].representative_point()
    r = client.post(
        "/api/suggestions/preview",
        json={
            "community": MIYUN,
            "geometry": {"type": "Point", "coordinates": [centre.x, centre.y]},
        },
    )
    assert r.status_code in (404, 422)
    # published, it is the residents' own page; the preview stays its admins'
    r = client.put(
        f"/api/staff/communities/{MIYUN}/branch-chain",
        json={"general": {"name": "总支"}, "branches": [{"name": "一支部", "grids": ["G01"]}]},
        headers=h["sub"],
    )
    assert r.status_code == 200
    assert (
        client.post(f"/api/staff/communities/{MIYUN}/publish", headers=h["sub"]).status_code == 200
    )
    assert client.get(f"/c/{MIYUN}").status_code == 200
    assert client.get(url).status_code == 404
    assert admin.get(url).status_code == 200
