"""Notifications: who is told (e-mails of leads and admins, webhooks) and the queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from renewmap.db.models import Notification, NotifyChannel, StaffRole, StaffUser
from renewmap.vocabulary import Role


def _emails_of_roles(session: Session, *conditions: Any) -> list[str]:
    return list(
        session.scalars(
            select(StaffUser.email)
            .join(StaffRole, StaffRole.user_id == StaffUser.id)
            .where(StaffUser.active.is_(True), StaffUser.email.is_not(None), *conditions)
            .distinct()
        )
    )


def lead_emails(session: Session, *, grid_id: int) -> list[str]:
    return _emails_of_roles(session, StaffRole.role == Role.GRID_LEAD, StaffRole.grid_id == grid_id)


def admin_emails(session: Session, *, community_id: int) -> list[str]:
    return _emails_of_roles(
        session, StaffRole.role == Role.COMMUNITY_ADMIN, StaffRole.community_id == community_id
    )


def notify_channels(session: Session, *, community_id: int, grid_id: int | None) -> Sequence[Any]:
    """Webhooks of the grid, and those of the whole community (no grid)."""

    which: ColumnElement[bool] = NotifyChannel.grid_id.is_(None)
    if grid_id is not None:
        which = or_(which, NotifyChannel.grid_id == grid_id)
    return session.scalars(
        select(NotifyChannel)
        .where(NotifyChannel.community_id == community_id, which)
        .order_by(NotifyChannel.id)
    ).all()


def due_notifications(session: Session, *, now: Any, limit: int) -> Sequence[Any]:
    """Pending rows due by ``now``, locked so two dispatchers never send one twice (PostgreSQL:
    SKIP LOCKED; SQLite serialises writers)."""

    return session.scalars(
        select(Notification)
        .where(Notification.status == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def any_due_notification(session: Session, *, now: Any) -> bool:
    return (
        session.scalar(
            select(Notification.id)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .limit(1)
        )
        is not None
    )


def all_notifications(session: Session) -> list[Notification]:
    """The whole outbox, oldest first (sent, failed and pending)."""
    return list(session.scalars(select(Notification).order_by(Notification.id)))


def pending_of_request(session: Session, *, request_id: int) -> list[Notification]:
    """The request's messages not sent yet."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.request_id == request_id, Notification.status == "pending")
            .order_by(Notification.id)
        )
    )
