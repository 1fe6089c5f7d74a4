"""Notifications: a new, transferred or reopened request is announced to whoever owns it.

- e-mail (SMTP) to the grid's leads (for a request in no grid: the community's admins), and
  to the leaders of the building group of the building it is at (楼组长);
- a request handed to the property company (交物业处理): e-mail to the company's staff only;
- webhooks configured for the grid or the whole community: plain JSON, or the body of a WeCom
  (企业微信) group bot.

The outbox is written in the same transaction as the request, so nothing is announced that was
not saved and nothing saved goes unannounced. A dispatcher sends after commit and retries with
backoff; a mail server that is down never blocks or fails a resident's submission. Messages
carry no phone number: they link to the workspace, where scope is checked.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import queue
import secrets
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Community, Grid, Notification, NotifyChannel, Request
from renewmap.db.queries.notify import (
    admin_emails,
    any_due_notification,
    claimable_notifications,
    group_leader_emails,
    lead_emails,
    notify_channels,
    org_staff_emails,
    settle_notification,
)
from renewmap.db.queries.places import community_by_code, find_grid
from renewmap.errors import InvalidInput
from renewmap.i18n import DEFAULT_LOCALE, N_, Msg
from renewmap.services.requests import progress
from renewmap.services.requests.mailer import seconds_left, smtp_send
from renewmap.settings import Settings
from renewmap.vocabulary import CATEGORY_LABELS

log = logging.getLogger("renewmap.notify")

RETRY_DELAYS_S = (30, 120, 600, 1800, 7200)  # after the 1st … 5th failure; then "failed"
REASONS = {
    "new": N_("New request"),
    "transferred": N_("Request transferred to your grid"),
    "reopened": N_("Request reopened by the resident"),
    "assigned": N_("Request handed to your property company"),
}
# Staff have no language of their own yet: notifications speak the app's default language.
NOTIFY_LOCALE = DEFAULT_LOCALE
FORMATS = ("json", "wecom")


def _payload(
    session: Session, request: Request, reason: str, base_url: str | None
) -> dict[str, Any]:
    grid = session.get(Grid, request.grid_id) if request.grid_id else None
    community = session.get(Community, request.community_id) if request.community_id else None
    link = f"{base_url.rstrip('/')}/staff" if base_url else "/staff"
    if community is not None:
        link += f"?community={community.code}"
    return {
        "reason": reason,
        "request": {
            "id": request.id,
            "title": request.title,
            "category": request.category,
            "status": request.status,
            "receipt_code": request.receipt_code,
            "grid": {"code": grid.code, "name": grid.name} if grid else None,
            "community": {"code": community.code, "name": community.name} if community else None,
        },
        "workspace": link,
    }


def enqueue(session: Session, *, request: Request, reason: str, base_url: str | None = None) -> int:
    """Outbox rows for everyone who should hear of this request; returns how many."""
    if reason not in REASONS:
        raise InvalidInput(
            "unknown notification reason '{reason}'", key="notify_reason_unknown", reason=reason
        )
    session.flush()  # the request needs its id and routing
    payload = _payload(session, request, reason, base_url)
    if reason == "assigned":
        emails = (
            org_staff_emails(session, org_id=request.assigned_org_id)
            if request.assigned_org_id is not None
            else []
        )
    else:
        emails = (
            lead_emails(session, grid_id=request.grid_id)
            if request.grid_id is not None
            else admin_emails(session, community_id=request.community_id)
            if request.community_id is not None
            else []
        )
        if request.building_id is not None:
            emails += group_leader_emails(session, building_id=request.building_id)
    rows = [
        Notification(
            request_id=request.id, reason=reason, channel="email", target=e, payload=payload
        )
        for e in sorted(set(emails))
    ]
    if request.community_id is not None and reason != "assigned":
        for ch in notify_channels(
            session, community_id=request.community_id, grid_id=request.grid_id
        ):
            rows.append(
                Notification(
                    request_id=request.id,
                    reason=reason,
                    channel="webhook",
                    target=ch.target,
                    payload={**payload, "format": ch.body_format},
                )
            )
    session.add_all(rows)
    session.flush()
    return len(rows)


def add_webhook(
    session: Session, *, community_code: str, url: str, grid_code: str | None, body_format: str
) -> NotifyChannel:
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("the webhook must be an http(s) URL", key="webhook_url", field="url")
    if body_format not in FORMATS:
        raise InvalidInput(
            "format must be one of {formats}",
            key="webhook_format",
            formats=FORMATS,
            field="format",
        )
    community = community_by_code(session, code=community_code)
    grid_id = None
    if grid_code:
        grid = find_grid(session, community_id=community.id, code=grid_code)
        if grid is None:
            raise InvalidInput(
                "grid '{grid}' not found in {community}",
                key="grid_not_found",
                grid=grid_code,
                community=community.name,
                field="grid",
            )
        grid_id = grid.id
    channel = NotifyChannel(
        community_id=community.id,
        grid_id=grid_id,
        kind="webhook",
        target=url,
        body_format=body_format,
    )
    session.add(channel)
    session.flush()
    return channel


# ---- sending ---------------------------------------------------------------------------------


def _text(payload: dict[str, Any]) -> tuple[str, str]:
    r = payload["request"]
    where = " · ".join(
        x for x in ((r["community"] or {}).get("name"), (r["grid"] or {}).get("name")) if x
    )
    reason = Msg(REASONS[payload["reason"]])
    category = CATEGORY_LABELS.get(r["category"])
    lines = [
        Msg("{reason}: {title}", reason=reason, title=r["title"]),
        Msg("Location: {where}", where=where or "—"),
        Msg(
            "Category: {category} · receipt {receipt}",
            category=Msg(category[0]) if category else r["category"],
            receipt=r["receipt_code"] or "—",
        ),
        Msg("Handle it here: {link}", link=payload["workspace"]),
    ]
    subject = Msg("[Micro-renewal map] {reason}: {title}", reason=reason, title=r["title"])
    body = "".join(line.render(NOTIFY_LOCALE) + "\n" for line in lines)
    return subject.render(NOTIFY_LOCALE), body


def _message_id(settings: Settings, key: str) -> str:
    """The e-mail's Message-ID: the idempotency key at the sender's domain."""
    domain = settings.notify_smtp_from.rpartition("@")[2].strip(" >") or "renewmap.local"
    return f"<{key}@{domain}>"


def send_email(
    settings: Settings,
    to: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    accepted: Callable[[], None] | None = None,
    within_s: float | None = None,
) -> None:
    if not settings.notify_smtp_host:
        raise RuntimeError("no SMTP server configured (RENEWMAP_NOTIFY_SMTP_HOST)")
    subject, body = _text(payload)
    msg = EmailMessage()
    msg["From"] = settings.notify_smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    if key:
        msg["Message-ID"] = _message_id(settings, key)
    msg.set_content(body)
    smtp_send(settings, msg, accepted=accepted, within_s=within_s)


def webhook_body(payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON posted: ours as is, or a WeCom group-bot markdown message."""
    if payload.get("format") == "wecom":
        subject, body = _text(payload)
        return {"msgtype": "markdown", "markdown": {"content": f"**{subject}**\n{body}"}}
    return {k: v for k, v in payload.items() if k != "format"}


