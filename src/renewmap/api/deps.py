"""Request-scoped dependencies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from renewmap.errors import Unauthenticated
from renewmap.services.access import accounts
from renewmap.services.access.accounts import Principal
from renewmap.settings import Settings

STAFF_COOKIE = "rm_staff"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on any error.

    Always used with ``scope="function"``: the commit happens *before* the response is sent,
    so a 201 means saved, and the next request (a redirect, a refresh) sees the change.
    """
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


def public_base(request: Request) -> str:
    """How clients reach the app (no trailing slash): the configured public URL behind a
    proxy, else the request's own; for links and URLs handed out (QR codes, OGC links)."""
    settings: Settings = request.app.state.settings
    return (settings.public_base_url or str(request.base_url)).rstrip("/")


def bearer_principal(
    request: Request, session: Annotated[Session, Depends(get_read_session, scope="function")]
) -> Principal | None:
    """The staff member of an ``Authorization: Bearer`` API token, or None when there is no
    such header (anonymous). A bad token is a 401, even where anonymous reads are allowed:
    a misconfigured client should hear about it. GIS clients send tokens, not the cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return accounts.authenticate(session, token=auth[7:].strip(), kind="api")
    return None


def get_principal(
    request: Request, session: Annotated[Session, Depends(get_read_session, scope="function")]
) -> Principal:
    """The signed-in staff member: a bearer token, or the browser's session cookie (whose
    writes must also carry the CSRF header, since a cookie is sent by any site)."""
    principal = bearer_principal(request, session)
    if principal is not None:
        return principal
    cookie = request.cookies.get(STAFF_COOKIE)
    if cookie:
        if request.method not in SAFE_METHODS:
            from renewmap.api.routers.suggestions import require_csrf

            require_csrf(request)
        return accounts.authenticate(session, token=cookie, kind="session")
    raise Unauthenticated("sign in first (POST /api/staff/session) or send a bearer token")


def optional_principal(
    request: Request, session: Annotated[Session, Depends(get_read_session, scope="function")]
) -> Principal | None:
    """The signed-in staff member of a browser page, or None (the page then asks to sign in)."""
    cookie = request.cookies.get(STAFF_COOKIE)
    if not cookie:
        return None
    try:
        return accounts.authenticate(session, token=cookie, kind="session")
    except Unauthenticated:
        return None
