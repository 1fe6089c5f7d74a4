"""A community's organisation as staff see and set it up: what its top party level is called
and when its patrols are due, its property company and owners' committee, its building party
groups with the buildings or stairwells they serve, their leaders and their party-member
volunteers.

Written so that a setup page can create and change all of it (issue 15): every change is
checked here and refused with a reason; nothing here renders or speaks HTTP.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import BuildingGroupPlace, Community, PartyBranch, PartyVolunteer
from renewmap.db.queries.places import (
    buildings_numbered,
    community_by_code,
    find_branch,
    find_coded,
    group_places_of,
    leader_names,
    links_of_group,
    org_in_use,
    organisations_of_community,
    stairwell_numbered,
    volunteers_of,
)
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.i18n import N_, Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import Scope, require_staff_scope, scope_of
from renewmap.services.requests.patrols import parse_rule
from renewmap.validation import strip_text
from renewmap.vocabulary import BUILDING_GROUP, ORG_KINDS, TOP_LEVELS, Role

MAX_NAME = 100
MAX_PHONE = 32
MAX_PLACES = 200
MAX_ORG_NAME = 200
ORG_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_admin_of(principal: Principal, community: Community) -> bool:
    """The community's admin, or an admin of its subdistrict."""
    return any(
        (g.role == Role.COMMUNITY_ADMIN and g.community_id == community.id)
        or (g.role == Role.SUBDISTRICT_ADMIN and g.subdistrict_id == community.subdistrict_id)
        for g in principal.roles
    )


# What only a community's admins may do (msgids of ``require_admin_of``'s message).
ADMIN_TASKS = {
    "organisation": N_("change its organisation"),
    "group_places": N_("change what its building groups serve"),
    "reply_templates": N_("keep its reply templates"),
}


def require_admin_of(principal: Principal, community: Community, *, task: str) -> None:
    """403 unless the caller is an admin of the community (``task``: a key of ADMIN_TASKS)."""
    if not is_admin_of(principal, community):
        raise Forbidden(
            "only an admin of {community} may {task}",
            key="community_admin_only",
            community=community.name,
            task=Msg(ADMIN_TASKS[task]),
            field="community",
        )


def _community_seen(session: Session, principal: Principal, community_code: str) -> Community:
    """A community the caller's area reaches into (404 unknown, 403 not theirs)."""
    community = community_by_code(session, code=community_code)
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    if community.id not in scope.touched_communities(session):
        raise Forbidden(
            "{community} is not in your area",
            key="community_outside_scope",
            community=community.name,
            field="community",
        )
    return community


def overview(session: Session, *, principal: Principal, community_code: str) -> dict[str, Any]:
    """The community's organisation: settings, organisations, building groups with what they
    serve, their leaders and how many volunteers (names and phones only per group)."""
    community = _community_seen(session, principal, community_code)
    groups = []
    for branch, places in group_places_of(session, community_id=community.id):
        groups.append(
            {
                "code": branch.code,
                "name": branch.name,
                "parent": branch.parent_code,
                "places": [
                    {"building": building, "stairwell": stairwell} for building, stairwell in places
                ],
                "leaders": list(leader_names(session, branch_id=branch.id)),
                "volunteers": branch.volunteers,
            }
        )
    return {
        "community": community.code,
        "top_level": community.top_level,
        "patrol_rule": community.patrol_rule,
        "organisations": [
            {"code": o.code, "name": o.name, "kind": o.kind, "phone": o.phone}
            for o in organisations_of_community(session, community_id=community.id)
        ],
        "building_groups": groups,
    }


def configure(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    top_level: str | None = None,
    patrol_rule: str | None = None,
) -> dict[str, Any]:
    """Set what the top level is called (党总支 or 社区党委) and when patrols are due."""
    community = community_by_code(session, code=community_code)
    require_admin_of(principal, community, task="organisation")
    if top_level is not None and top_level not in TOP_LEVELS:
        raise InvalidInput(
            "unknown top level '{level}'; use {levels}",
            key="top_level_unknown",
            level=top_level,
            levels=tuple(TOP_LEVELS),
            field="top_level",
        )
    if patrol_rule is not None:
        parse_rule(patrol_rule)
    community.top_level = top_level or community.top_level
    community.patrol_rule = (patrol_rule or community.patrol_rule).strip().lower()
    session.flush()
    return overview(session, principal=principal, community_code=community_code)


