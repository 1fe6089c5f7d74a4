"""Setting a community up (issue 15): its code from the official list, its outline, a warning
when the outline overlaps another community, renaming, retiring; its buildings' numbers.

The command line and the browser's setup flow call the same functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import Building, Community, Stairwell, Subdistrict
from renewmap.db.queries.places import (
    branches_listing,
    buildings_matching,
    buildings_of_community,
    communities_near,
    community_by_code,
    community_request_count,
    delete_community,
    delete_rows,
    find_community,
    find_subdistrict,
    grid_codes_by_branch,
    stairwell_in_use,
    stairwells_of_building,
    stairwells_of_community,
)
from renewmap.errors import Conflict, Forbidden, InvalidGeometry, InvalidInput, NotFound
from renewmap.i18n import Msg, Text
from renewmap.services.access.accounts import Principal
from renewmap.services.places import admin_codes
from renewmap.spatial.crs import area_m2
from renewmap.spatial.geometry import POLYGONAL, as_multi, check_geometry, from_db, to_db
from renewmap.validation import RANGES, number
from renewmap.vocabulary import Role, metric_epsg

# An overlap smaller than this is a drawing's slack, not another community's ground.
OVERLAP_TOLERANCE_M2 = 1.0
UNOFFICIAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
MAX_NAME = 200
_BARE_NUMBER = re.compile(r"^\d+[A-Za-z]?$")


@dataclass(frozen=True)
class Overlap:
    """Another community the outline overlaps: how much, in m² and as a share of the outline."""

    code: str
    name: str
    area_m2: float
    share: float

    def message(self) -> Msg:
        return Msg(
            "the outline overlaps community {name} ({code}) by {area:.0f} m² "
            "({share:.0%} of the outline)",
            name=self.name,
            code=self.code,
            area=self.area_m2,
            share=self.share,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "area_m2": round(self.area_m2, 1),
            "share": round(self.share, 4),
            "message": self.message(),
        }


def committees(query: str, *, limit: int = 20) -> list[dict[str, str]]:
    """The official residents' committees matching a search (name words or a code prefix)."""
    return admin_codes.search(query.strip(), limit=max(1, min(limit, 100)))


def overlaps(
    session: Session, outline: BaseGeometry, *, exclude_code: str | None = None
) -> list[Overlap]:
    """The communities an outline overlaps by more than the tolerance, largest first."""
    if outline.is_empty:
        return []
    epsg = metric_epsg(None, outline)
    own = area_m2(outline, epsg)
    found = []
    for code, name, wkb in communities_near(
        session, bounds=outline.bounds, exclude_code=exclude_code
    ):
        other = from_db(wkb)
        if not other.intersects(outline):
            continue
        shared = area_m2(shapely.intersection(outline, other), epsg)
        if shared > OVERLAP_TOLERANCE_M2:
            found.append(Overlap(code, name, shared, shared / own if own else 0.0))
    return sorted(found, key=lambda o: (-o.area_m2, o.code))


def check_outline(outline: BaseGeometry) -> BaseGeometry:
    """A community's outline: a valid polygon or multipolygon in WGS84."""
    if outline.geom_type not in POLYGONAL:
        raise InvalidGeometry(
            "a community's outline must be a polygon, got {type}",
            key="outline_not_polygon",
            type=outline.geom_type,
            field="outline",
        )
    check_geometry(outline, where="outline")
    return outline


def _subdistrict(session: Session, code: str) -> Subdistrict | None:
    sub_code = admin_codes.subdistrict_of(code)
    if sub_code is None:
        return None
    sub = find_subdistrict(session, code=sub_code)
    if sub is None:
        sub = Subdistrict(code=sub_code, name=admin_codes.subdistrict_name(sub_code) or sub_code)
        session.add(sub)
    return sub


