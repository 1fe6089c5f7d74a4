"""Rate limits counted in the database, shared by every worker (two engines stand for two
processes or machines), on both databases."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.errors import RateLimited
from renewmap.services.access.ratelimit import (
    DatabaseStore,
    MemoryStore,
    RateLimiter,
    make_store,
)

T0 = 1_900_000_000.0  # a fixed wall-clock moment (seconds)


@pytest.fixture
def engines(database_url_factory):
    url = database_url_factory()
    first, second = make_engine(url), make_engine(url)
    upgrade(first)
    yield first, second
    first.dispose()
    second.dispose()


def test_the_limit_holds_exactly_across_workers_under_a_burst(engines) -> None:
    """40 events at once through two workers' stores, limit 10: exactly 10 are counted."""
    stores = [DatabaseStore(e) for e in engines]
    answers: list[float | None] = []
    lock = threading.Lock()
    barrier = threading.Barrier(40)

    def event(i: int) -> None:
        barrier.wait()
        wait = stores[i % 2].hit("post:192.0.2.7", limit=10, window_s=600, now=T0 + i * 0.001)
        with lock:
            answers.append(wait)

    threads = [threading.Thread(target=event, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(a is None for a in answers) == {True: 10, False: 30}
    assert all(0 < a <= 660 for a in answers if a is not None)
    # another address has its own count
    assert stores[1].hit("post:192.0.2.8", limit=10, window_s=600, now=T0) is None


def test_events_stop_counting_once_a_window_has_passed(engines) -> None:
    store = DatabaseStore(engines[0])
    for i in range(3):
        assert store.hit("login:a", limit=3, window_s=100, now=T0 + i) is None
    wait = store.hit("login:a", limit=3, window_s=100, now=T0 + 5)
    assert wait is not None and 100 <= 5 + wait <= 110  # at most a tenth more than the window
    assert store.check("login:a", limit=3, window_s=100, now=T0 + 5 + wait - 1) is not None
    later = T0 + 5 + wait
    # the three events shared a tenth of the window: they stop counting together, and the
    # refused one was never counted
    for _ in range(3):
        assert store.hit("login:a", limit=3, window_s=100, now=later) is None
    assert store.hit("login:a", limit=3, window_s=100, now=later) is not None


def test_check_counts_nothing(engines) -> None:
    store = DatabaseStore(engines[0])
    for _ in range(5):
        assert store.check("code:a", limit=1, window_s=60, now=T0) is None
    assert store.hit("code:a", limit=1, window_s=60, now=T0) is None
    assert store.check("code:a", limit=1, window_s=60, now=T0) is not None


def test_the_limiter_answers_429_with_the_wait(engines) -> None:
    limiter = RateLimiter({"post": (2, 600)}, DatabaseStore(engines[0]))
    limiter.hit("post", "192.0.2.1", now=T0)
    limiter.hit("post", "192.0.2.1", now=T0 + 1)
    with pytest.raises(RateLimited) as refused:
        limiter.hit("post", "192.0.2.1", now=T0 + 2)
    assert 598 <= refused.value.details["retry_after"] <= 660


def test_backends_are_pluggable(engines) -> None:
    assert isinstance(make_store("memory", settings=None, engine=engines[0]), MemoryStore)
    assert isinstance(make_store("database", settings=None, engine=engines[0]), DatabaseStore)
    custom = make_store("tests.support.ratestore:shared", settings=None, engine=None)
    assert custom.hit(f"x:{engines[0].dialect.name}", limit=1, window_s=1, now=T0) is None
    with pytest.raises(ValueError, match="module:factory"):
        make_store("nonsense", settings=None, engine=None)


def test_a_limit_hit_inside_an_open_write_transaction(database_url_factory) -> None:
    """A request that has written (on SQLite: holds the database's write lock) counts a try
    and is refused on time, and the tries stay counted when its transaction is rolled back."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from renewmap.db.dialect import write_bind
    from renewmap.services.access.ratelimit import counters_path

    url = database_url_factory()
    # a short busy timeout: a store counting in the request's own SQLite file would fail fast
    engine, other = make_engine(url, busy_timeout_s=1), make_engine(url, busy_timeout_s=1)
    upgrade(engine)
    try:
        limiter = RateLimiter({"code": (3, 600)}, DatabaseStore(engine))
        session = Session(write_bind(engine))  # a request's session
        try:
            session.execute(
                text(
                    "INSERT INTO rate_bucket (key, bucket, hits, expires) "
                    "VALUES ('held by the request', 1, 1, 1)"
                )
            )
            for i in range(3):
                limiter.hit("code", "192.0.2.9", now=T0 + i)
            with pytest.raises(RateLimited) as refused:
                limiter.hit("code", "192.0.2.9", now=T0 + 3)
        finally:  # the 429 ends the request: its transaction is rolled back
            session.rollback()
            session.close()
        assert 597 <= refused.value.details["retry_after"] <= 660
        # the request's transaction was rolled back; another worker still sees the three tries
        assert DatabaseStore(other).check("code:192.0.2.9", limit=3, window_s=600, now=T0 + 4)
        assert DatabaseStore(other).check("code:192.0.2.10", limit=3, window_s=600, now=T0) is None
        with engine.connect() as conn:
            held = conn.execute(
                text("SELECT count(*) FROM rate_bucket WHERE key = 'held by the request'")
            ).scalar_one()
        assert held == 0
        if engine.dialect.name == "sqlite":  # the counters' own file, beside the database
            assert Path(counters_path(str(engine.url.database))).is_file()
    finally:
        engine.dispose()
        other.dispose()
