"""Routing use cases: route one geometry through the database, route batches, re-route.

The rule itself lives in :mod:`renewmap.spatial.routing`; here we only supply candidates
(from the database's spatial index, or preloaded in memory) and attach the owner chain:
building party group (for a point in or at a building a group serves) → grid party branch →
general branch → subdistrict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from renewmap.db.models import Building, Community, Grid, PartyBranch, Request, RequestEvent
from renewmap.db.queries.places import (
    all_branches,
    all_building_candidates,
    all_grid_codes,
    all_group_links,
    branch_ancestors,
    building_candidates,
    building_labels,
    codes_by_id,
    community_candidates,
    community_row,
    footprints_of_grids,
    general_branch_of,
    grid_candidates,
    grids_of_community,
    group_links_of_buildings,
    route_prefetch,
)
from renewmap.db.queries.requests import open_requests_to_reroute
from renewmap.errors import NotRoutable
from renewmap.i18n import t
from renewmap.spatial.crs import metres_to_degrees
from renewmap.spatial.geometry import check_routable, from_db
from renewmap.spatial.routing import (
    BUILDING_NEAR_M,
    DEFAULT_SNAP_M,
    BuildingRef,
    CommunityRef,
    Decision,
    GridRef,
    GroupLink,
    MemorySource,
    Rule,
    decide,
    group_for,
    locate_building,
)
from renewmap.vocabulary import BUILDING_GROUP, DEFAULT_TOP_LEVEL, EventKind

Bounds = tuple[float, float, float, float]


class DbSource:
    """Candidates from the database spatial index (bbox), geometries decoded once per call."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._communities: dict[int, CommunityRef] = {}

    def buildings_near(self, bounds: Bounds) -> list[BuildingRef]:
        rows = building_candidates(self.session, bounds=bounds)
        return [BuildingRef(r[0], r[1], from_db(r[2])) for r in rows]

    def grids_near(self, bounds: Bounds) -> list[GridRef]:
        rows = grid_candidates(self.session, bounds=bounds)
        return [GridRef(r[0], r[1], r[2], from_db(r[3])) for r in rows]

    def communities_near(self, bounds: Bounds) -> list[CommunityRef]:
        out = []
        for r in community_candidates(self.session, bounds=bounds):
            ref = self._communities.get(r[0]) or CommunityRef(r[0], r[1], from_db(r[3]), r[2])
            self._communities[r[0]] = ref
            out.append(ref)
        return out

    def all_buildings_near(self, bounds: Bounds) -> list[BuildingRef]:
        rows = all_building_candidates(self.session, bounds=bounds)
        return [BuildingRef(r[0], r[1], from_db(r[2]), r[3]) for r in rows]

    def grid_footprints(self, grid_ids: Sequence[int]) -> dict[int, list[BaseGeometry]]:
        out: dict[int, list[BaseGeometry]] = {i: [] for i in grid_ids}
        for gid, wkb in footprints_of_grids(self.session, grid_ids=grid_ids):
            out[gid].append(from_db(wkb))
        return out

    def grids_of_community(self, community_id: int) -> list[GridRef]:
        rows = grids_of_community(self.session, community_id=community_id)
        return [GridRef(r[0], r[1], r[2], from_db(r[3])) for r in rows]

    def community(self, community_id: int) -> CommunityRef:
        if community_id not in self._communities:
            r = community_row(self.session, community_id=community_id)
            self._communities[community_id] = CommunityRef(r[0], r[1], from_db(r[3]), r[2])
        return self._communities[community_id]


@dataclass
class Ref:
    """A code and a name, as shown to people. ``kind``: what the community calls its top
    level (``vocabulary.TOP_LEVELS``), on the general branch only."""

    code: str
    name: str
    level: str | None = None
    kind: str | None = None


