"""Scope: which requests a staff member may see and act on. A permission, not a filter.

Every staff read and write goes through :func:`scope_of` and either :meth:`Scope.condition`
(queries) or :func:`require_request` (one request). A request out of scope is answered as
"not found", so ids cannot be probed; asking for another area by name is "forbidden".

- grid lead: the requests of their grid(s);
- branch secretary: the grids of their branch and of the branches below it (a general
  branch's secretary therefore sees the whole community, like its admin);
- community admin: every request of the community, including those in no grid;
- subdistrict admin: every request of every community in the subdistrict;
- building group leader (楼组长): the requests in or at the buildings their group serves;
- property company staff (物业): the requests handed to their company (交物业处理), and on them
  only the steps of the property company (reply, internal note, done, hand back);
- designer, owners' committee: no requests (designers work on drafts; the owners' committee
  follows what the property company was given without residents' contact details).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import Session

from renewmap.db.models import Community, Grid, Organisation, PartyBranch, Request, Subdistrict
from renewmap.db.queries.places import (
    branch_subtree_ids,
    building_ids_of_groups,
    community_ids_of_buildings,
    community_ids_of_grids,
    community_ids_of_orgs,
    community_ids_of_subdistricts,
    general_branch_communities,
    grid_ids_of_branches,
)
from renewmap.errors import Forbidden, NotFound
from renewmap.services.access.accounts import Principal
from renewmap.vocabulary import Role


@dataclass(frozen=True)
class Scope:
    grid_ids: frozenset[int]
    community_ids: frozenset[int]  # whole communities, requests in no grid included
    building_ids: frozenset[int] = frozenset()  # a building group leader's buildings
    org_ids: frozenset[int] = frozenset()  # a property company's: what was handed to it

    @property
    def empty(self) -> bool:
        return not (self.grid_ids or self.community_ids or self.building_ids or self.org_ids)

    def covers(self, request: Request) -> bool:
        return self.handles(request) or (
            request.assigned_org_id is not None and request.assigned_org_id in self.org_ids
        )

    def handles(self, request: Request) -> bool:
        """In scope as its grid's, branch's, community's or building's: every workflow step
        (not only the property company's)."""
        return (
            request.community_id in self.community_ids
            or (request.grid_id is not None and request.grid_id in self.grid_ids)
            or (request.building_id is not None and request.building_id in self.building_ids)
        )

    def covers_grid(self, *, grid_id: int, community_id: int) -> bool:
        return grid_id in self.grid_ids or community_id in self.community_ids

    def condition(self) -> ColumnElement[bool]:
        """SQL: the request is in scope."""
        parts = []
        if self.community_ids:
            parts.append(Request.community_id.in_(sorted(self.community_ids)))
        if self.grid_ids:
            parts.append(Request.grid_id.in_(sorted(self.grid_ids)))
        if self.building_ids:
            parts.append(Request.building_id.in_(sorted(self.building_ids)))
        if self.org_ids:
            parts.append(Request.assigned_org_id.in_(sorted(self.org_ids)))
        return or_(*parts) if parts else false()

    def touched_communities(self, session: Session) -> set[int]:
        """The communities this scope reaches into (a grid lead's is their grid's)."""
        return (
            set(self.community_ids)
            | community_ids_of_grids(session, grid_ids=sorted(self.grid_ids))
            | community_ids_of_buildings(session, building_ids=sorted(self.building_ids))
            | community_ids_of_orgs(session, org_ids=sorted(self.org_ids))
        )


def scope_of(session: Session, principal: Principal) -> Scope:
    grids: set[int] = set()
    communities: set[int] = set()
    branches: set[int] = set()
    subdistricts: set[int] = set()
    groups: set[int] = set()
    orgs: set[int] = set()
    for g in principal.roles:
        if g.role == Role.GRID_LEAD and g.grid_id is not None:
            grids.add(g.grid_id)
        elif g.role == Role.BRANCH_SECRETARY and g.branch_id is not None:
            branches.add(g.branch_id)
        elif g.role == Role.COMMUNITY_ADMIN and g.community_id is not None:
            communities.add(g.community_id)
        elif g.role == Role.SUBDISTRICT_ADMIN and g.subdistrict_id is not None:
            subdistricts.add(g.subdistrict_id)
        elif g.role == Role.BUILDING_GROUP_LEADER and g.branch_id is not None:
            groups.add(g.branch_id)
        elif g.role == Role.PROPERTY_STAFF and g.org_id is not None:
            orgs.add(g.org_id)
    if branches:
        communities |= general_branch_communities(session, branch_ids=sorted(branches))
        subtree = branch_subtree_ids(session, branch_ids=sorted(branches))
        grids |= grid_ids_of_branches(session, branch_ids=sorted(subtree))
    communities |= community_ids_of_subdistricts(session, subdistrict_ids=sorted(subdistricts))
    buildings = building_ids_of_groups(session, branch_ids=sorted(groups))
    return Scope(frozenset(grids), frozenset(communities), frozenset(buildings), frozenset(orgs))


def require_request(session: Session, scope: Scope, request_id: int) -> Request:
    """The request if it is in scope; otherwise "not found" (never "exists but not yours")."""
    request = session.get(Request, request_id)
    if request is None or not scope.covers(request):
        raise NotFound(
            "request {id} not found in your area",
            key="request_not_in_scope",
            id=request_id,
            field="id",
        )
    return request


def require_staff_scope(scope: Scope) -> None:
    if scope.empty:
        raise Forbidden(
            "your account has no area with requests (ask your community admin)",
            key="no_request_scope",
        )


# The roles that act on requests, most specific first: a member of staff acting on a request
# is named by the first of their roles that covers it.
_ACTING_ORDER = (
    Role.GRID_LEAD,
    Role.BUILDING_GROUP_LEADER,  # 17号楼楼组 楼组长
    Role.BRANCH_SECRETARY,
    Role.COMMUNITY_ADMIN,
    Role.SUBDISTRICT_ADMIN,
    Role.PROPERTY_STAFF,  # 巴林小区物业服务中心 物业人员
)


def acting_as(session: Session, principal: Principal, request: Request) -> dict[str, str] | None:
    """In which role and place a member of staff acts on ``request``, as residents may read it
    (``{"role": "grid_lead", "place": "第3网格"}``): never who they are. None when none of
    their roles covers the request."""
    grants = sorted(
        (g for g in principal.roles if g.role in _ACTING_ORDER),
        key=lambda g: _ACTING_ORDER.index(Role(g.role)),
    )
    places = {
        Role.GRID_LEAD: (Grid, "grid_id"),
        Role.BUILDING_GROUP_LEADER: (PartyBranch, "branch_id"),
        Role.BRANCH_SECRETARY: (PartyBranch, "branch_id"),
        Role.PROPERTY_STAFF: (Organisation, "org_id"),
        Role.COMMUNITY_ADMIN: (Community, "community_id"),
        Role.SUBDISTRICT_ADMIN: (Subdistrict, "subdistrict_id"),
    }
    for g in grants:
        if scope_of(session, replace(principal, roles=(g,))).covers(request):
            model, column = places[Role(g.role)]
            return {"role": str(g.role), "place": place_name(session, model, getattr(g, column))}
    return None


def place_name(session: Session, model: type, place_id: int | None) -> str:
    row = session.get(model, place_id) if place_id is not None else None
    return str(row.name) if row is not None else ""
