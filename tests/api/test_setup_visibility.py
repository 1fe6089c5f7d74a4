"""A community still being set up is invisible to residents and outside clients on every
public entry point (issue 15: "nothing half-done is visible to residents"), on both databases.

The demo community 巴林 (with its buildings, grids, sites, plants and requests) is taken as it
is, once published and once put back into setup: the same requests answer 200 (or list it) in
the first case and 404 (or leave it out) in the second."""

from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy import select

from renewmap import blobs
from renewmap.db.models import (
    Building,
    Community,
    Plant,
    PlantCare,
    Request,
    RequestPhoto,
    Site,
    SitePhoto,
    SiteStage,
    StageAttachment,
)
from renewmap.services.design.process import STAGES
from renewmap.spatial.geometry import from_db

BALIN = "310109010026"
OPEN311 = "/open311/v2"


@pytest.fixture(params=["published", "setup"])
def world(request, make_client, session):
    community = session.scalars(select(Community).where(Community.code == BALIN)).one()
    community.state = request.param
    session.flush()
    cid = community.id
    suggestion = session.scalars(
        select(Request)
        .where(Request.community_id == cid, Request.hidden.is_(False))
        .order_by(Request.id)
    ).first()
    # a photo of it (bytes stored as they would be; the route only serves them back)
    photo = RequestPhoto(
        request_id=suggestion.id,
        content_type="image/jpeg",
        width=1,
        height=1,
        data_key=blobs.put(session, b"\xff\xd8photo", "image/jpeg"),
        data_size=7,
        thumbnail_key=blobs.put(session, b"\xff\xd8thumb", "image/jpeg"),
        thumbnail_size=7,
    )
    session.add(photo)
    session.flush()
    plant = session.scalars(
        select(Plant).where(Plant.community_id == cid).order_by(Plant.id)
    ).first()
    site = session.scalars(select(Site).where(Site.community_id == cid).order_by(Site.id)).first()
    building = session.scalars(
        select(Building).where(Building.community_id == cid).order_by(Building.id)
    ).first()
    assert suggestion and photo and plant and site and building  # the demo holds each kind
    # a site photo, a step's file and a care photo of a plant (served by id)
    site_photo = SitePhoto(
        site_id=site.id,
        phase="before",
        taken_on=date(2026, 5, 1),
        content_type="image/jpeg",
        width=1,
        height=1,
        data_key=blobs.put(session, b"\xff\xd8site", "image/jpeg"),
        data_size=6,
        thumbnail_key=blobs.put(session, b"\xff\xd8site-thumb", "image/jpeg"),
        thumbnail_size=12,
    )
    stage = session.scalars(select(SiteStage).where(SiteStage.site_id == site.id)).first()
    if stage is None:
        stage = SiteStage(site_id=site.id, stage=STAGES[0], updated_by="test")
        session.add(stage)
        session.flush()
    attachment = StageAttachment(
        stage_id=stage.id,
        filename="minutes.pdf",
        content_type="application/pdf",
        data_key=blobs.put(session, b"%PDF-", "application/pdf"),
        size=5,
    )
    care = PlantCare(
        plant_id=plant.id,
        kind="watering",
        by="小李",
        photo_key=blobs.put(session, b"\xff\xd8care", "image/jpeg"),
        photo_size=6,
        photo_thumbnail_key=blobs.put(session, b"t", "image/jpeg"),
        photo_thumbnail_size=1,
    )
    session.add_all([site_photo, attachment, care])
    session.flush()
    ids = {
        "code": BALIN,
        "site": site.code,
        "request": suggestion.id,
        "photo": photo.id,
        "plant": plant.id,
        "building": building.id,
        "site_photo": site_photo.id,
        "attachment": attachment.id,
        "care": care.id,
        "centre": from_db(building.geom).representative_point(),
    }
    client = make_client()
    client.headers["Accept-Language"] = "en"
    return client, request.param, ids