def check_code(code: str, *, unofficial: bool = False, name: str | None = None) -> str:
    """The community's name for a code: from the official list, or ``name`` for an unofficial
    code, which must be asked for explicitly."""
    code = code.strip()
    official = admin_codes.committee_name(code)
    if official is not None:
        return (name or "").strip() or official
    if not unofficial:
        raise InvalidInput(
            "'{code}' is not on the official list of residents' committees; search the list "
            "by name, or choose an unofficial code explicitly",
            key="community_code_unofficial",
            code=code,
            field="code",
        )
    if not UNOFFICIAL_CODE.match(code):
        raise InvalidInput(
            "an unofficial code is 1 to 32 letters, digits, '-' or '_', got '{code}'",
            key="community_code_format",
            code=code,
            field="code",
        )
    if not (name or "").strip():
        raise InvalidInput(
            "a community with an unofficial code needs a name",
            key="community_name_missing",
            field="name",
        )
    return str(name).strip()


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(
            "a community's name is 1 to {max} characters",
            key="community_name_length",
            max=MAX_NAME,
            field="name",
        )
    return name


@dataclass
class Created:
    community: Community
    overlaps: list[Overlap]


def create(
    session: Session,
    *,
    code: str,
    outline: BaseGeometry,
    name: str | None = None,
    unofficial: bool = False,
    attribution: str | None = None,
    state: str = "published",
) -> Created:
    """A new community on an outline; overlaps with others are warnings, not refusals (two
    committees may share a compound while their boundary is being settled). ``state``
    "setup" keeps it from residents until it is published (the browser's setup flow)."""
    code = code.strip()
    label = _check_name(check_code(code, unofficial=unofficial, name=name))
    if find_community(session, code=code) is not None:
        raise Conflict(
            "community {code} exists already", key="community_exists", code=code, field="code"
        )
    outline = check_outline(outline)
    community = Community(
        code=code,
        name=label,
        subdistrict=_subdistrict(session, code),
        metric_epsg=metric_epsg(None, outline),
        grid_set_version=1,
        site_version=1,
        attribution=attribution,
        state=state,
        geom=to_db(as_multi(outline)),
    )
    session.add(community)
    session.flush()
    return Created(community, overlaps(session, outline, exclude_code=code))


def set_outline(session: Session, *, code: str, outline: BaseGeometry) -> list[Overlap]:
    """Redraw a community's outline; returns the overlaps it now has."""
    community = community_by_code(session, code=code)
    outline = check_outline(outline)
    community.geom = to_db(as_multi(outline))
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    return overlaps(session, outline, exclude_code=code)


def rename(session: Session, *, code: str, name: str) -> Community:
    community = community_by_code(session, code=code)
    community.name = _check_name(name)
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    return community


def retire(session: Session, *, code: str) -> str:
    """Remove a community set up by mistake, with its places, branches and roles. Refused while
    it holds requests: residents' requests are never thrown away."""
    community = community_by_code(session, code=code)
    held = community_request_count(session, community_id=community.id)
    if held:
        raise Conflict(
            "community {name} ({code}) holds {n} request(s) and cannot be retired",
            key="community_has_requests",
            name=community.name,
            code=code,
            n=held,
        )
    name = community.name
    delete_community(session, community_id=community.id)
    return name


def branches(session: Session, *, community_code: str | None = None) -> list[dict[str, Any]]:
    """The party branches (of one community, or all) with their parent and grids."""
    cid = community_by_code(session, code=community_code).id if community_code else None
    grids = grid_codes_by_branch(session, community_id=cid)
    return [
        {
            "code": code,
            "name": name,
            "level": level,
            "parent_code": parent,
            "community_code": community,
            "grids": grids.get(code, []),
        }
        for code, name, level, parent, community in branches_listing(session, community_id=cid)
    ]


# --- buildings ---------------------------------------------------------------------------------


def normalise_number(raw: str) -> str:
    """A building number as residents write it: a bare 7 or 7A becomes 7号楼."""
    text = raw.strip()
    if not text or len(text) > 32:
        raise InvalidInput(
            "a building number is 1 to 32 characters, e.g. 7号楼",
            key="building_number_length",
            field="number",
        )
    return f"{text}号楼" if _BARE_NUMBER.match(text) else text


