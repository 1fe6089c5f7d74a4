"""Every dependency the routers share, declared once as ``Annotated`` aliases.

A router declares what a route needs in its signature (``session: ReadSession``,
``me: Staff``, ``bounds: Bbox``) or in ``dependencies=[CSRF, rate_limit("post")]``; it never
reads ``app.state``, cookies or headers for these by hand.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from renewmap.errors import Forbidden, InvalidInput, Unauthenticated
from renewmap.i18n import negotiate
from renewmap.services.access import accounts, csrf
from renewmap.services.access.accounts import Principal
from renewmap.services.access.ratelimit import RateLimiter, client_key
from renewmap.services.places import catalog
from renewmap.services.requests.suggestions import keyed_hash
from renewmap.settings import Settings
from renewmap.vocabulary import MAX_ID, MIN_ID

STAFF_COOKIE = "rm_staff"
DEVICE_COOKIE = "rm_device"
CSRF_COOKIE = "rm_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


# --- database sessions and settings -----------------------------------------------------------


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed on success, rolled back on any error.

    The endpoint's route (``api.routing.TransactionalRoute``) commits it in the endpoint's own
    thread, *before* the response is sent, so a 201 means saved and the next request (a
    redirect, a refresh) sees the change. Making the session costs no I/O (it connects on
    first use), so this runs in the event loop; only a transaction a failing dependency left
    open is rolled back in a worker thread.
    """
    from renewmap.api.routing import FINISHED, OWNED, end_transaction

    factory = request.app.state.session_factory
    session: Session = factory()
    session.info[OWNED] = True
    session.begin()
    failed = False
    try:
        yield session
    except BaseException:
        failed = True
        raise
    finally:
        if not session.info.get(FINISHED):
            await run_in_threadpool(end_transaction, session, failed=failed)
        session.close()  # the transaction is over: no connection is held, nothing to send


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for endpoints that only read (autocommit on PostgreSQL: no BEGIN/COMMIT).
    Reads that must see the reader's own writes (a receipt after posting, the workspace after
    an action, sign-in) use this one: always the primary."""
    factory = request.app.state.read_session_factory
    with factory() as session:
        yield session


def get_public_session(request: Request) -> Iterator[Session]:
    """A session for public reads that need not see the reader's own writes (maps, lists,
    OGC items and tiles): on the read replica when ``RENEWMAP_DATABASE_READ_URL`` is set, and
    bounded by ``RENEWMAP_PUBLIC_READ_TIMEOUT_MS``."""
    factory = request.app.state.public_session_factory
    with factory() as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def get_notify_kick(request: Request) -> Callable[[], None]:
    """Wakes the notification sender (a no-op when this process does not send)."""
    kick: Callable[[], None] = request.app.state.notify_kick
    return kick


def public_base(request: Request) -> str:
    """How clients reach the app (no trailing slash), for links and URLs handed out (QR
    codes, OGC and Open311 links): ``RENEWMAP_PUBLIC_BASE_URL`` (required in production),
    else the address this server listens on; never the request's ``Host`` header, which the
    client writes."""
    settings = get_settings(request)
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    scheme = request.url.scheme  # http or https (X-Forwarded-Proto from a trusted proxy)
    server = request.scope.get("server")
    if not server or server[1] is None:
        return f"{scheme}://localhost"
    host, port = str(server[0]), int(server[1])
    host = f"[{host}]" if ":" in host else host
    default = (scheme, port) in (("http", 80), ("https", 443))
    return f"{scheme}://{host}" if default else f"{scheme}://{host}:{port}"


ReadSession = Annotated[Session, Depends(get_read_session, scope="function")]
PublicSession = Annotated[Session, Depends(get_public_session, scope="function")]
# At most this many write transactions at once per process; the others wait in the event
# loop, not in a worker thread or for a pooled connection. Each commits in its endpoint's own
# thread (api.routing), so one holding a row lock never waits for a thread to finish in.
WRITE_TRANSACTIONS = 10
WriteSession = Annotated[
    Session, Depends(get_session, scope="function", max_concurrency=WRITE_TRANSACTIONS)
]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Limiter = Annotated[RateLimiter, Depends(get_rate_limiter)]
NotifyKick = Annotated[Callable[[], None], Depends(get_notify_kick)]
PublicBase = Annotated[str, Depends(public_base)]


# --- CSRF and rate limits ---------------------------------------------------------------------


def require_csrf(request: Request) -> None:
    """Double-submit check for writes a cookie could authorise: the ``rm_csrf`` cookie's value
    must come back in the ``X-CSRF-Token`` header (another site can send the cookie, not read
    it), and be a token this server minted (``services.access.csrf``), never one the client
    chose."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    secret = request.app.state.settings.secret_key
    if (
        not cookie
        or not header
        or not secrets.compare_digest(cookie, header)
        or not csrf.genuine(secret, cookie)
    ):
        raise Forbidden(
            "this page's security token (CSRF) is missing or out of date; reload the page and "
            "try again (send the {cookie} cookie's value in the {header} header; "
            "GET /api/session sets it)",
            key="csrf_token_wrong",
            cookie=CSRF_COOKIE,
            header=CSRF_HEADER,
        )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limit(action: str) -> Callable[[Request], None]:
    def hit(request: Request) -> None:
        request.app.state.rate_limiter.hit(action, client_key(client_address(request)))

    hit.__name__ = f"rate_limit_{action}"
    return hit


_LIMITS = {action: Depends(_limit(action)) for action in ("post", "interact", "login")}
CSRF: Any = Depends(require_csrf)


def rate_limit(action: str) -> Any:
    """``dependencies=[rate_limit("post")]``: one event of ``action`` from the client's
    address (the limits are in the app's ``RateLimiter``); 429 when over."""
    return _LIMITS[action]


