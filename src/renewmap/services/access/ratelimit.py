"""A small in-process sliding-window rate limiter (per client address and action).

One app process serves a residents' committee; an in-memory window is enough and needs no
extra service on an intranet. Behind several workers each keeps its own window.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from renewmap.errors import RateLimited


class RateLimiter:
    def __init__(self, limits: dict[str, tuple[int, float]]) -> None:
        """``limits``: action → (max events, window in seconds)."""
        self.limits = limits
        self._events: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, action: str, client: str, *, now: float | None = None) -> None:
        """Raise RateLimited if ``client`` has used up ``action`` (records nothing): for
        actions counted only when they fail (a wrong code), checked before each try."""
        limit, window = self.limits[action]
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._events.get((action, client))
            while q and q[0] <= now - window:
                q.popleft()
            if q is not None and len(q) >= limit:
                retry = max(1, int(q[0] + window - now) + 1)
                raise RateLimited(
                    "too many attempts from this address; try again in {retry_after} s",
                    key="rate_limited",
                    action=action,
                    retry_after=retry,
                )

    def hit(self, action: str, client: str, *, now: float | None = None) -> None:
        """Record one event, or raise RateLimited (HTTP 429) with the seconds to wait."""
        limit, window = self.limits[action]
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._events[(action, client)]
            while q and q[0] <= now - window:
                q.popleft()
            if len(q) >= limit:
                retry = max(1, int(q[0] + window - now) + 1)
                raise RateLimited(
                    "too many attempts from this address; try again in {retry_after} s",
                    key="rate_limited",
                    action=action,
                    retry_after=retry,
                )
            q.append(now)
