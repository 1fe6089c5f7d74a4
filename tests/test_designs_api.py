"""Design drafts through the API on both databases: save, live metrics and violations, copy,
compare, version conflicts, permissions. Geometry as in tests/test_design.py (metres in UTM
32N; the test community's metric CRS is the same zone)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Point, box, mapping

from renewmap.api.app import create_app
from renewmap.api.deps import get_read_session, get_session
from renewmap.db.models import Building, Community, Site
from renewmap.services.access import accounts
from renewmap.settings import Settings
from renewmap.spatial.geometry import as_multi, to_db
from tests.fixtures import add_test_community
from tests.test_design import w


def fc(*features: tuple[str, object, dict]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": mapping(g), "properties": {"kind": kind, **props}}
            for kind, g, props in features
        ],
    }


GARDEN = [
    ("green", w(box(1, 1, 6, 5)), {"layer": "shrub", "species": "gardenia_jasminoides"}),
    ("green", w(box(8, 1, 18, 3)), {"layer": "lawn", "species": "lolium_perenne"}),
    ("path", w(LineString([(0, 7), (10, 7)])), {"width_m": 1.5, "surface": "permeable_concrete"}),
    ("plant", w(Point(2, 8.5)), {"species": "osmanthus_fragrans"}),
    ("plant", w(Point(12, 8.5)), {"species": "prunus_serrulata"}),
    ("plant", w(Point(3, 3)), {"species": "rhododendron_simsii"}),
    ("facility", w(Point(15, 6)), {"type": "bench"}),
]


@pytest.fixture
def api(engine, session):  # type: ignore[no-untyped-def]
    add_test_community(session)
    community = session.query(Community).filter_by(code="T0001").one()
    session.add(
        Site(
            community_id=community.id,
            code="S1",
            name="睦邻花园",
            geom=to_db(as_multi(w(box(0, 0, 20, 10)))),
        )
    )
    session.add(
        Building(
            community_id=community.id, number="7号楼", geom=to_db(as_multi(w(box(20, 0, 30, 10))))
        )
    )
    session.flush()
    headers = {}
    for name, role in (("designer", "designer=T0001"), ("lead", "grid_lead=T0001/A")):
        user = accounts.create_user(
            session,
            username=name,
            password="correct horse battery",
            roles=[tuple(role.split("=", 1))],
        )
        token, _ = accounts.issue_token(session, user=user, kind="api")
        headers[name] = {"Authorization": f"Bearer {token}"}
    app = create_app(Settings(env="test", secret_key="test-secret"), engine=engine)
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_read_session] = lambda: session
    with TestClient(app) as c:
        yield c, headers


NEW = "/api/design/communities/T0001/sites/S1/drafts"


def test_draw_measure_check_copy_compare(api) -> None:
    c, h = api
    d1 = c.post(NEW, headers=h["designer"], json={"name": "方案一"}).json()
    assert (d1["number"], d1["version"], d1["metrics"]["site_area_m2"]) == (
        1,
        1,
        pytest.approx(200, abs=0.01),
    )
    saved = c.put(
        f"/api/design/drafts/{d1['id']}/features",
        headers=h["designer"],
        json={"version": 1, "features": fc(*GARDEN)},
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["version"] == 2 and body["violations"] == []
    assert body["metrics"]["green_area_m2"] == pytest.approx(40, abs=0.01)
    assert body["metrics"]["total_cost"] == pytest.approx(12_600, abs=1)
    assert body["metrics"]["all_seasons"] is True
    stale = c.put(
        f"/api/design/drafts/{d1['id']}/features",
        headers=h["designer"],
        json={"version": 1, "features": fc(*GARDEN)},
    )
    assert stale.status_code == 409 and stale.json()["details"]["current"]["version"] == 2
    # a tree 2 m from 7号楼's wall: the violation names both
    close = ("plant", w(Point(18, 8)), {"species": "ginkgo_biloba"})
    r = c.put(
        f"/api/design/drafts/{d1['id']}/features",
        headers=h["designer"],
        json={"version": 2, "features": fc(*GARDEN, close)},
    ).json()
    (v,) = r["violations"]
    assert (v["rule"], v["building"]) == ("tree_wall_distance", "7号楼")
    # 方案二 starts as a copy, then loses the lawn
    d2 = c.post(NEW, headers=h["designer"], json={"name": "方案二", "copy_from": d1["id"]}).json()
    assert d2["number"] == 2 and len(d2["features"]["features"]) == len(GARDEN) + 1
    without_lawn = [f for f in GARDEN if f[2].get("layer") != "lawn"]
    c.put(
        f"/api/design/drafts/{d2['id']}/features",
        headers=h["designer"],
        json={"version": 1, "features": fc(*without_lawn, close)},
    )
    cmp = c.get(
        "/api/design/compare", headers=h["designer"], params={"a": d1["id"], "b": d2["id"]}
    ).json()
    assert cmp["difference"]["green_area_m2"] == pytest.approx(-20, abs=0.01)
    assert cmp["difference"]["total_cost"] == pytest.approx(-20 * 30, abs=1)


def test_bad_features_change_nothing_and_strangers_are_refused(api) -> None:
    c, h = api
    d = c.post(NEW, headers=h["designer"], json={"name": "方案一"}).json()
    url = f"/api/design/drafts/{d['id']}/features"
    no_kind = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": mapping(w(Point(1, 1))), "properties": {}}],
    }
    r = c.put(url, headers=h["designer"], json={"version": 1, "features": no_kind})
    assert r.status_code == 422 and r.json()["message"].startswith("feature 1: properties.kind")
    polygon_plant = fc(*GARDEN[:2], ("plant", w(box(1, 1, 2, 2)), {}))
    r = c.put(url, headers=h["designer"], json={"version": 1, "features": polygon_plant})
    assert r.status_code == 422 and "feature 3: a plant must be Point" in r.json()["message"]
    assert c.get(f"/api/design/drafts/{d['id']}", headers=h["designer"]).json()["version"] == 1
    assert c.post(NEW, headers=h["lead"], json={"name": "x"}).status_code == 403
    assert c.get(f"/api/design/drafts/{d['id']}", headers=h["lead"]).status_code == 403
    r = c.post(
        "/api/design/communities/T0001/sites/NOPE/drafts", headers=h["designer"], json={"name": "x"}
    )
    assert r.status_code == 404
    assert c.get(f"/api/design/drafts/{d['id']}").status_code == 401


def test_community_standards_change_costs_and_rules(api) -> None:
    """A community's own unit prices and thresholds are what its drafts are measured with."""
    c, h = api
    d = c.post(NEW, headers=h["designer"], json={"name": "方案一"}).json()
    saved = c.put(
        f"/api/design/drafts/{d['id']}/features",
        headers=h["designer"],
        json={"version": 1, "features": fc(*GARDEN)},
    ).json()
    assert saved["violations"] == [] and saved["metrics"]["total_cost"] == pytest.approx(
        12_600, abs=1
    )
    url = "/api/design/communities/T0001/standards"
    assert c.get(url, headers=h["designer"]).json()["rules"]["barrier_free_width_m"] == 1.2
    # the garden's 1.5 m path becomes barrier-free: fine at 1.2 m, too narrow at 1.6 m;
    # permeable concrete at 300 instead of 260 yuan/m² on its 15 m²: +600
    r = c.put(
        url,
        headers=h["designer"],
        json={
            "unit_costs": {"path_per_m2": {"permeable_concrete": 300}},
            "rules": {"barrier_free_width_m": 1.6},
        },
    )
    assert r.status_code == 200, r.text
    garden = [(k, g, {**p, "purpose": "barrier_free"} if k == "path" else p) for k, g, p in GARDEN]
    now = c.put(
        f"/api/design/drafts/{d['id']}/features",
        headers=h["designer"],
        json={"version": 2, "features": fc(*garden)},
    ).json()
    assert [v["rule"] for v in now["violations"]] == ["barrier_free_width"]
    assert now["metrics"]["total_cost"] == pytest.approx(12_600 + 15 * 40, abs=1)
    for bad, field in (
        ({"rules": {"barrier_free_width_m": 0.1}}, "rules.barrier_free_width_m"),
        ({"unit_costs": {"path_per_m2": {"wood": -5}}}, "unit_costs.path_per_m2.wood"),
        ({"colours": {}}, "colours"),
    ):
        r = c.put(url, headers=h["designer"], json=bad)
        assert r.status_code == 422 and field in r.json()["message"], r.text
    assert c.put(url, headers=h["lead"], json={}).status_code == 403
    assert c.put(url, headers=h["designer"], json={}).json()["overrides"] == {}
