"""The monthly report of a grid or of a party branch's area, for its meeting: the month's new,
accepted and resolved requests (with the median days to resolve), those still open at its end,
the month's patrols with their routes, study and findings, and the layers of its map — within
the caller's scope, like every export. Data only; the page, the offline file and the PDF are
rendered by ``renewmap.web.report``.

The month runs from midnight of its 1st to midnight of the next month's 1st in the community's
time zone: a request created on 1 December at 00:30 in Shanghai is December's, although it is
still 30 November in UTC.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from renewmap.db.models import Request
from renewmap.db.queries.places import (
    branch_subtree_ids,
    community_by_code,
    find_branch,
    grid_ids_of_branches,
    grids_by_ids,
)
from renewmap.db.queries.requests import (
    events_of_requests,
    patrols_between,
    requests_of_grids,
    requests_of_patrols,
)
from renewmap.errors import Forbidden, InvalidInput, NotFound
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import require_staff_scope, scope_of
from renewmap.services.places.layers import community_layers
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.vocabulary import OPEN_STATUSES, UNACCEPTED_STATUSES, EventKind, Status

REPORT_LAYERS = ("community", "grid", "building", "path", "green")


@dataclass(frozen=True)
class Month:
    """A calendar month in a time zone: ``start`` ≤ moment < ``end`` (aware, UTC)."""

    first: date
    start: datetime
    end: datetime

    @classmethod
    def of(cls, first: date, time_zone: str) -> Month:
        zone = ZoneInfo(time_zone)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        start = datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC)
        end = datetime(following.year, following.month, 1, tzinfo=zone).astimezone(UTC)
        return cls(first.replace(day=1), start, end)

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= _aware(moment) < self.end


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def status_at(request: Request, events: Sequence[Any], moment: datetime) -> str | None:
    """The request's status at ``moment`` from its history (None: it did not exist yet). A
    step records the status it left (``from``) and the one it set (``to``)."""
    if _aware(request.created_at) >= moment:
        return None
    before = [e for e in events if e.data and "to" in e.data and _aware(e.at) < moment]
    if before:
        return str(before[-1].data["to"])
    after = [e for e in events if e.data and "from" in e.data and _aware(e.at) >= moment]
    return str(after[0].data["from"]) if after else request.status


def _area(
    session: Session,
    principal: Principal,
    community_code: str,
    grid: str | None,
    branch: str | None,
) -> tuple[Any, dict[str, Any], list[int]]:
    """The community, what the report covers ({kind, code, name}) and its grid ids, within the
    caller's scope (a grid or branch they do not cover is 403)."""
    if (grid is None) == (branch is None):
        raise InvalidInput(
            "a report is of one grid or of one party branch", key="report_subject", field="grid"
        )
    community = community_by_code(session, code=community_code)
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    if grid is not None:
        from renewmap.db.queries.places import find_grid

        found = find_grid(session, community_id=community.id, code=grid)
        if found is None:
            raise NotFound(
                "grid '{grid}' not found in {community}",
                key="grid_not_found",
                grid=grid,
                community=community.name,
                field="grid",
            )
        covered = {"kind": "grid", "code": found.code, "name": found.name}
        grid_ids = [found.id]
    else:
        found_branch = find_branch(session, code=branch or "")
        if found_branch is None or found_branch.community_id != community.id:
            raise NotFound(
                "party branch '{branch}' not found in {community}",
                key="branch_not_in_community",
                branch=branch,
                community=community.name,
                field="branch",
            )
        subtree = branch_subtree_ids(session, branch_ids=[found_branch.id])
        grid_ids = sorted(grid_ids_of_branches(session, branch_ids=sorted(subtree)))
        if not grid_ids:
            raise InvalidInput(
                "party branch '{branch}' has no grids",
                key="report_branch_without_grids",
                branch=branch,
                field="branch",
            )
        covered = {"kind": "branch", "code": found_branch.code, "name": found_branch.name}
    if not all(scope.covers_grid(grid_id=g, community_id=community.id) for g in grid_ids):
        raise Forbidden(
            "{area} is not in your area",
            key="report_area_outside_scope",
            area=covered["name"],
            field=covered["kind"],
        )
    return community, covered, grid_ids


