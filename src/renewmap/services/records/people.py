"""The community's roster of people who take part, kept with their consent: volunteers,
community partners (社区合伙人, in five kinds: 智库, 规划, 治理, 媒体, 教育, with their skills and
organisation) and party-member volunteers; teams whose members come and go (so a team's growth,
3 members to 70, can be read); and what each person did: meetings attended, sites worked on,
patrols walked, plants adopted, points earned.

Names and phones are for the staff in scope only (no public answer carries them). A person can
be removed on request: their name, phone, organisation and skills are erased (also from the
sign-in sheets and sign-ups written beside them), and what they did stays, counted, anonymous.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Person, PersonLink, Team, TeamMember
from renewmap.db.queries.places import find_site
from renewmap.db.queries.records import (
    adoption_in_community,
    find_person,
    find_team,
    find_team_named,
    forget_names_of,
    links_of_people,
    meetings_attended,
    memberships,
    patrol_in_community,
    people_by_ids,
    people_of_community,
    points_of_people,
    sites_by_ids,
    teams_of_community,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.i18n import t
from renewmap.services.access.accounts import Principal
from renewmap.services.records import access
from renewmap.services.records.common import check_code, label, parse_day
from renewmap.services.records.terms import (
    MEETING_KINDS,
    PARTNER_KINDS,
    PERSON_LINKS,
    PERSON_ROLES,
)

MAX_SKILLS = 20
MAX_MEMBERS_AT_ONCE = 500


def _not_found(person_id: int) -> NotFound:
    return NotFound(
        "person {id} not found in your area", key="person_not_found", id=person_id, field="id"
    )


def _person(session: Session, principal: Principal, person_id: int, *, keep: bool) -> Person:
    person = find_person(session, person_id=person_id)
    if person is None:
        raise _not_found(person_id)
    check = access.require_keeper_of if keep else access.require_reader_of
    try:
        check(session, principal=principal, community_id=person.community_id)
    except NotFound:
        raise _not_found(person_id) from None
    return person


def shown_name(person: Person) -> str:
    """The person's name for the staff, or what stands for someone removed on request."""
    return person.name or t("Removed on request")


def _views(session: Session, people: Sequence[Person]) -> list[dict[str, Any]]:
    ids = [p.id for p in people]
    teams: dict[int, Team] = {}
    member_of: dict[int, list[dict[str, Any]]] = {}
    for m in memberships(session, person_ids=ids):
        team = teams.get(m.team_id) or find_team(session, team_id=m.team_id)
        assert team is not None
        teams[team.id] = team
        member_of.setdefault(m.person_id, []).append(
            {
                "team_id": team.id,
                "team": team.name,
                "joined_on": m.joined_on.isoformat(),
                "left_on": m.left_on.isoformat() if m.left_on else None,
            }
        )
    attended: dict[int, list[dict[str, Any]]] = {}
    for person_id, meeting in meetings_attended(session, person_ids=ids):
        attended.setdefault(person_id, []).append(
            {
                "id": meeting.id,
                "title": meeting.title,
                "held_on": meeting.held_on.isoformat(),
                "kind_label": label(MEETING_KINDS, meeting.kind),
            }
        )
    links = links_of_people(session, person_ids=ids)
    sites = sites_by_ids(session, ids=[x.target_id for x in links if x.target == "site"])
    linked: dict[int, list[dict[str, Any]]] = {}
    for x in links:
        site = sites.get(x.target_id) if x.target == "site" else None
        linked.setdefault(x.person_id, []).append(
            {
                "target": x.target,
                "target_label": label(PERSON_LINKS, x.target),
                "id": x.target_id,
                "site": site.code if site is not None else None,
                "name": site.name if site is not None else None,
            }
        )
    balances = points_of_people(session, person_ids=ids)
    return [
        {
            "id": p.id,
            "name": shown_name(p),
            "phone": p.phone,
            "removed": p.removed_on is not None,
            "removed_on": p.removed_on.isoformat() if p.removed_on else None,
            "roles": [{"code": r, "label": label(PERSON_ROLES, r)} for r in p.roles],
            "partner_kind": p.partner_kind,
            "partner_kind_label": label(PARTNER_KINDS, p.partner_kind),
            "organisation": p.organisation,
            "skills": list(p.skills),
            "consent_on": p.consent_on.isoformat() if p.consent_on else None,
            "joined_on": p.joined_on.isoformat(),
            "teams": member_of.get(p.id, []),
            "meetings": attended.get(p.id, []),
            "links": linked.get(p.id, []),
            "points": balances.get(p.id, 0),
            "version": p.version,
        }
        for p in people
    ]


def _team_views(session: Session, teams: Sequence[Team]) -> list[dict[str, Any]]:
    rows = memberships(session, team_ids=[x.id for x in teams])
    people = people_by_ids(
        session,
        community_id=teams[0].community_id if teams else 0,
        ids=sorted({m.person_id for m in rows}),
    )
    out = []
    for team in teams:
        mine = [m for m in rows if m.team_id == team.id]
        out.append(
            {
                "id": team.id,
                "name": team.name,
                "purpose": team.purpose,
                "founded_on": team.founded_on.isoformat(),
                "members_now": sum(1 for m in mine if m.left_on is None),
                "growth": growth(mine),
                "members": [
                    {
                        "person_id": m.person_id,
                        "name": shown_name(people[m.person_id]),
                        "joined_on": m.joined_on.isoformat(),
                        "left_on": m.left_on.isoformat() if m.left_on else None,
                    }
                    for m in mine
                ],
            }
        )
    return out


