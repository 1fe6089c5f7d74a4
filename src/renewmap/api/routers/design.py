"""Designers' API: drafts of a site, their features, live metrics and rule checks (thin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from renewmap.api.deps import get_principal, get_session
from renewmap.services import designs
from renewmap.services.accounts import Principal
from renewmap.services.coverage import community_coverage

router = APIRouter(prefix="/api/design", tags=["design"])
WriteSession = Annotated[Session, Depends(get_session, scope="function")]
Me = Annotated[Principal, Depends(get_principal)]
DraftId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class DraftIn(BaseModel):
    name: str = Field(max_length=200)
    copy_from: int | None = Field(None, ge=1, le=2**31 - 1, description="start as a copy")


class FeaturesIn(BaseModel):
    version: int = Field(ge=1, le=2**31 - 1, description="the version you drew on (409 if stale)")
    features: dict[str, Any] = Field(description="FeatureCollection; properties.kind required")


@router.post("/communities/{code}/sites/{site}/drafts", status_code=201, summary="New draft")
def create_draft(
    code: str, site: str, body: DraftIn, session: WriteSession, me: Me
) -> dict[str, Any]:
    return designs.create_draft(
        session,
        principal=me,
        community_code=code,
        site_code=site,
        name=body.name,
        copy_from=body.copy_from,
    )


@router.get("/drafts/{draft_id}", summary="A draft: features, live metrics, rule violations")
def draft(draft_id: DraftId, session: WriteSession, me: Me) -> dict[str, Any]:
    return designs.view(session, principal=me, draft_id=draft_id)


@router.put("/drafts/{draft_id}/features", summary="Save the drawn features (whole set)")
def save(draft_id: DraftId, body: FeaturesIn, session: WriteSession, me: Me) -> dict[str, Any]:
    return designs.save_features(
        session, principal=me, draft_id=draft_id, version=body.version, features=body.features
    )


@router.get("/compare", summary="Two drafts of one site side by side")
def compare(a: int, b: int, session: WriteSession, me: Me) -> dict[str, Any]:
    return designs.compare(session, principal=me, a=a, b=b)


@router.get(
    "/communities/{code}/coverage",
    summary="Buildings within walking distance of a green or activity site (and the rest)",
)
def coverage(code: str, session: WriteSession, radius_m: float = 300.0) -> dict[str, Any]:
    return community_coverage(session, community_code=code, radius_m=radius_m)