def building_view(
    b: Building,
    grid_codes: dict[int, str] | None = None,
    stairwells: dict[int, list[Stairwell]] | None = None,
) -> dict[str, Any]:
    g = from_db(b.geom)
    point = g.representative_point()
    return {
        "ref": b.number or b.code or b.osm_id or "",
        "label": names.building(b.number, b.name),
        "number": b.number,
        "code": b.code,
        "name": b.name,
        "osm_id": b.osm_id,
        "households": b.households,
        "grid": (grid_codes or {}).get(b.grid_id) if b.grid_id is not None else None,
        "point": [round(point.x, 7), round(point.y, 7)],
        "stairwells": [
            {"number": w.number, "households": w.households}
            for w in (stairwells or {}).get(b.id, [])
        ],
    }


def buildings(session: Session, *, community_code: str) -> list[dict[str, Any]]:
    from renewmap.db.queries.places import grids_of_community_by_code

    community = community_by_code(session, code=community_code)
    codes = {
        g.id: c for c, g in grids_of_community_by_code(session, community_id=community.id).items()
    }
    units: dict[int, list[Stairwell]] = {}
    for w in stairwells_of_community(session, community_id=community.id):
        units.setdefault(w.building_id, []).append(w)
    return [
        building_view(b, codes, units)
        for b in buildings_of_community(session, community_id=community.id)
    ]


def find_building(session: Session, *, community: Community, ref: str) -> Building:
    """The one building a person means: its number (7号楼 or 7), code or OSM id."""
    ref = ref.strip()
    found = buildings_matching(session, community_id=community.id, ref=ref)
    if not found and _BARE_NUMBER.match(ref):
        found = buildings_matching(session, community_id=community.id, ref=f"{ref}号楼")
    if not found:
        raise NotFound(
            "no building '{ref}' in community {community}",
            key="building_not_found",
            ref=ref,
            community=community.name,
            field="building",
        )
    if len(found) > 1:
        raise Conflict(
            "{n} buildings of community {community} answer to '{ref}'; name one by its code "
            "or OSM id",
            key="building_ref_ambiguous",
            n=len(found),
            ref=ref,
            community=community.name,
            field="building",
        )
    return found[0]


def edit_building(
    session: Session,
    *,
    community_code: str,
    ref: str,
    number: str | None = None,
    households: int | str | None = None,
    stairwells: int | list[str] | None = None,
) -> Building:
    """Give a building its number (unique in the community), households and stairwells (a
    count, numbered 1单元…, or their numbers; see ``set_stairwells``)."""
    community = community_by_code(session, code=community_code)
    building = find_building(session, community=community, ref=ref)
    if stairwells is not None:
        set_stairwells(session, community=community, building=building, stairwells=stairwells)
    if number is not None:
        wanted = normalise_number(number)
        clash = [
            b
            for b in buildings_matching(session, community_id=community.id, ref=wanted)
            if b.id != building.id and b.number == wanted
        ]
        if clash:
            raise Conflict(
                "another building of community {community} is numbered {number} already",
                key="building_number_taken",
                community=community.name,
                number=wanted,
                field="number",
            )
        building.number = wanted
    if households is not None:
        low, high, _unit = RANGES.get("households", (0, 100000, ""))
        building.households = int(
            number_value(households, low=low, high=high)  # a whole, non-negative count
        )
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    return building


MAX_STAIRWELLS = 50  # of one building (as the consultation's household forms allow)
_BARE_UNIT = re.compile(r"^\d+$")


def normalise_unit(raw: str) -> str:
    """A stairwell's number as residents say it: a bare 2 becomes 2单元."""
    text = raw.strip()
    if not text or len(text) > 32:
        raise InvalidInput(
            "a stairwell's number is 1 to 32 characters, e.g. 2单元",
            key="stairwell_number_length",
            field="stairwells",
        )
    return f"{text}单元" if _BARE_UNIT.match(text) else text


