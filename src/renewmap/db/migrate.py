"""Alembic migrations, run programmatically: by ``renewmap db upgrade`` (an explicit step of a
deployment), by tests, and by the demo; the app and every other command only check that the
database is at the code's revision (``check_current``) and refuse to start otherwise.

Upgrades are serialised: on PostgreSQL by an advisory lock held for the upgrade's
transaction, on SQLite by taking the write lock at BEGIN. Three upgrades started at once
(three containers, a rolling deploy) run one after the other; the later ones find the schema
current and do nothing.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, inspect, select, text

from renewmap.errors import SchemaOutdated

MIGRATIONS = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key of the upgrade (any constant shared by every process: "RenewMap")
UPGRADE_LOCK = 0x52656E65774D6170


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _locked(engine: Engine) -> Engine:
    """The engine whose transactions serialise with other upgrades."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(UPGRADE_LOCK)))


Heads = tuple[set[str], set[str]]


def _heads(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def upgrade(engine: Engine, revision: str = "head") -> Heads:
    """Bring the schema to ``revision`` in one transaction, one upgrade at a time; the
    revisions before and after (as this upgrade found them, once it had the lock)."""
    with _locked(engine).begin() as conn:
        _lock(conn)
        before = _heads(conn)
        command.upgrade(alembic_config(conn), revision)
        return before, _heads(conn)


def downgrade(engine: Engine, revision: str = "base") -> Heads:
    with _locked(engine).begin() as conn:
        _lock(conn)
        before = _heads(conn)
        command.downgrade(alembic_config(conn), revision)
        return before, _heads(conn)


@functools.cache
def code_heads() -> frozenset[str]:
    """The revisions this code's migrations end at (read once per process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def database_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (empty: never migrated); one small query, cheap
    enough for a readiness probe."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return set()
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def check_current(engine: Engine) -> None:
    """Raise ``SchemaOutdated`` unless the database is exactly at the code's revision."""
    have, want = database_heads(engine), code_heads()
    if have == want:
        return
    if not have:
        raise SchemaOutdated(
            "the database has no RenewMap schema yet: run `renewmap db upgrade` first (with "
            "the new code's package), then start the app",
            key="schema_missing",
            database=[],
            code=sorted(want),
        )
    if have - want and not (want - have):
        raise SchemaOutdated(
            "the database is at {database}, newer than this code ({code}): run `renewmap db "
            "upgrade` first (with the new code's package), then start the app",
            key="schema_newer",
            database=", ".join(sorted(have)),
            code=", ".join(sorted(want)),
        )
    raise SchemaOutdated(
        "the database is at {database}, this code needs {code}: run `renewmap db upgrade` "
        "first (with the new code's package), then start the app",
        key="schema_outdated",
        database=", ".join(sorted(have)),
        code=", ".join(sorted(want)),
    )


def is_initialised(engine: Engine) -> bool:
    with engine.connect() as conn:
        return inspect(conn).has_table("community")
