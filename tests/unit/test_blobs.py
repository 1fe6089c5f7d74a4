"""The blob store's contract, shared by both backends: the directory (always) and S3 over HTTP
against s3rver on loopback (npm): a separate S3-compatible server process (objects on disk,
the REST API, listings, content types, LastModified). It is an emulator: it refuses an unknown
access key but does not verify signatures, so signing is not covered here (see
tests/support/s3.py)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from renewmap import blobs
from renewmap.errors import BlobMissing, BlobStorageFailed
from renewmap.settings import Settings
from tests.support.s3 import s3_server

JPEG = "image/jpeg"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    with s3_server(tmp_path_factory.mktemp("s3rver")) as server:
        yield server


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> blobs.BlobStore:
    if request.param == "directory":
        return blobs.DirectoryStore(tmp_path / "blobs")
    server = request.getfixturevalue("s3")
    # each test its own prefix: the bucket is shared by the module's tests
    return blobs.S3Store(
        server.endpoint,
        server.bucket,
        access_key=server.access_key,
        secret_key=server.secret_key,
        prefix=f"{request.node.name}/",
    )


def test_put_returns_the_sha256_and_get_returns_the_bytes(store) -> None:
    data = b"\xff\xd8\xff photo bytes \x00\x01" * 100
    key = store.put(data, JPEG)
    assert key == hashlib.sha256(data).hexdigest()
    assert store.get(key) == data
    assert store.exists(key)


def test_putting_the_same_bytes_again_is_one_blob(store) -> None:
    a = store.put(b"same", JPEG)
    b = store.put(b"same", JPEG)
    other = store.put(b"other", JPEG)
    assert a == b != other
    assert sorted(x.key for x in store.blobs()) == sorted({a, other})


def test_missing_and_deleted_blobs(store) -> None:
    key = store.put(b"to delete", "application/pdf")
    store.delete(key)
    assert not store.exists(key)
    assert store.modified(key) is None
    with pytest.raises(BlobMissing) as caught:
        store.get(key)
    assert caught.value.key == "blob_missing"
    store.delete(key)  # deleting again is harmless
    absent = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(absent)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab", "A" * 64, "g" * 64, "", "a" * 65])
def test_a_key_that_is_not_a_sha256_is_refused_before_any_io(store, bad) -> None:
    for call in (store.get, store.exists, store.delete):
        with pytest.raises(ValueError, match="not a blob key"):
            call(bad)


def test_listing_tells_each_blob_s_age(store) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)  # s3rver's clock has 1 s resolution
    key = store.put(b"dated", JPEG)
    (listed,) = [b for b in store.blobs() if b.key == key]
    assert before <= listed.modified <= datetime.now(UTC) + timedelta(minutes=5)
    assert store.modified(key) is not None


def test_collect_deletes_only_old_unreferenced_blobs(store) -> None:
    used = store.put(b"named by a row", JPEG)
    orphan = store.put(b"its row never committed", JPEG)
    soon = datetime.now(UTC) + timedelta(minutes=30)
    # half an hour on, nothing is old enough yet
    done = blobs.collect(store, [used], now=soon)
    assert (done.kept, done.young, done.deleted) == (1, 1, 0)
    later = datetime.now(UTC) + timedelta(hours=2)
    dry = blobs.collect(store, [used], now=later, dry_run=True)
    assert dry.deleted == 1 and store.exists(orphan)
    done = blobs.collect(store, lambda: {used}, now=later)
    assert (done.kept, done.deleted) == (1, 1)
    assert store.exists(used) and not store.exists(orphan)


def test_collect_reads_the_references_after_listing(store) -> None:
    """A row committed while the collector lists the store protects its blob."""
    key = store.put(b"a post being written", JPEG)
    committed: set[str] = set()

    def referenced() -> set[str]:
        committed.add(key)  # the post commits between the listing and this query
        return committed

    done = blobs.collect(store, referenced, now=datetime.now(UTC) + timedelta(hours=2))
    assert done.deleted == 0 and store.exists(key)


def test_directory_layout_is_sharded_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = blobs.DirectoryStore(tmp_path)
    key = store.put(b"x" * 10_000, JPEG)
    assert (tmp_path / key[:2] / key[2:4] / key).read_bytes() == b"x" * 10_000
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [key]


def test_directory_put_of_present_bytes_renews_their_age(tmp_path: Path) -> None:
    """An old orphan whose bytes are posted again is referenced anew: the collector must
    wait another hour, or it could delete the blob under the new row."""
    store = blobs.DirectoryStore(tmp_path)
    key = store.put(b"posted twice", JPEG)
    path = tmp_path / key[:2] / key[2:4] / key
    old = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(path, (old, old))
    assert blobs.collect(store, [], dry_run=True).deleted == 1
    store.put(b"posted twice", JPEG)
    assert blobs.collect(store, []).deleted == 0 and store.exists(key)


def test_s3_refusal_is_a_storage_failure(s3) -> None:
    """The server refuses an unknown access key: the store says the storage failed."""
    wrong = blobs.S3Store(s3.endpoint, s3.bucket, access_key="UNKNOWN", secret_key="nope")
    with pytest.raises(BlobStorageFailed) as caught:
        wrong.put(b"x", JPEG)
    assert caught.value.key == "blob_storage_failed"


def test_s3_keeps_the_content_type(s3) -> None:
    store = blobs.S3Store(
        s3.endpoint, s3.bucket, access_key=s3.access_key, secret_key=s3.secret_key, prefix="ct/"
    )
    key = store.put(b"%PDF-1.4 minutes", "application/pdf")
    stat = store.client.stat_object(s3.bucket, f"ct/{key}")
    assert stat.content_type == "application/pdf" and stat.size == 16


def test_default_directory_is_beside_the_spatialite_file() -> None:
    assert blobs.default_directory("sqlite:////srv/rm/var/city.sqlite") == Path(
        "/srv/rm/var/city-blobs"
    )
    assert blobs.default_directory("postgresql+psycopg://u@h/db") == Path("var/blobs")


def test_settings_choose_the_backend(tmp_path: Path, s3) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    plain = Settings(database_url=url, blob_dir=None)
    store = blobs.store_from_settings(plain)
    assert isinstance(store, blobs.DirectoryStore) and store.root == (tmp_path / "a-blobs")
    assert (
        blobs.store_from_settings(Settings(database_url=url, blob_dir=tmp_path / "x")).root
        == (tmp_path / "x").resolve()
    )
    remote = Settings(
        database_url=url,
        blob_s3_endpoint=s3.endpoint,
        blob_s3_bucket=s3.bucket,
        blob_s3_access_key=s3.access_key,
        blob_s3_secret_key=s3.secret_key,
        blob_s3_prefix="settings/",
    )
    store = blobs.store_from_settings(remote)
    assert isinstance(store, blobs.S3Store)
    key = store.put(b"via settings", JPEG)
    assert store.get(key) == b"via settings"
