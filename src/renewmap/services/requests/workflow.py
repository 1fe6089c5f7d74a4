"""The request workflow that staff drive, with every step recorded.

new → accepted → in_progress → resolved; or rejected (public reason), duplicate (merged into
another request, supporters carried over), transferred to another grid (back to new there).
A resolved request can be reopened by its resident within 30 days. Replies are public
(shown on the resident's follow page); notes are internal, and travel in their own field
(``internal_note``) next to any step, so text meant for staff never rides on a public step.

交物业处理: a request handed to the compound's property company with a due date (in progress;
overdue the day after). The company's staff see only what was handed to them and take only
their own steps: reply, internal note, done (what was done, "after" photos), hand back.

Every change names the version it was made against: two leads acting at once cannot
overwrite each other; the second gets a 409 with the current state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import (
    Building,
    Grid,
    Organisation,
    Request,
    RequestEvent,
    RequestPhoto,
    RequestSupport,
)
from renewmap.db.queries.places import find_grid
from renewmap.db.queries.requests import support_total, supporter_hashes
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.i18n import N_, Msg, Text
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import Scope, acting_as, require_request, scope_of
from renewmap.services.requests import progress
from renewmap.services.requests.photos import process_photos
from renewmap.vocabulary import (
    OPEN_STATUSES,
    ORG_PROPERTY,
    STATUSES,
    UNACCEPTED_STATUSES,
    EventKind,
    Status,
)

REOPEN_DAYS = 30
MAX_NOTE = 2000
MAX_DUE_DAYS = 366  # how far ahead a due date for the property company may lie
MAX_STEP_PHOTOS = 3


@dataclass(frozen=True)
class Action:
    """One kind of step: from which statuses, to which, and what it needs. ``property``: the
    property company's staff may take it; ``photos``: it may carry "after" photos."""

    to: Status | None  # None: the status does not change
    sources: tuple[Status, ...]
    needs_note: bool = False
    public: bool = True
    property: bool = False
    photos: bool = False


# The action's name is also the kind of the history entry it writes (EventKind).
ACTIONS: dict[str, Action] = {
    EventKind.ACCEPT: Action(Status.ACCEPTED, UNACCEPTED_STATUSES),
    EventKind.START: Action(Status.IN_PROGRESS, (Status.ACCEPTED,)),
    EventKind.RESOLVE: Action(
        Status.RESOLVED, (Status.ACCEPTED, Status.IN_PROGRESS), needs_note=True, photos=True
    ),
    EventKind.REJECT: Action(Status.REJECTED, OPEN_STATUSES, needs_note=True),
    EventKind.DUPLICATE: Action(Status.DUPLICATE, OPEN_STATUSES),
    EventKind.TRANSFER: Action(Status.NEW, OPEN_STATUSES, needs_note=True),
    EventKind.REPLY: Action(
        None,
        (*OPEN_STATUSES, Status.RESOLVED, Status.REJECTED),
        needs_note=True,
        property=True,
        photos=True,
    ),
    EventKind.NOTE: Action(None, STATUSES, needs_note=True, public=False, property=True),
    # the property company (交物业处理): handed over with a due date, done, or handed back
    EventKind.ASSIGN_PROPERTY: Action(Status.IN_PROGRESS, OPEN_STATUSES),
    EventKind.PROPERTY_DONE: Action(
        None, (Status.IN_PROGRESS,), needs_note=True, property=True, photos=True
    ),
    EventKind.PROPERTY_RETURN: Action(
        None, (Status.IN_PROGRESS,), needs_note=True, public=False, property=True
    ),
    # moderation: out of public view (abuse, personal data in the text), the reason internal
    EventKind.HIDE: Action(None, STATUSES, needs_note=True, public=False),
    EventKind.UNHIDE: Action(None, STATUSES, public=False),
}


def state(request: Request) -> dict[str, Any]:
    """What a 409 carries so the client can show the current state and retry."""
    return {"id": request.id, "status": request.status, "version": request.version}


