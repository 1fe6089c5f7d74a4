"""Community events (微讲堂, workshops, markets, naming contests …) on the map: residents read the
public ones and sign up from their phone (name, and a phone the staff may call; once per
device); staff enter sign-ups for people of the roster, tick off who came and count walk-ins.
Attendance (人次) is the people of the sign-ups who came plus the walk-ins.

Day and time are the community's local ones (RENEWMAP_TIME_ZONE). Names and phones of those who
signed up are for the staff in scope only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from renewmap.db.models import Event, EventSignup
from renewmap.db.queries.places import community_by_code
from renewmap.db.queries.records import (
    events_of_community,
    find_event,
    find_signup,
    people_by_ids,
    signup_of_device,
    signups_of_events,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.services.access.accounts import Principal
from renewmap.services.records import access
from renewmap.services.records.common import check_code, label, parse_day, place_on_map
from renewmap.services.records.people import shown_name
from renewmap.services.records.terms import EVENT_KINDS
from renewmap.spatial.geometry import from_db, to_geojson

TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_PARTY = 10
MAX_CAPACITY = 10_000


def _not_found(event_id: int) -> NotFound:
    return NotFound("event {id} not found", key="event_not_found", id=event_id, field="id")


def _views(session: Session, events: Sequence[Event], *, staff: bool) -> list[dict[str, Any]]:
    signups: dict[int, list[EventSignup]] = {}
    for s in signups_of_events(session, event_ids=[e.id for e in events]):
        signups.setdefault(s.event_id, []).append(s)
    people = (
        people_by_ids(
            session,
            community_id=events[0].community_id,
            ids=sorted({s.person_id for g in signups.values() for s in g if s.person_id}),
        )
        if events and staff
        else {}
    )
    out = []
    for e in events:
        mine = signups.get(e.id, [])
        signed = sum(s.party for s in mine)
        view: dict[str, Any] = {
            "id": e.id,
            "kind": e.kind,
            "kind_label": label(EVENT_KINDS, e.kind),
            "title": e.title,
            "description": e.description,
            "day": e.day.isoformat(),
            "time": e.time,
            "place": e.place,
            "geometry": to_geojson(from_db(e.geom)) if e.geom is not None else None,
            "capacity": e.capacity,
            "signed_up": signed,
            "places_left": max(e.capacity - signed, 0) if e.capacity is not None else None,
            "attendance": sum(s.party for s in mine if s.attended) + e.walk_ins,
        }
        if staff:
            view |= {
                "public": e.public,
                "walk_ins": e.walk_ins,
                "version": e.version,
                "signups": [
                    {
                        "id": s.id,
                        "name": shown_name(people[s.person_id])
                        if s.person_id in people
                        else s.name,
                        "phone": s.phone,
                        "person_id": s.person_id,
                        "party": s.party,
                        "attended": s.attended,
                    }
                    for s in mine
                ],
            }
        out.append(view)
    return out


def public_list(session: Session, *, community_code: str) -> dict[str, Any]:
    """The community's public events (nobody named)."""
    community = community_by_code(session, code=community_code)
    rows = events_of_community(session, community_id=community.id, public_only=True)
    return {
        "community": {"code": community.code, "name": community.name},
        "events": _views(session, rows, staff=False),
    }


def staff_list(session: Session, *, principal: Principal, community_code: str) -> dict[str, Any]:
    community = access.readable_community(session, principal=principal, code=community_code)
    rows = events_of_community(session, community_id=community.id)
    return {
        "community": {"code": community.code, "name": community.name},
        "events": _views(session, rows, staff=True),
    }


def _event(session: Session, principal: Principal, event_id: int, *, keep: bool) -> Event:
    event = find_event(session, event_id=event_id)
    if event is None:
        raise _not_found(event_id)
    check = access.require_keeper_of if keep else access.require_reader_of
    try:
        check(session, principal=principal, community_id=event.community_id)
    except NotFound:
        raise _not_found(event_id) from None
    return event


def create(
    session: Session, *, principal: Principal, community_code: str, data: dict[str, Any]
) -> dict[str, Any]:
    community = access.kept_community(session, principal=principal, code=community_code)
    day = parse_day(data["day"], field="day")
    assert day is not None
    time = (data.get("time") or "").strip() or None
    if time is not None and not TIME.match(time):
        raise InvalidInput(
            "time: expected a local time like 14:30, got '{value}'",
            key="event_time_invalid",
            value=time,
            field="time",
        )
    event = Event(
        community_id=community.id,
        kind=check_code(data["kind"], EVENT_KINDS, field="kind"),
        title=data["title"].strip(),
        description=(data.get("description") or "").strip() or None,
        day=day,
        time=time,
        place=(data.get("place") or "").strip() or None,
        capacity=data.get("capacity"),
        walk_ins=0,
        public=bool(data.get("public", True)),
        version=1,
        created_by=principal.actor,
        geom=place_on_map(community, data.get("point"), field="point", points_only=True),
    )
    session.add(event)
    session.flush()
    return _views(session, [event], staff=True)[0]


