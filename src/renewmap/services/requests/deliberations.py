"""四议共答: the residents' committee, the owners' committee, the property company and resident
representatives deciding a question together, about a request or a micro-renewal site.

A record holds the day, the parties present, who attended, the question and the decision. It
is public: in the request's history (an entry of kind ``deliberation``) or on the site's page.
A later meeting register (issue 18) can point its meetings at these records by id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Deliberation, Request, RequestEvent
from renewmap.db.queries.places import community_by_code, find_site
from renewmap.db.queries.requests import deliberations_of
from renewmap.errors import Forbidden, InvalidInput, NotFound
from renewmap.i18n import N_, Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import require_request, scope_of
from renewmap.validation import strip_text
from renewmap.vocabulary import DELIBERATION_PARTIES, DESIGN_ROLES, EventKind

MAX_ATTENDEES = 1000
MAX_TEXT = 2000
MIN_PARTIES = 2  # deciding together takes more than one party


# The record's text fields as people name them.
FIELDS = {
    "attendees": N_("the attendees"),
    "question": N_("the question"),
    "decision": N_("the decision"),
}


def _clean(value: str | None, field: str, limit: int) -> str:
    text = strip_text(value or "")
    if not text:
        raise InvalidInput(
            "{what} is required",
            key="deliberation_field_missing",
            what=Msg(FIELDS[field]),
            field=field,
        )
    if len(text) > limit:
        raise InvalidInput(
            "{what} is longer than {limit} characters",
            key="deliberation_field_too_long",
            what=Msg(FIELDS[field]),
            limit=limit,
            field=field,
        )
    return text


def record(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    held_on: date,
    parties: list[str],
    attendees: str,
    question: str,
    decision: str,
    request_id: int | None = None,
    site_code: str | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Keep a deliberation about one request (staff handling it) or one site (its community's
    designers and admins, or staff covering the whole community); all checks first."""
    if (request_id is None) == (site_code is None):
        raise InvalidInput(
            "a deliberation is about one request or one site",
            key="deliberation_subject",
            field="request",
        )
    community = community_by_code(session, code=community_code)
    now = now or datetime.now(UTC)
    today = today or now.date()
    if held_on > today:
        raise InvalidInput(
            "a deliberation cannot be recorded for a future day ({day})",
            key="deliberation_in_future",
            day=held_on.isoformat(),
            field="held_on",
        )
    unknown = [p for p in parties if p not in DELIBERATION_PARTIES]
    if unknown:
        raise InvalidInput(
            "unknown party '{party}'; use {parties}",
            key="deliberation_party_unknown",
            party=unknown[0],
            parties=tuple(DELIBERATION_PARTIES),
            field="parties",
        )
    present = [p for p in DELIBERATION_PARTIES if p in parties]  # in the usual order, once
    if len(present) < MIN_PARTIES:
        raise InvalidInput(
            "name the parties present (at least {n} of {parties})",
            key="deliberation_too_few_parties",
            n=MIN_PARTIES,
            parties=tuple(Msg(label) for label in DELIBERATION_PARTIES.values()),
            field="parties",
        )
    attendees = _clean(attendees, "attendees", MAX_ATTENDEES)
    question = _clean(question, "question", MAX_TEXT)
    decision = _clean(decision, "decision", MAX_TEXT)
    request = None
    site = None
    scope = scope_of(session, principal)
    if request_id is not None:
        request = require_request(session, scope, request_id)
        if request.community_id != community.id:
            raise InvalidInput(
                "request {id} is not in {community}",
                key="request_not_in_community",
                id=request_id,
                community=community.name,
                field="request",
            )
        if not scope.handles(request):
            raise Forbidden(
                "only staff handling the request record its deliberations",
                key="deliberation_not_handler",
                field="request",
            )
    else:
        site = find_site(session, community_id=community.id, code=site_code or "")
        if site is None:
            raise InvalidInput(
                "site '{site}' not found in {community}",
                key="deliberation_site_unknown",
                site=site_code,
                community=community.name,
                field="site",
            )
        runs = any(
            g.role in DESIGN_ROLES and g.community_id == community.id for g in principal.roles
        )
        if not runs and community.id not in scope.community_ids:
            raise Forbidden(
                "only the designers and admins of {community} record a site's deliberations",
                key="deliberation_site_not_designer",
                community=community.name,
                field="site",
            )
    row = Deliberation(
        community_id=community.id,
        request_id=request.id if request is not None else None,
        site_id=site.id if site is not None else None,
        held_on=held_on,
        parties=present,
        attendees=attendees,
        question=question,
        decision=decision,
        recorded_by=principal.actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    if request is not None:
        request.events.append(
            RequestEvent(
                kind=EventKind.DELIBERATION,
                actor=principal.actor,
                note=decision,
                public=True,
                data={"deliberation": row.id, **details(row)},
                at=now,
            )
        )
        request.version = (request.version or 1) + 1
        request.updated_at = now
        session.flush()
    return view(row)


def details(row: Deliberation) -> dict[str, Any]:
    """What the public reads of a deliberation."""
    return {
        "held_on": row.held_on.isoformat(),
        "parties": list(row.parties),
        "attendees": row.attendees,
        "question": row.question,
        "decision": row.decision,
    }


def view(row: Deliberation) -> dict[str, Any]:
    return {"id": row.id, **details(row)}


def of_site(session: Session, *, community_code: str, site_code: str) -> list[dict[str, Any]]:
    """A site's deliberations, oldest first (public)."""
    community = community_by_code(session, code=community_code)
    site = find_site(session, community_id=community.id, code=site_code)
    if site is None:
        raise NotFound(
            "site '{site}' not found in {community}",
            key="site_not_found",
            site=site_code,
            community=community.name,
            field="site",
        )
    return [view(d) for d in deliberations_of(session, site_id=site.id)]


def of_request(session: Session, *, request: Request) -> list[dict[str, Any]]:
    return [view(d) for d in deliberations_of(session, request_id=request.id)]
