"""Response bodies of the participation records (meetings, proposals, money, counts)."""

from __future__ import annotations

from renewmap.api.schemas.common import CodeName, Geometry, Out


class CodeLabel(Out):
    code: str
    label: str | None


class Attendee(Out):
    role: str
    role_label: str | None
    name: str | None
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


class CommunityCounts(Out):
    community: CodeName
    years: list[YearCounts]


class SubdistrictCommunity(Out):
    code: str
    name: str | None
    years: list[YearCounts]


class SubdistrictCounts(Out):
    subdistrict: CodeName
    communities: list[SubdistrictCommunity]
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
