"""Resident requests: create (routed on the spot), list, read."""

from __future__ import annotations

from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from renewmap.db.models import Request, RequestEvent
from renewmap.errors import InvalidInput
from renewmap.services.places.routing import Owner, apply_route, route_geometry
from renewmap.spatial.geometry import as_multi, check_geometry, check_routable, to_db
from renewmap.spatial.routing import DEFAULT_SNAP_M
from renewmap.validation import strip_text
from renewmap.vocabulary import CATEGORIES, STATUSES, EventKind, Status

MAX_TITLE = 200
MAX_DESCRIPTION = 2000


def create_request(
    session: Session,
    *,
    geom: BaseGeometry,
    category: str,
    title: str,
    description: str | None = None,
    source: str = "web",
    status: str = Status.NEW,
    snap_m: float = DEFAULT_SNAP_M,
    actor: str | None = None,
    owner: Owner | None = None,
) -> tuple[Request, Owner]:
    """Validate, route and store a request with its ``created`` and ``routed`` events
    (``owner``: the routing already done by the caller, who checked more against it)."""
    check_geometry(geom, where="geometry")
    check_routable(geom, where="geometry")
    if category not in CATEGORIES:
        raise InvalidInput(
            "unknown category '{category}'; use one of {categories}",
            key="category_unknown",
            category=category,
            categories=CATEGORIES,
            field="category",
        )
    title = strip_text(title or "")  # "\u200b" or "\u3000" is no title either
    if not title:
        raise InvalidInput("title is required", key="title_missing", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(
            "title is longer than {limit} characters",
            key="title_too_long",
            limit=MAX_TITLE,
            field="title",
        )
    if description and len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            "description is longer than {limit} characters",
            key="description_too_long",
            limit=MAX_DESCRIPTION,
            field="description",
        )
    if status not in STATUSES:
        raise InvalidInput(
            "unknown status '{status}'; use one of {statuses}",
            key="status_unknown",
            status=status,
            statuses=STATUSES,
            field="status",
        )
    owner = owner or route_geometry(session, geom, snap_m=snap_m)
    stored = geom if geom.geom_type == "Point" else as_multi(geom)
    request = Request(
        category=category,
        title=title,
        description=description,
        status=status,
        source=source,
        geom=to_db(stored),
    )
    apply_route(request, owner)
    request.events.append(RequestEvent(kind=EventKind.CREATED, actor=actor or "resident"))
    request.events.append(
        RequestEvent(
            kind=EventKind.ROUTED,
            actor="system",
            note=owner.who(),
            data={
                "rule": owner.rule,
                "grid": owner.grid.code if owner.grid else None,
                "branch": owner.branch.code if owner.branch else None,
                "grid_set_version": owner.grid_set_version,
            },
        )
    )
    session.add(request)
    session.flush()
    return request, owner
