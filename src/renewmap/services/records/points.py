"""The points ledger (积分): people of the roster earn points for volunteering (per hour), a
patrol they walked, a plant care log, an event they attended (each source once per person), and
spend them at the points supermarket (积分超市), never beyond their balance. A balance is the sum
of a person's lines; the ledger is for the staff in scope.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import PointsEntry
from renewmap.db.queries.records import (
    care_in_community,
    find_event,
    find_signup,
    patrol_in_community,
    people_by_ids,
    points_entries,
    points_entry_exists,
    points_of_people,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.i18n import Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.records import access
from renewmap.services.records.common import check_code, label, parse_day
from renewmap.services.records.people import shown_name
from renewmap.services.records.terms import POINTS_FOR, POINTS_KINDS, POINTS_PER_HOUR

MAX_HOURS = Decimal(24)
MAX_REDEMPTION = 100_000


def ledger(
    session: Session, *, principal: Principal, community_code: str, person_id: int | None = None
) -> dict[str, Any]:
    """The community's ledger (or one person's) with every balance."""
    community = access.readable_community(session, principal=principal, code=community_code)
    rows = points_entries(session, community_id=community.id, person_id=person_id)
    people = people_by_ids(
        session, community_id=community.id, ids=sorted({r.person_id for r in rows})
    )
    balances = points_of_people(session, person_ids=sorted(people))
    return {
        "community": {"code": community.code, "name": community.name},
        "entries": [
            {
                "id": r.id,
                "person_id": r.person_id,
                "person": shown_name(people[r.person_id]),
                "day": r.day.isoformat(),
                "kind": r.kind,
                "kind_label": label(POINTS_KINDS, r.kind),
                "points": r.points,
                "item": r.item,
            }
            for r in rows
        ],
        "balances": [
            {"person_id": pid, "person": shown_name(people[pid]), "points": balances.get(pid, 0)}
            for pid in sorted(people)
        ],
    }


def _source_found(session: Session, kind: str, community_id: int, source_id: int) -> bool:
    if kind == "patrol":
        return (
            patrol_in_community(session, community_id=community_id, patrol_id=source_id) is not None
        )
    if kind == "care_log":
        return care_in_community(session, community_id=community_id, care_id=source_id) is not None
    signup = find_signup(session, signup_id=source_id)
    event = find_event(session, event_id=signup.event_id) if signup is not None else None
    return (
        event is not None
        and event.community_id == community_id
        and bool(signup and signup.attended)
    )


def record(
    session: Session, *, principal: Principal, community_code: str, data: dict[str, Any]
) -> dict[str, Any]:
    """One line: earned (the points follow the kind) or redeemed (what and how many)."""
    community = access.kept_community(session, principal=principal, code=community_code)
    person_id = data["person"]
    person = people_by_ids(session, community_id=community.id, ids=[person_id]).get(person_id)
    if person is None:
        raise NotFound(
            "person {id} not found in your area",
            key="person_not_found",
            id=person_id,
            field="person",
        )
    kind = check_code(data["kind"], POINTS_KINDS, field="kind")
    day = parse_day(data["day"], field="day")
    assert day is not None
    item = (data.get("item") or "").strip() or None
    source_id = data.get("source")
    if kind == "volunteering":
        hours = data.get("hours")
        if hours is None or not Decimal("0.5") <= Decimal(str(hours)) <= MAX_HOURS:
            raise InvalidInput(
                "hours: volunteering of 0.5 to {limit} hours",
                key="points_hours_invalid",
                limit=int(MAX_HOURS),
                field="hours",
            )
        points = int((Decimal(str(hours)) * POINTS_PER_HOUR).quantize(Decimal(1), ROUND_HALF_UP))
        source_id = None
    elif kind == "redemption":
        points = int(data.get("points") or 0)
        if not 1 <= points <= MAX_REDEMPTION or item is None:
            raise InvalidInput(
                "a redemption names the item and spends 1 to {limit} points",
                key="points_redemption_invalid",
                limit=MAX_REDEMPTION,
                field="points",
            )
        balance = points_of_people(session, person_ids=[person.id]).get(person.id, 0)
        if points > balance:
            raise Conflict(
                "{person} has {balance} points; “{item}” needs {points}",
                key="points_not_enough",
                person=shown_name(person),
                balance=balance,
                item=item,
                points=points,
                field="points",
            )
        points, source_id = -points, None
    else:
        if source_id is None or not _source_found(session, kind, community.id, int(source_id)):
            raise NotFound(
                "{kind}: record {id} not found in this community (an event's sign-up must be "
                "ticked off as come)",
                key="points_source_not_found",
                kind=Msg(POINTS_KINDS[kind]),
                id=str(source_id),
                field="source",
            )
        if points_entry_exists(session, person_id=person.id, kind=kind, source_id=int(source_id)):
            raise Conflict(
                "{person} already earned points for this",
                key="points_already_earned",
                person=shown_name(person),
                field="source",
            )
        points = POINTS_FOR[kind]
    if person.removed_on is not None:
        raise Conflict(
            "person {id} was removed on request; their details cannot come back",
            key="person_removed",
            id=person.id,
        )
    session.add(
        PointsEntry(
            community_id=community.id,
            person_id=person.id,
            day=day,
            kind=kind,
            points=points,
            source_id=int(source_id) if source_id is not None else None,
            item=item,
            created_by=principal.actor,
        )
    )
    session.flush()
    return ledger(session, principal=principal, community_code=community_code, person_id=person.id)
