"""Conventions (公约): a building's (楼组文明公约), a stairwell's or a facility's (车棚使用公约),
each in versions residents read publicly, with how many households agreed to each version.

Where the place has households with consultation codes (征询单, services.design.households) when a
version is adopted, households agree to that version themselves with their code: once per
household and version (whichever of its forms' codes it uses), counted per building; the code is
looked up by its keyed hash like the consultation's, and the first phone that uses it holds it.
Elsewhere staff count the signatures; a count above the households the convention binds is
refused. A place is named as residents name it (7号楼, 7号楼 2单元, 车棚).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import (
    Community,
    Convention,
    ConventionAgreement,
    ConventionVersion,
    HouseholdCode,
)
from renewmap.db.queries.places import buildings_numbered, community_by_code
from renewmap.db.queries.process import household_by_hash
from renewmap.db.queries.records import (
    agreement_of_household,
    agreements_of_versions,
    buildings_by_ids,
    conventions_of_community,
    find_convention,
    household_codes_of_community,
    sites_by_ids,
    versions_of_conventions,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.i18n import t
from renewmap.services.access.accounts import Principal
from renewmap.services.design import households as forms
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


def _key(building: str, stairwell: str | None, household: str) -> str:
    return f"{building}|{stairwell or ''}|{household}"


def _unit(text: str | None) -> str:
    """A stairwell as the forms number it: 2单元 → 2."""
    return (text or "").strip().removesuffix("单元").strip()


def _eligible(session: Session, c: Convention) -> dict[str, HouseholdCode]:
    """The households with a valid consultation code whom the convention binds (by household):
    the building's (of its stairwell), or the community's for a facility."""
    if c.scope in ("building", "stairwell"):
        if c.building_id is None:
            return {}
        rows = household_codes_of_community(
            session, community_id=c.community_id, building_id=c.building_id
        )
        if c.scope == "stairwell":
            rows = [r for r in rows if _unit(r.stairwell) == _unit(c.unit)]
    else:
        rows = household_codes_of_community(session, community_id=c.community_id)
    return {_key(r.building, r.stairwell, r.household): r for r in rows}


def _natural(name: str) -> tuple[Any, ...]:
    """2号楼 before 10号楼."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def _by_building(
    eligible: dict[str, HouseholdCode], agreements: Sequence[ConventionAgreement]
) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, int]] = {}
    for r in eligible.values():
        counts.setdefault(r.building, {"households": 0, "agreed": 0})["households"] += 1
    for a in agreements:
        counts.setdefault(a.building, {"households": 0, "agreed": 0})["agreed"] += 1
    return [{"building": b, **counts[b]} for b in sorted(counts, key=_natural)]


