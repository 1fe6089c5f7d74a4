"""``renewmap serve``: uvicorn with one or several worker processes on one listening socket.

We bind the socket ourselves, as a TCP socket (``IPPROTO_TCP``), and hand it to uvicorn's
workers. uvicorn's own ``--workers`` path (and gunicorn's uvicorn worker) bind it with the
protocol left at 0; asyncio then does not set ``TCP_NODELAY`` on the connections it
accepts, so on Linux every keep-alive request after the first waits ≈ 40 ms for the
client's delayed ACK (uvicorn issue #3149; measured in bench/bench_workers.py). A worker
that dies (``kill -9``) is replaced by the supervisor; the others keep serving.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from typing import Any

from renewmap.settings import Settings

APP = "renewmap.api.app:create_app"
BACKLOG = 2048


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound (not yet listening) TCP socket whose accepted connections get TCP_NODELAY."""
    infos = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every worker runs with. The app resolves forwarded headers itself
    (``api/trust.py``, ``RENEWMAP_TRUSTED_PROXIES``): uvicorn's own handling would trust
    127.0.0.1 whatever the setting says."""
    from renewmap.logs import log_config

    return {
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "server_header": False,
        "backlog": BACKLOG,
        "log_config": log_config(settings),
        "access_log": False,  # the app logs each request itself, with its id (renewmap.logs)
        # a stopping worker finishes the requests it has, for at most this long
        "timeout_graceful_shutdown": 10,
    }


def run(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve until stopped (SIGINT/SIGTERM)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sock = listening_socket(host, port)
    metrics_dir = None
    try:
        if workers == 1:
            from renewmap.api.app import create_app

            config = uvicorn.Config(create_app(settings), **uvicorn_options(settings))
            uvicorn.Server(config).run(sockets=[sock])
            return
        # the workers' metrics are added up from files in one directory (prometheus-client's
        # multiprocess mode): a new one per run
        metrics_dir = tempfile.mkdtemp(prefix="renewmap-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        config = uvicorn.Config(APP, factory=True, workers=workers, **uvicorn_options(settings))
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
