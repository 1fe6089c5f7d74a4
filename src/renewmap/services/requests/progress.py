"""Telling residents of progress: a resident who leaves a phone number or an e-mail address and
ticks the consent box hears, by SMS or e-mail, when their suggestion is accepted, answered,
resolved (with the date until which they may reopen it, and a reminder before that date),
rejected or merged into another.

Nothing is sent without consent, which is stored with its time; every message carries the
private follow link and a stop link that withdraws consent without signing in. Messages go
through the notifications outbox (``services.requests.notify``) like the staff's, written in
the transaction of the step they report and sent after commit with retries. A message that is
no longer true when it is due (consent withdrawn, the suggestion reopened before the reminder)
is cancelled instead of sent.

E-mail goes through the SMTP server of ``RENEWMAP_NOTIFY_SMTP_*``; SMS through an HTTP gateway
(``RENEWMAP_NOTIFY_SMS_*``), as Chinese SMS providers and in-house gateways expect: one POST of
the phone number and the text, JSON or form-encoded, signed with HMAC-SHA256 over the sorted
parameters.

The follow link's token is derived from the receipt code with the app's secret (only its hash
is stored, as before), so that a message sent weeks later can carry it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import Notification, Request
from renewmap.db.queries.notify import pending_of_request
from renewmap.errors import InvalidInput
from renewmap.i18n import LOCALES, N_, Msg, Text
from renewmap.services.requests.mailer import seconds_left, smtp_send
from renewmap.settings import Settings
from renewmap.vocabulary import EventKind, Status

# Steps a resident is told of (the kinds of their history entries), and the reminder.
TOLD: tuple[str, ...] = (
    EventKind.ACCEPT,
    EventKind.REPLY,
    EventKind.RESOLVE,
    EventKind.REJECT,
    EventKind.DUPLICATE,
    EventKind.ASSIGN_PROPERTY,  # 已交物业处理，预计 … 前完成
    EventKind.PROPERTY_DONE,
)
REOPEN_CLOSING = "reopen_closing"
REMIND_DAYS_BEFORE = 3  # the reminder goes this many days before the reopen window closes
SMS_TITLE = 20  # characters of the title and of a reply that fit an SMS
SMS_NOTE = 60
MAX_EMAIL = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHANNELS = ("sms", "email")

# What each step says (msgids; {by}: "第3网格 网格长", {note}: the reply, {until}: a day,
# {due}: the day the property company is to be done by).
WHAT: dict[str, str] = {
    EventKind.ACCEPT: N_("was accepted by {by}"),
    EventKind.REPLY: N_("got a reply from {by}: {note}"),
    EventKind.RESOLVE: N_(
        "was resolved by {by}: {note}. Not fixed? Reopen it from the link until {until}"
    ),
    EventKind.REJECT: N_("was not taken up by {by}: {note}"),
    EventKind.DUPLICATE: N_("was merged into an earlier suggestion about the same thing"),
    EventKind.ASSIGN_PROPERTY: N_(
        "was passed by {by} to the property company, to be done by {due}"
    ),
    EventKind.PROPERTY_DONE: N_("was reported done by {by}: {note}"),
    REOPEN_CLOSING: N_("can be reopened from the link until {until} if it is still not fixed"),
}


# --- the resident's links ------------------------------------------------------------------


def _derived(secret: str, purpose: str, code: str, length: int) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{code}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def follow_token(secret: str, code: str) -> str:
    """The private follow link's token of a receipt (only its keyed hash is stored)."""
    return _derived(secret, "follow", code, 24)


def stop_token(secret: str, code: str) -> str:
    """The token of a receipt's stop link (it withdraws consent, nothing else)."""
    return _derived(secret, "stop", code, 22)


def check_stop_token(secret: str, code: str, token: str) -> bool:
    return hmac.compare_digest(stop_token(secret, code), token or "")


def links(secret: str, base: str, code: str) -> tuple[str, str]:
    """The follow and stop links of a receipt, absolute from ``base``."""
    base = base.rstrip("/")
    quoted = urllib.parse.quote(code)
    return (
        f"{base}/r/{quoted}?t={follow_token(secret, code)}",
        f"{base}/r/{quoted}/stop?s={stop_token(secret, code)}",
    )


# --- consent ---------------------------------------------------------------------------------


def clean_email(email: str | None) -> str | None:
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > MAX_EMAIL or not _EMAIL.match(email):
        raise InvalidInput(
            "this is not an e-mail address (name@example.com)", key="email_invalid", field="email"
        )
    return email


def available(settings: Settings) -> tuple[str, ...]:
    """The channels this installation can send through (an SMS gateway, an SMTP server)."""
    out = []
    if settings.notify_sms_url:
        out.append("sms")
    if settings.notify_smtp_host:
        out.append("email")
    return tuple(out)


