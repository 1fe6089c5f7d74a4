"""Residents' suggestions API on both databases: posting with photos, privacy, nearby,
browsing, supports, comments, the private follow link, abuse limits."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from renewmap.api.schemas.common import ErrorBody, FeatureCollection
from renewmap.api.schemas.places import RouteOut
from tests.support.db import count
from tests.support.places import add_test_community, pt


@pytest.fixture
def client(make_client, session):
    """A resident's client (CSRF token sent) with the test community T0001 in place."""
    add_test_community(session)
    return make_client(csrf=True)


def jpeg_with_gps(size=(640, 480), colour=(200, 30, 30)) -> bytes:
    img = Image.new("RGB", size, colour)
    exif = img.getexif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    exif[0x0112] = 6  # orientation: rotate 90° when displayed
    exif[0x8825] = {1: "N", 2: (31.0, 17.0, 20.0), 3: "E", 4: (121.0, 29.0, 25.0)}
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def post(client, x=0.5, y=0.5, files=None, headers=None, **fields):
    p = pt(x, y)
    data = {"category": "lighting", "title": "路灯不亮", "lon": str(p.x), "lat": str(p.y)}
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}  # None removes a field
    return client.post("/api/suggestions", data=data, files=files or [], headers=headers)


def test_post_routes_and_strips_photo_metadata(client) -> None:
    raw = jpeg_with_gps()
    assert b"SecretPhoneMaker" in raw
    r = post(
        client,
        1.0,
        0.5,
        files=[("photos", ("lamp.jpg", raw, "image/jpeg"))],
        nickname="王阿姨",
        phone="138 0000 0000",
        description="晚上很黑",
    )
    assert r.status_code == 201, r.text
    body = r.json()
    owner = RouteOut.model_validate(body["owner"])
    assert (owner.rule, owner.grid.code, owner.branch.code) == ("boundary", "B", "T-BB")
    assert body["message"] == "将由 B网格 · B支部 处理"
    assert body["receipt_code"].startswith("RM") and len(body["receipt_code"]) == 8
    public = client.get(f"/api/suggestions/{body['id']}").json()["properties"]
    assert public["nickname"] is None  # not opted in
    assert "phone" not in public and "138" not in str(public)
    (photo,) = public["photos"]
    data = client.get(photo["url"]).content
    assert b"SecretPhoneMaker" not in data and b"GPS" not in data
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and not img.getexif()
    assert img.size == (480, 640)  # EXIF orientation applied before stripping
    thumb = Image.open(io.BytesIO(client.get(photo["thumbnail"]).content))
    assert max(thumb.size) == 320


def test_private_follow_link(client) -> None:
    body = post(client, nickname="老李", phone="13900000000").json()
    code, token = body["receipt_code"], body["token"]
    assert body["follow_url"] == f"/r/{code}?t={token}"
    view = client.get(f"/api/receipts/{code}", params={"token": token}).json()
    assert view["status"] == "new" and view["your_phone"] == "13900000000"
    assert [h["kind"] for h in view["history"]] == ["created", "routed"]
    # each step named in the reader's language; who handles it named as people name them
    assert [h["label"] for h in view["history"]] == ["已提交", "已分派"]
    assert view["history"][1]["note"] == "A网格 · A支部"
    english = client.get(f"/api/receipts/{code}", params={"token": token, "lang": "en"}).json()
    assert [h["label"] for h in english["history"]] == ["Submitted", "Assigned"]
    r = client.get(f"/api/receipts/{code}", params={"token": "wrong-token-123"})
    assert r.status_code == 403 and ErrorBody.model_validate(r.json()).error == "forbidden"
    assert client.get("/api/receipts/RMZZZZZZ", params={"token": token}).status_code == 404
    # the private page itself, opened with a wrong token: a 403 page in words, nothing private
    page = client.get(
        f"/r/{code}", params={"t": "wrong-token-123"}, headers={"Accept": "text/html"}
    )
    assert page.status_code == 403 and "这个链接无效" in page.text
    assert "13900000000" not in page.text and "老李" not in page.text
    r = client.post(
        f"/api/receipts/{code}/details",
        data={"text": "灯杆在3号楼旁"},
        files=[("photos", ("more.png", png(), "image/png"))],
        headers={"X-Receipt-Token": token},
    )
    assert r.status_code == 200
    assert r.json()["history"][-1] == {
        **r.json()["history"][-1],
        "kind": "details_added",
        "note": "灯杆在3号楼旁",
    }
    assert len(r.json()["photos"]) == 1


