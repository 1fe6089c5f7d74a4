"""``renewmap serve --workers 4`` on both databases, as an operator runs it behind a proxy on
the same host, with a mail server that hangs (a real TCP listener that never answers):

every resident's post succeeds while the e-mails hang (on SpatiaLite a sender used to hold
the write lock: 45 of 49 posts failed); one address's posts are limited to
RENEWMAP_RATE_POSTS across all four workers while other addresses keep their own count;
sixty +1s at once on one suggestion are all counted, sixty from one device are one; a worker
killed with SIGKILL is replaced while the others keep serving.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.models import Notification, Request
from renewmap.devtools.e2e import RunningApp, app_process
from renewmap.services.access import accounts
from tests.support.live import LIVE_ENV
from tests.support.paths import DEMO_DIR
from tests.support.places import add_test_community, pt
from tests.support.receivers import StalledSMTP, stalled_smtp, wait_for

WORKERS = 4
RATE_POSTS = 10


@pytest.fixture(scope="module")
def smtp() -> Iterator[StalledSMTP]:
    with stalled_smtp() as server:
        yield server


@pytest.fixture(scope="module")
def app(backend, database_url_factory, tmp_path_factory, smtp) -> Iterator[tuple[RunningApp, str]]:
    url = database_url_factory()
    log = tmp_path_factory.mktemp("workers") / "server.log"
    env = {
        **LIVE_ENV,
        "RENEWMAP_TRUSTED_PROXIES": "127.0.0.1",
        "RENEWMAP_RATE_POSTS": str(RATE_POSTS),
        "RENEWMAP_RATE_INTERACTIONS": "1000",
        "RENEWMAP_NOTIFY_SMTP_HOST": "127.0.0.1",
        "RENEWMAP_NOTIFY_SMTP_PORT": str(smtp.port),
        "RENEWMAP_NOTIFY_SEND_TIMEOUT_S": "120",
        "RENEWMAP_NOTIFY_POLL_S": "0.2",
        "RENEWMAP_LOG_FORMAT": "json",
    }
    with app_process(url, log, env=env, workers=WORKERS, demo_dir=DEMO_DIR) as running:
        engine = make_engine(url)
        try:
            with Session(engine) as s, s.begin():
                add_test_community(s)
                lead = accounts.create_user(
                    s,
                    username="lead",
                    password="correct horse battery",
                    roles=[("grid_lead", "T0001/A")],
                )
                lead.email = "lead@example.org"  # every post in grid A sends the lead an e-mail
        finally:
            engine.dispose()
        yield running, url


def resident(base: str, address: str) -> httpx.Client:
    """A resident's phone behind the proxy on 127.0.0.1, from ``address``."""
    c = httpx.Client(base_url=base, timeout=120, headers={"X-Forwarded-For": address})
    c.headers["X-CSRF-Token"] = c.get("/api/session").json()["csrf_token"]
    return c


def post(c: httpx.Client, title: str, at: tuple[float, float] = (0.5, 0.5)) -> httpx.Response:
    p = pt(*at)
    return c.post(
        "/api/suggestions",
        data={"category": "lighting", "title": title, "lon": str(p.x), "lat": str(p.y)},
        headers={"Connection": "close"},  # a new connection each time: any worker may answer
    )


def served_by(log_text: str, route: str) -> Counter[int]:
    """Worker pids that answered ``route``, from the JSON log lines."""
    out: Counter[int] = Counter()
    for line in log_text.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("logger") == "renewmap.request" and entry.get("route") == route:
            out[int(entry["pid"])] += 1
    return out


def in_parallel(work: list[Any], threads: int = 8) -> list[Any]:
    """Run the callables of ``work`` on ``threads`` threads; their results in order."""
    results: list[Any] = [None] * len(work)
    lock = threading.Lock()
    queue = list(enumerate(work))

    def run() -> None:
        while True:
            with lock:
                if not queue:
                    return
                i, job = queue.pop()
            results[i] = job()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


