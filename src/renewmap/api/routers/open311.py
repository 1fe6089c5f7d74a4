"""Open311 GeoReport v2 under ``/open311/v2/``: services, requests, tokens (XML and JSON).

Thin: every answer comes from ``renewmap.protocols.open311.georeport``; this module only parses the
standard's parameters and renders its formats. The format is the path's extension (``.xml``,
required by the standard, or ``.json``); errors come in the same format as a list of
``{code, description}`` with the standard's statuses (400, 403, 404; 429 when a key posts
too much).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from renewmap.api.deps import (
    Limiter,
    NotifyKick,
    PublicBase,
    ReadSession,
    SettingsDep,
    WriteSession,
)
from renewmap.api.routing import TransactionalRoute
from renewmap.api.schemas.open311 import (
    Discovery,
    Service,
    ServiceDefinition,
    ServiceRequest,
    ServiceRequestCreated,
    TokenAnswer,
)
from renewmap.errors import InvalidInput, RenewMapError, http_status_for
from renewmap.i18n import negotiate
from renewmap.protocols.open311 import georeport
from renewmap.protocols.open311.xml import render

PREFIX = "/open311/v2"


def _no_nul(name: str, value: str) -> str:
    """Text with a NUL character is refused (PostgreSQL cannot store or compare it)."""
    if "\x00" in value:
        raise InvalidInput(
            "{field} contains a NUL character (%00)", key="nul_character", field=name
        )
    return value


# (a NUL in the address itself is refused by the app for every route)
router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=TransactionalRoute)
FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The standard's statuses: a bad or missing key is 403 (never 401), invalid input is 400.
SPEC_STATUS = {401: 403, 422: 400}
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_SINGLE_FIELDS = (
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "description",
    "media_url",
    "email",
    "first_name",
    "last_name",
    "phone",
)


def formats(model: Any) -> dict[int | str, dict[str, Any]]:
    """The standard's two forms of one answer: JSON (``model``) or XML (``.xml``)."""
    return {
        200: {
            "model": model,
            "description": "in the path's format: .json, or .xml with the same fields",
            "content": {"text/xml": {}},
        }
    }


def _format_of_path(path: str) -> str:
    return "xml" if path.lower().endswith(".xml") else "json"


def _body(data: Any, fmt: str, root: str, status: int = 200, headers: Any = None) -> Response:
    if fmt == "xml":
        content = render(root, data)
    else:
        content = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(content, status_code=status, media_type=CONTENT_TYPES[fmt], headers=headers)


def render_error(exc: RenewMapError, request: Request) -> Response:
    """Open311's error body, ``[{code, description}]`` or ``<errors><error>…``, in the
    format of the path's extension (JSON when it has none)."""
    status = http_status_for(exc)
    status = SPEC_STATUS.get(status, status)
    retry = exc.details.get("retry_after")
    headers = {"Retry-After": str(retry)} if retry is not None else None
    body = [{"code": status, "description": exc.render(_locale(request))}]
    return _body(body, _format_of_path(request.url.path), "errors", status, headers)


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(
            "unknown format '.{format}': use .xml or .json",
            key="open311_format",
            format=fmt,
            field="format",
        )
    return fmt


def _locale(request: Request) -> str:
    return negotiate(
        request.query_params.get("locale"), None, request.headers.get("accept-language")
    )


def _param(request: Request, name: str) -> str | None:
    return request.query_params.get(name)


@router.get(
    "/discovery.{fmt}",
    response_class=Response,
    responses=formats(Discovery),
    summary="Service Discovery: the endpoint, formats, keys",
)
def discovery(fmt: str, request: Request, base: PublicBase) -> Response:
    fmt = _format(fmt)
    return _body(
        georeport.discovery(base_url=base + PREFIX, locale=_locale(request)),
        fmt,
        "discovery",
    )


@router.get(
    "/services.{fmt}",
    response_class=Response,
    responses=formats(list[Service]),
    summary="Services: the request categories",
)
def services(fmt: str, request: Request, session: ReadSession) -> Response:
    fmt = _format(fmt)
    data = georeport.services(
        session, jurisdiction_id=_param(request, "jurisdiction_id"), locale=_locale(request)
    )
    return _body(data, fmt, "services")


