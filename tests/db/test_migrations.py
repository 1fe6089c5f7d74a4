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
