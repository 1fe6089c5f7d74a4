"""Checks every request passes before it reaches a route. They answer like any other error
(``api.errors``).

Outermost first: ``ProxyHeaders`` (whose ``X-Forwarded-For`` is believed, ``api.trust``),
``AllowedHosts`` (the ``Host`` asked for), ``BodyLimit`` (bodies bounded per endpoint class on
the bytes received, JSON checked before it is parsed, ``api.limits``), then no NUL in the
address. The innermost one also chooses the reader's language for everything the request's
services say (``i18n.t``, ``RenewMapError.message``); the errors of the outer ones negotiate it
themselves (``api.errors.error_response``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response

from renewmap.api.errors import error_response, request_locale
from renewmap.api.limits import BodyLimit
from renewmap.api.trust import AllowedHosts, ProxyHeaders
from renewmap.errors import InvalidInput
from renewmap.i18n import set_locale
from renewmap.settings import Settings


def _nul_in_address(request: Request) -> str | None:
    """The part of the address (``path`` or a query parameter's name) holding a NUL."""
    if "\x00" in request.url.path:
        return "path"
    if "%00" in request.url.query:
        for name, value in request.query_params.multi_items():
            if "\x00" in name or "\x00" in value:
                return name.replace("\x00", "") or "query"
    return None


def install_request_guards(app: FastAPI, settings: Settings) -> None:
    @app.middleware("http")
    async def _refuse_nul_address(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        set_locale(request_locale(request))  # what t() and exc.message use for this request
        nul = _nul_in_address(request)
        if nul is not None:
            # PostgreSQL text cannot hold NUL: refuse it up front, on both databases alike
            return error_response(
                InvalidInput(
                    "{field} contains a NUL character (%00)", key="nul_character", field=nul
                ),
                request,
            )
        return await call_next(request)

    # pure ASGI, added last = run first
    app.add_middleware(
        BodyLimit, routes=lambda: app.routes, limits=settings.body_limits(), render=error_response
    )
    app.add_middleware(AllowedHosts, hosts=settings.allowed_host_names(), render=error_response)
    app.add_middleware(ProxyHeaders, trusted=settings.trusted_networks())