def one(session: Session, *, principal: Principal, event_id: int) -> dict[str, Any]:
    return _views(session, [_event(session, principal, event_id, keep=False)], staff=True)[0]


def _room_for(session: Session, event: Event, party: int) -> None:
    if not 1 <= party <= MAX_PARTY:
        raise InvalidInput(
            "party: 1 to {limit} people", key="event_party_invalid", limit=MAX_PARTY, field="party"
        )
    if event.capacity is not None:
        taken = sum(s.party for s in signups_of_events(session, event_ids=[event.id]))
        if taken + party > event.capacity:
            raise Conflict(
                "“{event}” is full ({left} places left)",
                key="event_full",
                event=event.title,
                left=max(event.capacity - taken, 0),
                field="party",
            )


def sign_up(
    session: Session,
    *,
    community_code: str,
    event_id: int,
    name: str,
    phone: str | None,
    party: int,
    device_hash: str,
    tz: str,
) -> dict[str, Any]:
    """A resident signs up for a public event that has not passed (once per device)."""
    community = community_by_code(session, code=community_code)
    event = find_event(session, event_id=event_id)
    if event is None or event.community_id != community.id or not event.public:
        raise _not_found(event_id)
    if event.day < datetime.now(ZoneInfo(tz)).date():
        raise Conflict(
            "“{event}” took place on {day}; sign-up is closed",
            key="event_over",
            event=event.title,
            day=event.day.isoformat(),
        )
    if signup_of_device(session, event_id=event.id, device_hash=device_hash) is not None:
        raise Conflict(
            "you have already signed up for “{event}”", key="event_signed_up", event=event.title
        )
    _room_for(session, event, party)
    session.add(
        EventSignup(
            event_id=event.id,
            name=name.strip(),
            phone=(phone or "").strip() or None,
            party=party,
            attended=False,
            device_hash=device_hash,
        )
    )
    session.flush()
    return {**_views(session, [event], staff=False)[0], "you_signed_up": True}


def staff_sign_up(
    session: Session,
    *,
    principal: Principal,
    event_id: int,
    person_id: int | None,
    name: str | None,
    phone: str | None,
    party: int,
    attended: bool,
) -> dict[str, Any]:
    """Staff enter a sign-up: a person of the roster, or a name as given."""
    event = _event(session, principal, event_id, keep=True)
    if person_id is None and not (name or "").strip():
        raise InvalidInput(
            "name a person of the roster or the name they gave",
            key="event_signup_who",
            field="name",
        )
    if person_id is not None:
        person = people_by_ids(session, community_id=event.community_id, ids=[person_id])
        if person_id not in person:
            raise NotFound(
                "person {id} not found in your area",
                key="person_not_found",
                id=person_id,
                field="person",
            )
    _room_for(session, event, party)
    session.add(
        EventSignup(
            event_id=event.id,
            person_id=person_id,
            name=None if person_id is not None else (name or "").strip(),
            phone=None if person_id is not None else (phone or "").strip() or None,
            party=party,
            attended=attended,
        )
    )
    session.flush()
    return _views(session, [event], staff=True)[0]


def mark(
    session: Session, *, principal: Principal, signup_id: int, attended: bool
) -> dict[str, Any]:
    """Tick off (or un-tick) a sign-up as come."""
    row = find_signup(session, signup_id=signup_id)
    missing = NotFound(
        "sign-up {id} not found", key="event_signup_not_found", id=signup_id, field="id"
    )
    if row is None:
        raise missing
    try:
        event = _event(session, principal, row.event_id, keep=True)
    except NotFound:
        raise missing from None
    row.attended = attended
    session.flush()
    return _views(session, [event], staff=True)[0]


def set_walk_ins(
    session: Session, *, principal: Principal, event_id: int, walk_ins: int, version: int
) -> dict[str, Any]:
    event = _event(session, principal, event_id, keep=True)
    if event.version != version:
        raise Conflict(
            "event {id} was changed by someone else (version {current}, you edited "
            "{version}); reload it",
            key="event_stale",
            id=event_id,
            current=event.version,
            version=version,
            field="version",
        )
    event.walk_ins = walk_ins
    event.version += 1
    session.flush()
    return _views(session, [event], staff=True)[0]