def put_organisation(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    code: str,
    name: str,
    kind: str,
    compound_code: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    """Create or change one of the community's organisations (物业 or 业委会) by its code, as
    ``import-organisations`` does for a file: its name, kind, compound and service desk's phone.
    Its staff then get accounts with ``property_staff=`` / ``owners_committee=COMMUNITY/CODE``."""
    from renewmap.db.models import Compound, Organisation

    community = community_by_code(session, code=community_code)
    require_admin_of(principal, community, task="organisation")
    code = (code or "").strip()
    if not ORG_CODE.match(code):
        raise InvalidInput(
            "an organisation's code: 1–64 letters, digits, - or _ (e.g. WY1), got '{code}'",
            key="org_code_invalid",
            code=code,
            field="code",
        )
    if kind not in ORG_KINDS:
        raise InvalidInput(
            "unknown kind '{kind}'; use {kinds}",
            key="org_kind_unknown",
            kind=kind,
            kinds=tuple(ORG_KINDS),
            field="kind",
        )
    name = strip_text(name or "")
    if not name or len(name) > MAX_ORG_NAME:
        raise InvalidInput(
            "the organisation's name: 1 to {limit} characters",
            key="org_name_invalid",
            limit=MAX_ORG_NAME,
            field="name",
        )
    phone = (phone or "").strip() or None
    if phone is not None and (len(phone) > MAX_PHONE or not _phone_like(phone)):
        raise InvalidInput(
            "phone: digits, spaces, + and - only (at most {limit})",
            key="phone_format_invalid",
            limit=MAX_PHONE,
            field="phone",
        )
    compound = None
    if compound_code:
        compound = find_coded(
            session, model=Compound, community_id=community.id, code=compound_code.strip()
        )
        if compound is None:
            raise NotFound(
                "compound '{compound}' not found in {community}",
                key="compound_not_found",
                compound=compound_code,
                community=community.name,
                field="compound",
            )
    org = find_coded(session, model=Organisation, community_id=community.id, code=code)
    if org is not None and org.kind != kind and org_in_use(session, org_id=org.id):
        raise Conflict(
            "'{code}' ({name}) has requests or staff as {kind}: it cannot change its kind",
            key="org_kind_in_use",
            code=code,
            name=org.name,
            kind=Msg(ORG_KINDS[org.kind]),
            field="kind",
        )
    org = org or Organisation(community_id=community.id, code=code)
    org.name, org.kind, org.phone = name, kind, phone
    org.compound_id = compound.id if compound is not None else None
    session.add(org)
    session.flush()
    return overview(session, principal=principal, community_code=community.code)


def building_group(session: Session, *, code: str) -> PartyBranch:
    group = find_branch(session, code=code)
    if group is None:
        raise NotFound(
            "party branch '{branch}' not found", key="branch_not_found", branch=code, field="group"
        )
    if group.level != BUILDING_GROUP:
        raise InvalidInput(
            "'{branch}' ({name}) is a {level}, not a building party group",
            key="branch_not_building_group",
            branch=code,
            name=group.name,
            level=names.label(names.BRANCH_LEVELS, group.level),
            field="group",
        )
    return group


def set_places(
    session: Session,
    *,
    principal: Principal,
    group_code: str,
    buildings: list[str],
    stairwells: list[str],
) -> dict[str, Any]:
    """What a building group serves, replaced as a whole: whole buildings by number or code
    (17号楼) and single stairwells as BUILDING/STAIRWELL (17号楼/2单元). All checked first."""
    group = building_group(session, code=group_code)
    community = session.get(Community, group.community_id) if group.community_id else None
    if community is None:
        raise InvalidInput(
            "building group '{branch}' belongs to no community",
            key="building_group_without_community",
            branch=group_code,
            field="group",
        )
    require_admin_of(principal, community, task="group_places")
    if len(buildings) + len(stairwells) > MAX_PLACES:
        raise InvalidInput(
            "at most {limit} places per group",
            key="group_too_many_places",
            limit=MAX_PLACES,
            field="buildings",
        )
    links: list[BuildingGroupPlace] = []
    for name in buildings:
        building = _building(session, community, name, field="buildings")
        links.append(BuildingGroupPlace(branch_id=group.id, building_id=building.id))
    for name in stairwells:
        building_name, _, number = name.partition("/")
        building = _building(session, community, building_name, field="stairwells")
        stairwell = stairwell_numbered(session, building_id=building.id, number=number.strip())
        if not number.strip() or stairwell is None:
            raise NotFound(
                "stairwell '{stairwell}' not found (name it BUILDING/STAIRWELL, e.g. 17号楼/2单元)",
                key="stairwell_not_found",
                stairwell=name,
                field="stairwells",
            )
        links.append(
            BuildingGroupPlace(
                branch_id=group.id, building_id=building.id, stairwell_id=stairwell.id
            )
        )
    for old in links_of_group(session, branch_id=group.id):
        session.delete(old)
    session.flush()
    session.add_all(links)
    session.flush()
    return overview(session, principal=principal, community_code=community.code)


def _building(session: Session, community: Community, name: str, *, field: str) -> Any:
    from renewmap.db.models import Building

    name = name.strip()
    found = find_coded(session, model=Building, community_id=community.id, code=name) or next(
        iter(buildings_numbered(session, community_id=community.id, number=name)), None
    )
    if found is None:
        raise NotFound(
            "no building '{ref}' in community {community}",
            key="building_not_found",
            ref=name,
            community=community.name,
            field=field,
        )
    return found


# --- party-member volunteers -------------------------------------------------------------------


def _covers_group(session: Session, scope: Scope, group: PartyBranch) -> bool:
    """Staff who cover any building the group serves (its leader, the grid's lead and branch
    secretary, the community's admins) may see and keep its volunteers."""
    from renewmap.db.models import Building

    if group.community_id in scope.community_ids:
        return True
    for link in links_of_group(session, branch_id=group.id):
        building = session.get(Building, link.building_id)
        if building is None:
            continue
        if building.id in scope.building_ids or building.grid_id in scope.grid_ids:
            return True
    return False


def _group_in_scope(session: Session, principal: Principal, group_code: str) -> PartyBranch:
    group = building_group(session, code=group_code)
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    if not _covers_group(session, scope, group):
        raise Forbidden(
            "building group '{branch}' is not in your area",
            key="building_group_outside_scope",
            branch=group_code,
            field="group",
        )
    return group


def _volunteer_view(v: PartyVolunteer) -> dict[str, Any]:
    consent = v.consent_at if v.consent_at.tzinfo else v.consent_at.replace(tzinfo=UTC)
    return {
        "id": v.id,
        "name": v.name,
        "phone": v.phone,
        "consent_at": consent.isoformat(),
        "consent_recorded_by": v.consent_recorded_by,
    }


def volunteers(session: Session, *, principal: Principal, group_code: str) -> dict[str, Any]:
    """A group's party-member volunteers with their phones (staff covering the group only)."""
    group = _group_in_scope(session, principal, group_code)
    return {
        "group": {"code": group.code, "name": group.name},
        "volunteers": [_volunteer_view(v) for v in volunteers_of(session, branch_id=group.id)],
    }


def add_volunteer(
    session: Session,
    *,
    principal: Principal,
    group_code: str,
    name: str,
    phone: str | None,
    consent: bool,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Attach a party member to a building group, only with their consent (recorded: when,
    and who recorded it)."""
    group = _group_in_scope(session, principal, group_code)
    if not consent:
        raise InvalidInput(
            "a volunteer is listed only with their consent: ask them, then tick consent",
            key="volunteer_consent_missing",
            field="consent",
        )
    name = strip_text(name or "")
    if not name:
        raise InvalidInput(
            "the volunteer's name is required", key="volunteer_name_missing", field="name"
        )
    if len(name) > MAX_NAME:
        raise InvalidInput(
            "name is longer than {limit} characters",
            key="volunteer_name_too_long",
            limit=MAX_NAME,
            field="name",
        )
    phone = (phone or "").strip() or None
    if phone is not None and (len(phone) > MAX_PHONE or not _phone_like(phone)):
        raise InvalidInput(
            "phone: digits, spaces, + and - only (at most {limit})",
            key="phone_format_invalid",
            limit=MAX_PHONE,
            field="phone",
        )
    v = PartyVolunteer(
        branch_id=group.id,
        name=name,
        phone=phone,
        consent_at=now or datetime.now(UTC),
        consent_recorded_by=principal.actor,
    )
    session.add(v)
    session.flush()
    return _volunteer_view(v)


def _phone_like(phone: str) -> bool:
    return all(c.isdigit() or c in " +-()" for c in phone) and any(c.isdigit() for c in phone)


def remove_volunteer(
    session: Session, *, principal: Principal, group_code: str, volunteer_id: int
) -> None:
    """Consent withdrawn or no longer active: the record (and the phone) goes."""
    group = _group_in_scope(session, principal, group_code)
    v = session.get(PartyVolunteer, volunteer_id)
    if v is None or v.branch_id != group.id:
        raise NotFound(
            "volunteer {id} not found in this group",
            key="volunteer_not_found",
            id=volunteer_id,
            field="id",
        )
    session.delete(v)
    session.flush()
