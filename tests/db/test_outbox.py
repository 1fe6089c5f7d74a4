"""The notification outbox as several senders run it, on both databases, each test on a fresh
database with committed rows (real transactions, real receivers on loopback):

claims never overlap; no transaction is open while a message is sent (on SpatiaLite a hung
mail server cannot hold the write lock residents' posts need); every message carries its
idempotency key (Message-ID, Idempotency-Key) and a message sent again after its sender died
carries the same one; one hung receiver stalls neither another channel nor another webhook;
stopping is bounded and hands unsent claims back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import sessionmaker

from renewmap.db.dialect import write_bind
from renewmap.db.engine import make_engine
from renewmap.db.migrate import upgrade
from renewmap.db.models import Notification
from renewmap.services.access import accounts
from renewmap.services.requests import notify, suggestions
from renewmap.settings import Settings
from tests.support.places import add_test_community, pt
from tests.support.receivers import hooks, mailbox, stalled_smtp, wait_for


class Outbox:
    """A migrated database with community T, grid A's lead (with an e-mail address) and
    session factories as the app makes them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        upgrade(self.engine)
        self.factory = sessionmaker(write_bind(self.engine), expire_on_commit=False)
        with self.factory() as s, s.begin():
            add_test_community(s)
            user = accounts.create_user(
                s,
                username="lead_a",
                password="correct horse battery",
                roles=[("grid_lead", "T0001/A")],
            )
            user.email = "a@example.org"

    def webhook(self, url: str, grid: str | None = "A") -> None:
        with self.factory() as s, s.begin():
            notify.add_webhook(
                s, community_code="T0001", url=url, grid_code=grid, body_format="json"
            )

    def post(self, n: int = 1) -> list[int]:
        """``n`` suggestions in grid A, committed (each with its outbox rows)."""
        ids = []
        with self.factory() as s, s.begin():
            for i in range(n):
                made = suggestions.create_suggestion(
                    s, secret="s", geom=pt(0.5, 0.5), category="lighting", title=f"路灯{i}"
                )
                ids.append(made.request.id)
        return ids

    def rows(self) -> list[Notification]:
        with self.factory() as s:
            return list(s.scalars(select(Notification).order_by(Notification.id)))

    def dispatcher(self, settings: Settings) -> notify.Dispatcher:
        return notify.Dispatcher(self.factory, settings)


@pytest.fixture
def outbox(database_url_factory) -> Iterator[Outbox]:
    box = Outbox(database_url_factory())
    try:
        yield box
    finally:
        box.engine.dispose()


def settings_for(smtp_port: int, **values: Any) -> Settings:
    return Settings(
        **{
            "env": "test",
            "secret_key": "test-secret",
            "notify_smtp_host": "127.0.0.1",
            "notify_smtp_port": smtp_port,
            "notify_smtp_from": "renewmap@example.org",
            "notify_poll_s": 0.1,
            "public_base_url": "http://intranet.example:8000",
            **values,
        }
    )


def test_every_message_carries_its_idempotency_key(outbox) -> None:
    with mailbox() as box, hooks() as hook:
        outbox.webhook(hook.base + "/a")
        outbox.post(2)
        sent = notify.send_due(notify.transactions(outbox.factory), settings=settings_for(box.port))
        assert sent == (4, 0)
        rows = outbox.rows()
        keys = {n.channel: set() for n in rows}
        for n in rows:
            keys[n.channel].add(n.idempotency_key)
        assert all(n.status == "sent" and n.claimed_by is None for n in rows)
        assert len({n.idempotency_key for n in rows}) == 4  # one key per message
        assert set(box.keys()) == keys["email"] and set(hook.keys()) == keys["webhook"]
        assert all(str(m["Message-ID"]).endswith("@example.org>") for m in box.messages)
        assert not box.duplicates() and not hook.duplicates()