def test_every_post_succeeds_while_the_mail_server_hangs(app, smtp) -> None:
    running, url = app
    titles = [f"挂起的邮件 {i}" for i in range(48)]
    clients = [resident(running.base, f"198.51.100.{i}") for i in range(len(titles))]
    answers = in_parallel(
        [lambda c=c, t=t: post(c, t).status_code for c, t in zip(clients, titles, strict=True)]
    )
    assert Counter(answers) == {201: len(titles)}
    assert smtp.accepted >= 1  # the e-mails really are hanging at the mail server
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            stored = Counter(s.scalars(select(Request.title).where(Request.title.in_(titles))))
            assert stored == dict.fromkeys(titles, 1)
            waiting = s.scalar(
                select(func.count())
                .select_from(Notification)
                .join(Request, Request.id == Notification.request_id)
                .where(Request.title.in_(titles), Notification.status.in_(("pending", "sending")))
            )
            assert waiting == len(titles)  # each e-mail waits for the mail server, none lost
    finally:
        engine.dispose()
    workers = served_by(running.log.read_text(), "/api/suggestions")
    assert len(workers) >= 2, workers  # the posts really were spread over workers


def test_one_address_is_limited_across_all_workers(app) -> None:
    running, _ = app
    one = resident(running.base, "203.0.113.5")
    answers = [post(one, f"限流 {i}").status_code for i in range(3 * RATE_POSTS)]
    assert Counter(answers) == {201: RATE_POSTS, 429: 2 * RATE_POSTS}
    # behind the proxy, another resident is not in the first one's bucket
    other = resident(running.base, "203.0.113.6")
    assert post(other, "另一位居民").status_code == 201
    workers = served_by(running.log.read_text(), "/api/suggestions")
    assert len(workers) >= 2


def test_sixty_plus_ones_at_once_are_all_counted(app) -> None:
    running, _ = app
    author = resident(running.base, "192.0.2.200")
    made = post(author, "一起+1", (0.6, 0.5))
    assert made.status_code == 201, made.text
    url = f"/api/suggestions/{made.json()['id']}/supports"
    devices = [resident(running.base, f"192.0.2.{i}") for i in range(1, 61)]
    barrier = threading.Barrier(len(devices))

    def plus_one(c: httpx.Client) -> int:
        barrier.wait()
        return c.post(url).status_code

    answers = in_parallel([lambda c=c: plus_one(c) for c in devices], threads=len(devices))
    assert Counter(answers) == {201: 60}
    view = httpx.get(f"{running.base}/api/suggestions/{made.json()['id']}", timeout=30).json()
    assert view["properties"]["supports"] == 60
    # one device sixty times at once: one +1
    one = devices[0]
    clones = [
        httpx.Client(
            base_url=running.base, timeout=120, headers=dict(one.headers), cookies=dict(one.cookies)
        )
        for _ in range(60)
    ]
    made2 = post(author, "同一设备", (0.6, 0.6))
    url2 = f"/api/suggestions/{made2.json()['id']}/supports"
    barrier = threading.Barrier(len(clones))

    def again(c: httpx.Client) -> int:
        barrier.wait()
        return c.post(url2).status_code

    answers = in_parallel([lambda c=c: again(c) for c in clones], threads=len(clones))
    assert Counter(answers) == {201: 1, 409: 59}


def test_thirty_residents_adopting_one_plant_at_once_get_one_adoption(app) -> None:
    running, _ = app
    plants = httpx.get(f"{running.base}/ogc/collections/plants/items?limit=100", timeout=30)
    plant = next(f for f in plants.json()["features"] if f["properties"].get("adoptable"))
    devices = [resident(running.base, f"192.0.2.{100 + i}") for i in range(30)]
    barrier = threading.Barrier(len(devices))

    def adopt(i: int, c: httpx.Client) -> int:
        barrier.wait()
        r = c.post(f"/api/plants/{plant['id']}/adoption", json={"nickname": f"邻居{i}"})
        return r.status_code

    answers = in_parallel(
        [lambda i=i, c=c: adopt(i, c) for i, c in enumerate(devices)], threads=len(devices)
    )
    assert Counter(answers) == {201: 1, 409: 29}
    card = httpx.get(f"{running.base}/api/plants/{plant['id']}", timeout=30).json()
    assert card["adopter"].startswith("邻居") and card["adoptable"] is False


def test_a_killed_worker_is_replaced_and_the_others_keep_serving(app) -> None:
    running, _ = app
    before = running.workers()
    assert len(before) == WORKERS
    os.kill(before[0], signal.SIGKILL)
    for i in range(20):
        r = httpx.get(f"{running.base}/api/communities/T0001", headers={"Connection": "close"})
        assert r.status_code == 200, (i, r.text)
    wait_for(
        lambda: len(running.workers()) == WORKERS and before[0] not in running.workers(),
        timeout=60,
        what="the supervisor to start a replacement worker",
    )
    r = httpx.get(f"{running.base}/health/ready", timeout=30)
    assert r.status_code == 200
