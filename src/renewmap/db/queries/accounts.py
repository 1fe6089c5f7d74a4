"""Staff accounts: users, roles and their tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from renewmap.db.models import (
    AuthToken,
    LoginFailure,
    StaffUser,
)


def staff_user_by_username(session: Session, *, username: str) -> Any:
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def auth_token_by_hash(session: Session, *, token_hash: str) -> Any:
    return session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash))


def revoke_tokens_of(session: Session, *, user_id: int) -> None:
    session.execute(update(AuthToken).where(AuthToken.user_id == user_id).values(revoked=True))


def tokens_of_kind(session: Session, *, user_id: int, kind: str) -> list[Any]:
    """The user's tokens of one kind (an invitation's links), oldest first."""
    return list(
        session.scalars(
            select(AuthToken)
            .where(AuthToken.user_id == user_id, AuthToken.kind == kind)
            .order_by(AuthToken.id)
        )
    )


def delete_rows_of(session: Session, *, rows: list[Any]) -> None:
    for row in rows:
        session.delete(row)
    session.flush()


def count_failed_login(session: Session, *, user_id: int) -> int:
    """One more failed sign-in, counted in SQL (parallel guesses each count); the new count."""
    return int(
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == user_id)
            .values(failed_logins=StaffUser.failed_logins + 1)
            .returning(StaffUser.failed_logins)
        ).scalar_one()
    )


def lock_account(session: Session, *, user_id: int, until: datetime) -> None:
    session.execute(update(StaffUser).where(StaffUser.id == user_id).values(locked_until=until))


def unknown_name_lock(session: Session, *, name_hash: str) -> datetime | None:
    """Until when sign-ins with this unknown username wait (None: they do not)."""
    return session.scalar(
        select(LoginFailure.locked_until).where(LoginFailure.name_hash == name_hash)
    )


def count_unknown_name_failure(session: Session, *, name_hash: str) -> int:
    """One more failed sign-in with this unknown username, counted in SQL; the new count."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = LoginFailure.__table__
    return int(
        session.execute(
            insert(table)
            .values(name_hash=name_hash, failures=1)
            .on_conflict_do_update(
                index_elements=[table.c.name_hash], set_={"failures": table.c.failures + 1}
            )
            .returning(table.c.failures)
        ).scalar_one()
    )


def lock_unknown_name(session: Session, *, name_hash: str, until: datetime) -> None:
    session.execute(
        update(LoginFailure).where(LoginFailure.name_hash == name_hash).values(locked_until=until)
    )