# --- who is asking ----------------------------------------------------------------------------


def bearer_principal(request: Request, session: ReadSession) -> Principal | None:
    """The staff member of an ``Authorization: Bearer`` API token, or None when there is no
    such header (anonymous). A bad token is a 401, even where anonymous reads are allowed:
    a misconfigured client should hear about it. GIS clients send tokens, not the cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return accounts.authenticate(session, token=auth[7:].strip(), kind="api")
    return None


def get_principal(request: Request, session: ReadSession) -> Principal:
    """The signed-in staff member: a bearer token, or the browser's session cookie (whose
    writes must also carry the CSRF header, since a cookie is sent by any site)."""
    principal = bearer_principal(request, session)
    if principal is not None:
        return principal
    cookie = request.cookies.get(STAFF_COOKIE)
    if cookie:
        if request.method not in SAFE_METHODS:
            require_csrf(request)
        return accounts.authenticate(session, token=cookie, kind="session")
    raise Unauthenticated(
        "sign in first (POST /api/staff/session) or send a bearer token", key="sign_in_first"
    )


def optional_principal(request: Request, session: ReadSession) -> Principal | None:
    """The signed-in staff member of a browser page, or None (the page then asks to sign in)."""
    cookie = request.cookies.get(STAFF_COOKIE)
    if not cookie:
        return None
    try:
        return accounts.authenticate(session, token=cookie, kind="session")
    except Unauthenticated:
        return None


def reader_principal(request: Request, session: ReadSession) -> Principal | None:
    """For reads open to anyone but wider for staff (a hidden proposal's photo): a bearer
    token, else the browser's session cookie, else None (anonymous)."""
    return bearer_principal(request, session) or optional_principal(request, session)


Staff = Annotated[Principal, Depends(get_principal)]
MaybeStaff = Annotated[Principal | None, Depends(optional_principal)]  # None: not signed in
AnyReader = Annotated[Principal | None, Depends(reader_principal)]  # None: anonymous
BearerStaff = Annotated[Principal | None, Depends(bearer_principal)]  # None: anonymous


def device_cookie(request: Request) -> str | None:
    """The resident's random device id (cookie set by ``GET /api/session``), if any."""
    return request.cookies.get(DEVICE_COOKIE) or None


def device_hash(
    settings: SettingsDep, device: Annotated[str | None, Depends(device_cookie)]
) -> str | None:
    """The device id as stored (a keyed hash), or None without the cookie."""
    return keyed_hash(settings.secret_key, device) if device else None


def resident_device(
    _csrf: Annotated[None, CSRF],
    device: Annotated[str | None, Depends(device_hash)],
    _limit: Annotated[None, rate_limit("interact")],
) -> str:
    """The resident's device (keyed hash of its cookie) for a write tied to the device
    (+1, adoption, comments on drafts, votes): CSRF checked, then the cookie, then the
    ``interact`` rate."""
    if device is None:
        raise Forbidden(
            "your browser did not keep this site's cookie; reload the page and try again "
            "(GET /api/session first)",
            key="device_cookie_missing",
            field="cookie",
        )
    return device


MaybeDevice = Annotated[str | None, Depends(device_hash)]
ResidentDevice = Annotated[str, Depends(resident_device)]


def reader_locale(request: Request) -> str:
    """The reader's language: ?lang=, the rm_lang cookie, then Accept-Language."""
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get("rm_lang"),
        request.headers.get("accept-language"),
    )


Locale = Annotated[str, Depends(reader_locale)]


# --- common parameters ------------------------------------------------------------------------


def bbox_param(
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
) -> tuple[float, float, float, float] | None:
    """The ``bbox`` query parameter as (minlon, minlat, maxlon, maxlat), or None."""
    if not bbox:
        return None
    try:
        parts = [float(v) for v in bbox.split(",")]
    except ValueError as exc:
        raise InvalidInput(
            "bbox must be minlon,minlat,maxlon,maxlat", key="bbox_invalid", field="bbox"
        ) from exc
    if not all(math.isfinite(v) for v in parts):
        raise InvalidInput("bbox: numbers must be finite", key="bbox_not_finite", field="bbox")
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        raise InvalidInput(
            "bbox must be minlon,minlat,maxlon,maxlat", key="bbox_invalid", field="bbox"
        )
    return (parts[0], parts[1], parts[2], parts[3])


Bbox = Annotated[tuple[float, float, float, float] | None, Depends(bbox_param)]


def near_param(
    near: Annotated[str | None, Query(description="lon,lat (WGS84) to measure from")] = None,
) -> tuple[float, float] | None:
    """The ``near`` query parameter as (lon, lat), or None."""
    if not near:
        return None
    try:
        lon, lat = (float(v) for v in near.split(","))
    except ValueError:
        raise InvalidInput("near must be lon,lat", key="near_invalid", field="near") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        raise InvalidInput("near must be lon,lat", key="near_invalid", field="near")
    return (lon, lat)


Near = Annotated[tuple[float, float] | None, Depends(near_param)]
# A database id in the path: outside the ids' range it names nothing (422, never a 500).
IdPath = Annotated[int, Path(ge=MIN_ID, le=MAX_ID)]
IdQuery = Annotated[int, Query(ge=MIN_ID, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


def public_community_code(code: str, session: PublicSession) -> str:
    """The ``{code}`` of a public route: a community residents may see. One still being set
    up answers 404 on every public route, as if it did not exist yet (staff reach it through
    /api/staff)."""
    return catalog.published(session, code=code).code


# A community's code in a public route's path (404 for a community still in setup).
PublicCode = Annotated[str, Depends(public_community_code)]
