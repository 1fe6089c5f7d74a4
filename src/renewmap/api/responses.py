"""Response classes the routers share."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from renewmap.blobs import key_of

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


def stored_file(
    request: Request,
    data: bytes,
    media_type: str,
    *,
    cache_control: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """A photo or file from the blob store: its ETag is the SHA-256 of its bytes (the blob's
    key), and a client that already holds it (``If-None-Match``) gets a 304 without a body."""
    etag = f'"{key_of(data)}"'
    sent = {"ETag": etag, "Cache-Control": cache_control, **(headers or {})}
    asked = request.headers.get("if-none-match", "")
    if asked.strip() == "*" or etag in (t.strip().removeprefix("W/") for t in asked.split(",")):
        return Response(status_code=304, headers=sent)
    return Response(data, media_type=media_type, headers=sent)
