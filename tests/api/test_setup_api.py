"""The setup API (issue 15) on both databases, over the demo community 巴林 (曲阳路街道): the
official committees, overlap warnings, creating a community in one's own subdistrict, renaming,
the buildings' table (numbers, households, removal)."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import mapping, shape

from renewmap.services.access import accounts
from tests.support.paths import DEMO_DIR

BALIN = "310109010026"
OTHER = "310109010027"  # 曲阳路街道 too, on the official list


def demo_outline() -> dict:
    data = json.loads((DEMO_DIR / "compound.geojson").read_text(encoding="utf-8"))
    return data["features"][0]["geometry"]


@pytest.fixture
def api(make_client, session):
    headers = {}
    for name, role in (
        ("sub", ("subdistrict_admin", "310109010")),
        ("admin", ("community_admin", BALIN)),
        ("lead", ("grid_lead", f"{BALIN}/G07")),
    ):
        user = accounts.create_user(
            session, username=name, password="correct horse battery", roles=[role]
        )
        token, _ = accounts.issue_token(session, user=user, kind="api")
        headers[name] = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    return make_client(), headers


def test_committees_are_searched_by_setup_admins_only(api) -> None:
    client, h = api
    r = client.get("/api/staff/setup/committees", params={"q": "巴林"}, headers=h["sub"])
    assert r.status_code == 200
    assert r.json() == [
        {
            "code": BALIN,
            "name": "巴林居委会",
            "subdistrict_code": "310109010",
            "subdistrict_name": "曲阳路街道",
        }
    ]
    r = client.get("/api/staff/setup/committees", params={"q": "3101090100"}, headers=h["admin"])
    assert r.status_code == 200 and all(c["code"].startswith("3101090100") for c in r.json())
    assert len(r.json()) == 20  # the limit's default
    r = client.get("/api/staff/setup/committees", params={"q": "巴林"}, headers=h["lead"])
    assert r.status_code == 403 and r.json()["code"] == "not_a_setup_admin"
    assert client.get("/api/staff/setup/committees", params={"q": "巴林"}).status_code == 401


def test_an_outline_on_another_community_is_warned_about(api) -> None:
    client, h = api
    r = client.post("/api/staff/setup/overlaps", json={"outline": demo_outline()}, headers=h["sub"])
    assert r.status_code == 200
    (o,) = r.json()["overlaps"]
    assert o["code"] == BALIN and o["name"] == "巴林居委会"
    assert o["share"] == pytest.approx(1.0, abs=1e-3)  # the compound lies inside the community
    assert o["area_m2"] == pytest.approx(71271, rel=0.01)  # the compound's own area
    assert o["message"].startswith("the outline overlaps community 巴林居委会 (310109010026) by")
    r = client.post(
        "/api/staff/setup/overlaps",
        json={"outline": demo_outline()},
        headers={**h["sub"], "Accept-Language": "zh-CN"},
    )
    assert r.json()["overlaps"][0]["message"].startswith("范围与巴林居委会（310109010026）重叠")
    # redrawing the community itself is no overlap with itself
    r = client.post(
        "/api/staff/setup/overlaps",
        json={"outline": demo_outline(), "community": BALIN},
        headers=h["sub"],
    )
    assert r.json() == {"overlaps": []}
    # a point is not an outline; a bow-tie is invalid
    r = client.post(
        "/api/staff/setup/overlaps",
        json={"outline": {"type": "Point", "coordinates": [121.49, 31.29]}},
        headers=h["sub"],
    )
    assert r.status_code == 422 and r.json()["code"] == "outline_not_polygon"


def test_a_subdistrict_admin_creates_a_community_in_their_subdistrict(api, session) -> None:
    client, h = api
    away = mapping(shapely.box(121.50, 31.30, 121.502, 31.302))
    body = {"code": OTHER, "outline": away}
    r = client.post("/api/staff/communities", json=body, headers=h["admin"])
    assert r.status_code == 403 and r.json()["code"] == "not_a_subdistrict_admin"
    r = client.post("/api/staff/communities", json=body, headers=h["sub"])
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["name"] == admin_name(OTHER) and made["subdistrict_code"] == "310109010"
    assert made["overlaps"] == []
    # in setup: its admins see it, residents do not (yet)
    r = client.get(f"/api/staff/communities/{OTHER}/setup", headers=h["sub"])
    assert r.status_code == 200 and r.json()["state"] == "setup"
    assert r.json()["name"] == made["name"] and r.json()["buildings"] == 0
    assert client.get(f"/api/communities/{OTHER}").status_code == 404
    assert OTHER not in [c["code"] for c in client.get("/api/communities").json()]
    r = client.get("/api/staff/setup/communities", headers=h["sub"])
    assert {(c["code"], c["state"]) for c in r.json()} == {(BALIN, "published"), (OTHER, "setup")}
    r = client.post("/api/staff/communities", json=body, headers=h["sub"])
    assert r.status_code == 409 and r.json()["code"] == "community_exists"
    # another subdistrict's committee
    r = client.post(
        "/api/staff/communities", json={"code": "310110009013", "outline": away}, headers=h["sub"]
    )
    assert r.status_code == 403
    # a made-up code: only on purpose, with a name, in a subdistrict of theirs
    made_up = {"code": "QY-TEST", "outline": demo_outline(), "subdistrict_code": "310109010"}
    r = client.post("/api/staff/communities", json=made_up, headers=h["sub"])
    assert r.status_code == 422 and r.json()["code"] == "community_code_unofficial"
    r = client.post(
        "/api/staff/communities",
        json={**made_up, "unofficial": True, "name": "试点小区"},
        headers=h["sub"],
    )
    assert r.status_code == 201
    assert [o["code"] for o in r.json()["overlaps"]] == [BALIN]  # created, and warned
    # renamed by the subdistrict's admin (an admin of it)
    r = client.put(
        "/api/staff/communities/QY-TEST/name", json={"name": "试点居民区"}, headers=h["sub"]
    )
    assert r.status_code == 204
    r = client.get("/api/staff/communities/QY-TEST/setup", headers=h["sub"])
    assert r.json()["name"] == "试点居民区"
    r = client.put("/api/staff/communities/QY-TEST/name", json={"name": "x"}, headers=h["admin"])
    assert r.status_code == 403  # 巴林's admin is not this community's
    # its outline redrawn away from 巴林: no overlap any more
    r = client.put(
        "/api/staff/communities/QY-TEST/outline",
        json={"outline": mapping(shapely.box(121.51, 31.30, 121.512, 31.302))},
        headers=h["sub"],
    )
    assert r.status_code == 200 and r.json() == {"overlaps": []}


def admin_name(code: str) -> str:
    from renewmap.services.places import admin_codes

    name = admin_codes.committee_name(code)
    assert name is not None
    return name


def test_the_buildings_table(api) -> None:
    client, h = api
    url = f"/api/staff/communities/{BALIN}/buildings"
    r = client.get(url, headers=h["admin"])
    assert r.status_code == 200
    rows = r.json()
    assert len(rows) == 21 and sum(1 for b in rows if b["grid"]) == 21
    first = rows[0]
    assert first["label"] == first["number"] == "1号楼" and first["households"] == 18
    assert shape({"type": "Point", "coordinates": first["point"]}).within(
        shapely.box(121.48, 31.28, 121.50, 31.30)
    )
    assert client.get(url, headers=h["lead"]).status_code == 403

    r = client.patch(f"{url}/1号楼", json={"number": "101", "households": 40}, headers=h["admin"])
    assert r.status_code == 200
    assert r.json()["number"] == "101号楼" and r.json()["households"] == 40
    r = client.patch(f"{url}/101号楼", json={"number": "2号楼"}, headers=h["admin"])
    assert r.status_code == 409 and r.json()["code"] == "building_number_taken"
    r = client.patch(f"{url}/101", json={"households": -1}, headers=h["admin"])
    assert r.status_code == 422
    r = client.patch(f"{url}/99号楼", json={"households": 1}, headers=h["admin"])
    assert r.status_code == 404 and r.json()["code"] == "building_not_found"
    r = client.delete(f"{url}/101号楼", headers=h["admin"])
    assert r.status_code == 204
    assert len(client.get(url, headers=h["admin"]).json()) == 20
    assert client.delete(f"{url}/2号楼", headers=h["lead"]).status_code == 403


def test_the_boundaries_page_has_the_buildings_table_in_the_readers_language(api) -> None:
    client, _ = api
    signed = client.post(
        "/api/staff/session", json={"username": "admin", "password": "correct horse battery"}
    )
    assert signed.status_code == 200, signed.text
    r = client.get(f"/staff/boundaries?community={BALIN}", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200, r.text
    html = r.text
    assert 'id="rm-buildings"' in html
    assert "按居民的叫法填写每栋楼的楼号（7 或 7号楼）和户数" in html
    assert "script-src 'self' 'nonce-" in r.headers["content-security-policy"]
    config = json.loads(html.split('id="rm-config">', 1)[1].split("</script>", 1)[0])
    assert config["t"]["Households"] == "户数" and config["t"]["Saved"]
    assert config["t"]["Building number"]
