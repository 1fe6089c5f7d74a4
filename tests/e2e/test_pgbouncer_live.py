"""The app through PgBouncer in transaction mode (issue 19 item 10), on loopback, bounded.

PostGIS only (PgBouncer pools PostgreSQL connections): a cluster of this test's own, Debian's
PgBouncer in front of it (``pool_mode = transaction``, 4 server connections), and
``renewmap serve --workers 2`` connected to PgBouncer with ``RENEWMAP_DB_PREPARED_STATEMENTS=
false`` (PgBouncer 1.18 cannot follow a prepared statement from one transaction to the next).
The migrations run against PostgreSQL directly, as deploy/README.md says.

Residents post and +1 while staff and the public map read, all at once: every answer is a
success, every post is stored once, every +1 counted, every e-mail (claimed with FOR UPDATE
SKIP LOCKED through the pooler) delivered once; PgBouncer really multiplexed (more client
connections than server connections, every transaction through it).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.models import Notification, Request
from renewmap.devtools.e2e import app_process
from renewmap.devtools.pgcluster import (
    Bouncer,
    Cluster,
    ClusterUnavailable,
    pgbouncer,
    postgis_cluster,
)
from renewmap.services.access import accounts
from tests.support import clients
from tests.support.live import LIVE_ENV
from tests.support.places import add_test_community, pt
from tests.support.receivers import Mailbox, mailbox, wait_for

SERVER_CONNECTIONS = 4
RESIDENTS = 6
POSTS_EACH = 6
READS_EACH = 12


@pytest.fixture
def bounced() -> Iterator[tuple[Cluster, Bouncer]]:
    executable = clients.pgbouncer()  # missing: skipped locally, a failure in CI
    try:
        with (
            postgis_cluster() as cluster,
            pgbouncer(cluster, pool_size=SERVER_CONNECTIONS, executable=executable) as bouncer,
        ):
            yield cluster, bouncer
    except ClusterUnavailable as exc:
        if clients.IN_CI:
            raise
        pytest.skip(f"PostGIS not available: {exc}")


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with mailbox() as b:
        yield b


def admin(bouncer: Bouncer, command: str) -> list[dict[str, Any]]:
    """A ``SHOW …`` of PgBouncer's admin console (simple query protocol only)."""
    with psycopg.connect(
        bouncer.admin_dsn, autocommit=True, cursor_factory=psycopg.ClientCursor
    ) as conn:
        cur = conn.execute(command)
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_the_app_works_through_pgbouncer_in_transaction_mode(bounced, box, tmp_path) -> None:
    cluster, bouncer = bounced
    env = {
        **LIVE_ENV,
        "RENEWMAP_DB_PREPARED_STATEMENTS": "false",
        "RENEWMAP_TRUSTED_PROXIES": "127.0.0.1",
        "RENEWMAP_RATE_POSTS": "100000",
        "RENEWMAP_RATE_INTERACTIONS": "100000",
        "RENEWMAP_NOTIFY_SMTP_HOST": "127.0.0.1",
        "RENEWMAP_NOTIFY_SMTP_PORT": str(box.port),
        "RENEWMAP_NOTIFY_POLL_S": "0.2",
    }
    log = tmp_path / "server.log"
    with app_process(bouncer.url(), log, env=env, workers=2, upgrade_url=cluster.url) as running:
        engine = make_engine(cluster.url)
        try:
            with Session(engine) as s, s.begin():
                add_test_community(s)
                lead = accounts.create_user(
                    s,
                    username="lead",
                    password="correct horse battery",
                    roles=[("grid_lead", "T0001/A")],
                )
                lead.email = "lead@example.org"  # every post in grid A: an e-mail to the lead
                token, _ = accounts.issue_token(s, user=lead, kind="api")
        finally:
            engine.dispose()
        staff = {"Authorization": f"Bearer {token}"}
        answers: Counter[tuple[str, int]] = Counter()
        titles: list[str] = []
        lock = threading.Lock()
        with httpx.Client(base_url=running.base, timeout=60) as c:
            c.headers["X-CSRF-Token"] = c.get("/api/session").json()["csrf_token"]
            p = pt(0.5, 0.5)
            made = c.post(
                "/api/suggestions",
                data={
                    "category": "lighting",
                    "title": "大家都+1",
                    "lon": str(p.x),
                    "lat": str(p.y),
                },
            )
            assert made.status_code == 201, made.text
        shared = made.json()["id"]

        def resident(who: int) -> None:
            p = pt(0.2 + 0.1 * who, 0.5)
            with httpx.Client(
                base_url=running.base, timeout=60, headers={"X-Forwarded-For": f"198.51.100.{who}"}
            ) as c:
                c.headers["X-CSRF-Token"] = c.get("/api/session").json()["csrf_token"]
                got = c.post(f"/api/suggestions/{shared}/supports")
                with lock:
                    answers["support", got.status_code] += 1
                for n in range(POSTS_EACH):
                    title = f"连接池 {who}-{n}"
                    got = c.post(
                        "/api/suggestions",
                        data={
                            "category": "lighting",
                            "title": title,
                            "lon": str(p.x),
                            "lat": str(p.y),
                        },
                        headers={"Connection": "close"},  # any worker may answer
                    )
                    with lock:
                        answers["post", got.status_code] += 1
                        titles.append(title)

        def reader(kind: str) -> None:
            with httpx.Client(base_url=running.base, timeout=60) as c:
                for _ in range(READS_EACH):
                    if kind == "staff":
                        got = c.get("/api/staff/requests", headers=staff)
                    elif kind == "map":
                        got = c.get("/api/communities/T0001/suggestions")
                    else:
                        got = c.get("/ogc/collections/suggestions/items?limit=50")
                    with lock:
                        answers[kind, got.status_code] += 1

        threads = [threading.Thread(target=resident, args=(i,)) for i in range(RESIDENTS)]
        threads += [threading.Thread(target=reader, args=(k,)) for k in ("staff", "map", "ogc")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not any(t.is_alive() for t in threads)
        assert answers == {
            ("support", 201): RESIDENTS,
            ("post", 201): RESIDENTS * POSTS_EACH,
            ("staff", 200): READS_EACH,
            ("map", 200): READS_EACH,
            ("ogc", 200): READS_EACH,
        }, answers
        listing = httpx.get(f"{running.base}/api/staff/requests", headers=staff, timeout=60)
        assert len(listing.json()["features"]) == 1 + RESIDENTS * POSTS_EACH
        view = httpx.get(f"{running.base}/api/suggestions/{shared}", timeout=60).json()
        assert view["properties"]["supports"] == RESIDENTS

        # PgBouncer really pooled: the workers' connections share 4 server connections
        clients_now = [c for c in admin(bouncer, "SHOW CLIENTS") if c["database"] == "renewmap"]
        servers_now = [s for s in admin(bouncer, "SHOW SERVERS") if s["database"] == "renewmap"]
        assert len(servers_now) <= SERVER_CONNECTIONS < len(clients_now)
        stats = {s["database"]: s for s in admin(bouncer, "SHOW STATS")}
        assert stats["renewmap"]["total_xact_count"] >= RESIDENTS * (POSTS_EACH + 1)

        engine = make_engine(cluster.url)
        try:
            wait_for(
                lambda: len(box.keys()) == 1 + RESIDENTS * POSTS_EACH,
                timeout=120,
                what="every e-mail delivered",
            )
            with Session(engine) as s:
                stored = Counter(
                    s.scalars(select(Request.title).where(Request.title.like("连接池 %")))
                )
                keys = set(s.scalars(select(Notification.idempotency_key)))
                sent = s.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.status == "sent")
                )
        finally:
            engine.dispose()
        assert stored == dict.fromkeys(titles, 1)
        assert box.duplicates() == {} and set(box.keys()) == keys and sent == len(keys)
    server_log = log.read_text()
    assert "Traceback" not in server_log and "prepared statement" not in server_log
