"""Residents' photos served from the blob store (both databases): the list and map views name
photos without reading a byte of them; a photo's ETag is its SHA-256, and a client holding it
gets a 304."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from renewmap import blobs
from tests.support.places import add_test_community, pt


class CountingStore:
    """A directory store that counts the bytes read (get) and written (put)."""

    def __init__(self, root: Path) -> None:
        self.inner = blobs.DirectoryStore(root)
        self.gets: list[str] = []
        self.puts = 0

    def put(self, data: bytes, content_type: str = "application/octet-stream") -> str:
        self.puts += 1
        return self.inner.put(data, content_type)

    def get(self, key: str) -> bytes:
        self.gets.append(key)
        return self.inner.get(key)

    def __getattr__(self, name: str):  # exists, delete, blobs, modified
        return getattr(self.inner, name)


@pytest.fixture
def store(session, tmp_path: Path) -> CountingStore:
    counting = CountingStore(tmp_path / "blobs")
    session.info[blobs.SESSION_STORE] = counting  # the app runs on the test's session
    return counting


@pytest.fixture
def client(make_client, session, store):
    add_test_community(session)
    return make_client(csrf=True)


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, format="JPEG")
    return out.getvalue()


def post(client, x: float, colour: tuple[int, int, int]) -> int:
    p = pt(x, 0.5)
    r = client.post(
        "/api/suggestions",
        data={"category": "lighting", "title": "路灯不亮", "lon": str(p.x), "lat": str(p.y)},
        files=[("photos", ("lamp.jpg", jpeg(colour), "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_list_and_map_views_read_no_photo_bytes(client, store) -> None:
    ids = [post(client, x, (40 * i, 90, 200)) for i, x in enumerate((0.3, 0.5, 0.7))]
    assert store.puts == 6  # each photo and its thumbnail, written while posting
    assert store.gets == []
    views = [
        "/api/communities/T0001/suggestions",
        "/api/communities/T0001/suggestions/map?zoom=19",
        "/api/communities/T0001/suggestions/map?zoom=12",
        "/c/T0001",
        *(f"/api/suggestions/{i}" for i in ids),
    ]
    for url in views:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
    listed = client.get("/api/communities/T0001/suggestions").json()
    assert "photo" in str(listed)  # the list does name the photos …
    assert store.gets == []  # … without reading them
    (photo,) = client.get(f"/api/suggestions/{ids[0]}").json()["properties"]["photos"]
    assert store.gets == []
    r = client.get(photo["url"])
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    assert len(store.gets) == 1  # only serving the photo reads it


def test_photo_etag_is_its_sha256_and_a_held_photo_is_not_sent_again(client, store) -> None:
    rid = post(client, 0.5, (10, 20, 30))
    (photo,) = client.get(f"/api/suggestions/{rid}").json()["properties"]["photos"]
    for url in (photo["url"], photo["thumbnail"]):
        r = client.get(url)
        assert r.status_code == 200
        digest = hashlib.sha256(r.content).hexdigest()
        assert r.headers["etag"] == f'"{digest}"'
        assert r.headers["cache-control"] == "public, max-age=86400"
        assert r.headers["content-type"] == "image/jpeg"
        again = client.get(url, headers={"If-None-Match": f'"{digest}"'})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == f'"{digest}"'
        changed = client.get(url, headers={"If-None-Match": '"0000"'})
        assert changed.status_code == 200 and changed.content == r.content


def test_a_photo_missing_from_the_store_is_a_503_with_a_code(client, store) -> None:
    rid = post(client, 0.5, (1, 1, 1))
    (photo,) = client.get(f"/api/suggestions/{rid}").json()["properties"]["photos"]
    key = hashlib.sha256(client.get(photo["url"]).content).hexdigest()
    store.delete(key)  # the directory restored without this file
    r = client.get(photo["url"], headers={"Accept-Language": "en"})
    assert r.status_code == 503
    assert r.json()["code"] == "blob_missing" and key in r.json()["message"]
