"""社区规划提案: proposals by residents and community partners.

Staff record a proposal as it is handed in (text, a place or area on the map), numbered per
community (提案 1, 2 …). It moves submitted → under discussion (by itself when a meeting
discusses it) → adopted → became site S… , or is declined with a public reason. It is shown to
residents only when its proposer agreed, and then under the name they chose to show (or none):
the proposer's name and phone stay with the staff in scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Proposal
from renewmap.db.queries.places import community_by_code, find_site
from renewmap.db.queries.records import (
    find_proposal,
    meetings_linked_to,
    next_proposal_number,
    proposals_of_community,
    sites_by_ids,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.i18n import Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.records import access
from renewmap.services.records.common import check_code, label, parse_day, place_on_map
from renewmap.services.records.terms import (
    MEETING_KINDS,
    PROPOSAL_MOVES,
    PROPOSAL_STATUSES,
    PROPOSER_KINDS,
)
from renewmap.spatial.geometry import from_db, to_geojson


def _public_view(p: Proposal, sites: dict[int, Any]) -> dict[str, Any]:
    site = sites.get(p.site_id) if p.site_id is not None else None
    return {
        "number": p.number,
        "title": p.title,
        "body": p.body,
        "proposer_kind": p.proposer_kind,
        "proposer_kind_label": label(PROPOSER_KINDS, p.proposer_kind),
        "shown_as": p.shown_as,
        "status": p.status,
        "status_label": label(PROPOSAL_STATUSES, p.status),
        "decline_reason": p.decline_reason,
        "site": {"code": site.code, "name": site.name} if site is not None else None,
        "submitted_on": p.submitted_on.isoformat(),
        "geometry": to_geojson(from_db(p.geom)) if p.geom is not None else None,
    }


def _staff_view(session: Session, p: Proposal, sites: dict[int, Any]) -> dict[str, Any]:
    return {
        **_public_view(p, sites),
        "proposer_name": p.proposer_name,
        "proposer_phone": p.proposer_phone,
        "public": p.public,
        "moves": list(PROPOSAL_MOVES[p.status]),
        "meetings": [
            {
                "id": m.id,
                "title": m.title,
                "held_on": m.held_on.isoformat(),
                "kind_label": label(MEETING_KINDS, m.kind),
            }
            for m in meetings_linked_to(session, target="proposal", target_id=p.id)
        ],
        "version": p.version,
    }


def _sites(session: Session, rows: Sequence[Proposal]) -> dict[int, Any]:
    return sites_by_ids(session, ids=sorted({p.site_id for p in rows if p.site_id is not None}))


def public_list(session: Session, *, community_code: str) -> dict[str, Any]:
    """The proposals residents may read: those whose proposer agreed (no contact details)."""
    community = community_by_code(session, code=community_code)
    rows = proposals_of_community(session, community_id=community.id, public_only=True)
    sites = _sites(session, rows)
    return {
        "community": {"code": community.code, "name": community.name},
        "proposals": [_public_view(p, sites) for p in rows],
    }


def staff_list(session: Session, *, principal: Principal, community_code: str) -> dict[str, Any]:
    community = access.readable_community(session, principal=principal, code=community_code)
    rows = proposals_of_community(session, community_id=community.id)
    sites = _sites(session, rows)
    return {
        "community": {"code": community.code, "name": community.name},
        "proposals": [_staff_view(session, p, sites) for p in rows],
    }


def _proposal(
    session: Session, principal: Principal, community_code: str, number: int, *, keep: bool
) -> Proposal:
    find = access.kept_community if keep else access.readable_community
    community = find(session, principal=principal, code=community_code)
    row = find_proposal(session, community_id=community.id, number=number)
    if row is None:
        raise NotFound(
            "proposal no. {number} not found in {community}",
            key="proposal_not_found",
            number=number,
            community=community.name,
            field="number",
        )
    return row


def one(
    session: Session, *, principal: Principal, community_code: str, number: int
) -> dict[str, Any]:
    p = _proposal(session, principal, community_code, number, keep=False)
    return _staff_view(session, p, _sites(session, [p]))


def submit(
    session: Session, *, principal: Principal, community_code: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Record a proposal as handed in; it gets the community's next number."""
    community = access.kept_community(session, principal=principal, code=community_code)
    day = parse_day(data["submitted_on"], field="submitted_on")
    assert day is not None
    row = Proposal(
        community_id=community.id,
        number=next_proposal_number(session, community_id=community.id),
        title=data["title"].strip(),
        body=data["body"].strip(),
        proposer_kind=check_code(data["proposer_kind"], PROPOSER_KINDS, field="proposer_kind"),
        proposer_name=(data.get("proposer_name") or "").strip() or None,
        proposer_phone=(data.get("proposer_phone") or "").strip() or None,
        shown_as=(data.get("shown_as") or "").strip() or None,
        public=bool(data.get("public")),
        status="submitted",
        submitted_on=day,
        version=1,
        created_by=principal.actor,
        geom=place_on_map(community, data.get("geometry"), field="geometry", points_only=False),
    )
    session.add(row)
    session.flush()
    return _staff_view(session, row, {})


def move(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    number: int,
    version: int,
    status: str,
    reason: str | None = None,
    site_code: str | None = None,
) -> dict[str, Any]:
    """Move a proposal on: under discussion, adopted, became site S… (its code), or declined
    (with the reason residents will read)."""
    p = _proposal(session, principal, community_code, number, keep=True)
    if p.version != version:
        raise Conflict(
            "proposal no. {number} was changed by someone else (version {current}, you edited "
            "{version}); reload it",
            key="proposal_stale",
            number=number,
            current=p.version,
            version=version,
            field="version",
        )
    check_code(status, PROPOSAL_STATUSES, field="status")
    if status not in PROPOSAL_MOVES[p.status]:
        raise Conflict(
            "proposal no. {number} is “{current}”: it cannot become “{wanted}”",
            key="proposal_move_not_allowed",
            number=number,
            current=Msg(PROPOSAL_STATUSES[p.status]),
            wanted=Msg(PROPOSAL_STATUSES[status]),
            field="status",
        )
    reason = (reason or "").strip() or None
    if status == "declined":
        if reason is None:
            raise InvalidInput(
                "a declined proposal needs the reason residents will read",
                key="proposal_decline_reason",
                field="reason",
            )
        p.decline_reason = reason
    if status == "became_site":
        site = (
            find_site(session, community_id=p.community_id, code=site_code) if site_code else None
        )
        if site is None:
            raise InvalidInput(
                "name the site the proposal became (its code), got '{site}'",
                key="proposal_site_unknown",
                site=site_code or "",
                field="site",
            )
        p.site_id = site.id
    p.status = status
    p.version += 1
    session.flush()
    return _staff_view(session, p, _sites(session, [p]))


def set_public(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    number: int,
    public: bool,
    shown_as: str | None = None,
) -> dict[str, Any]:
    """The proposer agreed (or no longer agrees) to show the proposal to residents."""
    p = _proposal(session, principal, community_code, number, keep=True)
    p.public = public
    p.shown_as = (shown_as or "").strip() or None
    p.version += 1
    session.flush()
    return _staff_view(session, p, _sites(session, [p]))
