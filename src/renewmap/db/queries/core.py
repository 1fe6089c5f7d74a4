"""Keyword-only query functions. Services call these; routes never build SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session

from renewmap.db.dialect import (
    Bounds,
    bbox_centre,
    bbox_filter,
    execute_hot,
    floor_int,
    geometry_wkb,
    route_prefetch_sql,
)
from renewmap.db.models import (
    LAYER_MODELS,
    Building,
    Community,
    Grid,
    PartyBranch,
    Request,
    Subdistrict,
)
from renewmap.errors import NotFound
from renewmap.vocabulary import OPEN_FILTER, OPEN_STATUSES, Role


def community_by_code(session: Session, *, code: str) -> Community:
    found = session.scalar(select(Community).where(Community.code == code))
    if found is None:
        raise NotFound(f"community '{code}' not found", field="community", value=code)
    return found


def list_communities(session: Session) -> Sequence[Community]:
    return session.scalars(select(Community).order_by(Community.code)).all()


def grid_by_code(session: Session, *, community_id: int, code: str) -> Grid | None:
    return session.scalar(select(Grid).where(Grid.community_id == community_id, Grid.code == code))


def branch_by_code(session: Session, *, code: str) -> PartyBranch | None:
    return session.scalar(select(PartyBranch).where(PartyBranch.code == code))


def subdistrict_by_code(session: Session, *, code: str) -> Subdistrict | None:
    return session.scalar(select(Subdistrict).where(Subdistrict.code == code))


def grid_candidates(session: Session, *, bounds: Bounds) -> Sequence[Row[Any]]:
    """(id, code, community_id, wkb) of grids whose bbox meets ``bounds``."""
    t = Grid.__table__
    stmt = select(t.c.id, t.c.code, t.c.community_id, geometry_wkb(session, t.c.geom)).where(
        bbox_filter(session, t, bounds, exact=False)
    )
    return session.execute(stmt).all()


def building_candidates(session: Session, *, bounds: Bounds) -> Sequence[Row[Any]]:
    """(id, grid_id, wkb) of grid-assigned buildings whose bbox meets ``bounds``."""
    t = Building.__table__
    stmt = select(t.c.id, t.c.grid_id, geometry_wkb(session, t.c.geom)).where(
        bbox_filter(session, t, bounds, exact=False), t.c.grid_id.is_not(None)
    )
    return session.execute(stmt).all()


def community_candidates(session: Session, *, bounds: Bounds) -> Sequence[Row[Any]]:
    """(id, code, metric_epsg, wkb) of communities whose bbox meets ``bounds``."""
    t = Community.__table__
    stmt = select(t.c.id, t.c.code, t.c.metric_epsg, geometry_wkb(session, t.c.geom)).where(
        bbox_filter(session, t, bounds, exact=False)
    )
    return session.execute(stmt).all()


def community_row(session: Session, *, community_id: int) -> Row[Any]:
    t = Community.__table__
    stmt = select(t.c.id, t.c.code, t.c.metric_epsg, geometry_wkb(session, t.c.geom)).where(
        t.c.id == community_id
    )
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"community id {community_id} not found")
    return row


def footprints_of_grids(session: Session, *, grid_ids: Sequence[int]) -> Sequence[Row[Any]]:
    """(grid_id, wkb) of every building assigned to these grids."""
    t = Building.__table__
    stmt = select(t.c.grid_id, geometry_wkb(session, t.c.geom)).where(
        t.c.grid_id.in_(list(grid_ids))
    )
    return session.execute(stmt).all()


def grids_of_community(session: Session, *, community_id: int) -> Sequence[Row[Any]]:
    t = Grid.__table__
    stmt = (
        select(t.c.id, t.c.code, t.c.community_id, geometry_wkb(session, t.c.geom))
        .where(t.c.community_id == community_id)
        .order_by(t.c.code)
    )
    return session.execute(stmt).all()


def branch_ancestors(session: Session, *, branch_id: int | None) -> list[PartyBranch]:
    """The branch and every parent up the party tree, nearest first."""
    chain: list[PartyBranch] = []
    seen: set[int] = set()
    while branch_id is not None and branch_id not in seen:
        seen.add(branch_id)
        branch = session.get(PartyBranch, branch_id)
        if branch is None:
            break
        chain.append(branch)
        branch_id = branch.parent_id
    return chain


def general_branch_of(session: Session, *, community_id: int) -> PartyBranch | None:
    return session.scalar(
        select(PartyBranch)
        .where(PartyBranch.community_id == community_id, PartyBranch.level == "general")
        .order_by(PartyBranch.code)
    )


def layer_rows(session: Session, *, kind: str, community_id: int) -> Sequence[Any]:
    """All features of one layer of a community, ordered by id."""
    model = LAYER_MODELS[kind]
    column = model.id if kind == "community" else model.community_id  # type: ignore[attr-defined]
    return session.scalars(
        select(model).where(column == community_id).order_by(model.id)  # type: ignore[attr-defined]
    ).all()


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


def community_buildings_near(
    session: Session, *, community_id: int, bounds: Bounds
) -> Sequence[Building]:
    """The community's buildings whose bbox meets ``bounds`` (candidates for exact tests)."""
    t = Building.__table__
    return session.scalars(
        select(Building)
        .where(
            Building.community_id == community_id,
            bbox_filter(session, t, bounds, exact=False, indexed=False),
        )
        .order_by(Building.id)
    ).all()


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


