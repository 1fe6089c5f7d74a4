"""Response classes the routers share."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

GEOJSON = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    """GeoJSON (RFC 7946): UTF-8 text as is (Chinese names stay readable), no spaces."""

    media_type = GEOJSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def content(*media_types: str, description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route whose body is not JSON (images, files, tiles, XML): the media
    types it answers with, for the OpenAPI document."""
    return {200: {"description": description, "content": {m: {} for m in media_types}}}


JPEG = "image/jpeg"
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
