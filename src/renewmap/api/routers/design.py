"""Designers' API: drafts of a site, their features, live metrics and rule checks (thin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, Field

from renewmap import printing, sheets
from renewmap.api import uploads
from renewmap.api.deps import IdPath, IdQuery, Locale, PublicBase, SettingsDep, Staff, WriteSession
from renewmap.api.limits import body
from renewmap.api.responses import GeoJSONResponse, content
from renewmap.api.routing import TransactionalRoute
from renewmap.api.schemas.common import FeatureCollection, Id
from renewmap.api.schemas.design import (
    BuildItem,
    BuildOut,
    Catchment,
    Comparison,
    Decision,
    DraftListItem,
    DraftOut,
    Evaluation,
    ExportedDraft,
    FacilityOut,
    Objection,
    SiteOut,
    SitePhotos,
    Standards,
    Timeline,
    Turnout,
)
from renewmap.api.schemas.places import Coverage
from renewmap.services.design import (
    consultation,
    decision,
    drafts,
    exchange,
    households,
    places,
    plans,
    process,
)
from renewmap.services.ingest.files import MAX_ATTACHMENT
from renewmap.services.places.coverage import community_coverage
from renewmap.services.requests.photos import MAX_PHOTO_BYTES
from renewmap.validation import NoNul, RequiredText, Text

router = APIRouter(prefix="/api/design", tags=["design"], route_class=TransactionalRoute)


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
    acknowledge_violations: bool = Field(
        False, description="show it although it still breaks rules (409 otherwise)"
    )


class DetailsIn(BaseModel):
    name: Annotated[RequiredText, Field(max_length=200)]
    description: Annotated[Text | None, Field(max_length=2000)] = None


class AdoptsIn(BaseModel):
    request_ids: list[Id] = Field(max_length=500)


class StageIn(BaseModel):
    starts_on: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    ends_on: str | None = Field(None, max_length=10, description="YYYY-MM-DD")
    minutes: Annotated[Text | None, Field(max_length=20_000)] = None


class MoveIn(BaseModel):
    stage: str = Field(max_length=32, description="the step the site is in now")
    reason: Annotated[Text | None, Field(max_length=2000)] = Field(
        None,
        description="why steps are skipped, or a joint meeting is left without minutes "
        "(409 without it when needed)",
    )


class DecisionIn(BaseModel):
    draft: int = Field(ge=1, le=10_000, description="the chosen draft's number")
    reasons: Annotated[RequiredText, Field(max_length=5000)]


class AnswerIn(BaseModel):
    answer: Annotated[RequiredText, Field(max_length=5000)]


class BuildIn(BaseModel):
    built_on: str | None = Field(None, max_length=10, description="YYYY-MM-DD (today if none)")


StairwellHouseholds = Annotated[int, Field(ge=1, le=households.MAX_HOUSEHOLDS)]


class FormBuilding(BaseModel):
    building: Annotated[RequiredText, Field(max_length=64, description="as people name it")]
    # (stairwells first: the field named households hides the module in the class body)
    stairwells: list[StairwellHouseholds] | None = Field(
        None,
        max_length=households.MAX_STAIRWELLS,
        description="where the stairwells (单元) are known: the households of each, in order "
        "(1单元, 2单元…); instead of households",
    )
    households: int | None = Field(
        None, ge=1, le=households.MAX_HOUSEHOLDS, description="default: the building's count"
    )


class FormsIn(BaseModel):
    buildings: list[FormBuilding] = Field(min_length=1, max_length=500)
    reissue: bool = Field(False, description="also replace the forms not answered yet")


class SiteIn(BaseModel):
    name: Annotated[RequiredText, Field(max_length=200)]
    code: Annotated[Text | None, Field(max_length=32)] = None
    description: Annotated[Text | None, Field(max_length=2000)] = None
    geometry: dict[str, Any] = Field(description="the outline: a GeoJSON Polygon")


class SiteEditIn(BaseModel):
    name: Annotated[Text | None, Field(max_length=200)] = None
    description: Annotated[Text | None, Field(max_length=2000)] = None
    geometry: dict[str, Any] | None = None


class FacilityIn(BaseModel):
    type: str = Field(max_length=32, description=", ".join(places.FACILITY_TYPES))
    name: Annotated[Text | None, Field(max_length=200)] = None
    geometry: dict[str, Any] = Field(description="a GeoJSON Point or Polygon")


class FacilityEditIn(BaseModel):
    type: str | None = Field(None, max_length=32)
    name: Annotated[Text | None, Field(max_length=200)] = None
    geometry: dict[str, Any] | None = None


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
    return drafts.set_public(
        session,
        principal=me,
        draft_id=draft_id,
        public=body.public,
        acknowledge_violations=body.acknowledge_violations,
    )


@router.put(
    "/drafts/{draft_id}/details",
    response_model=DraftOut,
    response_model_exclude_unset=True,
    summary="A draft's name and its plain description for residents",
)
def details(draft_id: IdPath, body: DetailsIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return drafts.set_details(
        session, principal=me, draft_id=draft_id, name=body.name, description=body.description
    )


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
        session,
        principal=me,
        community_code=code,
        site_code=site,
        stage=body.stage,
        reason=body.reason,
    )


@router.get(
    "/communities/{code}/sites/{site}/decision",
    response_model=Decision,
    response_model_exclude_none=True,
    summary="The decision as recorded (before it goes on display too)",
)
def get_decision(code: str, site: str, session: WriteSession, me: Staff) -> dict[str, Any]:
    process.require_site_runner(session, principal=me, community_code=code, site_code=site)
    return decision.decision(session, community_code=code, site_code=site, staff=True)


@router.put(
    "/communities/{code}/sites/{site}/decision",
    response_model=Decision,
    response_model_exclude_none=True,
    summary="Record the chosen draft and why (from the consultation until the display)",
)
def decide(
    code: str, site: str, body: DecisionIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return decision.decide(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        draft_number=body.draft,
        reasons=body.reasons,
    )


@router.post(
    "/objections/{objection_id}/answer",
    response_model=Objection,
    summary="Answer a resident's objection (public)",
)
def answer(
    objection_id: IdPath, body: AnswerIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return decision.answer(session, principal=me, objection_id=objection_id, text=body.answer)


@router.post(
    "/communities/{code}/sites/{site}/build",
    status_code=201,
    response_model=BuildOut,
    summary="Build the chosen draft: its features become the site's layers (history kept)",
)
def build(code: str, site: str, body: BuildIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return decision.build(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        built_on=process.parse_day(body.built_on, "built_on"),
    )


@router.get(
    "/communities/{code}/sites/{site}/builds",
    response_model=list[BuildItem],
    summary="The site's builds (each keeps the layers it replaced)",
)
def builds(code: str, site: str, session: WriteSession, me: Staff) -> list[dict[str, Any]]:
    return decision.builds(session, principal=me, community_code=code, site_code=site)


@router.get(
    "/communities/{code}/sites/{site}/builds/{build_id}/before.geojson",
    response_class=GeoJSONResponse,
    response_model=FeatureCollection,
    summary="The layers a build replaced (each feature's layer in properties.layer_kind)",
)
def layers_before(
    code: str, site: str, build_id: IdPath, session: WriteSession, me: Staff
) -> GeoJSONResponse:
    return GeoJSONResponse(
        decision.layers_before(
            session, principal=me, community_code=code, site_code=site, build_id=build_id
        )
    )


@router.get(
    "/communities/{code}/sites/{site}/households",
    response_model=Catchment,
    summary="The buildings around the site (households, forms issued and answered)",
)
def catchment(
    code: str,
    site: str,
    session: WriteSession,
    me: Staff,
    radius_m: Annotated[float, Query(ge=10, le=3000, allow_inf_nan=False)] = 300.0,
) -> dict[str, Any]:
    return households.catchment(
        session, principal=me, community_code=code, site_code=site, radius_m=radius_m
    )


@router.post(
    "/communities/{code}/sites/{site}/households/forms",
    response_class=Response,
    responses={
        **content("application/pdf", description="one form per household, to print"),
        409: {"description": "every household chosen has a form already"},
        503: {"description": "no font with Chinese characters on the server"},
    },
    summary="Issue household consultation forms (征询单) with one-time codes: a PDF to print",
)
def issue_forms(
    code: str,
    site: str,
    body: FormsIn,
    session: WriteSession,
    me: Staff,
    settings: SettingsDep,
    base: PublicBase,
    locale: Locale,
) -> Response:
    printing.cjk_font()  # no font, no forms: a 503 before any code is made
    forms, summary = households.issue(
        session,
        principal=me,
        secret=settings.secret_key,
        base_url=base,
        community_code=code,
        site_code=site,
        buildings=[b.model_dump() for b in body.buildings],
        reissue=body.reissue,
        locale=locale,
    )
    data = sheets.household_forms_pdf(forms, title=forms[0].title)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{site}-forms.pdf"',
            "X-Forms-Issued": str(summary["issued"]),
            "Cache-Control": "no-store",  # the codes exist only in this file
        },
    )


@router.get(
    "/communities/{code}/sites/{site}/households/turnout",
    response_model=Turnout,
    summary="Households that answered, by building (the running count stays closed)",
)
def turnout(code: str, site: str, session: WriteSession, me: Staff) -> dict[str, Any]:
    return households.turnout(session, principal=me, community_code=code, site_code=site)


@router.post(
    "/communities/{code}/sites",
    status_code=201,
    response_model=SiteOut,
    summary="A new micro-renewal site (its outline drawn on the map)",
)
def create_site(code: str, body: SiteIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return places.create_site(
        session,
        principal=me,
        community_code=code,
        name=body.name,
        code=body.code,
        description=body.description,
        geometry=body.geometry,
    )


@router.put(
    "/communities/{code}/sites/{site}",
    response_model=SiteOut,
    summary="Rename a site, describe it or redraw its outline",
)
def update_site(
    code: str, site: str, body: SiteEditIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return places.update_site(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        name=body.name,
        description=body.description,
        geometry=body.geometry,
    )


@router.get(
    "/communities/{code}/facilities",
    response_model=list[FacilityOut],
    summary="The community's facilities",
)
def facilities(code: str, session: WriteSession, me: Staff) -> list[dict[str, Any]]:
    return places.facilities(session, principal=me, community_code=code)


@router.post(
    "/communities/{code}/facilities",
    status_code=201,
    response_model=FacilityOut,
    summary="A new facility (a point or an area)",
)
def add_facility(code: str, body: FacilityIn, session: WriteSession, me: Staff) -> dict[str, Any]:
    return places.add_facility(
        session,
        principal=me,
        community_code=code,
        type=body.type,
        name=body.name,
        geometry=body.geometry,
    )


@router.put("/facilities/{facility_id}", response_model=FacilityOut, summary="Change a facility")
def update_facility(
    facility_id: IdPath, body: FacilityEditIn, session: WriteSession, me: Staff
) -> dict[str, Any]:
    return places.update_facility(
        session,
        principal=me,
        facility_id=facility_id,
        type=body.type,
        name=body.name,
        geometry=body.geometry,
    )


@router.delete(
    "/facilities/{facility_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a facility",
)
def delete_facility(facility_id: IdPath, session: WriteSession, me: Staff) -> Response:
    places.delete_facility(session, principal=me, facility_id=facility_id)
    return Response(status_code=204)


@router.get(
    "/drafts/{draft_id}/plan.{fmt}",
    response_class=Response,
    responses={
        **content(*plans.FORMATS.values(), description="the draft's plan: png or pdf"),
        503: {"description": "no font with Chinese characters on the server"},
    },
    summary="A draft's plan to print (A3: legend, scale, north arrow, attribution)",
)
def draft_plan(
    draft_id: IdPath,
    fmt: str,
    session: WriteSession,
    me: Staff,
    locale: Locale,
    paper: Annotated[str, Query(max_length=8, description="a3 or card")] = "a3",
) -> Response:
    data, media, name = plans.staff_plan(
        session, principal=me, draft_id=draft_id, fmt=fmt, paper=paper, locale=locale
    )
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
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
