"""Setting a community up (issue 15): the official committees, a new community and its outline
with overlap warnings, renaming, the buildings' table (thin: see services.places.communities)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from renewmap.api import uploads
from renewmap.api.deps import ReadSession, SettingsDep, Staff, WriteSession, rate_limit
from renewmap.api.limits import body
from renewmap.api.responses import GeoJSONResponse
from renewmap.api.routers.staff import signed_in
from renewmap.api.schemas.common import FeatureCollection, Geometry
from renewmap.api.schemas.setup import (
    BranchChainOut,
    BuildingRow,
    BuildingsFileOut,
    CommitteeOut,
    CommunityCreated,
    InvitationOut,
    OutlineFileOut,
    OverlapsOut,
    SetupCommunity,
    SetupStatus,
)
from renewmap.api.schemas.staff import SignedIn
from renewmap.i18n import rendered
from renewmap.services.access import accounts, invitations
from renewmap.services.places import boundaries, branch_chain, communities, setup
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
    stairwells: (
        Annotated[int, Field(ge=0, le=communities.MAX_STAIRWELLS)]
        | Annotated[
            list[Annotated[Text, Field(max_length=32)]],
            Field(max_length=communities.MAX_STAIRWELLS),
        ]
        | None
    ) = Field(
        None,
        description="its stairwells (单元), replacing those it has: a count (3: 1单元…3单元) "
        "or their numbers (2 or 2单元)",
    )


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
        session,
        community_code=code,
        ref=ref,
        number=body.number,
        households=body.households,
        stairwells=body.stairwells,
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


# --- the branch chain: the general branch, its grid branches and their grids -------------------


@router.get(
    "/communities/{code}/branch-chain",
    response_model=BranchChainOut,
    summary="The community's general branch, its grid party branches with their grids, and "
    "what is still missing (its admins)",
)
def get_branch_chain(code: str, session: ReadSession, principal: Staff) -> dict[str, Any]:
    return rendered(branch_chain.chain(session, principal=principal, community_code=code))


class ChainGeneralIn(BaseModel):
    code: Annotated[Text, Field(max_length=64)] | None = Field(
        None, description="only when it is created (default: COMMUNITY-GB); kept after"
    )
    name: Annotated[RequiredText, Field(max_length=200)]


class ChainBranchIn(BaseModel):
    code: Annotated[Text, Field(max_length=64)] | None = Field(
        None, description="an existing branch's code; none: a new branch (COMMUNITY-Bn)"
    )
    name: Annotated[RequiredText, Field(max_length=200)]
    grids: list[Annotated[RequiredText, Field(max_length=64)]] = Field(
        default_factory=list, max_length=500, description="the codes of the grids it owns"
    )


class BranchChainIn(BaseModel):
    general: ChainGeneralIn
    branches: list[ChainBranchIn] = Field(max_length=branch_chain.MAX_BRANCHES)


@router.put(
    "/communities/{code}/branch-chain",
    response_model=BranchChainOut,
    summary="Replace the branch chain as a whole: create or rename the general branch and its "
    "grid branches, remove those left out (unless still in use), attach each grid to one",
)
def put_branch_chain(
    code: str, body: BranchChainIn, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    return rendered(
        branch_chain.save(
            session,
            principal=principal,
            community_code=code,
            general_name=body.general.name,
            general_code=body.general.code,
            branches=[
                branch_chain.BranchIn(name=b.name, code=b.code, grids=list(b.grids))
                for b in body.branches
            ],
        )
    )


# --- the browser's setup flow: where it stands, files, a proposed partition, publishing ------


@router.get(
    "/setup/communities",
    response_model=list[SetupCommunity],
    summary="The communities I may set up (my subdistricts' and my own), with their state",
)
def my_setup_communities(session: ReadSession, principal: Staff) -> list[dict[str, Any]]:
    return setup.my_communities(session, principal=principal)


@router.get(
    "/communities/{code}/setup",
    response_model=SetupStatus,
    summary="Where a community's setup stands (its admins)",
)
def setup_status(code: str, session: ReadSession, principal: Staff) -> dict[str, Any]:
    return setup.status(session, principal=principal, code=code)


@router.post(
    "/communities/{code}/publish",
    response_model=SetupStatus,
    summary="Open a community set up in the browser to residents (it needs published grids)",
)
def publish_community(code: str, session: WriteSession, principal: Staff) -> dict[str, Any]:
    return setup.publish(session, principal=principal, code=code)


class OutlineForm(BaseModel):
    compound: Annotated[Text, Field(max_length=200)] | None = Field(
        None, description="an OSM extract's compound (landuse=residential) by name"
    )


def may_set_up(principal: Staff) -> None:
    """Rights first: a file is read only for a subdistrict's or community's admin."""
    communities.require_setup_staff(principal)


@router.post(
    "/setup/outline",
    response_model=OutlineFileOut,
    summary="An outline from a file: an OSM extract's compound, or a GeoJSON/GeoPackage's "
    "polygons (nothing is saved)",
    dependencies=[Depends(may_set_up)],
    openapi_extra=uploads.multipart_doc(OutlineForm, file=False),
)
@body("files")
def outline_file(form: uploads.UploadForm) -> dict[str, Any]:
    f = uploads.fields(form, OutlineForm)
    ((filename, data),) = uploads.files(
        form, "file", limit=setup.MAX_UPLOAD, at_most=1, required=True
    )
    return setup.outline_from_file(filename, data, compound=f.compound)


class BuildingsForm(BaseModel):
    include: Annotated[Text, Field(max_length=4000)] | None = Field(
        None, description="source ids of buildings outside the outline to take too, comma-separated"
    )
    save: bool = Field(False, description="import them (else only sort them)")


def may_change(code: str, session: WriteSession, principal: Staff) -> None:
    """Rights first: the community's admins only, before a file is read."""
    boundaries.may_change(session, principal=principal, community_code=code)


