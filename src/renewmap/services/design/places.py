"""Micro-renewal sites (点位) and facilities (设施) made and changed in the browser by those who
draw a community's sites (designers and admins), not only by a file import.

A site is a named outline inside (or at the edge of) the community; a facility is a point or
an area of a kind (a bench, a light, a garden council hall, a party-mass service station, a
seed station, a story window, a flower box…), and belongs to the site it lies in. Every change
bumps the community's site-plan version, so pages and tiles show it at once.
"""

from __future__ import annotations

import re
from typing import Any

import shapely
from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import Community, Facility, Site
from renewmap.db.queries.places import (
    community_by_code,
    facilities_of_community,
    find_site,
    sites_of_community,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.i18n import Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.design.process import require_runner
from renewmap.spatial.crs import metres_to_degrees
from renewmap.spatial.geometry import as_multi, from_db, parse_geojson, to_db, to_geojson

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
FACILITY_TYPES = (
    "bench",
    "light",
    "ebike_shed",
    "art_wall",
    "notice_board",
    "play",
    "meeting_hall",  # 议事厅 (an open-air garden council)
    "party_service_station",  # 党群服务站
    "seed_station",  # 种子驿站
    "story_window",  # 故事窗
    "flower_box",  # 花箱
    "other",
)
NEAR_COMMUNITY_M = 50.0  # a site or facility may reach just past the community's outline
MAX_DESCRIPTION = 2000


def _community(session: Session, principal: Principal, code: str) -> Community:
    community = community_by_code(session, code=code)
    require_runner(principal, community)
    return community


def _inside(community: Community, geom: Any, what: str) -> None:
    outline = from_db(community.geom)
    reach = outline.buffer(metres_to_degrees(NEAR_COMMUNITY_M, outline.centroid.y))
    if not reach.covers(geom):
        raise InvalidInput(
            "the {what} lies outside {community} (longitude first, then latitude?)",
            key="place_outside_community",
            what=Msg(names.LAYER_KINDS[what]),
            community=community.name,
            field="geometry",
        )


def _name(value: str | None, field: str = "name") -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidInput("a name is required", key="name_missing", field=field)
    return name[:200]


def _description(value: str | None) -> str | None:
    text = (value or "").strip() or None
    if text and len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            "description is longer than {limit} characters",
            key="description_too_long",
            limit=MAX_DESCRIPTION,
            field="description",
        )
    return text


def _outline(community: Community, geometry: dict[str, Any]) -> Any:
    geom = parse_geojson(geometry, where="geometry")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(
            "a site's outline is a Polygon, got {type}",
            key="site_outline_not_polygon",
            type=geom.geom_type,
            field="geometry",
        )
    _inside(community, geom, "site")
    return as_multi(geom)


def site_view(site: Site) -> dict[str, Any]:
    return {
        "code": site.code,
        "name": site.name,
        "description": site.description,
        "stage": site.stage,
        "geometry": to_geojson(from_db(site.geom)),
    }


