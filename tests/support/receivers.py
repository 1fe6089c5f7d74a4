"""Real receivers of notifications on loopback, counting what arrives by idempotency key.

* ``Mailbox``: an SMTP server (aiosmtpd) keeping every message; ``keys`` counts Message-IDs.
  ``hold(after=k)`` makes it slow on demand: after ``k`` more messages it stops answering at
  the end of a message's data (the message is received, not yet taken) until ``release``.
  A held message whose sender vanishes (killed) is not taken, as a mail server drops a
  message it never acknowledged; one released is taken and answered 250.
* ``StalledSMTP``: accepts connections and never answers (a hung mail server); ``release``
  closes them.
* ``Hooks``: an HTTP server keeping every POST with its ``Idempotency-Key``; paths in
  ``hang`` are held until ``release`` (a hung webhook receiver).

A message delivered twice shows as a key counted twice: ``duplicates()`` lists them.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import http.server
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from renewmap.devtools.e2e import free_port, thread_server


def wait_for(condition: Callable[[], bool], *, timeout: float = 30.0, what: str = "") -> None:
    """Wait until ``condition()`` holds (a condition, not a sleep); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def strip_id(message_id: str) -> str:
    """``<key@domain>`` → ``key``."""
    return message_id.strip().strip("<>").split("@", 1)[0]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.held: dict[int, str] = {}  # client port → Message-ID key of messages held now
        self.dropped: list[str] = []  # keys of held messages whose sender went away
        self._hold_after: int | None = None  # hold once this many more were taken
        self._released = threading.Event()
        self._released.set()
        self.quits = 0  # QUIT commands received (a sender's goodbye)

    def hold(self, after: int = 0) -> None:
        """Stop answering at the end of a message's data, after ``after`` more messages."""
        with self.lock:
            self._hold_after = after
            self._released.clear()

    def release(self) -> None:
        """Answer again: every held message is taken (250) if its sender is still there."""
        with self.lock:
            self._hold_after = None
            self._released.set()

    def _must_hold(self) -> bool:
        with self.lock:
            if self._hold_after is None:
                return False
            if self._hold_after > 0:
                self._hold_after -= 1
                return False
            return True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        key = strip_id(str(message["Message-ID"]))
        if self._must_hold():
            port = int(session.peer[1])
            with self.lock:
                self.held[port] = key
            gone = False
            try:
                while not self._released.is_set() and not gone:  # a slow mail server
                    await asyncio.sleep(0.02)
                    gone = server.transport is None or server.transport.is_closing()
            except asyncio.CancelledError:  # aiosmtpd: the sender's connection was lost
                gone = True
                raise
            finally:
                with self.lock:
                    self.held.pop(port, None)
                    if gone:  # never acknowledged: not taken
                        self.dropped.append(key)
            if gone:
                return "421 the sender went away"
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.quits += 1
        return "221 Bye"

    def keys(self) -> Counter[str]:
        with self.lock:
            return Counter(strip_id(str(m["Message-ID"])) for m in self.messages)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.keys().items() if n > 1}


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class StalledSMTP:
    """A mail server that accepts connections and then says nothing."""

    port: int = 0
    held: list[socket.socket] = field(default_factory=list)
    accepted: int = 0
    _server: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        server.settimeout(0.2)
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                continue
            self.held.append(conn)
            self.accepted += 1

    def release(self) -> None:
        for conn in self.held:
            conn.close()
        self.held.clear()

    def stop(self) -> None:
        self._stop.set()
        self.release()
        if self._server is not None:
            self._server.close()


@contextmanager
def stalled_smtp() -> Iterator[StalledSMTP]:
    server = StalledSMTP()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Hooks:
    base: str = ""
    received: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    def keys(self, path: str | None = None) -> Counter[str]:
        with self.lock:
            return Counter(k for p, k, _ in self.received if path is None or p == path)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.keys().items() if n > 1}

    def release(self) -> None:
        self.released.set()


@contextmanager
def hooks() -> Iterator[Hooks]:
    state = Hooks()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path in state.hang:
                state.released.wait(120)  # hold the sender until the test lets go
            with state.lock:
                state.received.append(
                    (self.path, self.headers.get("Idempotency-Key", ""), json.loads(body))
                )
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with thread_server(Receiver) as base:
        state.base = base
        try:
            yield state
        finally:
            state.release()
