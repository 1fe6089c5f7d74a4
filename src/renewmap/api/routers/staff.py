"""Staff API: sign in, my requests, one request, workflow actions (thin: see services).

Browsers sign in with ``POST /api/staff/session`` (JSON body) and carry an HttpOnly session
cookie; every write made with that cookie also needs the double-submit CSRF header. Scripts
create a bearer token (``POST /api/staff/tokens``) and send ``Authorization: Bearer …``.
Every endpoint checks scope on the server: see ``services.access.scope``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from renewmap.api import uploads
from renewmap.api.deps import (
    CSRF_COOKIE,
    STAFF_COOKIE,
    Bbox,
    IdPath,
    Limit,
    Offset,
    ReadSession,
    SettingsDep,
    Staff,
    WriteSession,
    rate_limit,
)
from renewmap.api.limits import body
from renewmap.api.responses import CSV, JPEG, XLSX, GeoJSONResponse, content, stored_file
from renewmap.api.routing import TransactionalRoute
from renewmap.api.schemas.common import Id
from renewmap.api.schemas.staff import (
    Adopter,
    Arrivals,
    Assigned,
    GridDraftCreated,
    GridDraftOut,
    GridStats,
    Me,
    Merged,
    MovedAway,
    PatrolMonth,
    PatrolOut,
    Published,
    SignedIn,
    StaffRequestDetailFeature,
    StaffRequestPage,
    TokenOut,
)
from renewmap.services.access import accounts
from renewmap.services.access.accounts import Principal
from renewmap.services.access.csrf import mint as mint_csrf
from renewmap.services.design import adoption
from renewmap.services.places import boundaries
from renewmap.services.requests import exports, handling, patrols, workflow
from renewmap.services.requests.photos import MAX_PHOTO_BYTES
from renewmap.validation import RequiredText, Text
from renewmap.vocabulary import MAX_ID, MIN_ID

router = APIRouter(prefix="/api/staff", tags=["staff"], route_class=TransactionalRoute)


class Credentials(BaseModel):
    username: Annotated[Text, Field(max_length=64)]
    password: Annotated[Text, Field(max_length=200)]


class TokenRequest(BaseModel):
    password: str = Field(
        max_length=200, description="your password again: a token outlives sessions"
    )
    label: Annotated[Text | None, Field(max_length=100)] = None


ActionName = Literal[
    "accept",
    "start",
    "resolve",
    "reject",
    "duplicate",
    "transfer",
    "reply",
    "note",
    "hide",
    "unhide",
    "assign_property",
    "property_done",
    "property_return",
]


class ActionIn(BaseModel):
    action: ActionName
    version: Id = Field(description="the version you are acting on (409 if stale)")
    note: Annotated[
        Text | None,
        Field(
            max_length=2000,
            description="the step's own text: public for public steps (reply, reason of a "
            "rejection, what was done), internal for note, hide and property_return",
        ),
    ] = None
    internal_note: Annotated[
        Text | None,
        Field(
            max_length=2000,
            description="for staff only, kept as a separate internal note next to the step "
            "(never shown to the resident)",
        ),
    ] = None
    target_grid: str | None = Field(None, description="transfer: the receiving grid's code")
    duplicate_of: Id | None = Field(None, description="duplicate: the request it repeats")
    due: date | None = Field(
        None, description="assign_property: the day the property company is to finish by"
    )
    org: str | None = Field(
        None, description="assign_property: the property company's code (default: the compound's)"
    )


def _me_body(session: Session, principal: Principal) -> dict[str, Any]:
    return handling.me(session, principal=principal)


@router.post(
    "/session",
    response_model=SignedIn,
    response_model_exclude_unset=True,
    summary="Sign in (browser): sets the session and CSRF cookies",
    dependencies=[rate_limit("login")],
)
def sign_in(body: Credentials, session: WriteSession, settings: SettingsDep) -> JSONResponse:
    token, user = accounts.login(session, username=body.username, password=body.password)
    return signed_in(session, accounts.principal_of(user), token, settings)


def signed_in(session: Session, principal: Principal, token: str, settings: Any) -> JSONResponse:
    """Who signed in, with the session and CSRF cookies set (a sign-in, an accepted
    invitation)."""
    csrf = mint_csrf(settings.secret_key)  # a fresh one per sign-in
    response = JSONResponse({**_me_body(session, principal), "csrf_token": csrf})
    response.set_cookie(
        STAFF_COOKIE,
        token,
        max_age=accounts.SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=settings.cookies_secure,
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=2 * 365 * 24 * 3600,  # as /api/session sets it: it must outlive the session
        httponly=False,
        samesite="strict",
        secure=settings.cookies_secure,
    )
    return response


@router.delete(
    "/session",
    status_code=204,
    response_class=Response,
    summary="Sign out (revokes the session)",
)
def sign_out(request: Request, session: WriteSession, _me: Staff) -> Response:
    token = request.cookies.get(STAFF_COOKIE)
    if token:
        accounts.revoke(session, token=token)
    response = Response(status_code=204)
    response.delete_cookie(STAFF_COOKIE)
    return response


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenOut,
    summary="Create an API bearer token (shown once)",
    dependencies=[rate_limit("login")],
)
def create_token(body: TokenRequest, session: WriteSession, me: Staff) -> dict[str, Any]:
    user = accounts.user_by_id(session, user_id=me.user_id)
    accounts.check_password(session, username=user.username, password=body.password)
    secret, row = accounts.issue_token(session, user=user, kind="api", label=body.label)
    return {"token": secret, "expires_at": row.expires_at.isoformat(), "label": row.label}


@router.get(
    "/me",
    response_model=Me,
    response_model_exclude_unset=True,
    summary="Who I am, my roles and the area I cover",
)
def me(session: ReadSession, principal: Staff) -> dict[str, Any]:
    return _me_body(session, principal)


class FindingIn(BaseModel):
    category: str
    title: Annotated[RequiredText, Field(max_length=200)]
    description: Annotated[Text | None, Field(max_length=2000)] = None
    geometry: dict[str, Any] = Field(description="GeoJSON Point (WGS84, lon first)")


class PatrolIn(BaseModel):
    community: str
    grids: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=100,
        description="the grids walked, all of one party branch (it clears all of the branch's)",
    )
    grid: str | None = Field(None, description="one grid walked (same as grids=[grid])")
    day: date
    participants: Annotated[RequiredText, Field(max_length=2000)]
    study_topic: Annotated[Text | None, Field(max_length=500)] = Field(
        None, description="what the branch studied before walking (学习)"
    )
    study_attendees: Annotated[Text | None, Field(max_length=2000)] = None
    route: dict[str, Any] | None = Field(None, description="GeoJSON LineString walked")
    route_source: Literal["tap", "gps"] = Field(
        "tap", description="tapped on the map, or recorded by the phone's GPS (simplified)"
    )
    notes: Annotated[Text | None, Field(max_length=4000)] = None
    findings: list[FindingIn] = Field(default_factory=list, max_length=50)


@router.post(
    "/patrols",
    status_code=201,
    response_model=PatrolOut,
    summary="Record a patrol; findings become requests",
)
@body("drawing")
def record_patrol(
    body: PatrolIn, session: WriteSession, principal: Staff, settings: SettingsDep
) -> dict[str, Any]:
    return patrols.record(
        session,
        principal=principal,
        today=settings.today(),  # "a future day" as the community counts days
        community_code=body.community,
        grid_codes=[*body.grids, *([body.grid] if body.grid else [])],
        day=body.day,
        participants=body.participants,
        study_topic=body.study_topic,
        study_attendees=body.study_attendees,
        route=body.route,
        route_source=body.route_source,
        notes=body.notes,
        findings=[f.model_dump() for f in body.findings],
    )


@router.get(
    "/adopters",
    response_model=list[Adopter],
    summary="Current plant adopters with their phones (plants in my area only)",
)
def adopters(community: str, session: ReadSession, me: Staff) -> list[dict[str, Any]]:
    return adoption.adopters(session, principal=me, community_code=community)


@router.get(
    "/patrols",
    response_model=PatrolMonth,
    summary="This month's patrols per grid and per branch of my area; who has not yet",
)
def patrol_status(
    session: ReadSession,
    principal: Staff,
    settings: SettingsDep,
    community: str,
    month: str | None = None,
) -> dict[str, Any]:
    return patrols.month_status(
        session,
        principal=principal,
        today=settings.today(),
        community_code=community,
        month=exports.parse_month(month),
    )


class MergeIn(BaseModel):
    keep: str = Field(description="the compound that stays")
    merge: str = Field(description="the compound that joins it")


def may_change_boundaries(code: str, session: WriteSession, principal: Staff) -> None:
    """Rights first: a grid set is read and checked only for the community's admins."""
    boundaries.may_change(session, principal=principal, community_code=code)


