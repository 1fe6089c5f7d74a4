"""A worker killed while it is sending notifications, and a mail server that stalls and then
recovers (issue 19 item 11), on both databases, on loopback, bounded.

``renewmap serve --workers 2``: each worker sends notifications (a lane per channel, leases on
claimed rows). Three grid leads get an e-mail for each of ten posts, and a webhook gets each
post too. The mail server (the shared ``Mailbox``) takes six e-mails and then stalls: it stops
answering at the end of each message's data. Then:

* the webhooks all arrive while the e-mails hang (one channel never waits for another);
* a worker with e-mails in the stalled server's hands is killed (SIGKILL): the server never
  acknowledged those, and drops them when their connections go;
* the mail server recovers: what the other worker had in its hands is taken, the killed
  worker's claims are taken over when their lease runs out (RENEWMAP_NOTIFY_LEASE_S);
* every e-mail arrives exactly once by Message-ID, every webhook once by Idempotency-Key,
  and the outbox records each as sent.

What SMTP itself cannot rule out is not staged here (RFC 1047): a sender killed after the
server took a message but before its 250 arrived would send it again, with the same
Message-ID. The sender keeps its own part of that window as short as it can be: it records a
message as sent the moment the 250 arrives, before the SMTP goodbye.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from renewmap.db.engine import make_engine
from renewmap.db.models import Notification
from renewmap.devtools.e2e import app_process
from renewmap.services.access import accounts
from renewmap.services.requests import notify
from tests.support.live import LIVE_ENV
from tests.support.places import add_test_community, pt
from tests.support.receivers import Hooks, Mailbox, hooks, mailbox, wait_for

POSTS = 10
LEADS = 3
TAKEN_BEFORE_STALL = 6
LEASE_S = 15


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with mailbox() as b:
        yield b


@pytest.fixture
def hook() -> Iterator[Hooks]:
    with hooks() as h:
        yield h


def outbox(engine: Engine, channel: str) -> list[Notification]:
    with Session(engine) as s:
        return list(
            s.scalars(
                select(Notification)
                .where(Notification.channel == channel)
                .order_by(Notification.id)
            )
        )


def test_a_worker_killed_while_sending_and_a_stalled_mail_server_lose_and_double_nothing(
    database_url_factory, box, hook, tmp_path
) -> None:
    url = database_url_factory()
    env = {
        **LIVE_ENV,
        "RENEWMAP_RATE_POSTS": "100000",
        "RENEWMAP_NOTIFY_SMTP_HOST": "127.0.0.1",
        "RENEWMAP_NOTIFY_SMTP_PORT": str(box.port),
        "RENEWMAP_NOTIFY_POLL_S": "0.2",
        "RENEWMAP_NOTIFY_SEND_TIMEOUT_S": "120",  # a stalled step is waited for, not dropped
        "RENEWMAP_NOTIFY_LEASE_S": str(LEASE_S),
    }
    log = tmp_path / "server.log"
    with app_process(url, log, env=env, workers=2) as running:
        engine = make_engine(url)
        try:
            with Session(engine) as s, s.begin():
                add_test_community(s)
                for i in range(LEADS):
                    lead = accounts.create_user(
                        s,
                        username=f"lead{i}",
                        password="correct horse battery",
                        roles=[("grid_lead", "T0001/A")],
                    )
                    lead.email = f"lead{i}@example.org"
                notify.add_webhook(
                    s,
                    community_code="T0001",
                    url=hook.base + "/all",
                    grid_code=None,
                    body_format="json",
                )
            box.hold(after=TAKEN_BEFORE_STALL)
            with httpx.Client(base_url=running.base, timeout=60) as c:
                c.headers["X-CSRF-Token"] = c.get("/api/session").json()["csrf_token"]
                p = pt(0.5, 0.5)
                for i in range(POSTS):
                    made = c.post(
                        "/api/suggestions",
                        data={
                            "category": "lighting",
                            "title": f"信 {i}",
                            "lon": str(p.x),
                            "lat": str(p.y),
                        },
                    )
                    assert made.status_code == 201, made.text

            # the mail server stalls; the webhooks do not wait for it
            wait_for(lambda: len(hook.keys()) == POSTS, timeout=60, what="every webhook")
            assert len(box.keys()) == TAKEN_BEFORE_STALL

            def in_the_servers_hands() -> dict[int, set[str]]:
                """Worker pid → keys of its e-mails being sent now, once every claimed e-mail
                is held by the stalled server (none between claim and server)."""
                sending = [n for n in outbox(engine, "email") if n.status == "sending"]
                held = set(box.held.values())
                if not sending or {n.idempotency_key for n in sending} != held:
                    return {}
                by_pid: dict[int, set[str]] = {}
                for n in sending:
                    by_pid.setdefault(int(str(n.claimed_by).split(":")[1]), set()).add(
                        n.idempotency_key
                    )
                return by_pid

            wait_for(lambda: bool(in_the_servers_hands()), timeout=60, what="e-mails held")
            by_pid = in_the_servers_hands()
            victim = max(by_pid, key=lambda pid: len(by_pid[pid]))
            assert victim in running.workers()
            killed_keys = by_pid[victim]
            os.kill(victim, signal.SIGKILL)  # mid-batch: 6 taken, some held, the rest waiting
            wait_for(
                lambda: killed_keys <= set(box.dropped),
                timeout=30,
                what="the mail server to see the killed worker's connections go",
            )
            assert not killed_keys & set(box.keys())  # never acknowledged, not taken
            box.release()  # the mail server recovers

            every = {n.idempotency_key for n in outbox(engine, "email")}
            assert len(every) == POSTS * LEADS
            wait_for(
                lambda: set(box.keys()) == every,
                timeout=LEASE_S + 90,
                what="every e-mail delivered (the killed worker's after its lease)",
            )
            wait_for(
                lambda: all(n.status == "sent" for n in outbox(engine, "email")),
                timeout=60,
                what="every e-mail recorded as sent",
            )
            rows = outbox(engine, "email")
            hooks_rows = outbox(engine, "webhook")
        finally:
            engine.dispose()
    assert box.duplicates() == {}, "an e-mail delivered twice"
    assert hook.duplicates() == {} and set(hook.keys()) == {n.idempotency_key for n in hooks_rows}
    assert all(n.status == "sent" for n in hooks_rows)
    retried = {n.idempotency_key: n.attempts for n in rows if n.idempotency_key in killed_keys}
    assert retried == dict.fromkeys(killed_keys, 2)  # claimed by the killed worker, then once more
