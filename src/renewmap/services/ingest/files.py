"""Files in and out: uploads checked before use, outputs written atomically (a failed export
never leaves a partial file behind), SQLite-based inputs (GeoPackage) inspected safely."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from renewmap.errors import InvalidInput, OutputFailed, PayloadTooLarge
from renewmap.i18n import N_, Msg

UPLOAD_KINDS = {"file": N_("file"), "attachment": N_("attachment")}
# Files kept with a record (a process step's, a meeting's): documents and photos people open.
MAX_ATTACHMENT = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` in one step."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent
        )
        os.close(fd)
        os.unlink(tmp_name)  # drivers want to create the file themselves
    except OSError as exc:
        raise OutputFailed(
            "{file}: cannot write here ({reason})",
            key="output_not_writable",
            file=str(target),
            reason=str(exc.strerror),
        ) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputFailed(
            "{file}: cannot write ({reason})",
            key="output_write_failed",
            file=str(target),
            reason=str(exc.strerror),
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def checked_upload(filename: str | None, data: bytes, *, limit: int, what: str = "file") -> str:
    """The upload's bare file name, once it is known to be neither empty nor over ``limit``
    bytes (413); messages name the file."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "upload"
    if len(data) > limit:
        raise PayloadTooLarge(
            "{what} '{file}' is {size:.1f} MB; the limit is {limit_mb} MB",
            key="upload_too_large",
            what=Msg(UPLOAD_KINDS.get(what, what)),
            file=name,
            size=len(data) / 1024 / 1024,
            limit_mb=limit // 1024 // 1024,
            field="file",
        )
    if not data:
        raise InvalidInput(
            "{what} '{file}' is empty",
            key="upload_empty",
            what=Msg(UPLOAD_KINDS.get(what, what)),
            file=name,
            field="file",
        )
    return name


SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_BUDGET_S = 5.0
# Triggers GeoPackage writers add themselves (spatial index, tile matrix checks, GDAL's
# feature counts). They run only on writes, and uploads are opened read-only.
STANDARD_TRIGGERS = (
    "rtree_",
    "gpkg_",
    "trigger_insert_feature_count_",
    "trigger_delete_feature_count_",
)


def is_sqlite(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(16) == SQLITE_MAGIC


def check_sqlite_input(
    path: str | Path, *, name: str, budget_s: float = SQLITE_BUDGET_S, protect: bool = False
) -> None:
    """Before GDAL reads a GeoPackage (or any SQLite file): open it read-only and immutable,
    refuse views (a query that runs on every read: a recursive one never ends) and triggers
    a GeoPackage writer would not add, and touch every table within ``budget_s`` seconds
    (a progress handler interrupts SQLite beyond it). ``protect``: also make the file itself
    read-only (an upload's temporary copy), so no reader can write through it."""
    p = Path(path)
    if protect:
        with contextlib.suppress(OSError):
            p.chmod(0o400)
    uri = f"file:{quote(str(p.resolve()))}?mode=ro&immutable=1"
    deadline = time.monotonic() + budget_s
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=0)
    except sqlite3.Error as exc:
        raise InvalidInput(
            "file '{file}' cannot be read: {reason}",
            key="import_unreadable",
            file=name,
            reason=str(exc),
            field="file",
        ) from None
    try:
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1_000)

        def query(sql: str) -> list[Any]:
            rows = conn.execute(sql).fetchall()
            if time.monotonic() > deadline:  # between statements too
                raise sqlite3.OperationalError("interrupted")
            return rows

        objects = query(
            "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger')"
        )
        views = sorted(n for t, n in objects if t == "view")
        if views:
            raise InvalidInput(
                "file '{file}' holds views ({views}); a GeoPackage for import "
                "may hold tables only (save the view's result as a layer)",
                key="gpkg_views",
                file=name,
                field="file",
                views=views[:5],
            )
        triggers = sorted(
            n for t, n in objects if t == "trigger" and not n.startswith(STANDARD_TRIGGERS)
        )
        if triggers:
            raise InvalidInput(
                "file '{file}' holds triggers ({triggers}); a GeoPackage for "
                "import may hold tables only",
                key="gpkg_triggers",
                file=name,
                field="file",
                triggers=triggers[:5],
            )
        for _kind, table in (o for o in objects if o[0] == "table"):
            query(f'SELECT count(*) FROM "{table.replace(chr(34), chr(34) * 2)}"')
    except sqlite3.OperationalError as exc:
        if time.monotonic() > deadline:
            raise InvalidInput(
                "file '{file}' takes longer than {limit_s:g} s to read; it is refused",
                key="gpkg_too_slow",
                file=name,
                field="file",
                limit_s=budget_s,
            ) from None
        raise InvalidInput(
            "file '{file}' cannot be read: {reason}",
            key="import_unreadable",
            file=name,
            reason=str(exc),
            field="file",
        ) from None
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(
            "file '{file}' is not a readable GeoPackage: {reason}",
            key="gpkg_unreadable",
            file=name,
            reason=str(exc),
            field="file",
        ) from None
    finally:
        conn.close()


def checked_attachment(filename: str | None, data: bytes) -> tuple[str, str]:
    """An attachment's bare name and media type, once it is known to be a kind people can
    open (PDF, JPEG, PNG, text, Word/Excel/PowerPoint; by its name, and a PDF by its first
    bytes), neither empty nor over 10 MB. The same rules wherever a record keeps files."""
    name = checked_upload(filename, data, limit=MAX_ATTACHMENT, what="attachment")
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media not in ATTACHMENT_TYPES:
        raise InvalidInput(
            "attachment '{file}': use PDF, JPEG, PNG, text or Word/Excel/PowerPoint files",
            key="attachment_type",
            file=name,
            field="file",
        )
    if media == "application/pdf" and not data.startswith(b"%PDF"):
        raise InvalidInput(
            "attachment '{file}' is not a PDF file",
            key="attachment_not_pdf",
            file=name,
            field="file",
        )
    return name, media
