"""Rate limits per client address (or API key) and action, shared by every worker and machine.

A limit is "at most N events in any window of W seconds". Where the counts live is a
pluggable store (``RENEWMAP_RATE_LIMIT_BACKEND``):

* ``database`` (default): counters in the application's database, so four workers, or two
  machines behind one proxy, share one count per address. Each window is counted in tenths
  (buckets); an event is counted until a whole window has passed after its tenth ended, so a
  client never gets more than N events into any window (it may wait up to a tenth longer).
  One short transaction per event: an upsert of the current tenth, the sum, and the event
  taken back when it is over the limit. Concurrent events of one key queue on that row, so
  none is lost and the limit holds exactly. The counters' transaction is never the request's:
  a try counts even when the request fails and its transaction is rolled back. On PostgreSQL
  it runs on its own pooled connection. On SQLite one writer holds the whole file until it
  commits, and a request's write transaction (``BEGIN IMMEDIATE``) holds it from its first
  statement: counting in that file from inside the request would wait for the request itself.
  So on SQLite the counters live in a file of their own beside the database
  (``renewmap.sqlite-ratelimit``, like its ``-wal`` file; every worker opens the same one),
  and a limit may be hit anywhere in a request.
* ``memory``: a sliding log in this process (one worker only; tests).
* ``package.module:factory``: your own store, ``factory(settings, engine)`` returning an
  object with the ``RateStore`` methods (e.g. Redis).

The client is keyed after ``RENEWMAP_TRUSTED_PROXIES`` are applied (``api.trust``); an IPv6
client by its /64, since one household's devices share one.
"""

from __future__ import annotations

import importlib
import ipaddress
import math
import random
import threading
import time
from collections import defaultdict, deque
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from sqlalchemy import Engine, delete, select, update

from renewmap.errors import RateLimited

TENTHS = 10  # buckets per window
CLEANUP_ODDS = 200  # about one event in this many also deletes every expired bucket


class RateStore(Protocol):
    def hit(self, key: str, *, limit: int, window_s: float, now: float) -> float | None:
        """Count one event of ``key``; None if it is within ``limit``, otherwise (not counted)
        the seconds until one more would be."""

    def check(self, key: str, *, limit: int, window_s: float, now: float) -> float | None:
        """Like ``hit`` without counting anything."""


class MemoryStore:
    """Sliding log per key, in this process."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _wait(self, key: str, limit: int, window_s: float, now: float) -> float | None:
        q = self._events[key]
        while q and q[0] <= now - window_s:
            q.popleft()
        if len(q) >= limit:
            return q[len(q) - limit] + window_s - now
        return None

    def hit(self, key: str, *, limit: int, window_s: float, now: float) -> float | None:
        with self._lock:
            wait = self._wait(key, limit, window_s, now)
            if wait is None:
                self._events[key].append(now)
            return wait

    def check(self, key: str, *, limit: int, window_s: float, now: float) -> float | None:
        with self._lock:
            return self._wait(key, limit, window_s, now)


class DatabaseStore:
    """Counters in the ``rate_bucket`` table (one row per key and tenth of a window): in the
    application's database on PostgreSQL, in a file of their own beside it on SQLite."""

    def __init__(self, engine: Engine) -> None:
        from renewmap.db.dialect import write_bind

        self._serial: AbstractContextManager[Any] = nullcontext()
        if engine.dialect.name == "sqlite":
            self.engine, memory = _sqlite_counters(engine)
            if memory:  # one shared connection: one event at a time
                self._serial = threading.Lock()
        else:
            self.engine = write_bind(engine)

    def hit(self, key: str, *, limit: int, window_s: float, now: float) -> float | None:
        with self._serial:
            return self._hit(key, limit=limit, window_s=window_s, now=now)

    def check(self, key: str, *, limit: int, window_s: float, now: float) -> float | None:
        with self._serial:
            return self._check(key, limit=limit, window_s=window_s, now=now)

    @staticmethod
    def _tenth(window_s: float) -> float:
        return window_s / TENTHS

    def _wait(self, rows: list[tuple[int, int]], limit: int, tenth: float, now: float) -> float:
        """Seconds until the counted events drop below ``limit`` (the oldest tenths expire)."""
        total = sum(hits for _, hits in rows)
        for bucket, hits in sorted(rows):
            total -= hits
            if total < limit:
                return (bucket + TENTHS + 1) * tenth - now
        return TENTHS * tenth

    def _counted(self, conn: Any, key: str, current: int) -> list[tuple[int, int]]:
        from renewmap.db.models import RateBucket

        rows = conn.execute(
            select(RateBucket.bucket, RateBucket.hits).where(
                RateBucket.key == key, RateBucket.bucket >= current - TENTHS
            )
        ).all()
        return [(int(b), int(h)) for b, h in rows]

    def _hit(self, key: str, *, limit: int, window_s: float, now: float) -> float | None:
        from renewmap.db.models import RateBucket

        tenth = self._tenth(window_s)
        current = math.floor(now / tenth)
        expires = math.ceil((current + TENTHS + 1) * tenth)
        table = RateBucket.__table__
        with self.engine.begin() as conn:
            insert = _upsert(conn.dialect.name)
            stmt = (
                insert(table)
                .values(key=key, bucket=current, hits=1, expires=expires)
                .on_conflict_do_update(
                    index_elements=[table.c.key, table.c.bucket],
                    set_={"hits": table.c.hits + 1},
                )
                .returning(table.c.hits)
            )
            first = conn.execute(stmt).scalar_one() == 1
            rows = self._counted(conn, key, current)
            if sum(hits for _, hits in rows) > limit:
                conn.execute(
                    update(table)
                    .where(table.c.key == key, table.c.bucket == current)
                    .values(hits=table.c.hits - 1)
                )
                others = [(b, h - (1 if b == current else 0)) for b, h in rows]
                return self._wait(others, limit, tenth, now)
            if first:  # a new tenth for this key: its expired ones go
                conn.execute(
                    delete(table).where(table.c.key == key, table.c.bucket < current - TENTHS)
                )
            if random.randrange(CLEANUP_ODDS) == 0:
                conn.execute(delete(table).where(table.c.expires < int(now)))
        return None

    def _check(self, key: str, *, limit: int, window_s: float, now: float) -> float | None:
        tenth = self._tenth(window_s)
        current = math.floor(now / tenth)
        with self.engine.connect() as conn:
            rows = self._counted(conn, key, current)
        if sum(hits for _, hits in rows) >= limit:
            return self._wait(rows, limit, tenth, now)
        return None


