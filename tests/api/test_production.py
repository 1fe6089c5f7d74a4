"""The app as deployed (its own engines, no dependency overrides), on both databases: the
request's transaction ends in the endpoint's own thread, pool settings and a 503 with
Retry-After when the pool is exhausted, liveness and readiness, request ids, structured logs,
Prometheus metrics by route template."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.logs import JsonFormatter, RequestIdFilter
from tests.support.app import build_app
from tests.support.places import add_test_community, pt


@pytest.fixture
def deployed(database_url_factory) -> Iterator[Callable[..., TestClient]]:
    """``deployed(**settings)``: a client of the app on a fresh migrated database with
    community T, with its own engines as in production."""
    url = database_url_factory()
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        add_test_community(s)
    engine.dispose()
    clients: list[TestClient] = []

    def make(**values: Any) -> TestClient:
        client = TestClient(
            build_app(database_url=url, **values), client=("127.0.0.1", 50000)
        ).__enter__()
        clients.append(client)
        client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf_token"]
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _post(client: TestClient, title: str = "路灯不亮") -> Any:
    p = pt(0.5, 0.5)
    return client.post(
        "/api/suggestions",
        data={"category": "lighting", "title": title, "lon": str(p.x), "lat": str(p.y)},
    )


def test_the_transaction_ends_in_the_endpoints_own_thread(deployed) -> None:
    """The resident's post is written, flushed and committed by one worker thread: nothing
    waits for a second thread to commit (issue 19: a row-lock holder waited for one)."""
    client = deployed()
    seen: list[tuple[str, int]] = []

    def flushed(session: Session, _context: Any) -> None:
        seen.append(("flush", threading.get_ident()))

    def committed(session: Session) -> None:
        seen.append(("commit", threading.get_ident()))

    event.listen(Session, "after_flush", flushed)
    event.listen(Session, "after_commit", committed)
    try:
        r = _post(client)
    finally:
        event.remove(Session, "after_flush", flushed)
        event.remove(Session, "after_commit", committed)
    assert r.status_code == 201, r.text
    flushes = {ident for kind, ident in seen if kind == "flush"}
    commits = [ident for kind, ident in seen if kind == "commit"]
    assert commits and set(commits) <= flushes and len(flushes) == 1
    assert threading.get_ident() not in flushes  # a worker thread, not the event loop's


def test_pool_settings_apply_and_an_exhausted_pool_is_a_503_with_retry_after(deployed) -> None:
    client = deployed(db_pool_size=1, db_max_overflow=0, db_pool_timeout_s=0.2)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    assert engine.pool.size() == 1
    held = engine.connect()  # the one connection is busy
    try:
        r = _post(client, "池满")
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "database_unavailable"
        assert int(r.headers["Retry-After"]) >= 1
    finally:
        held.close()
    assert _post(client, "池空").status_code == 201


def test_liveness_needs_no_database_and_readiness_checks_it(deployed, database_url_factory):
    client = deployed()
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json()["status"] == "ok"
    # an app on a database nobody upgraded: alive, not ready, and says why
    empty = TestClient(build_app(database_url=database_url_factory())).__enter__()
    try:
        assert empty.get("/health/live").status_code == 200
        r = empty.get("/health/ready")
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert r.json()["database"] == "schema_outdated"
        assert "renewmap db upgrade" in r.json()["detail"]
    finally:
        empty.__exit__(None, None, None)


def test_request_ids_come_back_and_only_a_trusted_proxy_names_them(deployed) -> None:
    client = deployed()
    r = client.get("/health/live", headers={"X-Request-ID": "from-the-client-123"})
    assert r.headers["X-Request-ID"] != "from-the-client-123"
    assert len(r.headers["X-Request-ID"]) == 16
    proxied = deployed(trusted_proxies="127.0.0.1")
    r = proxied.get("/health/live", headers={"X-Request-ID": "nginx-0123456789abcdef"})
    assert r.headers["X-Request-ID"] == "nginx-0123456789abcdef"
    r = proxied.get("/health/live", headers={"X-Request-ID": "bad id\twith space"})
    assert r.headers["X-Request-ID"] != "bad id\twith space"


def test_each_request_is_logged_once_with_its_id_and_route_template(deployed, caplog) -> None:
    client = deployed()
    caplog.set_level(logging.INFO, logger="renewmap.request")
    r = client.get("/api/communities/T0001")
    assert r.status_code == 200
    (record,) = [x for x in caplog.records if x.name == "renewmap.request"]
    assert record.route == "/api/communities/{code}"  # type: ignore[attr-defined]
    assert record.status == 200 and record.path == "/api/communities/T0001"  # type: ignore[attr-defined]
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/api/communities/{code}" and line["level"] == "info"
    assert line["logger"] == "renewmap.request" and line["client"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float)


def test_metrics_by_route_template_with_the_outbox(deployed) -> None:
    client = deployed()
    assert _post(client).status_code == 201
    client.get("/api/communities/T0001")
    text = client.get("/metrics").text
    assert (
        'renewmap_http_request_duration_seconds_count{method="GET",'
        'route="/api/communities/{code}",status="200"}' in text
    )
    assert 'route="/api/communities/T0001"' not in text  # templates, never filled-in paths
    assert "renewmap_outbox_depth" in text and "renewmap_db_pool_in_use" in text
    # from an address not in RENEWMAP_METRICS_ALLOW: as if there were nothing
    outsider = TestClient(client.app, client=("192.0.2.9", 1000))
    assert outsider.get("/metrics").status_code == 404


def test_a_public_read_past_its_budget_is_cut_off(deployed) -> None:
    """Public reads (maps, OGC items and tiles) run under a time budget: PostgreSQL's
    statement_timeout, SQLite's progress handler; the cut-off is a ReadTooLong (503 with
    Retry-After), and the connection serves the next read."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from renewmap.db.guards import operational_problem
    from renewmap.errors import ReadTooLong

    client = deployed(public_read_timeout_ms=100)
    factory = client.app.state.public_session_factory  # type: ignore[attr-defined]
    endless = text(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 500000000) "
        "SELECT count(*) FROM c"
    )
    with factory() as session, pytest.raises(OperationalError) as caught:
        session.execute(endless).scalar_one()
    problem = operational_problem(caught.value)
    assert isinstance(problem, ReadTooLong) and problem.details["retry_after"] == 5
    with factory() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