def test_claims_of_concurrent_senders_never_overlap(outbox) -> None:
    outbox.post(30)
    now = datetime.now(UTC)
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(3)

    def sender(name: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while True:
            with outbox.factory() as s, s.begin():
                rows = notify.claim(s, worker=name, now=now, lease_s=60, limit=4)
            if not rows:
                break
            mine += [n.id for n in rows]
        claimed[name] = mine

    threads = [threading.Thread(target=sender, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in claimed.values() for i in ids]
    assert sorted(every) == sorted(n.id for n in outbox.rows())  # all claimed, none twice
    assert {n.claimed_by for n in outbox.rows()} <= set(claimed)
    assert all(n.status == "sending" and n.attempts == 1 for n in outbox.rows())


def test_no_transaction_is_open_while_a_message_is_sent(outbox) -> None:
    """A hung mail server holds a sender, never the database: while the e-mails hang, a
    writer with a 1 s busy timeout commits (SpatiaLite's write lock is free) and PostgreSQL
    has no session idle in a transaction."""
    outbox.post(3)
    with stalled_smtp() as smtp:
        dispatcher = outbox.dispatcher(
            settings_for(smtp.port, notify_send_timeout_s=60, notify_shutdown_s=0.5)
        )
        dispatcher.start()
        try:
            wait_for(lambda: smtp.accepted >= 1, what="the sender to reach the mail server")
            writer = make_engine(outbox.url, busy_timeout_s=1)
            try:
                for _ in range(5):
                    with sessionmaker(write_bind(writer))() as s, s.begin():
                        suggestions.create_suggestion(
                            s, secret="s", geom=pt(0.4, 0.4), category="lighting", title="新"
                        )
                if writer.dialect.name == "postgresql":
                    with writer.connect() as conn:
                        idle = conn.execute(
                            text(
                                "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                "current_database() AND state LIKE 'idle in transaction%'"
                            )
                        ).scalar_one()
                    assert idle == 0
            finally:
                writer.dispose()
            assert {n.status for n in outbox.rows() if n.request_id <= 3} <= {
                "sending",
                "pending",
            }
        finally:
            dispatcher.stop()


def test_a_hung_mail_server_stalls_neither_webhooks_nor_another_webhook(outbox) -> None:
    with stalled_smtp() as smtp, hooks() as hook:
        hook.hang.add("/stuck")
        outbox.webhook(hook.base + "/stuck")
        outbox.webhook(hook.base + "/fine", grid=None)
        outbox.post(5)
        dispatcher = outbox.dispatcher(
            settings_for(
                smtp.port, notify_send_timeout_s=60, notify_workers=2, notify_shutdown_s=0.5
            )
        )
        dispatcher.start()
        try:
            wait_for(lambda: len(hook.keys("/fine")) == 5, what="the healthy webhook's 5 posts")
            assert smtp.accepted >= 1 and not hook.keys("/stuck")  # the others are still held
            fine = {n.idempotency_key for n in outbox.rows() if n.target.endswith("/fine")}
            wait_for(
                lambda: all(n.status == "sent" for n in outbox.rows() if n.idempotency_key in fine),
                what="the healthy webhook's rows recorded as sent",
            )
            assert set(hook.keys("/fine")) == fine and not hook.duplicates()
        finally:
            hook.release()
            dispatcher.stop()


def test_a_message_whose_sender_died_is_sent_again_with_the_same_key(outbox) -> None:
    """Sender 1 claims and sends, then dies before recording (kill -9): after its lease
    another sender sends the message again, with the same key, and records it. The
    receiver has it twice under one key, i.e. once."""
    with mailbox() as box:
        outbox.post(1)
        settings = settings_for(box.port, notify_lease_s=10)
        now = datetime.now(UTC)
        with outbox.factory() as s, s.begin():
            (row,) = notify.claim(s, worker="dead", now=now, lease_s=10, limit=10)
        assert notify.deliver(settings, row) is None  # sent; the sender dies right here
        # within the lease nobody else takes it
        assert notify.send_due(notify.transactions(outbox.factory), settings=settings, now=now) == (
            0,
            0,
        )
        later = now + timedelta(seconds=11)
        assert notify.send_due(
            notify.transactions(outbox.factory), settings=settings, now=later
        ) == (1, 0)
        (after,) = outbox.rows()
        assert (after.status, after.attempts, after.claimed_by) == ("sent", 2, None)
        assert box.keys() == {after.idempotency_key: 2}  # one message, delivered twice
        # the dead sender's late result changes nothing
        with outbox.factory() as s, s.begin():
            assert not notify.record(s, n=row, worker="dead", error=None, now=later)


def test_a_send_slower_than_its_lease_is_given_up_not_doubled(outbox) -> None:
    """A mail server that stalls longer than the claim's lease covers: the sender gives the
    send up before the lease ends (the server never took the message), so the sender that
    takes the message over afterwards is the only one to deliver it."""
    with mailbox() as box:
        outbox.post(1)
        box.hold()
        now = datetime.now(UTC)
        with outbox.factory() as s, s.begin():
            (row,) = notify.claim(s, worker="slow", now=now, lease_s=3, limit=10)
        error = notify.deliver(settings_for(box.port, notify_send_timeout_s=60), row)
        assert error is not None and "LeaseOver" in error
        assert datetime.now(UTC) < now + timedelta(seconds=3)  # over before the lease was
        wait_for(lambda: box.dropped == [row.idempotency_key], what="the send to be dropped")
        box.release()
        with outbox.factory() as s, s.begin():  # still its claim: back to the queue
            assert notify.record(s, n=row, worker="slow", error=error, now=datetime.now(UTC))
        later = datetime.now(UTC) + timedelta(seconds=notify.RETRY_DELAYS_S[0] + 1)
        assert notify.send_due(
            notify.transactions(outbox.factory), settings=settings_for(box.port), now=later
        ) == (1, 0)
        assert box.keys() == {row.idempotency_key: 1}


def test_a_message_is_recorded_as_sent_before_the_smtp_goodbye(outbox) -> None:
    """The sender records an e-mail as sent as soon as the mail server took it (its 250),
    before QUIT: a process killed during the goodbye does not send it again."""
    with mailbox() as box:
        outbox.post(1)
        now = datetime.now(UTC)
        with outbox.factory() as s, s.begin():
            (row,) = notify.claim(s, worker="w", now=now, lease_s=60, limit=10, channels=["email"])
        seen = []

        def accepted() -> None:
            seen.append((len(box.keys()), box.quits))
            with outbox.factory() as s, s.begin():
                assert notify.record(s, n=row, worker="w", error=None, now=now)

        assert notify.deliver(settings_for(box.port), row, accepted=accepted) is None
        assert seen == [(1, 0)]  # taken by the server, recorded, and only then the goodbye
        assert box.quits == 1
        (after,) = outbox.rows()
        assert (after.status, after.claimed_by) == ("sent", None)


def test_stopping_is_bounded_and_hands_unsent_claims_back(outbox) -> None:
    """Stopping while the mail server hangs: the process waits at most
    RENEWMAP_NOTIFY_SHUTDOWN_S, not for the hung sends (60 s timeouts); claims never started
    go back to pending with their attempt uncounted; webhooks sent before are not sent again
    by the next process."""
    with stalled_smtp() as smtp, hooks() as hook:
        outbox.webhook(hook.base + "/a")
        outbox.post(6)
        settings = settings_for(
            smtp.port, notify_send_timeout_s=60, notify_workers=1, notify_shutdown_s=1
        )
        first = outbox.dispatcher(settings)
        first.start()
        wait_for(lambda: len(hook.keys()) == 6 and smtp.accepted >= 1, what="webhooks sent")
        wait_for(
            lambda: sum(n.status == "sent" for n in outbox.rows()) == 6, what="webhooks recorded"
        )
        started = time.monotonic()
        first.stop()
        assert time.monotonic() - started < 30  # bounded by the budget, not by the hung send
        rows = outbox.rows()
        emails = [n for n in rows if n.channel == "email"]
        hung = [n for n in emails if n.status == "sending"]
        assert len(hung) == 1  # the one in the mail server's hands keeps its claim
        handed_back = [n for n in emails if n.status == "pending"]
        assert len(handed_back) == 5 and all(n.attempts == 0 for n in handed_back)
        assert all(n.claimed_by is None for n in handed_back)
        smtp.release()
    with mailbox() as box:
        # the next process: the handed-back e-mails go at once, the hung one after its lease
        second = outbox.dispatcher(settings_for(box.port, notify_lease_s=300))
        second.start()
        try:
            wait_for(lambda: len(box.keys()) == 5, what="the handed-back e-mails")
        finally:
            second.stop()
        assert not box.duplicates() and not hook.duplicates()
        keys = {n.idempotency_key for n in outbox.rows() if n.channel == "email"}
        assert set(box.keys()) == keys - {hung[0].idempotency_key}


def test_a_lease_that_expires_too_often_gives_the_message_up(outbox) -> None:
    outbox.post(1)
    now = datetime.now(UTC)
    for i in range(len(notify.RETRY_DELAYS_S) + 1):
        with outbox.factory() as s, s.begin():
            assert notify.claim(s, worker=f"w{i}", now=now, lease_s=1, limit=1, channels=["email"])
        now += timedelta(seconds=2)
    with outbox.factory() as s, s.begin():
        assert notify.claim(s, worker="last", now=now, lease_s=1, limit=1) == []
    (row,) = outbox.rows()
    assert row.status == "failed" and "stopped answering" in (row.last_error or "")


def test_the_busy_timeout_survives_loading_spatialite(tmp_path) -> None:
    """mod_spatialite sets SQLite's busy timeout back to 5 s when it loads: ours is set
    after it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}", busy_timeout_s=42)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 42_000
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    finally:
        engine.dispose()
