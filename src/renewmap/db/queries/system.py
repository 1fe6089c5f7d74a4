"""The database itself: is it there, and which one is it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def ping(session: Session) -> str:
    """One round trip; the dialect's name (``sqlite`` or ``postgresql``)."""
    session.execute(text("SELECT 1"))
    return session.get_bind().dialect.name
