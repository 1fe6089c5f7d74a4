"""Handing one e-mail to the mail server, for staff notifications and residents' progress
messages alike."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage

from renewmap.settings import Settings


def smtp_send(
    settings: Settings, msg: EmailMessage, *, accepted: Callable[[], None] | None = None
) -> None:
    """Hand ``msg`` to the mail server. ``accepted`` runs as soon as the server has taken it
    (its 250 after the data), before QUIT: the caller records it as sent while nothing else
    can go wrong; a QUIT that fails after that changes nothing (the message is delivered).

    What SMTP cannot rule out (RFC 5321 §4.1.1.4, RFC 1047): a connection lost after the data
    but before the 250 arrives leaves the message taken by the server and unknown here; it is
    sent again later with the same Message-ID."""
    host, port = settings.notify_smtp_host or "", settings.notify_smtp_port
    smtp = smtplib.SMTP(host, port, timeout=settings.notify_send_timeout_s)
    try:
        if settings.notify_smtp_starttls:
            smtp.starttls()
        if settings.notify_smtp_user:
            smtp.login(settings.notify_smtp_user, settings.notify_smtp_password or "")
        smtp.send_message(msg)
    except BaseException:
        smtp.close()
        raise
    if accepted is not None:
        accepted()
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass  # delivered already; the goodbye is a courtesy
    finally:
        smtp.close()
