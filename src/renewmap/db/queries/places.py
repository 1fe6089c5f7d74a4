"""Places: communities, subdistricts, party branches, grids, buildings and the other
layers, and the candidates the routing rule tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select, true
from sqlalchemy.orm import Session

from renewmap.db.dialect import (
    LIKE_ESCAPE,
    Bounds,
    bbox_filter,
    contains_pattern,
    execute_hot,
    geometry_wkb,
    route_prefetch_sql,
)
from renewmap.db.models import (
    LAYER_MODELS,
    Building,
    BuildingGroupPlace,
    Community,
    Compound,
    Facility,
    Grid,
    GridDraft,
    Organisation,
    PartyBranch,
    Request,
    Site,
    StaffRole,
    StaffUser,
    Stairwell,
    Subdistrict,
)
from renewmap.errors import NotFound


def find_community(session: Session, *, code: str) -> Community | None:
    """The community with this code, or None (where absence is an answer, not an error)."""
    return session.scalar(select(Community).where(Community.code == code))


def community_by_code(session: Session, *, code: str) -> Community:
    """The community with this code; NotFound (404, field ``community``) if there is none."""
    found = find_community(session, code=code)
    if found is None:
        raise NotFound(
            "community '{code}' not found",
            key="community_not_found",
            code=code,
            field="community",
            value=code,
        )
    return found


PUBLISHED = "published"


def list_communities(session: Session, *, published_only: bool = False) -> Sequence[Community]:
    stmt = select(Community).order_by(Community.code)
    if published_only:
        stmt = stmt.where(Community.state == PUBLISHED)
    return session.scalars(stmt).all()


def _published_ids() -> Any:
    """Ids of the communities residents see (a community in setup is not routed to)."""
    return select(Community.id).where(Community.state == PUBLISHED)


def in_public_community(model: type[Any]) -> ColumnElement[bool]:
    """SQL: the row is a community residents see, or belongs to one. The one test every
    public read applies: a community still being set up is nobody's yet (its outline, buildings,
    grids, sites and requests are invisible to residents and outside clients)."""
    if model is Community:
        return Community.state == PUBLISHED
    if hasattr(model, "community_id"):
        in_published: ColumnElement[bool] = model.community_id.in_(_published_ids())
        return in_published
    return true()


def community_is_public(session: Session, *, community_id: int | None) -> bool:
    """Whether residents may see what this community holds (False while it is set up)."""
    if community_id is None:
        return True
    state = session.scalar(select(Community.state).where(Community.id == community_id))
    return state == PUBLISHED


def site_is_public(session: Session, *, site_id: int | None) -> bool:
    """Whether residents may see what this site holds (photos, files): its community's state."""
    if site_id is None:
        return True
    community_id = session.scalar(select(Site.community_id).where(Site.id == site_id))
    return community_is_public(session, community_id=community_id)


def public_community_by_code(session: Session, *, code: str) -> Community:
    """The community with this code if residents may see it; one still being set up is not
    found (404, field ``community``), as if it did not exist yet."""
    found = session.scalar(
        select(Community).where(Community.code == code, in_public_community(Community))
    )
    if found is None:
        raise NotFound(
            "community '{code}' not found",
            key="community_not_found",
            code=code,
            field="community",
            value=code,
        )
    return found


def find_coded(session: Session, *, model: type[Any], community_id: int, code: str) -> Any | None:
    """The community's feature of this kind (grid, site, compound, building…) with this code,
    or None."""
    return session.scalar(
        select(model).where(model.community_id == community_id, model.code == code)
    )


def find_grid(session: Session, *, community_id: int, code: str) -> Grid | None:
    return find_coded(session, model=Grid, community_id=community_id, code=code)


def find_branch(session: Session, *, code: str) -> PartyBranch | None:
    return session.scalar(select(PartyBranch).where(PartyBranch.code == code))


def find_subdistrict(session: Session, *, code: str) -> Subdistrict | None:
    return session.scalar(select(Subdistrict).where(Subdistrict.code == code))