def send_webhook(
    url: str, payload: dict[str, Any], *, key: str | None = None, timeout: float = 10.0
) -> None:
    data = json.dumps(webhook_body(payload), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if key:
        headers["Idempotency-Key"] = key
    req = urllib.request.Request(url, data=data, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # an admin-configured URL
        if not 200 <= resp.status < 300:
            raise RuntimeError(f"HTTP {resp.status}")


# ---- delivery: claim, send with no transaction open, record ----------------------------------
#
# Each channel is a lane of its own (its own threads and claims), so a hung SMTP server cannot
# hold up webhooks, nor one hung webhook the others (a target is sent to by one thread at a
# time). Rows are claimed in a short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite:
# inside BEGIN IMMEDIATE), sent with no transaction open (on SQLite a send never holds the
# write lock residents' posts need), and the result is recorded only by the claim's holder.

# A sender sends one row; it may call its third argument the moment the receiver has taken
# the message (SMTP: the 250 after the data, before QUIT), so the result is recorded at once.
Sender = Callable[[Settings, Notification, Callable[[], None]], None]


def _for_resident(n: Notification) -> bool:
    """A resident's progress message (services.requests.progress), not a staff one."""
    return (n.payload or {}).get("audience") == "resident"


def _send_email_row(settings: Settings, n: Notification, accepted: Callable[[], None]) -> None:
    if _for_resident(n):
        progress.send(settings, n, accepted)
    else:
        send_email(
            settings,
            n.target,
            n.payload,
            key=n.idempotency_key,
            accepted=accepted,
            within_s=seconds_left(n.lease_until),
        )


def _send_webhook_row(settings: Settings, n: Notification, _accepted: Callable[[], None]) -> None:
    send_webhook(n.target, n.payload, key=n.idempotency_key, timeout=settings.notify_send_timeout_s)


# channel → how a row of it is sent (a channel added elsewhere registers its sender here)
SENDERS: dict[str, Sender] = {
    "email": _send_email_row,
    "webhook": _send_webhook_row,
    "sms": progress.send,  # residents only
}
# whether a row claimed now should still be sent (False: it is cancelled instead): a
# resident's message no longer true when due (consent withdrawn, the moment passed)
STILL_DUE: list[Callable[[Session, Notification], bool]] = [
    lambda session, n: not _for_resident(n) or progress.still_true(session, n)
]


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def claim(
    session: Session,
    *,
    worker: str,
    now: datetime,
    lease_s: float,
    limit: int,
    channels: Sequence[str] | None = None,
    busy_targets: Collection[str] = (),
) -> list[Notification]:
    """Claim up to ``limit`` due rows for ``worker`` (pending ones, and claims whose lease
    ran out); commit right after. Rows no longer due (``STILL_DUE``) are cancelled, rows whose
    claims expired too often are given up."""
    out = []
    for n in claimable_notifications(
        session,
        now=now,
        limit=limit,
        channels=list(channels or SENDERS),
        busy_targets=list(busy_targets),
    ):
        if n.status == "sending" and n.attempts > len(RETRY_DELAYS_S):
            n.status, n.claimed_by, n.lease_until = "failed", None, None
            n.last_error = (n.last_error or "") + " (its sender stopped answering)"
            continue
        if not all(check(session, n) for check in STILL_DUE):
            n.status, n.claimed_by, n.lease_until = "cancelled", None, None
            continue
        n.status = "sending"
        n.claimed_by = worker
        n.lease_until = now + timedelta(seconds=lease_s)
        n.attempts += 1
        out.append(n)
    session.flush()
    return out


def deliver(
    settings: Settings, n: Notification, *, accepted: Callable[[], None] | None = None
) -> str | None:
    """Send one claimed row (network only, no database); the error, or None when sent.
    ``accepted`` runs once, as soon as the receiver has taken the message (for e-mail before
    the SMTP goodbye, else when the sender returns): record the result there, so that a
    process killed after a receiver took a message does not leave it to be sent again."""
    taken = False

    def took() -> None:
        nonlocal taken
        if not taken:
            taken = True
            if accepted is not None:
                accepted()

    sender = SENDERS.get(n.channel)
    try:
        if sender is None:
            raise RuntimeError(f"no sender for channel {n.channel!r}")
        sender(settings, n, took)
    except Exception as exc:  # any failure is retried later; the error is kept and logged
        if taken:  # delivered: only what came after (the goodbye) failed
            return None
        error = f"{type(exc).__name__}: {exc}"[:1000]
        log.warning("notification %s (%s to %s) not sent: %s", n.id, n.channel, n.target, error)
        return error
    took()
    return None


def record(
    session: Session, *, n: Notification, worker: str, error: str | None, now: datetime
) -> bool:
    """The result of a send, if ``worker`` still holds the claim (False: it does not, and
    whoever does will send it, with the same key)."""
    if error is None:
        values: dict[str, Any] = {"status": "sent", "sent_at": now, "last_error": None}
    elif n.attempts > len(RETRY_DELAYS_S):
        values = {"status": "failed", "last_error": error}
    else:
        delay = timedelta(seconds=RETRY_DELAYS_S[n.attempts - 1])
        values = {"status": "pending", "next_attempt_at": now + delay, "last_error": error}
    return settle_notification(
        session, notification_id=n.id, worker=worker, values=values | RELEASED
    )


RELEASED = {"claimed_by": None, "lease_until": None}


TransactionFactory = Callable[[], AbstractContextManager[Session]]


def transactions(factory: Callable[[], Session]) -> TransactionFactory:
    """Short transactions from a session factory: each ``with`` commits on leaving."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with factory() as session, session.begin():
            yield session

    return transaction


def send_due(
    transaction: TransactionFactory,
    *,
    settings: Settings,
    now: datetime | None = None,
    limit: int = 50,
    channels: Sequence[str] | None = None,
) -> tuple[int, int]:
    """Send what is due, one after another (the command line's ``notify send``); returns
    (sent, failed attempts). No transaction is open while a message is sent."""
    now = now or datetime.now(UTC)
    worker = _worker_name()
    with transaction() as session:
        rows = claim(
            session,
            worker=worker,
            now=now,
            lease_s=settings.notify_lease_s,
            limit=limit,
            channels=channels,
        )
    sent = failed = 0
    for n in rows:

        def recorded(n: Notification = n, error: str | None = None) -> None:
            with transaction() as session:
                record(session, n=n, worker=worker, error=error, now=now)

        error = deliver(settings, n, accepted=recorded)
        if error is not None:
            recorded(n, error)
        sent, failed = (sent + 1, failed) if error is None else (sent, failed + 1)
    return sent, failed


def dispatch_due(
    session: Session, *, settings: Settings, now: datetime | None = None, limit: int = 50
) -> tuple[int, int]:
    """``send_due`` through one session (each step in a savepoint): for tests and callers
    that hold a session; returns (sent, failed attempts)."""

    @contextmanager
    def step() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    return send_due(step, settings=settings, now=now, limit=limit)


class _Lane:
    """One channel's sender: a claiming thread and ``workers`` sending threads (daemons, so
    a send hung past the shutdown budget never holds up the process's exit)."""

    def __init__(self, name: str, channels: tuple[str, ...], owner: Dispatcher) -> None:
        self.name = name
        self.channels = channels
        self.owner = owner
        self.workers = owner.settings.notify_workers
        self.queue: queue.Queue[Notification | None] = queue.Queue()
        self.wake = threading.Event()
        self.lock = threading.Lock()
        self.busy_targets: set[str] = set()
        self.busy = 0
        self.threads = [threading.Thread(target=self._claim_loop, name=f"notify-{name}")]
        self.threads += [
            threading.Thread(target=self._send_loop, name=f"notify-{name}-{i}", daemon=True)
            for i in range(self.workers)
        ]
        self.threads[0].daemon = True

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def _claim_loop(self) -> None:
        owner = self.owner
        while not owner.stopping.is_set():
            claimed = free = 0
            try:
                with self.lock:
                    free = self.workers - self.busy
                    busy_targets = set(self.busy_targets)
                if free > 0 and owner.anything_due(self.channels):
                    with owner.transaction() as session:
                        rows = claim(
                            session,
                            worker=owner.worker,
                            now=datetime.now(UTC),
                            lease_s=owner.settings.notify_lease_s,
                            limit=free,
                            channels=self.channels,
                            busy_targets=busy_targets,
                        )
                    for n in rows:
                        with self.lock:
                            self.busy += 1
                            self.busy_targets.add(n.target)
                        self.queue.put(n)
                    claimed = len(rows)
            except Exception as exc:  # the database may be briefly away: next round
                log.warning("notifications (%s): cannot claim: %s", self.name, exc)
            if claimed and claimed == free:
                continue  # there may be more: claim as workers free up
            self.wake.wait(owner.settings.notify_poll_s)
            self.wake.clear()

    def _send_loop(self) -> None:
        owner = self.owner
        while True:
            n = self.queue.get()
            if n is None:
                return
            try:
                if owner.stopping.is_set():
                    owner.release([n])  # never started: back to the queue of the outbox
                    continue
                # a message taken is recorded at once (before the SMTP goodbye)
                taken = functools.partial(owner.record_result, n, None)
                error = deliver(owner.settings, n, accepted=taken)
                if error is not None:
                    owner.record_result(n, error)
            finally:
                with self.lock:
                    self.busy -= 1
                    self.busy_targets.discard(n.target)
                self.wake.set()

    def stop(self) -> None:
        self.wake.set()
        for _ in range(self.workers):
            self.queue.put(None)


class Dispatcher:
    """Sends due notifications in the background: one lane per channel, woken every
    ``RENEWMAP_NOTIFY_POLL_S`` or when kicked. Several processes may run one each: a message
    is claimed by one of them. ``stop`` waits at most ``RENEWMAP_NOTIFY_SHUTDOWN_S`` for the
    messages being sent; unsent claims are handed back at once."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        settings: Settings,
        read_session_factory: Callable[[], Session] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.read_session_factory = read_session_factory or session_factory
        self.settings = settings
        self.transaction = transactions(session_factory)
        self.worker = _worker_name()
        self.stopping = threading.Event()
        self.lanes = [_Lane(channel, (channel,), self) for channel in SENDERS]

    def start(self) -> None:
        for lane in self.lanes:
            lane.start()

    def kick(self) -> None:
        for lane in self.lanes:
            lane.wake.set()

    def anything_due(self, channels: Sequence[str]) -> bool:
        """A lock-free look first: the claim's write transaction (which on SQLite takes the
        database's write lock) only when something is due."""
        with self.read_session_factory() as session:
            return any_due_notification(session, now=datetime.now(UTC), channels=list(channels))

    def record_result(self, n: Notification, error: str | None) -> None:
        """Record a send's result; while the database is away, try again until the claim's
        lease ends (or the process stops): a message sent is not sent again for want of a
        database at that moment."""
        lease_end = n.lease_until or datetime.now(UTC)
        lease_end = lease_end if lease_end.tzinfo else lease_end.replace(tzinfo=UTC)
        done_at = datetime.now(UTC)
        while True:
            try:
                with self.transaction() as session:
                    record(session, n=n, worker=self.worker, error=error, now=done_at)
                return
            except Exception as exc:
                if datetime.now(UTC) >= lease_end or self.stopping.wait(0):
                    log.error("notification %s: result not recorded: %s", n.id, exc)
                    return
                time.sleep(0.5)

    def release(self, rows: Sequence[Notification]) -> None:
        """Hand back claims never started (the process is stopping)."""
        try:
            with self.transaction() as session:
                for n in rows:
                    settle_notification(
                        session,
                        notification_id=n.id,
                        worker=self.worker,
                        values={"status": "pending", "attempts": n.attempts - 1} | RELEASED,
                    )
        except Exception as exc:  # the lease will expire instead
            log.warning("notifications: claims not handed back: %s", exc)

    def stop(self) -> None:
        self.stopping.set()
        for lane in self.lanes:
            lane.stop()
        deadline = time.monotonic() + self.settings.notify_shutdown_s
        for lane in self.lanes:
            for t in lane.threads:
                t.join(timeout=max(0.0, deadline - time.monotonic()))
        left: list[Notification] = []
        for lane in self.lanes:
            while True:
                try:
                    n = lane.queue.get_nowait()
                except queue.Empty:
                    break
                if n is not None:
                    left.append(n)
        if left:
            self.release(left)