def _status(request: Request) -> Text | str:
    return names.label(names.STATUS_LABELS, request.status)


# What a step needs written in its note.
NOTE_NEEDED = {
    "resolve": N_("say what was done (note)"),
    "reject": N_("give the public reason (note)"),
    "transfer": N_("give the reason for the transfer (note)"),
    "reply": N_("write the reply (note)"),
    "note": N_("write the note"),
    "hide": N_("give the reason for hiding it (note)"),
    "property_done": N_("say what was done (note)"),
    "property_return": N_("say why it is handed back (note)"),
}


def act(
    session: Session,
    *,
    principal: Principal,
    request_id: int,
    action: str,
    version: int,
    note: str | None = None,
    internal_note: str | None = None,
    target_grid: str | None = None,
    duplicate_of: int | None = None,
    due: date | None = None,
    org: str | None = None,
    photos: Sequence[tuple[str, bytes]] = (),
    today: date | None = None,
    now: datetime | None = None,
    scope: Scope | None = None,
) -> Request:
    """Apply one workflow step for a staff member; all checks before any write.

    ``note`` is the step's own text (public for public steps: a reply, the reason of a
    rejection, what was done); ``internal_note`` is for staff only and is kept as a separate
    internal note, whatever the step. ``due``/``org``: handing to the property company (the
    compound's by default). ``photos``: "after" photos of a reply or of the work done
    (metadata stripped). ``today``: the day in the community's time zone. ``scope``: the
    principal's, if the caller already has it."""
    scope = scope if scope is not None else scope_of(session, principal)
    spec = ACTIONS.get(action)
    if spec is None:
        raise InvalidInput(
            "unknown action '{action}'; use one of {actions}",
            key="action_unknown",
            action=action,
            actions=tuple(ACTIONS),
            field="action",
        )
    request = _locked(session, scope, request_id)
    if not scope.handles(request) and not spec.property:
        raise Forbidden(
            "on what was handed to them, the property company's staff may only reply, add an "
            "internal note, report the work done or hand it back",
            key="property_action_not_allowed",
            allowed=[name for name, a in ACTIONS.items() if a.property],
            field="action",
        )
    if request.version != version:
        raise Conflict(
            "request {id} was changed by someone else (now version {version}, "
            "status “{status}”); reload and try again",
            key="request_version_conflict",
            id=request_id,
            version=request.version,
            status=_status(request),
            current=state(request),
        )
    if request.status not in spec.sources:
        raise Conflict(
            "cannot {action}: the request is “{status}”",
            key="action_not_allowed",
            action=Msg(names.ACTION_VERBS[action]),
            status=_status(request),
            current=state(request),
        )
    note = (note or "").strip() or None
    internal_note = (internal_note or "").strip() or None
    if spec.needs_note and not note:
        raise InvalidInput(
            "{what}", key="note_required", what=Msg(NOTE_NEEDED[action]), field="note"
        )
    if note and len(note) > MAX_NOTE:
        raise InvalidInput(
            "note is longer than {limit} characters",
            key="note_too_long",
            limit=MAX_NOTE,
            field="note",
        )
    if internal_note and len(internal_note) > MAX_NOTE:
        raise InvalidInput(
            "internal note is longer than {limit} characters",
            key="internal_note_too_long",
            limit=MAX_NOTE,
            field="internal_note",
        )
    if photos and not spec.photos:
        raise InvalidInput(
            "photos go with a reply, a resolution or the work done, not with a step to {action}",
            key="step_photos_not_allowed",
            action=Msg(names.ACTION_VERBS[action]),
            field="photos",
        )
    if len(photos) > MAX_STEP_PHOTOS:
        raise InvalidInput(
            "at most {limit} photos per step",
            key="step_too_many_photos",
            limit=MAX_STEP_PHOTOS,
            field="photos",
        )
    processed = process_photos(photos) if photos else []
    now = now or datetime.now(UTC)
    today = today or now.date()
    data: dict[str, Any] = {"from": request.status}
    by = acting_as(session, principal, request)  # the resident reads "第3网格 网格长"
    if by is not None:
        data["by"] = by
    if action == EventKind.TRANSFER:
        data |= _transfer(session, scope, request, target_grid)
    elif action == EventKind.DUPLICATE:
        data |= _merge_into(session, scope, request, duplicate_of, principal, now)
    elif action == EventKind.ASSIGN_PROPERTY:
        data |= _assign_property(session, request, org, due, today, now)
    elif action in (EventKind.PROPERTY_DONE, EventKind.PROPERTY_RETURN):
        data |= _property_step(session, request, action, now)
    if spec.to is not None:
        data["to"] = spec.to
        request.status = spec.to
    if action in (EventKind.HIDE, EventKind.UNHIDE):
        if request.hidden == (action == EventKind.HIDE):
            if request.hidden:
                raise Conflict(
                    "the request is already hidden", key="already_hidden", current=state(request)
                )
            raise Conflict(
                "the request is already shown", key="already_shown", current=state(request)
            )
        request.hidden = action == EventKind.HIDE
    if action == EventKind.ACCEPT or (
        action == EventKind.ASSIGN_PROPERTY and request.accepted_at is None
    ):
        request.accepted_at = now  # handing it over accepts it
        request.status_since = now
    elif action == EventKind.RESOLVE:
        request.resolved_at = now
    elif action == EventKind.TRANSFER:
        request.accepted_at = None
        request.status_since = now  # the receiving grid's clock starts now
    request.version = (request.version or 1) + 1
    request.updated_at = now
    from renewmap.services.requests import notify

    if action == EventKind.TRANSFER:
        notify.enqueue(session, request=request, reason="transferred")
        # The resident sees that it moved and where; the reason is for the grids.
        request.events.append(
            RequestEvent(
                kind=action, actor=principal.actor, note=None, public=True, data=data, at=now
            )
        )
        request.events.append(
            RequestEvent(
                kind=EventKind.TRANSFER_REASON,
                actor=principal.actor,
                note=note,
                public=False,
                at=now,
            )
        )
    else:
        event = RequestEvent(
            kind=action, actor=principal.actor, note=note, public=spec.public, data=data, at=now
        )
        request.events.append(event)
        if processed:
            session.flush()  # the event's id, for its photos
            store_step_photos(session, request, event, processed)
    if action == EventKind.ASSIGN_PROPERTY:
        notify.enqueue(session, request=request, reason="assigned")
    if internal_note:
        request.events.append(
            RequestEvent(
                kind=EventKind.NOTE,
                actor=principal.actor,
                note=internal_note,
                public=False,
                data={"with": action},
                at=now,
            )
        )
    if spec.public:
        progress.tell(
            session,
            request=request,
            step=action,
            note=note,
            by=by,
            now=now,
            reopen_days=REOPEN_DAYS,
        )
    session.flush()
    return request


