"""Residents' requests: the public view, staff lists, photos, supports, comments,
history and patrols."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, case, func, or_, select, tuple_
from sqlalchemy.orm import Session

from renewmap.db.dialect import (
    LIKE_ESCAPE,
    Bounds,
    bbox_centre,
    bbox_filter,
    contains_pattern,
    floor_int,
)
from renewmap.db.models import (
    Patrol,
    Request,
    RequestComment,
    RequestEvent,
    RequestPhoto,
    RequestSupport,
)
from renewmap.db.queries.places import in_public_community
from renewmap.vocabulary import OPEN_FILTER, OPEN_STATUSES, STATUSES, EventKind


def requests_of_community(
    session: Session, *, community_id: int, open_only: bool = False
) -> Sequence[Request]:
    stmt = select(Request).where(Request.community_id == community_id)
    if open_only:
        stmt = stmt.where(Request.status.in_(OPEN_STATUSES))
    return session.scalars(stmt.order_by(Request.id)).all()


def open_requests_near(session: Session, *, bounds: Bounds) -> Sequence[Request]:
    stmt = select(Request).where(
        bbox_filter(session, Request.__table__, bounds), Request.status.in_(OPEN_STATUSES)
    )
    return session.scalars(stmt.order_by(Request.id)).all()


def site_request_candidates(
    session: Session, *, community_id: int, site_id: int, bounds: Bounds
) -> Sequence[Request]:
    """Visible requests pinned for a site or whose bbox meets ``bounds`` (candidates)."""
    t = Request.__table__
    return session.scalars(
        select(Request)
        .where(
            Request.community_id == community_id,
            Request.hidden.is_(False),
            or_(
                Request.site_id == site_id,
                bbox_filter(session, t, bounds, exact=False, indexed=False),
            ),
        )
        .order_by(Request.id)
    ).all()


def all_open_requests(session: Session) -> Sequence[Request]:
    return session.scalars(
        select(Request).where(Request.status.in_(OPEN_STATUSES)).order_by(Request.id)
    ).all()


def receipt_code_taken(session: Session, *, code: str) -> bool:
    return session.scalar(select(Request.id).where(Request.receipt_code == code)) is not None


def request_by_receipt(session: Session, *, code: str) -> Request | None:
    return session.scalar(select(Request).where(Request.receipt_code == code))


def _public_conditions(
    session: Session,
    *,
    community_id: int,
    category: str | None,
    status: str | None,
    grid_id: int | None,
    bounds: Bounds | None,
    text: str | None = None,
) -> list[Any]:
    conditions = [Request.community_id == community_id, Request.hidden.is_(False)]
    if category:
        conditions.append(Request.category == category)
    if status:
        conditions.append(Request.status == status)
    else:
        # Every status, said aloud so that SQLite reads one community's rows through
        # (community_id, status) in table order: it would otherwise pick the (community_id,
        # created_at, id) index and fetch the rows out of order, 5-10x slower for the map's and
        # the count's every row (100,000 suggestions: 300 ms instead of 30). A sorted page still
        # walks (community_id, created_at, id) and stops after its rows.
        conditions.append(Request.status.in_(STATUSES))
    if grid_id is not None:
        conditions.append(Request.grid_id == grid_id)
    if bounds is not None:
        conditions.append(bbox_filter(session, Request.__table__, bounds, indexed=False))
    if text:
        conditions.append(Request.title.ilike(contains_pattern(text), escape=LIKE_ESCAPE))
    return conditions


# How the residents' list may be ordered.
PUBLIC_SORTS = ("newest", "supports", "nearest")


def public_requests(
    session: Session,
    *,
    community_id: int,
    category: str | None = None,
    status: str | None = None,
    grid_id: int | None = None,
    bounds: Bounds | None = None,
    text: str | None = None,
    sort: str = "newest",
    near: tuple[float, float] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[Request], int]:
    """Visible (not hidden) requests of a community with the total count: newest first, most
    supported first, or nearest to ``near`` (lon, lat) first (by the centre of each one's
    bounding box, in local metres); ``text``: the title contains it (case-insensitive)."""

    conditions = _public_conditions(
        session,
        community_id=community_id,
        category=category,
        status=status,
        grid_id=grid_id,
        bounds=bounds,
        text=text,
    )
    total = session.scalar(select(func.count(Request.id)).where(*conditions)) or 0
    order: list[Any]
    if sort == "nearest" and near is not None:
        x, y = bbox_centre(session, Request.geom)
        # degrees of longitude shrink with latitude: scale them to the same length as latitude's
        k = math.cos(math.radians(near[1]))
        dx, dy = (x - near[0]) * k, y - near[1]
        order = [(dx * dx + dy * dy).asc(), Request.id.desc()]
    elif sort == "supports":
        order = [Request.support_count.desc(), Request.created_at.desc(), Request.id.desc()]
    else:
        order = [Request.created_at.desc(), Request.id.desc()]
    rows = session.scalars(
        select(Request).where(*conditions).order_by(*order).limit(limit).offset(offset)
    ).all()
    return rows, int(total)


def public_request_points(
    session: Session,
    *,
    community_id: int,
    category: str | None = None,
    status: str | None = None,
    grid_id: int | None = None,
    bounds: Bounds | None = None,
    limit: int,
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Up to ``limit`` visible requests as (id, x, y, title, category, status), any order.

    x/y is the centre of the geometry's bounding box: enough to place a marker. Unordered, so
    asking for "more than the map can show" stops at the limit instead of sorting everything.
    """
    x, y = bbox_centre(session, Request.geom)
    return session.execute(
        select(Request.id, x, y, Request.title, Request.category, Request.status)
        .where(
            *_public_conditions(
                session,
                community_id=community_id,
                category=category,
                status=status,
                grid_id=grid_id,
                bounds=bounds,
            )
        )
        .limit(limit)
    ).all()