COUNTERS_SUFFIX = "-ratelimit"
COUNTERS_BUSY_MS = 5000  # counters' transactions are a few statements: a wait is short


def counters_path(database: str) -> str:
    """The SQLite file of the rate-limit counters of the SQLite database ``database``."""
    return database + COUNTERS_SUFFIX


def _sqlite_counters(engine: Engine) -> tuple[Engine, bool]:
    """An engine on the counters' own SQLite file (made with its table if new), and whether
    it is in memory (the database is: a single process, nothing to share)."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import StaticPool
    from sqlalchemy.schema import CreateIndex, CreateTable

    from renewmap.db.models import RateBucket

    database = engine.url.database
    memory = not database or database == ":memory:"
    if memory:
        counters = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        assert database is not None
        counters = create_engine(
            f"sqlite:///{counters_path(database)}",
            connect_args={"check_same_thread": False, "timeout": COUNTERS_BUSY_MS / 1000},
        )

    @event.listens_for(counters, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy begins, as below
        dbapi_conn.execute(f"PRAGMA busy_timeout = {COUNTERS_BUSY_MS}")
        if not memory:
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
            dbapi_conn.execute("PRAGMA synchronous = NORMAL")  # counts, not records

    @event.listens_for(counters, "begin")
    def _on_begin(conn: Any) -> None:
        # the write lock from the start: the upsert, the sum and the take-back are one step
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    table = RateBucket.__table__
    with counters.begin() as conn:  # every worker may do this at once: IF NOT EXISTS
        conn.execute(CreateTable(table, if_not_exists=True))
        for index in table.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))
    return counters, memory


def _upsert(dialect: str) -> Any:
    """The dialect's INSERT with ON CONFLICT (PostgreSQL and SQLite spell it alike)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def make_store(backend: str, *, settings: Any, engine: Engine | None) -> RateStore:
    """The store ``RENEWMAP_RATE_LIMIT_BACKEND`` names."""
    if backend == "memory" or (backend == "database" and engine is None):
        return MemoryStore()
    if backend == "database":
        assert engine is not None
        return DatabaseStore(engine)
    module, _, name = backend.partition(":")
    if not module or not name:
        raise ValueError(
            f"RENEWMAP_RATE_LIMIT_BACKEND={backend!r}: use 'database', 'memory' or "
            "'package.module:factory'"
        )
    factory = getattr(importlib.import_module(module), name)
    store: RateStore = factory(settings, engine)
    return store


def client_key(address: str) -> str:
    """The key of a client address: itself, or its /64 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class RateLimiter:
    def __init__(self, limits: dict[str, tuple[int, float]], store: RateStore | None = None):
        """``limits``: action → (max events, window in seconds)."""
        self.limits = limits
        self.store: RateStore = store or MemoryStore()

    def _refuse(self, action: str, wait: float) -> RateLimited:
        retry = max(1, math.ceil(wait))
        return RateLimited(
            "too many attempts from this address; try again in {retry_after} s",
            key="rate_limited",
            action=action,
            retry_after=retry,
        )

    def hit(self, action: str, client: str, *, now: float | None = None) -> None:
        """Record one event, or raise RateLimited (HTTP 429) with the seconds to wait."""
        limit, window = self.limits[action]
        now = time.time() if now is None else now
        wait = self.store.hit(f"{action}:{client}", limit=limit, window_s=window, now=now)
        if wait is not None:
            raise self._refuse(action, wait)

    def check(self, action: str, client: str, *, now: float | None = None) -> None:
        """Raise RateLimited if ``client`` has used up ``action`` (records nothing): for
        actions counted only when they fail (a wrong code), checked before each try."""
        limit, window = self.limits[action]
        now = time.time() if now is None else now
        wait = self.store.check(f"{action}:{client}", limit=limit, window_s=window, now=now)
        if wait is not None:
            raise self._refuse(action, wait)