def store_step_photos(
    session: Session, request: Request, event: RequestEvent, processed: Sequence[Any]
) -> None:
    """Staff photos of a step ("after"), shown to the resident with that step."""
    for i, p in enumerate(processed):
        session.add(
            RequestPhoto(
                request_id=request.id,
                kind="after",
                event_id=event.id,
                position=i,
                **p.store(session),
            )
        )
    event.data = {**(event.data or {}), "photos": len(processed)}


def _assign_property(
    session: Session,
    request: Request,
    org_code: str | None,
    due: date | None,
    today: date,
    now: datetime,
) -> dict[str, Any]:
    """交物业处理: to the property company of the request's compound (or the one named), due
    by ``due``, a day from today to a year ahead."""
    if due is None:
        raise InvalidInput(
            "handing to the property company needs a due date (due)",
            key="property_due_missing",
            field="due",
        )
    if due < today:
        raise InvalidInput(
            "the due date {due} is in the past (today is {today})",
            key="property_due_past",
            due=due.isoformat(),
            today=today.isoformat(),
            field="due",
        )
    if due > today + timedelta(days=MAX_DUE_DAYS):
        raise InvalidInput(
            "the due date {due} is more than {limit} days ahead",
            key="property_due_too_far",
            due=due.isoformat(),
            limit=MAX_DUE_DAYS,
            field="due",
        )
    org = property_company_for(session, request, org_code)
    previous = request.assigned_org_id
    request.assigned_org_id = org.id
    request.assigned_at = now
    request.assigned_due = due
    request.assigned_done_at = None
    out: dict[str, Any] = {"org": {"code": org.code, "name": org.name}, "due": due.isoformat()}
    if previous is not None:
        out["previously"] = previous
    return out


