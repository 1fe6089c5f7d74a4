"""Health, communities, layers (GeoJSON) and routing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from renewmap import __version__
from renewmap.api.deps import PublicCode, ReadSession, SettingsDep
from renewmap.api.responses import GeoJSONResponse
from renewmap.api.schemas.common import FeatureCollection
from renewmap.api.schemas.places import CommunityOut, Health, PlaceList, RouteOut
from renewmap.db.queries.system import ping
from renewmap.services.places import catalog, gazetteer
from renewmap.services.places.catalog import PUBLIC_LAYER_KINDS
from renewmap.services.places.routing import route_geometry
from renewmap.spatial.geometry import parse_geojson

router = APIRouter()


@router.get("/health", response_model=Health, tags=["system"])
def health(session: ReadSession) -> Health:
    """Liveness and database reachability."""
    return Health(status="ok", database=ping(session), version=__version__)


@router.get("/api/communities", response_model=list[CommunityOut], tags=["places"])
def communities(session: ReadSession) -> list[CommunityOut]:
    return [CommunityOut(**c) for c in catalog.communities(session)]


@router.get("/api/communities/{code}", response_model=CommunityOut, tags=["places"])
def community(code: PublicCode, session: ReadSession) -> CommunityOut:
    return CommunityOut(**catalog.community(session, code=code))


@router.get(
    "/api/communities/{code}/layers/{kind}",
    response_class=GeoJSONResponse,
    response_model=FeatureCollection,
    tags=["places"],
    summary="One layer of a community as GeoJSON",
    description=f"kind: one of {', '.join(PUBLIC_LAYER_KINDS)}. Coordinates are WGS84 "
    "(lon, lat). Residents' requests are served by the suggestions and staff APIs.",
)
def layer(code: PublicCode, kind: str, session: ReadSession) -> GeoJSONResponse:
    return GeoJSONResponse(catalog.layer_geojson(session, community_code=code, kind=kind))


@router.get(
    "/api/communities/{code}/places",
    response_model=PlaceList,
    tags=["places"],
    summary="Find a building, site, facility, grid or garden of the community by name",
)
def places(
    code: PublicCode,
    session: ReadSession,
    q: Annotated[
        str | None, Query(max_length=100, description="part of the name: 17, 17号楼, 花园")
    ] = None,
) -> dict[str, Any]:
    return gazetteer.find_places(session, community_code=code, q=q)


RouteBody = Annotated[
    dict[str, Any],
    Body(
        description="A GeoJSON geometry (or Feature) in WGS84, x = longitude",
        examples=[{"type": "Point", "coordinates": [121.4905, 31.2890]}],
    ),
]


@router.post(
    "/api/route",
    response_model=RouteOut,
    tags=["routing"],
    summary="Who owns this location?",
    responses={422: {"description": "invalid geometry or outside every community"}},
)
def route(body: RouteBody, session: ReadSession, settings: SettingsDep) -> RouteOut:
    geom = parse_geojson(body, where="body")
    owner = route_geometry(session, geom, snap_m=settings.snap_distance_m)
    return RouteOut(**owner.as_dict(), message=owner.message())
