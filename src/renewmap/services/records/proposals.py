"""社区规划提案: proposals by residents and community partners.

Staff record a proposal as it is handed in (text, a place or area on the map), numbered per
community (提案 1, 2 …). It moves submitted → under discussion (by itself when a meeting
discusses it) → adopted → became site S… , or is declined with a public reason. It is shown to
residents only when its proposer agreed, and then under the name they chose to show (or none):
the proposer's name and phone stay with the staff in scope.

A proposal may carry photos (as many as a suggestion: ``MAX_PHOTOS``), re-encoded without
metadata like the residents' photos and kept in the blob store; residents see them only while
the proposal is public, staff in scope always.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from renewmap import blobs
from renewmap.db.models import Proposal, ProposalPhoto
from renewmap.db.queries.places import community_by_code, community_is_public, find_site
from renewmap.db.queries.records import (
    find_proposal,
    meetings_linked_to,
    next_proposal_number,
    photos_of_proposals,
    proposal_photo,
    proposals_by_ids,
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
from renewmap.services.requests.photos import MAX_PHOTOS, process_photo
from renewmap.spatial.geometry import from_db, to_geojson

Photos = dict[int, list[ProposalPhoto]]


def photo_view(ph: ProposalPhoto) -> dict[str, Any]:
    return {
        "id": ph.id,
        "caption": ph.caption,
        "url": f"/api/proposal-photos/{ph.id}",
        "thumbnail": f"/api/proposal-photos/{ph.id}/thumbnail",
        "width": ph.width,
        "height": ph.height,
    }


def _public_view(p: Proposal, sites: dict[int, Any], photos: Photos) -> dict[str, Any]:
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
        "photos": [photo_view(ph) for ph in photos.get(p.id, [])],
    }


def _staff_view(
    session: Session, p: Proposal, sites: dict[int, Any], photos: Photos | None = None
) -> dict[str, Any]:
    if photos is None:
        photos = photos_of_proposals(session, proposal_ids=[p.id])
    return {
        **_public_view(p, sites, photos),
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
    photos = photos_of_proposals(session, proposal_ids=[p.id for p in rows])
    return {
        "community": {"code": community.code, "name": community.name},
        "proposals": [_public_view(p, sites, photos) for p in rows],
    }


def staff_list(session: Session, *, principal: Principal, community_code: str) -> dict[str, Any]:
    community = access.readable_community(session, principal=principal, code=community_code)
    rows = proposals_of_community(session, community_id=community.id)
    sites = _sites(session, rows)
    photos = photos_of_proposals(session, proposal_ids=[p.id for p in rows])
    return {
        "community": {"code": community.code, "name": community.name},
        "proposals": [_staff_view(session, p, sites, photos) for p in rows],
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


def keeper_check(
    session: Session, *, principal: Principal, community_code: str, number: int
) -> None:
    """404 unless the proposal is in the caller's area, 403 unless they keep its records."""
    _proposal(session, principal, community_code, number, keep=True)


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
    return _staff_view(session, row, {}, {})


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


def add_photo(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    number: int,
    filename: str,
    data: bytes,
    caption: str | None = None,
) -> dict[str, Any]:
    """A photo handed in with the proposal (re-encoded without metadata, thumbnailed): the
    blobs are put before the row that names them; nothing is written if the photo is refused."""
    p = _proposal(session, principal, community_code, number, keep=True)
    existing = photos_of_proposals(session, proposal_ids=[p.id])[p.id]
    if len(existing) >= MAX_PHOTOS:
        raise InvalidInput(
            "at most {limit} photos per proposal ({n} already attached)",
            key="proposal_too_many_photos",
            limit=MAX_PHOTOS,
            n=len(existing),
            field="file",
        )
    processed = process_photo(data, filename=filename or "photo")
    session.add(
        ProposalPhoto(
            proposal_id=p.id,
            position=max((ph.position for ph in existing), default=-1) + 1,
            caption=(caption or "").strip()[:200] or None,
            created_by=principal.actor,
            **processed.store(session),
        )
    )
    session.flush()
    return _staff_view(session, p, _sites(session, [p]))


def remove_photo(
    session: Session, *, principal: Principal, community_code: str, number: int, photo_id: int
) -> dict[str, Any]:
    """Take a photo off the proposal (its blobs go with the next ``renewmap blobs gc``)."""
    p = _proposal(session, principal, community_code, number, keep=True)
    ph = proposal_photo(session, photo_id=photo_id)
    if ph is None or ph.proposal_id != p.id:
        raise NotFound(
            "photo {id} not found", key="proposal_photo_not_found", id=photo_id, field="photo"
        )
    session.delete(ph)
    session.flush()
    return _staff_view(session, p, _sites(session, [p]))


def photo_bytes(
    session: Session, *, principal: Principal | None, photo_id: int, thumbnail: bool = False
) -> tuple[bytes, str, bool]:
    """A proposal's photo (or thumbnail), its type and whether residents may see it: anyone
    while the proposal is public in a published community, otherwise only staff who read the
    community's records; everyone else is told it does not exist."""
    ph = proposal_photo(session, photo_id=photo_id)
    p = proposals_by_ids(session, ids=[ph.proposal_id]).get(ph.proposal_id) if ph else None
    if ph is None or p is None:
        raise NotFound("photo {id} not found", key="photo_not_found", id=photo_id, field="id")
    public = bool(p.public) and community_is_public(session, community_id=p.community_id)
    if not public and (
        principal is None or p.community_id not in access.records_scope(session, principal).readable
    ):
        raise NotFound("photo {id} not found", key="photo_not_found", id=photo_id, field="id")
    data = blobs.get(session, ph.thumbnail_key if thumbnail else ph.data_key)
    return data, ph.content_type, public
