"""Open311 GeoReport v2 under ``/open311/v2/``: services, requests, tokens (XML and JSON).

Thin: every answer comes from ``renewmap.services.open311``; this module only parses the
standard's parameters and renders its formats.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from renewmap.errors import RenewMapError, http_status_for

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])


def render_error(exc: RenewMapError, request: Request) -> Response:
    """Open311's error body: a list of ``{code, description}``."""
    status = http_status_for(exc)
    return JSONResponse([{"code": status, "description": exc.message}], status_code=status)
