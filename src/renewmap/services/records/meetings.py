"""A community's meetings register (联席会, 座谈会, 议事会, 楼组会, 四议共答 …).

A meeting has a kind, a day, a place (named, and optionally on the map), the parties that took
part and its attendees (by role, as many as came, named as on the sign-in sheet or not at
all), minutes, decisions and files, and what it discussed: residents' requests, proposals and
sites. A meeting can be the one of a site's process step (the two 联席会). A proposal first
discussed at a meeting moves to "under discussion". Staff-only: attendees' names stay in scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from renewmap import blobs
from renewmap.db.models import Community, Meeting, MeetingAttachment, MeetingAttendee, MeetingLink
from renewmap.db.queries.places import find_site
from renewmap.db.queries.records import (
    attachments_of_meetings,
    attendees_of_meetings,
    find_meeting,
    find_meeting_attachment,
    find_proposal,
    links_of_meetings,
    meetings_of_community,
    people_by_ids,
    proposals_by_ids,
    replace_meeting_rows,
    requests_of_community,
    sites_by_ids,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.services.access.accounts import Principal
from renewmap.services.design.process import STAGE_LABELS
from renewmap.services.ingest.files import checked_attachment
from renewmap.services.records import access
from renewmap.services.records.common import check_code, label, parse_day, place_on_map
from renewmap.services.records.people import roster_check, shown_name
from renewmap.services.records.terms import (
    ATTENDEE_ROLES,
    MEETING_KINDS,
    PARTIES,
    PROPOSAL_STATUSES,
)
from renewmap.spatial.geometry import from_db, to_geojson

# The process steps that are meetings (a meeting record stands for them).
MEETING_STEPS = ("joint_meeting", "final_joint_meeting")
MAX_ATTENDEE_LINES = 200
MAX_COUNT = 10_000


def _not_found(meeting_id: int) -> NotFound:
    return NotFound(
        "meeting {id} not found in your area", key="meeting_not_found", id=meeting_id, field="id"
    )


def _meeting(session: Session, principal: Principal, meeting_id: int, *, keep: bool) -> Meeting:
    meeting = find_meeting(session, meeting_id=meeting_id)
    if meeting is None:
        raise _not_found(meeting_id)
    check = access.require_keeper_of if keep else access.require_reader_of
    try:
        check(session, principal=principal, community_id=meeting.community_id)
    except NotFound:
        raise _not_found(meeting_id) from None
    return meeting


def views(session: Session, meetings: Sequence[Meeting]) -> list[dict[str, Any]]:
    """Meetings as staff read them (attendees' names included)."""
    ids = [m.id for m in meetings]
    attendees: dict[int, list[MeetingAttendee]] = {}
    for a in attendees_of_meetings(session, meeting_ids=ids):
        attendees.setdefault(a.meeting_id, []).append(a)
    links: dict[int, list[MeetingLink]] = {}
    for link in links_of_meetings(session, meeting_ids=ids):
        links.setdefault(link.meeting_id, []).append(link)
    files: dict[int, list[dict[str, Any]]] = {}
    for a_id, m_id, name, ctype in attachments_of_meetings(session, meeting_ids=ids):
        files.setdefault(m_id, []).append(
            {
                "id": a_id,
                "filename": name,
                "content_type": ctype,
                "url": f"/api/records/meeting-files/{a_id}",
            }
        )
    people = people_by_ids(
        session,
        community_id=meetings[0].community_id if meetings else 0,
        ids=sorted({a.person_id for g in attendees.values() for a in g if a.person_id}),
    )
    all_links = [link for group in links.values() for link in group]
    proposals = proposals_by_ids(
        session, ids=[link.target_id for link in all_links if link.target == "proposal"]
    )
    site_ids = {link.target_id for link in all_links if link.target == "site"}
    site_ids |= {m.site_id for m in meetings if m.site_id is not None}
    sites = sites_by_ids(session, ids=sorted(site_ids))
    out = []
    for m in meetings:
        mine = links.get(m.id, [])
        lines = attendees.get(m.id, [])
        requests = requests_of_community(
            session,
            community_id=m.community_id,
            ids=[link.target_id for link in mine if link.target == "request"],
        )
        step_site = sites.get(m.site_id) if m.site_id is not None else None
        out.append(
            {
                "id": m.id,
                "kind": m.kind,
                "kind_label": label(MEETING_KINDS, m.kind),
                "title": m.title,
                "held_on": m.held_on.isoformat(),
                "place": m.place,
                "geometry": to_geojson(from_db(m.geom)) if m.geom is not None else None,
                "parties": [{"code": p, "label": label(PARTIES, p)} for p in m.parties],
                "attendees": [
                    {
                        "role": a.role,
                        "role_label": label(ATTENDEE_ROLES, a.role),
                        "name": shown_name(people[a.person_id])
                        if a.person_id in people
                        else a.name,
                        "person_id": a.person_id,
                        "count": a.count,
                    }
                    for a in lines
                ],
                "participants": sum(a.count for a in lines),
                "minutes": m.minutes,
                "decisions": m.decisions,
                "requests": [
                    {"id": r.id, "title": r.title, "receipt_code": r.receipt_code}
                    for r in requests.values()
                ],
                "proposals": [
                    {
                        "number": proposals[link.target_id].number,
                        "title": proposals[link.target_id].title,
                        "status_label": label(PROPOSAL_STATUSES, proposals[link.target_id].status),
                    }
                    for link in mine
                    if link.target == "proposal" and link.target_id in proposals
                ],
                "sites": [
                    {"code": sites[link.target_id].code, "name": sites[link.target_id].name}
                    for link in mine
                    if link.target == "site" and link.target_id in sites
                ],
                "step": {
                    "site": step_site.code,
                    "site_name": step_site.name,
                    "stage": m.stage,
                    "label": label(STAGE_LABELS, m.stage),
                }
                if step_site is not None and m.stage
                else None,
                "attachments": files.get(m.id, []),
                "version": m.version,
                "created_by": m.created_by,
            }
        )
    return out


def register(
    session: Session, *, principal: Principal, community_code: str, year: int | None = None
) -> dict[str, Any]:
    """The community's meetings, newest first."""
    community = access.readable_community(session, principal=principal, code=community_code)
    rows = meetings_of_community(session, community_id=community.id, year=year)
    return {
        "community": {"code": community.code, "name": community.name},
        "meetings": views(session, rows),
    }


def one(session: Session, *, principal: Principal, meeting_id: int) -> dict[str, Any]:
    return views(session, [_meeting(session, principal, meeting_id, keep=False)])[0]


def _fill(
    session: Session, meeting: Meeting, community: Community, data: dict[str, Any]
) -> list[tuple[str, int]]:
    """Check everything first and set the meeting's fields; the links to write."""
    meeting.kind = check_code(data["kind"], MEETING_KINDS, field="kind")
    meeting.title = data["title"].strip()
    held = parse_day(data["held_on"], field="held_on")
    assert held is not None
    meeting.held_on = held
    meeting.place = (data.get("place") or "").strip() or None
    meeting.geom = place_on_map(community, data.get("point"), field="point", points_only=True)
    parties = list(dict.fromkeys(data.get("parties") or []))
    for p in parties:
        check_code(p, PARTIES, field="parties")
    meeting.parties = parties
    meeting.minutes = (data.get("minutes") or "").strip() or None
    meeting.decisions = (data.get("decisions") or "").strip() or None
    step = data.get("step")
    meeting.site_id, meeting.stage = None, None
    if step:
        site = find_site(session, community_id=community.id, code=step["site"])
        if site is None:
            raise NotFound(
                "site '{site}' not found in {community}",
                key="site_not_found",
                site=step["site"],
                community=community.name,
                field="site",
            )
        check_code(step["stage"], MEETING_STEPS, field="stage")
        meeting.site_id, meeting.stage = site.id, step["stage"]
    links: list[tuple[str, int]] = []
    wanted = list(dict.fromkeys(data.get("requests") or []))
    found = requests_of_community(session, community_id=community.id, ids=wanted)
    for request_id in wanted:
        if request_id not in found:
            raise NotFound(
                "request {id} not found in {community}",
                key="meeting_request_not_found",
                id=request_id,
                community=community.name,
                field="requests",
            )
        links.append(("request", request_id))
    for number in dict.fromkeys(data.get("proposals") or []):
        proposal = find_proposal(session, community_id=community.id, number=number)
        if proposal is None:
            raise NotFound(
                "proposal no. {number} not found in {community}",
                key="proposal_not_found",
                number=number,
                community=community.name,
                field="proposals",
            )
        links.append(("proposal", proposal.id))
    for code in dict.fromkeys(data.get("sites") or []):
        site = find_site(session, community_id=community.id, code=code)
        if site is None:
            raise NotFound(
                "site '{site}' not found in {community}",
                key="site_not_found",
                site=code,
                community=community.name,
                field="site",
            )
        links.append(("site", site.id))
    lines = data.get("attendees") or []
    if len(lines) > MAX_ATTENDEE_LINES:
        raise InvalidInput(
            "at most {limit} attendee lines",
            key="meeting_attendees_too_many",
            limit=MAX_ATTENDEE_LINES,
            field="attendees",
        )
    roster_check(
        session,
        community_id=community.id,
        person_ids=[line["person"] for line in lines if line.get("person") is not None],
    )
    for line in lines:
        check_code(line["role"], ATTENDEE_ROLES, field="attendees")
        if not 1 <= int(line.get("count") or 1) <= MAX_COUNT:
            raise InvalidInput(
                "attendees: a line counts 1 to {limit} people",
                key="meeting_attendee_count",
                limit=MAX_COUNT,
                field="attendees",
            )
    return links


def _write_rows(
    session: Session, meeting: Meeting, data: dict[str, Any], links: list[tuple[str, int]]
) -> None:
    for line in data.get("attendees") or []:
        session.add(
            MeetingAttendee(
                meeting_id=meeting.id,
                role=line["role"],
                person_id=line.get("person"),
                name=None if line.get("person") else (line.get("name") or "").strip() or None,
                count=int(line.get("count") or 1),
            )
        )
    proposals = proposals_by_ids(session, ids=[i for kind, i in links if kind == "proposal"])
    for kind, target_id in links:
        session.add(MeetingLink(meeting_id=meeting.id, target=kind, target_id=target_id))
        if kind == "proposal" and proposals[target_id].status == "submitted":
            # discussed at a meeting: the proposal is now under discussion
            proposals[target_id].status = "discussing"
            proposals[target_id].version += 1
    session.flush()


def record(
    session: Session, *, principal: Principal, community_code: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Register a meeting (all checked before anything is written)."""
    community = access.kept_community(session, principal=principal, code=community_code)
    meeting = Meeting(community_id=community.id, created_by=principal.actor, version=1)
    links = _fill(session, meeting, community, data)
    session.add(meeting)
    session.flush()
    _write_rows(session, meeting, data, links)
    return views(session, [meeting])[0]


def update(
    session: Session, *, principal: Principal, meeting_id: int, version: int, data: dict[str, Any]
) -> dict[str, Any]:
    """Rewrite a meeting's record; ``version`` is the one edited (409 if someone saved since)."""
    meeting = _meeting(session, principal, meeting_id, keep=True)
    if meeting.version != version:
        raise Conflict(
            "meeting {id} was changed by someone else (version {current}, you edited "
            "{version}); reload it",
            key="meeting_stale",
            id=meeting_id,
            current=meeting.version,
            version=version,
            field="version",
        )
    community = session.get(Community, meeting.community_id)
    assert community is not None
    links = _fill(session, meeting, community, data)
    replace_meeting_rows(session, meeting_id=meeting.id)
    meeting.version += 1
    session.flush()
    _write_rows(session, meeting, data, links)
    return views(session, [meeting])[0]


def remove(session: Session, *, principal: Principal, meeting_id: int) -> None:
    """Delete a meeting recorded by mistake (with its attendees, links and files)."""
    meeting = _meeting(session, principal, meeting_id, keep=True)
    session.delete(meeting)
    session.flush()


def attach(
    session: Session,
    *,
    principal: Principal,
    meeting_id: int,
    filename: str,
    data: bytes,
) -> dict[str, Any]:
    """Keep a file with the meeting (PDF, images, Office files; at most 10 MB)."""
    meeting = _meeting(session, principal, meeting_id, keep=True)
    name, media = checked_attachment(filename, data)  # the same rules as a step's files
    key = blobs.put(session, data, media)  # before the row commits: never a row without its file
    row = MeetingAttachment(
        meeting_id=meeting.id, filename=name, content_type=media, data_key=key, size=len(data)
    )
    session.add(row)
    session.flush()
    return {
        "id": row.id,
        "filename": row.filename,
        "content_type": row.content_type,
        "url": f"/api/records/meeting-files/{row.id}",
    }


def attachment(
    session: Session, *, principal: Principal, attachment_id: int
) -> tuple[bytes, str, str]:
    """A meeting's file (staff in scope only): bytes, type, name."""
    row = find_meeting_attachment(session, attachment_id=attachment_id)
    if row is None:
        raise NotFound(
            "file {id} not found", key="meeting_file_not_found", id=attachment_id, field="id"
        )
    try:
        _meeting(session, principal, row.meeting_id, keep=False)
    except NotFound:
        raise NotFound(
            "file {id} not found", key="meeting_file_not_found", id=attachment_id, field="id"
        ) from None
    return blobs.get(session, row.data_key), row.content_type, row.filename


def keeper_check(session: Session, *, principal: Principal, meeting_id: int) -> None:
    """404 unless the meeting is in the principal's area, 403 unless they keep it."""
    _meeting(session, principal, meeting_id, keep=True)