def check_consent(
    *, agreed: bool, phone: str | None, email: str | None, offered: tuple[str, ...]
) -> list[str]:
    """The channels a resident who ticked the box (``agreed``) will be told through; an error
    if they left no contact the installation can reach (checked before anything is written)."""
    if not agreed:
        return []
    chosen = [c for c, v in (("sms", phone), ("email", email)) if v and c in offered]
    if not chosen:
        raise InvalidInput(
            "to be told of progress, leave a phone number or an e-mail address",
            key="notify_needs_contact",
            offered=list(offered),
            field="phone" if "sms" in offered else "email",
        )
    return chosen


def record_consent(
    request: Request,
    *,
    channels: list[str],
    email: str | None,
    locale: str,
    base: str,
    now: datetime | None = None,
) -> None:
    """Store the resident's e-mail (private, like the phone) and, with ``channels`` (they
    ticked the box), their consent with its time, language and the app's address."""
    if email:
        request.contact_email = email
    if not channels:
        return
    request.notify_consent_at = now or datetime.now(UTC)
    request.notify_stopped_at = None
    request.notify_prefs = {
        "channels": list(channels),
        "locale": locale if locale in LOCALES else LOCALES[0],
        "base": base,
    }


def channels_of(request: Request) -> list[str]:
    """How this resident is told of progress (the channels they agreed to); nothing without
    consent or after they stopped it."""
    if request.notify_consent_at is None or request.notify_stopped_at is not None:
        return []
    return [c for c in (request.notify_prefs or {}).get("channels", []) if c in CHANNELS]


def stop(session: Session, *, request: Request, now: datetime | None = None) -> int:
    """Withdraw consent: nothing more is sent; returns the messages cancelled."""
    now = now or datetime.now(UTC)
    if request.notify_stopped_at is None:
        request.notify_stopped_at = now
    cancelled = 0
    for n in pending_of_request(session, request_id=request.id):
        if (n.payload or {}).get("audience") == "resident":
            n.status = "cancelled"
            cancelled += 1
    session.flush()
    return cancelled


# --- telling ---------------------------------------------------------------------------------


def by_words(by: dict[str, str] | None) -> Text | str:
    """Who acted, as a resident reads it: "第3网格 网格长" (never a person's name)."""
    if not by:
        return Msg("the grid")
    role = names.ROLE_LABELS.get(by.get("role", ""))
    place = by.get("place") or ""
    if role and place:
        return Msg("{place} {role}", place=place, role=Msg(role))
    return Msg(role) if role else place or Msg("the grid")


def tell(
    session: Session,
    *,
    request: Request,
    step: str,
    note: str | None = None,
    by: dict[str, str] | None = None,
    now: datetime | None = None,
    reopen_days: int = 30,
) -> int:
    """Outbox rows telling the resident of ``step`` (if they consented); after a resolution
    also the reminder before the reopen window closes. Returns how many rows."""
    if step not in TOLD:
        return 0
    chosen = channels_of(request)
    if not chosen:
        return 0
    now = now or datetime.now(UTC)
    prefs = request.notify_prefs or {}
    payload: dict[str, Any] = {
        "audience": "resident",
        "step": step,
        "receipt_code": request.receipt_code,
        "title": request.title,
        "note": note,
        "by": by,
        "due": request.assigned_due.isoformat() if request.assigned_due else None,
        "locale": prefs.get("locale", LOCALES[0]),
        "base": prefs.get("base"),
    }
    due = [(step, now, payload)]
    if step == EventKind.RESOLVE:
        until = now + timedelta(days=reopen_days)
        payload["until"] = until.isoformat()
        payload["resolved_at"] = now.isoformat()
        remind = until - timedelta(days=REMIND_DAYS_BEFORE)
        due.append((REOPEN_CLOSING, remind, {**payload, "step": REOPEN_CLOSING}))
    rows = []
    for reason, when, body in due:
        for channel in chosen:
            target = request.phone if channel == "sms" else request.contact_email
            rows.append(
                Notification(
                    request_id=request.id,
                    reason=reason,
                    channel=channel,
                    target=target,
                    payload=body,
                    next_attempt_at=when,
                )
            )
    session.add_all(rows)
    session.flush()
    return len(rows)


def still_true(session: Session, n: Notification) -> bool:
    """Whether a resident's message due now still says something true: they have not stopped
    messages, and a reopen reminder's suggestion is still resolved, from the same resolution."""
    request = session.get(Request, n.request_id)
    if request is None or request.notify_stopped_at is not None:
        return False
    if n.reason == REOPEN_CLOSING:
        resolved = request.resolved_at
        if request.status != Status.RESOLVED or resolved is None:
            return False
        resolved = resolved if resolved.tzinfo else resolved.replace(tzinfo=UTC)
        # resolved again after a reopening: that resolution has its own reminder
        return abs(resolved - datetime.fromisoformat(n.payload["resolved_at"])) < timedelta(
            seconds=1
        )
    return True


def _day(value: str | None, time_zone: str) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return moment.astimezone(ZoneInfo(time_zone)).date().isoformat()


