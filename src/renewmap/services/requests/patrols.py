"""Patrols (学习和巡查): each party branch studies and then walks its area once a month, by
the day its community's rule sets (每月第二周的周四 by default; ``due_day``).

A patrol records the day, who went, what was studied (topic, attendees), the route walked
(tapped on the map or recorded by the phone's GPS, simplified) and its findings, which become
requests on the spot (routed like any other, source "patrol", linked to the patrol). One patrol
may walk any of the branch's grids and clears all of them for the month. The month's view
shows which grids and branches have not patrolled yet, and which are late.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString
from sqlalchemy.orm import Session

from renewmap.db.models import Patrol, PatrolGrid
from renewmap.db.queries.places import community_by_code, find_grid, grid_branches_of_community
from renewmap.db.queries.requests import patrols_between
from renewmap.errors import Forbidden, InvalidInput, RenewMapError
from renewmap.i18n import Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import require_staff_scope, scope_of
from renewmap.services.requests import notify
from renewmap.services.requests.intake import create_request
from renewmap.spatial.crs import to_metric, transform
from renewmap.spatial.geometry import as_multi, from_db, parse_geojson, to_db, to_geojson
from renewmap.vocabulary import WEEKDAYS, metric_epsg

MAX_FINDINGS = 50
MAX_ROUTE_POINTS = 20_000
ROUTE_SOURCES = ("tap", "gps")
# A GPS track is simplified to within this many metres of what the phone logged.
GPS_TOLERANCE_M = 3.0


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
    raise InvalidInput(
        "patrol rule '{rule}' is not one of week:N:DAY (N 1–5), nth:N:DAY (N 1–5) or day:N "
        "(1–31), DAY one of {days}",
        key="patrol_rule_invalid",
        rule=text,
        days=WEEKDAYS,
        field="patrol_rule",
    )


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


def _line(route: dict[str, Any], source: str, epsg: int) -> Any:
    """The walked line as stored: a GPS track simplified (the phone logs a fix every few
    metres: ``GPS_TOLERANCE_M`` keeps the way walked and drops the jitter), taps as tapped."""
    line = parse_geojson(route, where="route")
    if not isinstance(line, LineString | MultiLineString):
        raise InvalidInput(
            "route: expected a LineString or MultiLineString, got {type}",
            key="patrol_route_not_line",
            type=line.geom_type,
            field="route",
        )
    if shapely.get_num_coordinates(line) > MAX_ROUTE_POINTS:
        raise InvalidInput(
            "route: at most {limit} points (a walk of hours logged every second)",
            key="patrol_route_too_long",
            limit=MAX_ROUTE_POINTS,
            field="route",
        )
    if source == "gps":
        simple = to_metric(line, epsg).simplify(GPS_TOLERANCE_M, preserve_topology=False)
        line = transform(simple, epsg, 4326)
    return to_db(as_multi(line))


def record(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    grid_codes: list[str],
    day: date,
    participants: str,
    route: dict[str, Any] | None = None,
    route_source: str = "tap",
    notes: str | None = None,
    study_topic: str | None = None,
    study_attendees: str | None = None,
    findings: Sequence[dict[str, Any]] = (),
    today: date | None = None,
) -> dict[str, Any]:
    """Store a branch's study and patrol of any of its grids, and the findings as requests,
    all or nothing. It clears every grid of the branch for the month."""
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    community = community_by_code(session, code=community_code)
    if not grid_codes:
        raise InvalidInput(
            "name the grids walked (grids)", key="patrol_grids_missing", field="grids"
        )
    grids = []
    for code in dict.fromkeys(grid_codes):
        grid = find_grid(session, community_id=community.id, code=code)
        if grid is None:
            raise InvalidInput(
                "grid '{grid}' not found in {community}",
                key="grid_not_found",
                grid=code,
                community=community.name,
                field="grids",
            )
        if not scope.covers_grid(grid_id=grid.id, community_id=community.id):
            raise Forbidden(
                "grid '{grid}' is not in your area",
                key="grid_outside_scope",
                grid=code,
                field="grids",
            )
        grids.append(grid)
    branches = {g.branch_id for g in grids}
    if len(branches) > 1 or (None in branches and len(grids) > 1):
        raise InvalidInput(
            "one patrol is one party branch's: the grids {grids} belong to different "
            "branches (record one patrol per branch)",
            key="patrol_grids_of_several_branches",
            grids=[g.code for g in grids],
            field="grids",
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
    if route_source not in ROUTE_SOURCES:
        raise InvalidInput(
            "route_source must be one of {sources}",
            key="patrol_route_source_unknown",
            sources=ROUTE_SOURCES,
            field="route_source",
        )
    epsg = metric_epsg(community.metric_epsg, from_db(community.geom))
    geom = _line(route, route_source, epsg) if route is not None else None
    if len(findings) > MAX_FINDINGS:
        raise InvalidInput(
            "at most {limit} findings per patrol",
            key="patrol_too_many_findings",
            limit=MAX_FINDINGS,
            field="findings",
        )
    patrol = Patrol(
        grid_id=grids[0].id,
        branch_id=grids[0].branch_id,
        day=day,
        participants=participants,
        notes=(notes or "").strip() or None,
        study_topic=(study_topic or "").strip() or None,
        study_attendees=(study_attendees or "").strip() or None,
        route_source=route_source if geom is not None else None,
        recorded_by=principal.actor,
        geom=geom,
    )
    # A savepoint: a bad finding undoes the patrol and the findings before it, whatever the
    # caller's transaction does next.
    with session.begin_nested():
        return _store(session, principal, patrol, grids, findings)


def _store(
    session: Session,
    principal: Principal,
    patrol: Patrol,
    grids: list[Any],
    findings: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    session.add(patrol)
    session.flush()
    session.add_all(PatrolGrid(patrol_id=patrol.id, grid_id=g.id) for g in grids)
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
        "grid": grids[0].code,
        "grids": [g.code for g in grids],
        "day": patrol.day.isoformat(),
        "participants": patrol.participants,
        "study_topic": patrol.study_topic,
        "study_attendees": patrol.study_attendees,
        "route": to_geojson(from_db(patrol.geom)) if patrol.geom is not None else None,
        "route_source": patrol.route_source,
        "findings": created,
    }


def compliance(session: Session, *, community: Any, month: date, today: date) -> dict[str, Any]:
    """How a community's branches kept this month's patrol: of its patrol units (branches with
    grids, and grids without a branch), how many patrolled, how many are late."""
    last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    due = due_day(community.patrol_rule, month.year, month.month)
    grids = grid_branches_of_community(session, community_id=community.id)
    walks = patrols_between(session, community_id=community.id, start=month, end=last_day)
    done_branches = {p.branch_id for p, _ in walks if p.branch_id is not None}
    done_grids = {g for _, walked in walks for g in walked}
    units: dict[tuple[str, int], bool] = {}
    for g in grids:
        if g.branch_id is not None:
            units[("branch", g.branch_id)] = g.branch_id in done_branches
        else:
            units[("grid", g.id)] = g.id in done_grids
    patrolled = sum(units.values())
    return {
        "due": due.isoformat(),
        "units": len(units),
        "patrolled": patrolled,
        "late": (len(units) - patrolled) if today > due else 0,
    }


def month_status(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    month: date | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Per grid of the caller's area, and per party branch: this month's patrols, and whether
    one is missing or late. A patrol of a branch clears every grid of the branch; a grid
    without a branch is cleared by a patrol of it. Due by the community's rule."""
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    community = community_by_code(session, code=community_code)
    today = today or datetime.now(UTC).date()
    month = (month or today).replace(day=1)
    last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    due = due_day(community.patrol_rule, month.year, month.month)
    grids = [
        g
        for g in grid_branches_of_community(session, community_id=community.id)
        if scope.covers_grid(grid_id=g.id, community_id=community.id)
    ]
    if not grids:
        raise Forbidden(
            "{community} is not in your area",
            key="community_outside_scope",
            community=community.name,
            field="community",
        )
    walks = patrols_between(session, community_id=community.id, start=month, end=last_day)
    by_branch: dict[int, list[date]] = {}
    by_grid: dict[int, list[date]] = {}
    for patrol, grid_ids in walks:
        if patrol.branch_id is not None:
            by_branch.setdefault(patrol.branch_id, []).append(patrol.day)
        for gid in grid_ids:
            by_grid.setdefault(gid, []).append(patrol.day)
    out = []
    branches: dict[int, dict[str, Any]] = {}
    for g in grids:
        days = sorted(set(by_branch.get(g.branch_id, []) if g.branch_id else by_grid.get(g.id, [])))
        walked = sorted(set(by_grid.get(g.id, [])))
        item = {
            "grid": {"code": g.code, "name": g.name},
            "branch": {"code": g.branch_code, "name": g.branch_name} if g.branch_id else None,
            "patrols": [d.isoformat() for d in days],
            "walked": [d.isoformat() for d in walked],
            "patrolled": bool(days),
            "late": not days and today > due,
        }
        out.append(item)
        if g.branch_id is not None:
            b = branches.setdefault(
                g.branch_id,
                {
                    "branch": {"code": g.branch_code, "name": g.branch_name},
                    "grids": [],
                    "patrols": item["patrols"],
                    "patrolled": item["patrolled"],
                    "late": item["late"],
                },
            )
            b["grids"].append(g.code)
    return {
        "community": community_code,
        "month": f"{month:%Y-%m}",
        "due": due.isoformat(),
        "rule": community.patrol_rule,
        "grids": out,
        "branches": sorted(branches.values(), key=lambda b: b["branch"]["code"]),
    }
