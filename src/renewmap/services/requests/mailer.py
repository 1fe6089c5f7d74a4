"""Handing one e-mail to the mail server, for staff notifications and residents' progress
messages alike."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

from renewmap.settings import Settings

# A send gives up this long before its claim's lease ends, so that it is over before another
# sender may take the message over.
LEASE_MARGIN_S = 1.0


def seconds_left(lease_until: datetime | None) -> float | None:
    """How long a send may still take under a claim leased until ``lease_until`` (None: no
    lease, no limit beyond the step timeouts)."""
    if lease_until is None:
        return None
    end = lease_until if lease_until.tzinfo else lease_until.replace(tzinfo=UTC)
    return max(0.0, (end - datetime.now(UTC)).total_seconds() - LEASE_MARGIN_S)


class LeaseOver(RuntimeError):
    """The send took longer than its claim's lease covers: given up, to be sent again."""


def smtp_send(
    settings: Settings,
    msg: EmailMessage,
    *,
    accepted: Callable[[], None] | None = None,
    within_s: float | None = None,
) -> None:
    """Hand ``msg`` to the mail server. ``accepted`` runs as soon as the server has taken it
    (its 250 after the data), before QUIT: the caller records it as sent while nothing else
    can go wrong; a QUIT that fails after that changes nothing (the message is delivered).

    ``within_s``: the whole send, however slow the server, is cut off after this long (the
    claim's lease; see ``seconds_left``), so a message is never still being sent when another
    sender may take it over: a slow server is answered by a retry, not by a second copy.

    What SMTP cannot rule out (RFC 5321 §4.1.1.4, RFC 1047): a connection lost after the data
    but before the 250 arrives leaves the message taken by the server and unknown here; it is
    sent again later with the same Message-ID."""
    host, port = settings.notify_smtp_host or "", settings.notify_smtp_port
    smtp = smtplib.SMTP(timeout=settings.notify_send_timeout_s)
    over = threading.Event()

    def cut() -> None:  # wakes a read blocked on a slow server
        over.set()
        sock = smtp.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(within_s, cut) if within_s is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        try:
            smtp.connect(host, port)
            if over.is_set():
                raise LeaseOver("the claim's lease ran out while connecting")
            if settings.notify_smtp_starttls:
                smtp.starttls()
            if settings.notify_smtp_user:
                smtp.login(settings.notify_smtp_user, settings.notify_smtp_password or "")
            smtp.send_message(msg)
        except BaseException as exc:
            smtp.close()
            if over.is_set() and not isinstance(exc, LeaseOver):
                raise LeaseOver(f"the claim's lease ran out during the send ({exc})") from exc
            raise
        if accepted is not None:
            accepted()
    finally:
        if timer is not None:
            timer.cancel()
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass  # delivered already; the goodbye is a courtesy
    finally:
        smtp.close()