def texts(settings: Settings, payload: dict[str, Any]) -> dict[str, str]:
    """The words of a resident's message: ``sms``, ``subject``, ``body``, and the links."""
    locale = payload.get("locale") or LOCALES[0]
    base = settings.public_base_url or payload.get("base") or ""
    follow, stop_link = links(settings.secret_key, base, payload["receipt_code"])
    until = _day(payload.get("until"), settings.time_zone)
    by = by_words(payload.get("by"))
    note = (payload.get("note") or "").strip()

    def what(note_text: str) -> Msg:
        return Msg(
            WHAT[payload["step"]], by=by, note=note_text, until=until, due=payload.get("due") or ""
        )

    title = payload["title"]
    short_title = title if len(title) <= SMS_TITLE else title[: SMS_TITLE - 1] + "…"
    short_note = note if len(note) <= SMS_NOTE else note[: SMS_NOTE - 1] + "…"
    sms = Msg(
        "Your suggestion “{title}” ({code}) {what}. Details: {follow} Stop messages: {stop}",
        title=short_title,
        code=payload["receipt_code"],
        what=what(short_note),
        follow=follow,
        stop=stop_link,
    ).render(locale)
    if settings.notify_sms_signature:
        sms = settings.notify_sms_signature + sms
    subject = Msg(
        "[Micro-renewal map] Your suggestion “{title}” {what}",
        title=short_title,
        what=what(short_note),
    )
    body = Msg(
        "Your suggestion “{title}” (receipt {code}) {what}.\n\n"
        "Follow it here: {follow}\n\n"
        "You get these messages because you asked for them when you posted it. "
        "To stop them: {stop}\n",
        title=title,
        code=payload["receipt_code"],
        what=what(note),
        follow=follow,
        stop=stop_link,
    )
    return {
        "sms": sms,
        "subject": subject.render(locale),
        "body": body.render(locale),
        "follow": follow,
        "stop": stop_link,
    }


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
    words = texts(settings, payload)
    msg = EmailMessage()
    msg["From"] = settings.notify_smtp_from
    msg["To"] = to
    msg["Subject"] = words["subject"]
    # RFC 8058: mail programs offer "unsubscribe", which posts to the stop link
    msg["List-Unsubscribe"] = f"<{words['stop']}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if key:  # the idempotency key: receivers drop a message sent twice
        domain = settings.notify_smtp_from.rpartition("@")[2].strip(" >") or "renewmap.local"
        msg["Message-ID"] = f"<{key}@{domain}>"
    msg.set_content(words["body"])
    smtp_send(settings, msg, accepted=accepted, within_s=within_s)


def sms_signature(secret: str, params: dict[str, str]) -> str:
    """HMAC-SHA256 (hex) of the parameters sorted by name, as ``name=value`` joined by ``&``
    (values as sent, not URL-encoded)."""
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def sms_request(
    settings: Settings, phone: str, text: str, *, now: float | None = None, key: str | None = None
) -> urllib.request.Request:
    """The gateway's HTTP request: POST ``phone``, ``text``, ``timestamp`` (Unix seconds),
    ``nonce`` and ``sign`` (see :func:`sms_signature`; also in ``X-RenewMap-Signature``).
    Placeholders ``{phone}`` and ``{text}`` in the URL template are filled, URL-encoded."""
    if not settings.notify_sms_url:
        raise RuntimeError("no SMS gateway configured (RENEWMAP_NOTIFY_SMS_URL)")
    params = {
        "phone": phone,
        "text": text,
        "timestamp": str(int(now if now is not None else time.time())),
        "nonce": secrets.token_hex(8),
    }
    sign = sms_signature(settings.notify_sms_secret or "", params)
    params["sign"] = sign
    url = settings.notify_sms_url.replace("{phone}", urllib.parse.quote(phone)).replace(
        "{text}", urllib.parse.quote(text)
    )
    if settings.notify_sms_format == "form":
        data = urllib.parse.urlencode(params).encode()
        content_type = "application/x-www-form-urlencoded; charset=utf-8"
    else:
        data = json.dumps(params, ensure_ascii=False).encode()
        content_type = "application/json; charset=utf-8"
    headers = {"Content-Type": content_type, "X-RenewMap-Signature": sign}
    if key:  # the idempotency key: a gateway that honours it sends a message once
        headers["Idempotency-Key"] = key
    return urllib.request.Request(url, data=data, method="POST", headers=headers)


def send_sms(
    settings: Settings, phone: str, payload: dict[str, Any], *, key: str | None = None
) -> None:
    req = sms_request(settings, phone, texts(settings, payload)["sms"], key=key)
    timeout = settings.notify_send_timeout_s
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # an admin-configured gateway
        if not 200 <= resp.status < 300:
            raise RuntimeError(f"HTTP {resp.status}")


def send(settings: Settings, n: Notification, accepted: Callable[[], None] | None = None) -> None:
    """Send one resident's message through its channel (``accepted``: see notify.deliver)."""
    if n.channel == "sms":
        send_sms(settings, n.target, n.payload, key=n.idempotency_key)
    else:
        send_email(
            settings,
            n.target,
            n.payload,
            key=n.idempotency_key,
            accepted=accepted,
            within_s=seconds_left(n.lease_until),
        )
