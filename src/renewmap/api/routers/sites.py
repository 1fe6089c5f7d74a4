"""Residents and the sites' participatory process (thin: see services.design.process and
services.design.consultation): the timeline, the drafts put before them, comments and the vote,
before/after photos and the process's attachments. Writes are tied to the resident's device
cookie (stored only as a keyed hash) and need the double-submit CSRF header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from renewmap.api.deps import IdPath, MaybeDevice, ReadSession, ResidentDevice, WriteSession
from renewmap.api.responses import JPEG, content
from renewmap.api.schemas.design import (
    Consultation,
    DraftComment,
    SiteListItem,
    SitePhotos,
    Timeline,
    Vote,
)
from renewmap.services.design import consultation, process
from renewmap.services.ingest.files import ATTACHMENT_TYPES
from renewmap.validation import RequiredText, Text

router = APIRouter(prefix="/api", tags=["sites"])


class CommentIn(BaseModel):
    body: Annotated[RequiredText, Field(max_length=1000)]
    nickname: Annotated[Text | None, Field(max_length=40)] = None
    point: dict[str, Any] | None = Field(None, description="GeoJSON Point on the draft's map")


class VoteIn(BaseModel):
    draft: int = Field(ge=1, le=10_000, description="the draft's number within the site")


@router.get(
    "/communities/{code}/sites",
    response_model=list[SiteListItem],
    summary="The community's sites and their current step",
)
def sites(code: str, session: ReadSession) -> list[dict[str, Any]]:
    return process.sites(session, community_code=code)


@router.get(
    "/sites/{code}/{site}/process",
    response_model=Timeline,
    summary="A site's participatory process (timeline)",
)
def timeline(code: str, site: str, session: ReadSession) -> dict[str, Any]:
    return process.timeline(session, community_code=code, site_code=site)


@router.get(
    "/sites/{code}/{site}/consultation",
    response_model=Consultation,
    summary="The drafts put before residents, their comments, and my vote",
)
def drafts(code: str, site: str, session: ReadSession, device: MaybeDevice) -> dict[str, Any]:
    return consultation.view(session, community_code=code, site_code=site, device_hash=device)


@router.post(
    "/sites/{code}/{site}/drafts/{number}/comments",
    status_code=201,
    response_model=DraftComment,
    summary="Comment on a draft (while residents join the design and during consultation)",
)
def comment(
    code: str,
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
    code: str,
    site: str,
    body: VoteIn,
    session: WriteSession,
    device: ResidentDevice,
) -> dict[str, Any]:
    return consultation.vote(
        session,
        community_code=code,
        site_code=site,
        draft_number=body.draft,
        device_hash=device,
    )


@router.get(
    "/sites/{code}/{site}/photos",
    response_model=SitePhotos,
    summary="Dated before/after photos of a site",
)
def photos(code: str, site: str, session: ReadSession) -> dict[str, Any]:
    return process.photos(session, community_code=code, site_code=site)


@router.get(
    "/site-photos/{photo_id}",
    response_class=Response,
    responses=content(JPEG, description="the photo (JPEG)"),
    summary="A site photo",
)
def photo(photo_id: IdPath, session: ReadSession) -> Response:
    data, media = process.photo_bytes(session, photo_id=photo_id)
    return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


@router.get(
    "/site-photos/{photo_id}/thumbnail",
    response_class=Response,
    responses=content(JPEG, description="its thumbnail (JPEG)"),
    summary="Thumbnail",
)
def thumbnail(photo_id: IdPath, session: ReadSession) -> Response:
    data, media = process.photo_bytes(session, photo_id=photo_id, thumbnail=True)
    return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses=content(*sorted(ATTACHMENT_TYPES), description="the file, as uploaded"),
    summary="A step's file",
)
def attachment(attachment_id: IdPath, session: ReadSession) -> Response:
    data, media, name = process.attachment(session, attachment_id=attachment_id)
    from urllib.parse import quote

    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
        },
    )
