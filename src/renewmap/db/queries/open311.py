"""Queries of the Open311 GeoReport v2 API: client keys and the public view of requests.

Keyword-only functions; ``protocols.open311.georeport`` calls them, routes never build SQL.
Only columns anyone may see are selected for the public view: never the phone, e-mail or names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from renewmap.db.dialect import bbox_centre
from renewmap.db.models import (
    ApiKey,
    Building,
    Community,
    Grid,
    PartyBranch,
    Request,
    RequestEvent,
)
from renewmap.db.queries.places import in_public_community


def api_key_by_hash(session: Session, *, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


def active_key_of_client(session: Session, *, community_id: int, client: str) -> ApiKey | None:
    return session.scalar(
        select(ApiKey).where(
            ApiKey.community_id == community_id,
            ApiKey.client == client,
            ApiKey.revoked_at.is_(None),
        )
    )


def api_keys(
    session: Session, *, community_id: int | None = None
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(ApiKey, community code) rows, by community and id."""
    stmt = select(ApiKey, Community.code).join(Community, Community.id == ApiKey.community_id)
    if community_id is not None:
        stmt = stmt.where(ApiKey.community_id == community_id)
    return session.execute(stmt.order_by(Community.code, ApiKey.id)).all()


def building_numbers(session: Session, *, community_id: int) -> set[str]:
    """The building numbers ("17号楼") of a community."""
    return {
        n
        for n in session.scalars(
            select(Building.number).where(
                Building.community_id == community_id, Building.number.is_not(None)
            )
        )
        if n
    }


def public_requests(
    session: Session,
    *,
    ids: Sequence[int] | None = None,
    community_id: int | None = None,
    categories: Sequence[str] = (),
    statuses: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int,
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Visible requests, newest first, as rows of public columns: id, category, description,
    status, created_at, updated_at, media_url, duplicate_of_id, x, y, grid name, branch name,
    community name. ``ids`` (when given) replaces the other filters but not the community."""
    x, y = bbox_centre(session, Request.geom)
    stmt = (
        select(
            Request.id,
            Request.category,
            Request.description,
            Request.status,
            Request.created_at,
            Request.updated_at,
            Request.media_url,
            Request.duplicate_of_id,
            x.label("x"),
            y.label("y"),
            Grid.name.label("grid_name"),
            PartyBranch.name.label("branch_name"),
            Community.name.label("community_name"),
        )
        .outerjoin(Grid, Grid.id == Request.grid_id)
        .outerjoin(PartyBranch, PartyBranch.id == Request.branch_id)
        .outerjoin(Community, Community.id == Request.community_id)
        .where(Request.hidden.is_(False), in_public_community(Request))
    )
    if community_id is not None:
        stmt = stmt.where(Request.community_id == community_id)
    if ids is not None:
        stmt = stmt.where(Request.id.in_(list(ids)))
    else:
        if categories:
            stmt = stmt.where(Request.category.in_(list(categories)))
        if statuses:
            stmt = stmt.where(Request.status.in_(list(statuses)))
        if start is not None:
            stmt = stmt.where(Request.created_at >= start)
        if end is not None:
            stmt = stmt.where(Request.created_at <= end)
    stmt = stmt.order_by(Request.created_at.desc(), Request.id.desc()).limit(limit)
    return session.execute(stmt).all()


def latest_public_notes(
    session: Session, *, request_ids: Sequence[int], kinds: Sequence[str]
) -> dict[int, str]:
    """request id → the note of its latest public event of ``kinds`` that has one."""
    if not request_ids:
        return {}
    rows = session.execute(
        select(RequestEvent.request_id, RequestEvent.note)
        .where(
            RequestEvent.request_id.in_(list(request_ids)),
            RequestEvent.public.is_(True),
            RequestEvent.note.is_not(None),
            RequestEvent.kind.in_(list(kinds)),
        )
        .order_by(RequestEvent.id)
    ).all()
    return {int(r[0]): str(r[1]) for r in rows}


def visible_request_by_receipt(session: Session, *, code: str) -> Row[*tuple[Any, ...]] | None:
    """(id, community_id) of the visible request with this receipt code."""
    return session.execute(
        select(Request.id, Request.community_id).where(
            Request.receipt_code == code, Request.hidden.is_(False)
        )
    ).first()