@router.get(
    "/services/{service_code}.{fmt}",
    response_class=Response,
    responses=formats(ServiceDefinition),
    summary="A service's definition: its extra attributes",
)
def service_definition(
    service_code: str, fmt: str, request: Request, session: ReadSession
) -> Response:
    fmt = _format(fmt)
    data = georeport.service_definition(
        session,
        service_code=service_code,
        jurisdiction_id=_param(request, "jurisdiction_id"),
        locale=_locale(request),
    )
    return _body(data, fmt, "service_definition")


async def _posted(request: Request) -> list[tuple[str, str]]:
    """The POST's fields: the form body (url-encoded or multipart) first, then the query
    string (some clients send ``api_key`` or ``jurisdiction_id`` there)."""
    try:
        form = await request.form()
    except Exception as exc:  # a malformed body is the client's error, never a 500
        raise InvalidInput(
            "could not read the form body: {reason}",
            key="form_unreadable",
            reason=str(exc),
            field="body",
        ) from None
    items = [*form.multi_items(), *request.query_params.multi_items()]
    out = []
    for name, value in items:
        if isinstance(value, UploadFile):
            raise InvalidInput(
                "file uploads are not accepted: send a media_url instead",
                key="open311_upload",
                field=name,
            )
        out.append((name, _no_nul(name, value)))
    return out


def _new_request(items: list[tuple[str, str]]) -> tuple[dict[str, str], georeport.NewRequest]:
    single: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for name, value in items:
        m = _ATTRIBUTE.match(name)
        if m:
            attributes.setdefault(m.group(1), []).append(value)
        elif name in _SINGLE_FIELDS:
            single.setdefault(name, value)
    fields = {k: v for k, v in single.items() if k not in ("api_key", "jurisdiction_id")}
    return single, georeport.NewRequest(**fields, attributes=attributes)


@router.post(
    "/requests.{fmt}",
    summary="Post a service request (form-encoded, api_key required)",
    response_class=Response,
    responses={
        **formats(list[ServiceRequestCreated]),
        400: {"description": "invalid or missing field, attribute or location"},
        403: {"description": "api_key missing, invalid, revoked or not for this community"},
        404: {"description": "jurisdiction_id not found"},
        429: {"description": "too many requests with this api_key"},
    },
)
def create_request(
    fmt: str,
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
    limiter: Limiter,
    notify_kick: NotifyKick,
    items: Annotated[list[tuple[str, str]], Depends(_posted)],
) -> Response:
    fmt = _format(fmt)
    single, new = _new_request(items)
    created = georeport.create(
        session,
        api_key=single.get("api_key"),
        jurisdiction_id=single.get("jurisdiction_id"),
        new=new,
        secret=settings.secret_key,
        locale=_locale(request),
        rate_limit=lambda client: limiter.hit("open311", client),
        snap_m=settings.snap_distance_m,
        base_url=settings.public_base_url,
    )
    notify_kick()  # sent once this transaction has committed
    return _body([created], fmt, "service_requests")


@router.get(
    "/requests.{fmt}",
    response_class=Response,
    responses=formats(list[ServiceRequest]),
    summary="Requests: by ids, or by service, status and dates",
)
def list_requests(fmt: str, request: Request, session: ReadSession) -> Response:
    fmt = _format(fmt)
    data = georeport.list_requests(
        session,
        jurisdiction_id=_param(request, "jurisdiction_id"),
        service_request_id=_param(request, "service_request_id"),
        service_code=_param(request, "service_code"),
        start_date=_param(request, "start_date"),
        end_date=_param(request, "end_date"),
        status=_param(request, "status"),
        locale=_locale(request),
    )
    return _body(data, fmt, "service_requests")


@router.get(
    "/requests/{service_request_id}.{fmt}",
    response_class=Response,
    responses=formats(list[ServiceRequest]),
    summary="One request (a one-element list)",
)
def get_request(
    service_request_id: str, fmt: str, request: Request, session: ReadSession
) -> Response:
    fmt = _format(fmt)
    data = georeport.get_request(
        session,
        service_request_id=service_request_id,
        jurisdiction_id=_param(request, "jurisdiction_id"),
        locale=_locale(request),
    )
    return _body(data, fmt, "service_requests")


@router.get(
    "/tokens/{token}.{fmt}",
    response_class=Response,
    responses=formats(list[TokenAnswer]),
    summary="The request id behind a POST's token",
)
def token(token: str, fmt: str, request: Request, session: ReadSession) -> Response:
    fmt = _format(fmt)
    data = georeport.resolve_token(
        session, token=token, jurisdiction_id=_param(request, "jurisdiction_id")
    )
    return _body(data, fmt, "service_requests")
