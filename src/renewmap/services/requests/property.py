"""What the property company (物业) was given: its staff's list, and the owners' committee's
(业委会) view of its compound's property company — with due days and lateness, never the
residents' contact details (the committee is residents, not staff)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Organisation
from renewmap.db.queries.places import (
    buildings_by_ids,
    community_by_code,
    grids_by_ids,
    orgs_by_ids,
    property_companies,
)
from renewmap.db.queries.requests import property_tasks
from renewmap.errors import Forbidden
from renewmap.services.access.accounts import Principal
from renewmap.services.requests.handling import DEFAULT_ZONE, property_late
from renewmap.vocabulary import Role


def _orgs_followed(session: Session, principal: Principal, community_id: int) -> set[int]:
    """The property companies the principal works for or, as an owners' committee, follows
    (those of the committee's compound; of the community when it has none)."""
    ids: set[int] = set()
    for g in principal.roles:
        if g.org_id is None:
            continue
        org = session.get(Organisation, g.org_id)
        if org is None or org.community_id != community_id:
            continue
        if g.role == Role.PROPERTY_STAFF:
            ids.add(org.id)
        elif g.role == Role.OWNERS_COMMITTEE:
            ids |= {
                c.id
                for c in property_companies(session, community_id=community_id)
                if org.compound_id is None or c.compound_id in (None, org.compound_id)
            }
    return ids


def followed_communities(session: Session, *, principal: Principal) -> list[str]:
    """Codes of the communities whose property company the principal works for or follows."""
    from renewmap.db.models import Community

    codes = []
    for g in principal.roles:
        if g.org_id is not None and g.role in (Role.PROPERTY_STAFF, Role.OWNERS_COMMITTEE):
            org = session.get(Organisation, g.org_id)
            community = session.get(Community, org.community_id) if org else None
            if community is not None and community.code not in codes:
                codes.append(community.code)
    return codes


def tasks(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    time_zone: str = DEFAULT_ZONE,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything handed to the followed property companies: what, where, due, done, late."""
    community = community_by_code(session, code=community_code)
    org_ids = _orgs_followed(session, principal, community.id)
    if not org_ids:
        raise Forbidden(
            "you follow no property company of {community}",
            key="no_property_company_followed",
            community=community.name,
            field="community",
        )
    now = now or datetime.now(UTC)
    rows = property_tasks(session, org_ids=sorted(org_ids), visible_only=True)
    grids = grids_by_ids(session, ids=sorted({r.grid_id for r in rows if r.grid_id}))
    buildings = buildings_by_ids(
        session, ids=sorted({r.building_id for r in rows if r.building_id})
    )
    orgs = orgs_by_ids(session, ids=sorted(org_ids))
    out = []
    for r in rows:
        grid = grids.get(r.grid_id) if r.grid_id else None
        building = buildings.get(r.building_id) if r.building_id else None
        org = orgs.get(r.assigned_org_id or -1)
        out.append(
            {
                "id": r.id,
                "receipt_code": r.receipt_code,
                "title": r.title,
                "category": r.category,
                "status": r.status,
                "grid": {"code": grid.code, "name": grid.name} if grid else None,
                "building": building.number or building.code if building else None,
                "org": {"code": org.code, "name": org.name} if org else None,
                "due": r.assigned_due.isoformat() if r.assigned_due else None,
                "done": r.assigned_done_at is not None,
                "late": property_late(r, now=now, time_zone=time_zone),
            }
        )
    return {"community": community.code, "tasks": out}
