"""Hostile input on both databases, with known answers: bodies bounded on the bytes received,
JSON checked before parsing, decompression bombs refused from their headers, rights checked
before a body is read, text and numbers validated the same way everywhere. Every refusal is a
4xx with its error code, and nothing is written."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from shapely.geometry import LineString, Point, box, mapping

from renewmap.db.guards import integrity_problem
from renewmap.db.models import Community, Plant, Site, StaffUser
from renewmap.errors import Conflict, InvalidInput
from renewmap.services.access import accounts
from renewmap.services.ingest.files import check_sqlite_input
from renewmap.services.requests import photos
from renewmap.spatial.geometry import as_multi, to_db
from tests.support.bombs import big_jpeg, jpeg_bomb, png_bomb, webp_bomb
from tests.support.db import count
from tests.support.design import GARDEN, fc, w
from tests.support.paths import ROOT
from tests.support.places import add_test_community, pt

MB = 1024 * 1024
TABLES = ("request", "request_photo", "request_comment", "design_feature", "grid_draft")


def counts(session: Any) -> dict[str, int]:
    return {t: count(session, t) for t in TABLES}


@pytest.fixture
def world(make_client, session) -> dict[str, Any]:
    """Community T with site S1 (a draft), a designer, a grid lead and an admin (bearer
    tokens), a resident's client with CSRF, and one suggestion with its private token."""
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
    session.flush()
    auth = {}
    for name, role in (
        ("designer", ("designer", "T0001")),
        ("lead", ("grid_lead", "T0001/A")),
        ("admin", ("community_admin", "T0001")),
    ):
        user = accounts.create_user(
            session, username=name, password="correct horse battery", roles=[role]
        )
        token, _ = accounts.issue_token(session, user=user, kind="api")
        auth[name] = {"Authorization": f"Bearer {token}"}
    c = make_client(csrf=True)
    c.headers["Accept-Language"] = "en"  # messages in English (Chinese by default)
    p = pt(0.5, 0.5)
    made = c.post(
        "/api/suggestions",
        data={"category": "lighting", "title": "路灯不亮", "lon": p.x, "lat": p.y},
    ).json()
    draft = c.post(
        "/api/design/communities/T0001/sites/S1/drafts",
        headers=auth["designer"],
        json={"name": "方案一"},
    ).json()
    return {
        "client": c,
        "app": c.app,
        "auth": auth,
        "suggestion": made,
        "draft": draft,
        "session": session,
    }


def drive(
    app: Any, method: str, path: str, chunks: Iterator[bytes], headers: dict[str, str]
) -> tuple[int, dict[str, Any], int]:
    """Send a streamed (chunked) body straight to the ASGI app: (status, JSON answer, bytes
    the app pulled from the client). No client library buffers the body on the way."""
    pulled = 0
    status = 0
    answer = b""

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answer
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            answer += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    anyio.run(app, scope, receive, send)
    return status, json.loads(answer or b"{}"), pulled