def grid_candidates(session: Session, *, bounds: Bounds) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, code, community_id, wkb) of grids whose bbox meets ``bounds``."""
    t = Grid.__table__
    stmt = select(t.c.id, t.c.code, t.c.community_id, geometry_wkb(session, t.c.geom)).where(
        bbox_filter(session, t, bounds, exact=False), t.c.community_id.in_(_published_ids())
    )
    return session.execute(stmt).all()


def building_candidates(session: Session, *, bounds: Bounds) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, grid_id, wkb) of grid-assigned buildings whose bbox meets ``bounds``."""
    t = Building.__table__
    stmt = select(t.c.id, t.c.grid_id, geometry_wkb(session, t.c.geom)).where(
        bbox_filter(session, t, bounds, exact=False),
        t.c.grid_id.is_not(None),
        t.c.community_id.in_(_published_ids()),
    )
    return session.execute(stmt).all()


def all_building_candidates(session: Session, *, bounds: Bounds) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, grid_id, wkb, community_id) of every building whose bbox meets ``bounds``,
    assigned to a grid or not (where is a point: in or at which building)."""
    t = Building.__table__
    stmt = select(t.c.id, t.c.grid_id, geometry_wkb(session, t.c.geom), t.c.community_id).where(
        bbox_filter(session, t, bounds, exact=False)
    )
    return session.execute(stmt).all()


def group_links_of_buildings(
    session: Session, *, building_ids: Sequence[int]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(building_id, branch_id, branch code, branch name, stairwell_id, entrance wkb or None)
    of the building party groups serving these buildings."""
    if not building_ids:
        return []
    s = Stairwell.__table__
    return session.execute(
        select(
            BuildingGroupPlace.building_id,
            PartyBranch.id,
            PartyBranch.code,
            PartyBranch.name,
            BuildingGroupPlace.stairwell_id,
            geometry_wkb(session, s.c.geom),
        )
        .join(PartyBranch, PartyBranch.id == BuildingGroupPlace.branch_id)
        .outerjoin(s, s.c.id == BuildingGroupPlace.stairwell_id)
        .where(BuildingGroupPlace.building_id.in_(list(building_ids)))
        .order_by(BuildingGroupPlace.building_id, PartyBranch.code)
    ).all()


def all_group_links(session: Session) -> Sequence[Row[*tuple[Any, ...]]]:
    """Every building group link, as ``group_links_of_buildings`` gives them."""
    s = Stairwell.__table__
    return session.execute(
        select(
            BuildingGroupPlace.building_id,
            PartyBranch.id,
            PartyBranch.code,
            PartyBranch.name,
            BuildingGroupPlace.stairwell_id,
            geometry_wkb(session, s.c.geom),
        )
        .join(PartyBranch, PartyBranch.id == BuildingGroupPlace.branch_id)
        .outerjoin(s, s.c.id == BuildingGroupPlace.stairwell_id)
        .order_by(BuildingGroupPlace.building_id, PartyBranch.code)
    ).all()


def building_labels(session: Session) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, code, number, name) of every building."""
    return session.execute(select(Building.id, Building.code, Building.number, Building.name)).all()


def community_candidates(session: Session, *, bounds: Bounds) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, code, metric_epsg, wkb) of communities whose bbox meets ``bounds``."""
    t = Community.__table__
    stmt = select(t.c.id, t.c.code, t.c.metric_epsg, geometry_wkb(session, t.c.geom)).where(
        bbox_filter(session, t, bounds, exact=False), t.c.state == PUBLISHED
    )
    return session.execute(stmt).all()


def community_row(session: Session, *, community_id: int) -> Row[*tuple[Any, ...]]:
    t = Community.__table__
    stmt = select(t.c.id, t.c.code, t.c.metric_epsg, geometry_wkb(session, t.c.geom)).where(
        t.c.id == community_id
    )
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound("community id {id} not found", key="community_id_not_found", id=community_id)
    return row


