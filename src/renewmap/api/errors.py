"""Errors to HTTP, in one place: the domain exceptions (``renewmap.errors``), unrouted paths,
an unreachable database, values a database cannot store and invalid requests all answer with
the same JSON body ``{error, message, details}``, an error page for a person's browser, or
the standard's own format under Open311 and OGC API prefixes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from renewmap.db.guards import integrity_problem, operational_problem
from renewmap.errors import (
    DatabaseUnavailable,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    RenewMapError,
    http_status_for,
)
from renewmap.i18n import negotiate
from renewmap.web.errors import error_page

# A path prefix → how the standard there writes its errors (Open311, OGC API).
ErrorRenderer = Callable[[RenewMapError, Request], Response]


def _wants_page(request: Request | None) -> bool:
    """A person's browser opening one of our pages (not the API, not a script)."""
    if request is None or request.url.path.startswith(("/api/", "/health", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(exc: RenewMapError, request: Request | None = None) -> Response:
    """The answer to a domain error, in the format the caller reads."""
    if request is not None:
        # the standard APIs answer errors in their own formats (Open311's list of
        # {code, description}, OGC's exception document)
        for prefix, render in request.app.state.error_renderers.items():
            if request.url.path.startswith(prefix):
                return render(exc, request)
    details = {
        k: v for k, v in exc.details.items() if isinstance(v, str | int | float | list | dict)
    }
    headers = {"Retry-After": str(details["retry_after"])} if "retry_after" in details else None
    if _wants_page(request):
        assert request is not None
        locale = negotiate(
            request.query_params.get("lang"),
            request.cookies.get("rm_lang"),
            request.headers.get("accept-language"),
        )
        nonce = getattr(request.state, "csp_nonce", "")
        return HTMLResponse(
            error_page(http_status_for(exc), exc.message, locale=locale, nonce=nonce),
            status_code=http_status_for(exc),
            headers={**(headers or {}), "Cache-Control": "no-store"},
        )
    return JSONResponse(
        {"error": exc.code, "message": exc.message, "details": details},
        status_code=http_status_for(exc),
        headers=headers,
    )


# Starlette hands each handler the exception it was registered for (typed as Exception).


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RenewMapError)
    return error_response(exc, request)


async def _unrouted(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # No route or wrong method: the same error shape (and page) as everything else.
    path = request.url.path
    if exc.status_code == 404:
        return error_response(NotFound(f"no page or endpoint at {path}"), request)
    if exc.status_code == 405:
        return error_response(
            MethodNotAllowed(f"{request.method} is not allowed on {path}"), request
        )
    return JSONResponse(
        {"error": "http_error", "message": str(exc.detail), "details": {}},
        status_code=exc.status_code,
    )


async def _database_down(request: Request, exc: Exception) -> Response:
    # a lock given up or a deadlock is a 409 (try again); a dead database a 503
    return error_response(operational_problem(exc), request)


async def _pool_exhausted(request: Request, exc: Exception) -> Response:
    return error_response(
        DatabaseUnavailable(
            "the server is busy (no database connection free); try again shortly",
            retry_after=5,
        ),
        request,
    )


async def _refused_write(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntegrityError)
    # a duplicate (e.g. the same +1 sent twice at once) or a dangling reference: the same
    # answer on both databases
    return error_response(integrity_problem(exc), request)


async def _bad_value(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DataError)
    # a value the database cannot store (e.g. a NUL character in a posted text)
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
    return error_response(InvalidInput(f"a value cannot be stored: {reason}"), request)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err.get("loc", ()))
        problems.append(f"{loc}: {err.get('msg', 'invalid')}")
    return error_response(
        InvalidInput("invalid request: " + "; ".join(problems), errors=problems), request
    )


def install_error_handlers(app: FastAPI, renderers: Mapping[str, ErrorRenderer]) -> None:
    """Map every exception the app answers to its response. ``renderers``: path prefix →
    the error format of the standard served there."""
    app.state.error_renderers = dict(renderers)
    app.add_exception_handler(RenewMapError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _unrouted)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(InterfaceError, _database_down)
    app.add_exception_handler(DataError, _bad_value)
    app.add_exception_handler(IntegrityError, _refused_write)
    app.add_exception_handler(SQLAlchemyTimeoutError, _pool_exhausted)
    app.add_exception_handler(RequestValidationError, _invalid_request)
