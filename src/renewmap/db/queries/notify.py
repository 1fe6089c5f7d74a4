"""Notifications: who is told (e-mails of leads and admins, webhooks) and the queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
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


def org_staff_emails(session: Session, *, org_id: int) -> list[str]:
    """The property company's staff (what is handed to the company reaches them)."""
    return _emails_of_roles(
        session, StaffRole.role == Role.PROPERTY_STAFF, StaffRole.org_id == org_id
    )


def group_leader_emails(session: Session, *, building_id: int) -> list[str]:
    """The leaders of the building groups serving a building."""
    from renewmap.db.models import BuildingGroupPlace

    groups = select(BuildingGroupPlace.branch_id).where(
        BuildingGroupPlace.building_id == building_id
    )
    return _emails_of_roles(
        session,
        StaffRole.role == Role.BUILDING_GROUP_LEADER,
        StaffRole.branch_id.in_(groups),
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


def _due(now: Any) -> ColumnElement[bool]:
    """Pending and due, or claimed by a sender whose lease ran out."""
    return or_(
        and_(Notification.status == "pending", Notification.next_attempt_at <= now),
        and_(Notification.status == "sending", Notification.lease_until < now),
    )


def claimable_notifications(
    session: Session, *, now: Any, limit: int, channels: list[str], busy_targets: list[str]
) -> Sequence[Notification]:
    """Due rows of ``channels`` (not to ``busy_targets``), oldest due first, locked for the
    caller's transaction: PostgreSQL skips rows another sender holds (FOR UPDATE SKIP
    LOCKED); SQLite's write transaction (BEGIN IMMEDIATE) already excludes other senders."""
    query = (
        select(Notification)
        .where(_due(now), Notification.channel.in_(channels))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if busy_targets:
        query = query.where(Notification.target.not_in(busy_targets))
    return session.scalars(query).all()


def settle_notification(
    session: Session, *, notification_id: int, worker: str, values: dict[str, Any]
) -> bool:
    """Set ``values`` on a row if ``worker`` still holds its claim; whether it did."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.claimed_by == worker,
            Notification.status == "sending",
        )
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))


def any_due_notification(session: Session, *, now: Any, channels: list[str] | None = None) -> bool:
    query = select(Notification.id).where(_due(now)).limit(1)
    if channels is not None:
        query = query.where(Notification.channel.in_(channels))
    return session.scalar(query) is not None


def outbox_state(session: Session, *, now: Any) -> dict[str, tuple[int, float]]:
    """Per channel: messages waiting (pending or being sent) and the age in seconds of the
    oldest of them (for the metrics)."""
    rows = session.execute(
        select(Notification.channel, func.count(), func.min(Notification.created_at))
        .where(Notification.status.in_(("pending", "sending")))
        .group_by(Notification.channel)
    ).all()
    out = {}
    for channel, n, oldest in rows:
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        out[str(channel)] = (int(n), (now - oldest).total_seconds() if oldest else 0.0)
    return out


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
