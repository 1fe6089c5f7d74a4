"""Notifications: a new, transferred or reopened request is announced to whoever owns it.

- e-mail (SMTP) to the grid's leads (for a request in no grid: the community's admins);
- webhooks configured for the grid or the whole community: plain JSON, or the body of a WeCom
  (企业微信) group bot.

The outbox is written in the same transaction as the request, so nothing is announced that was
not saved and nothing saved goes unannounced. A dispatcher sends after commit and retries with
backoff; a mail server that is down never blocks or fails a resident's submission. Messages
carry no phone number: they link to the workspace, where scope is checked.
"""

from __future__ import annotations

import json
import smtplib
import threading
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Community, Grid, Notification, NotifyChannel, Request
from renewmap.db.queries.notify import (
    admin_emails,
    any_due_notification,
    due_notifications,
    lead_emails,
    notify_channels,
)
from renewmap.db.queries.places import community_by_code, find_grid
from renewmap.errors import InvalidInput
from renewmap.i18n import DEFAULT_LOCALE, N_, Msg
from renewmap.services.requests import progress
from renewmap.settings import Settings
from renewmap.vocabulary import CATEGORY_LABELS

RETRY_DELAYS_S = (30, 120, 600, 1800, 7200)  # after the 1st … 5th failure; then "failed"
REASONS = {
    "new": N_("New request"),
    "transferred": N_("Request transferred to your grid"),
    "reopened": N_("Request reopened by the resident"),
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
    emails = (
        lead_emails(session, grid_id=request.grid_id)
        if request.grid_id is not None
        else admin_emails(session, community_id=request.community_id)
        if request.community_id is not None
        else []
    )
    rows = [
        Notification(
            request_id=request.id, reason=reason, channel="email", target=e, payload=payload
        )
        for e in sorted(set(emails))
    ]
    if request.community_id is not None:
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


def send_email(settings: Settings, to: str, payload: dict[str, Any]) -> None:
    if not settings.notify_smtp_host:
        raise RuntimeError("no SMTP server configured (RENEWMAP_NOTIFY_SMTP_HOST)")
    subject, body = _text(payload)
    msg = EmailMessage()
    msg["From"] = settings.notify_smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(settings.notify_smtp_host, settings.notify_smtp_port, timeout=10) as smtp:
        if settings.notify_smtp_starttls:
            smtp.starttls()
        if settings.notify_smtp_user:
            smtp.login(settings.notify_smtp_user, settings.notify_smtp_password or "")
        smtp.send_message(msg)


def webhook_body(payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON posted: ours as is, or a WeCom group-bot markdown message."""
    if payload.get("format") == "wecom":
        subject, body = _text(payload)
        return {"msgtype": "markdown", "markdown": {"content": f"**{subject}**\n{body}"}}
    return {k: v for k, v in payload.items() if k != "format"}


def send_webhook(url: str, payload: dict[str, Any]) -> None:
    data = json.dumps(webhook_body(payload), ensure_ascii=False).encode()
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # an admin-configured URL
        if not 200 <= resp.status < 300:
            raise RuntimeError(f"HTTP {resp.status}")


Sender = Callable[[Notification], None]


def dispatch_due(
    session: Session, *, settings: Settings, now: datetime | None = None, limit: int = 50
) -> tuple[int, int]:
    """Send what is due; returns (sent, failed attempts). Each row is settled on its own."""
    now = now or datetime.now(UTC)
    sent = failed = 0
    for n in due_notifications(session, now=now, limit=limit):
        resident = (n.payload or {}).get("audience") == "resident"
        if resident and not progress.still_true(session, n):
            n.status = "cancelled"  # consent withdrawn, or the reminder's moment has passed
            session.flush()
            continue
        try:
            if resident:
                progress.send(settings, n)
            elif n.channel == "email":
                send_email(settings, n.target, n.payload)
            else:
                send_webhook(n.target, n.payload)
        except Exception as exc:  # any failure is retried later; the error is kept
            failed += 1
            n.attempts += 1
            n.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            if n.attempts > len(RETRY_DELAYS_S):
                n.status = "failed"
            else:
                n.next_attempt_at = now + timedelta(seconds=RETRY_DELAYS_S[n.attempts - 1])
        else:
            sent += 1
            n.attempts += 1
            n.status = "sent"
            n.sent_at = now
        session.flush()
    return sent, failed


class Dispatcher:
    """A background thread that sends due notifications every few seconds (or when kicked)."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        settings: Settings,
        read_session_factory: Callable[[], Session] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.read_session_factory = read_session_factory or session_factory
        self.settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="renewmap-notify", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # A lock-free look first: the write transaction (which on SQLite takes the
                # database's write lock) only when something is due.
                with self.read_session_factory() as session:
                    due = any_due_notification(session, now=datetime.now(UTC))
                if due:
                    with self.session_factory() as session, session.begin():
                        dispatch_due(session, settings=self.settings)
            except Exception:  # the database may be briefly away: try again next round
                pass
            self._wake.wait(self.settings.notify_poll_s)
            self._wake.clear()
