"""Whom the app believes: proxies and host names, made explicit (pure ASGI middleware).

* ``ProxyHeaders``: ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the
  addresses of ``RENEWMAP_TRUSTED_PROXIES`` (none by default). The client is the right-most
  address of the chain that is not itself a trusted proxy; everything to its left was written
  by the client and is ignored. The resolved address replaces the connection's, so rate
  limits, logs and everything else see the same client. ``renewmap serve`` turns uvicorn's own
  proxy handling off (it trusts 127.0.0.1 by default): this is the only place.
* ``AllowedHosts``: with ``RENEWMAP_ALLOWED_HOSTS`` set (required in production) a request
  for another ``Host`` is a 400. Links handed out are built from ``RENEWMAP_PUBLIC_BASE_URL``,
  never from the ``Host`` header (``deps.public_base``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from renewmap.errors import InvalidHost, RenewMapError
from renewmap.settings import Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``, ``::1``."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class ProxyHeaders:
    def __init__(self, app: ASGIApp, *, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = list(trusted)

    def _is_trusted(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in net for net in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if self.trusted and scope["type"] in ("http", "websocket") and client:
            peer = _address(str(client[0]))
            if peer is not None and self._is_trusted(peer):
                self._resolve(scope, peer)
        await self.app(scope, receive, send)

    def _resolve(self, scope: Scope, peer: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
        headers = Headers(scope=scope)
        chain = ",".join(headers.getlist("x-forwarded-for"))
        resolved = peer
        for hop in reversed([h for h in chain.split(",") if h.strip()]):
            address = _address(hop)
            if address is None:
                break  # the trusted proxy wrote nonsense: keep what it is sure of
            resolved = address
            if not self._is_trusted(address):
                break  # the first address no trusted proxy vouches for is the client
        scope["client"] = (str(resolved), 0)
        protos = ",".join(headers.getlist("x-forwarded-proto")).split(",")
        proto = protos[-1].strip().lower()
        if proto in ("http", "https"):
            secure = proto == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = proto


class AllowedHosts:
    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: Sequence[str],
        render: Callable[[RenewMapError, Request], Response],
    ) -> None:
        self.app = app
        self.hosts = list(hosts)
        self.render = render

    def allowed(self, host: str) -> bool:
        name = host.strip().lower()
        name = name[1 : name.find("]")] if name.startswith("[") else name.rsplit(":", 1)[0]
        for pattern in self.hosts:
            if pattern == "*" or name == pattern:
                return True
            if pattern.startswith("*.") and name.endswith(pattern[1:]):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hosts and scope["type"] in ("http", "websocket"):
            host = Headers(scope=scope).get("host", "")
            if not self.allowed(host):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                problem = InvalidHost(
                    "this server does not answer for the host '{host}'",
                    key="host_not_allowed",
                    host=host[:100],
                )
                await self.render(problem, Request(scope))(scope, receive, send)
                return
        await self.app(scope, receive, send)