def property_company_for(session: Session, request: Request, code: str | None) -> Organisation:
    """The property company a request goes to: the one named (of its community), else the
    one of its compound (its building's, else its grid's), else the community's only one."""
    from renewmap.db.queries.places import find_organisation, property_companies

    if code:
        org = find_organisation(session, community_id=request.community_id or -1, code=code)
        if org is None or org.kind != ORG_PROPERTY:
            raise NotFound(
                "property company '{org}' not found in this request's community",
                key="property_company_not_found",
                org=code,
                field="org",
            )
        return org
    companies = property_companies(session, community_id=request.community_id or -1)
    compound_id = None
    if request.building_id is not None:
        building = session.get(Building, request.building_id)
        compound_id = building.compound_id if building is not None else None
    if compound_id is None and request.grid_id is not None:
        grid = session.get(Grid, request.grid_id)
        compound_id = grid.compound_id if grid is not None else None
    of_compound = [c for c in companies if c.compound_id == compound_id and compound_id]
    if len(of_compound) == 1:
        return of_compound[0]
    if len(companies) == 1:
        return companies[0]
    if not companies:
        raise InvalidInput(
            "this community has no property company yet (import organisations first)",
            key="community_without_property_company",
            field="org",
        )
    if of_compound:
        raise InvalidInput(
            "name the property company (org): this request's compound has several",
            key="property_company_ambiguous",
            field="org",
            choices=[c.code for c in companies],
        )
    raise InvalidInput(
        "name the property company (org): this request's compound has none of its own",
        key="property_company_unknown_compound",
        field="org",
        choices=[c.code for c in companies],
    )


def _property_step(
    session: Session, request: Request, action: str, now: datetime
) -> dict[str, Any]:
    """Done or handed back: only while the property company has it."""
    if request.assigned_org_id is None or request.assigned_done_at is not None:
        raise Conflict(
            "the request is not with the property company",
            key="not_with_property_company",
            current=state(request),
        )
    org = session.get(Organisation, request.assigned_org_id)
    data: dict[str, Any] = {"org": {"code": org.code, "name": org.name} if org else None}
    if action == EventKind.PROPERTY_DONE:
        request.assigned_done_at = now
    else:
        request.assigned_org_id = None
        request.assigned_due = None
        request.assigned_at = None
    return data


def _locked(session: Session, scope: Scope, request_id: int) -> Request:
    """The request, row-locked for this transaction and (re)checked to be in scope.

    PostgreSQL: SELECT … FOR UPDATE, so a second writer waits and then reads the first one's
    commit (and gets a 409 from the version check). SQLite: app write sessions begin IMMEDIATE
    (``db.dialect.write_bind``), which serialises writers the same way.
    """
    request = require_request(session, scope, request_id)
    session.refresh(request, with_for_update=True)
    return require_request(session, scope, request_id)  # scope may have changed meanwhile


