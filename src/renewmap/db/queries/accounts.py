"""Staff accounts: users, roles and their tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from renewmap.db.models import (
    AuthToken,
    StaffUser,
)


def staff_user_by_username(session: Session, *, username: str) -> Any:
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def auth_token_by_hash(session: Session, *, token_hash: str) -> Any:
    return session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash))


def revoke_tokens_of(session: Session, *, user_id: int) -> None:
    session.execute(update(AuthToken).where(AuthToken.user_id == user_id).values(revoked=True))
