"""Keyword-only query functions. Services call these; routes never build SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from renewmap.db.dialect import (
    Bounds,
    bbox_filter,
    execute_hot,
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
        bbox_filter(session, t, bounds)
    )
    return session.execute(stmt).all()


def building_candidates(session: Session, *, bounds: Bounds) -> Sequence[Row[Any]]:
    """(id, grid_id, wkb) of grid-assigned buildings whose bbox meets ``bounds``."""
    t = Building.__table__
    stmt = select(t.c.id, t.c.grid_id, geometry_wkb(session, t.c.geom)).where(
        bbox_filter(session, t, bounds), t.c.grid_id.is_not(None)
    )
    return session.execute(stmt).all()


def community_candidates(session: Session, *, bounds: Bounds) -> Sequence[Row[Any]]:
    """(id, code, metric_epsg, wkb) of communities whose bbox meets ``bounds``."""
    t = Community.__table__
    stmt = select(t.c.id, t.c.code, t.c.metric_epsg, geometry_wkb(session, t.c.geom)).where(
        bbox_filter(session, t, bounds)
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


def all_open_requests(session: Session) -> Sequence[Request]:
    return session.scalars(
        select(Request).where(Request.status.in_(OPEN_STATUSES)).order_by(Request.id)
    ).all()


OPEN_STATUSES = ("new", "accepted", "in_progress")


def route_prefetch(session: Session, *, x: float, y: float) -> list[tuple[Any, ...]]:
    """Grids and assigned buildings whose bbox holds (x, y), with owner-chain details, in one
    round trip (a prepared statement on PostgreSQL after a few calls)."""
    return execute_hot(session, route_prefetch_sql(session), {"x": float(x), "y": float(y)})
