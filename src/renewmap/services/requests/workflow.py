"""The request workflow that staff drive, with every step recorded.

new → accepted → in_progress → resolved; or rejected (public reason), duplicate (merged into
another request, supporters carried over), transferred to another grid (back to new there).
A resolved request can be reopened by its resident within 30 days. Replies are public
(shown on the resident's follow page); notes are internal.

Every change names the version it was made against: two leads acting at once cannot
overwrite each other; the second gets a 409 with the current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import Grid, Request, RequestEvent, RequestSupport
from renewmap.db.queries.places import find_grid
from renewmap.db.queries.requests import support_total, supporter_hashes
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.i18n import N_, Msg, Text
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import Scope, acting_as, require_request, scope_of
from renewmap.services.requests import progress
from renewmap.vocabulary import (
    OPEN_STATUSES,
    STATUSES,
    UNACCEPTED_STATUSES,
    EventKind,
    Status,
)

REOPEN_DAYS = 30
MAX_NOTE = 2000


@dataclass(frozen=True)
class Action:
    """One kind of step: from which statuses, to which, and what it needs."""

    to: Status | None  # None: the status does not change
    sources: tuple[Status, ...]
    needs_note: bool = False
    public: bool = True


# The action's name is also the kind of the history entry it writes (EventKind).
ACTIONS: dict[str, Action] = {
    EventKind.ACCEPT: Action(Status.ACCEPTED, UNACCEPTED_STATUSES),
    EventKind.START: Action(Status.IN_PROGRESS, (Status.ACCEPTED,)),
    EventKind.RESOLVE: Action(
        Status.RESOLVED, (Status.ACCEPTED, Status.IN_PROGRESS), needs_note=True
    ),
    EventKind.REJECT: Action(Status.REJECTED, OPEN_STATUSES, needs_note=True),
    EventKind.DUPLICATE: Action(Status.DUPLICATE, OPEN_STATUSES),
    EventKind.TRANSFER: Action(Status.NEW, OPEN_STATUSES, needs_note=True),
    EventKind.REPLY: Action(
        None, (*OPEN_STATUSES, Status.RESOLVED, Status.REJECTED), needs_note=True
    ),
    EventKind.NOTE: Action(None, STATUSES, needs_note=True, public=False),
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
}


def act(
    session: Session,
    *,
    principal: Principal,
    request_id: int,
    action: str,
    version: int,
    note: str | None = None,
    target_grid: str | None = None,
    duplicate_of: int | None = None,
    now: datetime | None = None,
    scope: Scope | None = None,
) -> Request:
    """Apply one workflow step for a staff member; all checks before any write. ``scope``:
    the principal's, if the caller already has it."""
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
            "cannot {action} a request that is “{status}”",
            key="action_not_allowed",
            action=Msg(names.ACTION_VERBS[action]),
            status=_status(request),
            current=state(request),
        )
    note = (note or "").strip() or None
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
    now = now or datetime.now(UTC)
    data: dict[str, Any] = {"from": request.status}
    by = acting_as(session, principal, request)  # the resident reads "第3网格 网格长"
    if by is not None:
        data["by"] = by
    if action == EventKind.TRANSFER:
        data |= _transfer(session, scope, request, target_grid)
    elif action == EventKind.DUPLICATE:
        data |= _merge_into(session, scope, request, duplicate_of, principal, now)
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
    if action == EventKind.ACCEPT:
        request.accepted_at = now
        request.status_since = now
    elif action == EventKind.RESOLVE:
        request.resolved_at = now
    elif action == EventKind.TRANSFER:
        request.accepted_at = None
        request.status_since = now  # the receiving grid's clock starts now
    request.version = (request.version or 1) + 1
    request.updated_at = now
    if action == EventKind.TRANSFER:
        from renewmap.services.requests import notify

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
        request.events.append(
            RequestEvent(
                kind=action, actor=principal.actor, note=note, public=spec.public, data=data, at=now
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
