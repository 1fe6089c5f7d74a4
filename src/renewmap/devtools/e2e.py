"""Real servers and a real browser for end-to-end tests and benchmarks.

The app runs as it does in production (``renewmap serve`` in a subprocess, uvicorn, its own
database file); helper HTTP servers run in threads on loopback. Chromium is Debian's
``/usr/bin/chromium``, driven by Playwright for Python; no browser is ever downloaded.
"""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = os.environ.get("RENEWMAP_CHROMIUM", "/usr/bin/chromium")
# Quiet, offline-friendly headless Chromium (no GPU in containers, nothing phoning home).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class RunningApp:
    """A ``renewmap serve`` process: its URL, the process (the supervisor with
    ``--workers N``) and its log file."""

    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> list[int]:
        """Pids of the worker processes (the supervisor's children serving requests)."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        pids = [int(p) for p in text.split()]
        return [p for p in pids if _is_worker(p)]


def _is_worker(pid: int) -> bool:
    """A worker is a spawned Python process (not multiprocessing's resource tracker)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"resource_tracker" not in b" ".join(cmdline)


@contextmanager
def app_process(
    db: Path | str,
    log: Path,
    *,
    demo_dir: Path | None = None,
    env: dict[str, str] | None = None,
    startup_s: float = 120.0,
    workers: int = 1,
    demo_history: bool = False,
    upgrade_url: str | None = None,
) -> Iterator[RunningApp]:
    """``renewmap serve`` on a free loopback port, after ``renewmap db upgrade``.

    ``db``: a SpatiaLite file, or a database URL (``postgresql+psycopg://…`` for PostGIS).

    ``demo_dir``: load the demo community first (``--demo``), bare (``--demo-bare``: the state
    the browser tests start from) unless ``demo_history``. Output goes to ``log``: a pipe
    nobody reads would block the server. ``env`` adds ``RENEWMAP_*`` settings; ``workers``
    worker processes (``--workers``), all of them started before this yields.
    ``upgrade_url``: run ``renewmap db upgrade`` there instead (PostgreSQL directly, when the
    app talks to it through PgBouncer).
    """
    port = free_port()
    cli = [sys.executable, "-m", "renewmap.cli"]
    cmd = [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if demo_dir is not None:
        cmd += ["--demo", "--demo-dir", str(demo_dir)]
        if not demo_history:
            cmd.append("--demo-bare")
    full_env = {
        **os.environ,
        "RENEWMAP_DATABASE_URL": db if isinstance(db, str) else f"sqlite:///{db}",
        "RENEWMAP_ENV": "dev",
        **(env or {}),
    }
    out = log.open("ab")
    # as deployed: the schema is brought up to date first, the server only checks it
    upgrade_env = {**full_env, **({"RENEWMAP_DATABASE_URL": upgrade_url} if upgrade_url else {})}
    subprocess.run(
        [*cli, "db", "upgrade"], env=upgrade_env, stdout=out, stderr=subprocess.STDOUT, check=True
    )
    proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    app = RunningApp(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            try:
                urllib.request.urlopen(app.base + "/health", timeout=1).close()
                if workers == 1 or len(app.workers()) >= workers:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + log.read_text())
            time.sleep(0.1)
        yield app
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        out.close()


@contextmanager
def app_server(
    db: Path | str,
    log: Path,
    *,
    demo_dir: Path | None = None,
    env: dict[str, str] | None = None,
    startup_s: float = 120.0,
    workers: int = 1,
    demo_history: bool = False,
) -> Iterator[str]:
    """``app_process``, yielding its URL."""
    with app_process(
        db,
        log,
        demo_dir=demo_dir,
        env=env,
        startup_s=startup_s,
        workers=workers,
        demo_history=demo_history,
    ) as app:
        yield app.base


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def thread_server(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A loopback HTTP server with ``handler`` in a thread; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """Files of ``directory`` over loopback HTTP; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    with thread_server(handler) as base:
        yield base
