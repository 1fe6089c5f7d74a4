"""Request bodies bounded on the bytes actually received (pure ASGI middleware).

Every route belongs to a body class with its own limit: small JSON and forms (the default),
drawings (a draft's or a grid set's GeoJSON), photo posts and file imports. An endpoint names
its class with ``@body("photos")``. The limit holds whatever the client declares: a
``Content-Length`` above it is refused before anything is read, and a chunked body is counted
as it arrives; the moment the count passes the limit the app stops reading, the client gets a
413 naming the limit and the connection is closed (``Connection: close``).

JSON bodies of every class are also checked before FastAPI parses them (Python's parser
accepts ``NaN``/``Infinity`` and recurses on nesting): see ``renewmap.validation.check_json``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renewmap.errors import InvalidInput, PayloadTooLarge, RenewMapError
from renewmap.i18n import N_, Msg
from renewmap.validation import check_json

BODY_CLASSES = ("json", "drawing", "photos", "files")
_ATTR = "__renewmap_body_class__"
F = TypeVar("F", bound=Callable[..., Any])


def body(kind: str) -> Callable[[F], F]:
    """Put an endpoint in a body class (default ``json``); below ``@router.post(…)``."""
    if kind not in BODY_CLASSES:
        raise ValueError(f"body class must be one of {BODY_CLASSES}")

    def mark(endpoint: F) -> F:
        setattr(endpoint, _ATTR, kind)
        return endpoint

    return mark


def _mebibytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}".removesuffix(".0") + " MB"


# What each class of request body carries, as the limit's message names it.
BODY_KINDS = {
    "json": N_("form and JSON"),
    "drawing": N_("drawing"),
    "photos": N_("photo"),
    "files": N_("file upload"),
}


def too_large(limit: int, kind: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        "the request body is larger than {size} ({limit} bytes), the limit for {what} requests",
        key="body_too_large",
        size=_mebibytes(limit),
        what=Msg(BODY_KINDS[kind]) if kind in BODY_KINDS else kind,
        limit=limit,
        body_class=kind,
    )


class _Exceeded(Exception):
    """Raised into the app when the body passes the limit: it stops reading."""


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and "+json" in media)


class BodyLimit:
    """The middleware. ``limits``: body class → bytes; ``render``: a domain error and the
    request → the response the app would give (JSON, a page, Open311's or OGC's format)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Callable[[], Sequence[BaseRoute]],
        limits: dict[str, int],
        render: Callable[[RenewMapError, Request], Response],
    ) -> None:
        self.app = app
        self.routes = routes
        self.limits = limits
        self.render = render
        self._classes: list[tuple[re.Pattern[str], frozenset[str], str]] | None = None

    def _marked(self) -> list[tuple[re.Pattern[str], frozenset[str], str]]:
        """(path pattern, methods, class) of every endpoint marked with ``@body``; built on
        the first request, when every router is included."""
        if self._classes is None:
            try:  # FastAPI ≥ 0.16x keeps included routers unflattened
                from fastapi.routing import iter_route_contexts

                found = [(rc.path, rc.original_route) for rc in iter_route_contexts(self.routes())]
            except ImportError:  # pragma: no cover - older FastAPI: routes are flat
                found = [(getattr(r, "path", None), r) for r in self.routes()]
            classes = []
            for path, route in found:
                kind = getattr(getattr(route, "endpoint", None), _ATTR, None)
                if kind and path:
                    methods = frozenset(getattr(route, "methods", None) or ())
                    classes.append((compile_path(path)[0], methods, str(kind)))
            self._classes = classes
        return self._classes

    def body_class(self, scope: Scope) -> str:
        """The class of the endpoint this request goes to (``json`` unless marked)."""
        path, method = scope["path"], scope["method"]
        for pattern, methods, kind in self._marked():
            if method in methods and pattern.match(path):
                return kind
        return "json"

    async def _refuse(self, exc: RenewMapError, scope: Scope, send: Send) -> None:
        response = self.render(exc, Request(scope))
        response.headers["Connection"] = "close"
        await response(scope, _no_body, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self.body_class(scope)
        limit = self.limits[kind]
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await self._refuse(
                    InvalidInput(
                        "Content-Length must be a number of bytes",
                        key="content_length_invalid",
                        field="headers",
                    ),
                    scope,
                    send,
                )
                return
            if int(declared) > limit:
                await self._refuse(too_large(limit, kind), scope, send)
                return
        if scope["method"] in ("POST", "PUT", "PATCH") and _is_json(
            headers.get("content-type", "")
        ):
            await self._json(scope, receive, send, kind, limit)
            return
        await self._streamed(scope, receive, send, kind, limit)

    async def _json(
        self, scope: Scope, receive: Receive, send: Send, kind: str, limit: int
    ) -> None:
        """Read the (bounded) JSON body, check it, and hand it on."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(too_large(limit, kind), scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        data = b"".join(chunks)
        try:
            check_json(data)
        except RenewMapError as exc:
            await self._refuse(exc, scope, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _streamed(
        self, scope: Scope, receive: Receive, send: Send, kind: str, limit: int
    ) -> None:
        """Count the body as the app reads it; past the limit, the app's answer is replaced."""
        size = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal size, exceeded
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    exceeded = True
                    raise _Exceeded
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's own answer to the interrupted read is replaced below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except _Exceeded:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(too_large(limit, kind), scope, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
