"""Alembic migrations, one per schema change, run on both databases (``db.migrate``)."""