def endless(prefix: bytes, chunk: bytes, total: int) -> Iterator[bytes]:
    yield prefix
    for _ in range(total // len(chunk)):
        yield chunk


# --- bodies ----------------------------------------------------------------------------------


def test_a_chunked_body_is_cut_at_its_class_limit(world) -> None:
    """200 MB of chunked JSON to the anonymous router, 100 MB to the sign-in: the app stops
    pulling just past 1 MB (the JSON limit) and answers 413 naming it."""
    app = world["app"]
    chunk = b"[" * 64 * 1024
    for path in ("/api/route", "/api/staff/session"):
        status, body, pulled = drive(
            app,
            "POST",
            path,
            endless(b'{"type": "Point", "coordinates": ', b" " * 64 * 1024, 200 * MB),
            {"content-type": "application/json", "transfer-encoding": "chunked"},
        )
        assert status == 413 and body["error"] == "payload_too_large", path
        assert body["details"] == {
            "limit": MB,
            "body_class": "json",
            "size": "1 MB",
            "what": "表单和 JSON",  # no Accept-Language: the default, Chinese
        }
        assert body["code"] == "body_too_large" and "1 MB" in body["message"]
        assert MB < pulled <= MB + 2 * len(chunk)


def test_a_declared_length_over_the_limit_is_refused_unread(world) -> None:
    status, body, pulled = drive(
        world["app"],
        "POST",
        "/api/route",
        endless(b"", b" " * 1024, 10 * MB),
        {"content-type": "application/json", "content-length": str(200 * MB)},
    )
    assert (status, body["error"], pulled) == (413, "payload_too_large", 0)


def test_photo_posts_have_their_own_limit(world, session) -> None:
    """A multipart body to the private link: 26 MB (3 photos of 8 MB and the form) passes
    the JSON limit but stops there; without the right token nothing is read at all."""
    app, made = world["app"], world["suggestion"]
    before = counts(session)
    boundary = "rmboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    url = f"/api/receipts/{made['receipt_code']}/details"
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    status, body, pulled = drive(
        app, "POST", url, endless(head, b"\xff" * 64 * 1024, 60 * MB), headers
    )
    assert status == 403 and body["error"] == "forbidden" and pulled == 0  # no token
    status, body, pulled = drive(
        app,
        "POST",
        url,
        endless(head, b"\xff" * 64 * 1024, 60 * MB),
        {**headers, "x-receipt-token": "wrong-token-123"},
    )
    assert status == 403 and pulled == 0  # a wrong one
    status, body, pulled = drive(
        app,
        "POST",
        url,
        endless(head, b"\xff" * 64 * 1024, 60 * MB),
        {**headers, "x-receipt-token": made["token"]},
    )
    assert status == 413 and body["details"] == {
        "limit": 26 * MB,
        "body_class": "photos",
        "size": "26 MB",
        "what": "照片",
    }
    assert 26 * MB < pulled <= 26 * MB + 128 * 1024
    assert counts(session) == before


# --- JSON and numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": 1e400}', "body.a: numbers must be finite, got 1e400"),
        ('{"a": [' + "9" * 320 + ".5]}", "body.a[0]: numbers must be finite, got 999"),
        ('{"a": "x\\u0000"}', "body.a: text must not contain a NUL character"),
        ('{"a\\u0000": 1}', "body (a key): text must not contain a NUL character"),
        ("[" * 33 + "]" * 33, "body: JSON nested 33 levels deep; at most 32 are accepted"),
        ('{"a": "' + "x" * 65_537 + '"}', "body.a: a text of 65537 characters; at most 65536"),
        ('{"a": "\\\\u0000"}', None),  # an escaped backslash, then the letters u0000
        ('{"a": "' + "[" * 40 + '"}', None),  # brackets inside a string do not nest
        ('{"a": 1e308, "b": -1e-320, "c": ' + "9" * 400 + "}", None),  # finite, exact
        ('{"a": "Infinity", "NaN": "NaN"}', None),  # words in strings are text
        ('{"a": ' + "1" * 5000 + "}", "body: a number is too long"),
    ],
)
def test_json_is_checked_before_parsing(text: str, problem: str | None) -> None:
    from renewmap.validation import check_json

    if problem is None:
        check_json(text.encode())
        return
    with pytest.raises(InvalidInput) as refused:
        check_json(text.encode())
    assert str(refused.value).startswith(problem), str(refused.value)


