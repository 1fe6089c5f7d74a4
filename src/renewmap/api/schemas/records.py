"""Response bodies of the participation records (people, meetings, proposals, money,
conventions, events, points, counts)."""

from __future__ import annotations

from pydantic import Field

from renewmap.api.schemas.common import CodeName, Geometry, Out


class CodeLabel(Out):
    code: str
    label: str | None


class Attendee(Out):
    role: str
    role_label: str | None
    name: str | None
    person_id: int | None
    count: int


class LinkedRequest(Out):
    id: int
    title: str
    receipt_code: str | None


class LinkedProposal(Out):
    number: int
    title: str
    status_label: str | None


class MeetingStep(Out):
    site: str
    site_name: str | None
    stage: str
    label: str | None


class MeetingFile(Out):
    id: int
    filename: str
    content_type: str
    url: str


class MeetingOut(Out):
    id: int
    kind: str
    kind_label: str | None
    title: str
    held_on: str
    place: str | None
    geometry: Geometry | None
    parties: list[CodeLabel]
    attendees: list[Attendee]
    participants: int
    minutes: str | None
    decisions: str | None
    requests: list[LinkedRequest]
    proposals: list[LinkedProposal]
    sites: list[CodeName]
    step: MeetingStep | None
    attachments: list[MeetingFile]
    version: int
    created_by: str


class MeetingRegister(Out):
    community: CodeName
    meetings: list[MeetingOut]


class ProposalPhoto(Out):
    id: int
    caption: str | None
    url: str
    thumbnail: str
    width: int
    height: int


class PublicProposal(Out):
    """What residents read: no proposer's name or phone, only the name they chose to show."""

    number: int
    title: str
    body: str
    proposer_kind: str
    proposer_kind_label: str | None
    shown_as: str | None
    status: str
    status_label: str | None
    decline_reason: str | None
    site: CodeName | None
    submitted_on: str
    geometry: Geometry | None
    photos: list[ProposalPhoto]


class ProposalMeeting(Out):
    id: int
    title: str
    held_on: str
    kind_label: str | None


class StaffProposal(PublicProposal):
    proposer_name: str | None
    proposer_phone: str | None
    public: bool
    moves: list[str]
    meetings: list[ProposalMeeting]
    version: int


class PublicProposals(Out):
    community: CodeName
    proposals: list[PublicProposal]


class StaffProposals(Out):
    community: CodeName
    proposals: list[StaffProposal]


class YearCounts(Out):
    year: int
    meetings: int
    participants: int
    proposals: int
    adopted: int
    became_site: int
    events: int
    event_attendances: int


class CommunityCounts(Out):
    community: CodeName
    people: int
    years: list[YearCounts]


class SubdistrictCommunity(Out):
    code: str
    name: str | None
    people: int
    years: list[YearCounts]


class SubdistrictCounts(Out):
    subdistrict: CodeName
    communities: list[SubdistrictCommunity]
    people: int
    years: list[YearCounts]


class FundLineOut(Out):
    id: int
    kind: str
    kind_label: str | None
    source: str | None
    source_label: str | None
    item: str | None
    amount_fen: int | None
    quantity: float | None
    unit: str | None
    day: str


class StaffFundLine(FundLineOut):
    contributor: str | None
    contact: str | None


class SourceSum(Out):
    source: str
    label: str | None
    amount_fen: int


class _Money(Out):
    site: CodeName
    budget_fen: int
    income_fen: int
    spent_fen: int
    balance_fen: int
    pledged_fen: int
    pledges: int
    sources: list[SourceSum]


class StaffMoney(_Money):
    lines: list[StaffFundLine]


class Disclosure(_Money):
    """居务公开: nobody named."""

    community: CodeName
    lines: list[FundLineOut]


# --- people and teams ---------------------------------------------------------------------------


class Membership(Out):
    team_id: int
    team: str
    joined_on: str
    left_on: str | None


class PersonLinkOut(Out):
    target: str
    target_label: str | None
    id: int
    site: str | None
    name: str | None


class PersonOut(Out):
    """A person of the roster as the staff in scope read them (never public)."""

    id: int
    name: str
    phone: str | None
    removed: bool
    removed_on: str | None
    roles: list[CodeLabel]
    partner_kind: str | None
    partner_kind_label: str | None
    organisation: str | None
    skills: list[str]
    consent_on: str | None
    joined_on: str
    teams: list[Membership]
    meetings: list[ProposalMeeting]
    links: list[PersonLinkOut]
    points: int
    version: int


class TeamMemberOut(Out):
    person_id: int
    name: str
    joined_on: str
    left_on: str | None


class GrowthPoint(Out):
    day: str
    members: int


class TeamOut(Out):
    id: int
    name: str
    purpose: str | None
    founded_on: str
    members_now: int
    growth: list[GrowthPoint]
    members: list[TeamMemberOut]


class Roster(Out):
    community: CodeName
    people: list[PersonOut]
    teams: list[TeamOut]


# --- conventions --------------------------------------------------------------------------------


class AgreedInBuilding(Out):
    building: str = Field(description="as people name it: 7号楼")
    households: int = Field(description="households with a consultation code")
    agreed: int


class ConventionVersionOut(Out):
    number: int
    body: str
    adopted_on: str
    by_codes: bool = Field(description="households agree with their consultation codes")
    agreed: int = Field(description="households that agreed (by code, or counted by staff)")
    buildings: list[AgreedInBuilding] = Field(description="by building, where by codes")


class ConventionAgreed(Out):
    convention: int
    version: int
    household: str = Field(description="the household as its form names it")
    agreed: int
    households: int | None
    buildings: list[AgreedInBuilding]


class ConventionOut(Out):
    id: int
    title: str
    scope: str
    scope_label: str | None
    place: str
    households: int | None
    geometry: Geometry | None
    current: ConventionVersionOut | None
    versions: list[ConventionVersionOut]


class Conventions(Out):
    community: CodeName
    conventions: list[ConventionOut]


# --- events and points --------------------------------------------------------------------------


class PublicEvent(Out):
    """What residents read of an event: nobody who signed up is named."""

    id: int
    kind: str
    kind_label: str | None
    title: str
    description: str | None
    day: str
    time: str | None
    place: str | None
    geometry: Geometry | None
    capacity: int | None
    signed_up: int
    places_left: int | None
    attendance: int


class SignedUp(PublicEvent):
    you_signed_up: bool


class Signup(Out):
    id: int
    name: str | None
    phone: str | None
    person_id: int | None
    party: int
    attended: bool


class StaffEvent(PublicEvent):
    public: bool
    walk_ins: int
    version: int
    signups: list[Signup]


class PublicEvents(Out):
    community: CodeName
    events: list[PublicEvent]


class StaffEvents(Out):
    community: CodeName
    events: list[StaffEvent]


class PointsLine(Out):
    id: int
    person_id: int
    person: str
    day: str
    kind: str
    kind_label: str | None
    points: int
    item: str | None


class Balance(Out):
    person_id: int
    person: str
    points: int


class Ledger(Out):
    community: CodeName
    entries: list[PointsLine]
    balances: list[Balance]