def set_stairwells(
    session: Session, *, community: Community, building: Building, stairwells: int | list[str]
) -> list[Stairwell]:
    """Replace a building's stairwells (单元): ``n`` means 1单元…n单元, a list names them (2 or
    2单元). Kept ones keep their households, entrance and building group; one left out that a
    building group serves on its own is refused (move the group first)."""
    if isinstance(stairwells, bool):
        raise InvalidInput(
            "a building has 0 to {limit} stairwells, got {n}",
            key="stairwell_count",
            limit=MAX_STAIRWELLS,
            n=stairwells,
            field="stairwells",
        )
    if isinstance(stairwells, int):
        if not 0 <= stairwells <= MAX_STAIRWELLS:
            raise InvalidInput(
                "a building has 0 to {limit} stairwells, got {n}",
                key="stairwell_count",
                limit=MAX_STAIRWELLS,
                n=stairwells,
                field="stairwells",
            )
        wanted = [f"{k}单元" for k in range(1, stairwells + 1)]
    else:
        wanted = [normalise_unit(str(u)) for u in stairwells]
        if len(wanted) > MAX_STAIRWELLS:
            raise InvalidInput(
                "a building has 0 to {limit} stairwells, got {n}",
                key="stairwell_count",
                limit=MAX_STAIRWELLS,
                n=len(wanted),
                field="stairwells",
            )
        twice = sorted({u for u in wanted if wanted.count(u) > 1})
        if twice:
            raise InvalidInput(
                "stairwell {stairwell} is named twice",
                key="stairwell_twice",
                stairwell=twice[0],
                field="stairwells",
            )
    old = {w.number: w for w in stairwells_of_building(session, building_id=building.id)}
    for unit, w in old.items():
        if unit not in wanted and stairwell_in_use(session, stairwell_id=w.id):
            raise Conflict(
                "{building} {stairwell} cannot be removed: a building party group serves it",
                key="stairwell_in_use",
                building=names.building(building.number, building.name),
                stairwell=unit,
                field="stairwells",
            )
    for unit, w in old.items():
        if unit not in wanted:
            session.delete(w)
    session.flush()
    out = []
    for unit in wanted:
        w = old.get(unit) or Stairwell(
            community_id=community.id, building_id=building.id, number=unit
        )
        session.add(w)
        out.append(w)
    session.flush()
    return out


def number_value(raw: int | str, *, low: float, high: float) -> int:
    return int(number(str(raw), field="households", low=low, high=high, integer=True))


def remove_building(session: Session, *, community_code: str, ref: str) -> Text | str:
    """Remove a building that is not the community's (imported by mistake); returns its label."""
    community = community_by_code(session, code=community_code)
    building = find_building(session, community=community, ref=ref)
    label = names.building(building.number, building.name)
    if building.grid_id is not None:  # routing by footprint changes: a new grid-set version
        community.grid_set_version = (community.grid_set_version or 0) + 1
    community.site_version = (community.site_version or 1) + 1
    delete_rows(session, model=Building, ids=[building.id])
    session.flush()
    return label


# --- who may set a community up (the browser's setup flow) ------------------------------------


def subdistrict_ids_administered(principal: Principal) -> set[int]:
    return {
        g.subdistrict_id
        for g in principal.roles
        if g.role == Role.SUBDISTRICT_ADMIN and g.subdistrict_id is not None
    }


def may_set_up(principal: Principal) -> bool:
    """Whether the setup pages are for this person: a subdistrict's or a community's admin."""
    return any(g.role in (Role.SUBDISTRICT_ADMIN, Role.COMMUNITY_ADMIN) for g in principal.roles)


def require_setup_staff(principal: Principal) -> None:
    if not may_set_up(principal):
        raise Forbidden(
            "only a subdistrict's or a community's admin sets communities up",
            key="not_a_setup_admin",
        )


def create_as(
    session: Session,
    *,
    principal: Principal,
    code: str,
    outline: BaseGeometry,
    name: str | None = None,
    unofficial: bool = False,
    subdistrict_code: str | None = None,
) -> Created:
    """A subdistrict's admin creates a community in their subdistrict: an official code's own
    subdistrict, or, for an unofficial code, the one they name. It stays in setup (hidden
    from residents, not routed to) until they publish it."""
    mine = subdistrict_ids_administered(principal)
    wanted = admin_codes.subdistrict_of(code.strip()) or subdistrict_code
    sub = find_subdistrict(session, code=wanted) if wanted else None
    if sub is None or sub.id not in mine:
        raise Forbidden(
            "only an admin of the committee's subdistrict may create community {code}",
            key="not_a_subdistrict_admin",
            code=code,
            field="code",
        )
    made = create(
        session, code=code, outline=outline, name=name, unofficial=unofficial, state="setup"
    )
    made.community.subdistrict = sub
    session.flush()
    return made
