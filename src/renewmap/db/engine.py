"""Engines for both spatial databases.

SpatiaLite is the embedded default. Many Python builds (pyenv's among them) compile the
``sqlite3`` module without extension loading; then ``pysqlite3`` (``pysqlite3-binary``) is
used instead. If ``mod_spatialite`` cannot be loaded, we stop with the package to install.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from renewmap.errors import SpatialBackendMissing

if TYPE_CHECKING:
    from renewmap.settings import Settings

SPATIALITE_PACKAGE = "libsqlite3-mod-spatialite"


def sqlite_module() -> ModuleType:
    """A DB-API sqlite module that can load extensions."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        import pysqlite3.dbapi2 as pysqlite3
    except ImportError as exc:
        raise SpatialBackendMissing(
            "This Python's sqlite3 module cannot load extensions and pysqlite3 is not "
            "installed: run `pip install pysqlite3-binary` (or use a Python built with "
            "--enable-loadable-sqlite-extensions).",
            key="sqlite_extensions_unavailable",
        ) from exc
    return pysqlite3


def _load_spatialite(dbapi_conn: Any, library: str) -> None:
    dbapi_conn.enable_load_extension(True)
    try:
        dbapi_conn.load_extension(library)
    except Exception as exc:
        raise SpatialBackendMissing(
            "Cannot load the SpatiaLite extension '{library}' ({reason}). "
            "Install it with `apt-get install {package}` "
            "or set RENEWMAP_SPATIALITE_LIBRARY to its path.",
            key="spatialite_missing",
            library=library,
            reason=str(exc),
            package=SPATIALITE_PACKAGE,
        ) from exc
    finally:
        dbapi_conn.enable_load_extension(False)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='spatial_ref_sys'")
    if cur.fetchone()[0] == 0:
        # WGS84 mode: EPSG:4326 and every WGS84-based CRS (all UTM zones), in a second.
        cur.execute("SELECT InitSpatialMetaData(1, 'WGS84')")
    cur.close()


# JIT off: its cost model misjudges PostGIS functions on our short queries (a page of 1,000
# suggestions in a box took 150 ms instead of 30 with JIT compiling the geometry test).
POSTGRES_CONNECT_ARGS = {"options": "-c jit=off"}


def postgres_driver_args(*, prepared_statements: bool) -> dict[str, Any]:
    """psycopg's connection arguments: no server-side prepared statements when they are off
    (psycopg prepares a statement run five times on a connection by default)."""
    return {} if prepared_statements else {"prepare_threshold": None}


def make_engine(
    url: str,
    *,
    spatialite_library: str = "mod_spatialite",
    echo: bool = False,
    pool_pre_ping: bool = False,
    lock_timeout_ms: int | None = None,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout_s: float = 30.0,
    busy_timeout_s: float = 30.0,
    prepared_statements: bool = True,
) -> Engine:
    """Create an engine for ``sqlite:///…`` (SpatiaLite) or ``postgresql+psycopg://…`` (PostGIS).

    ``pool_*``: connections kept, extra ones allowed under load, and how long a checkout
    waits (then ``sqlalchemy.exc.TimeoutError``, answered 503 by the app). ``busy_timeout_s``:
    how long a SQLite writer waits for the write lock. ``prepared_statements``: False behind
    a pooler that hands each transaction another server connection (PgBouncer's transaction
    mode before 1.21).
    """
    from renewmap.db import guards

    guards.install()  # both databases refuse a NUL character in text alike
    parsed = make_url(url)
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout_s}
    if parsed.get_backend_name() == "sqlite":
        module = sqlite_module()
        memory = not parsed.database or parsed.database == ":memory:"
        if not memory:
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            module=module,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
            **({} if memory else pool),
        )
        busy_ms = int(busy_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, manage transactions (needed for SAVEPOINT and
            # transactional DDL; see SQLAlchemy's pysqlite notes).
            dbapi_conn.isolation_level = None
            _load_spatialite(dbapi_conn, spatialite_library)
            # Loading mod_spatialite sets the busy timeout back to 5 s: set it again, after.
            dbapi_conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
            # WAL: a commit need not reach the disk before the next (it does at checkpoints);
            # a power cut loses at most the last commits, never the database.
            dbapi_conn.execute("PRAGMA synchronous = NORMAL")

        @event.listens_for(engine, "checkin")
        def _on_checkin(dbapi_conn: Any, _record: Any) -> None:
            if dbapi_conn is not None:  # a public read's time budget ends with its use
                dbapi_conn.set_progress_handler(None, 0)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "")  # see write_bind
            conn.exec_driver_sql(f"BEGIN {mode}" if mode in ("IMMEDIATE", "EXCLUSIVE") else "BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql":
        # Disconnects are still detected (the pool is invalidated on the error); pre-ping
        # would add a round trip to every request.
        connect_args: dict[str, Any] = {
            **POSTGRES_CONNECT_ARGS,
            **postgres_driver_args(prepared_statements=prepared_statements),
        }
        if lock_timeout_ms is not None:  # the app: no request waits forever on another
            connect_args["options"] += f" -c lock_timeout={int(lock_timeout_ms)}"
        return create_engine(
            parsed, echo=echo, pool_pre_ping=pool_pre_ping, connect_args=connect_args, **pool
        )
    raise SpatialBackendMissing(
        "Unsupported database URL '{url}': "
        "use sqlite:///path.sqlite (SpatiaLite) or postgresql+psycopg://… (PostGIS).",
        key="database_url_unsupported",
        url=parsed.render_as_string(hide_password=True),
    )


def engine_from_settings(
    settings: Settings, *, url: str | None = None, lock_timeout_ms: int | None = None
) -> Engine:
    """The engine the settings describe (``url``: another database, e.g. the read replica)."""
    return make_engine(
        url or settings.database_url,
        spatialite_library=settings.spatialite_library,
        echo=settings.sql_echo,
        pool_pre_ping=settings.db_pool_pre_ping,
        lock_timeout_ms=lock_timeout_ms,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout_s=settings.db_pool_timeout_s,
        busy_timeout_s=settings.sqlite_busy_timeout_s,
        prepared_statements=settings.db_prepared_statements,
    )
