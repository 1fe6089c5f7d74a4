"""Migrations down and up again on both databases, on a fresh database each."""

from __future__ import annotations

from sqlalchemy import text


def test_migration_0013_round_trip(database_url_factory) -> None:
    from sqlalchemy import inspect

    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import downgrade, upgrade

    e = make_engine(database_url_factory())
    try:
        upgrade(e)
        downgrade(e, "0012")
        with e.connect() as conn:
            assert not inspect(conn).has_table("api_key")
            assert "media_url" not in {c["name"] for c in inspect(conn).get_columns("request")}
        upgrade(e)
        with e.connect() as conn:
            assert inspect(conn).has_table("api_key")
            columns = {c["name"] for c in inspect(conn).get_columns("request")}
            assert {
                "api_key_id",
                "attributes",
                "media_url",
                "contact_email",
                "contact_name",
            } <= columns
            # the request table's geometry still works after the plain ADD/DROP COLUMNs
            conn.execute(text("SELECT count(*) FROM request")).scalar_one()
    finally:
        e.dispose()


def test_three_upgrades_at_once_run_one_after_the_other(database_url_factory) -> None:
    """Three `renewmap db upgrade` started together on an empty database (three containers
    of a deploy): all succeed, the schema is current, and it was created once."""
    import os
    import subprocess
    import sys

    url = database_url_factory()
    env = {**os.environ, "RENEWMAP_DATABASE_URL": url}
    cli = [sys.executable, "-m", "renewmap.cli", "--lang", "en"]
    runs = [
        subprocess.Popen(
            [*cli, "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=300), *p.communicate()) for p in runs]
    assert [code for code, _, _ in outcomes] == [0, 0, 0], outcomes
    # one of them did the work, the others found it done
    assert sum("empty →" in out for _, out, _ in outcomes) == 1, outcomes
    done = subprocess.run([*cli, "db", "check"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "current" in done.stdout


def test_the_app_and_commands_refuse_a_database_that_was_not_upgraded(
    database_url_factory,
) -> None:
    import os
    import subprocess
    import sys

    url = database_url_factory()
    env = {**os.environ, "RENEWMAP_DATABASE_URL": url}
    cli = [sys.executable, "-m", "renewmap.cli", "--lang", "en"]
    for args in (["serve", "--port", "1"], ["apikey", "list"], ["db", "check"]):
        done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "run `renewmap db upgrade` first" in done.stderr
    # nothing was created by trying
    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import database_heads

    engine = make_engine(url)
    try:
        assert database_heads(engine) == set()
    finally:
        engine.dispose()


def test_migration_0019_gives_waiting_messages_a_key_and_round_trips(database_url_factory):
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect
    from sqlalchemy.orm import Session

    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import alembic_config, downgrade, upgrade
    from renewmap.services.requests import suggestions
    from tests.support.places import add_test_community, pt

    before = ScriptDirectory.from_config(alembic_config()).get_revision("0019_prod").down_revision
    e = make_engine(database_url_factory())
    try:
        upgrade(e)
        # the rows are written by today's models (later migrations may add columns to these
        # tables), then the schema goes back to before 0019_prod
        with Session(e) as s, s.begin():  # no staff: no outbox row is written by the model
            add_test_community(s)
            suggestions.create_suggestion(
                s, secret="s", geom=pt(0.5, 0.5), category="lighting", title="旧"
            )
        downgrade(e, str(before))
        with e.connect() as conn:
            assert not inspect(conn).has_table("rate_bucket")
            columns = {c["name"] for c in inspect(conn).get_columns("notification")}
            assert "idempotency_key" not in columns
        with e.begin() as conn:  # a message waiting in the outbox of the older version
            conn.execute(
                text(
                    "INSERT INTO notification (request_id, reason, channel, target, payload, "
                    "status, attempts, next_attempt_at, created_at) SELECT id, 'new', 'email', "
                    "'a@example.org', '{}', 'pending', 0, created_at, created_at FROM request"
                )
            )
        upgrade(e)
        with e.connect() as conn:
            keys = conn.execute(text("SELECT idempotency_key FROM notification")).scalars().all()
            assert inspect(conn).has_table("rate_bucket")
        assert len(keys) == 1 and keys[0].startswith("legacy-")
        with Session(e) as s, s.begin():
            made = suggestions.create_suggestion(
                s, secret="s", geom=pt(0.5, 0.5), category="lighting", title="灯"
            )
            assert made.request.id
    finally:
        e.dispose()
