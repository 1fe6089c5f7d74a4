"""``/static``: the app's own files (Leaflet, the pages' modules and stylesheets), gzipped once.

Compressing Leaflet again for every request cost each page load tens of milliseconds of the
server's time on a loaded machine (issue 16): the files change only with a release, so each
is compressed once, at level 9, on its first request and kept in memory, keyed by its path,
modification time and size (a changed file is compressed again). Every answer carries an
ETag (a different one for the gzip and the plain form), ``Vary: Accept-Encoding`` and
``Cache-Control: no-cache``: the URLs carry no version, so a browser asks again each time and
gets ``304 Not Modified`` while the file is unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import threading
from dataclasses import dataclass
from email.utils import formatdate

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

COMPRESSIBLE = frozenset({".js", ".mjs", ".css", ".svg", ".json", ".geojson", ".md", ".txt"})
MINIMUM_SIZE = 1000  # smaller files gain nothing
MAXIMUM_SIZE = 4 * 1024 * 1024  # bigger ones are sent as they are (none is, today)
LEVEL = 9  # once per file version, so the smallest output
CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class Entry:
    """One version of one file: its validators and, when worth it, its gzip bytes."""

    mtime_ns: int
    size: int
    etag: str  # the plain file's, quoted
    gzipped: bytes | None


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` allows gzip (``gzip;q=0`` refuses it)."""
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    return etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]


class CachedStatic(StaticFiles):
    """StaticFiles that answers gzip from a per-version in-memory cache, with ETags and 304s."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._cache: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self.compressions = 0  # how many times a file was compressed (tests read it)

    def entry(self, full_path: str, stat_result: os.stat_result) -> Entry:
        """The cached entry of this version of the file, made on first use."""
        key = os.fspath(full_path)
        found = self._cache.get(key)
        if (
            found is not None
            and found.mtime_ns == stat_result.st_mtime_ns
            and found.size == stat_result.st_size
        ):
            return found
        with self._lock:
            stamp = f"{stat_result.st_mtime_ns}-{stat_result.st_size}"
            etag = '"' + hashlib.md5(stamp.encode(), usedforsecurity=False).hexdigest() + '"'
            made = Entry(stat_result.st_mtime_ns, stat_result.st_size, etag, None)
            suffix = os.path.splitext(key)[1].lower()
            if suffix in COMPRESSIBLE and MINIMUM_SIZE <= stat_result.st_size <= MAXIMUM_SIZE:
                with open(key, "rb") as f:
                    data = f.read()
                if len(data) != stat_result.st_size:
                    return made  # replaced since it was stat'ed: compressed on a later request
                packed = gzip.compress(data, compresslevel=LEVEL, mtime=0)
                self.compressions += 1
                if len(packed) < len(data):
                    made = Entry(made.mtime_ns, made.size, etag, packed)
            self._cache[key] = made
            return made

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        request = Headers(scope=scope)
        entry = self.entry(os.fspath(full_path), stat_result)
        use_gzip = (
            entry.gzipped is not None
            and status_code == 200
            and "range" not in request
            and accepts_gzip(request.get("accept-encoding"))
        )
        etag = entry.etag[:-1] + '-gz"' if use_gzip else entry.etag
        headers = {
            "etag": etag,
            "cache-control": CACHE_CONTROL,
            "last-modified": formatdate(stat_result.st_mtime, usegmt=True),
        }
        if entry.gzipped is not None:
            headers["vary"] = "Accept-Encoding"
        if status_code == 200 and _matches(request.get("if-none-match", ""), etag):
            return NotModifiedResponse(Headers(headers))
        if not use_gzip:
            plain = FileResponse(full_path, status_code=status_code, stat_result=stat_result)
            plain.headers.update(headers)
            if "if-none-match" not in request and self.is_not_modified(plain.headers, request):
                return NotModifiedResponse(plain.headers)
            return plain
        assert entry.gzipped is not None
        response = Response(
            b"" if scope.get("method") == "HEAD" else entry.gzipped,
            status_code=status_code,
            media_type=mimetypes.guess_type(os.fspath(full_path))[0] or "application/octet-stream",
            headers={**headers, "content-encoding": "gzip"},
        )
        response.headers["content-length"] = str(len(entry.gzipped))
        return response