def raw_json(
    client: TestClient, method: str, url: str, text: str, headers: dict[str, str] | None = None
) -> Any:
    """JSON as written (``NaN``, ``Infinity``, 5,000 brackets), not as a library would."""
    return client.request(
        method,
        url,
        content=text.encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


@pytest.mark.parametrize(
    ("literal", "shown"), [("Infinity", "Infinity"), ("-Infinity", "-Infinity"), ("NaN", "NaN")]
)
def test_non_finite_json_literals_are_refused(world, literal, shown) -> None:
    c, h, d = world["client"], world["auth"]["designer"], world["draft"]
    path = json.dumps(fc(("path", w(LineString([(0, 7), (10, 7)])), {"width_m": 1.5})))
    text = '{"features": ' + path.replace('"width_m": 1.5', f'"width_m": {literal}') + "}"
    r = raw_json(c, "POST", f"/api/design/drafts/{d['id']}/evaluate", text, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_input"
    assert r.json()["message"] == (
        f"body.features.features[0].properties.width_m: numbers must be finite, got {shown}"
    )


def test_numbers_beyond_a_float_and_out_of_range_are_refused(world) -> None:
    c, h, d = world["client"], world["auth"]["designer"], world["draft"]
    url = f"/api/design/drafts/{d['id']}/evaluate"
    line = w(LineString([(0, 7), (10, 7)]))
    text = json.dumps({"features": fc(("path", line, {"width_m": 1.5}))})
    r = raw_json(c, "POST", url, text.replace('"width_m": 1.5', '"width_m": 1e999'), headers=h)
    assert r.status_code == 422 and "numbers must be finite, got 1e999" in r.json()["message"]
    r = c.post(url, headers=h, json={"features": fc(("path", line, {"width_m": 1.5}))})
    assert r.status_code == 200 and r.json()["metrics"]["hard_area_m2"] == pytest.approx(15)


@pytest.mark.parametrize("width", [1e308, -1, "NaN", "wide"])
def test_widths_that_are_no_width_are_refused(world, width: object) -> None:
    c, h, d = world["client"], world["auth"]["designer"], world["draft"]
    url = f"/api/design/drafts/{d['id']}/evaluate"
    line = w(LineString([(0, 7), (10, 7)]))
    r = c.post(url, headers=h, json={"features": fc(("path", line, {"width_m": width}))})
    assert r.status_code == 422, (width, r.text)
    assert r.json()["details"]["field"] == "feature 1.width_m"


def test_deep_nesting_is_refused_before_parsing(world, session) -> None:
    """5,000 levels used to raise RecursionError (a 500) in the GeoJSON import."""
    c, h, d = world["client"], world["auth"], world["draft"]
    before = counts(session)
    deep = "[" * 5000 + "]" * 5000
    r = raw_json(c, "POST", "/api/route", '{"type": "Point", "coordinates": ' + deep + "}")
    assert r.status_code == 422
    assert r.json()["message"] == "body: JSON nested 5001 levels deep; at most 32 are accepted"
    doc = '{"type": "FeatureCollection", "features": [{"properties": %s}]}' % (
        '{"a":' * 5000 + "1" + "}" * 5000
    )
    r = c.post(
        f"/api/design/drafts/{d['id']}/import",
        headers=h["designer"],
        data={"version": d["version"]},
        files={"file": ("deep.geojson", doc.encode(), "application/geo+json")},
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"
    assert "nested 5003 levels deep; at most 32" in r.json()["message"]
    geometry = json.dumps({"type": "Point", "coordinates": json.loads("[" * 40 + "]" * 40)})
    p = pt(0.5, 0.5)
    r = c.post(
        "/api/suggestions",
        data={"category": "lighting", "title": "深", "geometry": geometry, "lon": p.x},
    )
    assert r.status_code == 422 and "at most 32 are accepted" in r.json()["message"]
    assert counts(session) == before


@pytest.mark.parametrize("bbox", ["nan,nan,nan,nan", "-inf,0,inf,1", "0,0,1e999,1"])
def test_a_bounding_box_of_non_finite_numbers_is_a_422(world, bbox) -> None:
    c = world["client"]
    r = c.get("/api/communities/T0001/suggestions", params={"bbox": bbox})
    assert r.status_code == 422 and r.json()["message"] == "bbox: numbers must be finite"


def test_a_grid_draft_with_a_nan_coordinate_is_a_422(world, session) -> None:
    """It used to fail in GEOS (a 500)."""
    c, h = world["client"], world["auth"]["admin"]
    before = counts(session)
    url = "/api/staff/communities/T0001/grid-drafts"
    grid = {
        "type": "Feature",
        "properties": {"code": "A", "name": "A网格"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[10.0, 50.0], [10.001, 50.0], [10.001, 50.001], [10.0, 50.0]]],
        },
    }
    text = json.dumps({"type": "FeatureCollection", "features": [grid]}, ensure_ascii=False)
    r = raw_json(c, "POST", url, text.replace("10.001, 50.001", "NaN, 50.001"), headers=h)
    assert r.status_code == 422 and "numbers must be finite, got NaN" in r.json()["message"]
    r = raw_json(c, "POST", url, text.replace("10.001, 50.001", '"NaN", 50.001'), headers=h)
    assert r.status_code == 422 and "position must be 2 or 3 numbers" in r.json()["message"]
    r = raw_json(c, "POST", url, text.replace("10.001, 50.001", "1e308, 50.001"), headers=h)
    assert r.status_code == 422 and "outside WGS84 range" in r.json()["message"]
    long_name = text.replace("A网格", "长" * 101)
    r = raw_json(c, "POST", url, long_name, headers=h)
    assert r.status_code == 422
    assert r.json()["message"] == "feature 1.name: at most 100 characters, got 101"
    assert counts(session) == before


def test_nul_is_refused_alike_on_both_databases(world, session) -> None:
    """SpatiaLite would store a NUL, PostgreSQL refuses it: both answer the same 422."""
    c, made = world["client"], world["suggestion"]
    before = counts(session)
    r = c.post(f"/api/suggestions/{made['id']}/comments", json={"body": "a\u0000b"})
    assert r.status_code == 422
    assert r.json()["message"] == "body.body: text must not contain a NUL character (\\0)"
    p = pt(0.5, 0.5)
    r = c.post(
        "/api/suggestions",
        data={"category": "lighting", "title": "灯\x00坏了", "lon": p.x, "lat": p.y},
    )
    assert r.status_code == 422 and "NUL" in r.json()["message"]
    assert counts(session) == before


def test_nul_reaching_the_database_is_refused_by_the_flush_guard(session) -> None:
    """The last line: whatever path a NUL takes, no database stores it."""
    add_test_community(session)
    community = session.query(Community).filter_by(code="T0001").one()
    community.name = "测试\x00社区"
    with pytest.raises(InvalidInput) as caught:
        session.flush()
    assert caught.value.details == {"field": "name", "table": "community"}
    session.rollback()


@pytest.mark.parametrize("title", [" ", "\u3000\u3000", "\u200b", "\t\n", "\u3164"])
def test_blank_titles_are_refused(world, session, title) -> None:
    c = world["client"]
    before = counts(session)
    p = pt(0.5, 0.5)
    r = c.post(
        "/api/suggestions", data={"category": "lighting", "title": title, "lon": p.x, "lat": p.y}
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid_input", r.text
    assert counts(session) == before


def test_blank_required_text_is_refused_everywhere(world, session) -> None:
    """One rule for every endpoint: spaces, ideographic spaces and zero-width characters
    are no text."""
    c, h, made = world["client"], world["auth"], world["suggestion"]
    before = counts(session) | {"design_draft": count(session, "design_draft")}
    for url, body, auth in (
        ("/api/design/communities/T0001/sites/S1/drafts", {"name": "\u200b \u3000"}, "designer"),
        (f"/api/suggestions/{made['id']}/comments", {"body": "\u3000\u3000"}, None),
    ):
        r = c.post(url, json=body, headers=h[auth] if auth else {})
        assert r.status_code == 422, (url, r.text)
        assert "must not be empty or only spaces" in r.json()["message"]
    assert counts(session) | {"design_draft": count(session, "design_draft")} == before


@pytest.mark.parametrize(
    ("props", "status", "message"),
    [
        ({"note": "长" * 2001}, 422, "feature 1.note: at most 2000 characters, got 2001"),
        (
            {"note": "x" * (1024 * 1024)},
            422,
            "body.features.features[0].properties.note: a text of 1048576 characters; "
            "at most 65536 are accepted",
        ),
        ({f"p{i}": i for i in range(50)}, 422, "feature 1: at most 50 properties, got 51"),
        ({"nested": [[[[1]]]]}, 422, "feature 1.nested[0][0][0]: nested deeper than 3 levels"),
    ],
    ids=["long note", "huge note", "51 properties", "deep nesting"],
)
def test_draft_properties_are_bounded(world, session, props, status, message) -> None:
    c, h, d = world["client"], world["auth"]["designer"], world["draft"]
    url = f"/api/design/drafts/{d['id']}/features"
    before = counts(session)
    bench = w(Point(15, 6))
    r = c.put(url, headers=h, json={"version": 1, "features": fc(("facility", bench, props))})
    assert (r.status_code, r.json()["message"]) == (status, message)
    assert counts(session) == before


def test_a_garden_within_the_bounds_is_saved(world) -> None:
    c, h, d = world["client"], world["auth"]["designer"], world["draft"]
    url = f"/api/design/drafts/{d['id']}/features"
    ok = c.put(url, headers=h, json={"version": 1, "features": fc(*GARDEN)})
    assert ok.status_code == 200


@pytest.mark.parametrize("price", [1e308, -1, 2_000_000])
def test_unit_costs_out_of_range_are_named(world, price: float) -> None:
    c, h = world["client"], world["auth"]["designer"]
    url = "/api/design/communities/T0001/standards"
    r = c.put(url, headers=h, json={"unit_costs": {"path_per_m2": {"wood": price}}})
    assert r.status_code == 422
    assert r.json()["message"] == (
        "unit_costs.path_per_m2.wood: a price between 0 and 1,000,000 yuan"
    )


def test_unit_costs_have_a_named_range(world) -> None:
    c, h = world["client"], world["auth"]["designer"]
    url = "/api/design/communities/T0001/standards"
    r = c.put(url, headers=h, json={"unit_costs": {"path_per_m2": {"wood": 650}}})
    assert r.status_code == 200 and r.json()["unit_costs"]["path_per_m2"]["wood"] == 650


def test_integrity_errors_map_to_409_and_422_on_both_databases(session) -> None:
    from sqlalchemy.exc import IntegrityError

    session.add(StaffUser(username="twin", display_name="a", password_hash="x"))
    session.flush()
    with pytest.raises(IntegrityError) as dup, session.begin_nested():
        session.add(StaffUser(username="twin", display_name="b", password_hash="x"))
    problem = integrity_problem(dup.value)
    assert isinstance(problem, Conflict) and problem.details["constraint"] == "unique"
    assert "staff_user.username" in problem.details["columns"]
    from renewmap.db.models import AuthToken

    with pytest.raises(IntegrityError) as dangling, session.begin_nested():
        session.add(
            AuthToken(
                user_id=999_999,
                kind="api",
                token_hash="h" * 64,
                expires_at=datetime.now(UTC),
            )
        )
    problem = integrity_problem(dangling.value)
    assert isinstance(problem, InvalidInput) and problem.details["constraint"] == "foreign_key"


# --- images ----------------------------------------------------------------------------------


BOMBS = [
    ("bomb.png", png_bomb(), "7000×7000 pixels (49 million); at most 16 million"),
    ("rgb.png", png_bomb(4100, 4100, bit_depth=8, colour=2), "(16.8 million); at most 16 million"),
    ("bomb.jpg", jpeg_bomb(10_000, 8_000), "10000×8000 pixels (80 million); at most 64 million"),
    ("sliver.jpg", jpeg_bomb(64_000, 1_000), "64000×1000 pixels (64 million); at most 16 million"),
    ("huge.jpg", jpeg_bomb(30_000, 30_000), "declares more than 64 million pixels"),
    ("bomb.webp", webp_bomb(6000, 5000), "6000×5000 pixels (30 million); at most 16 million"),
    ("lossy.webp", webp_bomb(16_000, 16_000, lossless=False), "more than 64 million pixels"),
]


@pytest.mark.parametrize(("name", "data", "message"), BOMBS, ids=[b[0] for b in BOMBS])
def test_decompression_bombs_are_refused_from_their_header(world, session, name, data, message):
    c = world["client"]
    before = counts(session)
    p = pt(0.5, 0.5)
    r = c.post(
        "/api/suggestions",
        data={"category": "lighting", "title": "炸弹", "lon": p.x, "lat": p.y},
        files=[("photos", (name, data, "image/png"))],
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "payload_too_large"
    assert message in r.json()["message"] and f"photo '{name}'" in r.json()["message"]
    assert counts(session) == before


def test_the_pixels_of_one_request_are_budgeted_together(world, session) -> None:
    c = world["client"]
    before = counts(session)
    p = pt(0.5, 0.5)
    three = [("photos", (f"{i}.png", png_bomb(3500, 3500), "image/png")) for i in range(3)]
    r = c.post(
        "/api/suggestions",
        data={"category": "lighting", "title": "三张", "lon": p.x, "lat": p.y},
        files=three,
    )
    assert r.status_code == 413
    assert r.json()["message"] == (
        "the photos hold 36.8 million pixels together; at most 32 million are accepted in one "
        "request"
    )
    assert counts(session) == before


def test_a_large_real_jpeg_is_decoded_at_a_reduced_scale(world) -> None:
    """8000×6000 (48 million pixels) is over the decode budget but a JPEG is decoded at
    1/2 scale (4000×3000), then halved again: accepted, stored at 2000×1500."""
    c = world["client"]
    p = pt(0.5, 0.5)
    r = c.post(
        "/api/suggestions",
        data={"category": "lighting", "title": "大照片", "lon": p.x, "lat": p.y},
        files=[("photos", ("big.jpg", big_jpeg(8000, 6000), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    photo_id = c.get(f"/api/suggestions/{r.json()['id']}").json()["properties"]["photos"][0]
    stored = Image.open(io.BytesIO(c.get(photo_id["url"]).content))
    assert stored.size == (2000, 1500)


RSS_SCRIPT = r"""
import io, json, resource, sys, threading
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from renewmap.api.app import create_app
from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.settings import Settings
from tests.support.bombs import png_bomb
from tests.support.places import add_test_community, pt

engine = make_engine("sqlite:///" + sys.argv[2])
upgrade(engine)
with Session(engine) as s, s.begin():
    add_test_community(s)
app = create_app(Settings(env="test", secret_key="x" * 32, rate_posts=1000), engine=engine)
bomb = png_bomb()
p = pt(0.5, 0.5)
form = {"category": "lighting", "title": "t", "lon": str(p.x), "lat": str(p.y)}

def post(c, files):
    return c.post("/api/suggestions", data=form, files=files).status_code

with TestClient(app) as c:
    c.headers["X-CSRF-Token"] = c.get("/api/session").json()["csrf_token"]
    small = io.BytesIO()
    from PIL import Image
    Image.new("RGB", (64, 64)).save(small, "PNG")
    assert post(c, [("photos", ("s.png", small.getvalue(), "image/png"))]) == 201  # warm up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    statuses = []
    def attack():
        files = [("photos", (f"{i}.png", bomb, "image/png")) for i in range(3)]
        statuses.append(post(c, files))
    threads = [threading.Thread(target=attack) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    after_bombs = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # then real photos at the decode limit: 4 posts of 2 × 4000×4000 RGB at once
    real = png_bomb(4000, 4000, bit_depth=8, colour=2)
    accepted = []
    def honest():
        files = [("photos", (f"{i}.png", real, "image/png")) for i in range(2)]
        accepted.append(post(c, files))
    threads = [threading.Thread(target=honest) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    after_real = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "statuses": statuses,
    "bombs_kb": after_bombs - before,
    "accepted": accepted,
    "real_kb": after_real - after_bombs,
}))
"""


def test_bombs_leave_peak_memory_where_it_was(tmp_path) -> None:
    """Four posts at once of three 7000×7000 PNGs each once raised peak memory by 2 GB; now
    they are refused from their headers and the high-water mark stays put. Honest photos at
    the limit raise it by at most what the decode slots allow. (A subprocess of its own, so
    nothing else moves the high-water mark.)"""
    script = tmp_path / "rss.py"
    script.write_text(RSS_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(ROOT), str(tmp_path / "rss.sqlite")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["statuses"] == [413, 413, 413, 413]
    assert result["bombs_kb"] < 32 * 1024  # 49 MB would be one bomb decoded at 1 byte a pixel
    # honest photos at the limit: decoded two at a time (four at once would take ≈ 330 MB),
    # each within its pixels × bytes a pixel, plus the codecs' own buffers
    assert result["accepted"] == [201, 201, 201, 201]
    per_decode = photos.MAX_DECODE_PIXELS * photos.BYTES_PER_PIXEL + 16 * 1024 * 1024
    assert result["real_kb"] < photos.decode_slots() * per_decode // 1024


# --- rights before work ----------------------------------------------------------------------


def _gpkg(tmp: Path, *, view: bool = False, trigger: bool = False) -> bytes:
    path = tmp / "layer.gpkg"
    frame = gpd.GeoDataFrame({"name": ["床"]}, geometry=[w(box(1, 1, 3, 3))], crs="EPSG:4326")
    frame.to_file(path, layer="green", driver="GPKG", engine="pyogrio")
    with sqlite3.connect(path) as conn:
        if view:  # a layer that never ends: a recursive view registered as features
            conn.execute(
                "CREATE VIEW forever AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                "SELECT i + 1 FROM n) SELECT i AS fid, geom FROM n, green"
            )
        if trigger:
            conn.execute("CREATE TRIGGER sneaky AFTER INSERT ON green BEGIN DELETE FROM green; END")
    return path.read_bytes()


def test_an_upload_without_rights_is_refused_before_its_body_is_read(world, session) -> None:
    """A grid lead (no design rights) sending a GeoPackage with a never-ending view: 403
    before a byte of the file is read (it once cost 19 s of CPU first)."""
    app, d, h = world["app"], world["draft"], world["auth"]
    boundary = "rmb"
    with tempfile.TemporaryDirectory() as tmp:
        data = _gpkg(Path(tmp), view=True)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.gpkg"\r\n\r\n'
    ).encode()
    uploads = {
        f"/api/design/drafts/{d['id']}/import": h["lead"],
        "/api/design/communities/T0001/sites/S1/stages/survey/attachments": h["lead"],
        "/api/design/communities/T0001/sites/S1/photos": h["lead"],
    }
    for url, auth in uploads.items():
        status, body, pulled = drive(
            app,
            "POST",
            url,
            iter([head, data, f"\r\n--{boundary}--\r\n".encode()]),
            {"content-type": f"multipart/form-data; boundary={boundary}", **auth},
        )
        assert (status, body["error"], pulled) == (403, "forbidden", 0), url
    status, body, pulled = drive(
        app,
        "POST",
        "/api/staff/communities/T0001/grid-drafts",
        iter([b'{"type": "FeatureCollection", "features": []}']),
        {"content-type": "application/json", **h["lead"]},
    )
    assert (status, body["error"]) == (403, "forbidden")
    # a resident who did not adopt the plant: refused before the photo is read
    cookies = world["client"].cookies
    plant = session.query(Plant).first()
    status, body, pulled = drive(
        app,
        "POST",
        f"/api/plants/{plant.id}/care/photo",
        iter([head, png_bomb(), f"\r\n--{boundary}--\r\n".encode()]),
        {
            "content-type": f"multipart/form-data; boundary={boundary}",
            "cookie": f"rm_csrf={cookies['rm_csrf']}; rm_device={cookies['rm_device']}",
            "x-csrf-token": cookies["rm_csrf"],
        },
    )
    assert (status, pulled) == (403, 0) and body["code"] == "not_the_adopter"
    assert body["message"] == "只有这株植物的认养人才能添加养护记录"


def test_geopackages_with_views_or_foreign_triggers_are_refused(world, session, tmp_path) -> None:
    c, d, h = world["client"], world["draft"], world["auth"]["designer"]
    before = counts(session)
    url = f"/api/design/drafts/{d['id']}/import"
    for kind, message in (("view", "holds views (forever)"), ("trigger", "triggers (sneaky)")):
        folder = tmp_path / kind
        folder.mkdir()
        data = _gpkg(folder, **{kind: True})
        r = c.post(
            url,
            headers=h,
            data={"version": d["version"]},
            files={"file": ("x.gpkg", data, "application/geopackage+sqlite3")},
        )
        assert r.status_code == 422 and message in r.json()["message"], r.text
    assert counts(session) == before
    folder = tmp_path / "plain"
    folder.mkdir()
    r = c.post(
        url,
        headers=h,
        data={"version": d["version"]},
        files={"file": ("x.gpkg", _gpkg(folder), "application/geopackage+sqlite3")},
    )
    assert r.status_code == 200 and len(r.json()["features"]["features"]) == 1


def test_a_sqlite_input_is_read_within_a_time_budget(tmp_path) -> None:
    data = _gpkg(tmp_path)
    path = tmp_path / "copy.gpkg"
    path.write_bytes(data)
    check_sqlite_input(path, name="copy.gpkg")  # a plain file: quick
    with pytest.raises(InvalidInput) as late:
        check_sqlite_input(path, name="copy.gpkg", budget_s=0.0)
    assert str(late.value) == "file 'copy.gpkg' takes longer than 0 s to read; it is refused"


def test_cli_import_refuses_a_geopackage_view(tmp_path, session) -> None:
    from renewmap.errors import ImportFailed
    from renewmap.services.ingest.importer import import_file

    add_test_community(session)
    (tmp_path / "v").mkdir()
    path = tmp_path / "v" / "green.gpkg"
    path.write_bytes(_gpkg(tmp_path / "v", view=True))
    with pytest.raises(ImportFailed, match="holds views"):
        import_file(session, path, kind="green", community_code="T0001")


# --- trust -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "proto", "client", "scheme"),
    [
        ("203.0.113.9", "1.2.3.4", "https", "203.0.113.9", "http"),  # peer not trusted
        ("127.0.0.1", "1.2.3.4", "https", "1.2.3.4", "https"),
        ("127.0.0.1", "6.6.6.6, 1.2.3.4", "http", "1.2.3.4", "http"),  # left part: the client's
        ("127.0.0.1", "1.2.3.4, 10.0.0.5", None, "1.2.3.4", "http"),  # a second trusted hop
        ("127.0.0.1", "10.0.0.7, 10.0.0.5", None, "10.0.0.7", "http"),  # all trusted: left-most
        ("127.0.0.1", "1.2.3.4:5678", None, "1.2.3.4", "http"),
        ("127.0.0.1", "[2001:db8::1]:443", None, "2001:db8::1", "http"),
        ("127.0.0.1", "unknown", "ftp", "127.0.0.1", "http"),  # nonsense: keep the peer
        ("127.0.0.1", None, None, "127.0.0.1", "http"),
    ],
)
def test_proxy_headers_resolve_the_client(peer, forwarded, proto, client, scheme) -> None:
    from renewmap.api.trust import ProxyHeaders
    from renewmap.settings import parse_networks

    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(client=scope["client"][0], scheme=scope["scheme"])

    headers = []
    if forwarded:
        headers.append((b"x-forwarded-for", forwarded.encode()))
    if proto:
        headers.append((b"x-forwarded-proto", proto.encode()))
    scope = {"type": "http", "client": (peer, 1234), "scheme": "http", "headers": headers}
    middleware = ProxyHeaders(app, trusted=parse_networks("127.0.0.1, 10.0.0.0/8"))
    anyio.run(middleware, scope, None, None)
    assert (seen["client"], seen["scheme"]) == (client, scheme)


def test_allowed_host_patterns() -> None:
    from renewmap.api.trust import AllowedHosts

    check = AllowedHosts(None, hosts=["renewmap.example.org", "*.intranet"], render=None)
    assert check.allowed("renewmap.example.org:443") and check.allowed("map.intranet")
    assert not check.allowed("evil.example") and not check.allowed("intranet.evil.example")
    assert not check.allowed("renewmap.example.org.evil.example")


def test_links_never_come_from_the_host_header(world) -> None:
    c = world["client"]
    for path in ("/ogc/", "/open311/v2/discovery.json"):
        r = c.get(path, headers={"Host": "evil.example"})
        assert r.status_code == 200 and "evil.example" not in r.text
    plant = world["session"].query(Plant).first()
    svg = c.get(f"/p/{plant.id}/qr.svg", headers={"Host": "evil.example"})
    assert svg.status_code == 200 and b"evil" not in svg.content


def test_csrf_tokens_must_be_minted_by_the_server(world) -> None:
    from renewmap.services.access import csrf

    token = csrf.mint("test-secret")
    assert csrf.genuine("test-secret", token) and not csrf.genuine("other-secret", token)
    for forged in ("", "chosen", "chosen.value", token.split(".")[0] + ".0" * 16, token + "."):
        assert not csrf.genuine("test-secret", forged)
    c = world["client"]
    own = c.cookies["rm_csrf"]
    assert c.get("/api/session").json()["csrf_token"] == own  # kept: it is the server's
    c.cookies.set("rm_csrf", "chosen-by-the-client")
    fresh = c.get("/api/session").json()["csrf_token"]
    assert fresh != "chosen-by-the-client" and csrf.genuine("test-secret", fresh)
    c.cookies.set("rm_csrf", "chosen-by-the-client")
    made = world["suggestion"]
    r = c.post(
        f"/api/suggestions/{made['id']}/comments",
        json={"body": "好"},
        headers={"X-CSRF-Token": "chosen-by-the-client"},
    )
    assert r.status_code == 403 and "CSRF" in r.json()["message"]


def test_failed_sign_ins_make_the_account_wait(session) -> None:
    from datetime import timedelta

    from renewmap.errors import RateLimited, Unauthenticated

    accounts.create_user(session, username="wang", password="correct horse battery")
    t0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    for i in range(accounts.LOCK_AFTER):
        with pytest.raises(Unauthenticated):
            accounts.check_password(session, username="wang", password=f"guess {i}", now=t0)
    assert session.info.get("renewmap.keep_on_error") is True  # kept despite the 401
    with pytest.raises(RateLimited) as waiting:
        accounts.check_password(session, username="wang", password="correct horse battery", now=t0)
    assert waiting.value.details["retry_after"] == 60
    # a minute later: one more wrong guess doubles the wait
    later = t0 + timedelta(seconds=61)
    with pytest.raises(Unauthenticated):
        accounts.check_password(session, username="wang", password="guess", now=later)
    with pytest.raises(RateLimited) as waiting:
        accounts.check_password(session, username="wang", password="x", now=later)
    assert waiting.value.details["retry_after"] == 120
    # after the wait the owner signs in, and the count starts again
    user = accounts.check_password(
        session,
        username="wang",
        password="correct horse battery",
        now=later + timedelta(seconds=121),
    )
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert [accounts.lock_delay(n) for n in (4, 5, 6, 7, 20)] == [0, 60, 120, 240, 3600]
    # an unknown username waits alike after as many tries (a 429 does not tell that a
    # username exists), and only its hash is kept
    for i in range(accounts.LOCK_AFTER):
        with pytest.raises(Unauthenticated):
            accounts.check_password(session, username="nobody", password=f"guess {i}", now=t0)
    with pytest.raises(RateLimited) as unknown:
        accounts.check_password(session, username="nobody", password="x", now=t0)
    assert unknown.value.details["retry_after"] == 60
    assert unknown.value.key == "account_locked"
    from sqlalchemy import text

    kept = session.execute(text("SELECT name_hash, failures FROM login_failure")).all()
    assert [(h == accounts.name_hash("nobody"), n) for h, n in kept] == [(True, 5)]
    assert "nobody" not in str(kept)
    with pytest.raises(Unauthenticated):  # its wait passed: one more guess doubles it
        accounts.check_password(session, username="nobody", password="x", now=later)
    with pytest.raises(RateLimited) as unknown:
        accounts.check_password(session, username="nobody", password="x", now=later)
    assert unknown.value.details["retry_after"] == 120
    # an admin clears an account's lock
    for _ in range(6):
        with pytest.raises((Unauthenticated, RateLimited)):
            accounts.check_password(session, username="wang", password="x", now=t0)
    accounts.unlock(session, username="wang")
    assert accounts.check_password(
        session, username="wang", password="correct horse battery", now=t0
    )


def test_a_locked_sign_in_does_not_tell_whether_the_username_exists(make_client, session):
    """The same answers, try by try, for an account's username and for one no account has:
    401 five times, then the same 429 with the same wait."""
    accounts.create_user(session, username="zhao", password="correct horse battery")
    session.flush()
    client = make_client(rate_logins=100, csrf=True)
    client.headers["Accept-Language"] = "en"
    answers = {}
    for username in ("zhao", "zhao2"):
        seen = []
        for i in range(accounts.LOCK_AFTER + 2):
            r = client.post(
                "/api/staff/session", json={"username": username, "password": f"guess {i}"}
            )
            body = r.json()
            wait = r.headers.get("retry-after")
            # the wait counts from each one's own fifth try: the same but for the clock's
            # second, in the header and in the message
            message = re.sub(r"\d+ s\b", "N s", body.get("message", ""))
            seen.append((r.status_code, body.get("code"), message, wait))
        answers[username] = seen
    assert [a[0] for a in answers["zhao"]] == [401] * accounts.LOCK_AFTER + [429, 429]
    assert answers["zhao"][-1][1] == "account_locked"
    assert 55 <= int(answers["zhao"][-1][3]) <= 60
    assert answers["zhao"][-1][2] == (
        "too many failed sign-ins for this account; try again in N s (or ask an admin to unlock it)"
    )
    assert [a[:3] for a in answers["zhao2"]] == [a[:3] for a in answers["zhao"]]
    assert [a[3] is None for a in answers["zhao2"]] == [a[3] is None for a in answers["zhao"]]
    assert 55 <= int(answers["zhao2"][-1][3]) <= 60
    assert "zhao2" not in str(answers["zhao2"])


def test_cli_unlocks_an_account(database_url_factory, monkeypatch) -> None:
    from sqlalchemy.orm import Session

    from renewmap.cli import main
    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import upgrade

    url = database_url_factory()
    monkeypatch.setenv("RENEWMAP_DATABASE_URL", url)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with Session(engine) as s, s.begin():
            accounts.create_user(s, username="li", password="correct horse battery")
            s.query(StaffUser).filter_by(username="li").update(
                {"failed_logins": 9, "locked_until": datetime(2099, 1, 1, tzinfo=UTC)}
            )
        assert main(["user", "unlock", "li"]) == 0
        assert main(["user", "unlock", "nobody"]) == 2
        with Session(engine) as s:
            user = accounts.check_password(s, username="li", password="correct horse battery")
            assert (user.failed_logins, user.locked_until) == (0, None)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("households", "shown"), [("inf", "'inf'"), ("1e308", "'1e308'"), ("nan", "'nan'")]
)
def test_importer_numbers_use_the_same_rules(session, tmp_path, households, shown) -> None:
    """A file's numbers pass the same checks as the API's (inf once crashed int())."""
    from renewmap.errors import ImportFailed
    from renewmap.services.ingest.importer import import_file
    from tests.support.places import m2w

    add_test_community(session)
    path = tmp_path / "b.geojson"
    feature = {
        "type": "Feature",
        "geometry": mapping(m2w(box(0.1, 0.1, 0.2, 0.2))),
        "properties": {"number": "9号楼", "households": households},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    before = count(session, "building")
    with pytest.raises(ImportFailed) as failed:
        import_file(session, path, kind="building", community_code="T0001")
    assert (
        f"field 'households': must be a non-negative whole number, got {shown} (at most 100000)"
        in str(failed.value)
    )
    assert count(session, "building") == before
