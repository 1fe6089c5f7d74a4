"""Small database helpers for assertions."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def count(session: Session, table: str) -> int:
    """Rows in ``table`` as this session sees them."""
    return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
