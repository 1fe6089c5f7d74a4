"""Residents and the sites' participatory process (thin: see services.design.process and
services.design.consultation): the timeline, the drafts put before them, comments and the vote,
before/after photos and the process's attachments. Writes are tied to the resident's device
cookie (stored only as a keyed hash) and need the double-submit CSRF header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from renewmap.api.deps import (
    IdPath,
    Limiter,
    Locale,
    MaybeDevice,
    PublicCode,
    ReadSession,
    ResidentDevice,
    SettingsDep,
    WriteSession,
    client_address,
)
from renewmap.api.responses import JPEG, content, stored_file
from renewmap.api.routing import TransactionalRoute
from renewmap.api.schemas.design import (
    Consultation,
    Decision,
    DraftComment,
    Household,
    Objection,
    Objections,
    SiteListItem,
    SitePhotos,
    Timeline,
    Vote,
)
from renewmap.api.schemas.organisation import DeliberationOut
from renewmap.errors import NotFound
from renewmap.services.access.ratelimit import RateLimiter
from renewmap.services.design import consultation, decision, plans, process
from renewmap.services.ingest.files import ATTACHMENT_TYPES
from renewmap.services.requests import deliberations
from renewmap.validation import RequiredText, Text

router = APIRouter(prefix="/api", tags=["sites"], route_class=TransactionalRoute)


class CommentIn(BaseModel):
    body: Annotated[RequiredText, Field(max_length=1000)]
    nickname: Annotated[Text | None, Field(max_length=40)] = None
    point: dict[str, Any] | None = Field(None, description="GeoJSON Point on the draft's map")


class VoteIn(BaseModel):
    draft: int = Field(ge=1, le=10_000, description="the draft's number within the site")
    code: Annotated[Text | None, Field(max_length=20)] = Field(
        None, description="the household form's code (where the site has forms)"
    )


class CodeIn(BaseModel):
    code: Annotated[RequiredText, Field(max_length=20, description="7K2M-9P4Q")]


class ObjectionIn(BaseModel):
    body: Annotated[RequiredText, Field(max_length=2000)]
    nickname: Annotated[Text | None, Field(max_length=40)] = None
    code: Annotated[Text | None, Field(max_length=20)] = Field(
        None, description="the household form's code, to object as a household"
    )


def guarded_code(request: Request, limiter: RateLimiter, site: str, call: Any) -> Any:
    """Run ``call`` that takes a household code; a wrong code counts against the address and
    the site (429 once either has used up its tries): codes cannot be guessed. The tries
    are counted outside the request's transaction (``DatabaseStore``): they stay counted
    when the request fails, and a wrong code writes nothing else."""
    address = client_address(request)
    limiter.check("code", address)
    limiter.check("code_site", site)
    try:
        return call()
    except NotFound as exc:
        if exc.details.get("field") == "code":
            limiter.hit("code", address)
            limiter.hit("code_site", site)
        raise


@router.get(
    "/communities/{code}/sites",
    response_model=list[SiteListItem],
    summary="The community's sites and their current step",
)
def sites(code: PublicCode, session: ReadSession) -> list[dict[str, Any]]:
    return process.sites(session, community_code=code)


@router.get(
    "/sites/{code}/{site}/process",
    response_model=Timeline,
    summary="A site's participatory process (timeline)",
)
def timeline(code: PublicCode, site: str, session: ReadSession) -> dict[str, Any]:
    return process.timeline(session, community_code=code, site_code=site)


@router.get(
    "/sites/{code}/{site}/deliberations",
    response_model=list[DeliberationOut],
    summary="A site's deliberations (四议共答): day, parties, attendees, question, decision",
)
def site_deliberations(code: str, site: str, session: ReadSession) -> list[dict[str, Any]]:
    return deliberations.of_site(session, community_code=code, site_code=site)


@router.get(
    "/sites/{code}/{site}/consultation",
    response_model=Consultation,
    summary="The drafts put before residents, their comments, and my vote",
)
def drafts(
    code: PublicCode, site: str, session: ReadSession, device: MaybeDevice, locale: Locale
) -> dict[str, Any]:
    return consultation.view(
        session, community_code=code, site_code=site, device_hash=device, locale=locale
    )


PLAN_MEDIA = content(*plans.FORMATS.values(), description="the draft's plan, PNG or PDF")


@router.get(
    "/sites/{code}/{site}/drafts/{number}/plan.{fmt}",
    response_class=Response,
    responses={
        **PLAN_MEDIA,
        503: {"description": "no font with Chinese characters on the server"},
    },
    summary="A draft's rendered plan (legend, species, scale, north arrow): png or pdf",
)
def plan(
    code: PublicCode,
    site: str,
    number: IdPath,
    fmt: str,
    session: ReadSession,
    locale: Locale,
    paper: Annotated[str, Query(max_length=8, description="card (for screens) or a3")] = "card",
) -> Response:
    data, media, name = plans.public_plan(
        session,
        community_code=code,
        site_code=site,
        number=number,
        fmt=fmt,
        paper=paper,
        locale=locale,
    )
    disposition = "inline" if fmt == "png" and paper == "card" else "attachment"
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "Cache-Control": "public, max-age=300",
        },
    )


@router.post(
    "/sites/{code}/{site}/drafts/{number}/comments",
    status_code=201,
    response_model=DraftComment,
    summary="Comment on a draft (while residents join the design and during consultation)",
)
def comment(
    code: PublicCode,
    site: str,
    number: IdPath,
    body: CommentIn,
    session: WriteSession,
    device: ResidentDevice,
) -> dict[str, Any]:
    return consultation.comment(
        session,
        community_code=code,
        site_code=site,
        draft_number=number,
        device_hash=device,
        body=body.body,
        nickname=body.nickname,
        point=body.point,
    )


@router.post(
    "/sites/{code}/{site}/vote",
    status_code=201,
    response_model=Vote,
    summary="Vote for one draft (one vote each, during the public consultation)",
)
def vote(
    code: PublicCode,
    site: str,
    body: VoteIn,
    request: Request,
    session: WriteSession,
    device: ResidentDevice,
    settings: SettingsDep,
    limiter: Limiter,
    locale: Locale,
) -> dict[str, Any]:
    return guarded_code(
        request,
        limiter,
        f"{code}/{site}",
        lambda: consultation.vote(
            session,
            secret=settings.secret_key,
            community_code=code,
            site_code=site,
            draft_number=body.draft,
            device_hash=device,
            household_code=body.code,
            locale=locale,
        ),
    )


@router.post(
    "/sites/{code}/{site}/household",
    response_model=Household,
    summary="Enter a household form's code: the household it names and its vote so far "
    "(the first phone that enters a code holds it)",
    responses={404: {"description": "not a code of this site"}, 429: {"description": "too many"}},
)
def household(
    code: PublicCode,
    site: str,
    body: CodeIn,
    request: Request,
    session: WriteSession,
    device: ResidentDevice,
    settings: SettingsDep,
    limiter: Limiter,
    locale: Locale,
) -> dict[str, Any]:
    return guarded_code(
        request,
        limiter,
        f"{code}/{site}",
        lambda: consultation.household(
            session,
            secret=settings.secret_key,
            community_code=code,
            site_code=site,
            code=body.code,
            device_hash=device,
            locale=locale,
        ),
    )


@router.get(
    "/sites/{code}/{site}/decision",
    response_model=Decision,
    response_model_exclude_none=True,
    summary="The chosen draft, why, the vote's result and what comes next (from the display on)",
)
def site_decision(code: PublicCode, site: str, session: ReadSession) -> dict[str, Any]:
    return decision.decision(session, community_code=code, site_code=site)


@router.get(
    "/sites/{code}/{site}/objections",
    response_model=Objections,
    summary="Objections to the plan on display and their answers",
)
def objections(code: PublicCode, site: str, session: ReadSession) -> dict[str, Any]:
    return decision.objections(session, community_code=code, site_code=site)


@router.post(
    "/sites/{code}/{site}/objections",
    status_code=201,
    response_model=Objection,
    summary="Object to the plan on display (during the display period; staff answer it)",
)
def object_to(
    code: PublicCode,
    site: str,
    body: ObjectionIn,
    request: Request,
    session: WriteSession,
    device: ResidentDevice,
    settings: SettingsDep,
    limiter: Limiter,
) -> dict[str, Any]:
    return guarded_code(
        request,
        limiter,
        f"{code}/{site}",
        lambda: decision.object_to(
            session,
            secret=settings.secret_key,
            community_code=code,
            site_code=site,
            device_hash=device,
            body=body.body,
            nickname=body.nickname,
            household_code=body.code,
        ),
    )


@router.get(
    "/sites/{code}/{site}/photos",
    response_model=SitePhotos,
    summary="Dated before/after photos of a site",
)
def photos(code: PublicCode, site: str, session: ReadSession) -> dict[str, Any]:
    return process.photos(session, community_code=code, site_code=site)


@router.get(
    "/site-photos/{photo_id}",
    response_class=Response,
    responses=content(JPEG, description="the photo (JPEG)"),
    summary="A site photo",
)
def photo(photo_id: IdPath, session: ReadSession, request: Request) -> Response:
    data, media = process.photo_bytes(session, photo_id=photo_id)
    return stored_file(request, data, media, cache_control="public, max-age=86400")


@router.get(
    "/site-photos/{photo_id}/thumbnail",
    response_class=Response,
    responses=content(JPEG, description="its thumbnail (JPEG)"),
    summary="Thumbnail",
)
def thumbnail(photo_id: IdPath, session: ReadSession, request: Request) -> Response:
    data, media = process.photo_bytes(session, photo_id=photo_id, thumbnail=True)
    return stored_file(request, data, media, cache_control="public, max-age=86400")


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses=content(*sorted(ATTACHMENT_TYPES), description="the file, as uploaded"),
    summary="A step's file",
)
def attachment(attachment_id: IdPath, session: ReadSession, request: Request) -> Response:
    data, media, name = process.attachment(session, attachment_id=attachment_id)
    from urllib.parse import quote

    return stored_file(
        request,
        data,
        media,
        cache_control="public, max-age=3600",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
        },
    )
