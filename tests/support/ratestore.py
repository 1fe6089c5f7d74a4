"""A rate-limit store as an operator would plug one in (RENEWMAP_RATE_LIMIT_BACKEND=
tests.support.ratestore:shared): here one in-memory store for every app of the process."""

from __future__ import annotations

from typing import Any

from renewmap.services.access.ratelimit import MemoryStore

_STORE = MemoryStore()


def shared(settings: Any, engine: Any) -> MemoryStore:
    return _STORE
