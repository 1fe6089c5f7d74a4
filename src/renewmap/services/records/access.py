"""Who may read and keep a community's records.

Every staff role held in a community reads its registers (a grid lead through their grid, a
secretary through their branch, a subdistrict admin through every community of the
subdistrict); the community's admins, its party secretaries and the subdistrict's admins keep
them. Another community's records are "not found", never "forbidden": ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Community
from renewmap.db.queries.places import (
    community_ids_of_grids,
    community_ids_of_subdistricts,
    find_community,
)
from renewmap.db.queries.records import branch_community_ids
from renewmap.errors import Forbidden, NotFound
from renewmap.services.access.accounts import Principal
from renewmap.vocabulary import Role

KEEPER_ROLES = (Role.COMMUNITY_ADMIN, Role.BRANCH_SECRETARY, Role.SUBDISTRICT_ADMIN)


@dataclass(frozen=True)
class RecordsScope:
    readable: frozenset[int]  # community ids
    keepable: frozenset[int]


def records_scope(session: Session, principal: Principal) -> RecordsScope:
    read: set[int] = set()
    keep: set[int] = set()
    for g in principal.roles:
        ids: set[int] = set()
        if g.community_id is not None:
            ids = {g.community_id}
        elif g.grid_id is not None:
            ids = community_ids_of_grids(session, grid_ids=[g.grid_id])
        elif g.branch_id is not None:
            ids = branch_community_ids(session, branch_ids=[g.branch_id])
        elif g.subdistrict_id is not None:
            ids = community_ids_of_subdistricts(session, subdistrict_ids=[g.subdistrict_id])
        read |= ids
        if g.role in KEEPER_ROLES:
            keep |= ids
    return RecordsScope(frozenset(read), frozenset(keep))


def not_in_scope(code: str) -> NotFound:
    return NotFound(
        "community '{community}' is not in your area",
        key="community_not_in_scope",
        community=code,
        field="community",
    )


def readable_community(session: Session, *, principal: Principal, code: str) -> Community:
    """The community if the principal reads its records; otherwise "not found"."""
    community = find_community(session, code=code)
    if community is None or community.id not in records_scope(session, principal).readable:
        raise not_in_scope(code)
    return community


def kept_community(session: Session, *, principal: Principal, code: str) -> Community:
    """The community if the principal keeps its records: 404 outside, 403 for a reader."""
    community = readable_community(session, principal=principal, code=code)
    if community.id not in records_scope(session, principal).keepable:
        raise Forbidden(
            "only the admins and party secretaries of {community} keep its records",
            key="not_a_records_keeper",
            community=community.name,
            field="community",
        )
    return community


def require_reader_of(session: Session, *, principal: Principal, community_id: int) -> None:
    """For a record found by id: "not found" unless its community is readable."""
    if community_id not in records_scope(session, principal).readable:
        raise NotFound("record not found in your area", key="record_not_in_scope")


def require_keeper_of(session: Session, *, principal: Principal, community_id: int) -> None:
    scope = records_scope(session, principal)
    if community_id not in scope.readable:
        raise NotFound("record not found in your area", key="record_not_in_scope")
    if community_id not in scope.keepable:
        raise Forbidden(
            "only a community's admins and party secretaries keep its records",
            key="not_a_records_keeper_here",
        )


def my_communities(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """The communities whose records the principal reads (by code), and whether they keep
    them; "forbidden" when there are none."""
    from renewmap.db.queries.places import communities_by_ids

    scope = records_scope(session, principal)
    if not scope.readable:
        raise Forbidden(
            "your account has no community whose records you may read",
            key="no_records_scope",
        )
    return [
        {"code": c.code, "name": c.name, "keeper": c.id in scope.keepable}
        for c in communities_by_ids(session, ids=sorted(scope.readable))
    ]
