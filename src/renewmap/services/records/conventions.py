"""Conventions (公约): a building's (楼组文明公约), a stairwell's or a facility's (车棚使用公约),
each in versions residents read publicly, with how many households agreed to each version.

The households who agreed are counted by staff from the signatures (the consultation's household
codes are not on this branch's main yet); a count above the households the convention binds is
refused. A place is named as residents name it (7号楼, 7号楼 2单元, 车棚).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import Community, Convention, ConventionVersion
from renewmap.db.queries.places import buildings_numbered, community_by_code
from renewmap.db.queries.records import (
    buildings_by_ids,
    conventions_of_community,
    find_convention,
    versions_of_conventions,
)
from renewmap.errors import InvalidInput, NotFound
from renewmap.i18n import t
from renewmap.services.access.accounts import Principal
from renewmap.services.records import access
from renewmap.services.records.common import check_code, label, parse_day, place_on_map
from renewmap.services.records.terms import CONVENTION_SCOPES
from renewmap.spatial.geometry import from_db, to_geojson

MAX_HOUSEHOLDS = 100_000


def _place(c: Convention, buildings: dict[int, Any]) -> str:
    building = buildings.get(c.building_id) if c.building_id is not None else None
    where = str(names.building(building.number, building.name)) if building else ""
    if c.scope == "stairwell":
        return t("{building} {unit}", building=where, unit=c.unit or "")
    if c.scope == "facility":
        return c.facility or ""
    return where


def _views(session: Session, rows: Sequence[Convention]) -> list[dict[str, Any]]:
    versions: dict[int, list[ConventionVersion]] = {}
    for v in versions_of_conventions(session, convention_ids=[c.id for c in rows]):
        versions.setdefault(v.convention_id, []).append(v)
    buildings = buildings_by_ids(
        session, ids=sorted({c.building_id for c in rows if c.building_id is not None})
    )
    out = []
    for c in rows:
        mine = [
            {
                "number": v.number,
                "body": v.body,
                "adopted_on": v.adopted_on.isoformat(),
                "agreed": v.agreed,
            }
            for v in versions.get(c.id, [])
        ]
        out.append(
            {
                "id": c.id,
                "title": c.title,
                "scope": c.scope,
                "scope_label": label(CONVENTION_SCOPES, c.scope),
                "place": _place(c, buildings),
                "households": c.households,
                "geometry": to_geojson(from_db(c.geom)) if c.geom is not None else None,
                "current": mine[0] if mine else None,
                "versions": mine,
            }
        )
    return out


def public_list(session: Session, *, community_code: str) -> dict[str, Any]:
    """Every convention of the community with its versions (they are meant to be read)."""
    community = community_by_code(session, code=community_code)
    return {
        "community": {"code": community.code, "name": community.name},
        "conventions": _views(
            session, conventions_of_community(session, community_id=community.id)
        ),
    }


def _agreed(value: Any, households: int | None) -> int:
    agreed = int(value)
    if agreed < 0 or (households is not None and agreed > households):
        raise InvalidInput(
            "agreed: 0 to {limit} households",
            key="convention_agreed_out_of_range",
            limit=households if households is not None else MAX_HOUSEHOLDS,
            field="agreed",
        )
    return agreed


def create(
    session: Session, *, principal: Principal, community_code: str, data: dict[str, Any]
) -> dict[str, Any]:
    """A new convention with its first version."""
    community = access.kept_community(session, principal=principal, code=community_code)
    scope = check_code(data["scope"], CONVENTION_SCOPES, field="scope")
    convention = Convention(
        community_id=community.id,
        title=data["title"].strip(),
        scope=scope,
        created_by=principal.actor,
        geom=place_on_map(community, data.get("point"), field="point", points_only=True),
    )
    households = data.get("households")
    if scope in ("building", "stairwell"):
        building = _building(session, community, data.get("building"))
        convention.building_id = building.id
        if households is None and scope == "building":
            households = building.households
    if scope == "stairwell":
        unit = (data.get("unit") or "").strip()
        if not unit:
            raise InvalidInput(
                "unit: name the stairwell (e.g. 2单元)", key="convention_unit_missing", field="unit"
            )
        convention.unit = unit
    if scope == "facility":
        facility = (data.get("facility") or "").strip()
        if not facility:
            raise InvalidInput(
                "facility: name the facility the convention is for (e.g. 车棚)",
                key="convention_facility_missing",
                field="facility",
            )
        convention.facility = facility
    convention.households = int(households) if households is not None else None
    version = _version(convention, data, number=1, actor=principal.actor)
    session.add(convention)
    session.flush()
    version.convention_id = convention.id
    session.add(version)
    session.flush()
    return _views(session, [convention])[0]


def _building(session: Session, community: Community, number: str | None) -> Any:
    found = buildings_numbered(session, community_id=community.id, number=(number or "").strip())
    if len(found) != 1:
        raise NotFound(
            "building '{number}' not found in {community}",
            key="convention_building_not_found",
            number=number or "",
            community=community.name,
            field="building",
        )
    return found[0]


def _version(
    convention: Convention, data: dict[str, Any], *, number: int, actor: str
) -> ConventionVersion:
    day = parse_day(data["adopted_on"], field="adopted_on")
    assert day is not None
    return ConventionVersion(
        number=number,
        body=data["body"].strip(),
        adopted_on=day,
        agreed=_agreed(data["agreed"], convention.households),
        created_by=actor,
    )


def add_version(
    session: Session, *, principal: Principal, convention_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """A new version of the text (the earlier ones stay readable)."""
    convention = find_convention(session, convention_id=convention_id)
    missing = NotFound(
        "convention {id} not found in your area",
        key="convention_not_found",
        id=convention_id,
        field="id",
    )
    if convention is None:
        raise missing
    try:
        access.require_keeper_of(session, principal=principal, community_id=convention.community_id)
    except NotFound:
        raise missing from None
    versions = versions_of_conventions(session, convention_ids=[convention.id])
    last = versions[0] if versions else None
    version = _version(
        convention, data, number=(last.number if last else 0) + 1, actor=principal.actor
    )
    if last is not None and version.adopted_on < last.adopted_on:
        raise InvalidInput(
            "adopted_on: version {number} was adopted on {day}; a new version comes after it",
            key="convention_version_before_last",
            number=last.number,
            day=last.adopted_on.isoformat(),
            field="adopted_on",
        )
    version.convention_id = convention.id
    session.add(version)
    session.flush()
    return _views(session, [convention])[0]