@dataclass
class Owner:
    """Who owns a location: the routing answer with the whole chain above the grid, and below
    it the building the point is in or at and the building party group serving it there."""

    rule: str
    community: Ref | None = None
    grid: Ref | None = None
    branch: Ref | None = None
    general_branch: Ref | None = None
    subdistrict: Ref | None = None
    building: Ref | None = None
    building_group: Ref | None = None
    distance_m: float | None = None
    grid_set_version: int | None = None
    community_id: int | None = None
    grid_id: int | None = None
    branch_id: int | None = None
    building_id: int | None = None
    building_group_id: int | None = None
    chain: list[Ref] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("community_id", "grid_id", "branch_id", "building_id", "building_group_id"):
            data.pop(key)
        return data

    def who(self) -> str | None:
        """Who handles it, by name: "第7网格 · 第四网格党支部 · 17号楼楼组党小组" (None outside
        everything)."""
        if self.grid is not None:
            who = self.grid.name + (f" · {self.branch.name}" if self.branch else "")
        elif self.community is not None:
            who = self.community.name + (
                f" · {self.general_branch.name}" if self.general_branch else ""
            )
        else:
            return None
        if self.building_group is not None:
            who += f" · {self.building_group.name}"
        return who

    def message(self) -> str:
        """Plain words for residents, in the current language: who will handle this."""
        who = self.who()
        if who is None:
            return t("outside every community")
        return t("{who} will handle this", who=who)


@dataclass(frozen=True, slots=True)
class BranchInfo:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class CommunityInfo:
    id: int
    code: str
    name: str
    grid_set_version: int | None
    subdistrict: Ref | None
    general: BranchInfo | None
    top_level: str = DEFAULT_TOP_LEVEL


@dataclass(frozen=True, slots=True)
class Below:
    """Below the grid: the building a point is in or at, and its building group there."""

    building_id: int
    building: Ref
    group: BranchInfo | None


def _branch_info(b: PartyBranch | None) -> BranchInfo | None:
    return None if b is None else BranchInfo(b.id, b.code, b.name, b.level, b.parent_id)


def _ref(b: BranchInfo, top_level: str) -> Ref:
    return Ref(b.code, b.name, b.level, top_level if b.level == "general" else None)


def assemble_owner(
    decision: Decision,
    community: CommunityInfo,
    grid: tuple[int, str, str] | None,
    chain_branches: Sequence[BranchInfo],
    below: Below | None = None,
) -> Owner:
    """The owner from its parts. ``chain_branches`` is the grid's branch and its ancestors
    (nearest first), or just the general branch when the grid has no branch or there is no
    grid; ``below``: the building and its group. Both the fast and the general path end here,
    so they cannot drift apart."""
    general = community.general
    branch = chain_branches[0] if grid is not None and chain_branches else None
    generals = [b for b in chain_branches if b.level == "general"]
    general = generals[0] if generals else general
    group = below.group if below is not None else None
    chain = [
        _ref(b, community.top_level) for b in ([group] if group else []) + list(chain_branches)
    ]
    if community.subdistrict is not None:
        chain.append(community.subdistrict)
    return Owner(
        rule=decision.rule.value,
        community=Ref(community.code, community.name),
        grid=Ref(grid[1], grid[2]) if grid else None,
        branch=Ref(branch.code, branch.name, branch.level) if branch else None,
        general_branch=_ref(general, community.top_level) if general else None,
        subdistrict=community.subdistrict,
        building=below.building if below is not None else None,
        building_group=Ref(group.code, group.name, group.level) if group else None,
        distance_m=round(decision.distance_m, 2) if decision.rule is Rule.SNAPPED else None,
        grid_set_version=community.grid_set_version,
        community_id=community.id,
        grid_id=grid[0] if grid else None,
        branch_id=branch.id if branch else (general.id if general else None),
        building_id=below.building_id if below is not None else None,
        building_group_id=group.id if group else None,
        chain=chain,
    )


