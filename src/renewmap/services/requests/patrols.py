"""Patrols (巡查): grid branches walk their grid monthly, on the second Thursday.

A patrol records the day, who went, the route walked (a line) and its findings, which become
requests on the spot (routed like any other, source "patrol", linked to the patrol). The
month's view shows which grids have not patrolled yet, and which are late.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shapely.geometry import LineString, MultiLineString
from sqlalchemy.orm import Session

from renewmap.db.models import Patrol
from renewmap.db.queries.places import community_by_code, find_grid, grid_codes_of_community
from renewmap.db.queries.requests import patrol_days
from renewmap.errors import Forbidden, InvalidInput, RenewMapError
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import require_staff_scope, scope_of
from renewmap.services.requests import notify
from renewmap.services.requests.intake import create_request
from renewmap.spatial.geometry import as_multi, from_db, parse_geojson, to_db, to_geojson
from renewmap.vocabulary import WEEKDAYS

MAX_FINDINGS = 50


# --- when the month's patrol is due -------------------------------------------------------------


@dataclass(frozen=True)
class DueRule:
    """A community's patrol day (``Community.patrol_rule``): ``week`` — weekday ``weekday`` of
    the ``n``-th week (weeks run Monday to Sunday; week 1 holds the 1st): 每月第二周的周四;
    ``nth`` — the ``n``-th such weekday of the month: 第二个周四; ``day`` — the ``n``-th."""

    kind: str
    n: int
    weekday: int | None = None  # Monday 0 … Sunday 6


def parse_rule(text: str) -> DueRule:
    """``week:2:thu``, ``nth:2:thu`` or ``day:15`` → the rule; InvalidInput naming the form."""
    parts = (text or "").strip().lower().split(":")
    form = "week:N:DAY (N 1–5), nth:N:DAY (N 1–5) or day:N (1–31), DAY one of " + ", ".join(
        WEEKDAYS
    )
    try:
        if parts[0] in ("week", "nth") and len(parts) == 3 and parts[2] in WEEKDAYS:
            n = int(parts[1])
            if 1 <= n <= 5:
                return DueRule(parts[0], n, WEEKDAYS.index(parts[2]))
        elif parts[0] == "day" and len(parts) == 2:
            n = int(parts[1])
            if 1 <= n <= 31:
                return DueRule("day", n)
    except ValueError:
        pass
    raise InvalidInput(f"patrol rule '{text}' is not one of {form}", field="patrol_rule")


def due_day(rule: str | DueRule, year: int, month: int) -> date:
    """The day a month's patrol is due. A day the month does not have is its nearest one in
    the month (week 1's Thursday of a month that starts on a Friday is the 1st; a fifth
    Thursday that does not exist is the last Thursday; day 31 of April is the 30th)."""
    r = parse_rule(rule) if isinstance(rule, str) else rule
    first = date(year, month, 1)
    last = first.replace(day=calendar.monthrange(year, month)[1])
    if r.kind == "day":
        return first.replace(day=min(r.n, last.day))
    assert r.weekday is not None
    if r.kind == "week":
        monday = first - timedelta(days=first.weekday())
        day = monday + timedelta(days=7 * (r.n - 1) + r.weekday)
    else:
        day = first + timedelta(days=(r.weekday - first.weekday()) % 7 + 7 * (r.n - 1))
        while day > last:
            day -= timedelta(days=7)
    return min(max(day, first), last)


def second_thursday(year: int, month: int) -> date:
    """The second Thursday of a month (第二个周四; rule ``nth:2:thu``)."""
    return due_day(DueRule("nth", 2, calendar.THURSDAY), year, month)


def record(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    grid_code: str,
    day: date,
    participants: str,
    route: dict[str, Any] | None = None,
    notes: str | None = None,
    findings: Sequence[dict[str, Any]] = (),
    today: date | None = None,
) -> dict[str, Any]:
    """Store a patrol and its findings as requests, all or nothing."""
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    community = community_by_code(session, code=community_code)
    grid = find_grid(session, community_id=community.id, code=grid_code)
    if grid is None:
        raise InvalidInput(f"grid '{grid_code}' not found in {community_code}", field="grid")
    if not scope.covers_grid(grid_id=grid.id, community_id=community.id):
        raise Forbidden(f"grid '{grid_code}' is not in your area", field="grid")
    today = today or datetime.now(UTC).date()
    if day > today:
        raise InvalidInput(f"a patrol cannot be recorded for a future day ({day})", field="day")
    participants = (participants or "").strip()
    if not participants:
        raise InvalidInput("say who took part (participants)", field="participants")
    geom = None
    if route is not None:
        line = parse_geojson(route, where="route")
        if not isinstance(line, LineString | MultiLineString):
            raise InvalidInput(
                f"route: expected a LineString or MultiLineString, got {line.geom_type}",
                field="route",
            )
        geom = to_db(as_multi(line))
    if len(findings) > MAX_FINDINGS:
        raise InvalidInput(f"at most {MAX_FINDINGS} findings per patrol", field="findings")
    # A savepoint: a bad finding undoes the patrol and the findings before it, whatever the
    # caller's transaction does next.
    with session.begin_nested():
        return _store(session, principal, grid, day, participants, notes, geom, findings)


def _store(
    session: Session,
    principal: Principal,
    grid: Any,
    day: date,
    participants: str,
    notes: str | None,
    geom: Any,
    findings: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    patrol = Patrol(
        grid_id=grid.id,
        day=day,
        participants=participants,
        notes=(notes or "").strip() or None,
        recorded_by=principal.actor,
        geom=geom,
    )
    session.add(patrol)
    session.flush()
    created = []
    for i, f in enumerate(findings, start=1):
        try:
            point = parse_geojson(f.get("geometry"), where=f"findings[{i}].geometry")
            request, owner = create_request(
                session,
                geom=point,
                category=f.get("category", ""),
                title=f.get("title", ""),
                description=f.get("description"),
                source="patrol",
                actor=principal.actor,
            )
        except RenewMapError as exc:  # say which finding; nothing of the patrol is kept
            raise type(exc)(f"findings[{i}]: {exc.message}", **exc.details) from None
        request.patrol_id = patrol.id
        notify.enqueue(session, request=request, reason="new")
        created.append({"id": request.id, "grid": owner.grid.code if owner.grid else None})
    session.flush()
    return {
        "id": patrol.id,
        "grid": grid.code,
        "day": day.isoformat(),
        "participants": participants,
        "route": to_geojson(from_db(patrol.geom)) if patrol.geom is not None else None,
        "findings": created,
    }


def month_status(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    month: date | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Per grid of the caller's area: this month's patrols, and whether one is missing/late."""
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    community = community_by_code(session, code=community_code)
    today = today or datetime.now(UTC).date()
    month = (month or today).replace(day=1)
    last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    due = second_thursday(month.year, month.month)
    grids = [
        g
        for g in grid_codes_of_community(session, community_id=community.id)
        if scope.covers_grid(grid_id=g[0], community_id=community.id)
    ]
    if not grids:
        raise Forbidden(f"community '{community_code}' is not in your area", field="community")
    done = patrol_days(session, grid_ids=[g[0] for g in grids], start=month, end=last_day)
    out = []
    for gid, code, name in grids:
        days = sorted(done.get(gid, []))
        out.append(
            {
                "grid": {"code": code, "name": name},
                "patrols": [d.isoformat() for d in days],
                "patrolled": bool(days),
                "late": not days and today > due,
            }
        )
    return {
        "community": community_code,
        "month": f"{month:%Y-%m}",
        "due": due.isoformat(),
        "grids": out,
    }
