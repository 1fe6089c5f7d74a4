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


class ScopeOut(Out):
    grids: list[int]
    communities: list[int]


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


class StaffPhoto(Out):
    url: str
    thumbnail: str


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
    grid: str
    day: str
    participants: str
    route: Geometry | None
    findings: list[Finding]


class GridPatrols(Out):
    grid: CodeName
    patrols: list[str] = Field(description="days patrolled this month")
    patrolled: bool
    late: bool


class PatrolMonth(Out):
    community: str
    month: str
    due: str = Field(description="the day the month's patrol is due by")
    grids: list[GridPatrols]


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