@router.post(
    "/communities/{code}/grid-drafts",
    status_code=201,
    response_model=GridDraftCreated,
    summary="Propose a grid set (GeoJSON FeatureCollection); returns the validation report",
    dependencies=[Depends(may_change_boundaries)],  # before the body is read (api.uploads)
    openapi_extra=uploads.json_doc(description="FeatureCollection of grid polygons"),
)
@body("drawing")
def create_grid_draft(
    code: str, session: WriteSession, principal: Staff, features: uploads.JSONBody
) -> dict[str, Any]:
    return boundaries.create_draft(
        session, principal=principal, community_code=code, features=features
    )


@router.get(
    "/communities/{code}/grid-drafts/{draft_id}",
    response_model=GridDraftOut,
    summary="A grid draft and its report",
)
def grid_draft(
    code: str, draft_id: IdPath, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    return boundaries.get_draft(
        session, principal=principal, community_code=code, draft_id=draft_id
    )


@router.post(
    "/communities/{code}/grid-drafts/{draft_id}/publish",
    response_model=Published,
    summary="Publish: new grid-set version, buildings reassigned, open requests re-routed",
)
def publish_grid_draft(
    code: str, draft_id: IdPath, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    return boundaries.publish(session, principal=principal, community_code=code, draft_id=draft_id)


class AssignIn(BaseModel):
    buildings: dict[str, str] = Field(
        default_factory=dict, description="building number → grid code, e.g. {'17号楼': 'G07'}"
    )
    grid_branches: dict[str, str] = Field(
        default_factory=dict, description="grid code → grid party branch code"
    )


@router.post(
    "/communities/{code}/assignments",
    response_model=Assigned,
    summary="Assign buildings to grids and grids to branches; re-routes open requests",
)
def assign(code: str, body: AssignIn, session: WriteSession, principal: Staff) -> dict[str, Any]:
    return boundaries.assign(
        session,
        principal=principal,
        community_code=code,
        buildings=body.buildings,
        grid_branches=body.grid_branches,
    )


@router.post(
    "/communities/{code}/compounds/merge",
    response_model=Merged,
    summary="拆墙并院: merge two compounds",
)
def merge_compounds(
    code: str, body: MergeIn, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    return boundaries.merge_compounds(
        session, principal=principal, community_code=code, keep=body.keep, merge=body.merge
    )


@router.get(
    "/photos/{photo_id}",
    response_class=Response,
    responses=content(JPEG, description="the photo (JPEG)"),
    summary="A photo (my area)",
)
def photo(photo_id: IdPath, session: ReadSession, principal: Staff, request: Request) -> Response:
    data, content_type = handling.photo_bytes(session, principal=principal, photo_id=photo_id)
    return stored_file(request, data, content_type, cache_control="private, no-cache")


@router.get(
    "/photos/{photo_id}/thumbnail",
    response_class=Response,
    responses=content(JPEG, description="its thumbnail (JPEG)"),
    summary="Its thumbnail",
)
def photo_thumbnail(
    photo_id: IdPath, session: ReadSession, principal: Staff, request: Request
) -> Response:
    data, content_type = handling.photo_bytes(
        session, principal=principal, photo_id=photo_id, thumbnail=True
    )
    return stored_file(request, data, content_type, cache_control="private, no-cache")


@router.get(
    "/stats",
    response_model=GridStats,
    summary="Per grid of my area: open, overdue, median days to resolve…",
)
def stats(
    session: ReadSession, principal: Staff, settings: SettingsDep, community: str
) -> dict[str, Any]:
    return handling.grid_stats(
        session,
        principal=principal,
        community_code=community,
        overdue_days=settings.overdue_days,
        time_zone=settings.time_zone,
    )


@router.get(
    "/requests/arrivals",
    response_model=Arrivals,
    summary="How many requests of my area in a community arrived after a moment (polling)",
)
def arrivals(
    session: ReadSession,
    principal: Staff,
    community: str,
    since: Annotated[datetime, Query(description="ISO 8601 moment with its offset")],
) -> dict[str, Any]:
    return handling.arrivals(session, principal=principal, community_code=community, since=since)


@router.get(
    "/requests",
    response_class=GeoJSONResponse,
    response_model=StaffRequestPage,
    summary="Requests in my area (filters, bbox, sort by age or supports, paging)",
)
def my_requests(
    session: ReadSession,
    principal: Staff,
    settings: SettingsDep,
    bounds: Bbox,
    status: str | None = Query(None, description="open, new, accepted, … (open = not closed)"),
    category: str | None = None,
    grid: str | None = None,
    community: str | None = None,
    building: str | None = Query(None, description="a building's number, e.g. 17号楼"),
    sort: str = "age",
    limit: Limit = 100,
    offset: Offset = 0,
    after: Annotated[
        int | None,
        Query(
            ge=MIN_ID,
            le=MAX_ID,
            description="keyset paging: the page after this request (the last id of the "
            "previous page) in the same sort and filters, however deep; offset then skips more",
        ),
    ] = None,
) -> GeoJSONResponse:
    return GeoJSONResponse(
        handling.my_requests(
            session,
            principal=principal,
            status=status,
            category=category,
            grid_code=grid,
            community_code=community,
            building=building,
            bounds=bounds,
            sort=sort,
            limit=limit,
            offset=offset,
            after=after,
            overdue_days=settings.overdue_days,
            time_zone=settings.time_zone,
        )
    )


def _export_filters(
    status: str | None = None,
    category: str | None = None,
    grid: str | None = None,
    community: str | None = None,
) -> dict[str, Any]:
    return {"status": status, "category": category, "grid_code": grid, "community_code": community}


ExportFilters = Annotated[dict[str, Any], Depends(_export_filters)]


@router.get(
    "/requests.csv",
    response_class=Response,
    responses=content(CSV, description="one row per request"),
    summary="My area's requests as CSV (UTF-8 with BOM, for Excel)",
)
def export_csv(
    session: ReadSession, principal: Staff, filters: ExportFilters, settings: SettingsDep
) -> Response:
    tz = settings.tz
    records = exports.iter_records(session, principal=principal, tz=tz, **filters)
    return StreamingResponse(
        exports.chunks(exports.export_file("csv", records, tz=tz)),
        media_type=CSV,
        headers={"Content-Disposition": 'attachment; filename="requests.csv"'},
    )


@router.get(
    "/requests.xlsx",
    response_class=Response,
    responses=content(XLSX, description="one row per request"),
    summary="My area's requests as an Excel workbook",
)
def export_xlsx(
    session: ReadSession, principal: Staff, filters: ExportFilters, settings: SettingsDep
) -> Response:
    tz = settings.tz
    records = exports.iter_records(session, principal=principal, tz=tz, **filters)
    return StreamingResponse(
        exports.chunks(exports.export_file("xlsx", records, tz=tz)),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="requests.xlsx"'},
    )


@router.get(
    "/requests/{request_id}",
    response_class=GeoJSONResponse,
    response_model=StaffRequestDetailFeature,
    response_model_exclude_unset=True,
    summary="One request in full: contact, photos, history with internal notes",
)
def one_request(
    request_id: IdPath, session: ReadSession, principal: Staff, settings: SettingsDep
) -> GeoJSONResponse:
    return GeoJSONResponse(
        handling.request_detail(
            session,
            principal=principal,
            request_id=request_id,
            overdue_days=settings.overdue_days,
            time_zone=settings.time_zone,
        )
    )


@router.post(
    "/requests/{request_id}/actions",
    response_model=StaffRequestDetailFeature | MovedAway,
    response_model_exclude_unset=True,
    summary="A workflow step (accept, start, resolve, reject, duplicate, transfer, reply, note)",
)
def act(
    request_id: IdPath,
    body: ActionIn,
    session: WriteSession,
    principal: Staff,
    settings: SettingsDep,
) -> dict[str, Any]:
    return _act(session, principal, settings, request_id, body, [])


def _act(
    session: Session,
    principal: Principal,
    settings: Any,
    request_id: int,
    body: ActionIn,
    photos: list[tuple[str, bytes]],
) -> dict[str, Any]:
    workflow.act(
        session,
        principal=principal,
        request_id=request_id,
        action=body.action,
        version=body.version,
        note=body.note,
        internal_note=body.internal_note,
        target_grid=body.target_grid,
        duplicate_of=body.duplicate_of,
        due=body.due,
        org=body.org,
        photos=photos,
        today=settings.today(),
    )
    return handling.after_step(
        session,
        principal=principal,
        request_id=request_id,
        overdue_days=settings.overdue_days,
        time_zone=settings.time_zone,
    )


@router.post(
    "/requests/{request_id}/actions/with-photos",
    response_model=StaffRequestDetailFeature | MovedAway,
    response_model_exclude_unset=True,
    summary="A workflow step with up to 3 'after' photos (multipart: the fields of /actions "
    "and photos); reply, resolve and property_done",
    openapi_extra=uploads.multipart_doc(ActionIn, photos=True),
)
@body("photos")
def act_with_photos(
    request_id: IdPath,
    session: WriteSession,
    principal: Staff,
    settings: SettingsDep,
    form: uploads.UploadForm,
) -> dict[str, Any]:
    fields = uploads.fields(form, ActionIn)
    photos = uploads.files(
        form, "photos", limit=MAX_PHOTO_BYTES, at_most=workflow.MAX_STEP_PHOTOS + 1
    )
    return _act(session, principal, settings, request_id, fields, photos)
