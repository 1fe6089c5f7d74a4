"""Plant adoption and growth ID cards on both databases: one adopter, care by the adopter only,
the phone never public, a stable card page and its QR code."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from renewmap.db.models import Community, Plant
from renewmap.spatial.geometry import to_db
from tests.support.places import add_test_community, pt

RESIDENT = {"csrf": True, "public_base_url": "http://renewmap.local"}


@pytest.fixture
def plant_id(session) -> int:
    add_test_community(session)
    community = session.query(Community).filter_by(code="T0001").one()
    plant = Plant(
        community_id=community.id,
        code="P1",
        name="门口的桂花",
        species="桂花",
        layer="tree",
        adoptable=True,
        geom=to_db(pt(0.5, 0.5)),
    )
    session.add(plant)
    session.flush()
    return plant.id


def test_adopt_care_and_card(make_client, session, plant_id) -> None:
    first, second = make_client(**RESIDENT), make_client(**RESIDENT)
    r = first.post(
        f"/api/plants/{plant_id}/adoption", json={"nickname": "王阿姨", "phone": "13800000000"}
    )
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["adopter"] == "王阿姨" and card["adoptable"] is False
    assert card["species"] == {
        "name_zh": "桂花",
        "latin": "Osmanthus fragrans",
        "seasons": ["autumn"],
    }
    assert "13800000000" not in r.text
    taken = second.post(f"/api/plants/{plant_id}/adoption", json={"nickname": "小李"})
    assert taken.status_code == 409
    # only the adopter's device writes the care log
    assert second.post(f"/api/plants/{plant_id}/care", json={"kind": "watering"}).status_code == 403
    ok = first.post(f"/api/plants/{plant_id}/care", json={"kind": "watering", "note": "浇透"})
    assert ok.status_code == 201 and ok.json()["care"][0]["by"] == "王阿姨"
    bad = first.post(f"/api/plants/{plant_id}/care", json={"kind": "singing"})
    assert bad.status_code == 422
    page = first.get(f"/p/{plant_id}")
    assert page.status_code == 200 and "门口的桂花" in page.text and "浇透" in page.text
    assert "13800000000" not in page.text and "Osmanthus fragrans" in page.text
    png = first.get(f"/p/{plant_id}/qr.png")
    assert png.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(png.content))
    assert img.size[0] == img.size[1] and img.size[0] > 100  # a square code, printable
    svg = first.get(f"/p/{plant_id}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert first.get(f"/p/{plant_id}/qr.gif").status_code == 404
    assert first.get("/p/999999/qr.png").status_code == 404
    # without the CSRF header nothing is written
    first.headers.pop("X-CSRF-Token")
    assert first.post(f"/api/plants/{plant_id}/care", json={"kind": "note"}).status_code == 403


def test_not_adoptable_and_bad_nickname(make_client, session, plant_id) -> None:
    c = make_client(**RESIDENT)
    assert c.post(f"/api/plants/{plant_id}/adoption", json={"nickname": "  "}).status_code == 422
    session.get(Plant, plant_id).adoptable = False
    session.flush()
    r = c.post(f"/api/plants/{plant_id}/adoption", json={"nickname": "小李"})
    assert r.status_code == 409 and r.json()["code"] == "plant_not_adoptable"
    assert r.json()["message"] == "植物「门口的桂花」不开放认养"  # named, never by its id
