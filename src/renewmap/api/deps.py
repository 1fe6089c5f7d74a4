"""Request-scoped dependencies."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from renewmap.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on any error."""
    factory = request.app.state.session_factory
    with factory() as session, session.begin():
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for endpoints that only read (autocommit on PostgreSQL: no BEGIN/COMMIT)."""
    factory = request.app.state.read_session_factory
    with factory() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings
