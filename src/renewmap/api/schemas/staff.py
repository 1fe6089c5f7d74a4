"""Staff: who I am, my requests and their workflow, patrols, statistics, grid sets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from renewmap.api.schemas.common import CodeName, Geometry, Number, Out


class RoleOut(Out):
    """A role and the place it is held in (only that place's id is present)."""

    role: str
    label: str = Field(description="the role in the reader's language")
    grid_id: int | None = None
    branch_id: int | None = None
    community_id: int | None = None
    subdistrict_id: int | None = None
    org_id: int | None = None


class ScopeOut(Out):
    grids: list[int]
    communities: list[int]
    buildings: list[int] = Field(description="a building group leader's buildings")
    organisations: list[int] = Field(
        description="a property company's: the requests handed to it are in my area"
    )


class Me(Out):
    username: str
    display_name: str
    roles: list[RoleOut]
    scope: ScopeOut = Field(description="the ids of the grids and communities I cover")


class SignedIn(Me):
    csrf_token: str = Field(description="send it back in the X-CSRF-Token header of writes")


class TokenOut(Out):
    token: str = Field(description="shown once: send it as Authorization: Bearer …")
    expires_at: str
    label: str | None


class StaffRequest(Out):
    """A request as staff in scope see it: with the resident's phone and nickname."""

    id: int
    version: int
    category: str
    title: str
    description: str | None
    status: str
    grid: CodeName | None
    rule: str | None
    supports: int
    receipt_code: str | None
    nickname: str | None
    phone: str | None
    hidden: bool
    duplicate_of: int | None
    created_at: str | None
    age_days: Number | None
    overdue: bool
    overdue_reason: Literal["unaccepted", "property"] | None = Field(
        description="not accepted in time, or the property company past its due day"
    )
    building: CodeName | None = Field(description="the building it is in or at (10 m)")
    property: PropertyTask | None = Field(description="handed to the property company (交物业处理)")


class PropertyTask(Out):
    org: CodeName
    due: str | None = Field(description="the day it is to be done by (community's time zone)")
    done: bool = Field(description="the property company reported it done")
    late: bool = Field(description="not done and past the due day")


class StaffPhoto(Out):
    url: str
    thumbnail: str
    kind: Literal["resident", "after"] = Field(
        description="the resident's, or staff's with a reply or a resolution"
    )
    event: int | None = Field(description="the history entry an 'after' photo belongs to")


class GroupOut(Out):
    code: str
    name: str
    leaders: list[str] = Field(description="its building group leaders (楼组长) by name")


class Open311Details(Out):
    """What an Open311 client sent with the request."""

    attributes: dict[str, Any]
    media_url: str | None
    email: str | None
    name: str | None


class StaffEvent(Out):
    kind: str
    label: str = Field(description="what happened, in the reader's language")
    at: str | None
    actor: str | None = Field(description="who: a staff member's name, or 居民 / 系统…")
    actor_code: str | None = Field(description="as stored: resident, system, or the staff name")
    note: str | None
    public: bool
    data: dict[str, Any] | None


class StaffComment(Out):
    body: str
    nickname: str | None
    hidden: bool


class StaffRequestDetail(StaffRequest):
    photos: list[StaffPhoto]
    building_group: GroupOut | None = Field(
        None, description="the building party group serving it where it is"
    )
    answers: dict[str, Any] = Field(
        description="answers to the category's questions (code → value or list of values)"
    )
    email: str | None = Field(description="the resident's e-mail, if they left one")
    open311: Open311Details | None = Field(None, description="only if an Open311 client sent it")
    history: list[StaffEvent] = Field(description="with internal notes")
    comments: list[StaffComment]
    actions: list[str] = Field(description="the workflow steps open to me now")


class StaffRequestFeature(Out):
    type: Literal["Feature"]
    id: int
    geometry: Geometry
    properties: StaffRequest


class StaffRequestPage(Out):
    type: Literal["FeatureCollection"]
    features: list[StaffRequestFeature]
    numberMatched: int
    numberReturned: int
    offset: int
    limit: int | None


class StaffRequestDetailFeature(Out):
    type: Literal["Feature"]
    id: int
    geometry: Geometry
    properties: StaffRequestDetail


class Arrivals(Out):
    community: str
    since: str
    now: str = Field(description="the server's clock: ask with it as 'since' next time")
    new: int = Field(
        description="requests of my area that arrived after 'since' and wait to be accepted "
        "(new, transferred in, reopened)"
    )


class MovedAway(Out):
    """After a transfer out of my area: the request is no longer mine to read."""

    id: int
    status: str | None
    in_your_area: Literal[False]


class GridStat(Out):
    grid: CodeName | None = Field(description="None: the requests in no grid")
    open: int
    overdue: int
    resolved: int
    median_days_to_resolve: Number | None
    supports: int
    total: int


class GridStats(Out):
    community: str
    grids: list[GridStat]


class Finding(Out):
    id: int = Field(description="the request the finding became")
    grid: str | None


class PatrolOut(Out):
    id: int
    grid: str = Field(description="the first grid walked")
    grids: list[str]
    day: str
    participants: str
    study_topic: str | None
    study_attendees: str | None
    route: Geometry | None
    route_source: Literal["tap", "gps"] | None
    findings: list[Finding]


class GridPatrols(Out):
    grid: CodeName
    branch: CodeName | None
    patrols: list[str] = Field(description="days its branch patrolled this month")
    walked: list[str] = Field(description="days a patrol walked this grid itself")
    patrolled: bool
    late: bool


class BranchPatrols(Out):
    branch: CodeName
    grids: list[str]
    patrols: list[str]
    patrolled: bool
    late: bool


class PatrolMonth(Out):
    community: str
    month: str
    due: str = Field(description="the day the month's patrol is due by")
    rule: str = Field(description="the community's rule (week:2:thu = 每月第二周的周四)")
    grids: list[GridPatrols]
    branches: list[BranchPatrols]


class Adopter(Out):
    plant: int
    code: str | None
    name: str | None
    species: str | None
    nickname: str
    phone: str | None
    adopted_on: str
    adopted_at: (
        str  # the moment (ISO 8601, with offset): pages show it in the community's time zone
    )


class IssueProperties(Out):
    kind: str
    message: str
    area_m2: Number | None
    grids: list[str]
    building_id: int | None


class Issue(Out):
    type: Literal["Feature"]
    geometry: Geometry | None
    properties: IssueProperties


class GridSetReport(Out):
    ok: bool
    grid_count: int
    issues: list[Issue]


class GridDraftCreated(Out):
    id: int
    status: str
    report: GridSetReport


class GridDraftOut(Out):
    id: int
    status: str
    features: dict[str, Any] = Field(description="the proposed grids (FeatureCollection)")
    report: GridSetReport
    published_version: int | None


class Rerouted(Out):
    id: int
    from_: str | None = Field(alias="from")
    to: str | None


class Published(Out):
    id: int
    status: str
    grid_set_version: int
    removed: list[str]
    rerouted: list[Rerouted]


class Assigned(Out):
    changed: int
    grid_set_version: int | None
    rerouted: list[Rerouted]


class Merged(Out):
    kept: str
    merged: str
    grids_moved: int
    open_requests: list[int]
