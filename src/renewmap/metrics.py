"""Prometheus metrics (``GET /metrics``): request latency by route template, the outbox's
depth and age, database pool use.

With several workers (``renewmap serve --workers N``) each writes its numbers to files in
``PROMETHEUS_MULTIPROC_DIR`` (set by ``renewmap serve``) and a scrape of any worker adds
them up. The outbox is read from the database at scrape time, so it is the same whichever
worker answers.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUEST_SECONDS = Histogram(
    "renewmap_http_request_duration_seconds",
    "Time to answer a request, by route template (e.g. /api/suggestions/{id}) and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POOL_IN_USE = Gauge(
    "renewmap_db_pool_in_use",
    "Database connections checked out of the pool, by pool (write, read, public)",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_LIMIT = Gauge(
    "renewmap_db_pool_limit",
    "Connections the pool may hold at most (size + overflow), by pool",
    ["pool"],
    multiprocess_mode="livesum",
)


def watch_pool(engine: Engine, name: str) -> None:
    """Count the engine's checked-out connections under ``name``."""
    pool: Any = engine.pool
    size = pool.size() if hasattr(pool, "size") else 0
    overflow = max(int(getattr(pool, "_max_overflow", 0)), 0)
    POOL_LIMIT.labels(name).set(size + overflow)
    gauge = POOL_IN_USE.labels(name)

    @event.listens_for(engine, "checkout")
    def _checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        record.info["renewmap_pool_gauge"] = gauge
        gauge.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi: Any, record: Any) -> None:
        counted = record.info.pop("renewmap_pool_gauge", None)
        if counted is not None:
            counted.dec()


class OutboxCollector(Collector):
    """The notifications waiting per channel and the age of the oldest, read at scrape."""

    def __init__(self, session_factory: Any) -> None:
        self.session_factory = session_factory

    def collect(self) -> Any:
        from renewmap.db.queries.notify import outbox_state

        depth = GaugeMetricFamily(
            "renewmap_outbox_depth",
            "Notifications waiting to be sent (pending or being sent), by channel",
            labels=["channel"],
        )
        age = GaugeMetricFamily(
            "renewmap_outbox_oldest_age_seconds",
            "Age of the oldest notification waiting, by channel",
            labels=["channel"],
        )
        session: Session
        with self.session_factory() as session:
            state = outbox_state(session, now=datetime.now(UTC))
        for channel, (count, oldest) in sorted(state.items()):
            depth.add_metric([channel], count)
            age.add_metric([channel], oldest)
        yield depth
        yield age


def scrape(session_factory: Any) -> bytes:
    """The metrics text of this process (all workers' with ``PROMETHEUS_MULTIPROC_DIR``)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for collector in (REQUEST_SECONDS, POOL_IN_USE, POOL_LIMIT):
            registry.register(collector)
    registry.register(OutboxCollector(session_factory))
    return generate_latest(registry)
