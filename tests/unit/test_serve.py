"""The listening socket ``renewmap serve`` hands its workers: connections accepted from it
have TCP_NODELAY (asyncio sets it only on sockets whose protocol says TCP; uvicorn's own
``--workers`` socket says 0 — uvicorn issue #3149 — and its connections keep Nagle's
algorithm, +40 ms per keep-alive request on Linux)."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from renewmap.serve import listening_socket

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the delay is Linux's")


def _nodelay_of_accepted(listener: socket.socket) -> int:
    """Serve ``listener`` with asyncio (as uvicorn does) and report TCP_NODELAY of the
    socket it accepts."""
    result: list[int] = []

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            result.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Report, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if result:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    return result[0]


def test_our_listening_socket_gives_accepted_connections_tcp_nodelay() -> None:
    sock = listening_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert _nodelay_of_accepted(sock) == 1


def test_a_socket_bound_as_uvicorn_binds_it_does_not() -> None:
    """The premise, on this machine: a listener made like uvicorn's ``bind_socket``
    (protocol 0) gives connections without TCP_NODELAY."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    assert sock.proto == 0
    assert _nodelay_of_accepted(sock) == 0


def test_ipv6_listener_keeps_tcp_too() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        sock = listening_socket("::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback")
    assert sock.family == socket.AF_INET6 and sock.proto == socket.IPPROTO_TCP
    sock.close()