def growth(rows: Sequence[TeamMember]) -> list[dict[str, Any]]:
    """The team's size after each day someone joined or left, oldest first."""
    change: dict[date, int] = {}
    for m in rows:
        change[m.joined_on] = change.get(m.joined_on, 0) + 1
        if m.left_on is not None:
            change[m.left_on] = change.get(m.left_on, 0) - 1
    size, out = 0, []
    for day in sorted(change):
        size += change[day]
        out.append({"day": day.isoformat(), "members": size})
    return out


def roster(session: Session, *, principal: Principal, community_code: str) -> dict[str, Any]:
    """The community's people (with names and phones) and teams: staff in scope."""
    community = access.readable_community(session, principal=principal, code=community_code)
    return {
        "community": {"code": community.code, "name": community.name},
        "people": _views(session, people_of_community(session, community_id=community.id)),
        "teams": _team_views(session, teams_of_community(session, community_id=community.id)),
    }


def one(session: Session, *, principal: Principal, person_id: int) -> dict[str, Any]:
    return _views(session, [_person(session, principal, person_id, keep=False)])[0]


def _fill(person: Person, data: dict[str, Any]) -> None:
    """Check a person's fields and set them (nothing written before all are good)."""
    name = (data.get("name") or "").strip()
    if not name:
        raise InvalidInput(
            "{field} is required (not empty or only spaces)", key="text_required", field="name"
        )
    roles = list(dict.fromkeys(data.get("roles") or []))
    if not roles:
        raise InvalidInput(
            "roles: say whether the person is a volunteer, a community partner or a "
            "party-member volunteer",
            key="person_roles_missing",
            field="roles",
        )
    for r in roles:
        check_code(r, PERSON_ROLES, field="roles")
    kind = data.get("partner_kind") or None
    if "partner" in roles:
        check_code(kind or "", PARTNER_KINDS, field="partner_kind")
    elif kind is not None:
        raise InvalidInput(
            "partner_kind: only a community partner has a kind",
            key="person_partner_kind_unexpected",
            field="partner_kind",
        )
    consent = parse_day(data.get("consent_on"), field="consent_on", required=False)
    if consent is None:
        raise InvalidInput(
            "consent_on: a person is kept on the roster only with their consent; enter the "
            "day they gave it",
            key="person_consent_missing",
            field="consent_on",
        )
    skills = [s.strip() for s in data.get("skills") or [] if s and s.strip()]
    if len(skills) > MAX_SKILLS:
        raise InvalidInput(
            "at most {limit} skills", key="person_skills_too_many", limit=MAX_SKILLS, field="skills"
        )
    person.name = name
    person.phone = (data.get("phone") or "").strip() or None
    person.roles = roles
    person.partner_kind = kind if "partner" in roles else None
    person.organisation = (data.get("organisation") or "").strip() or None
    person.skills = list(dict.fromkeys(skills))
    person.consent_on = consent
    person.joined_on = (
        parse_day(data.get("joined_on"), field="joined_on", required=False) or consent
    )