@router.post(
    "/communities/{code}/buildings/file",
    response_model=BuildingsFileOut,
    summary="Buildings from an OSM extract or a GeoJSON/GeoPackage file: those inside the "
    "outline, those near it listed for a yes/no; imported with save (by source id, no duplicates)",
    dependencies=[Depends(may_change)],
    openapi_extra=uploads.multipart_doc(BuildingsForm, file=False),
)
@body("files")
def buildings_file(
    code: str, session: WriteSession, principal: Staff, form: uploads.UploadForm
) -> dict[str, Any]:
    f = uploads.fields(form, BuildingsForm)
    ((filename, data),) = uploads.files(
        form, "file", limit=setup.MAX_UPLOAD, at_most=1, required=True
    )
    include = [i.strip() for i in (f.include or "").split(",") if i.strip()]
    found = setup.buildings_from_file(
        session,
        principal=principal,
        code=code,
        filename=filename,
        data=data,
        include=include,
        save=f.save,
    )
    return rendered(found)


class ProposalIn(BaseModel):
    count: int = Field(
        4, ge=1, le=setup.MAX_GRIDS, description="how many grids (grouping the buildings)"
    )
    method: Literal["buildings", "roads"] = Field(
        "buildings",
        description="buildings: neighbouring buildings grouped into `count` grids; roads: the "
        "outline split along the community's roads and paths",
    )


@router.post(
    "/communities/{code}/grid-proposal",
    response_class=GeoJSONResponse,
    response_model=FeatureCollection,
    summary="A proposed grid set covering the outline: neighbouring buildings grouped into N "
    "grids, or the outline split along its roads (nothing is saved: check it as a grid draft)",
)
def grid_proposal(
    code: str, body: ProposalIn, session: ReadSession, principal: Staff
) -> GeoJSONResponse:
    return GeoJSONResponse(
        setup.propose_grids(
            session, principal=principal, code=code, count=body.count, method=body.method
        )
    )


class InvitationIn(BaseModel):
    username: Annotated[RequiredText, Field(max_length=64)]
    display_name: Annotated[RequiredText, Field(max_length=100)]
    role: Annotated[RequiredText, Field(max_length=32)]
    place: Annotated[Text, Field(max_length=64)] | None = Field(
        None, description="the grid's code (grid lead) or the branch's code (secretary)"
    )


@router.post(
    "/communities/{code}/invitations",
    status_code=201,
    response_model=InvitationOut,
    summary="Invite a staff member: an account with its role and a one-time link on which "
    "they set their own password (its admins)",
)
def invite(
    code: str, body: InvitationIn, request: Request, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    made = invitations.invite(
        session,
        principal=principal,
        community_code=code,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        place=body.place,
    )
    return _invitation_out(request, made)


@router.post(
    "/communities/{code}/invitations/{username}/resend",
    response_model=InvitationOut,
    summary="A new one-time link for an invitation not yet accepted (lost or expired): the "
    "old link stops working (its admins)",
    responses={404: {"description": "no such invitation"}, 409: {"description": "accepted"}},
)
def resend_invitation(
    code: str, username: str, request: Request, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    made = invitations.resend(session, principal=principal, community_code=code, username=username)
    return _invitation_out(request, made)


def _invitation_out(request: Request, made: dict[str, Any]) -> dict[str, Any]:
    link = str(request.base_url).rstrip("/") + f"/staff/invite/{made['token']}"
    return {
        "link": link,
        "username": made["username"],
        "display_name": made["display_name"],
        "expires_at": made["expires_at"].isoformat(),
    }


class AcceptIn(BaseModel):
    token: Annotated[RequiredText, Field(max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


@router.post(
    "/invitations/accept",
    response_model=SignedIn,
    response_model_exclude_unset=True,
    summary="Accept an invitation: set your password, sign in (the link works once)",
    dependencies=[rate_limit("login")],
)
def accept_invitation(body: AcceptIn, session: WriteSession, settings: SettingsDep) -> JSONResponse:
    token, user = invitations.accept(session, token=body.token, password=body.password)
    return signed_in(session, accounts.principal_of(user), token, settings)
