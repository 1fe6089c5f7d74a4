"""Participation records (issue 18): meetings, proposals, a site's money and materials, and
their counts per community and year."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, extract, func, select, update
from sqlalchemy.orm import Session

from renewmap.db.models import (
    Building,
    Community,
    Convention,
    ConventionAgreement,
    ConventionVersion,
    Event,
    EventSignup,
    FundLine,
    Grid,
    HouseholdCode,
    Meeting,
    MeetingAttachment,
    MeetingAttendee,
    MeetingLink,
    PartyBranch,
    Patrol,
    Person,
    PersonLink,
    Plant,
    PlantAdoption,
    PlantCare,
    PointsEntry,
    Proposal,
    ProposalPhoto,
    Request,
    Site,
    Team,
    TeamMember,
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


def requests_titled(
    session: Session, *, community_id: int, title: str, limit: int = 10
) -> Sequence[Request]:
    """The community's requests with exactly this title, oldest first."""
    return session.scalars(
        select(Request)
        .where(Request.community_id == community_id, Request.title == title)
        .order_by(Request.id)
        .limit(limit)
    ).all()


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


def photos_of_proposals(
    session: Session, *, proposal_ids: Sequence[int]
) -> dict[int, list[ProposalPhoto]]:
    """Proposal id → its photos in the order they were added."""
    out: dict[int, list[ProposalPhoto]] = {i: [] for i in proposal_ids}
    if not proposal_ids:
        return out
    rows = session.scalars(
        select(ProposalPhoto)
        .where(ProposalPhoto.proposal_id.in_(list(proposal_ids)))
        .order_by(ProposalPhoto.proposal_id, ProposalPhoto.position, ProposalPhoto.id)
    )
    for p in rows:
        out[p.proposal_id].append(p)
    return out


def proposal_photo(session: Session, *, photo_id: int) -> ProposalPhoto | None:
    return session.get(ProposalPhoto, photo_id)


def next_proposal_number(session: Session, *, community_id: int) -> int:
    last = session.scalar(
        select(func.max(Proposal.number)).where(Proposal.community_id == community_id)
    )
    return int(last or 0) + 1


def meetings_of_site_steps(session: Session, *, site_id: int) -> Sequence[Row[Meeting, int]]:
    """The meetings that are one of the site's process steps (the two 联席会), each with its
    attendances (人次), oldest first."""
    people = (
        select(func.coalesce(func.sum(MeetingAttendee.count), 0))
        .where(MeetingAttendee.meeting_id == Meeting.id)
        .scalar_subquery()
    )
    return session.execute(
        select(Meeting, people)
        .where(Meeting.site_id == site_id, Meeting.stage.is_not(None))
        .order_by(Meeting.held_on, Meeting.id)
    ).all()


def step_has_meeting(session: Session, *, site_id: int, stage: str) -> bool:
    """Whether a meeting of the register is the site's ``stage`` step."""
    return (
        session.scalar(
            select(Meeting.id).where(Meeting.site_id == site_id, Meeting.stage == stage).limit(1)
        )
        is not None
    )


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


# --- people and teams ---------------------------------------------------------------------------


def people_of_community(session: Session, *, community_id: int) -> Sequence[Person]:
    """The community's roster, removed people (anonymised) included, in the order entered."""
    return session.scalars(
        select(Person).where(Person.community_id == community_id).order_by(Person.id)
    ).all()


def find_person(session: Session, *, person_id: int) -> Person | None:
    return session.get(Person, person_id)


def people_by_ids(session: Session, *, community_id: int, ids: Sequence[int]) -> dict[int, Person]:
    """The people among ``ids`` on the community's roster, by id."""
    if not ids:
        return {}
    return {
        p.id: p
        for p in session.scalars(
            select(Person).where(Person.id.in_(list(ids)), Person.community_id == community_id)
        )
    }


def teams_of_community(session: Session, *, community_id: int) -> Sequence[Team]:
    return session.scalars(
        select(Team).where(Team.community_id == community_id).order_by(Team.founded_on, Team.id)
    ).all()


def find_team(session: Session, *, team_id: int) -> Team | None:
    return session.get(Team, team_id)


def find_team_named(session: Session, *, community_id: int, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.community_id == community_id, Team.name == name))