def route_prefetch(session: Session, *, x: float, y: float) -> list[tuple[Any, ...]]:
    """Grids and assigned buildings whose bbox holds (x, y), with owner-chain details, in one
    round trip (a prepared statement on PostgreSQL after a few calls)."""
    return execute_hot(session, route_prefetch_sql(session), {"x": float(x), "y": float(y)})


# --- residents' suggestions ------------------------------------------------------------------


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
) -> list[Any]:
    conditions = [Request.community_id == community_id, Request.hidden.is_(False)]
    if category:
        conditions.append(Request.category == category)
    if status:
        conditions.append(Request.status == status)
    if grid_id is not None:
        conditions.append(Request.grid_id == grid_id)
    if bounds is not None:
        conditions.append(bbox_filter(session, Request.__table__, bounds, indexed=False))
    return conditions


def public_requests(
    session: Session,
    *,
    community_id: int,
    category: str | None = None,
    status: str | None = None,
    grid_id: int | None = None,
    bounds: Bounds | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[Request], int]:
    """Visible (not hidden) requests of a community, newest first, with the total count."""
    from sqlalchemy import func as sa_func

    conditions = _public_conditions(
        session,
        community_id=community_id,
        category=category,
        status=status,
        grid_id=grid_id,
        bounds=bounds,
    )
    total = session.scalar(select(sa_func.count(Request.id)).where(*conditions)) or 0
    rows = session.scalars(
        select(Request)
        .where(*conditions)
        .order_by(Request.created_at.desc(), Request.id.desc())
        .limit(limit)
        .offset(offset)
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
) -> Sequence[Row[Any]]:
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
) -> Sequence[Row[Any]]:
    """Visible requests counted per square cell of ``cell`` degrees (a fixed world grid).

    One row per non-empty cell: (count, mean x, mean y, min x, min y, max x, max y, one id).
    The grid is anchored at 0,0 so cells do not jump as the map pans.
    """
    from sqlalchemy import func as sa_func

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
            sa_func.count(),
            sa_func.avg(inner.c.x),
            sa_func.avg(inner.c.y),
            sa_func.min(inner.c.x),
            sa_func.min(inner.c.y),
            sa_func.max(inner.c.x),
            sa_func.max(inner.c.y),
            sa_func.max(inner.c.id),
        )
        .group_by(i, j)
        .order_by(i, j)
    ).all()


def visible_requests_near(
    session: Session, *, bounds: Bounds, category: str | None = None
) -> Sequence[Request]:
    conditions = [bbox_filter(session, Request.__table__, bounds), Request.hidden.is_(False)]
    if category:
        conditions.append(Request.category == category)
    return session.scalars(select(Request).where(*conditions)).all()


def photos_of(session: Session, *, request_id: int) -> Sequence[Any]:
    from renewmap.db.models import RequestPhoto

    return session.scalars(
        select(RequestPhoto)
        .where(RequestPhoto.request_id == request_id)
        .order_by(RequestPhoto.position, RequestPhoto.id)
    ).all()