def footprints_of_grids(
    session: Session, *, grid_ids: Sequence[int]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(grid_id, wkb) of every building assigned to these grids."""
    t = Building.__table__
    stmt = select(t.c.grid_id, geometry_wkb(session, t.c.geom)).where(
        t.c.grid_id.in_(list(grid_ids))
    )
    return session.execute(stmt).all()


def grids_of_community(session: Session, *, community_id: int) -> Sequence[Row[*tuple[Any, ...]]]:
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
    model: type[Any] = LAYER_MODELS[kind]
    column = model.id if kind == "community" else model.community_id
    return session.scalars(select(model).where(column == community_id).order_by(model.id)).all()


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


def route_prefetch(session: Session, *, x: float, y: float, margin: float) -> list[tuple[Any, ...]]:
    """Grids whose bbox holds (x, y) and buildings within ``margin`` degrees of it, with
    owner-chain details and building groups, in one round trip (a prepared statement on
    PostgreSQL after a few calls)."""
    return execute_hot(
        session,
        route_prefetch_sql(session),
        {"x": float(x), "y": float(y), "m": float(margin)},
    )


def grids_by_ids(session: Session, *, ids: Sequence[int]) -> dict[int, Grid]:
    if not ids:
        return {}
    return {g.id: g for g in session.scalars(select(Grid).where(Grid.id.in_(list(ids))))}


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


def building_ids_of_groups(session: Session, *, branch_ids: Sequence[int]) -> set[int]:
    """The buildings these building groups serve (wholly or one stairwell of them)."""
    if not branch_ids:
        return set()
    return set(
        session.scalars(
            select(BuildingGroupPlace.building_id).where(
                BuildingGroupPlace.branch_id.in_(list(branch_ids))
            )
        )
    )


def find_organisation(session: Session, *, community_id: int, code: str) -> Organisation | None:
    return find_coded(session, model=Organisation, community_id=community_id, code=code)


def buildings_by_ids(session: Session, *, ids: Sequence[int]) -> dict[int, Building]:
    if not ids:
        return {}
    return {b.id: b for b in session.scalars(select(Building).where(Building.id.in_(list(ids))))}


def orgs_by_ids(session: Session, *, ids: Sequence[int]) -> dict[int, Organisation]:
    if not ids:
        return {}
    return {
        o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(list(ids))))
    }


def leader_names(session: Session, *, branch_id: int) -> Sequence[str]:
    """Display names of the active building group leaders of a group."""
    return session.scalars(
        select(StaffUser.display_name)
        .join(StaffRole, StaffRole.user_id == StaffUser.id)
        .where(
            StaffRole.role == "building_group_leader",
            StaffRole.branch_id == branch_id,
            StaffUser.active.is_(True),
        )
        .order_by(StaffUser.display_name)
        .distinct()
    ).all()


class GroupRow:
    """A building group with its parent's code and how many volunteers it has."""

    def __init__(self, branch: PartyBranch, parent_code: str | None, volunteers: int) -> None:
        self.id, self.code, self.name = branch.id, branch.code, branch.name
        self.parent_code, self.volunteers = parent_code, volunteers


def group_places_of(
    session: Session, *, community_id: int
) -> list[tuple[GroupRow, list[tuple[str, str | None]]]]:
    """The community's building groups, each with what it serves as (building number or
    code, stairwell number or None), by code."""
    from renewmap.db.models import PartyVolunteer

    parent = PartyBranch.__table__.alias("parent")
    volunteers = (
        select(func.count(PartyVolunteer.id))
        .where(PartyVolunteer.branch_id == PartyBranch.id)
        .scalar_subquery()
    )
    groups = session.execute(
        select(PartyBranch, parent.c.code, volunteers)
        .outerjoin(parent, parent.c.id == PartyBranch.parent_id)
        .where(PartyBranch.community_id == community_id, PartyBranch.level == "building_group")
        .order_by(PartyBranch.code)
    ).all()
    places: dict[int, list[tuple[str, str | None]]] = {}
    for branch_id, number, code, stairwell in session.execute(
        select(BuildingGroupPlace.branch_id, Building.number, Building.code, Stairwell.number)
        .join(Building, Building.id == BuildingGroupPlace.building_id)
        .outerjoin(Stairwell, Stairwell.id == BuildingGroupPlace.stairwell_id)
        .where(Building.community_id == community_id)
        .order_by(BuildingGroupPlace.branch_id, Building.id, Stairwell.number)
    ):
        places.setdefault(branch_id, []).append((number or code or "", stairwell))
    return [(GroupRow(b, pc, int(n or 0)), places.get(b.id, [])) for b, pc, n in groups]


def links_of_group(session: Session, *, branch_id: int) -> Sequence[BuildingGroupPlace]:
    """The buildings and stairwells one building group serves (its link rows)."""
    return session.scalars(
        select(BuildingGroupPlace).where(BuildingGroupPlace.branch_id == branch_id)
    ).all()


def volunteers_of(session: Session, *, branch_id: int) -> Sequence[Any]:
    from renewmap.db.models import PartyVolunteer

    return session.scalars(
        select(PartyVolunteer)
        .where(PartyVolunteer.branch_id == branch_id)
        .order_by(PartyVolunteer.id)
    ).all()


def property_companies(session: Session, *, community_id: int) -> Sequence[Organisation]:
    return session.scalars(
        select(Organisation)
        .where(Organisation.community_id == community_id, Organisation.kind == "property_company")
        .order_by(Organisation.code)
    ).all()


def org_in_use(session: Session, *, org_id: int) -> bool:
    """Whether requests were handed to the organisation or staff hold a role in it."""
    from renewmap.db.models import Request

    handed = session.scalar(select(Request.id).where(Request.assigned_org_id == org_id).limit(1))
    staff = session.scalar(select(StaffRole.id).where(StaffRole.org_id == org_id).limit(1))
    return handed is not None or staff is not None


def organisations_of_community(session: Session, *, community_id: int) -> Sequence[Organisation]:
    return session.scalars(
        select(Organisation)
        .where(Organisation.community_id == community_id)
        .order_by(Organisation.kind, Organisation.code)
    ).all()


def community_ids_of_buildings(session: Session, *, building_ids: Sequence[int]) -> set[int]:
    if not building_ids:
        return set()
    return set(
        session.scalars(select(Building.community_id).where(Building.id.in_(list(building_ids))))
    )


def community_ids_of_orgs(session: Session, *, org_ids: Sequence[int]) -> set[int]:
    if not org_ids:
        return set()
    return set(
        session.scalars(select(Organisation.community_id).where(Organisation.id.in_(list(org_ids))))
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


def grids_by_code_any(
    session: Session, *, code: str, community_code: str | None = None
) -> Sequence[Grid]:
    stmt = select(Grid).where(Grid.code == code)
    if community_code:
        stmt = stmt.join(Community, Community.id == Grid.community_id).where(
            Community.code == community_code
        )
    return session.scalars(stmt).all()


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


def grid_branches_of_community(
    session: Session, *, community_id: int
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, code, name, branch_id, branch_code, branch_name) of the community's grids."""
    return session.execute(
        select(
            Grid.id,
            Grid.code,
            Grid.name,
            Grid.branch_id,
            PartyBranch.code.label("branch_code"),
            PartyBranch.name.label("branch_name"),
        )
        .outerjoin(PartyBranch, PartyBranch.id == Grid.branch_id)
        .where(Grid.community_id == community_id)
        .order_by(Grid.code)
    ).all()


def grid_codes_of_community(
    session: Session, *, community_id: int
) -> Sequence[Row[*tuple[Any, ...]]]:
    return session.execute(
        select(Grid.id, Grid.code, Grid.name)
        .where(Grid.community_id == community_id)
        .order_by(Grid.code)
    ).all()


def buildings_by_number(
    session: Session, *, number: str, community_code: str | None = None
) -> Sequence[Building]:
    stmt = select(Building).where(Building.number == number)
    if community_code:
        stmt = stmt.join(Community, Community.id == Building.community_id).where(
            Community.code == community_code
        )
    return session.scalars(stmt.order_by(Building.id)).all()


def all_branches(session: Session) -> Sequence[PartyBranch]:
    return session.scalars(select(PartyBranch)).all()


def all_grid_codes(session: Session) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, code, branch_id) of every grid."""
    return session.execute(select(Grid.id, Grid.code, Grid.branch_id)).all()


def buildings_of_community(session: Session, *, community_id: int) -> Sequence[Building]:
    return session.scalars(
        select(Building).where(Building.community_id == community_id).order_by(Building.id)
    ).all()


def grids_of_community_by_code(session: Session, *, community_id: int) -> dict[str, Grid]:
    """The community's grids (ORM objects) keyed by code."""
    return {
        g.code: g for g in session.scalars(select(Grid).where(Grid.community_id == community_id))
    }


def grids_not_in(session: Session, *, community_id: int, codes: Sequence[str]) -> Sequence[Grid]:
    """The community's grids whose code is not among ``codes``."""
    return session.scalars(
        select(Grid).where(Grid.community_id == community_id, Grid.code.not_in(sorted(codes)))
    ).all()


def grid_in_use(session: Session, *, grid_id: int) -> bool:
    """Whether any request or staff role still names the grid."""
    return bool(
        session.scalar(select(func.count(Request.id)).where(Request.grid_id == grid_id))
        or session.scalar(select(func.count(StaffRole.id)).where(StaffRole.grid_id == grid_id))
    )


def unassign_buildings_of_grid(session: Session, *, grid_id: int) -> None:
    session.execute(
        Building.__table__.update().where(Building.grid_id == grid_id).values(grid_id=None)
    )


def compounds_by_code(
    session: Session, *, community_id: int, codes: Sequence[str]
) -> dict[str, Compound]:
    return {
        c.code: c
        for c in session.scalars(
            select(Compound).where(
                Compound.community_id == community_id, Compound.code.in_(list(codes))
            )
        )
    }


def move_compound(session: Session, *, from_id: int, to_id: int) -> list[int]:
    """Grids and buildings of compound ``from_id`` now belong to ``to_id``; returns the ids of
    the grids moved."""
    grid_ids = list(session.scalars(select(Grid.id).where(Grid.compound_id == from_id)))
    session.execute(
        Grid.__table__.update().where(Grid.compound_id == from_id).values(compound_id=to_id)
    )
    session.execute(
        Building.__table__.update().where(Building.compound_id == from_id).values(compound_id=to_id)
    )
    return grid_ids


def buildings_numbered(session: Session, *, community_id: int, number: str) -> Sequence[Building]:
    """The community's buildings with this number (one, unless the data is ambiguous)."""
    return session.scalars(
        select(Building).where(Building.community_id == community_id, Building.number == number)
    ).all()


def stairwell_numbered(session: Session, *, building_id: int, number: str) -> Stairwell | None:
    return session.scalar(
        select(Stairwell).where(Stairwell.building_id == building_id, Stairwell.number == number)
    )


def community_grids(session: Session, *, community_id: int) -> Sequence[Grid]:
    """The community's grids (ORM objects) by code."""
    return session.scalars(
        select(Grid).where(Grid.community_id == community_id).order_by(Grid.code)
    ).all()


def codes_by_id(session: Session, *, model: type[Any]) -> dict[int, str]:
    """id → code of every row of a coded table (grids, branches, sites, compounds…)."""
    return dict(session.execute(select(model.id, model.code)).all())


def branches_of_community(session: Session, *, community_id: int) -> Sequence[PartyBranch]:
    return session.scalars(
        select(PartyBranch)
        .where(PartyBranch.community_id == community_id)
        .order_by(PartyBranch.code)
    ).all()


def sites_coded(session: Session, *, code: str) -> Sequence[Site]:
    """Sites with this code, in any community (the caller tells them apart by place)."""
    return session.scalars(select(Site).where(Site.code == code)).all()


def find_site(session: Session, *, community_id: int, code: str) -> Site | None:
    return find_coded(session, model=Site, community_id=community_id, code=code)


def communities_of_subdistrict(session: Session, *, subdistrict_id: int) -> Sequence[Community]:
    return session.scalars(
        select(Community).where(Community.subdistrict_id == subdistrict_id).order_by(Community.code)
    ).all()


def sites_by_stage(session: Session, *, community_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """community id → {step of the participatory process (or "" when not started): sites}."""
    out: dict[int, dict[str, int]] = {}
    if not community_ids:
        return out
    for cid, stage, n in session.execute(
        select(Site.community_id, Site.stage, func.count(Site.id))
        .where(Site.community_id.in_(list(community_ids)))
        .group_by(Site.community_id, Site.stage)
    ):
        out.setdefault(int(cid), {})[stage or ""] = int(n)
    return out


def facilities_of_community(session: Session, *, community_id: int) -> Sequence[Facility]:
    return session.scalars(
        select(Facility).where(Facility.community_id == community_id).order_by(Facility.id)
    ).all()


def sites_of_community(session: Session, *, community_id: int) -> Sequence[Site]:
    return session.scalars(
        select(Site).where(Site.community_id == community_id).order_by(Site.code)
    ).all()


def community_has_grids(session: Session, *, community_id: int) -> bool:
    return (
        session.scalar(select(Grid.id).where(Grid.community_id == community_id).limit(1))
        is not None
    )


def buildings_to_assign(
    session: Session, *, community_id: int, only_unassigned: bool
) -> Sequence[Building]:
    """The community's buildings (only those in no grid yet, if ``only_unassigned``)."""
    stmt = select(Building).where(Building.community_id == community_id)
    if only_unassigned:
        stmt = stmt.where(Building.grid_id.is_(None))
    return session.scalars(stmt).all()


# --- setting a community up (issue 15) ---------------------------------------------------------


def communities_near(
    session: Session, *, bounds: Bounds, exclude_code: str | None = None
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(code, name, wkb) of the communities whose bbox meets ``bounds`` (an outline's overlap
    candidates), leaving out ``exclude_code``."""
    t = Community.__table__
    stmt = select(t.c.code, t.c.name, geometry_wkb(session, t.c.geom)).where(
        bbox_filter(session, t, bounds, exact=False)
    )
    if exclude_code is not None:
        stmt = stmt.where(t.c.code != exclude_code)
    return session.execute(stmt.order_by(t.c.code)).all()


def community_request_count(session: Session, *, community_id: int) -> int:
    """Requests a community holds (hidden ones and closed ones included)."""
    return int(
        session.scalar(
            select(func.count()).select_from(Request).where(Request.community_id == community_id)
        )
        or 0
    )


def delete_community(session: Session, *, community_id: int) -> None:
    """Delete a community that holds no requests, with everything that belongs to it.

    Its places, branches, drafts, keys, channels and roles go with it (the schema's cascades);
    the tree's own links are cut first so that no order of deletion trips over them."""
    from sqlalchemy import delete, update

    session.flush()
    session.execute(
        update(Building)
        .where(Building.community_id == community_id)
        .values(grid_id=None, compound_id=None)
    )
    session.execute(
        update(Grid)
        .where(Grid.community_id == community_id)
        .values(branch_id=None, compound_id=None)
    )
    session.execute(
        update(PartyBranch).where(PartyBranch.community_id == community_id).values(parent_id=None)
    )
    session.execute(delete(Community).where(Community.id == community_id))
    session.expunge_all()


def buildings_matching(session: Session, *, community_id: int, ref: str) -> Sequence[Building]:
    """The community's buildings a person means by ``ref``: its number (7号楼), code or OSM id."""
    for column in (Building.number, Building.code, Building.osm_id):
        found = session.scalars(
            select(Building)
            .where(Building.community_id == community_id, column == ref)
            .order_by(Building.id)
        ).all()
        if found:
            return found
    return []


def sourced_rows(
    session: Session, *, model: type[Any], community_id: int, key: str
) -> Sequence[Any]:
    """The community's rows of one layer that carry a source id in column ``key`` (osm_id or
    code): what a re-import of the same source may update or remove."""
    column = getattr(model, key)
    return session.scalars(
        select(model).where(model.community_id == community_id, column.is_not(None))
    ).all()


def delete_rows(session: Session, *, model: type[Any], ids: Sequence[int]) -> None:
    from sqlalchemy import delete

    if ids:
        session.execute(delete(model).where(model.id.in_(sorted(ids))))


def branches_listing(
    session: Session, *, community_id: int | None = None
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(code, name, level, parent code, community code) of the party branches, a community's
    or all, by community and code."""
    from sqlalchemy.orm import aliased

    parent = aliased(PartyBranch)
    stmt = (
        select(PartyBranch.code, PartyBranch.name, PartyBranch.level, parent.code, Community.code)
        .outerjoin(parent, parent.id == PartyBranch.parent_id)
        .outerjoin(Community, Community.id == PartyBranch.community_id)
    )
    if community_id is not None:
        stmt = stmt.where(PartyBranch.community_id == community_id)
    return session.execute(stmt.order_by(Community.code, PartyBranch.code)).all()


def grid_codes_by_branch(
    session: Session, *, community_id: int | None = None
) -> dict[str, list[str]]:
    """Branch code → the codes of its grids."""
    stmt = select(PartyBranch.code, Grid.code).join(Grid, Grid.branch_id == PartyBranch.id)
    if community_id is not None:
        stmt = stmt.where(Grid.community_id == community_id)
    out: dict[str, list[str]] = {}
    for branch, grid in session.execute(stmt.order_by(Grid.code)).all():
        out.setdefault(branch, []).append(grid)
    return out


def find_by_osm_id(
    session: Session, *, model: type[Any], community_id: int, osm_id: str
) -> Any | None:
    """The community's feature of this kind imported from this OpenStreetMap object."""
    return session.scalars(
        select(model)
        .where(model.community_id == community_id, model.osm_id == osm_id)
        .order_by(model.id)
        .limit(1)
    ).first()


def grid_drafts_of_community(session: Session, *, community_id: int) -> Sequence[GridDraft]:
    """The community's grid drafts, newest first."""
    return session.scalars(
        select(GridDraft)
        .where(GridDraft.community_id == community_id)
        .order_by(GridDraft.id.desc())
    ).all()


# --- residents' place search (issue 16) ---------------------------------------------------------

# What a resident can search for by name, and which column holds the name people use.
NAMED_LAYERS: tuple[tuple[str, str], ...] = (
    ("building", "number"),
    ("building", "name"),
    ("site", "name"),
    ("facility", "name"),
    ("grid", "name"),
    ("green", "name"),
    ("water", "name"),
    ("compound", "name"),
)


def named_features(
    session: Session, *, community_id: int, text: str | None, limit: int
) -> list[tuple[str, int, str, bytes]]:
    """(kind, id, name, geometry WKB) of the community's named features whose name contains
    ``text`` (case-insensitive; all of them when ``text`` is empty), at most ``limit`` per
    searched column. Buildings are found by their number (17号楼) and their name."""
    out: list[tuple[str, int, str, bytes]] = []
    for kind, column_name in NAMED_LAYERS:
        model: Any = LAYER_MODELS[kind]
        column = getattr(model, column_name)
        stmt = select(model.id, column, geometry_wkb(session, model.geom)).where(
            model.community_id == community_id, column.is_not(None), column != ""
        )
        if kind == "compound":
            stmt = stmt.where(model.merged_into_id.is_(None))  # a merged compound is history
        if text:
            stmt = stmt.where(column.ilike(contains_pattern(text), escape=LIKE_ESCAPE))
        for row in session.execute(stmt.order_by(model.id).limit(limit)):
            out.append((kind, int(row[0]), str(row[1]), bytes(row[2])))
    return out


# --- the branch chain and stairwells of the setup page (setuporg) ------------------------------


def branch_holds(session: Session, *, branch_id: int) -> dict[str, int]:
    """What still names a party branch (so that removing it would lose something): branches
    under it, staff roles, requests, patrols, building-group places and volunteers."""
    from renewmap.db.models import PartyVolunteer, Patrol

    def count(column: Any) -> int:
        return int(session.scalar(select(func.count()).where(column == branch_id)) or 0)

    return {
        "branches": count(PartyBranch.parent_id),
        "staff": count(StaffRole.branch_id),
        "requests": count(Request.branch_id),
        "patrols": count(Patrol.branch_id),
        "places": count(BuildingGroupPlace.branch_id),
        "volunteers": count(PartyVolunteer.branch_id),
    }


def stairwells_of_community(session: Session, *, community_id: int) -> Sequence[Stairwell]:
    """The community's stairwells, by building and number."""
    return session.scalars(
        select(Stairwell)
        .where(Stairwell.community_id == community_id)
        .order_by(Stairwell.building_id, Stairwell.id)
    ).all()


def stairwells_of_building(session: Session, *, building_id: int) -> Sequence[Stairwell]:
    return session.scalars(
        select(Stairwell).where(Stairwell.building_id == building_id).order_by(Stairwell.id)
    ).all()


def stairwell_in_use(session: Session, *, stairwell_id: int) -> bool:
    """Whether a building group serves just this stairwell (removing it would drop that)."""
    return bool(
        session.scalar(
            select(func.count(BuildingGroupPlace.id)).where(
                BuildingGroupPlace.stairwell_id == stairwell_id
            )
        )
    )