def _views(session: Session, rows: Sequence[Convention]) -> list[dict[str, Any]]:
    versions: dict[int, list[ConventionVersion]] = {}
    for v in versions_of_conventions(session, convention_ids=[c.id for c in rows]):
        versions.setdefault(v.convention_id, []).append(v)
    agreements: dict[int, list[ConventionAgreement]] = {}
    coded = [v.id for vs in versions.values() for v in vs if v.by_codes]
    for a in agreements_of_versions(session, version_ids=coded):
        agreements.setdefault(a.version_id, []).append(a)
    buildings = buildings_by_ids(
        session, ids=sorted({c.building_id for c in rows if c.building_id is not None})
    )
    out = []
    for c in rows:
        mine = versions.get(c.id, [])
        eligible = _eligible(session, c) if any(v.by_codes for v in mine) else {}
        shown = [
            {
                "number": v.number,
                "body": v.body,
                "adopted_on": v.adopted_on.isoformat(),
                "by_codes": v.by_codes,
                "agreed": len(agreements.get(v.id, [])) if v.by_codes else v.agreed,
                "buildings": (
                    _by_building(eligible, agreements.get(v.id, [])) if v.by_codes else []
                ),
            }
            for v in mine
        ]
        by_codes = bool(mine) and mine[0].by_codes
        out.append(
            {
                "id": c.id,
                "title": c.title,
                "scope": c.scope,
                "scope_label": label(CONVENTION_SCOPES, c.scope),
                "place": _place(c, buildings),
                "households": len(eligible) if by_codes else c.households,
                "geometry": to_geojson(from_db(c.geom)) if c.geom is not None else None,
                "current": shown[0] if shown else None,
                "versions": shown,
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
    by_codes = bool(_eligible(session, convention))
    version = _version(convention, data, number=1, actor=principal.actor, by_codes=by_codes)
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
    convention: Convention, data: dict[str, Any], *, number: int, actor: str, by_codes: bool
) -> ConventionVersion:
    day = parse_day(data["adopted_on"], field="adopted_on")
    assert day is not None
    given = data.get("agreed")
    if by_codes and given is not None:
        raise InvalidInput(
            "agreed: the households of this place have consultation codes and agree with them "
            "on the conventions page; staff do not count them",
            key="convention_agreed_by_codes",
            field="agreed",
        )
    if not by_codes and given is None:
        raise InvalidInput(
            "agreed: how many households agreed to this version?",
            key="convention_agreed_missing",
            field="agreed",
        )
    return ConventionVersion(
        number=number,
        body=data["body"].strip(),
        adopted_on=day,
        agreed=0 if by_codes else _agreed(given, convention.households),
        by_codes=by_codes,
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
        convention,
        data,
        number=(last.number if last else 0) + 1,
        actor=principal.actor,
        by_codes=bool(_eligible(session, convention)),
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


# --- residents: a household agrees with its code --------------------------------------------------


def agree(
    session: Session,
    *,
    secret: str,
    community_code: str,
    convention_id: int,
    code: str,
    device_hash: str | None,
    principal: Principal | None = None,
    locale: str = "zh_CN",
) -> dict[str, Any]:
    """The household whose form carries ``code`` agrees to the convention's current version,
    on its phone (``device_hash``), or on paper, entered by staff who keep the community's
    records (``principal``; no phone involved). 404 (field ``code``, counted against guessing
    by the caller) for a code that is not one of the households the convention binds; 409 for
    a code another phone holds, a household that has already agreed to this version, or a
    version staff count."""
    unknown = NotFound(
        "this code is not on a household form of the households this convention binds; "
        "check the code on your form (a reissued form's old code no longer works)",
        key="convention_code_unknown",
        field="code",
    )
    # the code first: a guess counts as one whatever convention it names
    row = household_by_hash(session, code_hash=forms.code_hash(secret, forms.normalise(code)))
    if row is None or row.revoked_at is not None:
        raise unknown
    community = community_by_code(session, code=community_code)
    if principal is not None:
        access.kept_community(session, principal=principal, code=community_code)
    convention = find_convention(session, convention_id=convention_id)
    if convention is None or convention.community_id != community.id:
        raise NotFound(
            "convention {id} not found in {community}",
            key="convention_not_in_community",
            id=convention_id,
            community=community.name,
            field="id",
        )
    versions = versions_of_conventions(session, convention_ids=[convention.id])
    current = versions[0] if versions else None
    if current is None or not current.by_codes:
        raise Conflict(
            "households agree to this convention on paper: the residents' committee counts "
            "the signatures",
            key="convention_not_by_codes",
            field="id",
        )
    eligible = _eligible(session, convention)
    key = _key(row.building, row.stairwell, row.household)
    site = sites_by_ids(session, ids=[row.site_id]).get(row.site_id)
    if site is None or site.community_id != community.id or key not in eligible:
        raise unknown
    session.refresh(row, with_for_update=True)
    if device_hash is not None and row.device_hash not in (None, device_hash):
        raise Conflict(
            "this household's code has already been used on another phone; it works on one "
            "phone only. If that was not your household, ask the residents' committee for a "
            "new form",
            key="household_code_taken",
            field="code",
        )
    if agreement_of_household(session, version_id=current.id, household_key=key) is not None:
        raise Conflict(
            "{household} has already agreed to version {number} of this convention",
            key="convention_already_agreed",
            household=forms.household_label(row).render(locale),
            number=current.number,
            field="code",
        )
    if row.device_hash is None and device_hash is not None:
        row.device_hash = device_hash
    session.add(
        ConventionAgreement(
            version_id=current.id,
            household_code_id=row.id,
            building=row.building,
            stairwell=row.stairwell,
            household=row.household,
            household_key=key,
        )
    )
    session.flush()
    view = _views(session, [convention])[0]
    return {
        "convention": convention.id,
        "version": current.number,
        "household": forms.household_label(row).render(locale),
        "agreed": view["current"]["agreed"],
        "households": view["households"],
        "buildings": view["current"]["buildings"],
    }