def png(size=(50, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 128)).save(out, format="PNG")
    return out.getvalue()


def test_nickname_shown_only_when_opted_in(client) -> None:
    body = post(client, nickname="小张", show_nickname="true").json()
    assert client.get(f"/api/suggestions/{body['id']}").json()["properties"]["nickname"] == "小张"


@pytest.mark.parametrize(
    ("fields", "files", "status", "code", "message", "chinese"),
    [
        ({"category": None}, None, 422, "invalid_request", "category", "必填"),
        (
            {"category": "unicorns"},
            None,
            422,
            "category_unknown",
            "unknown category 'unicorns'",
            "未知类别“unicorns”",
        ),
        (
            {"description": "长" * 2001},
            None,
            422,
            "description_too_long",
            "description is longer than 2000",
            "描述超过 2000 个字",
        ),
        ({"phone": "call me"}, None, 422, "phone_invalid_format", "phone must be", "电话须为"),
        (
            {},
            [("photos", (f"p{i}.png", png(), "image/png")) for i in range(4)],
            422,
            "too_many_photos",
            "at most 3 photos",
            "最多 3 张照片",
        ),
        (
            {},
            [("photos", ("notes.txt", b"hello, not an image", "image/png"))],
            422,
            "photo_unreadable",
            "photo 'notes.txt' is not a readable JPEG, PNG or WebP image",
            "照片“notes.txt”不是可读的",
        ),
        (
            {},
            [("photos", ("anim.gif", b"GIF89a" + b"\0" * 20, "image/gif"))],
            422,
            "photo_unreadable",
            "photo 'anim.gif'",
            "照片“anim.gif”",
        ),
        (
            {},
            [("photos", ("huge.jpg", b"\xff" * (8 * 1024 * 1024 + 10), "image/jpeg"))],
            413,
            "photo_too_large",
            "photo 'huge.jpg' is 8.0 MB; the limit is 8 MB",
            "照片“huge.jpg”有 8.0 MB；上限是 8 MB",
        ),
        (
            {"lon": "31.289", "lat": "121.49"},
            None,
            422,
            "coordinates_swapped",
            "look like (latitude, longitude)",
            "坐标看起来是（纬度，经度）",
        ),
        (
            {"geometry": '{"type": "Point"}', "lon": None},
            None,
            422,
            "geojson_incomplete",
            "needs 'type' and 'coordinates'",
            "需要“type”和“coordinates”",
        ),
    ],
)
def test_bad_posts_are_refused_and_write_nothing(
    client, session, fields, files, status, code, message, chinese
) -> None:
    before = count(session, "request"), count(session, "request_photo")
    r = post(client, files=files, **fields)
    assert r.status_code == status, r.text
    body = ErrorBody.model_validate(r.json())
    assert body.code == code and chinese in body.message  # Chinese by default
    r = post(client, files=files, headers={"Accept-Language": "en"}, **fields)
    assert r.status_code == status and message in ErrorBody.model_validate(r.json()).message
    assert (count(session, "request"), count(session, "request_photo")) == before


def test_outside_every_community_is_422(client) -> None:
    r = post(client, 9.0, 0.5)  # ≈ 430 m east of community T
    assert r.status_code == 422 and r.json()["error"] == "not_routable"


