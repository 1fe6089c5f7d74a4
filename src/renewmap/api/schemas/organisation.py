"""The organisation of a community: settings, organisations, building groups and their
volunteers, deliberations (四议共答), reply templates, the property company's tasks."""

from __future__ import annotations

from pydantic import Field

from renewmap.api.schemas.common import CodeName, Geometry, Number, Out


class OrganisationOut(Out):
    code: str
    name: str
    kind: str = Field(description="property_company (物业) or owners_committee (业委会)")
    phone: str | None = Field(description="its service desk")


class GroupPlace(Out):
    building: str = Field(description="the building's number (17号楼)")
    stairwell: str | None = Field(description="one stairwell of it (2单元), or the whole")


class BuildingGroupOut(Out):
    code: str
    name: str
    parent: str | None = Field(description="the grid branch it belongs to")
    places: list[GroupPlace]
    leaders: list[str] = Field(description="its leaders (楼组长) by name")
    volunteers: int = Field(description="how many party-member volunteers it has")


class OrganisationView(Out):
    community: str
    top_level: str = Field(
        description="what the top level is called: general_branch (党总支) or "
        "party_committee (社区党委)"
    )
    patrol_rule: str = Field(
        description="when patrols are due: week:N:DAY (第N周的周X), nth:N:DAY (第N个周X), day:N"
    )
    organisations: list[OrganisationOut]
    building_groups: list[BuildingGroupOut]


class VolunteerOut(Out):
    id: int
    name: str
    phone: str | None = Field(description="staff covering the group only")
    consent_at: str = Field(description="when their consent to be listed was recorded")
    consent_recorded_by: str


class Volunteers(Out):
    group: CodeName
    volunteers: list[VolunteerOut]


class DeliberationOut(Out):
    id: int
    held_on: str
    parties: list[str]
    attendees: str
    question: str
    decision: str


class TemplateOut(Out):
    id: int
    title: str
    body: str


class PropertyTaskOut(Out):
    id: int
    receipt_code: str | None
    title: str
    category: str
    status: str
    grid: CodeName | None
    building: str | None
    org: CodeName | None
    due: str | None
    done: bool
    late: bool


class PropertyTasks(Out):
    community: str
    tasks: list[PropertyTaskOut]


class PatrolCompliance(Out):
    due: str = Field(description="this month's due day by the community's rule")
    units: int = Field(description="branches with grids, and grids without a branch")
    patrolled: int
    late: int = Field(description="not patrolled and past the due day")


class MeetingsHeld(Out):
    """Deliberations (四议共答) and the process steps that are meetings (联席会), by day held."""

    month: int = Field(description="held this month so far")
    year: int = Field(description="held this year so far")


class CommunityFigures(Out):
    community: CodeName
    top_level: str
    open: int
    overdue: int
    resolved: int
    median_days_to_resolve: Number | None
    patrols: PatrolCompliance
    sites: dict[str, int] = Field(
        description="sites by step of their participatory process ('' = not started)"
    )
    meetings: MeetingsHeld
    geometry: Geometry


class TownOverview(Out):
    subdistrict: CodeName
    month: str
    communities: list[CommunityFigures]
    attributions: list[str] = Field(description="the map data's sources and licences")
