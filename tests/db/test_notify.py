"""Notifications to real receivers on loopback: an SMTP server (aiosmtpd) and an HTTP server.

Grid A's lead has an e-mail address, grid B's lead too; grid A has a JSON webhook and the
whole community a WeCom-style one. A suggestion in grid A must reach A's lead and both
webhooks, never B's lead; a receiver that is down must not fail the resident's submission.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from renewmap.db.models import Notification
from renewmap.db.queries.accounts import staff_user_by_username
from renewmap.db.queries.notify import all_notifications
from renewmap.devtools.e2e import free_port, thread_server
from renewmap.services.access import accounts
from renewmap.services.access.scope import scope_of
from renewmap.services.requests import notify, suggestions, workflow
from renewmap.settings import Settings
from tests.support.places import add_test_community, pt
from tests.support.receivers import Mailbox, mailbox


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server on loopback (tests.support.receivers)."""
    with mailbox() as box:
        yield box.port, box


@pytest.fixture
def hooks() -> Iterator[tuple[str, list[tuple[str, dict]]]]:
    received: list[tuple[str, dict]] = []
    lock = threading.Lock()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                received.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with thread_server(Receiver) as base:
        yield base, received


@pytest.fixture
def staffed(session):
    add_test_community(session)
    for name, grid, mail in (("lead_a", "A", "a@example.org"), ("lead_b", "B", "b@example.org")):
        user = accounts.create_user(
            session,
            username=name,
            password="correct horse battery",
            roles=[("grid_lead", f"T0001/{grid}")],
        )
        user.email = mail
    session.flush()


def settings_for(smtp_port: int) -> Settings:
    return Settings(
        env="test",
        secret_key="test-secret",
        notify_smtp_host="127.0.0.1",
        notify_smtp_port=smtp_port,
        notify_smtp_from="renewmap@example.org",
        public_base_url="http://intranet.example:8000",
    )


def test_new_request_reaches_its_grid_lead_and_webhooks_only(session, staffed, smtp, hooks) -> None:
    port, inbox = smtp
    base, received = hooks
    notify.add_webhook(
        session, community_code="T0001", url=base + "/grid-a", grid_code="A", body_format="json"
    )
    notify.add_webhook(
        session, community_code="T0001", url=base + "/all", grid_code=None, body_format="wecom"
    )
    notify.add_webhook(
        session, community_code="T0001", url=base + "/grid-b", grid_code="B", body_format="json"
    )
    created = suggestions.create_suggestion(
        session,
        secret="s",
        geom=pt(0.5, 0.5),
        category="lighting",
        title="路灯不亮",
        phone="13800000000",
        base_url="http://intranet.example:8000",
    )
    rows = all_notifications(session)
    assert sorted((n.channel, n.target) for n in rows) == [
        ("email", "a@example.org"),
        ("webhook", base + "/all"),
        ("webhook", base + "/grid-a"),
    ]
    sent, failed = notify.dispatch_due(session, settings=settings_for(port))
    assert (sent, failed) == (3, 0)
    assert all(n.status == "sent" and n.attempts == 1 for n in all_notifications(session))
    (mail,) = inbox.messages
    assert mail["To"] == "a@example.org" and "路灯不亮" in mail["Subject"]
    text = mail.get_content()
    assert "http://intranet.example:8000/staff?community=T0001" in text
    assert "13800000000" not in text  # contact details stay in the scoped workspace
    by_path = dict(received)
    assert by_path["/grid-a"]["request"]["id"] == created.request.id
    assert by_path["/grid-a"]["request"]["grid"]["code"] == "A"
    assert (
        by_path["/all"]["msgtype"] == "markdown"
        and "路灯不亮" in by_path["/all"]["markdown"]["content"]
    )
    assert "/grid-b" not in by_path and "13800000000" not in json.dumps(received)
    # nothing is sent twice
    assert notify.dispatch_due(session, settings=settings_for(port)) == (0, 0)


def test_a_receiver_that_is_down_is_retried_with_backoff(session, staffed, smtp) -> None:
    port, inbox = smtp
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    notify.add_webhook(session, community_code="T0001", url=dead, grid_code="A", body_format="json")
    suggestions.create_suggestion(
        session, secret="s", geom=pt(0.5, 0.5), category="lighting", title="路灯不亮"
    )
    now = datetime.now(UTC)
    assert notify.dispatch_due(session, settings=settings_for(port), now=now) == (1, 1)
    hook = next(n for n in all_notifications(session) if n.channel == "webhook")
    assert (hook.status, hook.attempts) == ("pending", 1) and "URLError" in hook.last_error
    due = (
        hook.next_attempt_at
        if hook.next_attempt_at.tzinfo
        else hook.next_attempt_at.replace(tzinfo=UTC)
    )
    assert due == now + timedelta(seconds=notify.RETRY_DELAYS_S[0])
    assert notify.dispatch_due(session, settings=settings_for(port), now=now) == (0, 0)  # not yet
    t = now
    for delay in notify.RETRY_DELAYS_S:
        t += timedelta(seconds=delay)
        notify.dispatch_due(session, settings=settings_for(port), now=t)
    assert (hook.status, hook.attempts) == ("failed", len(notify.RETRY_DELAYS_S) + 1)
    assert len(inbox.messages) == 1  # the e-mail went out the first time


def test_posting_never_waits_for_or_fails_on_notifications(make_client, session, staffed) -> None:
    """SMTP configured but unreachable: the resident still gets 201 at once; the outbox has it."""
    c = make_client(settings_for(free_port()), csrf=True)  # nothing listens
    p = pt(0.5, 0.5)
    r = c.post(
        "/api/suggestions",
        data={"category": "lighting", "title": "路灯不亮", "lon": str(p.x), "lat": str(p.y)},
    )
    assert r.status_code == 201
    (row,) = [n for n in all_notifications(session) if n.request_id == r.json()["id"]]
    assert (row.channel, row.target, row.status) == ("email", "a@example.org", "pending")


def test_transfer_notifies_the_receiving_grid(session, staffed, smtp) -> None:
    port, inbox = smtp
    created = suggestions.create_suggestion(
        session, secret="s", geom=pt(0.5, 0.5), category="lighting", title="路灯不亮"
    )
    notify.dispatch_due(session, settings=settings_for(port))
    inbox.messages.clear()
    lead_a = accounts.principal_of(staff_user_by_username(session, username="lead_a"))
    workflow.act(
        session,
        principal=lead_a,
        scope=scope_of(session, lead_a),
        request_id=created.request.id,
        action="transfer",
        version=created.request.version,
        target_grid="B",
        note="在B网格",
    )
    notify.dispatch_due(session, settings=settings_for(port))
    assert [m["To"] for m in inbox.messages] == ["b@example.org"]
    assert "转交" in inbox.messages[0]["Subject"]
    assert session.query(Notification).filter_by(reason="transferred").count() == 1