def photos_by_request(session: Session, *, request_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Photos of many requests in one query, each list in display order."""
    from renewmap.db.models import RequestPhoto

    out: dict[int, list[Any]] = {}
    if not request_ids:
        return out
    for p in session.scalars(
        select(RequestPhoto)
        .where(RequestPhoto.request_id.in_(list(request_ids)))
        .order_by(RequestPhoto.request_id, RequestPhoto.position, RequestPhoto.id)
    ):
        out.setdefault(p.request_id, []).append(p)
    return out


def photo(session: Session, *, photo_id: int) -> Any:
    from renewmap.db.models import RequestPhoto

    return session.get(RequestPhoto, photo_id)


def support_exists(session: Session, *, request_id: int, supporter_hash: str) -> bool:
    from renewmap.db.models import RequestSupport

    return (
        session.scalar(
            select(RequestSupport.id).where(
                RequestSupport.request_id == request_id,
                RequestSupport.supporter_hash == supporter_hash,
            )
        )
        is not None
    )


def visible_comments(session: Session, *, request_id: int) -> Sequence[Any]:
    from renewmap.db.models import RequestComment

    return session.scalars(
        select(RequestComment)
        .where(RequestComment.request_id == request_id, RequestComment.hidden.is_(False))
        .order_by(RequestComment.id)
    ).all()


def comment_counts(session: Session, *, request_ids: Sequence[int]) -> dict[int, int]:
    from sqlalchemy import func as sa_func

    from renewmap.db.models import RequestComment

    if not request_ids:
        return {}
    rows = session.execute(
        select(RequestComment.request_id, sa_func.count(RequestComment.id))
        .where(RequestComment.request_id.in_(list(request_ids)), RequestComment.hidden.is_(False))
        .group_by(RequestComment.request_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def grids_by_ids(session: Session, *, ids: Sequence[int]) -> dict[int, Grid]:
    if not ids:
        return {}
    return {g.id: g for g in session.scalars(select(Grid).where(Grid.id.in_(list(ids))))}


# --- staff: accounts and scope ---------------------------------------------------------------


def staff_user_by_username(session: Session, *, username: str) -> Any:
    from renewmap.db.models import StaffUser

    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def auth_token_by_hash(session: Session, *, token_hash: str) -> Any:
    from renewmap.db.models import AuthToken

    return session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash))


def branch_subtree_ids(session: Session, *, branch_ids: Sequence[int]) -> set[int]:
    """The branches and every branch below them (grid branches under a general branch…)."""
    found = set(branch_ids)
    frontier = set(branch_ids)
    while frontier:
        children = set(
            session.scalars(select(PartyBranch.id).where(PartyBranch.parent_id.in_(frontier)))
        )
        frontier = children - found
        found |= children
    return found


def general_branch_communities(session: Session, *, branch_ids: Sequence[int]) -> set[int]:
    """Communities whose general branch is among ``branch_ids``."""
    return set(
        session.scalars(
            select(PartyBranch.community_id).where(
                PartyBranch.id.in_(list(branch_ids)),
                PartyBranch.level == "general",
                PartyBranch.community_id.is_not(None),
            )
        )
    )


def grid_ids_of_branches(session: Session, *, branch_ids: Sequence[int]) -> set[int]:
    if not branch_ids:
        return set()
    return set(session.scalars(select(Grid.id).where(Grid.branch_id.in_(list(branch_ids)))))


def community_ids_of_subdistricts(session: Session, *, subdistrict_ids: Sequence[int]) -> set[int]:
    if not subdistrict_ids:
        return set()
    return set(
        session.scalars(
            select(Community.id).where(Community.subdistrict_id.in_(list(subdistrict_ids)))
        )
    )


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
) -> tuple[Sequence[Request], int]:
    """Requests matching ``in_scope`` (a scope condition) and filters, with the total.

    sort: ``age`` (oldest open first, then newest closed), ``supports`` (most first),
    ``newest``.
    """
    from sqlalchemy import case
    from sqlalchemy import func as sa_func

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
    total = session.scalar(select(sa_func.count(Request.id)).where(*conditions)) or 0
    order: list[Any]
    if sort == "supports":
        order = [Request.support_count.desc(), Request.created_at.asc(), Request.id.asc()]
    elif sort == "newest":
        order = [Request.created_at.desc(), Request.id.desc()]
    else:
        is_open = case((Request.status.in_(OPEN_STATUSES), 0), else_=1)
        order = [is_open, Request.created_at.asc(), Request.id.asc()]
    stmt = select(Request).where(*conditions).order_by(*order).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all(), int(total)


def grids_by_code_any(
    session: Session, *, code: str, community_code: str | None = None
) -> Sequence[Grid]:
    stmt = select(Grid).where(Grid.code == code)
    if community_code:
        stmt = stmt.join(Community, Community.id == Grid.community_id).where(
            Community.code == community_code
        )
    return session.scalars(stmt).all()


def all_comments(session: Session, *, request_id: int) -> Sequence[Any]:
    from renewmap.db.models import RequestComment

    return session.scalars(
        select(RequestComment)
        .where(RequestComment.request_id == request_id)
        .order_by(RequestComment.id)
    ).all()


def revoke_tokens_of(session: Session, *, user_id: int) -> None:
    from sqlalchemy import update

    from renewmap.db.models import AuthToken

    session.execute(update(AuthToken).where(AuthToken.user_id == user_id).values(revoked=True))


def community_ids_of_grids(session: Session, *, grid_ids: Sequence[int]) -> set[int]:
    if not grid_ids:
        return set()
    return set(session.scalars(select(Grid.community_id).where(Grid.id.in_(list(grid_ids)))))


def communities_by_ids(session: Session, *, ids: Sequence[int]) -> Sequence[Community]:
    if not ids:
        return []
    return session.scalars(
        select(Community).where(Community.id.in_(list(ids))).order_by(Community.code)
    ).all()


# --- notifications -----------------------------------------------------------------------------


def _emails_of_roles(session: Session, *conditions: Any) -> list[str]:
    from renewmap.db.models import StaffRole, StaffUser

    return list(
        session.scalars(
            select(StaffUser.email)
            .join(StaffRole, StaffRole.user_id == StaffUser.id)
            .where(StaffUser.active.is_(True), StaffUser.email.is_not(None), *conditions)
            .distinct()
        )
    )


def lead_emails(session: Session, *, grid_id: int) -> list[str]:
    from renewmap.db.models import StaffRole

    return _emails_of_roles(session, StaffRole.role == Role.GRID_LEAD, StaffRole.grid_id == grid_id)


def admin_emails(session: Session, *, community_id: int) -> list[str]:
    from renewmap.db.models import StaffRole

    return _emails_of_roles(
        session, StaffRole.role == Role.COMMUNITY_ADMIN, StaffRole.community_id == community_id
    )


def notify_channels(session: Session, *, community_id: int, grid_id: int | None) -> Sequence[Any]:
    """Webhooks of the grid, and those of the whole community (no grid)."""
    from sqlalchemy import or_

    from renewmap.db.models import NotifyChannel

    which = NotifyChannel.grid_id.is_(None)
    if grid_id is not None:
        which = or_(which, NotifyChannel.grid_id == grid_id)
    return session.scalars(
        select(NotifyChannel)
        .where(NotifyChannel.community_id == community_id, which)
        .order_by(NotifyChannel.id)
    ).all()


def due_notifications(session: Session, *, now: Any, limit: int) -> Sequence[Any]:
    """Pending rows due by ``now``, locked so two dispatchers never send one twice (PostgreSQL:
    SKIP LOCKED; SQLite serialises writers)."""
    from renewmap.db.models import Notification

    return session.scalars(
        select(Notification)
        .where(Notification.status == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def any_due_notification(session: Session, *, now: Any) -> bool:
    from renewmap.db.models import Notification

    return (
        session.scalar(
            select(Notification.id)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .limit(1)
        )
        is not None
    )


def grid_codes_of_community(session: Session, *, community_id: int) -> Sequence[Row[Any]]:
    return session.execute(
        select(Grid.id, Grid.code, Grid.name)
        .where(Grid.community_id == community_id)
        .order_by(Grid.code)
    ).all()


def patrol_days(
    session: Session, *, grid_ids: Sequence[int], start: Any, end: Any
) -> dict[int, list[Any]]:
    from renewmap.db.models import Patrol

    out: dict[int, list[Any]] = {}
    if not grid_ids:
        return out
    for gid, day in session.execute(
        select(Patrol.grid_id, Patrol.day).where(
            Patrol.grid_id.in_(list(grid_ids)), Patrol.day >= start, Patrol.day <= end
        )
    ):
        out.setdefault(gid, []).append(day)
    return out


def buildings_by_number(
    session: Session, *, number: str, community_code: str | None = None
) -> Sequence[Building]:
    stmt = select(Building).where(Building.number == number)
    if community_code:
        stmt = stmt.join(Community, Community.id == Building.community_id).where(
            Community.code == community_code
        )
    return session.scalars(stmt.order_by(Building.id)).all()
