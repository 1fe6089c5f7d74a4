"""The records' migration (0021_records) down and up again on both databases."""

from __future__ import annotations

from sqlalchemy import inspect, text

TABLES = (
    "person",
    "team",
    "team_member",
    "person_link",
    "meeting",
    "meeting_attendee",
    "meeting_link",
    "meeting_attachment",
    "proposal",
    "convention",
    "convention_version",
    "convention_agreement",
    "event",
    "event_signup",
    "points_entry",
)


def test_records_migration_round_trip(database_url_factory) -> None:
    from renewmap.db.engine import make_engine
    from renewmap.db.migrate import downgrade, upgrade

    e = make_engine(database_url_factory())
    try:
        upgrade(e)
        downgrade(e, "0015_consult")
        with e.connect() as conn:
            assert not any(inspect(conn).has_table(t) for t in (*TABLES, "fund_line"))
        upgrade(e)
        with e.connect() as conn:
            assert all(inspect(conn).has_table(t) for t in (*TABLES, "fund_line"))
            # the geometry columns work after the round trip
            assert conn.execute(text("SELECT count(*) FROM meeting")).scalar_one() == 0
            assert conn.execute(text("SELECT count(*) FROM proposal")).scalar_one() == 0
            assert conn.execute(text("SELECT count(*) FROM event")).scalar_one() == 0
    finally:
        e.dispose()
