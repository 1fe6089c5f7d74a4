"""Residents' suggestions API (thin: every rule lives in ``services.requests.suggestions``).

Anonymous residents are recognised by a random device cookie; every write that a cookie
could authorise carries a double-submit CSRF token (cookie ``rm_csrf`` = header
``X-CSRF-Token``). Posting is rate limited per client address.
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from renewmap import printing
from renewmap.api import uploads
from renewmap.api.deps import (
    CSRF,
    CSRF_COOKIE,
    DEVICE_COOKIE,
    Bbox,
    IdPath,
    Limit,
    MaybeDevice,
    Near,
    NotifyKick,
    Offset,
    PublicBase,
    PublicCode,
    PublicSession,
    ReadSession,
    ResidentDevice,
    SettingsDep,
    WriteSession,
    rate_limit,
)
from renewmap.api.limits import body
from renewmap.api.responses import JPEG, GeoJSONResponse, content, stored_file
from renewmap.api.routing import TransactionalRoute
from renewmap.api.schemas.places import RouteOut
from renewmap.api.schemas.suggestions import (
    CommentOut,
    FollowView,
    MessagesStopped,
    NearbySuggestions,
    PreviewIn,
    SessionCookies,
    SuggestionCreated,
    SuggestionFeature,
    SuggestionMapLayer,
    SuggestionPage,
    SuggestionPreview,
    Supports,
)
from renewmap.errors import Forbidden, InvalidInput
from renewmap.i18n import negotiate
from renewmap.services.access import csrf
from renewmap.services.requests import progress, suggestions
from renewmap.services.requests.photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from renewmap.spatial.geometry import parse_geojson
from renewmap.validation import FiniteFloat, NoNul, NotBlank, RequiredText, Text

router = APIRouter(prefix="/api", tags=["suggestions"], route_class=TransactionalRoute)
YEAR = 365 * 24 * 3600


@router.get(
    "/session",
    response_model=SessionCookies,
    summary="Device and CSRF cookies for this browser",
)
def session_cookies(request: Request, settings: SettingsDep) -> JSONResponse:
    device = request.cookies.get(DEVICE_COOKIE) or secrets.token_urlsafe(16)
    token = request.cookies.get(CSRF_COOKIE)
    if token is None or not csrf.genuine(settings.secret_key, token):
        token = csrf.mint(settings.secret_key)  # never a value the client chose
    response = JSONResponse({"csrf_token": token})
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
        token,
        max_age=2 * YEAR,
        httponly=False,
        samesite="strict",
        secure=settings.cookies_secure,
    )
    return response


class SuggestionForm(BaseModel):
    """The text fields of a suggestion (multipart, with up to 3 ``photos``)."""

    category: Annotated[str, Field(max_length=32), NoNul]
    title: Annotated[str, Field(max_length=200), NoNul, NotBlank]
    description: Annotated[str | None, Field(max_length=20_000), NoNul] = None
    geometry: Annotated[
        str | None, Field(max_length=1_000_000, description="GeoJSON geometry (WGS84)"), NoNul
    ] = None
    lon: FiniteFloat | None = None
    lat: FiniteFloat | None = None
    nickname: Annotated[str | None, Field(max_length=100), NoNul] = None
    show_nickname: bool = False
    phone: Annotated[str | None, Field(max_length=32), NoNul] = None
    site: Annotated[
        str | None, Field(max_length=64, description="a site in its survey step (code)"), NoNul
    ] = None
    email: Annotated[
        str | None, Field(max_length=200, description="private, like the phone"), NoNul
    ] = None
    notify: bool = Field(
        False, description="the resident agrees to be told of progress by SMS or e-mail"
    )
    attributes: Annotated[
        str | None,
        Field(
            max_length=4000,
            description='answers to the category\'s questions (JSON: {"lamps": ["2"]}), as '
            "Open311's service definitions ask them; when sent, the required ones must be "
            "answered",
        ),
        NoNul,
    ] = None


def _photos(form: FormData) -> list[tuple[str, bytes]]:
    return uploads.files(form, "photos", limit=MAX_PHOTO_BYTES, at_most=MAX_PHOTOS + 1)


def _answers(text: str | None) -> dict[str, list[str]] | None:
    """The ``attributes`` field: a JSON object of question code → a value or a list of them
    (None when the field was not sent: then nothing is asked)."""
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InvalidInput(
            "attributes must be a JSON object of answers",
            key="attributes_invalid",
            field="attributes",
        )
    out: dict[str, list[str]] = {}
    for code, value in data.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values):
            raise InvalidInput(
                "attributes must be a JSON object of answers",
                key="attributes_invalid",
                field=f"attribute[{code}]",
            )
        out[str(code)] = [str(v) for v in values]
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
    # CSRF and the rate limit before the body is read (api.uploads)
    dependencies=[CSRF, rate_limit("post")],
    openapi_extra=uploads.multipart_doc(SuggestionForm, photos=True),
)
@body("photos")
def create(
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
    notify_kick: NotifyKick,
    form: uploads.UploadForm,
    base: PublicBase,
) -> dict[str, Any]:
    f = uploads.fields(form, SuggestionForm)
    if f.geometry:
        geom = parse_geojson(f.geometry, where="geometry")
    elif f.lon is not None and f.lat is not None:
        geom = parse_geojson({"type": "Point", "coordinates": [f.lon, f.lat]}, where="lon/lat")
    else:
        raise InvalidInput(
            "a location is required: 'geometry' (GeoJSON) or 'lon' and 'lat'",
            key="location_missing",
            field="geometry",
        )
    created = suggestions.create_suggestion(
        session,
        secret=settings.secret_key,
        geom=geom,
        category=f.category,
        title=f.title,
        description=f.description,
        photos=_photos(form),
        nickname=f.nickname,
        show_nickname=f.show_nickname,
        phone=f.phone,
        snap_m=settings.snap_distance_m,
        base_url=base,
        site_code=f.site or None,
        email=f.email,
        notify_me=f.notify,
        offered=progress.available(settings),
        locale=negotiate(None, None, request.headers.get("accept-language")),
        overdue_days=settings.overdue_days,
        answers=_answers(f.attributes),
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
        "expected": created.expected.as_dict(),
        "notify": created.channels,
    }


@router.get(
    "/communities/{code}/suggestions",
    response_class=GeoJSONResponse,
    response_model=SuggestionPage,
    summary="Browse visible suggestions (filters, bbox, paging)",
)
def browse(
    code: PublicCode,
    session: PublicSession,
    bounds: Bbox,
    near: Near,
    device: MaybeDevice,
    category: str | None = None,
    status: str | None = None,
    grid: str | None = None,
    q: Annotated[str | None, Query(description="words of the title")] = None,
    sort: Annotated[
        Literal["newest", "supports", "nearest"],
        Query(description="newest first, most supported first, or nearest to `near` first"),
    ] = "newest",
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
            q=q,
            sort=sort,
            near=near,
            device=device,
            limit=limit,
            offset=offset,
        )
    )


@router.post(
    "/suggestions/preview",
    response_model=SuggestionPreview,
    summary="Before posting: who will handle a suggestion here, and the expected wait",
    responses={422: {"description": "invalid geometry, or too far outside every community"}},
)
def preview(body: PreviewIn, session: ReadSession, settings: SettingsDep) -> dict[str, Any]:
    result = suggestions.preview(
        session,
        community_code=body.community,
        geom=parse_geojson(body.geometry, where="geometry"),
        snap_m=settings.snap_distance_m,
        overdue_days=settings.overdue_days,
    )
    owner = result.pop("owner")
    return {**result, "owner": RouteOut(**owner.as_dict(), message=owner.message())}


@router.get(
    "/communities/{code}/suggestions/map",
    response_model=SuggestionMapLayer,
    summary="What the map shows for a view: points when few, counts per cell when many",
)
def map_layer(
    code: PublicCode,
    session: PublicSession,
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
    session: PublicSession,
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
    body: Annotated[RequiredText, Field(max_length=suggestions.MAX_COMMENT)]
    nickname: Annotated[Text | None, Field(max_length=suggestions.MAX_NICKNAME)] = None


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
    response_model_exclude_unset=True,
    summary="A resident's private view (receipt code + token)",
)
def follow(
    code: str,
    token: Annotated[str, Query(min_length=8)],
    session: ReadSession,
    settings: SettingsDep,
) -> dict[str, Any]:
    return suggestions.follow(session, code=code, token=token, secret=settings.secret_key)


RECEIPT_TOKEN_HEADER = "X-Receipt-Token"


def receipt_token(
    code: str,
    request: Request,
    session: ReadSession,
    settings: SettingsDep,
    token: Annotated[str | None, Query(min_length=8, max_length=100)] = None,
) -> str:
    """The private link's token (header ``X-Receipt-Token`` or ``?token=``), checked against
    the receipt before the body is read."""
    token = request.headers.get(RECEIPT_TOKEN_HEADER) or token
    if not token:
        raise Forbidden(
            "send the private link's token in the {header} header",
            key="receipt_token_missing",
            header=RECEIPT_TOKEN_HEADER,
            field="token",
        )
    suggestions.check_receipt(session, code=code, token=token, secret=settings.secret_key)
    return token


class DetailsForm(BaseModel):
    text: Annotated[str | None, Field(max_length=suggestions.MAX_COMMENT), NoNul] = None


@router.post(
    "/receipts/{code}/details",
    response_model=FollowView,
    response_model_exclude_unset=True,
    summary="Add text or photos through the private link (token in X-Receipt-Token)",
    dependencies=[rate_limit("post")],
    openapi_extra=uploads.multipart_doc(DetailsForm, photos=True),
)
@body("photos")
def add_details(
    code: str,
    token: Annotated[str, Depends(receipt_token)],
    session: WriteSession,
    settings: SettingsDep,
    form: uploads.UploadForm,
) -> dict[str, Any]:
    return suggestions.add_details(
        session,
        code=code,
        token=token,
        secret=settings.secret_key,
        text=uploads.fields(form, DetailsForm).text,
        photos=_photos(form),
    )


@router.post(
    "/receipts/{code}/reopen",
    response_model=FollowView,
    response_model_exclude_unset=True,
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
    "/receipts/{code}/qr.png",
    response_class=Response,
    responses=content("image/png", description="QR code of the private follow link"),
    summary="The private follow link as a QR code, to save or print",
)
def receipt_qr(
    code: str,
    session: ReadSession,
    settings: SettingsDep,
    base: PublicBase,
    token: Annotated[str, Query(min_length=8, max_length=64)],
) -> Response:
    path = suggestions.follow_path(session, code=code, token=token, secret=settings.secret_key)
    data, media = printing.qr(base + path, kind="png")
    # private: the code holds the link's token
    return Response(data, media_type=media, headers={"Cache-Control": "private, no-store"})


@router.post(
    "/receipts/{code}/stop",
    response_model=MessagesStopped,
    summary="Stop progress messages (the stop link's token, or the follow link's)",
    dependencies=[rate_limit("interact")],
)
def stop_messages(
    code: str,
    session: WriteSession,
    settings: SettingsDep,
    s: Annotated[str, Form(max_length=64, description="the stop link's token")] = "",
    token: Annotated[str, Form(max_length=64, description="the follow link's token")] = "",
) -> dict[str, Any]:
    if not s and not token:
        raise InvalidInput(
            "send the stop link's token (s) or the follow link's (token)",
            key="stop_needs_token",
            field="s",
        )
    return suggestions.stop_messages(
        session, code=code, secret=settings.secret_key, stop=s, token=token
    )


@router.get(
    "/photos/{photo_id}",
    response_class=Response,
    responses=content(JPEG, description="the photo (JPEG, metadata stripped)"),
)
def photo(photo_id: IdPath, session: ReadSession, request: Request) -> Response:
    data, content_type = suggestions.photo_bytes(session, photo_id=photo_id)
    return stored_file(request, data, content_type, cache_control="public, max-age=86400")


@router.get(
    "/photos/{photo_id}/thumbnail",
    response_class=Response,
    responses=content(JPEG, description="its thumbnail (JPEG)"),
)
def thumbnail(photo_id: IdPath, session: ReadSession, request: Request) -> Response:
    data, content_type = suggestions.photo_bytes(session, photo_id=photo_id, thumbnail=True)
    return stored_file(request, data, content_type, cache_control="public, max-age=86400")