def add(
    session: Session, *, principal: Principal, community_code: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Put a person on the roster (with the day they consented)."""
    community = access.kept_community(session, principal=principal, code=community_code)
    person = Person(community_id=community.id, created_by=principal.actor, version=1)
    _fill(person, data)
    session.add(person)
    session.flush()
    return _views(session, [person])[0]


def update(
    session: Session, *, principal: Principal, person_id: int, version: int, data: dict[str, Any]
) -> dict[str, Any]:
    person = _person(session, principal, person_id, keep=True)
    if person.removed_on is not None:
        raise Conflict(
            "person {id} was removed on request; their details cannot come back",
            key="person_removed",
            id=person_id,
        )
    if person.version != version:
        raise Conflict(
            "person {id} was changed by someone else (version {current}, you edited "
            "{version}); reload it",
            key="person_stale",
            id=person_id,
            current=person.version,
            version=version,
            field="version",
        )
    _fill(person, data)
    person.version += 1
    session.flush()
    return _views(session, [person])[0]


def remove(session: Session, *, principal: Principal, person_id: int, tz: str) -> dict[str, Any]:
    """Remove a person on request: their details are erased, their records stay anonymous."""
    person = _person(session, principal, person_id, keep=True)
    if person.removed_on is None:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        person.name = person.phone = person.organisation = None
        person.skills = []
        person.consent_on = None
        person.removed_on = datetime.now(ZoneInfo(tz)).date()
        person.version += 1
        forget_names_of(session, person_id=person.id)
        session.flush()
    return _views(session, [person])[0]


def link(
    session: Session,
    *,
    principal: Principal,
    person_id: int,
    target: str,
    site: str | None = None,
    target_id: int | None = None,
) -> dict[str, Any]:
    """Link a person to a site (by its code), a patrol or a plant adoption (by id) of the
    same community."""
    person = _person(session, principal, person_id, keep=True)
    check_code(target, PERSON_LINKS, field="target")
    cid = person.community_id
    found: Any = None
    if target == "site":
        found = find_site(session, community_id=cid, code=site) if site else None
    elif target == "patrol" and target_id is not None:
        found = patrol_in_community(session, community_id=cid, patrol_id=target_id)
    elif target == "adoption" and target_id is not None:
        found = adoption_in_community(session, community_id=cid, adoption_id=target_id)
    if found is None:
        raise NotFound(
            "{target} '{ref}' not found in this community",
            key="person_link_not_found",
            target=t(PERSON_LINKS[target]),
            ref=str(site if target == "site" else target_id),
            field="site" if target == "site" else "id",
        )
    if not any(
        x.target == target and x.target_id == found.id
        for x in links_of_people(session, person_ids=[person.id])
    ):
        session.add(PersonLink(person_id=person.id, target=target, target_id=found.id))
        session.flush()
    return _views(session, [person])[0]


# --- teams --------------------------------------------------------------------------------------


def _team(session: Session, principal: Principal, team_id: int, *, keep: bool) -> Team:
    team = find_team(session, team_id=team_id)
    missing = NotFound(
        "team {id} not found in your area", key="team_not_found", id=team_id, field="id"
    )
    if team is None:
        raise missing
    check = access.require_keeper_of if keep else access.require_reader_of
    try:
        check(session, principal=principal, community_id=team.community_id)
    except NotFound:
        raise missing from None
    return team


def create_team(
    session: Session, *, principal: Principal, community_code: str, data: dict[str, Any]
) -> dict[str, Any]:
    community = access.kept_community(session, principal=principal, code=community_code)
    name = data["name"].strip()
    if find_team_named(session, community_id=community.id, name=name) is not None:
        raise Conflict(
            "{community} already has a team named “{name}”",
            key="team_exists",
            community=community.name,
            name=name,
            field="name",
        )
    founded = parse_day(data["founded_on"], field="founded_on")
    assert founded is not None
    team = Team(
        community_id=community.id,
        name=name,
        purpose=(data.get("purpose") or "").strip() or None,
        founded_on=founded,
        created_by=principal.actor,
    )
    session.add(team)
    session.flush()
    return _team_views(session, [team])[0]


def join(
    session: Session,
    *,
    principal: Principal,
    team_id: int,
    person_ids: Sequence[int],
    joined_on: str,
) -> dict[str, Any]:
    """People of the roster join the team on a day (those already in it are left as they are)."""
    team = _team(session, principal, team_id, keep=True)
    day = parse_day(joined_on, field="joined_on")
    assert day is not None
    if day < team.founded_on:
        raise InvalidInput(
            "joined_on: the team was founded on {day}",
            key="team_joined_before_founded",
            day=team.founded_on.isoformat(),
            field="joined_on",
        )
    wanted = list(dict.fromkeys(person_ids))
    if len(wanted) > MAX_MEMBERS_AT_ONCE:
        raise InvalidInput(
            "at most {limit} people at once",
            key="team_members_too_many",
            limit=MAX_MEMBERS_AT_ONCE,
            field="people",
        )
    people = people_by_ids(session, community_id=team.community_id, ids=wanted)
    for pid in wanted:
        if pid not in people:
            raise _not_found(pid)
        if people[pid].removed_on is not None:
            raise Conflict(
                "person {id} was removed on request; their details cannot come back",
                key="person_removed",
                id=pid,
            )
    current = {m.person_id for m in memberships(session, team_ids=[team.id]) if m.left_on is None}
    for pid in wanted:
        if pid not in current:
            session.add(TeamMember(team_id=team.id, person_id=pid, joined_on=day))
    session.flush()
    return _team_views(session, [team])[0]


def leave(
    session: Session, *, principal: Principal, team_id: int, person_id: int, left_on: str
) -> dict[str, Any]:
    team = _team(session, principal, team_id, keep=True)
    day = parse_day(left_on, field="left_on")
    assert day is not None
    row = next(
        (
            m
            for m in memberships(session, team_ids=[team.id], person_ids=[person_id])
            if m.left_on is None
        ),
        None,
    )
    if row is None:
        raise NotFound(
            "person {id} is not a member of {team}",
            key="team_member_not_found",
            id=person_id,
            team=team.name,
            field="person",
        )
    if day < row.joined_on:
        raise InvalidInput(
            "left_on: they joined on {day}",
            key="team_left_before_joined",
            day=row.joined_on.isoformat(),
            field="left_on",
        )
    row.left_on = day
    session.flush()
    return _team_views(session, [team])[0]


def roster_check(session: Session, *, community_id: int, person_ids: Sequence[int]) -> None:
    """Every id is a person of the community's roster (for attendee lines and sign-ups)."""
    people = people_by_ids(session, community_id=community_id, ids=list(person_ids))
    for pid in person_ids:
        if pid not in people:
            raise _not_found(pid)
