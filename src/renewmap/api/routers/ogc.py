"""OGC API - Features Part 1 (core, GeoJSON, OpenAPI 3.0), read-only, under ``/ogc/``.

Thin: every answer comes from ``renewmap.protocols.ogc.features``. Query parameters are read
from the raw query string (not declared to FastAPI), so that unknown or malformed ones are
answered as the OGC exception document with 400, by the service's own checks.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from renewmap.api.deps import BearerStaff, PublicSession, public_base
from renewmap.api.routing import TransactionalRoute
from renewmap.api.schemas import ogc as docs
from renewmap.errors import CRSError, InvalidGeometry, InvalidInput, RenewMapError, http_status_for
from renewmap.i18n import negotiate as negotiate_locale
from renewmap.protocols.ogc import features, openapi
from renewmap.protocols.ogc.features import (
    DOC_PARAMS,
    FEATURE_PARAMS,
    GEOJSON,
    ITEMS_PARAMS,
    JSON,
    JSON_SCHEMA,
    OPENAPI,
    Call,
    Document,
)

PREFIX = "/ogc"
router = APIRouter(prefix=PREFIX, tags=["ogc"], route_class=TransactionalRoute)


def documents(model: Any, media: str) -> dict[int | str, dict[str, Any]]:
    """An OGC document: JSON (``model``), labelled ``media`` when asked for by that type."""
    return {200: {"model": model, "description": "the document", "content": {media: {}}}}


def _call(request: Request, params: dict[str, str]) -> Call:
    locale = negotiate_locale(params.get("lang"), None, request.headers.get("accept-language"))
    return Call(
        base=public_base(request) + PREFIX,
        locale=locale,
        query=tuple(request.query_params.multi_items()),
    )


def _params(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    return features.check_params(request.query_params.multi_items(), allowed)


def _send(doc: Document) -> Response:
    # the answer depends on these (f= and lang= are in the URL already)
    headers = {"Vary": "Accept, Accept-Language, Authorization", **dict(doc.headers)}
    return Response(doc.body, media_type=doc.media_type, headers=headers)


@router.get(
    "/",
    response_class=Response,
    responses=documents(docs.Landing, JSON),
    summary="OGC API – Features landing page",
)
def landing(request: Request) -> Response:
    params = _params(request, DOC_PARAMS)
    media = features.negotiate(params, request.headers.get("accept"))
    return _send(features.landing(_call(request, params), media=media))


@router.get("", response_class=Response, include_in_schema=False)
def landing_without_slash(request: Request) -> Response:
    """``/ogc`` as well as ``/ogc/`` (clients differ); its errors in the OGC format too,
    which the app's renderers only apply under ``/ogc/``."""
    try:
        return landing(request)
    except RenewMapError as exc:
        return render_error(exc, request)


@router.get(
    "/conformance",
    response_class=Response,
    responses=documents(docs.Conformance, JSON),
    summary="Conformance classes",
)
def conformance(request: Request) -> Response:
    params = _params(request, DOC_PARAMS)
    media = features.negotiate(params, request.headers.get("accept"))
    return _send(features.conformance(_call(request, params), media=media))


@router.get(
    "/api",
    response_class=Response,
    responses=documents(docs.OpenApiDocument, OPENAPI),
    summary="OpenAPI 3.0 definition of /ogc",
)
def api(request: Request) -> Response:
    params = _params(request, DOC_PARAMS)
    if params.get("f", "json").lower() != "json":
        raise InvalidInput("f must be json for the API definition", key="ogc_api_format", field="f")
    return _send(openapi.openapi(_call(request, params)))


@router.get(
    "/collections",
    response_class=Response,
    responses=documents(docs.Collections, JSON),
    summary="Collections",
)
def collections(request: Request, session: PublicSession, principal: BearerStaff) -> Response:
    params = _params(request, DOC_PARAMS)
    media = features.negotiate(params, request.headers.get("accept"))
    call = _call(request, params)
    return _send(features.collections(session, call, principal=principal, media=media))


@router.get(
    "/collections/{collection_id}",
    response_class=Response,
    responses=documents(docs.Collection, JSON),
    summary="One collection",
)
def collection(
    collection_id: str, request: Request, session: PublicSession, principal: BearerStaff
) -> Response:
    params = _params(request, DOC_PARAMS)
    media = features.negotiate(params, request.headers.get("accept"))
    return _send(
        features.collection(
            session,
            _call(request, params),
            collection_id=collection_id,
            principal=principal,
            media=media,
        )
    )


@router.get(
    "/collections/{collection_id}/schema",
    response_class=Response,
    responses=documents(docs.JsonSchema, JSON_SCHEMA),
    summary="JSON Schema of the features",
)
def schema(collection_id: str, request: Request, principal: BearerStaff) -> Response:
    params = _params(request, frozenset({"lang"}))
    return _send(
        features.schema(_call(request, params), collection_id=collection_id, principal=principal)
    )


@router.get(
    "/collections/{collection_id}/items",
    response_class=Response,
    responses=documents(docs.Items, GEOJSON),
    summary="A page of features (GeoJSON)",
)
def items(
    collection_id: str, request: Request, session: PublicSession, principal: BearerStaff
) -> Response:
    params = _params(request, ITEMS_PARAMS)
    media = features.negotiate(params, request.headers.get("accept"), features=True)
    return _send(
        features.items(
            session,
            _call(request, params),
            collection_id=collection_id,
            principal=principal,
            params=params,
            media=media,
        )
    )


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=Response,
    responses=documents(docs.Feature, GEOJSON),
    summary="One feature (GeoJSON)",
)
def item(
    collection_id: str,
    feature_id: str,
    request: Request,
    session: PublicSession,
    principal: BearerStaff,
) -> Response:
    params = _params(request, FEATURE_PARAMS)
    media = features.negotiate(params, request.headers.get("accept"), features=True)
    return _send(
        features.item(
            session,
            _call(request, params),
            collection_id=collection_id,
            feature_id=feature_id,
            principal=principal,
            params=params,
            media=media,
        )
    )


def render_error(exc: RenewMapError, request: Request) -> Response:
    """OGC API's exception document: ``{code, description}``. Bad parameters are a 400 in
    OGC API (InvalidInput is a 422 elsewhere in the app)."""
    bad_parameter = isinstance(exc, InvalidInput | InvalidGeometry | CRSError)
    status = 400 if bad_parameter else http_status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    locale = negotiate_locale(
        request.query_params.get("lang"), None, request.headers.get("accept-language")
    )
    return JSONResponse(
        {"code": exc.code, "description": exc.render(locale)}, status_code=status, headers=headers
    )