def memberships(
    session: Session, *, team_ids: Sequence[int] = (), person_ids: Sequence[int] = ()
) -> Sequence[TeamMember]:
    """The memberships of these teams or of these people, by day joined."""
    if not team_ids and not person_ids:
        return []
    stmt = select(TeamMember)
    if team_ids:
        stmt = stmt.where(TeamMember.team_id.in_(list(team_ids)))
    if person_ids:
        stmt = stmt.where(TeamMember.person_id.in_(list(person_ids)))
    return session.scalars(stmt.order_by(TeamMember.joined_on, TeamMember.id)).all()


def links_of_people(session: Session, *, person_ids: Sequence[int]) -> Sequence[PersonLink]:
    if not person_ids:
        return []
    return session.scalars(
        select(PersonLink).where(PersonLink.person_id.in_(list(person_ids))).order_by(PersonLink.id)
    ).all()


def meetings_attended(
    session: Session, *, person_ids: Sequence[int]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(person_id, meeting) of the meetings the people attended, oldest first."""
    if not person_ids:
        return []
    return session.execute(
        select(MeetingAttendee.person_id, Meeting)
        .join(Meeting, Meeting.id == MeetingAttendee.meeting_id)
        .where(MeetingAttendee.person_id.in_(list(person_ids)))
        .order_by(Meeting.held_on, Meeting.id)
    ).all()


def forget_names_of(session: Session, *, person_id: int) -> None:
    """The names and phones written beside a person on sign-in sheets and sign-ups go with
    them (the lines stay, counted)."""
    session.execute(
        update(MeetingAttendee).where(MeetingAttendee.person_id == person_id).values(name=None)
    )
    session.execute(
        update(EventSignup).where(EventSignup.person_id == person_id).values(name=None, phone=None)
    )


def patrol_in_community(session: Session, *, community_id: int, patrol_id: int) -> Patrol | None:
    return session.scalar(
        select(Patrol)
        .join(Grid, Grid.id == Patrol.grid_id)
        .where(Patrol.id == patrol_id, Grid.community_id == community_id)
    )


def adoption_in_community(
    session: Session, *, community_id: int, adoption_id: int
) -> PlantAdoption | None:
    return session.scalar(
        select(PlantAdoption)
        .join(Plant, Plant.id == PlantAdoption.plant_id)
        .where(PlantAdoption.id == adoption_id, Plant.community_id == community_id)
    )


def care_in_community(session: Session, *, community_id: int, care_id: int) -> PlantCare | None:
    return session.scalar(
        select(PlantCare)
        .join(Plant, Plant.id == PlantCare.plant_id)
        .where(PlantCare.id == care_id, Plant.community_id == community_id)
    )


def roster_counts(session: Session, *, community_ids: Sequence[int]) -> dict[int, int]:
    """Community id → people on its roster now (removed people not counted)."""
    if not community_ids:
        return {}
    rows = session.execute(
        select(Person.community_id, func.count(Person.id))
        .where(Person.community_id.in_(list(community_ids)), Person.removed_on.is_(None))
        .group_by(Person.community_id)
    ).all()
    return {int(c): int(n) for c, n in rows}


# --- conventions --------------------------------------------------------------------------------


def conventions_of_community(session: Session, *, community_id: int) -> Sequence[Convention]:
    return session.scalars(
        select(Convention).where(Convention.community_id == community_id).order_by(Convention.id)
    ).all()


def find_convention(session: Session, *, convention_id: int) -> Convention | None:
    return session.get(Convention, convention_id)


def versions_of_conventions(
    session: Session, *, convention_ids: Sequence[int]
) -> Sequence[ConventionVersion]:
    """The conventions' versions, newest first."""
    if not convention_ids:
        return []
    return session.scalars(
        select(ConventionVersion)
        .where(ConventionVersion.convention_id.in_(list(convention_ids)))
        .order_by(ConventionVersion.convention_id, ConventionVersion.number.desc())
    ).all()


def household_codes_of_community(
    session: Session, *, community_id: int, building_id: int | None = None
) -> Sequence[HouseholdCode]:
    """The valid (not revoked) household forms of the community's sites, of one building when
    given."""
    query = (
        select(HouseholdCode)
        .join(Site, Site.id == HouseholdCode.site_id)
        .where(Site.community_id == community_id, HouseholdCode.revoked_at.is_(None))
    )
    if building_id is not None:
        query = query.where(HouseholdCode.building_id == building_id)
    return session.scalars(query.order_by(HouseholdCode.id)).all()


def agreements_of_versions(
    session: Session, *, version_ids: Sequence[int]
) -> Sequence[ConventionAgreement]:
    if not version_ids:
        return []
    return session.scalars(
        select(ConventionAgreement)
        .where(ConventionAgreement.version_id.in_(list(version_ids)))
        .order_by(ConventionAgreement.id)
    ).all()


def agreement_of_household(
    session: Session, *, version_id: int, household_key: str
) -> ConventionAgreement | None:
    return session.scalar(
        select(ConventionAgreement).where(
            ConventionAgreement.version_id == version_id,
            ConventionAgreement.household_key == household_key,
        )
    )


def buildings_by_ids(session: Session, *, ids: Sequence[int]) -> dict[int, Building]:
    if not ids:
        return {}
    return {b.id: b for b in session.scalars(select(Building).where(Building.id.in_(list(ids))))}


# --- events and points --------------------------------------------------------------------------


def events_of_community(
    session: Session, *, community_id: int, public_only: bool = False
) -> Sequence[Event]:
    """The community's events, soonest last (newest day first)."""
    stmt = select(Event).where(Event.community_id == community_id)
    if public_only:
        stmt = stmt.where(Event.public.is_(True))
    return session.scalars(stmt.order_by(Event.day.desc(), Event.time.desc(), Event.id)).all()


def find_event(session: Session, *, event_id: int) -> Event | None:
    return session.get(Event, event_id)


def signups_of_events(session: Session, *, event_ids: Sequence[int]) -> Sequence[EventSignup]:
    if not event_ids:
        return []
    return session.scalars(
        select(EventSignup)
        .where(EventSignup.event_id.in_(list(event_ids)))
        .order_by(EventSignup.id)
    ).all()


def find_signup(session: Session, *, signup_id: int) -> EventSignup | None:
    return session.get(EventSignup, signup_id)


def signup_of_device(session: Session, *, event_id: int, device_hash: str) -> EventSignup | None:
    return session.scalar(
        select(EventSignup).where(
            EventSignup.event_id == event_id, EventSignup.device_hash == device_hash
        )
    )


def event_counts(
    session: Session, *, community_ids: Sequence[int]
) -> dict[tuple[int, int], tuple[int, int]]:
    """(community id, year) → (events, attendances 人次: sign-ups who came and walk-ins)."""
    if not community_ids:
        return {}
    year = extract("year", Event.day)
    came = (
        select(EventSignup.event_id.label("event_id"), func.sum(EventSignup.party).label("n"))
        .where(EventSignup.attended.is_(True))
        .group_by(EventSignup.event_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Event.community_id,
            year,
            func.count(Event.id),
            func.coalesce(func.sum(came.c.n), 0) + func.coalesce(func.sum(Event.walk_ins), 0),
        )
        .outerjoin(came, came.c.event_id == Event.id)
        .where(Event.community_id.in_(list(community_ids)))
        .group_by(Event.community_id, year)
    ).all()
    return {(int(c), int(y)): (int(n), int(p)) for c, y, n, p in rows}


def points_of_people(session: Session, *, person_ids: Sequence[int]) -> dict[int, int]:
    """Person id → balance (earned minus spent)."""
    if not person_ids:
        return {}
    rows = session.execute(
        select(PointsEntry.person_id, func.coalesce(func.sum(PointsEntry.points), 0))
        .where(PointsEntry.person_id.in_(list(person_ids)))
        .group_by(PointsEntry.person_id)
    ).all()
    return {int(p): int(n) for p, n in rows}


def points_entries(
    session: Session, *, community_id: int, person_id: int | None = None
) -> Sequence[PointsEntry]:
    """The community's ledger (or one person's), by day then entry."""
    stmt = select(PointsEntry).where(PointsEntry.community_id == community_id)
    if person_id is not None:
        stmt = stmt.where(PointsEntry.person_id == person_id)
    return session.scalars(stmt.order_by(PointsEntry.day, PointsEntry.id)).all()


def points_entry_exists(session: Session, *, person_id: int, kind: str, source_id: int) -> bool:
    return (
        session.scalar(
            select(func.count(PointsEntry.id)).where(
                PointsEntry.person_id == person_id,
                PointsEntry.kind == kind,
                PointsEntry.source_id == source_id,
            )
        )
        or 0
    ) > 0