def test_a_drawn_line_is_accepted(client) -> None:
    line = pt(0.2, 0.2).union(pt(0.9, 0.2)).convex_hull  # a short line across grid A
    import json

    r = client.post(
        "/api/suggestions",
        data={
            "category": "paths",
            "title": "步道破损",
            "geometry": json.dumps({"type": "LineString", "coordinates": list(line.coords)}),
        },
    )
    assert r.status_code == 201 and r.json()["owner"]["rule"] == "overlap"


def test_csrf_is_required_for_writes(make_client, session) -> None:
    add_test_community(session)
    with make_client() as c:
        r = post(c)
        assert r.status_code == 403 and "CSRF" in r.json()["message"]
        c.get("/api/session")
        c.headers["X-CSRF-Token"] = "not-the-cookie"
        assert post(c).status_code == 403


def test_nearby_same_category_within_50_m(client) -> None:
    a = post(client, 0.50, 0.50).json()["id"]  # lighting
    b = post(client, 0.55, 0.50).json()["id"]  # ≈ 3.6 m east, lighting
    post(client, 0.52, 0.50, category="pets")  # other category
    post(client, 1.50, 0.20)  # ≈ 80 m away
    p = pt(0.5, 0.5)
    fc = client.get(
        "/api/suggestions/nearby", params={"lon": p.x, "lat": p.y, "category": "lighting"}
    ).json()
    FeatureCollection.model_validate(fc)
    assert [f["id"] for f in fc["features"]] == [a, b]
    assert fc["features"][1]["properties"]["distance_m"] == pytest.approx(3.6, abs=0.2)


def test_browse_filters_paging_and_hidden(client, session) -> None:
    from renewmap.db.models import Request

    ids = [post(client, 0.1 + i * 0.2, 0.5).json()["id"] for i in range(4)]  # grid A, lighting
    pets = post(client, 1.5, 0.2, category="pets").json()["id"]  # grid B
    fc = client.get("/api/communities/T0001/suggestions", params={"limit": 2}).json()
    assert (fc["numberMatched"], fc["numberReturned"]) == (5, 2)
    page2 = client.get("/api/communities/T0001/suggestions", params={"limit": 2, "offset": 2})
    seen = [f["id"] for f in fc["features"]] + [f["id"] for f in page2.json()["features"]]
    assert len(set(seen)) == 4
    by_grid = client.get("/api/communities/T0001/suggestions", params={"grid": "B"}).json()
    assert [f["id"] for f in by_grid["features"]] == [pets]
    by_cat = client.get("/api/communities/T0001/suggestions", params={"category": "lighting"})
    assert by_cat.json()["numberMatched"] == 4
    west = pt(0, 0).bounds[:2] + pt(0.45, 1).bounds[:2]
    by_box = client.get(
        "/api/communities/T0001/suggestions", params={"bbox": ",".join(map(str, west))}
    ).json()
    assert sorted(f["id"] for f in by_box["features"]) == sorted(ids[:2])
    session.get(Request, ids[0]).hidden = True
    session.flush()
    assert client.get("/api/communities/T0001/suggestions").json()["numberMatched"] == 4
    assert client.get(f"/api/suggestions/{ids[0]}").status_code == 404
    assert (
        client.get("/api/communities/T0001/suggestions", params={"bbox": "1,2,3"}).status_code
        == 422
    )