def create_site(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    name: str,
    geometry: dict[str, Any],
    code: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """A new site: its outline drawn on the map, a name, a code (S01, S02… when none given)."""
    community = _community(session, principal, community_code)
    existing = {s.code for s in sites_of_community(session, community_id=community.id)}
    if code:
        code = code.strip()
        if not CODE.match(code):
            raise InvalidInput(
                "a site code has 1–32 letters, digits, - or _ (like S03)",
                key="site_code_invalid",
                field="code",
            )
        if code in existing:
            raise Conflict(
                "{community} has a site {code} already",
                key="site_code_taken",
                community=community.name,
                code=code,
                field="code",
            )
    else:
        n = len(existing) + 1
        while f"S{n:02d}" in existing:
            n += 1
        code = f"S{n:02d}"
    site = Site(
        community_id=community.id,
        code=code,
        name=_name(name),
        description=_description(description),
        geom=to_db(_outline(community, geometry)),
    )
    session.add(site)
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    return site_view(site)


def update_site(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    name: str | None = None,
    description: str | None = None,
    geometry: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Rename a site, change its description or redraw its outline (what is given)."""
    community = _community(session, principal, community_code)
    site = find_site(session, community_id=community.id, code=site_code)
    if site is None:
        raise NotFound(
            "site '{site}' not found in {community}",
            key="site_not_found",
            site=site_code,
            community=community.name,
            field="site",
        )
    if name is not None:
        site.name = _name(name)
    if description is not None:
        site.description = _description(description)
    if geometry is not None:
        site.geom = to_db(_outline(community, geometry))
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    return site_view(site)


# --- facilities ---------------------------------------------------------------------------------


def facility_view(f: Facility, site_codes: dict[int, str]) -> dict[str, Any]:
    return {
        "id": f.id,
        "type": f.kind,
        "name": f.name,
        "site": site_codes.get(f.site_id) if f.site_id else None,
        "geometry": to_geojson(from_db(f.geom)),
    }


def _facility_geometry(community: Community, geometry: dict[str, Any]) -> Any:
    geom = parse_geojson(geometry, where="geometry")
    if geom.geom_type not in ("Point", "Polygon", "MultiPolygon"):
        raise InvalidInput(
            "a facility is a Point or a Polygon, got {type}",
            key="facility_geometry_type",
            type=geom.geom_type,
            field="geometry",
        )
    _inside(community, geom, "facility")
    return geom


def _type(value: str) -> str:
    if value not in FACILITY_TYPES:
        raise InvalidInput(
            "type must be one of {types}",
            key="facility_type_unknown",
            types=FACILITY_TYPES,
            field="type",
        )
    return value


def _site_of(session: Session, community: Community, geom: Any) -> int | None:
    """The site the facility lies in, if any."""
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    for s in sites_of_community(session, community_id=community.id):
        if shapely.covers(from_db(s.geom), point):
            return s.id
    return None


def _codes(session: Session, community: Community) -> dict[int, str]:
    return {s.id: s.code for s in sites_of_community(session, community_id=community.id)}


def facilities(
    session: Session, *, principal: Principal, community_code: str
) -> list[dict[str, Any]]:
    """The community's facilities, for editing."""
    community = _community(session, principal, community_code)
    codes = _codes(session, community)
    return [
        facility_view(f, codes) for f in facilities_of_community(session, community_id=community.id)
    ]


def add_facility(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    type: str,
    geometry: dict[str, Any],
    name: str | None = None,
) -> dict[str, Any]:
    """A new facility where it was placed (it joins the site it lies in)."""
    community = _community(session, principal, community_code)
    geom = _facility_geometry(community, geometry)
    row = Facility(
        community_id=community.id,
        site_id=_site_of(session, community, geom),
        kind=_type(type),
        name=(name or "").strip()[:200] or None,
        geom=to_db(geom),
    )
    session.add(row)
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    return facility_view(row, _codes(session, community))


def _facility(
    session: Session, principal: Principal, facility_id: int
) -> tuple[Facility, Community]:
    row = session.get(Facility, facility_id)
    if row is None:
        raise NotFound(
            "facility {id} not found", key="facility_not_found", id=facility_id, field="id"
        )
    community = session.get(Community, row.community_id)
    assert community is not None
    require_runner(principal, community)
    return row, community


def update_facility(
    session: Session,
    *,
    principal: Principal,
    facility_id: int,
    type: str | None = None,
    name: str | None = None,
    geometry: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Change a facility's kind, name or place (what is given)."""
    row, community = _facility(session, principal, facility_id)
    if type is not None:
        row.kind = _type(type)
    if name is not None:
        row.name = name.strip()[:200] or None
    if geometry is not None:
        geom = _facility_geometry(community, geometry)
        row.geom = to_db(geom)
        row.site_id = _site_of(session, community, geom)
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    return facility_view(row, _codes(session, community))


def delete_facility(session: Session, *, principal: Principal, facility_id: int) -> None:
    row, community = _facility(session, principal, facility_id)
    session.delete(row)
    community.site_version = (community.site_version or 1) + 1
    session.flush()
