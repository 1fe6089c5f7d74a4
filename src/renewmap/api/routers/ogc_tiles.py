"""Mapbox Vector Tiles of the OGC collections: ``/ogc/collections/{id}/tiles/WebMercatorQuad/…``.

Thin: tiles are made by ``renewmap.services.tiles``.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/ogc", tags=["ogc"])
