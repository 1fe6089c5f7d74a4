"""PostgreSQL restarted while residents post (issue 19 item 11), on loopback, bounded.

``renewmap serve --workers 2`` on a PostGIS cluster of this test's own (so stopping it touches
no other test), with a real SMTP receiver. Six residents post one suggestion after another
in grid A (each post sends the grid lead an e-mail); meanwhile the operator stops PostgreSQL
(``pg_ctl stop -m fast``: open sessions cut), waits, and starts it again. Expected:

* every answer is 201 or, while the database is down, an honest 503 with ``Retry-After``
  (never a 500, never a dropped connection); liveness stays up, readiness says 503;
* when PostgreSQL is back the workers recover by themselves and posts succeed again;
* every acknowledged post is stored exactly once, none answered 503 is stored twice;
* every stored post has one e-mail in the outbox, delivered exactly once by its Message-ID.

(PostGIS only: SpatiaLite is a file in the server's own process, it cannot restart apart.)
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.models import Notification, Request
from renewmap.devtools.e2e import app_process
from renewmap.devtools.pgcluster import Cluster, ClusterUnavailable, postgis_cluster
from renewmap.services.access import accounts
from tests.support.clients import IN_CI
from tests.support.live import LIVE_ENV
from tests.support.paths import DEMO_DIR
from tests.support.places import add_test_community, pt
from tests.support.receivers import Mailbox, mailbox, wait_for

RESIDENTS = 6


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    try:
        with postgis_cluster() as c:
            yield c
    except ClusterUnavailable as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostGIS not available: {exc}")


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with mailbox() as b:
        yield b


class Residents:
    """Threads posting suggestions with new titles until stopped; every answer kept."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.answers: list[tuple[str, int, str | None, float]] = []  # title, status, R-A, when
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(RESIDENTS)]

    def run(self, who: int) -> None:
        p = pt(0.5, 0.5)
        with httpx.Client(
            base_url=self.base, timeout=60, headers={"X-Forwarded-For": f"198.51.100.{who}"}
        ) as c:
            token = None
            n = 0
            while not self.stop.is_set():
                if token is None:
                    got = c.get("/api/session")
                    if got.status_code != 200:  # the session needs the database too
                        self.keep(f"session {who}-{n}", got)
                        time.sleep(0.1)
                        continue
                    token = got.json()["csrf_token"]
                title = f"重启 {who}-{n}"
                n += 1
                answer = c.post(
                    "/api/suggestions",
                    data={"category": "lighting", "title": title, "lon": str(p.x), "lat": str(p.y)},
                    headers={"X-CSRF-Token": token, "Connection": "close"},
                )
                self.keep(title, answer)
                time.sleep(0.05)

    def keep(self, title: str, answer: httpx.Response) -> None:
        with self.lock:
            self.answers.append(
                (title, answer.status_code, answer.headers.get("retry-after"), time.monotonic())
            )

    def since(self, moment: float, status: int) -> int:
        with self.lock:
            return sum(1 for _, s, _, t in self.answers if t > moment and s == status)

    def __enter__(self) -> Residents:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)


def test_posts_survive_a_postgres_restart(cluster, box, tmp_path) -> None:
    env = {
        **LIVE_ENV,
        "RENEWMAP_TRUSTED_PROXIES": "127.0.0.1",
        "RENEWMAP_RATE_POSTS": "100000",
        "RENEWMAP_RATE_INTERACTIONS": "100000",
        "RENEWMAP_NOTIFY_SMTP_HOST": "127.0.0.1",
        "RENEWMAP_NOTIFY_SMTP_PORT": str(box.port),
        "RENEWMAP_NOTIFY_POLL_S": "0.2",
    }
    log = tmp_path / "server.log"
    with app_process(cluster.url, log, env=env, workers=2, demo_dir=DEMO_DIR) as running:
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
                lead.email = "lead@example.org"
        finally:
            engine.dispose()
        with Residents(running.base) as residents:
            wait_for(lambda: residents.since(0, 201) >= 10, timeout=60, what="posts before")
            cluster.stop("fast")
            down = time.monotonic()
            wait_for(lambda: residents.since(down, 503) >= 6, timeout=60, what="503s while down")
            live = httpx.get(f"{running.base}/health/live", timeout=30)
            ready = httpx.get(f"{running.base}/health/ready", timeout=30)
            cluster.start()
            up = time.monotonic()
            wait_for(lambda: residents.since(up, 201) >= 20, timeout=90, what="posts after restart")
        assert live.status_code == 200 and ready.status_code == 503
        answers = residents.answers
        statuses = Counter(s for _, s, _, _ in answers)
        assert set(statuses) <= {201, 503}, statuses  # no 500, nothing else
        assert all(ra for _, s, ra, _ in answers if s == 503), "every 503 says when to retry"
        # recovered by themselves: the last answers are all successes
        late = [s for _, s, _, _ in sorted(answers, key=lambda a: a[3])[-10:]]
        acknowledged = [t for t, s, _, _ in answers if s == 201]
        refused = [t for t, s, _, _ in answers if s == 503 and not t.startswith("session")]

        engine = make_engine(cluster.url)
        try:
            with Session(engine) as s:
                stored = Counter(
                    s.scalars(select(Request.title).where(Request.title.like("重启 %")))
                )
                outbox = Counter(
                    s.scalars(
                        select(Request.title)
                        .join(Notification, Notification.request_id == Request.id)
                        .where(Request.title.like("重启 %"), Notification.channel == "email")
                    )
                )
            assert all(stored[t] == 1 for t in acknowledged), "an acknowledged post lost or doubled"
            assert all(stored[t] <= 1 for t in refused), "a refused post stored twice"
            assert max(stored.values()) == 1 and set(stored) <= set(acknowledged) | set(refused)
            assert outbox == dict.fromkeys(stored, 1)  # one e-mail per stored post
            wait_for(
                lambda: len(box.keys()) >= len(stored),
                timeout=120,
                what="every e-mail delivered after the restart",
            )
            with Session(engine) as s:
                keys = set(
                    s.scalars(
                        select(Notification.idempotency_key).where(Notification.channel == "email")
                    )
                )
                sent = s.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.status == "sent")
                )
        finally:
            engine.dispose()
        assert box.duplicates() == {}, "an e-mail delivered twice"
        assert set(box.keys()) == keys and sent == len(keys)
        assert late == [201] * 10, late