def _links(rows: Sequence[Any]) -> list[GroupLink]:
    """(…, branch_id, code, name, stairwell_id, entrance wkb) rows → the groups' links."""
    return [
        GroupLink(
            r[1],
            r[2],
            stairwell=r[4] is not None,
            entrance=from_db(r[5]) if r[5] is not None else None,
        )
        for r in rows
    ]


def below_grid(
    session: Session, geom: BaseGeometry, decision: Decision, source: DbSource
) -> Below | None:
    """The building a routed point is in or at and the group serving it there (general path:
    one lookup per step)."""
    building_id = locate_building(geom, decision, source)
    if building_id is None:
        return None
    building = session.get(Building, building_id)
    assert building is not None
    rows = group_links_of_buildings(session, building_ids=[building_id])
    link = group_for(geom if isinstance(geom, shapely.Point) else None, _links(rows))
    names = {r[1]: r[3] for r in rows}
    group = (
        BranchInfo(link.branch_id, link.code, names[link.branch_id], BUILDING_GROUP, None)
        if link is not None
        else None
    )
    return Below(building_id, _building_ref(building.code, building.number, building.name), group)


def _building_ref(code: str | None, number: str | None, name: str | None) -> Ref:
    """A building as people name it: its number (17号楼), else its name, else its code."""
    label = number or name or code or ""
    return Ref(code or label, label, "building")


def owner_for(
    session: Session,
    decision: Decision,
    geom: BaseGeometry | None = None,
    source: DbSource | None = None,
) -> Owner:
    """Attach the owner chain to a routing decision (general path: ORM lookups); with the
    routed ``geom``, also the building and its group below the grid."""
    if not decision.routable or decision.community_id is None:
        return Owner(rule=decision.rule.value)
    community = session.get(Community, decision.community_id)
    assert community is not None
    grid = session.get(Grid, decision.grid_id) if decision.grid_id is not None else None
    below = below_grid(session, geom, decision, source or DbSource(session)) if geom else None
    general = _branch_info(general_branch_of(session, community_id=community.id))
    chain: list[BranchInfo] = []
    if grid is not None and grid.branch_id is not None:
        chain = [
            b
            for b in map(_branch_info, branch_ancestors(session, branch_id=grid.branch_id))
            if b is not None
        ]
    elif general is not None:
        chain = [general]
    sub = community.subdistrict
    info = CommunityInfo(
        community.id,
        community.code,
        community.name,
        community.grid_set_version,
        Ref(sub.code, sub.name, "subdistrict") if sub else None,
        general,
        community.top_level or DEFAULT_TOP_LEVEL,
    )
    grid_part = (grid.id, grid.code, grid.name) if grid else None
    return assemble_owner(decision, info, grid_part, chain, below)