# Every public GET that names the community (or one of its things) by code or id.
PUBLIC_GETS = [
    "/api/communities/{code}",
    "/api/communities/{code}/layers/building",
    "/api/communities/{code}/layers/grid",
    "/api/communities/{code}/places?q=1",
    "/api/communities/{code}/suggestions",
    "/api/communities/{code}/suggestions/map?zoom=16",
    "/api/communities/{code}/sites",
    "/api/sites/{code}/{site}/process",
    "/api/sites/{code}/{site}/consultation",
    "/api/sites/{code}/{site}/decision",
    "/api/sites/{code}/{site}/objections",
    "/api/sites/{code}/{site}/photos",
    "/api/suggestions/{request}",
    "/api/suggestions/{request}/comments",
    "/api/photos/{photo}",
    "/api/photos/{photo}/thumbnail",
    "/api/plants/{plant}",
    "/api/plant-care/{care}/photo",
    "/api/plant-care/{care}/thumbnail",
    "/api/site-photos/{site_photo}",
    "/api/site-photos/{site_photo}/thumbnail",
    "/api/attachments/{attachment}",
    "/p/{plant}",
    "/c/{code}",
    "/c/{code}/sites",
    "/c/{code}/sites/{site}",
    "/c/{code}/sites/{site}/disclosure",
    "/c/{code}/proposals",
    "/c/{code}/conventions",
    "/c/{code}/events",
    "/api/communities/{code}/proposals",
    "/api/communities/{code}/conventions",
    "/api/communities/{code}/events",
    "/api/sites/{code}/{site}/disclosure",
    "/ogc/collections/buildings/items/{building}",
    OPEN311 + "/services.json?jurisdiction_id={code}",
    OPEN311 + "/requests.json?jurisdiction_id={code}",
    OPEN311 + "/requests/{request}.json",
]


@pytest.mark.parametrize("template", PUBLIC_GETS)
def test_public_routes_answer_only_for_a_published_community(world, template) -> None:
    client, state, ids = world
    r = client.get(template.format(**ids))
    if state == "published":
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 404, r.text
        if r.headers["content-type"].startswith("application/json"):
            body = r.json()
            body = body[0] if isinstance(body, list) else body
            assert "code" in body  # a stable error code (Open311's is the status)


def test_lists_maps_and_posts_leave_a_community_in_setup_out(world) -> None:
    client, state, ids = world
    published = state == "published"
    listed = [c["code"] for c in client.get("/api/communities").json()]
    assert (BALIN in listed) is published
    # OGC API – Features: the communities, and the buildings of the demo's bounding box
    r = client.get("/ogc/collections/communities/items", params={"limit": 1000})
    codes = [f["properties"]["code"] for f in r.json()["features"]]
    assert (BALIN in codes) is published
    centre = ids["centre"]
    box = f"{centre.x - 1e-4},{centre.y - 1e-4},{centre.x + 1e-4},{centre.y + 1e-4}"
    r = client.get("/ogc/collections/buildings/items", params={"bbox": box})
    assert r.status_code == 200
    assert (ids["building"] in [f["id"] for f in r.json()["features"]]) is published
    # a vector tile of the community's buildings
    z = 17
    x = int((centre.x + 180.0) / 360.0 * 2**z)
    y = int((1.0 - math.asinh(math.tan(math.radians(centre.y))) / math.pi) / 2.0 * 2**z)
    r = client.get(
        f"/ogc/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}",
        params={"community": BALIN},
    )
    assert r.status_code in (200, 204)
    assert bool(r.content) is published
    # suggestions near a building of it, and Open311's list of every jurisdiction
    r = client.get(
        "/api/suggestions/nearby", params={"lon": centre.x, "lat": centre.y, "radius": 500}
    )
    assert r.status_code == 200 and bool(r.json()["features"]) is published
    r = client.get(f"{OPEN311}/requests.json")
    assert r.status_code == 200
    assert (ids["request"] in [int(s["service_request_id"]) for s in r.json()]) is published
    # before posting: who would handle a pin on the community's page
    pin = {"type": "Point", "coordinates": [centre.x, centre.y]}
    r = client.post("/api/suggestions/preview", json={"community": BALIN, "geometry": pin})
    assert r.status_code == (200 if published else 404), r.text
    # where a pin is routed
    r = client.post("/api/route", json=pin)
    if published:
        assert r.json()["community"]["code"] == BALIN
    else:
        assert r.status_code == 422 or (r.json()["community"] or {}).get("code") != BALIN


def test_staff_pages_send_a_visitor_to_sign_in(world) -> None:
    client, _, _ = world
    for url in (
        f"/staff/overview?community={BALIN}",
        f"/staff/report?community={BALIN}&grid=G07",
    ):
        r = client.get(url, follow_redirects=False)
        assert r.status_code in (302, 303) and "/staff/login" in r.headers["location"]
