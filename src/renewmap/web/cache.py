"""Rendered pages kept in memory, keyed by what they are drawn from.

Reading a community's site plan and turning it into a page takes tens of milliseconds; the
plan only changes when its layers are imported again (``Community.site_version``). A key that
carries that version can never serve a stale page, so there is no expiry, only a size bound.
Cached pages hold a stand-in for the CSP nonce (``render.NONCE_SLOT``) that each response
replaces with its own.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class RenderedPage:
    html: str
    etag: str  # strong validator: a hash of the HTML itself

    def matches(self, if_none_match: str | None) -> bool:
        """True when the browser's cached copy (``If-None-Match``) is this page."""
        if not if_none_match:
            return False
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return self.etag in tags or "*" in tags


class PageCache:
    """A thread-safe LRU of rendered pages (sync routes run in a thread pool)."""

    def __init__(self, max_entries: int = 128) -> None:
        self.max_entries = max_entries
        self._pages: OrderedDict[Hashable, RenderedPage] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0  # how many times a page had to be built (tests read it)

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> RenderedPage:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                return page
        html = render()  # outside the lock: two first visits may both render, harmlessly
        digest = hashlib.blake2b(html.encode(), digest_size=12).hexdigest()
        page = RenderedPage(html, f'"{digest}"')
        with self._lock:
            self.renders += 1
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)
        return page
