"""Staff use cases: my requests (in scope only), one request in full, workflow steps.

Unlike the public views, staff views carry the resident's phone and nickname: only for
requests in the caller's scope, which every function here enforces.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, overload
from zoneinfo import ZoneInfo

import shapely.prepared
from sqlalchemy.orm import Session

from renewmap import blobs, names
from renewmap.db.models import Request
from renewmap.db.queries.places import (
    buildings_by_ids,
    buildings_by_number,
    communities_by_ids,
    community_by_code,
    grid_codes_of_community,
    grids_by_code_any,
    grids_by_ids,
    leader_names,
    orgs_by_ids,
)
from renewmap.db.queries.requests import (
    AfterUnknown,
    all_comments,
    arrivals_since,
    grid_stat_rows,
    photos_by_request,
    request_photo,
    staff_request_batches,
    staff_requests,
)
from renewmap.errors import Forbidden, InvalidInput, NotFound
from renewmap.i18n import t
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import Scope, require_request, require_staff_scope, scope_of
from renewmap.services.requests import workflow
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.vocabulary import (
    CATEGORIES,
    OPEN_STATUSES,
    STATUS_FILTERS,
    UNACCEPTED_STATUSES,
    EventKind,
    Status,
)

SORTS = ("age", "supports", "newest")
DEFAULT_ZONE = "Asia/Shanghai"  # RENEWMAP_TIME_ZONE's default


@overload
def _aware(t: datetime) -> datetime: ...
@overload
def _aware(t: None) -> None: ...
def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def property_late(request: Request, *, now: datetime, time_zone: str = DEFAULT_ZONE) -> bool:
    """Handed to the property company, not reported done, and past its due day (the day
    counted in the community's time zone)."""
    return (
        request.status in OPEN_STATUSES
        and request.assigned_org_id is not None
        and request.assigned_done_at is None
        and request.assigned_due is not None
        and now.astimezone(ZoneInfo(time_zone)).date() > request.assigned_due
    )


def overdue_reason(
    request: Request, *, now: datetime, overdue_days: int, time_zone: str = DEFAULT_ZONE
) -> str | None:
    """Why a request is overdue: ``unaccepted`` (not accepted within ``overdue_days`` of being
    submitted, reopened or transferred), ``property`` (the property company is past its due
    day), or None."""
    if request.status in UNACCEPTED_STATUSES:
        since = _aware(request.status_since or request.created_at)
        if since is not None and now - since > timedelta(days=overdue_days):
            return "unaccepted"
    if property_late(request, now=now, time_zone=time_zone):
        return "property"
    return None


def is_overdue(
    request: Request, *, now: datetime, overdue_days: int, time_zone: str = DEFAULT_ZONE
) -> bool:
    """Not accepted in time, or the property company past its due day."""
    reason = overdue_reason(request, now=now, overdue_days=overdue_days, time_zone=time_zone)
    return reason is not None


def _staff_properties(
    request: Request,
    grids: dict[int, Any],
    *,
    now: datetime,
    overdue_days: int,
    photos: list[Any] | None = None,
    places: Places | None = None,
    time_zone: str = DEFAULT_ZONE,
) -> dict[str, Any]:
    grid = grids.get(request.grid_id) if request.grid_id else None
    created = _aware(request.created_at)
    places = places or Places({}, {})
    building = places.buildings.get(request.building_id) if request.building_id else None
    org = places.orgs.get(request.assigned_org_id) if request.assigned_org_id else None
    why = overdue_reason(request, now=now, overdue_days=overdue_days, time_zone=time_zone)
    props: dict[str, Any] = {
        "id": request.id,
        "version": request.version,
        "category": request.category,
        "title": request.title,
        "description": request.description,
        "status": request.status,
        "grid": {"code": grid.code, "name": grid.name} if grid else None,
        "rule": request.route_rule,
        "supports": request.support_count or 0,
        "receipt_code": request.receipt_code,
        "nickname": request.nickname,
        "phone": request.phone,  # in scope: the lead may call the resident back
        "hidden": request.hidden,
        "duplicate_of": request.duplicate_of_id,
        "created_at": created.isoformat() if created else None,
        "age_days": round((now - created).total_seconds() / 86400, 1) if created else None,
        "overdue": why is not None,
        "overdue_reason": why,
        "building": (
            {"code": building.code or building.number, "name": building.number or building.code}
            if building is not None
            else None
        ),
        "property": (
            {
                "org": {"code": org.code, "name": org.name},
                "due": request.assigned_due.isoformat() if request.assigned_due else None,
                "done": request.assigned_done_at is not None,
                "late": why == "property",
            }
            if org is not None
            else None
        ),
    }
    if photos is not None:
        props["photos"] = [
            {
                "url": f"/api/staff/photos/{p.id}",
                "thumbnail": f"/api/staff/photos/{p.id}/thumbnail",
                "kind": p.kind,
                "event": p.event_id,
            }
            for p in photos
        ]
    return props


@dataclass(frozen=True)
class Places:
    """Buildings and organisations named on a page of requests, by id."""

    buildings: dict[int, Any]
    orgs: dict[int, Any]


def _places(session: Session, rows: Sequence[Request]) -> Places:
    return Places(
        buildings_by_ids(session, ids=sorted({r.building_id for r in rows if r.building_id})),
        orgs_by_ids(session, ids=sorted({r.assigned_org_id for r in rows if r.assigned_org_id})),
    )


def _staff_filters(
    session: Session,
    *,
    principal: Principal,
    status: str | None,
    category: str | None,
    grid_code: str | None,
    community_code: str | None,
    building: str | None,
    bounds: tuple[float, float, float, float] | None,
    sort: str,
    since: datetime | None = None,
) -> tuple[dict[str, Any], Any]:
    """The caller's filters checked and resolved: keyword arguments for the staff queries and
    the building's area (tested here, not in SQL) or None."""
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    if sort not in SORTS:
        raise InvalidInput(
            "sort must be one of {sorts}", key="sort_unknown", sorts=SORTS, field="sort"
        )
    if status and status not in STATUS_FILTERS:
        raise InvalidInput(
            "unknown status '{status}'; use one of {statuses}",
            key="status_unknown",
            status=status,
            statuses=STATUS_FILTERS,
            field="status",
        )
    if category and category not in CATEGORIES:
        raise InvalidInput(
            "unknown category '{category}'; use one of {categories}",
            key="category_unknown",
            category=category,
            categories=CATEGORIES,
            field="category",
        )
    grid_id = None
    if grid_code:
        grid_id = _grid_in_scope(session, scope, grid_code, community_code)
    community_id = _community_in_scope(session, scope, community_code) if community_code else None
    near = None
    if building:
        near = _building_area(session, scope, building, community_code)
        # the footprint's box narrows in SQL; the exact test (and then the paging) in Python
        b = near.bounds
        bounds = (
            b
            if bounds is None
            else (
                max(b[0], bounds[0]),
                max(b[1], bounds[1]),
                min(b[2], bounds[2]),
                min(b[3], bounds[3]),
            )
        )
    query = {
        "in_scope": scope.condition(),
        "status": status,
        "category": category,
        "grid_id": grid_id,
        "community_id": community_id,
        "bounds": bounds,
        "sort": sort,
        "since": since,
    }
    return query, near


def _after_missing(after: int) -> NotFound:
    return NotFound(
        "request {id} not found in your area", key="request_not_in_scope", id=after, field="after"
    )


def my_requests(
    session: Session,
    *,
    principal: Principal,
    status: str | None = None,
    category: str | None = None,
    grid_code: str | None = None,
    community_code: str | None = None,
    building: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    sort: str = "age",
    limit: int | None = 100,
    offset: int = 0,
    after: int | None = None,
    overdue_days: int = 3,
    time_zone: str = DEFAULT_ZONE,
    since: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The caller's requests as a GeoJSON FeatureCollection (filters never widen scope).
    ``limit=None``: all of them. ``since``: only those created after it. ``after``: keyset
    paging, the page that follows that request (the last one of the previous page) in this
    sort, however deep, then ``offset`` more."""
    query, near = _staff_filters(
        session,
        principal=principal,
        status=status,
        category=category,
        grid_code=grid_code,
        community_code=community_code,
        building=building,
        bounds=bounds,
        sort=sort,
        since=since,
    )
    now = now or datetime.now(UTC)
    try:
        rows, total = staff_requests(
            session,
            **query,
            limit=None if near is not None else limit,
            offset=0 if near is not None else offset,
            after_id=None if near is not None else after,
        )
    except AfterUnknown:
        raise _after_missing(after or 0) from None
    if near is not None:
        prepared = shapely.prepared.prep(near)
        rows = [r for r in rows if prepared.intersects(from_db(r.geom))]
        total = len(rows)
        if after is not None:
            ids = [r.id for r in rows]
            if after not in ids:
                raise _after_missing(after)
            rows = rows[ids.index(after) + 1 :]
        rows = rows[offset : offset + limit] if limit is not None else rows[offset:]
    grids = grids_by_ids(session, ids=sorted({r.grid_id for r in rows if r.grid_id}))
    places = _places(session, rows)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.id,
                "geometry": to_geojson(from_db(r.geom)),
                "properties": _staff_properties(
                    r,
                    grids,
                    now=now,
                    overdue_days=overdue_days,
                    places=places,
                    time_zone=time_zone,
                ),
            }
            for r in rows
        ],
        "numberMatched": total,
        "numberReturned": len(rows),
        "offset": offset,
        "limit": limit,
    }


def iter_my_requests(
    session: Session,
    *,
    principal: Principal,
    status: str | None = None,
    category: str | None = None,
    grid_code: str | None = None,
    community_code: str | None = None,
    building: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    sort: str = "age",
    overdue_days: int = 3,
    time_zone: str = DEFAULT_ZONE,
    since: datetime | None = None,
    now: datetime | None = None,
    batch: int = 500,
) -> Iterator[dict[str, Any]]:
    """Every one of the caller's requests as ``my_requests(limit=None)`` lists them (same
    features, same order), read ``batch`` rows at a time: memory stays bounded (exports).
    The filters are checked before the first feature is asked for."""
    query, near = _staff_filters(
        session,
        principal=principal,
        status=status,
        category=category,
        grid_code=grid_code,
        community_code=community_code,
        building=building,
        bounds=bounds,
        sort=sort,
        since=since,
    )
    return _features_in_batches(
        session,
        query,
        near,
        now=now or datetime.now(UTC),
        overdue_days=overdue_days,
        time_zone=time_zone,
        batch=batch,
    )


def _features_in_batches(
    session: Session,
    query: dict[str, Any],
    near: Any,
    *,
    now: datetime,
    overdue_days: int,
    time_zone: str,
    batch: int,
) -> Iterator[dict[str, Any]]:
    prepared = shapely.prepared.prep(near) if near is not None else None
    grids: dict[int, Any] = {}
    for rows in staff_request_batches(session, batch=batch, **query):
        if prepared is not None:
            rows = [r for r in rows if prepared.intersects(from_db(r.geom))]
        wanted = sorted({r.grid_id for r in rows if r.grid_id and r.grid_id not in grids})
        grids.update(grids_by_ids(session, ids=wanted))
        places = _places(session, rows)
        for r in rows:
            yield {
                "type": "Feature",
                "id": r.id,
                "geometry": to_geojson(from_db(r.geom)),
                "properties": _staff_properties(
                    r,
                    grids,
                    now=now,
                    overdue_days=overdue_days,
                    places=places,
                    time_zone=time_zone,
                ),
            }


BUILDING_NEAR_M = 10.0  # a request this close to a building's footprint is "at" it


def _building_area(session: Session, scope: Scope, number: str, community_code: str | None) -> Any:
    """The footprint of a building of the caller's area, grown by ``BUILDING_NEAR_M``."""
    from renewmap.spatial.crs import metres_to_degrees

    found = [
        b
        for b in buildings_by_number(session, number=number, community_code=community_code)
        if b.community_id in scope.community_ids
        or b.grid_id in scope.grid_ids
        or b.id in scope.building_ids
    ]
    if not found:
        raise NotFound(
            "building '{building}' not found in your area",
            key="building_not_in_scope",
            building=number,
            field="building",
        )
    if len(found) > 1:
        raise InvalidInput(
            "building '{building}' exists in several of your communities; add community=",
            key="building_ambiguous",
            building=number,
            field="building",
        )
    footprint = from_db(found[0].geom)
    lat = footprint.centroid.y
    return footprint.buffer(metres_to_degrees(BUILDING_NEAR_M, lat))


def _grid_in_scope(
    session: Session, scope: Scope, grid_code: str, community_code: str | None
) -> int:
    """A grid named in a filter must be the caller's: asking for another area is refused."""
    candidates = grids_by_code_any(session, code=grid_code, community_code=community_code)
    mine = [g for g in candidates if scope.covers_grid(grid_id=g.id, community_id=g.community_id)]
    if not candidates:
        raise NotFound("grid '{grid}' not found", key="grid_unknown", grid=grid_code, field="grid")
    if not mine:
        raise Forbidden(
            "grid '{grid}' is not in your area",
            key="grid_outside_scope",
            grid=grid_code,
            field="grid",
        )
    if len(mine) > 1:
        raise InvalidInput(
            "grid code '{grid}' exists in several of your communities; add community=",
            key="grid_ambiguous",
            grid=grid_code,
            field="grid",
        )
    return int(mine[0].id)


def request_detail(
    session: Session,
    *,
    principal: Principal,
    request_id: int,
    overdue_days: int = 3,
    time_zone: str = DEFAULT_ZONE,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One request in full for staff: contact details, photos, every event incl. notes, the
    building group below its grid and the group's leaders."""
    scope = scope_of(session, principal)
    request = require_request(session, scope, request_id)
    now = now or datetime.now(UTC)
    grids = grids_by_ids(session, ids=[request.grid_id] if request.grid_id else [])
    photos = photos_by_request(session, request_ids=[request.id]).get(request.id, [])
    props = _staff_properties(
        request,
        grids,
        now=now,
        overdue_days=overdue_days,
        photos=photos,
        places=_places(session, [request]),
        time_zone=time_zone,
    )
    props["building_group"] = _group_of(session, request)
    # the answers to the category's questions (from the residents' page or an Open311 client)
    # and the resident's e-mail: in scope, like the phone
    props["answers"] = request.attributes or {}
    props["email"] = request.contact_email
    if request.api_key_id is not None:  # posted by an Open311 client on a resident's behalf
        props["open311"] = {
            "attributes": request.attributes or {},
            "media_url": request.media_url,
            "email": request.contact_email,  # in scope, like the phone
            "name": request.contact_name,
        }
    props["history"] = [
        {
            "kind": e.kind,
            "label": str(names.label(names.EVENT_LABELS, e.kind)),
            "at": _aware(e.at).isoformat() if e.at else None,
            "actor": str(names.actor(e.actor)),
            "actor_code": e.actor,
            "note": e.note,
            "public": e.public,
            "data": e.data,
        }
        for e in request.events
    ]
    props["comments"] = [
        {"body": c.body, "nickname": c.nickname, "hidden": c.hidden}
        for c in all_comments(session, request_id=request.id)
    ]
    moderation: dict[str, bool] = {
        EventKind.HIDE: not request.hidden,
        EventKind.UNHIDE: request.hidden,
    }
    with_property = request.assigned_org_id is not None and request.assigned_done_at is None
    applies: dict[str, bool] = {
        EventKind.PROPERTY_DONE: with_property,
        EventKind.PROPERTY_RETURN: with_property,
    }
    handles = scope.handles(request)
    props["actions"] = [
        name
        for name, spec in workflow.ACTIONS.items()
        if request.status in spec.sources
        and moderation.get(name, True)
        and applies.get(name, True)
        and (handles or spec.property)
    ]
    return {
        "type": "Feature",
        "id": request.id,
        "geometry": to_geojson(from_db(request.geom)),
        "properties": props,
    }


def _group_of(session: Session, request: Request) -> dict[str, Any] | None:
    """The building group serving the request's building where it is (as routing names it),
    with its leaders' names: whom the grid can ask to look."""
    if request.building_id is None or request.community_id is None:
        return None
    from renewmap.services.places.routing import DbSource, below_grid
    from renewmap.spatial.routing import Decision, Rule

    point = from_db(request.geom)
    decision = Decision(Rule(request.route_rule), request.community_id, request.grid_id)
    below = below_grid(session, point, decision, DbSource(session))
    if below is None or below.group is None:
        return None
    return {
        "code": below.group.code,
        "name": below.group.name,
        "leaders": list(leader_names(session, branch_id=below.group.id)),
    }


def after_step(
    session: Session,
    *,
    principal: Principal,
    request_id: int,
    overdue_days: int = 3,
    time_zone: str = DEFAULT_ZONE,
) -> dict[str, Any]:
    """The request as the actor sees it after a workflow step (``workflow.act``): in full, or
    only its id and status once a transfer took it out of their area."""
    scope = scope_of(session, principal)
    refreshed = session.get(Request, request_id)
    if refreshed is None or not scope.covers(refreshed):
        return {
            "id": request_id,
            "status": refreshed.status if refreshed else None,
            "in_your_area": False,
        }
    return request_detail(
        session,
        principal=principal,
        request_id=request_id,
        overdue_days=overdue_days,
        time_zone=time_zone,
    )


def arrivals(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    since: datetime,
    now: datetime | None = None,
) -> dict[str, Any]:
    """How many requests of the caller's area in a community arrived after ``since`` and wait
    to be accepted: new, transferred in or reopened (the workspace asks every half minute and
    shows "3 new" until the list is reloaded). ``now``: the server's clock, the next ``since``."""
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    community_id = _community_in_scope(session, scope, community_code)
    now = now or datetime.now(UTC)
    since = (_aware(since) or now).astimezone(UTC)  # stored times are UTC (SQLite: naive)
    total = arrivals_since(
        session, in_scope=scope.condition(), community_id=community_id, since=since
    )
    return {
        "community": community_code,
        "since": since.isoformat(),
        "now": now.isoformat(),
        "new": total,
    }


def _community_in_scope(session: Session, scope: Scope, community_code: str) -> int:
    """The id of a community the caller's area touches; 404 if unknown, 403 if not theirs."""
    community = community_by_code(session, code=community_code)
    if community.id not in scope.touched_communities(session):
        raise Forbidden(
            "{community} is not in your area",
            key="community_outside_scope",
            community=community.name,
            field="community",
        )
    return community.id


def my_communities(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """The communities the user's area touches (a grid lead's is their grid's)."""
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    ids = scope.touched_communities(session)
    return [
        {"id": c.id, "code": c.code, "name": c.name}
        for c in communities_by_ids(session, ids=sorted(ids))
    ]


def me(session: Session, *, principal: Principal) -> dict[str, Any]:
    """Who the user is, their roles and the area they cover (ids)."""
    scope = scope_of(session, principal)
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "roles": [
            {k: v for k, v in vars(g).items() if v is not None}
            | {"label": t(names.ROLE_LABELS.get(g.role, g.role))}
            for g in principal.roles
        ],
        "scope": {
            "grids": sorted(scope.grid_ids),
            "communities": sorted(scope.community_ids),
            "buildings": sorted(scope.building_ids),
            "organisations": sorted(scope.org_ids),
        },
    }


def grid_stats(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    overdue_days: int = 3,
    time_zone: str = DEFAULT_ZONE,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Per grid of the caller's area in one community: open, overdue, resolved, median days to
    resolve, supports; plus the requests in no grid (the general branch's). A building group
    leader's or the property company's area counts in the grids its requests lie in."""
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    community_id = _community_in_scope(session, scope, community_code)
    now = now or datetime.now(UTC)
    # counted in the database (overdue: not accepted in time, or the property company past its
    # due day, as is_overdue says), the medians too: a community of 75,000 requests was 2.4 s
    # as whole rows, and 106 ms with the resolved requests' times brought to Python
    in_scope = scope.condition()
    counts = {
        gid: rest
        for gid, *rest in grid_stat_rows(
            session,
            in_scope=in_scope,
            community_id=community_id,
            overdue_before=now.astimezone(UTC) - timedelta(days=overdue_days),
            unaccepted=sorted(UNACCEPTED_STATUSES),
            resolved=Status.RESOLVED,
            today=now.astimezone(ZoneInfo(time_zone)).date(),
        )
    }
    touched = set(counts)
    grids = {
        gid: {"code": code, "name": name}
        for gid, code, name in grid_codes_of_community(session, community_id=community_id)
        if scope.covers_grid(grid_id=gid, community_id=community_id) or gid in touched
    }
    out: list[dict[str, Any]] = []
    for gid in [*grids, *(g for g in counts if g not in grids)]:
        grid = grids.get(gid) if gid is not None else None
        if gid is not None and grid is None:
            continue
        total, open_, overdue, resolved_n, supports, median = counts.get(gid, [0, 0, 0, 0, 0, None])
        out.append(
            {
                "grid": grid,
                "open": open_,
                "overdue": overdue,
                "resolved": resolved_n,
                "median_days_to_resolve": round(median, 1) if median is not None else None,
                "supports": supports,
                "total": total,
            }
        )
    out.sort(key=lambda s: (s["grid"] is None, (s["grid"] or {}).get("code", "")))
    return {"community": community_code, "grids": out}


def photo_bytes(
    session: Session, *, principal: Principal, photo_id: int, thumbnail: bool = False
) -> tuple[bytes, str]:
    """A photo of a request in the caller's area, hidden (moderated) ones included."""
    p = request_photo(session, photo_id=photo_id)
    if p is None:
        raise NotFound("photo {id} not found", key="photo_not_found", id=photo_id, field="id")
    require_request(session, scope_of(session, principal), p.request_id)
    return blobs.get(session, p.thumbnail_key if thumbnail else p.data_key), p.content_type
