"""Photos and files kept outside the database: rows hold only a key and metadata.

A blob's key is the SHA-256 of its bytes (lower-case hex), so storing the same bytes twice is
one blob and the key doubles as the HTTP ETag. Two backends: a directory (the default, next to
the SpatiaLite file or ``RENEWMAP_BLOB_DIR``) and S3-compatible object storage
(``RENEWMAP_BLOB_S3_*``).

Order of writes: the blob is put before the row that names it commits, so a row never points
at a missing blob; a blob whose row never committed (or was deleted) is garbage, removed by
``renewmap blobs gc`` once nothing references it and it is older than an hour. Blobs are
never deleted on their own: another row may share the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from renewmap.errors import BlobMissing, BlobStorageFailed

KEY = re.compile(r"^[0-9a-f]{64}$")
SESSION_STORE = "renewmap.blob_store"  # Session.info entry: the store of this session
GC_MIN_AGE = timedelta(hours=1)


def key_of(data: bytes) -> str:
    """The content address of ``data``: its SHA-256, lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    if not KEY.match(key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


@dataclass(frozen=True)
class StoredBlob:
    key: str
    modified: datetime  # aware, UTC


class BlobStore(Protocol):
    """What every backend does; keys are checked (64 hex digits) before any I/O."""

    def put(self, data: bytes, content_type: str = "application/octet-stream") -> str: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def blobs(self) -> Iterator[StoredBlob]: ...
    def modified(self, key: str) -> datetime | None: ...


class DirectoryStore:
    """Blobs as files ``<root>/ab/cd/<key>``, written to a temporary file and renamed into
    place, so a reader never sees half a blob."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"DirectoryStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes, content_type: str = "application/octet-stream") -> str:
        key = key_of(data)
        path = self._path(key)
        if path.exists():
            os.utime(path)  # a fresh reference: the collector leaves it an hour more
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".put-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(
                "stored file {blob} is missing", key="blob_missing", blob=key
            ) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def modified(self, key: str) -> datetime | None:
        try:
            return datetime.fromtimestamp(self._path(key).stat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def blobs(self) -> Iterator[StoredBlob]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            if KEY.match(path.name) and path.is_file():
                yield StoredBlob(path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC))


class S3Store:
    """Blobs as objects ``<prefix><key>`` of one bucket of S3-compatible storage (MinIO,
    Ceph RGW, AWS S3, OSS/COS in S3 mode), through the ``minio`` client."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        prefix: str = "",
        create_bucket: bool = False,
    ) -> None:
        from minio import Minio

        url = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        if not url.hostname:
            raise ValueError(f"not an S3 endpoint: {endpoint!r}")
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.client = Minio(
            url.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=url.scheme == "https",
            region=region,
        )
        if create_bucket and not self.client.bucket_exists(bucket):
            self.client.make_bucket(bucket)

    def __repr__(self) -> str:
        return f"S3Store({self.endpoint!r}, {self.bucket!r}, prefix={self.prefix!r})"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _failed(self, exc: Exception, action: str) -> BlobStorageFailed:
        return BlobStorageFailed(
            "the file storage failed: {reason}",
            key="blob_storage_failed",
            action=action,
            reason=str(exc),
        )

    def put(self, data: bytes, content_type: str = "application/octet-stream") -> str:
        key = key_of(data)
        name = self._name(key)
        try:  # written again even if present: LastModified is the reference time of the collector
            self.client.put_object(
                self.bucket, name, io.BytesIO(data), len(data), content_type=content_type
            )
        except Exception as exc:
            raise self._failed(exc, "put") from exc
        return key

    def get(self, key: str) -> bytes:
        from minio.error import S3Error

        name = self._name(key)
        try:
            response = self.client.get_object(self.bucket, name)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise BlobMissing(
                    "stored file {blob} is missing", key="blob_missing", blob=key
                ) from None
            raise self._failed(exc, "get") from exc
        except Exception as exc:
            raise self._failed(exc, "get") from exc
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    def _stat(self, key: str) -> Any:
        from minio.error import S3Error

        try:
            return self.client.stat_object(self.bucket, self._name(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"):
                return None
            raise self._failed(exc, "stat") from exc

    def exists(self, key: str) -> bool:
        return self._stat(key) is not None

    def modified(self, key: str) -> datetime | None:
        stat = self._stat(key)
        return None if stat is None else stat.last_modified

    def delete(self, key: str) -> None:
        name = self._name(key)
        try:
            self.client.remove_object(self.bucket, name)
        except Exception as exc:
            raise self._failed(exc, "delete") from exc

    def blobs(self) -> Iterator[StoredBlob]:
        for obj in self.client.list_objects(self.bucket, prefix=self.prefix, recursive=True):
            name = obj.object_name[len(self.prefix) :]
            if KEY.match(name) and obj.last_modified is not None:
                yield StoredBlob(name, obj.last_modified)


# --- which store ------------------------------------------------------------------------------


def default_directory(database_url: str) -> Path:
    """Where blobs go when nothing is configured: beside a SpatiaLite file, in a directory
    named after it (``var/renewmap.sqlite`` → ``var/renewmap-blobs``), so two databases never
    share (and never collect each other's) blobs; for PostGIS ``var/blobs``."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.parent / f"{db.stem}-blobs"
    return Path("var") / "blobs"


_cache: dict[tuple[Any, ...], BlobStore] = {}
_cache_lock = threading.Lock()


def store_from_settings(settings: Any, database_url: str | None = None) -> BlobStore:
    """The configured store: S3 when ``blob_s3_endpoint`` is set, else the directory
    ``blob_dir`` or the default directory of the database."""
    url = database_url or settings.database_url
    if settings.blob_s3_endpoint:
        ident: tuple[Any, ...] = (
            "s3",
            settings.blob_s3_endpoint,
            settings.blob_s3_bucket,
            settings.blob_s3_access_key,
            settings.blob_s3_secret_key,
            settings.blob_s3_region,
            settings.blob_s3_prefix,
        )
    else:
        root = Path(settings.blob_dir) if settings.blob_dir else default_directory(url)
        ident = ("dir", str(root.resolve()))
    with _cache_lock:
        store = _cache.get(ident)
        if store is None:
            if ident[0] == "s3":
                store = S3Store(
                    settings.blob_s3_endpoint,
                    settings.blob_s3_bucket,
                    access_key=settings.blob_s3_access_key or "",
                    secret_key=settings.blob_s3_secret_key or "",
                    region=settings.blob_s3_region,
                    prefix=settings.blob_s3_prefix,
                )
            else:
                store = DirectoryStore(ident[1])
            _cache[ident] = store
    return store


def store_for(session: Session) -> BlobStore:
    """The store of this session: the one its factory was given (``Session.info``), else the
    one configured by the environment for the session's database."""
    store: BlobStore | None = session.info.get(SESSION_STORE)
    if store is not None:
        return store
    from renewmap.settings import Settings

    bind = session.get_bind()
    url = bind.engine.url.render_as_string(hide_password=False)
    return store_from_settings(Settings(), url)


def put(session: Session, data: bytes, content_type: str) -> str:
    """Store ``data`` for a row about to be written in ``session``; its key."""
    return store_for(session).put(data, content_type)


def get(session: Session, key: str) -> bytes:
    return store_for(session).get(key)


# --- garbage collection -----------------------------------------------------------------------


def referenced_keys(session: Session) -> set[str]:
    """Every blob key a row names."""
    from renewmap.db.queries.blobs import blob_keys

    return set(blob_keys(session))


@dataclass
class Collected:
    kept: int = 0
    young: int = 0
    deleted: int = 0


def collect(
    store: BlobStore,
    referenced: Iterable[str] | Any,
    *,
    now: datetime | None = None,
    min_age: timedelta = GC_MIN_AGE,
    dry_run: bool = False,
) -> Collected:
    """Delete blobs no row names that are older than ``min_age``.

    ``referenced`` is read AFTER the listing (pass a callable) so a row committed meanwhile
    protects its blob; each candidate's age is read again just before it is deleted, so a
    blob put again (a new row with the same bytes) in the meantime is kept.
    """
    now = now or datetime.now(UTC)
    listed = list(store.blobs())
    refs = set(referenced() if callable(referenced) else referenced)
    out = Collected()
    for blob in listed:
        if blob.key in refs:
            out.kept += 1
            continue
        modified = store.modified(blob.key)
        if modified is None:
            continue
        if now - modified < min_age:
            out.young += 1
            continue
        if not dry_run:
            store.delete(blob.key)
        out.deleted += 1
    return out
