"""The OGC collections: which tables are published under ``/ogc/collections``, with which
properties, and who may read them.

One registry shared by OGC API – Features (``protocols.ogc.features``) and the vector tiles
(``protocols.ogc.tiles``): a collection is a model (``.id``, ``.geom``), its output properties as
SQL expressions, and a filter (:func:`filter_condition`) that says which rows a caller sees.
Personal data never appears in a public collection: events and proposals only the public ones
without anyone's name or phone; suggestions expose what
``services.requests.suggestions._view`` shows (no phone, the nickname only when the resident allowed
it, hidden ones left out); contact details are only in the staff-only ``requests``, within
the caller's scope (``services.access.scope``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import Session

from renewmap.db.models import (
    Building,
    Community,
    Compound,
    Event,
    Facility,
    GreenArea,
    Grid,
    Path,
    Plant,
    Proposal,
    ProposalPhoto,
    Request,
    Site,
    Water,
)
from renewmap.db.queries.ogc import CodeLookup
from renewmap.db.queries.places import in_public_community
from renewmap.errors import Forbidden, NotFound, Unauthenticated
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import scope_of
from renewmap.vocabulary import REQUEST_ROLES


@dataclass(frozen=True)
class CollectionDef:
    """One published collection.

    ``properties``: (output name, SQLAlchemy column expression over ``model``'s table, or a
    :class:`CodeLookup` for the code of a related row, read through an outer join).
    ``temporal``: the column ``datetime=`` filters on, or None.
    ``attributed``: its data may come from OpenStreetMap, so it carries the communities'
    attribution (ODbL).
    ``min_zoom``: the shallowest zoom whose tiles carry the features; shallower tiles carry
    an overview (counts per cell), so a tile of the whole city stays small.
    """

    id: str
    title: str
    description: str
    model: type[Any]
    properties: tuple[tuple[str, Any], ...]
    staff_only: bool = False
    temporal: Any | None = None
    attributed: bool = False
    min_zoom: int = 14


def _code_of(model: type[Any], key: Any) -> CodeLookup:
    """The ``code`` of the row ``key`` points at (read through an outer join)."""
    return CodeLookup(model, key)


def _community(model: type[Any]) -> tuple[str, Any]:
    return ("community", _code_of(Community, model.community_id))


def _site_layer(model: type[Any]) -> tuple[tuple[str, Any], ...]:
    return (
        _community(model),
        ("site", _code_of(Site, model.site_id)),
        ("code", model.code),
        ("name", model.name),
        ("osm_id", model.osm_id),
    )


_PUBLIC_REQUEST = (
    _community(Request),
    ("grid", _code_of(Grid, Request.grid_id)),
    ("category", Request.category),
    ("title", Request.title),
    ("description", Request.description),
    ("status", Request.status),
    ("rule", Request.route_rule),
    ("supports", Request.support_count),
    ("nickname", case((Request.show_nickname, Request.nickname), else_=None)),
    ("created_at", Request.created_at),
)

# a public proposal's first photo: its path under the API (the collection lists only public
# proposals, and the photo is served to anyone while its proposal is public)
_PROPOSAL_PHOTO = (
    select(literal("/api/proposal-photos/", String) + cast(func.min(ProposalPhoto.id), String))
    .where(ProposalPhoto.proposal_id == Proposal.id)
    .correlate(Proposal)
    .scalar_subquery()
)

_DEFS = (
    CollectionDef(
        id="communities",
        min_zoom=8,
        title="Residential areas",
        description="Residential areas (居民区 / 社区), each served by a residents' committee.",
        model=Community,
        properties=(
            ("code", Community.code),
            ("name", Community.name),
            ("attribution", Community.attribution),
        ),
        attributed=True,
    ),
    CollectionDef(
        id="compounds",
        min_zoom=11,
        title="Compounds",
        description="Residential compounds (小区); a merged compound points at the one it "
        "joined (拆墙并院).",
        model=Compound,
        properties=(
            _community(Compound),
            ("code", Compound.code),
            ("name", Compound.name),
            ("osm_id", Compound.osm_id),
            ("merged_into", _code_of(Compound, Compound.merged_into_id)),
        ),
        attributed=True,
    ),
    CollectionDef(
        id="grids",
        min_zoom=11,
        title="Grids",
        description="Grids (网格): the unit a resident's request is routed to, each owned by "
        "a grid party branch.",
        model=Grid,
        properties=(
            _community(Grid),
            ("code", Grid.code),
            ("name", Grid.name),
            ("compound", _code_of(Compound, Grid.compound_id)),
        ),
    ),
    CollectionDef(
        id="buildings",
        min_zoom=13,
        title="Buildings",
        description="Buildings (楼栋) with their number, households and grid.",
        model=Building,
        properties=(
            _community(Building),
            ("code", Building.code),
            ("number", Building.number),
            ("name", Building.name),
            ("households", Building.households),
            ("grid", _code_of(Grid, Building.grid_id)),
            ("compound", _code_of(Compound, Building.compound_id)),
            ("osm_id", Building.osm_id),
        ),
        attributed=True,
    ),
    CollectionDef(
        id="sites",
        min_zoom=11,
        title="Micro-renewal sites",
        description="Micro-renewal sites (微更新点位) and the stage of their participatory "
        "process.",
        model=Site,
        properties=(
            _community(Site),
            ("code", Site.code),
            ("name", Site.name),
            ("description", Site.description),
            ("stage", Site.stage),
        ),
    ),
    CollectionDef(
        id="green_areas",
        min_zoom=13,
        title="Green areas",
        description="Green areas (绿地 / 花圃): lawns, planting beds, neighbourly flower beds.",
        model=GreenArea,
        properties=(
            *_site_layer(GreenArea),
            ("kind", GreenArea.kind),
            ("layer", GreenArea.layer),
            ("species", GreenArea.species),
        ),
        attributed=True,
    ),
    CollectionDef(
        id="plants",
        min_zoom=14,
        title="Plants",
        description="Single plants (植物), adoptable ones with a growth ID card.",
        model=Plant,
        properties=(
            *_site_layer(Plant),
            ("species", Plant.species),
            ("layer", Plant.layer),
            ("adoptable", Plant.adoptable),
            ("planted_on", Plant.planted_on),
        ),
        temporal=Plant.planted_on,
        attributed=True,
    ),
    CollectionDef(
        id="paths",
        min_zoom=13,
        title="Paths",
        description="Paths (步道) with width in metres, surface and purpose.",
        model=Path,
        properties=(
            *_site_layer(Path),
            ("width_m", Path.width_m),
            ("surface", Path.surface),
            ("purpose", Path.purpose),
            ("highway", Path.highway),
        ),
        attributed=True,
    ),
    CollectionDef(
        id="facilities",
        min_zoom=13,
        title="Facilities",
        description="Facilities (设施): lights, e-bike sheds, benches, art walls, service "
        "stations (points or areas).",
        model=Facility,
        properties=(*_site_layer(Facility), ("kind", Facility.kind)),
        attributed=True,
    ),
    CollectionDef(
        id="water",
        min_zoom=12,
        title="Water",
        description="Water bodies (水体).",
        model=Water,
        properties=_site_layer(Water),
        attributed=True,
    ),
    CollectionDef(
        id="suggestions",
        min_zoom=12,
        title="Residents' suggestions",
        description="Residents' suggestions and problems as anyone may see them: no contact "
        "details, a nickname only where the resident chose to show it, hidden ones left out.",
        model=Request,
        properties=_PUBLIC_REQUEST,
        temporal=Request.created_at,
    ),
    CollectionDef(
        id="requests",
        min_zoom=12,
        title="Requests (staff)",
        description="Residents' requests with contact details and workflow state, for staff "
        "within their area (a bearer token is required).",
        model=Request,
        properties=(
            *_PUBLIC_REQUEST[:-2],
            ("nickname", Request.nickname),
            ("phone", Request.phone),
            ("contact_name", Request.contact_name),  # given through Open311
            ("contact_email", Request.contact_email),
            ("media_url", Request.media_url),
            ("receipt_code", Request.receipt_code),
            ("source", Request.source),
            ("hidden", Request.hidden),
            ("version", Request.version),
            ("duplicate_of", Request.duplicate_of_id),
            ("created_at", Request.created_at),
            ("accepted_at", Request.accepted_at),
            ("resolved_at", Request.resolved_at),
            ("updated_at", Request.updated_at),
        ),
        staff_only=True,
        temporal=Request.created_at,
    ),
    CollectionDef(
        id="events",
        title="Events",
        description="Public community events (微讲堂, workshops, markets, naming contests) with "
        "the day, the local time and the place; nobody who signed up is named.",
        model=Event,
        properties=(
            _community(Event),
            ("kind", Event.kind),
            ("title", Event.title),
            ("description", Event.description),
            ("day", Event.day),
            ("time", Event.time),
            ("place", Event.place),
            ("capacity", Event.capacity),
        ),
        temporal=Event.day,
    ),
    CollectionDef(
        id="proposals",
        title="Community planning proposals",
        description="Residents' and partners' proposals (社区规划提案) whose proposers agreed to "
        "show them, with their place or area and status; no proposer's name or phone, only "
        "the name they chose to show; photo: the path of its first photo, if any.",
        model=Proposal,
        properties=(
            _community(Proposal),
            ("number", Proposal.number),
            ("title", Proposal.title),
            ("body", Proposal.body),
            ("status", Proposal.status),
            ("shown_as", Proposal.shown_as),
            ("site", _code_of(Site, Proposal.site_id)),
            ("submitted_on", Proposal.submitted_on),
            ("photo", _PROPOSAL_PHOTO),
        ),
        temporal=Proposal.submitted_on,
    ),
)

COLLECTIONS: dict[str, CollectionDef] = {c.id: c for c in _DEFS}


def json_type(expr: Any) -> dict[str, Any]:
    """JSON Schema of one property from its SQL type (what GDAL turns into field types)."""
    sql_type = getattr(expr, "type", None)
    if isinstance(sql_type, Boolean):
        return {"type": "boolean"}
    if isinstance(sql_type, Integer):
        return {"type": "integer"}
    if isinstance(sql_type, Float | Numeric):
        return {"type": "number"}
    if isinstance(sql_type, DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(sql_type, Date):
        return {"type": "string", "format": "date"}
    return {"type": "string"}


def may_read(collection: CollectionDef, principal: Principal | None) -> bool:
    """Whether the caller may read the collection at all (rows are then filtered by scope)."""
    if not collection.staff_only:
        return True
    return principal is not None and any(g.role in REQUEST_ROLES for g in principal.roles)


def visible_collections(principal: Principal | None) -> list[CollectionDef]:
    """The collections listed to this caller: staff-only ones only for staff with an area."""
    return [c for c in COLLECTIONS.values() if may_read(c, principal)]


def get_collection(collection_id: str, *, principal: Principal | None) -> CollectionDef:
    """The collection, or NotFound; a staff-only one needs credentials (Unauthenticated) and
    a role whose area can hold requests (Forbidden)."""
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise NotFound(
            "no collection '{collection}'; see /ogc/collections",
            key="ogc_collection_not_found",
            collection=collection_id,
            field="collectionId",
        )
    if collection.staff_only:
        if principal is None:
            raise Unauthenticated(
                "collection '{collection}' is for staff: send an API token "
                "(Authorization: Bearer …)",
                key="ogc_collection_staff_only",
                collection=collection_id,
            )
        if not may_read(collection, principal):
            raise Forbidden(
                "your account has no area with requests (ask your community admin)",
                key="no_request_scope",
            )
    return collection


def filter_condition(
    session: Session, collection: CollectionDef, *, principal: Principal | None
) -> ColumnElement[bool]:
    """Which rows of the collection the caller sees: public rows are those of published
    communities (and public suggestions those not hidden);
    staff-only collections are limited to the principal's scope (false without one)."""
    if collection.staff_only:
        if principal is None or not may_read(collection, principal):
            return false()
        return scope_of(session, principal).condition()
    public = in_public_community(collection.model)  # nothing of a community in setup
    if collection.model is Request:
        return and_(Request.hidden == false(), public)
    if collection.model is Event:
        return and_(Event.public == true(), public)
    if collection.model is Proposal:
        return and_(Proposal.public == true(), public)  # the proposer agreed
    return public