class PrefetchedSource(DbSource):
    """One round trip fetches what a point usually needs: the grids whose bbox holds it and the
    buildings near it, with owner-chain details and building groups. Anything else (ties,
    gaps, snapping, groups of single stairwells) falls through to the general ``DbSource``
    lookups, so the rule in ``decide`` is untouched."""

    def __init__(self, session: Session, point: shapely.Point) -> None:
        super().__init__(session)
        self.bounds = point.bounds
        margin = metres_to_degrees(BUILDING_NEAR_M, point.y)
        self.near = (point.x - margin, point.y - margin, point.x + margin, point.y + margin)
        self.grids: list[GridRef] = []
        self.buildings: list[BuildingRef] = []
        self.grid_info: dict[int, tuple[str, BranchInfo | None, BranchInfo | None]] = {}
        self.community_info: dict[int, CommunityInfo] = {}
        # building id → (code, number), and the groups serving it (with their names)
        self.building_info: dict[int, tuple[str | None, str | None]] = {}
        self.groups: dict[int, list[tuple[GroupLink, str]]] = {}
        rows = route_prefetch(self.session, x=point.x, y=point.y, margin=margin)
        seen: set[int] = set()
        wkbs: list[bytes] = []
        for r in rows:  # a building comes once per group serving it: decode it once
            if r[0] == 1:
                wkbs.append(bytes(r[4]))
            elif r[0] == 2 and r[1] not in seen:
                seen.add(r[1])
                wkbs.append(bytes(r[4]))
        geoms = iter(shapely.from_wkb(wkbs)) if wkbs else iter(())
        for r in rows:
            kind = r[0]
            if kind == 1:
                self.grids.append(GridRef(r[1], r[2], r[3], next(geoms)))
                branch = BranchInfo(r[6], r[7], r[8], r[9], r[10]) if r[6] is not None else None
                parent = BranchInfo(r[11], r[12], r[13], r[14], r[15]) if r[11] else None
                self.grid_info[r[1]] = (r[5], branch, parent)
            elif kind == 2:
                if r[1] not in self.building_info:
                    self.buildings.append(BuildingRef(r[1], r[3], next(geoms), r[6]))
                    self.building_info[r[1]] = (r[5], r[2])
                    self.groups[r[1]] = []
                if r[11] is not None:
                    link = GroupLink(r[11], r[7], stairwell=r[10] is not None)
                    self.groups[r[1]].append((link, r[8]))
            else:
                sub = Ref(r[7], r[8], "subdistrict") if r[7] is not None else None
                general = BranchInfo(r[11], r[12], r[13], "general", None) if r[11] else None
                top = r[9] or DEFAULT_TOP_LEVEL
                self.community_info[r[1]] = CommunityInfo(
                    r[1], r[2], r[5], r[16], sub, general, top
                )

    def buildings_near(self, bounds: Bounds) -> list[BuildingRef]:
        if bounds == self.bounds:
            return self.buildings  # a superset: buildings near the point, assigned or not
        return super().buildings_near(bounds)

    def all_buildings_near(self, bounds: Bounds) -> list[BuildingRef]:
        if bounds == self.near:
            return self.buildings
        return super().all_buildings_near(bounds)

    def grids_near(self, bounds: Bounds) -> list[GridRef]:
        if bounds == self.bounds:
            return self.grids
        return super().grids_near(bounds)

    def below(self, geom: BaseGeometry, decision: Decision) -> Below | bool | None:
        """The building and group from the prefetch; False when the general path must look
        them up (a group of one stairwell: its entrance decides)."""
        building_id = locate_building(geom, decision, self)
        if building_id is None:
            return None
        links = self.groups.get(building_id, [])
        if any(link.stairwell for link, _ in links):
            return False
        chosen = group_for(None, [link for link, _ in links])
        names = {link.branch_id: name for link, name in links}
        code, number = self.building_info[building_id]
        group = (
            BranchInfo(chosen.branch_id, chosen.code, names[chosen.branch_id], BUILDING_GROUP, None)
            if chosen is not None
            else None
        )
        return Below(building_id, _building_ref(code, number, None), group)

    def owner(self, decision: Decision, geom: BaseGeometry) -> Owner | None:
        """The owner from prefetched rows, or None when the general path must look it up
        (no grid in the prefetch, a party tree deeper than grid branch → its parent, or a
        building group of one stairwell)."""
        if decision.grid_id is None or decision.grid_id not in self.grid_info:
            return None
        community = self.community_info.get(decision.community_id or -1)
        if community is None:
            return None
        name, branch, parent = self.grid_info[decision.grid_id]
        grid_ref = next(g for g in self.grids if g.id == decision.grid_id)
        if branch is not None:
            if branch.parent_id is not None and (parent is None or parent.parent_id is not None):
                return None
            chain = [branch] + ([parent] if parent is not None else [])
        else:
            chain = [community.general] if community.general is not None else []
        below = self.below(geom, decision)
        if below is False:
            return None
        return assemble_owner(
            decision,
            community,
            (grid_ref.id, grid_ref.code, name),
            chain,
            below if isinstance(below, Below) else None,
        )


