"""Every JSON route documents its response body in /openapi.json.

JSON routes declare a pydantic response model (``response_model``, or ``responses={200:
{"model": …}}`` where one route answers in two formats, as Open311's JSON and XML do). Routes
that answer with something else (images, files, tiles, CSV) declare their ``response_class``
and the media types in ``responses=``. HTML pages are not part of the API document.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from tests.support.app import build_app


def is_model(annotation: Any) -> bool:
    """A pydantic model, or a list or union of them (``list[Service]``, ``A | B``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        return all(is_model(a) for a in typing.get_args(annotation))
    return False


def is_json(media_type: str) -> bool:
    return media_type.split(";")[0].strip() == "application/json" or media_type.endswith("+json")


def api_routes(app: FastAPI) -> list[APIRoute]:
    routes = [ctx.original_route for ctx in iter_route_contexts(app.routes)]
    return [r for r in routes if isinstance(r, APIRoute) and r.include_in_schema]


def undocumented(route: APIRoute) -> str | None:
    """Why the route's response body is not documented, or None when it is."""
    if route.status_code == 204:
        return None  # no body
    success = route.responses.get(route.status_code or 200) or route.responses.get(200) or {}
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    if issubclass(response_class, JSONResponse):
        if is_model(route.response_model) or is_model(success.get("model")):
            return None
        return f"JSON body without a response model (response_model={route.response_model!r})"
    media_types = list(success.get("content", {}))
    if not media_types:
        return f"{response_class.__name__} body without its media types in responses="
    if "model" in success:
        return None if is_model(success["model"]) else "responses model is not a pydantic model"
    if any(is_json(m) for m in media_types):
        return f"JSON media type {media_types} without a model"
    return None


APP = build_app()  # its routes, listed when the tests are collected


@pytest.mark.parametrize(
    "route", api_routes(APP), ids=lambda r: f"{','.join(sorted(r.methods))} {r.path}"
)
def test_every_route_documents_its_response_body(route: APIRoute) -> None:
    assert undocumented(route) is None, undocumented(route)


def test_the_openapi_document_has_a_schema_for_every_json_body() -> None:
    document = APP.openapi()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                for media, body in response.get("content", {}).items():
                    if media == "application/json" and not body.get("schema"):
                        missing.append(f"{method.upper()} {path} {status}")
    assert missing == []


def test_the_check_tells_json_without_a_model_from_a_documented_file() -> None:
    """The rule itself: it catches an undocumented JSON route and passes a declared file."""
    from fastapi import APIRouter
    from fastapi.responses import Response

    router = APIRouter()

    @router.get("/bare")
    def bare() -> dict[str, Any]:
        return {}

    @router.get(
        "/file",
        response_class=Response,
        responses={200: {"description": "a file", "content": {"image/png": {}}}},
    )
    def file() -> Response:
        return Response(b"")

    @router.get("/file-undeclared", response_class=Response)
    def file_undeclared() -> Response:
        return Response(b"")

    app = FastAPI()
    app.include_router(router)
    found = {r.path: undocumented(r) for r in api_routes(app) if r.path.startswith("/")}
    assert found["/bare"] is not None
    assert found["/file"] is None
    assert found["/file-undeclared"] is not None
