"""Residents' suggestions API (thin: every rule lives in ``services.requests.suggestions``).

Anonymous residents are recognised by a random device cookie; every write that a cookie
could authorise carries a double-submit CSRF token (cookie ``rm_csrf`` = header
``X-CSRF-Token``). Posting is rate limited per client address.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from renewmap.api.deps import get_read_session, get_session, get_settings
from renewmap.api.routers.core import GeoJSONResponse
from renewmap.api.schemas import RouteOut, SuggestionMapLayer
from renewmap.errors import Forbidden, InvalidInput
from renewmap.services.requests import suggestions
from renewmap.services.requests.photos import MAX_PHOTO_BYTES
from renewmap.settings import Settings
from renewmap.spatial.geometry import parse_geojson
from renewmap.vocabulary import MAX_ID

router = APIRouter(prefix="/api", tags=["suggestions"])
ReadSession = Annotated[Session, Depends(get_read_session, scope="function")]
WriteSession = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DEVICE_COOKIE = "rm_device"
CSRF_COOKIE = "rm_csrf"
CSRF_HEADER = "X-CSRF-Token"
YEAR = 365 * 24 * 3600
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def require_csrf(request: Request) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not secrets.compare_digest(cookie, header):
        raise Forbidden(
            f"missing or wrong CSRF token: send the {CSRF_COOKIE} cookie's value in the "
            f"{CSRF_HEADER} header (GET /api/session sets it)"
        )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limit(request: Request, action: str) -> None:
    request.app.state.rate_limiter.hit(action, _client(request))


@router.get("/session", summary="Device and CSRF cookies for this browser")
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
        secure=settings.secure_cookies,
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=2 * YEAR,
        httponly=False,
        samesite="strict",
        secure=settings.secure_cookies,
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
    summary="Post a suggestion (multipart, up to 3 photos)",
    responses={
        413: {"description": "photo or body too large"},
        422: {"description": "invalid field, photo or location outside every community"},
        429: {"description": "too many posts from this address"},
    },
)
def create(
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
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
    require_csrf(request)
    _limit(request, "post")
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
    request.app.state.notify_kick()  # sent once this transaction has committed
    code = created.request.receipt_code
    return {
        "id": created.request.id,
        "receipt_code": code,
        "follow_url": f"/r/{code}?t={created.token}",
        "token": created.token,
        "owner": RouteOut(**created.owner.as_dict(), message=created.owner.message()),
        "message": created.owner.message(),
    }


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat", field="bbox") from exc
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat", field="bbox")
    return (parts[0], parts[1], parts[2], parts[3])


@router.get(
    "/communities/{code}/suggestions",
    response_class=GeoJSONResponse,
    summary="Browse visible suggestions (filters, bbox, paging)",
)
def browse(
    code: str,
    session: ReadSession,
    category: str | None = None,
    status: str | None = None,
    grid: str | None = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> GeoJSONResponse:
    return GeoJSONResponse(
        suggestions.browse(
            session,
            community_code=code,
            category=category,
            status=status,
            grid_code=grid,
            bounds=_bbox(bbox),
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
    category: str | None = None,
    status: str | None = None,
    grid: str | None = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
) -> dict[str, Any]:
    return suggestions.map_layer(
        session,
        community_code=code,
        zoom=zoom,
        category=category,
        status=status,
        grid_code=grid,
        bounds=_bbox(bbox),
    )


@router.get(
    "/suggestions/nearby",
    response_class=GeoJSONResponse,
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


@router.get("/suggestions/{request_id}", response_class=GeoJSONResponse)
def one(request_id: Id, session: ReadSession) -> GeoJSONResponse:
    return GeoJSONResponse(suggestions.get_public(session, request_id=request_id))


@router.post(
    "/suggestions/{request_id}/supports",
    status_code=201,
    responses={409: {"description": "already supported from this device"}},
)
def support(
    request_id: Id, request: Request, session: WriteSession, settings: SettingsDep
) -> dict[str, int]:
    require_csrf(request)
    device = request.cookies.get(DEVICE_COOKIE)
    if not device:
        raise Forbidden("no device cookie: GET /api/session first", field="cookie")
    _limit(request, "interact")
    count = suggestions.support(
        session, request_id=request_id, device_id=device, secret=settings.secret_key
    )
    return {"supports": count}


@router.get("/suggestions/{request_id}/comments")
def comments(request_id: Id, session: ReadSession) -> list[dict[str, Any]]:
    return suggestions.comments(session, request_id=request_id)


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=suggestions.MAX_COMMENT)
    nickname: str | None = Field(default=None, max_length=suggestions.MAX_NICKNAME)


@router.post("/suggestions/{request_id}/comments", status_code=201)
def add_comment(
    request_id: Id, payload: CommentIn, request: Request, session: WriteSession
) -> dict[str, Any]:
    require_csrf(request)
    _limit(request, "interact")
    return suggestions.comment(
        session, request_id=request_id, body=payload.body, nickname=payload.nickname
    )


@router.get("/receipts/{code}", summary="A resident's private view (receipt code + token)")
def follow(
    code: str,
    token: Annotated[str, Query(min_length=8)],
    session: ReadSession,
    settings: SettingsDep,
) -> dict[str, Any]:
    return suggestions.follow(session, code=code, token=token, secret=settings.secret_key)


@router.post("/receipts/{code}/details", summary="Add text or photos through the private link")
def add_details(
    code: str,
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
    token: Annotated[str, Form(min_length=8)],
    text: Annotated[str | None, Form()] = None,
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> dict[str, Any]:
    _limit(request, "post")
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
    summary="The resident says a resolved request is not fixed (within 30 days)",
)
def reopen(
    code: str,
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
    token: Annotated[str, Form(min_length=8)],
    note: Annotated[str, Form(max_length=2000)],
) -> dict[str, Any]:
    _limit(request, "post")
    return suggestions.reopen(
        session, code=code, token=token, secret=settings.secret_key, note=note
    )


@router.get("/photos/{photo_id}", response_class=Response)
def photo(photo_id: Id, session: ReadSession) -> Response:
    data, content_type = suggestions.photo_bytes(session, photo_id=photo_id)
    return Response(
        data, media_type=content_type, headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/photos/{photo_id}/thumbnail", response_class=Response)
def thumbnail(photo_id: Id, session: ReadSession) -> Response:
    data, content_type = suggestions.photo_bytes(session, photo_id=photo_id, thumbnail=True)
    return Response(
        data, media_type=content_type, headers={"Cache-Control": "public, max-age=86400"}
    )
