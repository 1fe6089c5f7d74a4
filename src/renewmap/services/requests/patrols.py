"""Patrols (巡查): grid branches walk their grid monthly, on the second Thursday.

A patrol records the day, who went, the route walked (a line) and its findings, which become
requests on the spot (routed like any other, source "patrol", linked to the patrol). The
month's view shows which grids have not patrolled yet, and which are late.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shapely.geometry import LineString, MultiLineString
from sqlalchemy.orm import Session

from renewmap.db.models import Patrol
from renewmap.db.queries.places import community_by_code, find_grid, grid_codes_of_community
from renewmap.db.queries.requests import patrol_days
from renewmap.errors import Forbidden, InvalidInput, RenewMapError
from renewmap.i18n import Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import require_staff_scope, scope_of
from renewmap.services.requests import notify
from renewmap.services.requests.intake import create_request
from renewmap.spatial.geometry import as_multi, from_db, parse_geojson, to_db, to_geojson

MAX_FINDINGS = 50


def second_thursday(year: int, month: int) -> date:
    """The patrol day of a month."""
    first = date(year, month, 1)
    offset = (calendar.THURSDAY - first.weekday()) % 7
    return first + timedelta(days=offset + 7)


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
        raise InvalidInput(
            "grid '{grid}' not found in {community}",
            key="grid_not_found",
            grid=grid_code,
            community=community.name,
            field="grid",
        )
    if not scope.covers_grid(grid_id=grid.id, community_id=community.id):
        raise Forbidden(
            "grid '{grid}' is not in your area",
            key="grid_outside_scope",
            grid=grid_code,
            field="grid",
        )
    today = today or datetime.now(UTC).date()
    if day > today:
        raise InvalidInput(
            "a patrol cannot be recorded for a future day ({day})",
            key="patrol_in_future",
            day=day.isoformat(),
            field="day",
        )
    participants = (participants or "").strip()
    if not participants:
        raise InvalidInput(
            "say who took part (participants)",
            key="patrol_participants_missing",
            field="participants",
        )
    geom = None
    if route is not None:
        line = parse_geojson(route, where="route")
        if not isinstance(line, LineString | MultiLineString):
            raise InvalidInput(
                "route: expected a LineString or MultiLineString, got {type}",
                key="patrol_route_not_line",
                type=line.geom_type,
                field="route",
            )
        geom = to_db(as_multi(line))
    if len(findings) > MAX_FINDINGS:
        raise InvalidInput(
            "at most {limit} findings per patrol",
            key="patrol_too_many_findings",
            limit=MAX_FINDINGS,
            field="findings",
        )
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
            point = parse_geojson(f.get("geometry"), where=f"findings[{i}].geometry")  # a field
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
            details = {k: v for k, v in exc.details.items() if k not in ("finding", "problem")}
            where = Msg("findings[{finding}]: {problem}", finding=i, problem=exc.msg)
            raise type(exc)(where, key=exc.key, **details) from None
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
        raise Forbidden(
            "{community} is not in your area",
            key="community_outside_scope",
            community=community.name,
            field="community",
        )
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
