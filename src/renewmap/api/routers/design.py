"""Designers' API: drafts of a site, their features, live metrics and rule checks (thin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Response, UploadFile
from pydantic import BaseModel, Field

from renewmap.api.deps import IdPath, IdQuery, Staff, WriteSession
from renewmap.api.responses import content
from renewmap.api.schemas.common import Id
from renewmap.api.schemas.design import (
    Comparison,
    DraftListItem,
    DraftOut,
    Evaluation,
    ExportedDraft,
    SitePhotos,
    Standards,
    Timeline,
)
from renewmap.api.schemas.places import Coverage
from renewmap.services.design import consultation, drafts, exchange, process
from renewmap.services.places.coverage import community_coverage
from renewmap.services.requests.photos import MAX_PHOTO_BYTES
from renewmap.vocabulary import MAX_ID, MIN_ID

router = APIRouter(prefix="/api/design", tags=["design"])


class DraftIn(BaseModel):
    name: str = Field(max_length=200)
    copy_from: Id | None = Field(None, description="start as a copy")
    from_site: bool = Field(False, description="start from the site's current layers")


class EvaluateIn(BaseModel):
    features: dict[str, Any] = Field(description="FeatureCollection being drawn (not saved)")


class PublicIn(BaseModel):
    public: bool = Field(description="put the draft before the residents (or take it back)")


class AdoptsIn(BaseModel):
    request_ids: list[Id] = Field(max_length=500)


class StageIn(BaseModel):
    starts_on: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    ends_on: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    minutes: str | None = Field(None, max_length=20_000)


class MoveIn(BaseModel):
    stage: str = Field(max_length=32, description="the step the site is in now")


class FeaturesIn(BaseModel):
    version: Id = Field(description="the version you drew on (409 if stale)")
    features: dict[str, Any] = Field(description="FeatureCollection; properties.kind required")


@router.post(
    "/communities/{code}/sites/{site}/drafts",
    status_code=201,
    response_model=DraftOut,
    response_model_exclude_unset=True,
    summary="New draft",
)
def create_draft(
    code: str, site: str, body: DraftIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return drafts.create_draft(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        name=body.name,
        copy_from=body.copy_from,
        from_site=body.from_site,
    )


@router.get(
    "/communities/{code}/sites/{site}/drafts",
    response_model=list[DraftListItem],
    summary="The drafts of a site",
)
def site_drafts(code: str, site: str, session: WriteSession, me: Staff) -> list[dict[str, Any]]:
    return drafts.site_drafts(session, principal=me, community_code=code, site_code=site)


@router.get(
    "/drafts/{draft_id}",
    response_model=DraftOut,
    response_model_exclude_unset=True,
    summary="A draft: features, live metrics, rule violations",
)
def draft(draft_id: IdPath, session: WriteSession, me: Staff) -> dict[str, Any]:
    return drafts.view(session, principal=me, draft_id=draft_id)


@router.put(
    "/drafts/{draft_id}/features",
    response_model=DraftOut,
    response_model_exclude_unset=True,
    summary="Save the drawn features (whole set)",
)
def save(draft_id: IdPath, body: FeaturesIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return drafts.save_features(
        session, principal=me, draft_id=draft_id, version=body.version, features=body.features
    )


@router.post(
    "/drafts/{draft_id}/evaluate",
    response_model=Evaluation,
    response_model_exclude_unset=True,
    summary="Live metrics and rule checks of unsaved work",
)
def evaluate(
    draft_id: IdPath, body: EvaluateIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return drafts.evaluate(session, principal=me, draft_id=draft_id, features=body.features)


@router.put(
    "/drafts/{draft_id}/public",
    response_model=DraftOut,
    response_model_exclude_unset=True,
    summary="Put a draft before the residents",
)
def public(draft_id: IdPath, body: PublicIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return drafts.set_public(session, principal=me, draft_id=draft_id, public=body.public)


@router.put(
    "/drafts/{draft_id}/adopts",
    response_model=DraftOut,
    response_model_exclude_unset=True,
    summary="The resident suggestions this draft adopts",
)
def adopts(draft_id: IdPath, body: AdoptsIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return drafts.set_adopted(
        session, principal=me, draft_id=draft_id, request_ids=body.request_ids
    )


@router.get(
    "/drafts/{draft_id}/export.{fmt}",
    response_class=Response,
    responses={
        200: {
            **content(
                *(media for media, _ in exchange.FORMATS.values()),
                description="the draft as a file (attachment)",
            )[200],
            "model": ExportedDraft,
        }
    },
    summary="Export a draft: geojson, gpkg (a layer per kind) or dxf (a layer per kind, metres)",
)
def export(draft_id: IdPath, fmt: str, session: WriteSession, me: Staff) -> Response:
    data, media, filename = exchange.export(session, principal=me, draft_id=draft_id, fmt=fmt)
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/drafts/{draft_id}/import",
    response_model=DraftOut,
    response_model_exclude_unset=True,
    summary="Add a layer from GeoJSON, GeoPackage or DXF to a draft (all or nothing)",
    responses={413: {"description": "file too large"}, 422: {"description": "bad file"}},
)
def import_layer(
    draft_id: IdPath,
    session: WriteSession,
    me: Staff,
    file: Annotated[UploadFile, File()],
    version: Annotated[int, Form(ge=MIN_ID, le=MAX_ID)],
    kind: Annotated[str | None, Form(description="kind for features that name none")] = None,
    epsg: Annotated[int | None, Form(ge=1024, le=999_999, description="CRS of a DXF")] = None,
) -> dict[str, Any]:
    return exchange.import_layer(
        session,
        principal=me,
        draft_id=draft_id,
        version=version,
        filename=file.filename or "upload",
        data=file.file.read(exchange.MAX_IMPORT + 1),
        kind=kind or None,
        epsg=epsg,
    )


@router.put(
    "/communities/{code}/sites/{site}/stages/{stage}",
    response_model=Timeline,
    summary="A step's dates, minutes",
)
def record_stage(
    code: str, site: str, stage: str, body: StageIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return process.record_stage(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        stage=stage,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        minutes=body.minutes,
    )


@router.post(
    "/communities/{code}/sites/{site}/stage",
    response_model=Timeline,
    summary="Move the site to a step",
)
def move(code: str, site: str, body: MoveIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return process.move_to(
        session, principal=me, community_code=code, site_code=site, stage=body.stage
    )


@router.post(
    "/communities/{code}/sites/{site}/stages/{stage}/attachments",
    status_code=201,
    response_model=Timeline,
    summary="Keep a file with a step (PDF, image, text, Office; ≤ 10 MB)",
)
def attach(
    code: str,
    site: str,
    stage: str,
    session: WriteSession,
    me: Staff,
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    return process.add_attachment(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        stage=stage,
        filename=file.filename or "",
        data=file.file.read(process.MAX_ATTACHMENT + 1),
    )


@router.post(
    "/communities/{code}/sites/{site}/photos",
    status_code=201,
    response_model=SitePhotos,
    summary="A dated before/after photo of the site",
)
def add_photo(
    code: str,
    site: str,
    session: WriteSession,
    me: Staff,
    file: Annotated[UploadFile, File()],
    phase: Annotated[str, Form(description="before or after")],
    taken_on: Annotated[str, Form(max_length=10, description="YYYY-MM-DD")],
    caption: Annotated[str | None, Form(max_length=200)] = None,
) -> dict[str, Any]:
    return process.add_photo(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        phase=phase,
        taken_on=taken_on,
        caption=caption,
        filename=file.filename or "photo",
        data=file.file.read(MAX_PHOTO_BYTES + 1),
    )


@router.delete(
    "/comments/{comment_id}",
    status_code=204,
    response_class=Response,
    summary="Hide a resident's comment",
)
def hide_comment(comment_id: IdPath, session: WriteSession, me: Staff) -> Response:
    consultation.hide_comment(session, principal=me, comment_id=comment_id)
    return Response(status_code=204)


@router.get(
    "/communities/{code}/standards",
    response_model=Standards,
    summary="Unit costs and rule thresholds of the designs",
)
def standards(code: str, session: WriteSession, me: Staff) -> dict[str, Any]:
    return drafts.get_standards(session, principal=me, community_code=code)


@router.put(
    "/communities/{code}/standards",
    response_model=Standards,
    summary="Override unit costs and rule thresholds ({unit_costs: {group: {item: yuan}}, "
    "rules: {tree_wall_m, barrier_free_width_m}}; {} restores the defaults)",
)
def set_standards(
    code: str,
    session: WriteSession,
    me: Staff,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    return drafts.set_standards(session, principal=me, community_code=code, overrides=body)


@router.get(
    "/compare",
    response_model=Comparison,
    response_model_exclude_unset=True,
    summary="Two drafts of one site side by side",
)
def compare(a: IdQuery, b: IdQuery, session: WriteSession, me: Staff) -> dict[str, Any]:
    return drafts.compare(session, principal=me, a=a, b=b)


@router.get(
    "/communities/{code}/coverage",
    response_model=Coverage,
    summary="Buildings within walking distance of a green or activity site (and the rest)",
)
def coverage(code: str, session: WriteSession, radius_m: float = 300.0) -> dict[str, Any]:
    return community_coverage(session, community_code=code, radius_m=radius_m)
