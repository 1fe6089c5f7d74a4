"""Checks every request passes before it reaches a route: a bounded body, no NUL in the
address. They answer like any other error (``api.errors``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response

from renewmap.api.errors import error_response
from renewmap.errors import InvalidInput, PayloadTooLarge
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
    async def _limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        limit = settings.max_upload_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            return error_response(
                PayloadTooLarge(f"request body larger than {limit} bytes", limit=limit), request
            )
        nul = _nul_in_address(request)
        if nul is not None:
            # PostgreSQL text cannot hold NUL: refuse it up front, on both databases alike
            return error_response(
                InvalidInput(f"{nul} contains a NUL character (%00)", field=nul), request
            )
        return await call_next(request)
