"""Staff API for the organisation of a community (thin: see services.places.organisation,
services.requests.deliberations, .templates and .property). Scope is checked by the services.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from renewmap.api.deps import IdPath, ReadSession, SettingsDep, Staff, WriteSession
from renewmap.api.schemas.common import Id
from renewmap.api.schemas.organisation import (
    DeliberationOut,
    OrganisationView,
    PropertyTasks,
    TemplateOut,
    TownOverview,
    VolunteerOut,
    Volunteers,
)
from renewmap.services.places import organisation
from renewmap.services.requests import deliberations, property, templates, town
from renewmap.validation import RequiredText, Text

router = APIRouter(prefix="/api/staff", tags=["organisation"])


@router.get(
    "/communities/{code}/organisation",
    response_model=OrganisationView,
    summary="The community's organisation: top level, patrol day, 物业 and 业委会, building groups",
)
def community_organisation(code: str, session: ReadSession, principal: Staff) -> dict[str, Any]:
    return organisation.overview(session, principal=principal, community_code=code)


class OrganisationIn(BaseModel):
    top_level: str | None = Field(None, description="general_branch (党总支) or party_committee")
    patrol_rule: str | None = Field(
        None, description="week:2:thu (每月第二周的周四), nth:2:thu (第二个周四) or day:15"
    )


@router.put(
    "/communities/{code}/organisation",
    response_model=OrganisationView,
    summary="Set what the top level is called and when patrols are due (admins)",
)
def configure(
    code: str, body: OrganisationIn, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    return organisation.configure(
        session,
        principal=principal,
        community_code=code,
        top_level=body.top_level,
        patrol_rule=body.patrol_rule,
    )


class OrganisationBody(BaseModel):
    name: RequiredText = Field(max_length=200, description="e.g. 巴林小区物业服务中心")
    kind: str = Field(
        max_length=32, description="property_company (物业) or owners_committee (业委会)"
    )
    compound: str | None = Field(None, max_length=64, description="the compound's code (C1)")
    phone: str | None = Field(None, max_length=32, description="its service desk")


@router.put(
    "/communities/{code}/organisations/{org}",
    response_model=OrganisationView,
    summary="Create or change the community's property company or owners' committee (admins)",
)
def put_organisation(
    code: str,
    org: Annotated[str, Path(max_length=64)],
    body: OrganisationBody,
    session: WriteSession,
    principal: Staff,
) -> dict[str, Any]:
    return organisation.put_organisation(
        session,
        principal=principal,
        community_code=code,
        code=org,
        name=body.name,
        kind=body.kind,
        compound_code=body.compound,
        phone=body.phone,
    )


class PlacesIn(BaseModel):
    buildings: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=200, description="whole buildings, e.g. 17号楼"
    )
    stairwells: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=200, description="single stairwells, e.g. 17号楼/2单元"
    )


@router.put(
    "/building-groups/{code}/places",
    response_model=OrganisationView,
    summary="What a building group serves (replaced as a whole; admins)",
)
def set_places(
    code: str, body: PlacesIn, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    return organisation.set_places(
        session,
        principal=principal,
        group_code=code,
        buildings=body.buildings,
        stairwells=body.stairwells,
    )


@router.get(
    "/building-groups/{code}/volunteers",
    response_model=Volunteers,
    summary="A building group's party-member volunteers with their phones (staff covering it)",
)
def volunteers(code: str, session: ReadSession, principal: Staff) -> dict[str, Any]:
    return organisation.volunteers(session, principal=principal, group_code=code)


class VolunteerIn(BaseModel):
    name: Annotated[RequiredText, Field(max_length=100)]
    phone: Annotated[Text | None, Field(max_length=32)] = None
    consent: bool = Field(description="they agreed to be listed (required: true)")


@router.post(
    "/building-groups/{code}/volunteers",
    status_code=201,
    response_model=VolunteerOut,
    summary="Attach a party-member volunteer to a building group, with their consent",
)
def add_volunteer(
    code: str, body: VolunteerIn, session: WriteSession, principal: Staff
) -> dict[str, Any]:
    return organisation.add_volunteer(
        session,
        principal=principal,
        group_code=code,
        name=body.name,
        phone=body.phone,
        consent=body.consent,
    )


@router.delete(
    "/building-groups/{code}/volunteers/{volunteer_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a volunteer (consent withdrawn): the record and the phone go",
)
def remove_volunteer(
    code: str, volunteer_id: IdPath, session: WriteSession, principal: Staff
) -> Response:
    organisation.remove_volunteer(
        session, principal=principal, group_code=code, volunteer_id=volunteer_id
    )
    return Response(status_code=204)


class DeliberationIn(BaseModel):
    community: str
    request: Id | None = Field(None, description="the request it decides (or site)")
    site: str | None = Field(None, description="the site's code it decides (or request)")
    held_on: date
    parties: list[str] = Field(
        max_length=4,
        description="residents_committee, owners_committee, property_company, "
        "resident_representatives",
    )
    attendees: Annotated[RequiredText, Field(max_length=1000)]
    question: Annotated[RequiredText, Field(max_length=2000)]
    decision: Annotated[RequiredText, Field(max_length=2000)]


@router.post(
    "/deliberations",
    status_code=201,
    response_model=DeliberationOut,
    summary="Record a deliberation (四议共答) about a request or a site; it is public",
)
def record_deliberation(
    body: DeliberationIn, session: WriteSession, principal: Staff, settings: SettingsDep
) -> dict[str, Any]:
    return deliberations.record(
        session,
        principal=principal,
        community_code=body.community,
        request_id=body.request,
        site_code=body.site,
        held_on=body.held_on,
        parties=body.parties,
        attendees=body.attendees,
        question=body.question,
        decision=body.decision,
        today=settings.today(),
    )


@router.get(
    "/reply-templates",
    response_model=list[TemplateOut],
    summary="The community's reply templates",
)
def reply_templates(community: str, session: ReadSession, principal: Staff) -> list[dict[str, Any]]:
    return templates.listing(session, principal=principal, community_code=community)


class TemplateIn(BaseModel):
    community: str
    title: Annotated[RequiredText, Field(max_length=100)]
    body: Annotated[RequiredText, Field(max_length=2000)]


@router.post(
    "/reply-templates",
    status_code=201,
    response_model=TemplateOut,
    summary="Add a reply template (the community's admins)",
)
def add_template(body: TemplateIn, session: WriteSession, principal: Staff) -> dict[str, Any]:
    return templates.add(
        session,
        principal=principal,
        community_code=body.community,
        title=body.title,
        body=body.body,
    )


@router.delete(
    "/reply-templates/{template_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a reply template (the community's admins)",
)
def remove_template(template_id: IdPath, session: WriteSession, principal: Staff) -> Response:
    templates.remove(session, principal=principal, template_id=template_id)
    return Response(status_code=204)


@router.get(
    "/property-tasks",
    response_model=PropertyTasks,
    summary="What the property company was given: due, done, late (its staff; the owners' "
    "committee); no residents' contact details",
)
def property_tasks(
    community: str, session: ReadSession, principal: Staff, settings: SettingsDep
) -> dict[str, Any]:
    return property.tasks(
        session, principal=principal, community_code=community, time_zone=settings.time_zone
    )


@router.get(
    "/subdistricts/{code}/overview",
    response_model=TownOverview,
    summary="Every community of the town: open, overdue, resolved, median days, patrols, sites "
    "by step (the subdistrict's admins)",
)
def town_overview(
    code: str, session: ReadSession, principal: Staff, settings: SettingsDep
) -> dict[str, Any]:
    return town.overview(
        session,
        principal=principal,
        subdistrict_code=code,
        overdue_days=settings.overdue_days,
        time_zone=settings.time_zone,
    )
