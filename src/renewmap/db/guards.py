"""What the two databases would answer differently, made the same in one place.

* NUL characters: PostgreSQL refuses them in text, SQLite stores them. Every flush checks the
  text (and JSON) of the rows it writes and refuses a NUL on both, naming the column.
* Integrity errors (unique, foreign key, not null, check): PostgreSQL reports an SQLSTATE,
  SQLite a message; ``integrity_problem`` turns either into the same domain error
  (``Conflict`` → 409 for a duplicate, ``InvalidInput`` → 422 for the rest).
* Waiting on another request: PostgreSQL makes a second writer of the same row or unique key
  wait for the first; under a burst the waiters hold every worker thread and the first
  cannot finish. ``exclusive`` is a try-lock (no waiting) for such hot spots, the app's
  connections give up waiting after ``LOCK_TIMEOUT_MS``, and ``operational_problem`` answers a
  lock that timed out (or a deadlock) as the 409 it is, a dead database as a 503.

Also here: ``keep_on_error``, for the rare write that must be committed although the request
fails (a failed sign-in is counted, then refused).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from renewmap.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    ReadTooLong,
    RenewMapError,
)
from renewmap.i18n import Msg

_PG_CODES = {"23505": "unique", "23503": "foreign_key", "23502": "not_null", "23514": "check"}
_SQLITE = {
    "UNIQUE constraint failed": "unique",
    "FOREIGN KEY constraint failed": "foreign_key",
    "NOT NULL constraint failed": "not_null",
    "CHECK constraint failed": "check",
}
_PG_KEY = re.compile(r"Key \(([^)]*)\)")
_PG_BUSY = {"55P03": "lock_timeout", "40P01": "deadlock", "40001": "serialization"}
LOCK_TIMEOUT_MS = 10_000  # a request's connection waits this long for another's lock


def integrity_problem(exc: IntegrityError) -> RenewMapError:
    """The domain error for a refused write: the same on PostGIS and SpatiaLite."""
    orig = exc.orig
    text = str(orig) if orig is not None else str(exc)
    kind = _PG_CODES.get(getattr(orig, "sqlstate", None) or "")
    columns = ""
    if kind is None:
        for prefix, name in _SQLITE.items():
            if prefix in text:
                kind = name
                rest = text.split(prefix, 1)[1].strip(" :").splitlines()
                columns = rest[0] if rest else ""
                break
    else:
        diag = getattr(orig, "diag", None)
        detail = getattr(diag, "message_detail", None) or ""
        found = _PG_KEY.search(detail)
        table = getattr(diag, "table_name", None) or ""
        column = getattr(diag, "column_name", None)
        if found:
            columns = ", ".join(f"{table}.{c.strip()}" for c in found.group(1).split(","))
        elif column:
            columns = f"{table}.{column}"
    kind = kind or "integrity"
    if kind == "unique":
        return Conflict(
            "this already exists ({columns}): it was saved before, "
            "perhaps just now by a request sent twice",
            key="already_exists",
            constraint=kind,
            columns=columns or Msg("a unique value"),
        )
    if kind == "foreign_key":
        return InvalidInput(
            "a referenced record does not exist (or is still referenced)",
            key="reference_missing",
            constraint=kind,
        )
    return InvalidInput(
        "a value cannot be stored ({constraint} constraint {columns})",
        key="constraint_violated",
        constraint=kind.replace("_", " "),
        columns=columns,
    )


def operational_problem(exc: Exception) -> RenewMapError:
    """A lock that timed out, a deadlock or a serialization failure: a 409 (someone else is
    changing the same thing; try again). A public read cut off by its time budget: a 503
    saying so. Anything else: the database is unavailable (503, try again shortly)."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or ""
    busy = _PG_BUSY.get(sqlstate)
    if busy is not None:
        return Conflict(
            "someone else is changing the same record at this moment; try again",
            key="record_busy",
            reason=busy,
            retry_after=1,
        )
    if sqlstate == "57014" or str(orig).strip() == "interrupted":
        return ReadTooLong(
            "this read took longer than the server allows; ask for less (a smaller area, "
            "a deeper zoom or a filter)",
            key="read_timeout",
            retry_after=5,
        )
    return DatabaseUnavailable(
        "the database is unavailable; try again shortly",
        key="database_unavailable",
        retry_after=5,
    )


# --- the time budget of public reads ---------------------------------------------------------

PUBLIC_READ = "renewmap.public_read_timeout_ms"  # in a session's info: its reads are bounded
SQLITE_PROGRESS_STEPS = 10_000  # virtual machine steps between two looks at the clock


def _bound_public_read(session: Session, _transaction: Any, connection: Any) -> None:
    """SQLite has no statement timeout: a progress handler interrupts a public read past its
    budget (PostgreSQL's engines for public reads set ``statement_timeout`` instead). The
    handler is removed when the connection goes back to the pool (``db.engine``)."""
    budget = session.info.get(PUBLIC_READ)
    if budget is None or connection.dialect.name != "sqlite":
        return
    deadline = time.monotonic() + budget / 1000
    driver = connection.connection.driver_connection
    driver.set_progress_handler(lambda: int(time.monotonic() > deadline), SQLITE_PROGRESS_STEPS)


def exclusive(session: Session, key: str) -> bool:
    """Take a lock on ``key`` for this transaction without waiting: False when another
    transaction holds it (answer at once instead of queueing on a row lock). PostgreSQL: an
    advisory lock; SQLite: always True (``BEGIN IMMEDIATE`` already serialises writers)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(number))))


# --- NUL --------------------------------------------------------------------------------------


def _nul_in(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 64:
        return False
    if isinstance(value, Mapping):
        return any(_nul_in(k, depth + 1) or _nul_in(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_nul_in(v, depth + 1) for v in value)
    return False


def _refuse_nul(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            value = state.attrs[attr.key].loaded_value
            if _nul_in(value):
                table = state.mapper.local_table.name
                raise InvalidInput(
                    "{field}: text must not contain a NUL character (\\0)",
                    key="text_nul",
                    field=attr.key,
                    table=table,
                )


def install() -> None:
    """Check every session's writes for NUL characters, bound public reads (once per
    process)."""
    if not event.contains(Session, "before_flush", _refuse_nul):
        event.listen(Session, "before_flush", _refuse_nul)
    if not event.contains(Session, "after_begin", _bound_public_read):
        event.listen(Session, "after_begin", _bound_public_read)


KEEP_ON_ERROR = "renewmap.keep_on_error"


def keep_on_error(session: Session) -> None:
    """Commit this session's writes even though the request ends in an error (the request's
    transaction scope honours it): e.g. a failed sign-in, counted and then refused."""
    session.info[KEEP_ON_ERROR] = True


def finish(session: Session, *, failed: bool) -> None:
    """End a request's transaction: commit, or roll back unless ``keep_on_error`` was asked."""
    if failed and not session.info.pop(KEEP_ON_ERROR, False):
        session.rollback()
    else:
        session.commit()
