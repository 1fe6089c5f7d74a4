"""Photos of proposals on both databases (issue 18 item 2): staff add them (re-encoded without
metadata, thumbnailed, in the blob store), residents see them only while the proposal is public,
anyone else is told they do not exist; bad uploads are refused precisely and write nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from shapely.geometry import mapping
from sqlalchemy import func, select

from renewmap import blobs
from renewmap.db.models import ProposalPhoto
from renewmap.db.queries.blobs import blob_keys
from renewmap.services.requests.photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from tests.api.test_photo_store import CountingStore
from tests.support.bombs import png_bomb
from tests.support.places import pt
from tests.support.records import records_world

BASE = "/api/records/communities/T0001"


@pytest.fixture
def store(session, tmp_path: Path) -> CountingStore:
    counting = CountingStore(tmp_path / "blobs")
    session.info[blobs.SESSION_STORE] = counting  # the app runs on the test's session
    return counting


@pytest.fixture
def world(make_client, session, store):
    headers, _ = records_world(session)
    c = make_client()
    for title, public in (("中心花园加装座椅", True), ("不愿公开的提案", False)):
        r = c.post(
            f"{BASE}/proposals",
            headers=headers["admin"],
            json={
                "title": title,
                "body": "老人散步需要歇脚的地方",
                "proposer_kind": "resident",
                "proposer_name": "李阿姨",
                "proposer_phone": "13800000001",
                "public": public,
                "submitted_on": "2025-04-02",
                "geometry": mapping(pt(0.6, 0.3)),
            },
        )
        assert r.status_code == 201, r.text
    return c, headers


def jpeg_with_gps(size=(640, 480), colour=(30, 120, 60)) -> bytes:
    img = Image.new("RGB", size, colour)
    exif = img.getexif()
    exif[0x010F] = "SecretPhoneMaker"  # Make
    exif[0x0112] = 6  # orientation: rotate 90° when displayed
    exif[0x8825] = {1: "N", 2: (31.0, 17.0, 20.0), 3: "E", 4: (121.0, 29.0, 25.0)}
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def add(c, headers, number, raw, name="seat.jpg", caption=None):
    data = {"caption": caption} if caption is not None else {}
    return c.post(
        f"{BASE}/proposals/{number}/photos",
        headers=headers,
        data=data,
        files=[("file", (name, raw, "image/jpeg"))],
    )


def rows(session) -> int:
    return int(session.scalar(select(func.count()).select_from(ProposalPhoto)))


def test_a_photo_is_stored_clean_and_thumbnailed(world, session, store) -> None:
    c, h = world
    raw = jpeg_with_gps()
    assert b"SecretPhoneMaker" in raw
    r = add(c, h["admin"], 1, raw, caption="  座椅位置  ")
    assert r.status_code == 201, r.text
    (photo,) = r.json()["photos"]
    pid = photo["id"]
    # the orientation is applied: a 640×480 landscape shot held upright is 480×640
    assert photo == {
        "id": pid,
        "caption": "座椅位置",
        "url": f"/api/proposal-photos/{pid}",
        "thumbnail": f"/api/proposal-photos/{pid}/thumbnail",
        "width": 480,
        "height": 640,
    }
    assert store.puts == 2  # the photo and its thumbnail, before the row
    full = c.get(photo["url"])
    assert full.status_code == 200 and full.headers["content-type"] == "image/jpeg"
    assert b"SecretPhoneMaker" not in full.content and b"Exif" not in full.content
    assert Image.open(io.BytesIO(full.content)).size == (480, 640)
    thumb = c.get(photo["thumbnail"])
    assert Image.open(io.BytesIO(thumb.content)).size == (240, 320)
    # a public proposal's photo may be cached; a client holding it gets a 304
    assert full.headers["cache-control"] == "public, max-age=3600"
    again = c.get(photo["url"], headers={"If-None-Match": full.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    # residents' list carries it; the blob collector knows its keys
    public = c.get("/api/communities/T0001/proposals").json()["proposals"]
    assert public[0]["photos"] == [photo]
    row = session.get(ProposalPhoto, pid)
    assert {row.data_key, row.thumbnail_key} <= set(blob_keys(session))
    assert row.data_size == len(full.content) and row.created_by
    # the page shows the thumbnail, leading to the full size
    page = c.get("/c/T0001/proposals").text
    assert f'src="/api/proposal-photos/{pid}/thumbnail"' in page
    assert f'href="/api/proposal-photos/{pid}"' in page and "座椅位置" in page


def test_a_hidden_proposals_photos_are_for_staff_in_scope_only(world) -> None:
    c, h = world
    pid = add(c, h["admin"], 2, jpeg_with_gps()).json()["photos"][0]["id"]
    url = f"/api/proposal-photos/{pid}"
    for who in (None, "admin2", "demo_admin"):
        for u in (url, url + "/thumbnail"):
            r = c.get(u, headers=h[who] if who else None)
            assert r.status_code == 404 and r.json()["code"] == "photo_not_found", (who, u)
    for who in ("admin", "lead_a", "sub"):
        r = c.get(url, headers=h[who])
        assert r.status_code == 200, who
        assert r.headers["cache-control"] == "private, no-store"
    assert "proposal-photos" not in c.get("/c/T0001/proposals").text
    # the proposer agrees: everyone sees it; they take it back: 404 again
    show = f"{BASE}/proposals/2/public"
    assert c.post(show, headers=h["admin"], json={"public": True}).is_success
    assert c.get(url).status_code == 200
    assert c.post(show, headers=h["admin"], json={"public": False}).is_success
    assert c.get(url).status_code == 404
    # an id that never existed reads the same as a hidden one
    assert c.get("/api/proposal-photos/999999").json()["code"] == "photo_not_found"


def test_the_ogc_collection_links_only_public_photos(world) -> None:
    c, h = world

    def linked() -> list[tuple[int, str | None]]:
        r = c.get("/ogc/collections/proposals/items", params={"f": "json", "limit": 1000})
        assert r.status_code == 200, r.text
        props = [f["properties"] for f in r.json()["features"]]
        return [(p["number"], p["photo"]) for p in props if p["community"] == "T0001"]

    first = add(c, h["admin"], 1, jpeg_with_gps()).json()["photos"][0]["id"]
    second = add(c, h["admin"], 1, jpeg_with_gps(colour=(0, 0, 200))).json()["photos"][-1]["id"]
    add(c, h["admin"], 2, jpeg_with_gps())  # a hidden proposal: not in the collection at all
    assert linked() == [(1, f"/api/proposal-photos/{first}")]  # its first photo
    for pid in (first, second):
        assert c.delete(f"{BASE}/proposals/1/photos/{pid}", headers=h["admin"]).is_success
    assert linked() == [(1, None)]


def test_only_keepers_in_scope_add_or_remove_photos(world, session, store) -> None:
    c, h = world
    raw = jpeg_with_gps()
    r = add(c, h["lead_a"], 1, raw)  # reads the records, does not keep them
    assert r.status_code == 403 and r.json()["code"] == "not_a_records_keeper"
    r = add(c, h["admin2"], 1, raw)
    assert r.status_code == 404 and r.json()["code"] == "community_not_in_scope"
    r = add(c, h["admin"], 9, raw)
    assert r.status_code == 404 and r.json()["code"] == "proposal_not_found"
    assert c.post(f"{BASE}/proposals/1/photos", files=[("file", ("a.jpg", raw))]).status_code == 401
    assert rows(session) == 0 and store.puts == 0
    first = add(c, h["secretary"], 1, raw).json()["photos"][0]["id"]
    second = add(c, h["admin"], 1, jpeg_with_gps(colour=(200, 0, 0))).json()["photos"][-1]["id"]
    other = add(c, h["admin"], 2, raw).json()["photos"][0]["id"]
    # a photo of another proposal cannot be removed through this one
    r = c.delete(f"{BASE}/proposals/1/photos/{other}", headers=h["admin"])
    assert r.status_code == 404 and r.json()["code"] == "proposal_photo_not_found"
    assert c.delete(f"{BASE}/proposals/1/photos/{first}", headers=h["lead_a"]).status_code == 403
    r = c.delete(f"{BASE}/proposals/1/photos/{first}", headers=h["admin"])
    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()["photos"]] == [second]
    assert c.get(f"/api/proposal-photos/{first}").status_code == 404
    assert c.get(f"/api/proposal-photos/{second}").status_code == 200
    assert rows(session) == 2


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"%PDF-1.4 not a photo", 422, "photo_unreadable"),
        (b"", 422, "photo_empty"),
        (png_bomb(5000, 5000), 413, "photo_too_many_pixels"),
        (b"\xff\xd8" + b"0" * MAX_PHOTO_BYTES, 413, "photo_too_large"),
    ],
    ids=["not-an-image", "empty", "pixel-bomb", "too-many-bytes"],
)
def test_a_bad_photo_is_refused_precisely_and_writes_nothing(
    world, session, store, raw, status, code
) -> None:
    c, h = world
    r = add(c, h["admin"], 1, raw, name="x.jpg")
    assert r.status_code == status and r.json()["code"] == code, r.text
    assert rows(session) == 0 and store.puts == 0
    assert c.get(f"{BASE}/proposals/1", headers=h["admin"]).json()["photos"] == []


def test_at_most_as_many_photos_as_a_suggestion(world, session, store) -> None:
    c, h = world
    for i in range(MAX_PHOTOS):
        assert add(c, h["admin"], 1, jpeg_with_gps(colour=(i * 40, 0, 0))).status_code == 201
    puts = store.puts
    r = add(c, h["admin"], 1, jpeg_with_gps(colour=(0, 0, 250)))
    assert r.status_code == 422 and r.json()["code"] == "proposal_too_many_photos", r.text
    assert rows(session) == MAX_PHOTOS and store.puts == puts
    staff = c.get(f"{BASE}/proposals", headers=h["admin"]).json()["proposals"]
    assert [len(p["photos"]) for p in staff] == [MAX_PHOTOS, 0]
