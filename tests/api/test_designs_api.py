"""Design drafts through the API on both databases: save, live metrics and violations, copy,
compare, version conflicts, permissions. Geometry as in tests/test_design.py (metres in UTM
32N; the test community's metric CRS is the same zone)."""

from __future__ import annotations

import pytest
from shapely.geometry import Point, box, mapping

from tests.support.design import GARDEN, NEW, fc, w


def test_draw_measure_check_copy_compare(design_api) -> None:
    c, h = design_api
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


def test_bad_features_change_nothing_and_strangers_are_refused(design_api) -> None:
    c, h = design_api
    d = c.post(NEW, headers=h["designer"], json={"name": "方案一"}).json()
    url = f"/api/design/drafts/{d['id']}/features"
    no_kind = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": mapping(w(Point(1, 1))), "properties": {}}],
    }
    r = c.put(url, headers=h["designer"], json={"version": 1, "features": no_kind})
    assert r.status_code == 422 and r.json()["code"] == "feature_kind_unknown"
    assert r.json()["message"].startswith("第 1 个要素：properties.kind 须为")
    r = c.put(url + "?lang=en", headers=h["designer"], json={"version": 1, "features": no_kind})
    assert r.status_code == 422 and r.json()["message"].startswith("feature 1: properties.kind")
    polygon_plant = fc(*GARDEN[:2], ("plant", w(box(1, 1, 2, 2)), {}))
    r = c.put(url, headers=h["designer"], json={"version": 1, "features": polygon_plant})
    assert r.status_code == 422 and r.json()["code"] == "feature_geometry_type"
    assert r.json()["message"] == "第 3 个要素：植物须为 Point，收到的是 Polygon"
    r = c.put(
        url,
        headers={**h["designer"], "Accept-Language": "en"},
        json={"version": 1, "features": polygon_plant},
    )
    assert "feature 3: a plant must be Point" in r.json()["message"]
    assert c.get(f"/api/design/drafts/{d['id']}", headers=h["designer"]).json()["version"] == 1
    assert c.post(NEW, headers=h["lead"], json={"name": "x"}).status_code == 403
    assert c.get(f"/api/design/drafts/{d['id']}", headers=h["lead"]).status_code == 403
    r = c.post(
        "/api/design/communities/T0001/sites/NOPE/drafts", headers=h["designer"], json={"name": "x"}
    )
    assert r.status_code == 404
    assert c.get(f"/api/design/drafts/{d['id']}").status_code == 401


def test_community_standards_change_costs_and_rules(design_api) -> None:
    """A community's own unit prices and thresholds are what its drafts are measured with."""
    c, h = design_api
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
    # the violation names the path as people do, in the reader's language; never its id
    (violation,) = now["violations"]
    assert violation["message"] == "1号步道是无障碍通道，宽 1.5 米；至少需要 1.6 米"
    assert violation["feature_name"] == "1号步道"
    english = c.get(f"/api/design/drafts/{d['id']}?lang=en", headers=h["designer"]).json()
    assert english["violations"][0]["message"] == (
        "path no. 1 is a barrier-free path 1.5 m wide; at least 1.6 m is required"
    )
    bill = {b["code"]: b for b in now["metrics"]["bill"]}
    assert (bill["path:permeable_concrete"]["item"], bill["path:permeable_concrete"]["unit"]) == (
        "步道 · 透水混凝土",
        "㎡",
    )
    assert now["metrics"]["total_cost"] == pytest.approx(12_600 + 15 * 40, abs=1)
    assert c.put(url, headers=h["lead"], json={}).status_code == 403
    assert c.put(url, headers=h["designer"], json={}).json()["overrides"] == {}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"rules": {"barrier_free_width_m": 0.1}}, "rules.barrier_free_width_m"),
        ({"unit_costs": {"path_per_m2": {"wood": -5}}}, "unit_costs.path_per_m2.wood"),
        ({"colours": {}}, "colours"),
    ],
)
def test_bad_standards_name_the_field(design_api, bad, field) -> None:
    c, h = design_api
    r = c.put("/api/design/communities/T0001/standards", headers=h["designer"], json=bad)
    assert r.status_code == 422 and field in r.json()["message"], r.text
