"""The branch chain of the setup page (issue 15): a community's general branch (党总支, or its
party committee) and the grid party branches (支部) under it, with the grids each one owns.

The admin creates, renames and removes branches and attaches each grid to one; the chain is
saved as a whole (everything checked first, nothing half-written) and can be revisited like
every setup step. A community in setup is invisible to residents, so the chain is too until
it is published. The validator says what is still missing: no general branch, a grid
without a branch, a branch without a grid. Building party groups (楼组) below the branches are
kept as they are (see services.places.organisation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Community, PartyBranch
from renewmap.db.queries.places import (
    branch_holds,
    branches_of_community,
    community_by_code,
    community_grids,
    find_branch,
    general_branch_of,
)
from renewmap.errors import Conflict, InvalidInput
from renewmap.i18n import N_, Msg, Sentences
from renewmap.services.access.accounts import Principal
from renewmap.services.places import boundaries
from renewmap.services.places.routing import reroute_open_requests
from renewmap.validation import strip_text
from renewmap.vocabulary import GENERAL, GRID_BRANCH

MAX_BRANCHES = 50
MAX_NAME = 200  # party_branch.name
BRANCH_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# What keeps a branch from being removed (branch_holds' keys), as people say it.
HOLDS = {
    "branches": N_("{n} building party group(s) under it"),
    "staff": N_("{n} staff role(s)"),
    "requests": N_("{n} request(s)"),
    "patrols": N_("{n} patrol(s)"),
    "places": N_("{n} building(s) or stairwell(s) it serves"),
    "volunteers": N_("{n} volunteer(s)"),
}


@dataclass
class BranchIn:
    """One grid party branch as the page sends it: its code (None: a new one, coded for it),
    name and the codes of the grids it owns."""

    name: str
    code: str | None = None
    grids: list[str] = field(default_factory=list)


def _community(session: Session, principal: Principal, code: str) -> Community:
    community = community_by_code(session, code=code)
    boundaries.require_admin(session, principal, community)
    return community


def _grid_branches(session: Session, community: Community) -> list[PartyBranch]:
    return [
        b
        for b in branches_of_community(session, community_id=community.id)
        if b.level == GRID_BRANCH
    ]


def problems(session: Session, community: Community) -> list[dict[str, Any]]:
    """What the chain still lacks, each with the grid or branch it is about."""
    out: list[dict[str, Any]] = []
    if general_branch_of(session, community_id=community.id) is None:
        out.append(
            {
                "kind": "no_general",
                "message": Msg("{community} has no general branch yet", community=community.name),
                "branch": None,
                "grid": None,
            }
        )
    branches = _grid_branches(session, community)
    by_id = {b.id: b for b in branches}
    owned: set[int] = set()
    for g in community_grids(session, community_id=community.id):
        if g.branch_id is None:
            out.append(
                {
                    "kind": "grid_without_branch",
                    "message": Msg("grid {grid} has no party branch", grid=g.name),
                    "branch": None,
                    "grid": g.code,
                }
            )
        elif g.branch_id in by_id:
            owned.add(g.branch_id)
    for b in branches:
        if b.id not in owned:
            out.append(
                {
                    "kind": "empty_branch",
                    "message": Msg("party branch {branch} has no grid", branch=b.name),
                    "branch": b.code,
                    "grid": None,
                }
            )
    return out


def view(session: Session, community: Community) -> dict[str, Any]:
    general = general_branch_of(session, community_id=community.id)
    branches = _grid_branches(session, community)
    codes = {b.id: b.code for b in branches}
    if general is not None:
        codes[general.id] = general.code
    grids = community_grids(session, community_id=community.id)
    return {
        "community": community.code,
        "top_level": community.top_level,
        "general": {"code": general.code, "name": general.name} if general else None,
        "branches": [
            {
                "code": b.code,
                "name": b.name,
                "grids": [g.code for g in grids if g.branch_id == b.id],
            }
            for b in branches
        ],
        "grids": [
            {
                "code": g.code,
                "name": g.name,
                "branch": codes.get(g.branch_id) if g.branch_id is not None else None,
            }
            for g in grids
        ],
        "problems": problems(session, community),
    }


def chain(session: Session, *, principal: Principal, community_code: str) -> dict[str, Any]:
    """The community's branch chain, its grids and what is still missing (its admins)."""
    return view(session, _community(session, principal, community_code))


def _name(raw: str | None, *, where: str) -> str:
    name = strip_text(raw or "")
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(
            "{where}: a branch's name is 1 to {limit} characters",
            key="branch_name_invalid",
            where=where,
            limit=MAX_NAME,
            field=where,
        )
    return name


def _code(raw: str | None, *, where: str) -> str | None:
    code = (raw or "").strip()
    if not code:
        return None
    if not BRANCH_CODE.match(code):
        raise InvalidInput(
            "{where}: a branch's code is 1–64 letters, digits, - or _, got '{code}'",
            key="branch_code_invalid",
            where=where,
            code=code,
            field=where,
        )
    return code