def test_map_layer_points_when_few_cells_when_many(client, session) -> None:
    """The map gets every suggestion as a point while few; counts per cell beyond that."""
    import math

    from renewmap.api.schemas.suggestions import SuggestionMapLayer
    from renewmap.db.models import Request
    from renewmap.services.requests.suggestions import cell_degrees, map_layer

    lamps = [post(client, x, 0.5).json()["id"] for x in (0.1, 0.3, 0.5, 0.7)]
    pets = post(client, 1.5, 0.2, category="pets").json()["id"]
    hidden = post(client, 0.9, 0.9).json()["id"]
    session.get(Request, hidden).hidden = True
    session.flush()

    r = client.get("/api/communities/T0001/suggestions/map", params={"zoom": 15})
    layer = SuggestionMapLayer.model_validate(r.json())
    assert (layer.mode, layer.numberMatched, layer.cells) == ("points", 5, [])
    got = {p.id: (round(p.lon, 7), round(p.lat, 7), p.category) for p in layer.points}
    assert got == {
        **{
            i: (round(pt(x, 0.5).x, 7), 50.0005, "lighting")
            for i, x in zip(lamps, (0.1, 0.3, 0.5, 0.7), strict=True)
        },
        pets: (10.0015, 50.0002, "pets"),
    }
    lighting = client.get(
        "/api/communities/T0001/suggestions/map", params={"zoom": 15, "category": "lighting"}
    ).json()
    assert sorted(p["id"] for p in lighting["points"]) == sorted(lamps)

    # A zoom whose 64-pixel cell is exactly one unit (0.001°): the lamps share the cell
    # [10.000, 10.001) × [50.000, 50.001); the pets suggestion is alone in the next one east.
    zoom = math.log2(90 / 0.001)
    assert cell_degrees(zoom) == pytest.approx(0.001)
    many = map_layer(session, community_code="T0001", zoom=zoom, max_points=3)
    layer = SuggestionMapLayer.model_validate(many)
    assert (layer.mode, layer.numberMatched, layer.points) == ("cells", 5, [])
    lamp_cell, pets_cell = sorted(layer.cells, key=lambda c: c.lon)
    assert (lamp_cell.count, lamp_cell.id) == (4, None)
    assert lamp_cell.lon == pytest.approx(10.0004) and lamp_cell.lat == pytest.approx(50.0005)
    assert lamp_cell.bbox == pytest.approx((10.0001, 50.0005, 10.0007, 50.0005))
    assert (pets_cell.count, pets_cell.id) == (1, pets)
    # the same filters as the list: the bbox keeps only the two westmost lamps
    west = ",".join(map(str, pt(0, 0).bounds[:2] + pt(0.45, 1).bounds[:2]))
    boxed = client.get(
        "/api/communities/T0001/suggestions/map", params={"zoom": 15, "bbox": west}
    ).json()
    assert sorted(p["id"] for p in boxed["points"]) == sorted(lamps[:2])
    assert client.get("/api/communities/T0001/suggestions/map").status_code == 422  # no zoom
    r = client.get("/api/communities/T0001/suggestions/map", params={"zoom": 15, "grid": "Z"})
    assert r.status_code == 404 and ErrorBody.model_validate(r.json()).details["field"] == "grid"


@pytest.mark.parametrize(("top", "expected"), [(50.0005, 1), (50.000499, 0), (50.0004999, 0)])
def test_bbox_is_exact_not_the_index_rounded_box(client, top: float, expected: int) -> None:
    """Spatial indexes keep float32 boxes rounded outwards; a box's answer must be exact."""
    post(client, 0.5, 0.5)  # lon 10.0005, lat 50.0005
    url = "/api/communities/T0001/suggestions"
    bbox = f"10.0,50.0,10.001,{top}"
    assert client.get(url, params={"bbox": bbox}).json()["numberMatched"] == expected, top
    layer = client.get(url + "/map", params={"bbox": bbox, "zoom": 18}).json()
    assert layer["numberMatched"] == expected, top


@pytest.mark.parametrize(("value", "floor"), [(-1.5, -2), (-2.0, -2), (1.5, 1), (0.0, 0)])
def test_floor_int_on_both_databases(session, value: float, floor: int) -> None:
    from sqlalchemy import Float, literal, select

    from renewmap.db.dialect import floor_int

    assert session.scalar(select(floor_int(session, literal(value, Float)))) == floor


def test_one_support_per_device(client, make_client, session) -> None:
    rid = post(client).json()["id"]
    assert client.post(f"/api/suggestions/{rid}/supports").json() == {"supports": 1}
    r = client.post(f"/api/suggestions/{rid}/supports")
    assert r.status_code == 409
    with make_client() as other:
        other.headers["X-CSRF-Token"] = other.get("/api/session").json()["csrf_token"]
        assert other.post(f"/api/suggestions/{rid}/supports").json() == {"supports": 2}
    assert client.get(f"/api/suggestions/{rid}").json()["properties"]["supports"] == 2


