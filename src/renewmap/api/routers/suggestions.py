"""Residents' suggestions API (thin: every rule lives in ``services.requests.suggestions``).

Anonymous residents are recognised by a random device cookie; every write that a cookie
could authorise carries a double-submit CSRF token (cookie ``rm_csrf`` = header
``X-CSRF-Token``). Posting is rate limited per client address.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from renewmap.api.deps import (
    CSRF,
    CSRF_COOKIE,
    DEVICE_COOKIE,
    Bbox,
    IdPath,
    Limit,
    NotifyKick,
    Offset,
    ReadSession,
    ResidentDevice,
    SettingsDep,
    WriteSession,
    rate_limit,
)
from renewmap.api.responses import JPEG, GeoJSONResponse, content
from renewmap.api.schemas.places import RouteOut
from renewmap.api.schemas.suggestions import (
    CommentOut,
    FollowView,
    NearbySuggestions,
    SessionCookies,
    SuggestionCreated,
    SuggestionFeature,
    SuggestionMapLayer,
    SuggestionPage,
    Supports,
)
from renewmap.errors import InvalidInput
from renewmap.services.requests import suggestions
from renewmap.services.requests.photos import MAX_PHOTO_BYTES
from renewmap.spatial.geometry import parse_geojson

router = APIRouter(prefix="/api", tags=["suggestions"])
YEAR = 365 * 24 * 3600


@router.get(
    "/session",
    response_model=SessionCookies,
    summary="Device and CSRF cookies for this browser",
)
def session_cookies(request: Request, settings: SettingsDep) -> JSONResponse:
    device = request.cookies.get(DEVICE_COOKIE) or secrets.token_urlsafe(16)
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(16)
    response = JSONResponse({"csrf_token": csrf})
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=2 * YEAR,
        httponly=True,
        samesite="lax",
        secure=settings.cookies_secure,
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=2 * YEAR,
        httponly=False,
        samesite="strict",
        secure=settings.cookies_secure,
    )
    return response


def _read_photos(files: list[UploadFile]) -> list[tuple[str, bytes]]:
    out = []
    for f in files:
        if not f.filename and not f.size:
            continue  # an empty file input
        out.append((f.filename or "photo", f.file.read(MAX_PHOTO_BYTES + 1)))
    return out


@router.post(
    "/suggestions",
    status_code=201,
    response_model=SuggestionCreated,
    summary="Post a suggestion (multipart, up to 3 photos)",
    responses={
        413: {"description": "photo or body too large"},
        422: {"description": "invalid field, photo or location outside every community"},
        429: {"description": "too many posts from this address"},
    },
    dependencies=[CSRF, rate_limit("post")],
)
def create(
    session: WriteSession,
    settings: SettingsDep,
    notify_kick: NotifyKick,
    category: Annotated[str, Form()],
    title: Annotated[str, Form(max_length=200)],
    description: Annotated[str | None, Form()] = None,
    geometry: Annotated[str | None, Form(description="GeoJSON geometry (WGS84)")] = None,
    lon: Annotated[float | None, Form()] = None,
    lat: Annotated[float | None, Form()] = None,
    nickname: Annotated[str | None, Form()] = None,
    show_nickname: Annotated[bool, Form()] = False,
    phone: Annotated[str | None, Form()] = None,
    photos: Annotated[list[UploadFile] | None, File()] = None,
    site: Annotated[
        str | None, Form(max_length=64, description="a site in its survey step (code)")
    ] = None,
) -> dict[str, Any]:
    if geometry:
        geom = parse_geojson(geometry, where="geometry")
    elif lon is not None and lat is not None:
        geom = parse_geojson({"type": "Point", "coordinates": [lon, lat]}, where="lon/lat")
    else:
        raise InvalidInput(
            "a location is required: 'geometry' (GeoJSON) or 'lon' and 'lat'", field="geometry"
        )
    created = suggestions.create_suggestion(
        session,
        secret=settings.secret_key,
        geom=geom,
        category=category,
        title=title,
        description=description,
        photos=_read_photos(photos or []),
        nickname=nickname,
        show_nickname=show_nickname,
        phone=phone,
        snap_m=settings.snap_distance_m,
        base_url=settings.public_base_url,
        site_code=site or None,
    )
    notify_kick()  # sent once this transaction has committed
    code = created.request.receipt_code
    return {
        "id": created.request.id,
        "receipt_code": code,
        "follow_url": f"/r/{code}?t={created.token}",
        "token": created.token,
        "owner": RouteOut(**created.owner.as_dict(), message=created.owner.message()),
        "message": created.owner.message(),
    }


@router.get(
    "/communities/{code}/suggestions",
    response_class=GeoJSONResponse,
    response_model=SuggestionPage,
    summary="Browse visible suggestions (filters, bbox, paging)",
)
def browse(
    code: str,
    session: ReadSession,
    bounds: Bbox,
    category: str | None = None,
    status: str | None = None,
    grid: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> GeoJSONResponse:
    return GeoJSONResponse(
        suggestions.browse(
            session,
            community_code=code,
            category=category,
            status=status,
            grid_code=grid,
            bounds=bounds,
            limit=limit,
            offset=offset,
        )
    )


@router.get(
    "/communities/{code}/suggestions/map",
    response_model=SuggestionMapLayer,
    summary="What the map shows for a view: points when few, counts per cell when many",
)
def map_layer(
    code: str,
    session: ReadSession,
    zoom: Annotated[float, Query(ge=0, le=24, description="the map's zoom (cell size)")],
    bounds: Bbox,
    category: str | None = None,
    status: str | None = None,
    grid: str | None = None,
) -> dict[str, Any]:
    return suggestions.map_layer(
        session,
        community_code=code,
        zoom=zoom,
        category=category,
        status=status,
        grid_code=grid,
        bounds=bounds,
    )


@router.get(
    "/suggestions/nearby",
    response_class=GeoJSONResponse,
    response_model=NearbySuggestions,
    summary="Visible suggestions within a radius (default 50 m), nearest first",
)
def nearby(
    session: ReadSession,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    category: str | None = None,
    radius: Annotated[float, Query(gt=0, le=500)] = suggestions.NEARBY_RADIUS_M,
) -> GeoJSONResponse:
    features = suggestions.nearby(session, lon=lon, lat=lat, category=category, radius_m=radius)
    return GeoJSONResponse({"type": "FeatureCollection", "features": features})


@router.get(
    "/suggestions/{request_id}",
    response_class=GeoJSONResponse,
    response_model=SuggestionFeature,
)
def one(request_id: IdPath, session: ReadSession) -> GeoJSONResponse:
    return GeoJSONResponse(suggestions.get_public(session, request_id=request_id))


@router.post(
    "/suggestions/{request_id}/supports",
    status_code=201,
    response_model=Supports,
    responses={409: {"description": "already supported from this device"}},
)
def support(request_id: IdPath, session: WriteSession, device: ResidentDevice) -> dict[str, int]:
    return {"supports": suggestions.support(session, request_id=request_id, supporter=device)}


@router.get("/suggestions/{request_id}/comments", response_model=list[CommentOut])
def comments(request_id: IdPath, session: ReadSession) -> list[dict[str, Any]]:
    return suggestions.comments(session, request_id=request_id)


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=suggestions.MAX_COMMENT)
    nickname: str | None = Field(default=None, max_length=suggestions.MAX_NICKNAME)


@router.post(
    "/suggestions/{request_id}/comments",
    status_code=201,
    response_model=CommentOut,
    dependencies=[CSRF, rate_limit("interact")],
)
def add_comment(request_id: IdPath, payload: CommentIn, session: WriteSession) -> dict[str, Any]:
    return suggestions.comment(
        session, request_id=request_id, body=payload.body, nickname=payload.nickname
    )


@router.get(
    "/receipts/{code}",
    response_model=FollowView,
    summary="A resident's private view (receipt code + token)",
)
def follow(
    code: str,
    token: Annotated[str, Query(min_length=8)],
    session: ReadSession,
    settings: SettingsDep,
) -> dict[str, Any]:
    return suggestions.follow(session, code=code, token=token, secret=settings.secret_key)


@router.post(
    "/receipts/{code}/details",
    response_model=FollowView,
    summary="Add text or photos through the private link",
    dependencies=[rate_limit("post")],
)
def add_details(
    code: str,
    session: WriteSession,
    settings: SettingsDep,
    token: Annotated[str, Form(min_length=8)],
    text: Annotated[str | None, Form()] = None,
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> dict[str, Any]:
    return suggestions.add_details(
        session,
        code=code,
        token=token,
        secret=settings.secret_key,
        text=text,
        photos=_read_photos(photos or []),
    )


@router.post(
    "/receipts/{code}/reopen",
    response_model=FollowView,
    summary="The resident says a resolved request is not fixed (within 30 days)",
    dependencies=[rate_limit("post")],
)
def reopen(
    code: str,
    session: WriteSession,
    settings: SettingsDep,
    token: Annotated[str, Form(min_length=8)],
    note: Annotated[str, Form(max_length=2000)],
) -> dict[str, Any]:
    return suggestions.reopen(
        session, code=code, token=token, secret=settings.secret_key, note=note
    )


@router.get(
    "/photos/{photo_id}",
    response_class=Response,
    responses=content(JPEG, description="the photo (JPEG, metadata stripped)"),
)
def photo(photo_id: IdPath, session: ReadSession) -> Response:
    data, content_type = suggestions.photo_bytes(session, photo_id=photo_id)
    return Response(
        data, media_type=content_type, headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get(
    "/photos/{photo_id}/thumbnail",
    response_class=Response,
    responses=content(JPEG, description="its thumbnail (JPEG)"),
)
def thumbnail(photo_id: IdPath, session: ReadSession) -> Response:
    data, content_type = suggestions.photo_bytes(session, photo_id=photo_id, thumbnail=True)
    return Response(
        data, media_type=content_type, headers={"Cache-Control": "public, max-age=86400"}
    )
