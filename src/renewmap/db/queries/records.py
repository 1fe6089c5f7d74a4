"""Participation records (issue 18): meetings, proposals, a site's money and materials, and
their counts per community and year."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, extract, func, select
from sqlalchemy.orm import Session

from renewmap.db.models import (
    Community,
    FundLine,
    Meeting,
    MeetingAttachment,
    MeetingAttendee,
    MeetingLink,
    PartyBranch,
    Proposal,
    Request,
    Site,
)

# --- who may read a community's records ----------------------------------------------------------


def branch_community_ids(session: Session, *, branch_ids: Sequence[int]) -> set[int]:
    """The communities the branches belong to (any level)."""
    if not branch_ids:
        return set()
    return set(
        session.scalars(
            select(PartyBranch.community_id).where(
                PartyBranch.id.in_(list(branch_ids)), PartyBranch.community_id.is_not(None)
            )
        )
    )


# --- meetings -----------------------------------------------------------------------------------


def meetings_of_community(
    session: Session, *, community_id: int, year: int | None = None
) -> Sequence[Meeting]:
    """The community's meetings, newest first (of one year if given)."""
    stmt = select(Meeting).where(Meeting.community_id == community_id)
    if year is not None:
        stmt = stmt.where(extract("year", Meeting.held_on) == year)
    return session.scalars(stmt.order_by(Meeting.held_on.desc(), Meeting.id.desc())).all()


def find_meeting(session: Session, *, meeting_id: int) -> Meeting | None:
    return session.get(Meeting, meeting_id)


def attendees_of_meetings(
    session: Session, *, meeting_ids: Sequence[int]
) -> Sequence[MeetingAttendee]:
    if not meeting_ids:
        return []
    return session.scalars(
        select(MeetingAttendee)
        .where(MeetingAttendee.meeting_id.in_(list(meeting_ids)))
        .order_by(MeetingAttendee.id)
    ).all()


def links_of_meetings(session: Session, *, meeting_ids: Sequence[int]) -> Sequence[MeetingLink]:
    if not meeting_ids:
        return []
    return session.scalars(
        select(MeetingLink)
        .where(MeetingLink.meeting_id.in_(list(meeting_ids)))
        .order_by(MeetingLink.id)
    ).all()


def meetings_linked_to(session: Session, *, target: str, target_id: int) -> Sequence[Meeting]:
    """The meetings that discussed this request, proposal or site, oldest first."""
    return session.scalars(
        select(Meeting)
        .join(MeetingLink, MeetingLink.meeting_id == Meeting.id)
        .where(MeetingLink.target == target, MeetingLink.target_id == target_id)
        .order_by(Meeting.held_on, Meeting.id)
    ).all()


def replace_meeting_rows(session: Session, *, meeting_id: int) -> None:
    """Drop a meeting's attendees and links (an update writes them anew)."""
    session.execute(delete(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting_id))
    session.execute(delete(MeetingLink).where(MeetingLink.meeting_id == meeting_id))


def attachments_of_meetings(
    session: Session, *, meeting_ids: Sequence[int]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, meeting_id, filename, content_type) of the meetings' files (not their bytes)."""
    if not meeting_ids:
        return []
    return session.execute(
        select(
            MeetingAttachment.id,
            MeetingAttachment.meeting_id,
            MeetingAttachment.filename,
            MeetingAttachment.content_type,
        )
        .where(MeetingAttachment.meeting_id.in_(list(meeting_ids)))
        .order_by(MeetingAttachment.id)
    ).all()


def find_meeting_attachment(session: Session, *, attachment_id: int) -> MeetingAttachment | None:
    return session.get(MeetingAttachment, attachment_id)


def requests_of_community(
    session: Session, *, community_id: int, ids: Sequence[int]
) -> dict[int, Request]:
    """The requests among ``ids`` that belong to the community, by id."""
    if not ids:
        return {}
    return {
        r.id: r
        for r in session.scalars(
            select(Request).where(Request.id.in_(list(ids)), Request.community_id == community_id)
        )
    }


def sites_by_ids(session: Session, *, ids: Sequence[int]) -> dict[int, Site]:
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(list(ids))))}


# --- proposals ----------------------------------------------------------------------------------


def proposals_of_community(
    session: Session, *, community_id: int, public_only: bool = False
) -> Sequence[Proposal]:
    """The community's proposals by number (only those whose proposer agreed, if asked)."""
    stmt = select(Proposal).where(Proposal.community_id == community_id)
    if public_only:
        stmt = stmt.where(Proposal.public.is_(True))
    return session.scalars(stmt.order_by(Proposal.number)).all()


def find_proposal(session: Session, *, community_id: int, number: int) -> Proposal | None:
    return session.scalar(
        select(Proposal).where(Proposal.community_id == community_id, Proposal.number == number)
    )


def proposals_by_ids(session: Session, *, ids: Sequence[int]) -> dict[int, Proposal]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Proposal).where(Proposal.id.in_(list(ids))))}


def next_proposal_number(session: Session, *, community_id: int) -> int:
    last = session.scalar(
        select(func.max(Proposal.number)).where(Proposal.community_id == community_id)
    )
    return int(last or 0) + 1


# --- counts -------------------------------------------------------------------------------------


def meeting_counts(
    session: Session, *, community_ids: Sequence[int]
) -> dict[tuple[int, int], tuple[int, int]]:
    """(community id, year) → (meetings, attendances 人次) of those communities."""
    if not community_ids:
        return {}
    year = extract("year", Meeting.held_on)
    per_meeting = (
        select(
            MeetingAttendee.meeting_id.label("meeting_id"),
            func.sum(MeetingAttendee.count).label("people"),
        )
        .group_by(MeetingAttendee.meeting_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Meeting.community_id,
            year,
            func.count(Meeting.id),
            func.coalesce(func.sum(per_meeting.c.people), 0),
        )
        .outerjoin(per_meeting, per_meeting.c.meeting_id == Meeting.id)
        .where(Meeting.community_id.in_(list(community_ids)))
        .group_by(Meeting.community_id, year)
    ).all()
    return {(int(c), int(y)): (int(n), int(p)) for c, y, n, p in rows}


def proposal_counts(
    session: Session, *, community_ids: Sequence[int]
) -> dict[tuple[int, int, str], int]:
    """(community id, year submitted, status) → proposals of those communities."""
    if not community_ids:
        return {}
    year = extract("year", Proposal.submitted_on)
    rows = session.execute(
        select(Proposal.community_id, year, Proposal.status, func.count(Proposal.id))
        .where(Proposal.community_id.in_(list(community_ids)))
        .group_by(Proposal.community_id, year, Proposal.status)
    ).all()
    return {(int(c), int(y), str(s)): int(n) for c, y, s, n in rows}


def communities_of_subdistrict(session: Session, *, subdistrict_id: int) -> Sequence[Community]:
    return session.scalars(
        select(Community).where(Community.subdistrict_id == subdistrict_id).order_by(Community.code)
    ).all()


# --- money and materials ------------------------------------------------------------------------


def fund_lines_of_site(session: Session, *, site_id: int) -> Sequence[FundLine]:
    """The site's money and material lines, by day then entry."""
    return session.scalars(
        select(FundLine).where(FundLine.site_id == site_id).order_by(FundLine.day, FundLine.id)
    ).all()


def find_fund_line(session: Session, *, line_id: int) -> FundLine | None:
    return session.get(FundLine, line_id)
