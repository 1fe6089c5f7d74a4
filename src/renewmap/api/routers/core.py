"""Health, communities, layers (GeoJSON) and routing."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from renewmap import __version__
from renewmap.api.deps import PublicCode, PublicSession, ReadSession, SettingsDep
from renewmap.api.responses import GeoJSONResponse
from renewmap.api.routing import TransactionalRoute
from renewmap.api.schemas.common import FeatureCollection
from renewmap.api.schemas.places import CommunityOut, Health, Live, PlaceList, Ready, RouteOut
from renewmap.db.queries.system import ping
from renewmap.errors import NotFound, SchemaOutdated
from renewmap.services.places import catalog, gazetteer
from renewmap.services.places.catalog import PUBLIC_LAYER_KINDS
from renewmap.services.places.routing import route_geometry
from renewmap.settings import parse_networks
from renewmap.spatial.geometry import parse_geojson

router = APIRouter(route_class=TransactionalRoute)


@router.get("/health", response_model=Health, tags=["system"])
def health(session: ReadSession) -> Health:
    """The process and its database answer (for people; probes use /health/live and
    /health/ready)."""
    return Health(status="ok", database=ping(session), version=__version__)


@router.get("/health/live", response_model=Live, tags=["system"])
async def live() -> Live:
    """Liveness: the process answers. No database involved, so a database that blips does
    not get every worker restarted by the orchestrator."""
    return Live(status="ok")


@router.get(
    "/health/ready",
    response_model=Ready,
    tags=["system"],
    responses={503: {"model": Ready, "description": "not ready: database away or outdated"}},
)
def ready(request: Request) -> JSONResponse:
    """Readiness: the database answers and is at this code's schema revision (a load
    balancer sends traffic only then)."""
    from renewmap.db.migrate import check_current

    try:
        with request.app.state.read_session_factory() as session:
            ping(session)
        check_current(request.app.state.engine)
    except SchemaOutdated as exc:
        body = Ready(status="unavailable", database="schema_outdated", detail=exc.message)
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    except (OperationalError, InterfaceError, SQLAlchemyTimeoutError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        body = Ready(status="unavailable", database="unreachable", detail=detail)
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    return JSONResponse(Ready(status="ok", database="ok").model_dump())


@router.get(
    "/metrics",
    tags=["system"],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics_text(request: Request, settings: SettingsDep) -> Response:
    """Prometheus metrics, for the addresses of ``RENEWMAP_METRICS_ALLOW`` only (others: 404)."""
    from renewmap import metrics

    client = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        address = None
    allowed = parse_networks(settings.metrics_allow)
    if address is None or not any(address in net for net in allowed):
        raise NotFound("no page or endpoint at {path}", key="no_route", path=request.url.path)
    body = metrics.scrape(request.app.state.read_session_factory)
    return Response(body, media_type=metrics.CONTENT_TYPE)


@router.get("/api/communities", response_model=list[CommunityOut], tags=["places"])
def communities(session: PublicSession) -> list[CommunityOut]:
    return [CommunityOut(**c) for c in catalog.communities(session)]


@router.get("/api/communities/{code}", response_model=CommunityOut, tags=["places"])
def community(code: PublicCode, session: PublicSession) -> CommunityOut:
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
def layer(code: PublicCode, kind: str, session: PublicSession) -> GeoJSONResponse:
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