def test_comments(client) -> None:
    rid = post(client).json()["id"]
    r = client.post(
        f"/api/suggestions/{rid}/comments", json={"body": "<b>同意</b>", "nickname": "邻居"}
    )
    assert r.status_code == 201
    assert client.get(f"/api/suggestions/{rid}/comments").json()[0]["body"] == "<b>同意</b>"
    assert client.get(f"/api/suggestions/{rid}").json()["properties"]["comments"] == 1
    assert client.post(f"/api/suggestions/{rid}/comments", json={"body": ""}).status_code == 422


def test_posting_is_rate_limited_per_address(make_client, session) -> None:
    add_test_community(session)
    with make_client(rate_posts=2) as c:
        c.headers["X-CSRF-Token"] = c.get("/api/session").json()["csrf_token"]
        assert post(c).status_code == 201 and post(c).status_code == 201
        r = post(c)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        assert r.json()["error"] == "rate_limited"


def test_resident_reopens_a_resolved_request_through_the_private_link(client, session) -> None:
    from datetime import UTC, datetime

    from renewmap.db.models import Request

    body = post(client).json()
    code, token = body["receipt_code"], body["token"]
    url = f"/api/receipts/{code}/reopen"
    r = client.post(url, data={"token": token, "note": "还是不亮"})
    assert r.status_code == 409 and r.json()["details"]["current"]["status"] == "new"
    request = session.get(Request, body["id"])
    request.status, request.resolved_at = "resolved", datetime.now(UTC)
    session.flush()
    assert client.post(url, data={"token": "wrong-token-123", "note": "x"}).status_code == 403
    r = client.post(url, data={"token": token, "note": "还是不亮"})
    assert r.status_code == 200 and r.json()["status"] == "reopened"
    assert r.json()["history"][-1] == {
        "kind": "reopen",
        "label": "居民反映问题未解决，重新打开",
        "at": r.json()["history"][-1]["at"],
        "note": "还是不亮",
        "by": None,  # the resident: no staff role
    }
    page = client.get(f"/r/{code}", params={"t": token})
    assert "还是不亮" in page.text and '<form id="rm-reopen"' not in page.text  # no button now


def test_nearby_is_the_nearest_few_measured_in_metres(session) -> None:
    """Fourteen suggestions in a row, some beyond 50 m: the nearest ``limit`` in order, with
    distances matching pyproj's geodesic ones (an independent measure), none beyond 50 m."""
    from pyproj import Geod

    from renewmap.services.requests.intake import create_request
    from renewmap.services.requests.suggestions import nearby
    from renewmap.spatial.geometry import from_db

    add_test_community(session)
    here = pt(0.5, 0.5)
    made = []
    for k in (5, 0, 9, 2, 13, 7, 1, 11, 3, 8, 4, 12, 6, 10):  # not in distance order
        r, _ = create_request(
            session, geom=pt(0.5 + k * 0.1, 0.5), category="lighting", title=f"灯{k}"
        )
        made.append(r)
    session.flush()
    geod = Geod(ellps="WGS84")
    truth = sorted((geod.inv(here.x, here.y, *from_db(r.geom).coords[0])[2], r.id) for r in made)
    within = [(d, rid) for d, rid in truth if d <= 50]
    assert 3 < len(within) < len(made)  # some are beyond 50 m
    got = nearby(session, lon=here.x, lat=here.y, category="lighting", limit=len(made))
    assert [f["id"] for f in got] == [rid for _, rid in within]
    for f, (d, _) in zip(got, within, strict=True):
        assert f["properties"]["distance_m"] == pytest.approx(d, abs=0.2)
    three = nearby(session, lon=here.x, lat=here.y, category="lighting", limit=3)
    assert [f["id"] for f in three] == [rid for _, rid in within[:3]]