def _transfer(
    session: Session, scope: Scope, request: Request, target_grid: str | None
) -> dict[str, Any]:
    if not target_grid:
        raise InvalidInput(
            "transfer needs the receiving grid's code",
            key="transfer_grid_missing",
            field="target_grid",
        )
    grid = find_grid(session, community_id=request.community_id or -1, code=target_grid)
    if grid is None:
        raise NotFound(
            "grid '{grid}' not found in this request's community",
            key="transfer_grid_not_found",
            grid=target_grid,
            field="target_grid",
        )
    if grid.id == request.grid_id:
        raise Conflict(
            "the request is already in {grid}",
            key="transfer_same_grid",
            grid=grid.name or target_grid,
            current=state(request),
        )
    previous = session.get(Grid, request.grid_id) if request.grid_id else None
    request.grid_id = grid.id
    request.branch_id = grid.branch_id
    return {
        "from_grid": previous.code if previous else None,
        "to_grid": grid.code,
        "to_grid_name": grid.name,
    }


def _merge_into(
    session: Session,
    scope: Scope,
    request: Request,
    target_id: int | None,
    principal: Principal,
    now: datetime,
) -> dict[str, Any]:
    if target_id is None:
        raise InvalidInput(
            "duplicate needs the number of the request it repeats",
            key="duplicate_target_missing",
            field="duplicate_of",
        )
    if target_id == request.id:
        raise InvalidInput(
            "a request cannot duplicate itself", key="duplicate_of_itself", field="duplicate_of"
        )
    target = _locked(session, scope, target_id)
    if target.status not in OPEN_STATUSES:
        raise Conflict(
            "request {id} is “{status}”; merge into an open request",
            key="duplicate_target_closed",
            id=target_id,
            status=_status(target),
            field="duplicate_of",
        )
    # Supporters move to the kept request (once each); the duplicate's own resident counts too.
    theirs = supporter_hashes(session, request_id=request.id)
    ours = supporter_hashes(session, request_id=target.id)
    moved = sorted(theirs - ours)
    for h in moved:
        session.add(RequestSupport(request_id=target.id, supporter_hash=h))
    session.flush()
    request.duplicate_of_id = target.id
    session.flush()
    target.support_count = support_total(session, request_id=target.id)
    target.version = (target.version or 1) + 1
    target.events.append(
        RequestEvent(
            kind=EventKind.MERGED,
            actor=principal.actor,
            note=None,
            public=True,
            data={"duplicate": request.id, "supporters_moved": len(moved)},
            at=now,
        )
    )
    return {"duplicate_of": target.id, "supporters_moved": len(moved)}


def reopen(session: Session, *, request: Request, note: str, now: datetime | None = None) -> None:
    """The resident (through their private link) says a resolved request is not fixed."""
    now = now or datetime.now(UTC)
    session.refresh(request, with_for_update=True)  # against a staff step at the same time
    if request.status != Status.RESOLVED:
        raise Conflict(
            "only a resolved suggestion can be reopened (it is “{status}”)",
            key="reopen_not_resolved",
            status=_status(request),
            current=state(request),
        )
    resolved = request.resolved_at
    if resolved is not None and resolved.tzinfo is None:
        resolved = resolved.replace(tzinfo=UTC)
    if resolved is None or now - resolved > timedelta(days=REOPEN_DAYS):
        raise Forbidden(
            "a suggestion can be reopened within {days} days of its resolution; "
            "please post a new suggestion",
            key="reopen_too_late",
            days=REOPEN_DAYS,
            field="status",
        )
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            "say what is still not fixed (note)", key="reopen_note_missing", field="note"
        )
    if len(note) > MAX_NOTE:
        raise InvalidInput(
            "note is longer than {limit} characters",
            key="note_too_long",
            limit=MAX_NOTE,
            field="note",
        )
    request.status = Status.REOPENED
    request.accepted_at = None
    request.status_since = now
    request.version = (request.version or 1) + 1
    request.updated_at = now
    request.events.append(
        RequestEvent(
            kind=EventKind.REOPEN,
            actor="resident",
            note=note,
            public=True,
            data={"from": Status.RESOLVED},
            at=now,
        )
    )
    session.flush()
