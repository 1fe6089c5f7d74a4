"""Setting a community up (issue 15): the official committees, a new community and its outline
with overlap warnings, renaming, the buildings' table (thin: see services.places.communities)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from renewmap.api.deps import ReadSession, Staff, WriteSession
from renewmap.api.schemas.common import Geometry
from renewmap.api.schemas.setup import BuildingRow, CommitteeOut, CommunityCreated, OverlapsOut
from renewmap.i18n import rendered
from renewmap.services.places import boundaries, communities
from renewmap.spatial.geometry import parse_geojson
from renewmap.validation import RequiredText, Text

router = APIRouter(prefix="/api/staff", tags=["setup"])


@router.get(
    "/setup/committees",
    response_model=list[CommitteeOut],
    summary="Search the official residents' committees by name words or a code prefix",
)
def committees(
    principal: Staff,
    q: Annotated[str, Query(min_length=1, max_length=60)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, str]]:
    communities.require_setup_staff(principal)
    return communities.committees(q, limit=limit)


class OutlineIn(BaseModel):
    outline: Geometry = Field(description="GeoJSON Polygon or MultiPolygon (WGS84)")
    community: Annotated[Text, Field(max_length=32)] | None = Field(
        None, description="the community being redrawn (left out of the overlaps)"
    )


def _outline(value: Geometry) -> Any:
    return communities.check_outline(parse_geojson(value, where="outline"))


def _overlaps(found: list[communities.Overlap]) -> list[dict[str, Any]]:
    return [rendered(o.as_dict()) for o in found]


@router.post(
    "/setup/overlaps",
    response_model=OverlapsOut,
    summary="The communities an outline would overlap (a warning to show while drawing)",
)
def overlaps(body: OutlineIn, session: ReadSession, principal: Staff) -> dict[str, Any]:
    communities.require_setup_staff(principal)
    found = communities.overlaps(session, _outline(body.outline), exclude_code=body.community)
    return {"overlaps": _overlaps(found)}


class CommunityIn(BaseModel):
    code: Annotated[RequiredText, Field(max_length=32)]
    name: Annotated[Text, Field(max_length=200)] | None = None
    unofficial: bool = Field(False, description="a code outside the official list, on purpose")
    subdistrict_code: Annotated[Text, Field(max_length=32)] | None = Field(
        None, description="an unofficial code's subdistrict (one you administer)"
    )
    outline: Geometry


@router.post(
    "/communities",
    status_code=201,
    response_model=CommunityCreated,
    summary="Create a community (subdistrict admins); overlaps with others come back as warnings",
)
def create_community(body: CommunityIn, session: WriteSession, principal: Staff) -> dict[str, Any]:
    made = communities.create_as(
        session,
        principal=principal,
        code=body.code,
        outline=_outline(body.outline),
        name=body.name,
        unofficial=body.unofficial,
        subdistrict_code=body.subdistrict_code,
    )
    c = made.community
    return {
        "code": c.code,
        "name": c.name,
        "subdistrict_code": c.subdistrict.code if c.subdistrict else None,
        "overlaps": _overlaps(made.overlaps),
    }


class RenameIn(BaseModel):
    name: Annotated[RequiredText, Field(max_length=200)]


@router.put(
    "/communities/{code}/name",
    status_code=204,
    response_class=Response,
    summary="Rename a community (its admins)",
)
def rename(code: str, body: RenameIn, session: WriteSession, principal: Staff) -> Response:
    boundaries.may_change(session, principal=principal, community_code=code)
    communities.rename(session, code=code, name=body.name)
    return Response(status_code=204)


class NewOutlineIn(BaseModel):
    outline: Geometry


@router.put(
    "/communities/{code}/outline",
    response_model=OverlapsOut,
    summary="Redraw a community's outline (its admins); returns the overlaps it now has",
)
def set_outline(
    code: str, body: NewOutlineIn, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    boundaries.may_change(session, principal=principal, community_code=code)
    found = communities.set_outline(session, code=code, outline=_outline(body.outline))
    return {"overlaps": _overlaps(found)}


@router.get(
    "/communities/{code}/buildings",
    response_model=list[BuildingRow],
    summary="The community's buildings: number, households, grid (its admins)",
)
def buildings(code: str, session: ReadSession, principal: Staff) -> list[dict[str, Any]]:
    boundaries.may_change(session, principal=principal, community_code=code)
    return [rendered(b) for b in communities.buildings(session, community_code=code)]


class BuildingIn(BaseModel):
    number: Annotated[Text, Field(max_length=32)] | None = Field(None, description="7 or 7号楼")
    households: Annotated[int, Field(ge=0, le=100_000)] | None = None


@router.patch(
    "/communities/{code}/buildings/{ref}",
    response_model=BuildingRow,
    summary="Set a building's number or households (its admins)",
)
def edit_building(
    code: str, ref: str, body: BuildingIn, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    boundaries.may_change(session, principal=principal, community_code=code)
    b = communities.edit_building(
        session, community_code=code, ref=ref, number=body.number, households=body.households
    )
    rows = {r["ref"]: r for r in communities.buildings(session, community_code=code)}
    return rendered(rows[b.number or b.code or b.osm_id or ""])


@router.delete(
    "/communities/{code}/buildings/{ref}",
    status_code=204,
    response_class=Response,
    summary="Remove a building imported by mistake (its admins)",
)
def remove_building(code: str, ref: str, session: WriteSession, principal: Staff) -> Response:
    boundaries.may_change(session, principal=principal, community_code=code)
    communities.remove_building(session, community_code=code, ref=ref)
    return Response(status_code=204)