def route_geometry(
    session: Session, geom: BaseGeometry, *, snap_m: float = DEFAULT_SNAP_M
) -> Owner:
    """Route one WGS84 geometry through the database; NotRoutable when outside everything.

    Points take one prefetch round trip in the common case; the rule is always ``decide``.
    """
    check_routable(geom, where="geometry")
    if geom.geom_type == "Point":
        source: DbSource = PrefetchedSource(session, cast(shapely.Point, geom))
    else:
        source = DbSource(session)
    decision = decide(geom, source, snap_m=snap_m)
    if not decision.routable:
        c = geom.centroid
        raise NotRoutable(
            "the place ({lon:.6f}, {lat:.6f}) is outside every community and more than "
            "{snap_distance_m:g} m from the nearest one, so no one can handle it there; "
            "choose a place inside your community",
            key="location_outside_communities",
            lon=round(c.x, 6),
            lat=round(c.y, 6),
            field="geometry",
            snap_distance_m=snap_m,
        )
    if isinstance(source, PrefetchedSource):
        fast = source.owner(decision, geom)
        if fast is not None:
            return fast
    return owner_for(session, decision, geom, source)


# --- batch --------------------------------------------------------------------------------


def load_memory_source(session: Session) -> MemorySource:
    """Every community, grid and building, for batch routing in memory."""
    communities = [
        CommunityRef(r[0], r[1], from_db(r[3]), r[2])
        for r in community_candidates(session, bounds=(-180, -90, 180, 90))
    ]
    grids = [
        GridRef(r[0], r[1], r[2], from_db(r[3]))
        for r in grid_candidates(session, bounds=(-180, -90, 180, 90))
    ]
    buildings = [
        BuildingRef(r[0], r[1], from_db(r[2]), r[3])
        for r in all_building_candidates(session, bounds=(-180, -90, 180, 90))
    ]
    return MemorySource(communities=communities, grids=grids, buildings=buildings)


@dataclass
class BatchLookup:
    """Codes for ids, preloaded once per batch."""

    community_code: Mapping[int, str]
    grid_code: Mapping[int, str]
    grid_branch_code: Mapping[int, str | None]
    general_branch_code: Mapping[int, str | None]
    building_label: Mapping[int, str] = field(default_factory=dict)
    building_groups: Mapping[int, list[GroupLink]] = field(default_factory=dict)


def batch_lookup(session: Session) -> BatchLookup:
    branches = {b.id: b for b in all_branches(session)}
    generals: dict[int, str | None] = {}
    for b in sorted(branches.values(), key=lambda b: b.code, reverse=True):
        if b.level == "general" and b.community_id is not None:
            generals[b.community_id] = b.code
    grids = all_grid_codes(session)
    groups: dict[int, list[GroupLink]] = {}
    for building_id, *link in all_group_links(session):
        groups.setdefault(building_id, []).extend(_links([(building_id, *link)]))
    return BatchLookup(
        community_code=codes_by_id(session, model=Community),
        grid_code={g.id: g.code for g in grids},
        grid_branch_code={
            g.id: branches[g.branch_id].code if g.branch_id in branches else None for g in grids
        },
        general_branch_code=generals,
        building_label={
            r[0]: _building_ref(r[1], r[2], r[3]).name for r in building_labels(session)
        },
        building_groups=groups,
    )


def route_many(
    source: MemorySource,
    lookup: BatchLookup,
    geoms: Sequence[BaseGeometry],
    *,
    snap_m: float = DEFAULT_SNAP_M,
) -> list[dict[str, Any]]:
    """Route many geometries; points go through the vectorised path."""
    geoms_arr = np.asarray(geoms, dtype=object)
    is_point = shapely.get_type_id(geoms_arr) == 0
    decisions: list[Decision | None] = [None] * len(geoms_arr)
    idx = np.flatnonzero(is_point)
    if len(idx):
        pts = geoms_arr[idx]
        for i, d in zip(
            idx,
            source.route_points(shapely.get_x(pts), shapely.get_y(pts), snap_m=snap_m),
            strict=True,
        ):
            decisions[i] = d
    for i in np.flatnonzero(~is_point):
        decisions[i] = decide(geoms_arr[i], source, snap_m=snap_m)
    return [
        _batch_row(d, lookup, g, source)
        for d, g in zip(decisions, geoms_arr, strict=True)
        if d is not None
    ]