def monthly_report(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    grid_code: str | None = None,
    branch_code: str | None = None,
    month: date | None = None,
    time_zone: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A grid's or a branch's month (default: this month in the community's time zone)."""
    community, covered, grid_ids = _area(session, principal, community_code, grid_code, branch_code)
    now = now or datetime.now(UTC)
    first = month or now.astimezone(ZoneInfo(time_zone)).date().replace(day=1)
    m = Month.of(first, time_zone)
    grids = grids_by_ids(session, ids=grid_ids)
    requests = requests_of_grids(session, grid_ids=grid_ids, created_before=m.end)
    events = events_of_requests(session, request_ids=[r.id for r in requests])
    per_grid = {gid: _tally() for gid in grid_ids}
    total = _tally()
    rows: dict[str, list[dict[str, Any]]] = {"new": [], "resolved": [], "open": []}
    for r in requests:
        history = events.get(r.id, [])
        row = _row(r, grids, history, m)
        for tally in (per_grid[r.grid_id], total) if r.grid_id in per_grid else (total,):
            _count(tally, row)
        for key in ("new", "resolved", "open"):
            if row[key]:
                rows[key].append(row)
    patrols = _patrols(session, community.id, grid_ids, grids, m, time_zone)
    layers = community_layers(session, community_code=community_code, kinds=REPORT_LAYERS)
    shown = layers["grid"][layers["grid"]["id"].isin(grid_ids)]
    return {
        "community_code": community.code,
        "community_name": community.name,
        "covers": covered,
        # kept for the grid report's callers
        "grid_code": covered["code"] if covered["kind"] == "grid" else None,
        "grid_name": covered["name"],
        "grids": [{"code": grids[g].code, "name": grids[g].name} for g in grid_ids],
        "grid_bounds": [float(v) for v in shown.total_bounds] if len(shown) else None,
        "month": m.first,
        "start": m.start,
        "end": m.end,
        "generated_at": now,
        "figures": _figures(total),
        "per_grid": [
            {"grid": {"code": grids[g].code, "name": grids[g].name}, **_figures(per_grid[g])}
            for g in grid_ids
        ],
        "new_requests": rows["new"],
        "resolved_requests": rows["resolved"],
        "open_requests": sorted(rows["open"], key=lambda r: r["created_at"]),
        "requests": [row for row in rows["open"] + rows["new"] + rows["resolved"]],
        "patrols": patrols,
        "layers": layers,
    }


def _tally() -> dict[str, Any]:
    return {"new": 0, "accepted": 0, "resolved": 0, "open": 0, "days": []}


def _count(tally: dict[str, Any], row: dict[str, Any]) -> None:
    tally["new"] += row["new"]
    tally["accepted"] += row["accepted"]
    tally["open"] += row["open"]
    if row["resolved"]:
        tally["resolved"] += 1
        tally["days"].append(row["days_to_resolve"])


def _figures(tally: dict[str, Any]) -> dict[str, Any]:
    days = tally["days"]
    return {
        "new": tally["new"],
        "accepted": tally["accepted"],
        "resolved": tally["resolved"],
        "median_days_to_resolve": round(statistics.median(days), 1) if days else None,
        "open_at_end": tally["open"],
    }


def _accepted_in(history: Sequence[Any], m: Month) -> bool:
    """Accepted during the month: an acceptance, or a hand-over to the property company of a
    request not yet accepted (which accepts it)."""
    for e in history:
        if not m.holds(e.at):
            continue
        if e.kind == EventKind.ACCEPT:
            return True
        if (
            e.kind == EventKind.ASSIGN_PROPERTY
            and (e.data or {}).get("from") in UNACCEPTED_STATUSES
        ):
            return True
    return False


def _row(r: Request, grids: dict[int, Any], history: Sequence[Any], m: Month) -> dict[str, Any]:
    created = _aware(r.created_at)
    resolutions = [e for e in history if e.kind == EventKind.RESOLVE and m.holds(e.at)]
    if not resolutions and r.status == Status.RESOLVED and r.resolved_at and m.holds(r.resolved_at):
        resolved_at: datetime | None = _aware(r.resolved_at)  # resolved without a step (imports)
    else:
        resolved_at = _aware(resolutions[-1].at) if resolutions else None
    at_end = status_at(r, history, m.end)
    grid = grids.get(r.grid_id) if r.grid_id else None
    geometry = from_db(r.geom)
    anchor = geometry.representative_point()
    return {
        "id": r.id,
        "receipt_code": r.receipt_code,
        "created_at": created.isoformat(),
        "title": r.title,
        "category": r.category,
        "status": at_end or r.status,
        "grid": grid.name if grid else None,
        "supports": r.support_count or 0,
        "lon": round(anchor.x, 7),
        "lat": round(anchor.y, 7),
        "new": m.holds(created),
        "accepted": _accepted_in(history, m),
        "resolved": resolved_at is not None,
        "resolved_at": resolved_at.isoformat() if resolved_at else None,
        "days_to_resolve": (
            round((resolved_at - created).total_seconds() / 86400, 1) if resolved_at else None
        ),
        "open": at_end in OPEN_STATUSES,
        "days_open_at_end": round((m.end - created).total_seconds() / 86400, 1),
    }


def _patrols(
    session: Session,
    community_id: int,
    grid_ids: list[int],
    grids: dict[int, Any],
    m: Month,
    time_zone: str,
) -> list[dict[str, Any]]:
    """The month's patrols of the report's grids (a branch's walk counts for its grids), with
    route, study and findings."""
    last = m.end.astimezone(ZoneInfo(time_zone)).date() - timedelta(days=1)
    wanted = set(grid_ids)
    branches = {g.branch_id for g in grids.values() if g.branch_id is not None}
    walks = [
        (p, walked)
        for p, walked in patrols_between(
            session, community_id=community_id, start=m.first, end=last
        )
        if wanted & set(walked) or (p.branch_id is not None and p.branch_id in branches)
    ]
    findings = requests_of_patrols(session, patrol_ids=[p.id for p, _ in walks])
    names = grids_by_ids(session, ids=sorted({g for _, walked in walks for g in walked}))
    return [
        {
            "id": p.id,
            "day": p.day.isoformat(),
            "grids": [names[g].name for g in walked if g in names],
            "participants": p.participants,
            "study_topic": p.study_topic,
            "study_attendees": p.study_attendees,
            "notes": p.notes,
            "route": to_geojson(from_db(p.geom)) if p.geom is not None else None,
            "route_source": p.route_source,
            "findings": [
                {
                    "receipt_code": f.receipt_code,
                    "title": f.title,
                    "category": f.category,
                    "status": f.status,
                }
                for f in findings.get(p.id, [])
            ],
        }
        for p, walked in walks
    ]


def grid_report(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    grid_code: str,
    month: date | None = None,
    time_zone: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> dict[str, Any]:
    """One grid's month (``monthly_report`` of a grid)."""
    return monthly_report(
        session,
        principal=principal,
        community_code=community_code,
        grid_code=grid_code,
        month=month,
        time_zone=time_zone,
        now=now,
    )
