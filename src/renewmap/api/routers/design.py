"""Designers' API: drafts of a site, their features, live metrics and rule checks (thin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, Field

from renewmap.api import uploads
from renewmap.api.deps import IdPath, IdQuery, Staff, WriteSession
from renewmap.api.limits import body
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
from renewmap.services.ingest.files import MAX_ATTACHMENT
from renewmap.services.places.coverage import community_coverage
from renewmap.services.requests.photos import MAX_PHOTO_BYTES
from renewmap.validation import NoNul, RequiredText, Text

router = APIRouter(prefix="/api/design", tags=["design"])


class DraftIn(BaseModel):
    name: Annotated[RequiredText, Field(max_length=200)]
    copy_from: Id | None = Field(None, description="start as a copy")
    from_site: bool = Field(False, description="start from the site's current layers")


class NoFields(BaseModel):
    """A form with nothing but its file."""


class EvaluateIn(BaseModel):
    features: dict[str, Any] = Field(description="FeatureCollection being drawn (not saved)")


class PublicIn(BaseModel):
    public: bool = Field(description="put the draft before the residents (or take it back)")


class AdoptsIn(BaseModel):
    request_ids: list[Id] = Field(max_length=500)


class StageIn(BaseModel):
    starts_on: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    ends_on: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    minutes: Annotated[Text | None, Field(max_length=20_000)] = None


class MoveIn(BaseModel):
    stage: str = Field(max_length=32, description="the step the site is in now")


class FeaturesIn(BaseModel):
    version: Id = Field(description="the version you drew on (409 if stale)")
    features: dict[str, Any] = Field(description="FeatureCollection; properties.kind required")


def may_draw(draft_id: IdPath, session: WriteSession, me: Staff) -> None:
    """The draft exists and the principal may draw on it: checked before a body is read."""
    drafts.site_context(session, principal=me, draft_id=draft_id)


def may_run_site(code: str, site: str, session: WriteSession, me: Staff) -> None:
    """The site exists and the principal runs its process: checked before a file is read."""
    process.require_site_runner(session, principal=me, community_code=code, site_code=site)


MayDraw = Depends(may_draw)
MayRunSite = Depends(may_run_site)


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
    dependencies=[MayDraw],  # rights before the body is read (api.uploads)
    openapi_extra=uploads.json_doc(FeaturesIn),
)
@body("drawing")
def save(
    draft_id: IdPath, session: WriteSession, me: Staff, data: uploads.JSONBody
) -> dict[str, Any]:
    features = uploads.validated(data, FeaturesIn)
    return drafts.save_features(
        session,
        principal=me,
        draft_id=draft_id,
        version=features.version,
        features=features.features,
    )


@router.post(
    "/drafts/{draft_id}/evaluate",
    response_model=Evaluation,
    response_model_exclude_unset=True,
    summary="Live metrics and rule checks of unsaved work",
    dependencies=[MayDraw],
    openapi_extra=uploads.json_doc(EvaluateIn),
)
@body("drawing")
def evaluate(
    draft_id: IdPath, session: WriteSession, me: Staff, data: uploads.JSONBody
) -> dict[str, Any]:
    work = uploads.validated(data, EvaluateIn)
    return drafts.evaluate(session, principal=me, draft_id=draft_id, features=work.features)


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


class ImportForm(BaseModel):
    version: Annotated[Id, Field(description="the draft's version")]
    kind: Annotated[
        str | None, Field(max_length=32, description="kind for features that name none"), NoNul
    ] = None
    epsg: Annotated[int | None, Field(ge=1024, le=999_999, description="CRS of a DXF")] = None


@router.post(
    "/drafts/{draft_id}/import",
    response_model=DraftOut,
    response_model_exclude_unset=True,
    summary="Add a layer from GeoJSON, GeoPackage or DXF to a draft (all or nothing)",
    responses={413: {"description": "file too large"}, 422: {"description": "bad file"}},
    dependencies=[MayDraw],
    openapi_extra=uploads.multipart_doc(ImportForm, file=False),
)
@body("files")
def import_layer(
    draft_id: IdPath, session: WriteSession, me: Staff, form: uploads.UploadForm
) -> dict[str, Any]:
    f = uploads.fields(form, ImportForm)
    ((filename, data),) = uploads.files(
        form, "file", limit=exchange.MAX_IMPORT, at_most=1, required=True
    )
    return exchange.import_layer(
        session,
        principal=me,
        draft_id=draft_id,
        version=f.version,
        filename=filename,
        data=data,
        kind=f.kind or None,
        epsg=f.epsg,
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
    dependencies=[MayRunSite],
    openapi_extra=uploads.multipart_doc(NoFields, file=False),
)
@body("files")
def attach(
    code: str, site: str, stage: str, session: WriteSession, me: Staff, form: uploads.UploadForm
) -> dict[str, Any]:
    ((filename, data),) = uploads.files(
        form, "file", limit=MAX_ATTACHMENT, at_most=1, required=True
    )
    return process.add_attachment(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        stage=stage,
        filename=filename,
        data=data,
    )


class SitePhotoForm(BaseModel):
    phase: Annotated[str, Field(max_length=16, description="before or after"), NoNul]
    taken_on: Annotated[str, Field(max_length=10, description="YYYY-MM-DD"), NoNul]
    caption: Annotated[str | None, Field(max_length=200), NoNul] = None


@router.post(
    "/communities/{code}/sites/{site}/photos",
    status_code=201,
    response_model=SitePhotos,
    summary="A dated before/after photo of the site",
    dependencies=[MayRunSite],
    openapi_extra=uploads.multipart_doc(SitePhotoForm, file=False),
)
@body("photos")
def add_photo(
    code: str, site: str, session: WriteSession, me: Staff, form: uploads.UploadForm
) -> dict[str, Any]:
    f = uploads.fields(form, SitePhotoForm)
    ((filename, data),) = uploads.files(
        form, "file", limit=MAX_PHOTO_BYTES, at_most=1, required=True
    )
    return process.add_photo(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        phase=f.phase,
        taken_on=f.taken_on,
        caption=f.caption,
        filename=filename,
        data=data,
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
def coverage(
    code: str,
    session: WriteSession,
    me: Staff,
    radius_m: Annotated[float, Query(ge=10, le=5000, allow_inf_nan=False)] = 300.0,
) -> dict[str, Any]:
    # buildings and their households: staff who plan the community's sites, as on the page
    drafts.require_drawer(session, principal=me, community_code=code)
    return community_coverage(session, community_code=code, radius_m=radius_m)