def _batch_row(
    d: Decision, lookup: BatchLookup, geom: BaseGeometry, source: MemorySource
) -> dict[str, Any]:
    if not d.routable:
        return {
            "community_code": None,
            "grid_code": None,
            "branch_code": None,
            "rule": "outside",
            "building": None,
            "building_group_code": None,
        }
    building_id = locate_building(geom, d, source)
    group = None
    if building_id is not None and isinstance(geom, shapely.Point):
        group = group_for(geom, lookup.building_groups.get(building_id, []))
    branch = None
    if d.grid_id is not None:
        branch = lookup.grid_branch_code.get(d.grid_id)
    if branch is None and d.community_id is not None:
        branch = lookup.general_branch_code.get(d.community_id)
    return {
        "community_code": lookup.community_code.get(d.community_id) if d.community_id else None,
        "grid_code": lookup.grid_code.get(d.grid_id) if d.grid_id is not None else None,
        "branch_code": branch,
        "rule": d.rule.value,
        "building": lookup.building_label.get(building_id) if building_id is not None else None,
        "building_group_code": group.code if group is not None else None,
    }


# --- requests -------------------------------------------------------------------------------


def apply_route(request: Request, owner: Owner) -> None:
    request.community_id = owner.community_id
    request.grid_id = owner.grid_id
    request.branch_id = owner.branch_id
    request.route_rule = owner.rule
    request.route_distance_m = owner.distance_m
    request.grid_set_version = owner.grid_set_version
    request.building_id = owner.building_id


def reroute_open_requests(
    session: Session,
    *,
    community_id: int | None = None,
    actor: str = "system",
    snap_m: float = DEFAULT_SNAP_M,
) -> list[tuple[int, str | None, str | None]]:
    """Re-route open requests after grids or assignments changed.

    A request whose owner changes gets a ``rerouted`` event with the old and new owner; each
    request keeps the grid-set version it was routed with. Returns (id, old grid, new grid).
    """
    changed: list[tuple[int, str | None, str | None]] = []
    source = DbSource(session)
    # A request a person transferred by hand stays where they put it.
    for request in open_requests_to_reroute(session, community_id=community_id):
        geom = from_db(request.geom)
        decision = decide(geom, source, snap_m=snap_m)
        # rule "outside" and no owner when unroutable
        owner = owner_for(session, decision, geom, source)
        old_grid = session.get(Grid, request.grid_id) if request.grid_id else None
        old = (request.community_id, request.grid_id, request.branch_id, request.route_rule)
        new = (owner.community_id, owner.grid_id, owner.branch_id, owner.rule)
        version_changed = request.grid_set_version != owner.grid_set_version
        # the building under a point (a footprint moved or was imported) follows quietly: it
        # changes who else may help (its group), not who owns the request
        request.building_id = owner.building_id
        if old != new or version_changed:
            request.events.append(
                RequestEvent(
                    kind=EventKind.REROUTED,
                    actor=actor,
                    data={
                        "from": {
                            "grid": old_grid.code if old_grid else None,
                            "rule": request.route_rule,
                            "grid_set_version": request.grid_set_version,
                        },
                        "to": {
                            "grid": owner.grid.code if owner.grid else None,
                            "rule": owner.rule,
                            "grid_set_version": owner.grid_set_version,
                        },
                    },
                )
            )
            if old != new:
                changed.append(
                    (
                        request.id,
                        old_grid.code if old_grid else None,
                        owner.grid.code if owner.grid else None,
                    )
                )
            apply_route(request, owner)
            request.version = (request.version or 1) + 1  # a staff form open on it is stale
    session.flush()
    return changed
