"""/static: gzipped once per file version (api.static), ETags per form, 304 when unchanged, a
changed file served fresh; and the pages preload their modules' imports."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from renewmap.api.static import CachedStatic, accepts_gzip
from renewmap.web import assets

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


@pytest.fixture
def files(tmp_path: Path) -> tuple[TestClient, CachedStatic, Path]:
    app = FastAPI()
    static = CachedStatic(directory=str(tmp_path))
    app.mount("/static", static)
    (tmp_path / "app.js").write_text("export const x = 1;\n" * 300, encoding="utf-8")
    (tmp_path / "tiny.css").write_text("a{}", encoding="utf-8")
    (tmp_path / "dot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return TestClient(app), static, tmp_path


def test_gzip_once_with_etag_vary_and_cache_control(files) -> None:
    client, static, root = files
    source = (root / "app.js").read_bytes()
    first = client.get("/static/app.js", headers=GZIP)
    second = client.get("/static/app.js", headers=GZIP)
    for r in (first, second):
        assert r.status_code == 200
        assert r.headers["content-encoding"] == "gzip"
        assert r.headers["vary"] == "Accept-Encoding"
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["content-type"].startswith("text/javascript")
        assert r.content == source  # the client decoded it
    assert int(first.headers["content-length"]) < len(source) // 10
    assert static.compressions == 1  # the second answer came from the cache
    plain = client.get("/static/app.js", headers=PLAIN)
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.content == source and plain.headers["vary"] == "Accept-Encoding"
    # the two forms are different representations: different strong ETags
    assert plain.headers["etag"] != first.headers["etag"] == second.headers["etag"]
    assert not plain.headers["etag"].startswith("W/")
    # HEAD: the gzip form's headers, no body
    head = client.head("/static/app.js", headers=GZIP)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == first.headers["content-length"]


def test_not_modified_for_each_form(files) -> None:
    client, _, _ = files
    zipped = client.get("/static/app.js", headers=GZIP).headers["etag"]
    plain = client.get("/static/app.js", headers=PLAIN).headers["etag"]
    r = client.get("/static/app.js", headers={**GZIP, "If-None-Match": zipped})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == zipped
    assert r.headers["vary"] == "Accept-Encoding"
    r = client.get("/static/app.js", headers={**PLAIN, "If-None-Match": plain})
    assert r.status_code == 304 and r.headers["etag"] == plain
    # the other form's ETag does not validate this one
    r = client.get("/static/app.js", headers={**PLAIN, "If-None-Match": zipped})
    assert r.status_code == 200 and "content-encoding" not in r.headers
    r = client.get("/static/app.js", headers={**GZIP, "If-None-Match": f'"nope", {zipped}'})
    assert r.status_code == 304


def test_changed_file_is_compressed_again(files) -> None:
    client, static, root = files
    before = client.get("/static/app.js", headers=GZIP)
    path = root / "app.js"
    path.write_text("export const y = 2;\n" * 400, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = client.get("/static/app.js", headers=GZIP)
    assert after.content == path.read_bytes() != before.content
    assert after.headers["etag"] != before.headers["etag"]
    assert static.compressions == 2
    # the old ETag no longer answers 304
    stale = client.get("/static/app.js", headers={**GZIP, "If-None-Match": before.headers["etag"]})
    assert stale.status_code == 200 and stale.content == path.read_bytes()


def test_small_and_binary_files_go_as_they_are(files) -> None:
    client, static, root = files
    for name in ("tiny.css", "dot.png"):
        r = client.get(f"/static/{name}", headers=GZIP)
        assert r.status_code == 200 and "content-encoding" not in r.headers, name
        assert r.content == (root / name).read_bytes() and r.headers["etag"]
        again = client.get(f"/static/{name}", headers={**GZIP, "If-None-Match": r.headers["etag"]})
        assert again.status_code == 304, name
    assert static.compressions == 0
    # ranges are for the plain bytes
    r = client.get("/static/app.js", headers={**GZIP, "Range": "bytes=0-5"})
    assert r.status_code == 206 and r.content == b"export"
    assert client.get("/static/missing.js", headers=GZIP).status_code == 404


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
        (None, False),
        ("gzip;q=x", False),
    ],
)
def test_accept_encoding(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_app_static_is_gzipped_and_the_residents_page_preloads_its_imports(client) -> None:
    r = client.get("/static/vendor/leaflet/leaflet.js", headers=GZIP)
    assert r.headers["content-encoding"] == "gzip" and r.headers["etag"]
    assert (
        client.get(
            "/static/vendor/leaflet/leaflet.js",
            headers={**GZIP, "If-None-Match": r.headers["etag"]},
        ).status_code
        == 304
    )
    page = client.get("/c/310109010026").text
    nonce = re.search(r'<script type="module" src="/static/js/resident.js" nonce="([^"]+)"', page)
    assert nonce is not None
    preload = r'<link rel="modulepreload" href="/static/([^"]+)" nonce="([^"]+)">'
    preloaded = re.findall(preload, page)
    expected = set(assets.module_order("js/resident.js")) - {"js/resident.js"}
    assert {path for path, _ in preloaded} == expected and "js/lib/vector-tiles.js" in expected
    assert {n for _, n in preloaded} == {nonce.group(1)}
    # the preloaded files exist and are served
    for path in expected:
        assert client.get(f"/static/{path}").status_code == 200, path
