"""Errors to HTTP, in one place: the domain exceptions (``renewmap.errors``), unrouted paths,
an unreachable database, values a database cannot store and invalid requests all answer with
the same JSON body ``{error, code, message, params, details}`` (the message in the reader's
language: ``?lang=``, the ``rm_lang`` cookie, Accept-Language, Simplified Chinese by
default), an error page for a person's browser, or the standard's own format under Open311
and OGC API prefixes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
from renewmap.i18n import DEFAULT_LOCALE, N_, Msg, Sentences, negotiate
from renewmap.web.errors import error_page

# A path prefix → how the standard there writes its errors (Open311, OGC API).
ErrorRenderer = Callable[[RenewMapError, Request], Response]


def _wants_page(request: Request | None) -> bool:
    """A person's browser opening one of our pages (not the API, not a script)."""
    if request is None or request.url.path.startswith(("/api/", "/health", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def request_locale(request: Request) -> str:
    """The reader's language: ``?lang=``, then the ``rm_lang`` cookie, then Accept-Language;
    Simplified Chinese by default."""
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get("rm_lang"),
        request.headers.get("accept-language"),
    )


def error_response(exc: RenewMapError, request: Request | None = None) -> Response:
    """The answer to a domain error, in the format and the language the caller reads."""
    if request is not None:
        # the standard APIs answer errors in their own formats (Open311's list of
        # {code, description}, OGC's exception document)
        for prefix, render in request.app.state.error_renderers.items():
            if request.url.path.startswith(prefix):
                return render(exc, request)
    locale = request_locale(request) if request is not None else DEFAULT_LOCALE
    body = exc.as_json(locale)
    retry = body["details"].get("retry_after")
    headers = {"Retry-After": str(retry)} if retry is not None else None
    if _wants_page(request):
        assert request is not None
        nonce = getattr(request.state, "csp_nonce", "")
        return HTMLResponse(
            error_page(http_status_for(exc), body["message"], locale=locale, nonce=nonce),
            status_code=http_status_for(exc),
            headers={**(headers or {}), "Cache-Control": "no-store"},
        )
    return JSONResponse(body, status_code=http_status_for(exc), headers=headers)


# Starlette hands each handler the exception it was registered for (typed as Exception).


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RenewMapError)
    return error_response(exc, request)


async def _unrouted(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # No route or wrong method: the same error shape (and page) as everything else.
    path = request.url.path
    if exc.status_code == 404:
        return error_response(
            NotFound("no page or endpoint at {path}", key="no_route", path=path), request
        )
    if exc.status_code == 405:
        return error_response(
            MethodNotAllowed(
                "{method} is not allowed on {path}",
                key="method_not_allowed",
                method=request.method,
                path=path,
            ),
            request,
        )
    return JSONResponse(
        {
            "error": "http_error",
            "code": "http_error",
            "message": str(exc.detail),
            "params": {},
            "details": {},
        },
        status_code=exc.status_code,
    )


async def _database_down(request: Request, exc: Exception) -> Response:
    # a lock given up or a deadlock is a 409 (try again); a dead database a 503
    return error_response(operational_problem(exc), request)


async def _pool_exhausted(request: Request, exc: Exception) -> Response:
    return error_response(
        DatabaseUnavailable(
            "the server is busy (no database connection free); try again shortly",
            key="server_busy",
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
    return error_response(
        InvalidInput("a value cannot be stored: {reason}", key="value_not_storable", reason=reason),
        request,
    )


# FastAPI's (pydantic's) checks of parameters and bodies, by error type: the reader's wording.
_VALIDATION = {
    "missing": N_("{loc}: required"),
    "int_parsing": N_("{loc}: a whole number is required"),
    "int_type": N_("{loc}: a whole number is required"),
    "int_from_float": N_("{loc}: a whole number is required"),
    "float_parsing": N_("{loc}: a number is required"),
    "float_type": N_("{loc}: a number is required"),
    "finite_number": N_("{loc}: a finite number is required"),
    "bool_parsing": N_("{loc}: true or false is required"),
    "bool_type": N_("{loc}: true or false is required"),
    "string_type": N_("{loc}: text is required"),
    "string_too_long": N_("{loc}: at most {max_length} characters"),
    "string_too_short": N_("{loc}: at least {min_length} characters"),
    "too_long": N_("{loc}: at most {max_length} items"),
    "too_short": N_("{loc}: at least {min_length} items"),
    "greater_than": N_("{loc}: must be greater than {gt}"),
    "greater_than_equal": N_("{loc}: must be at least {ge}"),
    "less_than": N_("{loc}: must be less than {lt}"),
    "less_than_equal": N_("{loc}: must be at most {le}"),
    "literal_error": N_("{loc}: use one of {expected}"),
    "enum": N_("{loc}: use one of {expected}"),
    "json_invalid": N_("{loc}: not valid JSON"),
    "list_type": N_("{loc}: a list is required"),
    "dict_type": N_("{loc}: an object is required"),
    "model_attributes_type": N_("{loc}: an object is required"),
    "date_from_datetime_parsing": N_("{loc}: a date like 2026-05-01 is required"),
    "date_parsing": N_("{loc}: a date like 2026-05-01 is required"),
    "string_pattern_mismatch": N_("{loc}: does not have the expected form"),
}


def _validation_problem(err: Any) -> Msg:
    """One problem FastAPI found in a request, named by where it is (``query.limit``)."""
    loc = ".".join(str(part) for part in err.get("loc", ()))
    ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)}
    if err.get("type") == "value_error" and (err.get("ctx") or {}).get("error") is not None:
        # our validators' own reasons (renewmap.validation) are msgids
        return Msg("{loc}: {reason}", loc=loc, reason=Msg(str(err["ctx"]["error"])))
    msgid = _VALIDATION.get(str(err.get("type")))
    if msgid is not None:
        return Msg(msgid, loc=loc, **ctx)
    return Msg("{loc}: {reason}", loc=loc, reason=str(err.get("msg", "invalid")))


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [_validation_problem(err) for err in exc.errors()]
    return error_response(
        InvalidInput(
            "invalid request: {problems}",
            key="invalid_request",
            problems=Sentences(problems),
            errors=problems,
        ),
        request,
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