def public_request_cells(
    session: Session,
    *,
    community_id: int,
    cell: float,
    category: str | None = None,
    status: str | None = None,
    grid_id: int | None = None,
    bounds: Bounds | None = None,
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Visible requests counted per square cell of ``cell`` degrees (a fixed world grid).

    One row per non-empty cell: (count, mean x, mean y, min x, min y, max x, max y, one id).
    The grid is anchored at 0,0 so cells do not jump as the map pans.
    """

    x, y = bbox_centre(session, Request.geom)
    inner = (
        select(Request.id.label("id"), x.label("x"), y.label("y"))
        .where(
            *_public_conditions(
                session,
                community_id=community_id,
                category=category,
                status=status,
                grid_id=grid_id,
                bounds=bounds,
            )
        )
        .cte("located")
        # Computed once per row, not once per use below (SQLite would inline it ~20 times).
        .prefix_with("MATERIALIZED")
    )
    i = floor_int(session, inner.c.x / cell).label("i")
    j = floor_int(session, inner.c.y / cell).label("j")
    return session.execute(
        select(
            func.count(),
            func.avg(inner.c.x),
            func.avg(inner.c.y),
            func.min(inner.c.x),
            func.min(inner.c.y),
            func.max(inner.c.x),
            func.max(inner.c.y),
            func.max(inner.c.id),
        )
        .group_by(i, j)
        .order_by(i, j)
    ).all()


def visible_request_points_near(
    session: Session,
    *,
    bounds: Bounds,
    lon: float,
    lat: float,
    metres_per_degree: tuple[float, float],
    within_m: float,
    category: str | None = None,
    limit: int,
) -> list[tuple[int, float, float]]:
    """``(id, lon, lat)`` of the visible requests nearest to (lon, lat), at most ``limit``,
    nearest first by a flat-earth distance the database computes (metres per degree at this
    latitude; within 1 % of the true one over a few hundred metres), within ``within_m``:
    only the candidates, not whole rows, come to Python."""
    x, y = bbox_centre(session, Request.geom)
    kx, ky = metres_per_degree
    squared = ((x - lon) * kx) * ((x - lon) * kx) + ((y - lat) * ky) * ((y - lat) * ky)
    conditions = [
        bbox_filter(session, Request.__table__, bounds),
        Request.hidden.is_(False),
        squared <= within_m * within_m,
        in_public_community(Request),
    ]
    if category:
        conditions.append(Request.category == category)
    query = select(Request.id, x, y).where(*conditions).order_by(squared, Request.id).limit(limit)
    return [(int(i), float(px), float(py)) for i, px, py in session.execute(query)]


def requests_by_ids(session: Session, *, ids: Sequence[int]) -> dict[int, Request]:
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(Request).where(Request.id.in_(list(ids))))}


# the resident's photos first, then staff's "after" photos
_AFTER_LAST = case((RequestPhoto.kind == "after", 1), else_=0)


def photos_of(session: Session, *, request_id: int) -> Sequence[Any]:
    return session.scalars(
        select(RequestPhoto)
        .where(RequestPhoto.request_id == request_id)
        .order_by(_AFTER_LAST, RequestPhoto.position, RequestPhoto.id)
    ).all()


def photos_by_request(session: Session, *, request_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Photos of many requests in one query, each list in display order."""

    out: dict[int, list[Any]] = {}
    if not request_ids:
        return out
    for p in session.scalars(
        select(RequestPhoto)
        .where(RequestPhoto.request_id.in_(list(request_ids)))
        .order_by(RequestPhoto.request_id, _AFTER_LAST, RequestPhoto.position, RequestPhoto.id)
    ):
        out.setdefault(p.request_id, []).append(p)
    return out


def request_photo(session: Session, *, photo_id: int) -> Any:
    return session.get(RequestPhoto, photo_id)


def support_exists(session: Session, *, request_id: int, supporter_hash: str) -> bool:
    return (
        session.scalar(
            select(RequestSupport.id).where(
                RequestSupport.request_id == request_id,
                RequestSupport.supporter_hash == supporter_hash,
            )
        )
        is not None
    )


def find_support(
    session: Session, *, request_id: int, supporter_hash: str
) -> RequestSupport | None:
    """One device's +1 of a request (the demo's history dates it)."""
    return session.scalar(
        select(RequestSupport).where(
            RequestSupport.request_id == request_id,
            RequestSupport.supporter_hash == supporter_hash,
        )
    )


def visible_comments(session: Session, *, request_id: int) -> Sequence[Any]:
    return session.scalars(
        select(RequestComment)
        .where(RequestComment.request_id == request_id, RequestComment.hidden.is_(False))
        .order_by(RequestComment.id)
    ).all()


def comment_counts(session: Session, *, request_ids: Sequence[int]) -> dict[int, int]:
    if not request_ids:
        return {}
    rows = session.execute(
        select(RequestComment.request_id, func.count(RequestComment.id))
        .where(RequestComment.request_id.in_(list(request_ids)), RequestComment.hidden.is_(False))
        .group_by(RequestComment.request_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def _staff_conditions(
    session: Session,
    *,
    in_scope: Any,
    status: str | None,
    category: str | None,
    grid_id: int | None,
    community_id: int | None,
    bounds: Bounds | None,
    since: Any = None,
) -> list[Any]:
    conditions = [in_scope]
    if status == OPEN_FILTER:
        conditions.append(Request.status.in_(OPEN_STATUSES))
    elif status:
        conditions.append(Request.status == status)
    if category:
        conditions.append(Request.category == category)
    if grid_id is not None:
        conditions.append(Request.grid_id == grid_id)
    if community_id is not None:
        conditions.append(Request.community_id == community_id)
    if bounds is not None:
        conditions.append(bbox_filter(session, Request.__table__, bounds))
    if since is not None:
        conditions.append(Request.created_at > since)
    return conditions


def _staff_order(sort: str) -> list[tuple[Any, bool]]:
    """The sort's keys as ``(expression, descending)``, the id last (a total order)."""
    if sort == "supports":
        return [(Request.support_count, True), (Request.created_at, False), (Request.id, False)]
    if sort == "newest":
        return [(Request.created_at, True), (Request.id, True)]
    is_open = case((Request.status.in_(OPEN_STATUSES), 0), else_=1)
    return [(is_open, False), (Request.created_at, False), (Request.id, False)]


def _beyond(keys: list[tuple[Any, bool]], values: Sequence[Any]) -> Any:
    """Rows after ``values`` in the order of ``keys`` (lexicographic, each key its own way)."""
    (expr, desc), *rest = keys
    step = expr < values[0] if desc else expr > values[0]
    if not rest:
        return step
    return or_(step, (expr == values[0]) & _beyond(rest, values[1:]))


def _after_condition(session: Session, *, conditions: list[Any], sort: str, after_id: int) -> Any:
    """Keyset paging: the rows after request ``after_id`` in this sort (its keys read where it
    stands now); None when that request is not among the matching rows."""
    keys = _staff_order(sort)
    values = session.execute(
        select(*(expr for expr, _ in keys)).where(*conditions, Request.id == after_id)
    ).first()
    if values is None:
        return None
    if sort == "newest":  # both descending: a row comparison the (created_at, id) index serves
        return tuple_(Request.created_at, Request.id) < tuple(values)
    return _beyond(keys, list(values))


def _beyond_row(request: Request, sort: str) -> Any:
    """Rows after this loaded request in this sort, from the values it was read with (so a
    change made meanwhile neither skips nor repeats a row of a batch-by-batch read)."""
    keys = _staff_order(sort)
    if sort == "supports":
        values: list[Any] = [request.support_count, request.created_at, request.id]
    elif sort == "newest":
        return tuple_(Request.created_at, Request.id) < (request.created_at, request.id)
    else:
        values = [0 if request.status in OPEN_STATUSES else 1, request.created_at, request.id]
    return _beyond(keys, values)


class AfterUnknown(LookupError):
    """The request to page after is not among the matching rows."""


def staff_requests(
    session: Session,
    *,
    in_scope: Any,
    status: str | None = None,
    category: str | None = None,
    grid_id: int | None = None,
    community_id: int | None = None,
    bounds: Bounds | None = None,
    sort: str = "age",
    limit: int | None = 100,
    offset: int = 0,
    after_id: int | None = None,
    since: Any = None,
) -> tuple[Sequence[Request], int]:
    """Requests matching ``in_scope`` (a scope condition) and filters, with the total.

    sort: ``age`` (oldest open first, then newest closed), ``supports`` (most first),
    ``newest``. ``since``: created after that moment. ``after_id``: keyset paging, the rows
    after that request in this order (then ``offset`` more skipped); ``AfterUnknown`` if it
    does not match the filters.
    """
    conditions = _staff_conditions(
        session,
        in_scope=in_scope,
        status=status,
        category=category,
        grid_id=grid_id,
        community_id=community_id,
        bounds=bounds,
        since=since,
    )
    total = session.scalar(select(func.count(Request.id)).where(*conditions)) or 0
    page = list(conditions)
    if after_id is not None:
        after = _after_condition(session, conditions=conditions, sort=sort, after_id=after_id)
        if after is None:
            raise AfterUnknown(after_id)
        page.append(after)
    order = [expr.desc() if desc else expr.asc() for expr, desc in _staff_order(sort)]
    stmt = select(Request).where(*page).order_by(*order).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all(), int(total)


def staff_request_batches(
    session: Session,
    *,
    in_scope: Any,
    batch: int,
    status: str | None = None,
    category: str | None = None,
    grid_id: int | None = None,
    community_id: int | None = None,
    bounds: Bounds | None = None,
    sort: str = "age",
    since: Any = None,
) -> Iterator[Sequence[Request]]:
    """Every matching request in ``sort`` order, ``batch`` rows per query (keyset, so each
    query starts where the last one ended and only one batch is held at a time: exports)."""
    conditions = _staff_conditions(
        session,
        in_scope=in_scope,
        status=status,
        category=category,
        grid_id=grid_id,
        community_id=community_id,
        bounds=bounds,
        since=since,
    )
    order = [expr.desc() if desc else expr.asc() for expr, desc in _staff_order(sort)]
    after: Any = None
    while True:
        where = conditions if after is None else [*conditions, after]
        rows = session.scalars(select(Request).where(*where).order_by(*order).limit(batch)).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        after = _beyond_row(rows[-1], sort)


def all_comments(session: Session, *, request_id: int) -> Sequence[Any]:
    return session.scalars(
        select(RequestComment)
        .where(RequestComment.request_id == request_id)
        .order_by(RequestComment.id)
    ).all()


def patrols_between(
    session: Session, *, community_id: int, start: Any, end: Any
) -> list[tuple[Patrol, list[int]]]:
    """The community's patrols from ``start`` to ``end`` (days, inclusive), each with the ids
    of the grids it walked, by day."""
    from renewmap.db.models import Grid, PatrolGrid

    patrols = session.scalars(
        select(Patrol)
        .join(Grid, Grid.id == Patrol.grid_id)
        .where(Grid.community_id == community_id, Patrol.day >= start, Patrol.day <= end)
        .order_by(Patrol.day, Patrol.id)
    ).all()
    grids: dict[int, list[int]] = {}
    if patrols:
        for patrol_id, grid_id in session.execute(
            select(PatrolGrid.patrol_id, PatrolGrid.grid_id)
            .where(PatrolGrid.patrol_id.in_([p.id for p in patrols]))
            .order_by(PatrolGrid.id)
        ):
            grids.setdefault(patrol_id, []).append(grid_id)
    return [(p, grids.get(p.id, [p.grid_id])) for p in patrols]


def open_requests_to_reroute(
    session: Session, *, community_id: int | None = None
) -> Sequence[Request]:
    """Open requests, by id, except those a person transferred by hand (they stay put)."""
    transferred = (
        select(RequestEvent.id)
        .where(RequestEvent.request_id == Request.id, RequestEvent.kind == EventKind.TRANSFER)
        .exists()
    )
    stmt = select(Request).where(Request.status.in_(OPEN_STATUSES), ~transferred)
    if community_id is not None:
        stmt = stmt.where(Request.community_id == community_id)
    return session.scalars(stmt.order_by(Request.id)).all()


def open_requests_of_grids(session: Session, *, grid_ids: Sequence[int]) -> Sequence[Request]:
    if not grid_ids:
        return []
    return session.scalars(
        select(Request).where(
            Request.grid_id.in_(list(grid_ids)), Request.status.in_(OPEN_STATUSES)
        )
    ).all()


def supporter_hashes(session: Session, *, request_id: int) -> set[str]:
    return set(
        session.scalars(
            select(RequestSupport.supporter_hash).where(RequestSupport.request_id == request_id)
        )
    )


def support_total(session: Session, *, request_id: int) -> int:
    """+1s on the request, plus one for the author of every duplicate merged into it."""
    return (
        session.scalar(
            select(func.count(RequestSupport.id)).where(RequestSupport.request_id == request_id)
        )
        or 0
    ) + (
        session.scalar(select(func.count(Request.id)).where(Request.duplicate_of_id == request_id))
        or 0
    )


def request_ids_of_community(
    session: Session, *, community_id: int, ids: Sequence[int]
) -> set[int]:
    """Those of ``ids`` that are requests of the community."""
    return set(
        session.scalars(
            select(Request.id).where(
                Request.id.in_(list(ids)), Request.community_id == community_id
            )
        )
    )


def deliberations_of(
    session: Session, *, request_id: int | None = None, site_id: int | None = None
) -> Sequence[Any]:
    """The deliberations about a request or a site, oldest first."""
    from renewmap.db.models import Deliberation

    column = Deliberation.request_id if request_id is not None else Deliberation.site_id
    return session.scalars(
        select(Deliberation)
        .where(column == (request_id if request_id is not None else site_id))
        .order_by(Deliberation.held_on, Deliberation.id)
    ).all()


def meetings_held(
    session: Session,
    *,
    community_ids: Sequence[int],
    stages: Sequence[str],
    start: Any,
    end: Any,
) -> dict[int, int]:
    """community id → meetings held from ``start`` to ``end`` (days, inclusive): its
    deliberations (四议共答), the meetings of its records' register (issue 18) by the day they
    were held, and the steps of its sites' processes that are meetings (``stages``, the day they
    ended, else began) unless a meeting of the register stands for the step (counted once, as
    that meeting)."""
    from renewmap.db.models import Deliberation, Meeting, Site, SiteStage

    out: dict[int, int] = {}
    if not community_ids:
        return out
    ids = list(community_ids)
    for cid, n in session.execute(
        select(Deliberation.community_id, func.count(Deliberation.id))
        .where(
            Deliberation.community_id.in_(ids),
            Deliberation.held_on >= start,
            Deliberation.held_on <= end,
        )
        .group_by(Deliberation.community_id)
    ):
        out[int(cid)] = out.get(int(cid), 0) + int(n)
    for cid, n in session.execute(
        select(Meeting.community_id, func.count(Meeting.id))
        .where(
            Meeting.community_id.in_(ids),
            Meeting.held_on >= start,
            Meeting.held_on <= end,
        )
        .group_by(Meeting.community_id)
    ):
        out[int(cid)] = out.get(int(cid), 0) + int(n)
    day = func.coalesce(SiteStage.ends_on, SiteStage.starts_on)
    recorded = (
        select(Meeting.id)
        .where(Meeting.site_id == SiteStage.site_id, Meeting.stage == SiteStage.stage)
        .exists()
    )
    for cid, n in session.execute(
        select(Site.community_id, func.count(SiteStage.id))
        .join(Site, Site.id == SiteStage.site_id)
        .where(
            Site.community_id.in_(ids),
            SiteStage.stage.in_(list(stages)),
            day >= start,
            day <= end,
            ~recorded,
        )
        .group_by(Site.community_id)
    ):
        out[int(cid)] = out.get(int(cid), 0) + int(n)
    return out


def reply_templates_of(session: Session, *, community_id: int) -> Sequence[Any]:
    from renewmap.db.models import ReplyTemplate

    return session.scalars(
        select(ReplyTemplate)
        .where(ReplyTemplate.community_id == community_id)
        .order_by(ReplyTemplate.title)
    ).all()


def reply_template_titled(session: Session, *, community_id: int, title: str) -> Any:
    from renewmap.db.models import ReplyTemplate

    return session.scalar(
        select(ReplyTemplate).where(
            ReplyTemplate.community_id == community_id, ReplyTemplate.title == title
        )
    )


def property_tasks(
    session: Session, *, org_ids: Sequence[int], visible_only: bool
) -> Sequence[Any]:
    """Requests handed to these property companies (still or done), newest hand-over first."""
    if not org_ids:
        return []
    conditions = [Request.assigned_org_id.in_(list(org_ids)), Request.assigned_at.is_not(None)]
    if visible_only:
        conditions.append(Request.hidden.is_(False))
    return session.scalars(
        select(Request).where(*conditions).order_by(Request.assigned_at.desc(), Request.id.desc())
    ).all()


def requests_of_grids(
    session: Session, *, grid_ids: Sequence[int], created_before: Any
) -> Sequence[Request]:
    """The grids' requests created before a moment, oldest first (a report's month)."""
    if not grid_ids:
        return []
    return session.scalars(
        select(Request)
        .where(Request.grid_id.in_(list(grid_ids)), Request.created_at < created_before)
        .order_by(Request.created_at, Request.id)
    ).all()


def events_of_requests(session: Session, *, request_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Every history entry of these requests, in order, by request."""
    out: dict[int, list[Any]] = {}
    if not request_ids:
        return out
    for e in session.scalars(
        select(RequestEvent)
        .where(RequestEvent.request_id.in_(list(request_ids)))
        .order_by(RequestEvent.request_id, RequestEvent.at, RequestEvent.id)
    ):
        out.setdefault(e.request_id, []).append(e)
    return out


def requests_of_patrols(session: Session, *, patrol_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The findings of these patrols (requests made on the walk), by patrol."""
    out: dict[int, list[Any]] = {}
    if not patrol_ids:
        return out
    for r in session.scalars(
        select(Request).where(Request.patrol_id.in_(list(patrol_ids))).order_by(Request.id)
    ):
        out.setdefault(int(r.patrol_id or 0), []).append(r)
    return out


def request_counts_by_community(
    session: Session, *, community_ids: Sequence[int], unaccepted_before: Any, today: Any
) -> dict[int, dict[str, int]]:
    """community id → open, overdue and resolved requests. Overdue: not accepted since before
    ``unaccepted_before``, or with the property company past its due day (before ``today``)."""
    from renewmap.vocabulary import UNACCEPTED_STATUSES, Status

    if not community_ids:
        return {}
    is_open = Request.status.in_(OPEN_STATUSES)
    late_acceptance = Request.status.in_(UNACCEPTED_STATUSES) & (
        func.coalesce(Request.status_since, Request.created_at) < unaccepted_before
    )
    late_property = (
        is_open
        & Request.assigned_org_id.is_not(None)
        & Request.assigned_done_at.is_(None)
        & (Request.assigned_due < today)
    )
    rows = session.execute(
        select(
            Request.community_id,
            func.sum(case((is_open, 1), else_=0)),
            func.sum(case((late_acceptance | late_property, 1), else_=0)),
            func.sum(case((Request.status == Status.RESOLVED, 1), else_=0)),
        )
        .where(Request.community_id.in_(list(community_ids)))
        .group_by(Request.community_id)
    ).all()
    return {
        int(r[0]): {"open": int(r[1] or 0), "overdue": int(r[2] or 0), "resolved": int(r[3] or 0)}
        for r in rows
    }


def resolution_times_by_community(
    session: Session, *, community_ids: Sequence[int]
) -> dict[int, list[Any]]:
    """community id → (created_at, resolved_at) of its resolved requests."""
    from renewmap.vocabulary import Status

    out: dict[int, list[Any]] = {}
    if not community_ids:
        return out
    for cid, made, done in session.execute(
        select(Request.community_id, Request.created_at, Request.resolved_at).where(
            Request.community_id.in_(list(community_ids)),
            Request.status == Status.RESOLVED,
            Request.resolved_at.is_not(None),
        )
    ):
        if cid is not None:
            out.setdefault(cid, []).append((made, done))
    return out


def arrivals_since(session: Session, *, in_scope: Any, community_id: int, since: Any) -> int:
    """Requests of a scope and community waiting to be accepted that (re)entered that state
    after ``since``: new, transferred in, reopened."""
    from renewmap.vocabulary import UNACCEPTED_STATUSES

    return int(
        session.scalar(
            select(func.count(Request.id)).where(
                in_scope,
                Request.community_id == community_id,
                Request.status.in_(UNACCEPTED_STATUSES),
                func.coalesce(Request.status_since, Request.created_at) > since,
            )
        )
        or 0
    )


def grid_stat_rows(
    session: Session,
    *,
    in_scope: Any,
    community_id: int,
    overdue_before: Any,
    unaccepted: Sequence[str],
    resolved: str,
    today: Any = None,
) -> list[tuple[int | None, int, int, int, int, int, float | None]]:
    """Per grid of the community (None: no grid), counted in the database:
    ``(grid_id, total, open, overdue, resolved, supports, median days to resolve)``; overdue:
    unaccepted since before ``overdue_before``, or (given ``today``, the community's day) open,
    handed to a property company that has not reported it done and past its due day. On
    PostGIS the median comes from the same scan (``percentile_cont … FILTER``); on SpatiaLite
    from ``resolution_medians``."""
    since = func.coalesce(Request.status_since, Request.created_at)
    late = Request.status.in_(list(unaccepted)) & (since < overdue_before)
    if today is not None:
        late = late | (
            Request.status.in_(OPEN_STATUSES)
            & Request.assigned_org_id.is_not(None)
            & Request.assigned_done_at.is_(None)
            & (Request.assigned_due < today)
        )

    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    done = (
        (Request.status == resolved)
        & Request.resolved_at.is_not(None)
        & Request.created_at.is_not(None)
    )
    query = (
        select(
            Request.grid_id,
            func.count(Request.id),
            count_if(Request.status.in_(OPEN_STATUSES)),
            count_if(late),
            count_if(done),
            func.coalesce(func.sum(Request.support_count), 0),
        )
        .where(in_scope, Request.community_id == community_id)
        .group_by(Request.grid_id)
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        query = query.add_columns(
            func.percentile_cont(0.5).within_group(_pg_days_to_resolve()).filter(done)
        )
        rows = [
            (gid, int(n), int(o), int(late), int(r), int(s), None if m is None else float(m))
            for gid, n, o, late, r, s, m in session.execute(query)
        ]
        return rows
    medians = resolution_medians(
        session, in_scope=in_scope, community_id=community_id, resolved=resolved
    )
    return [
        (gid, int(n), int(o), int(late), int(r), int(s), medians.get(gid))
        for gid, n, o, late, r, s in session.execute(query)
    ]


def _pg_days_to_resolve() -> Any:
    return func.extract("epoch", Request.resolved_at - Request.created_at) / 86400.0


def resolution_medians(
    session: Session, *, in_scope: Any, community_id: int, resolved: str
) -> dict[int | None, float]:
    """Median days from creation to resolution of the community's resolved requests, per grid
    (None: no grid), computed in the database: ``percentile_cont(0.5)`` on PostGIS; on
    SpatiaLite the middle row (or the mean of the two middle rows) by window functions."""
    where = (
        in_scope,
        Request.community_id == community_id,
        Request.status == resolved,
        Request.resolved_at.is_not(None),
        Request.created_at.is_not(None),
    )
    if session.get_bind().dialect.name == "postgresql":
        query = (
            select(Request.grid_id, func.percentile_cont(0.5).within_group(_pg_days_to_resolve()))
            .where(*where)
            .group_by(Request.grid_id)
        )
    else:
        days = func.julianday(Request.resolved_at) - func.julianday(Request.created_at)
        ranked = (
            select(
                Request.grid_id.label("grid_id"),
                days.label("days"),
                func.row_number().over(partition_by=Request.grid_id, order_by=days).label("n"),
                func.count().over(partition_by=Request.grid_id).label("of"),
            )
            .where(*where)
            .subquery()
        )
        middle = ranked.c.n.in_([(ranked.c.of + 1) // 2, (ranked.c.of + 2) // 2])
        query = (
            select(ranked.c.grid_id, func.avg(ranked.c.days))
            .where(middle)
            .group_by(ranked.c.grid_id)
        )
    return {gid: float(median) for gid, median in session.execute(query)}


def acceptance_history(
    session: Session, *, community_id: int, grid_id: int | None, since: Any
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(request id, event kind, at) of the events that start a wait for acceptance (created,
    transfer, reopen) and end it (accept), for the grid's requests (``grid_id`` None: the
    community's requests in no grid) that were accepted at or after ``since``; by request, then
    time."""
    where = [Request.community_id == community_id]
    where.append(Request.grid_id == grid_id if grid_id is not None else Request.grid_id.is_(None))
    accepted = (
        select(RequestEvent.request_id)
        .join(Request, Request.id == RequestEvent.request_id)
        .where(*where, RequestEvent.kind == EventKind.ACCEPT, RequestEvent.at >= since)
        .distinct()
    )
    kinds = (EventKind.CREATED, EventKind.TRANSFER, EventKind.REOPEN, EventKind.ACCEPT)
    return session.execute(
        select(RequestEvent.request_id, RequestEvent.kind, RequestEvent.at)
        .where(RequestEvent.request_id.in_(accepted), RequestEvent.kind.in_(kinds))
        .order_by(RequestEvent.request_id, RequestEvent.at, RequestEvent.id)
    ).all()


def supported_by(session: Session, *, request_ids: Sequence[int], supporter_hash: str) -> set[int]:
    """Those of ``request_ids`` this device (its keyed hash) has given a +1."""
    if not request_ids:
        return set()
    return set(
        session.scalars(
            select(RequestSupport.request_id).where(
                RequestSupport.request_id.in_(list(request_ids)),
                RequestSupport.supporter_hash == supporter_hash,
            )
        )
    )