def _free_code(session: Session, prefix: str, taken: set[str]) -> str:
    n = 1
    while f"{prefix}{n}" in taken or find_branch(session, code=f"{prefix}{n}") is not None:
        n += 1
    return f"{prefix}{n}"


def _owned_elsewhere(
    session: Session, community: Community, code: str, level: str, where: str
) -> PartyBranch | None:
    """The branch with this code if it is this community's at ``level``; a code used by
    another community's branch, or by one of another level here, is refused."""
    found = find_branch(session, code=code)
    if found is not None and (found.community_id != community.id or found.level != level):
        raise Conflict(
            "{where}: the code '{code}' is taken by {name}",
            key="branch_code_taken",
            where=where,
            code=code,
            name=found.name,
            field=where,
        )
    return found


def save(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    general_name: str,
    general_code: str | None = None,
    branches: list[BranchIn],
) -> dict[str, Any]:
    """Replace the chain as a whole: the general branch (created or renamed), its grid
    branches (created, renamed; those left out are removed, unless something still names
    them) and each grid's branch (a grid left out of every branch has none). All checked
    before anything is written; open requests follow their grid's new branch."""
    community = _community(session, principal, community_code)
    if len(branches) > MAX_BRANCHES:
        raise InvalidInput(
            "at most {limit} party branches in one community, got {n}",
            key="branch_chain_too_many",
            limit=MAX_BRANCHES,
            n=len(branches),
            field="branches",
        )
    g_name = _name(general_name, where="general.name")
    g_code = _code(general_code, where="general.code")
    general = general_branch_of(session, community_id=community.id)
    if general is not None:
        g_code = general.code  # a branch keeps its code (staff roles and files name it)
    elif g_code is not None:
        _owned_elsewhere(session, community, g_code, GENERAL, "general.code")
    grids = {g.code: g for g in community_grids(session, community_id=community.id)}
    existing = {b.code: b for b in _grid_branches(session, community)}
    wanted: list[tuple[str | None, str, list[str]]] = []
    seen_codes: set[str] = set()
    grid_owner: dict[str, int] = {}
    for n, b in enumerate(branches, start=1):
        where = f"branches.{n}"
        name = _name(b.name, where=f"{where}.name")
        code = _code(b.code, where=f"{where}.code")
        if code is not None:
            if code in seen_codes or code == g_code:
                raise InvalidInput(
                    "{where}: the code '{code}' is given twice",
                    key="branch_code_duplicate",
                    where=where,
                    code=code,
                    field=f"{where}.code",
                )
            seen_codes.add(code)
            if code not in existing:
                _owned_elsewhere(session, community, code, GRID_BRANCH, f"{where}.code")
        for grid_code in b.grids:
            if grid_code not in grids:
                raise InvalidInput(
                    "{where}: {community} has no grid '{grid}'",
                    key="branch_grid_unknown",
                    where=where,
                    community=community.name,
                    grid=grid_code,
                    field=f"{where}.grids",
                )
            if grid_code in grid_owner:
                raise InvalidInput(
                    "grid {grid} is attached to two branches ({first} and {second})",
                    key="branch_grid_twice",
                    grid=grids[grid_code].name,
                    first=grid_owner[grid_code],
                    second=n,
                    field=f"{where}.grids",
                )
            grid_owner[grid_code] = n
        wanted.append((code, name, list(b.grids)))
    removed = [old for code, old in existing.items() if code not in seen_codes]
    for old in removed:
        holds = {k: v for k, v in branch_holds(session, branch_id=old.id).items() if v}
        if holds:
            raise Conflict(
                "party branch {branch} cannot be removed: it still has {what}",
                key="branch_in_use",
                branch=old.name,
                what=Sentences([Msg(HOLDS[k], n=v) for k, v in holds.items()]),
                field="branches",
            )
    # all checked: write
    if general is None:
        default = f"{community.code}-GB"
        if g_code is None and find_branch(session, code=default) is not None:
            g_code = _free_code(session, default, set())
        general = PartyBranch(code=g_code or default, level=GENERAL, community_id=community.id)
        session.add(general)
    general.name = g_name
    session.flush()
    for g in grids.values():
        if g.branch_id is not None and any(g.branch_id == old.id for old in removed):
            g.branch_id = None
    for old in removed:
        session.delete(old)
    session.flush()
    taken = set(seen_codes)
    for code, name, owned in wanted:
        branch = existing.get(code) if code is not None else None
        if branch is None:
            code = code or _free_code(session, f"{community.code}-B", taken)
            taken.add(code)
            branch = PartyBranch(code=code, level=GRID_BRANCH, community_id=community.id)
            session.add(branch)
        branch.name, branch.parent_id = name, general.id
        session.flush()
        for grid_code in owned:
            grids[grid_code].branch_id = branch.id
    kept = {grids[c].id for c in grid_owner}
    ours = {b.id for b in _grid_branches(session, community)}
    for g in grids.values():
        if g.id not in kept and g.branch_id in ours:
            g.branch_id = None  # left out of every branch: it has none now
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    reroute_open_requests(session, community_id=community.id, actor=principal.actor)
    session.flush()
    return view(session, community)
