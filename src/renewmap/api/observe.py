"""Every request observed once (pure ASGI middleware, outermost): its id (``X-Request-ID``,
``renewmap.logs``), one log line when it ends (method, route template, status, duration,
client), and its latency in the metrics by route template — ``/api/suggestions/{id}``, never
the filled-in path, so the metrics stay a fixed set of series."""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
import time
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from renewmap import metrics
from renewmap.logs import request_id
from renewmap.settings import Network

log = logging.getLogger("renewmap.request")
_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
UNMATCHED = "(unmatched)"


def route_template(scope: Scope) -> str:
    """The matched route's path template, or ``(unmatched)`` (a 404, a static file)."""
    route = scope.get("route")
    path = getattr(route, "path", None) or getattr(route, "path_format", None)
    if path:
        return str(path)
    if str(scope.get("path", "")).startswith("/static/"):
        return "/static"
    return UNMATCHED


class Observe:
    def __init__(self, app: ASGIApp, *, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = list(trusted)

    def _from_trusted_proxy(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not self.trusted or not client:
            return False
        try:
            peer = ipaddress.ip_address(str(client[0]))
        except ValueError:
            return False
        return any(peer in net for net in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        # a trusted proxy's id joins our lines to its own (nginx: $request_id)
        trusted = self._from_trusted_proxy(scope)
        rid = given if trusted and _ID.match(given) else secrets.token_hex(8)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = str(scope.get("method", ""))
            metrics.REQUEST_SECONDS.labels(method, route, str(status)).observe(elapsed)
            client: Any = scope.get("client") or ("-", 0)
            log.info(
                "%s %s %s %.1f ms",
                method,
                route,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "path": str(scope.get("path", ""))[:200],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "client": str(client[0]),
                },
            )
            request_id.reset(token)
