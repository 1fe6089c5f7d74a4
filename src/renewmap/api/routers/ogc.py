"""OGC API - Features Part 1 (core, GeoJSON, OpenAPI 3.0), read-only, under ``/ogc/``.

Thin: every answer comes from ``renewmap.services.ogc_features``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from renewmap.errors import RenewMapError, http_status_for

PREFIX = "/ogc"
router = APIRouter(prefix=PREFIX, tags=["ogc"])


def render_error(exc: RenewMapError, request: Request) -> Response:
    """OGC API's exception document: ``{code, description}``."""
    status = http_status_for(exc)
    return JSONResponse({"code": exc.code, "description": exc.message}, status_code=status)
