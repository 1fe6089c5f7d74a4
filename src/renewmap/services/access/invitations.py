"""Inviting staff by a one-time link (issue 15): a community's admin names the account and its
role; the invitee opens the link and sets their own password, so no password ever travels.

The account exists from the invitation on, disabled and with an unusable password, holding
its role. The link carries a random token of which only the SHA-256 hash is stored (an
``invite`` token: never a session); it expires after ``INVITE_DAYS`` and works once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import AuthToken, Community, Grid, PartyBranch, StaffUser
from renewmap.db.queries.accounts import (
    auth_token_by_hash,
    delete_rows_of,
    staff_user_by_username,
    tokens_of_kind,
)
from renewmap.db.queries.places import community_by_code
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.i18n import Msg
from renewmap.services.access import accounts
from renewmap.services.access.accounts import Principal
from renewmap.services.places import boundaries
from renewmap.vocabulary import ROLE_PLACE, Role

INVITE = "invite"
INVITE_DAYS = 7
# What a community's admin may invite people to, inside their own community.
INVITABLE = (Role.GRID_LEAD, Role.BRANCH_SECRETARY, Role.COMMUNITY_ADMIN, Role.DESIGNER)


def _place(community_code: str, role: str, place: str | None) -> str:
    """The role's place as resolve_place names it, inside the community."""
    if role not in INVITABLE:
        raise InvalidInput(
            "a community's admin invites a grid lead, a branch secretary, a community admin "
            "or a designer, not '{role}'",
            key="invite_role",
            role=role,
            field="role",
        )
    kind = ROLE_PLACE[role]
    if kind == "grid":
        if not place:
            raise InvalidInput("choose the grid", key="invite_grid_missing", field="place")
        return f"{community_code}/{place}"
    if kind == "branch":
        if not place:
            raise InvalidInput("choose the branch", key="invite_branch_missing", field="place")
        return place
    return community_code


def invite(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    username: str,
    display_name: str,
    role: str,
    place: str | None = None,
) -> dict[str, Any]:
    """A disabled account with its role and a one-time token (returned once) for its link."""
    community = community_by_code(session, code=community_code)
    boundaries.require_admin(session, principal, community)
    where = _place(community.code, role, place)
    grant = accounts.resolve_place(session, role=role, place=where)
    if grant.branch_id is not None:
        branch = session.get(PartyBranch, grant.branch_id)
        if branch is None or branch.community_id != community.id:
            raise Forbidden(
                "party branch '{branch}' is not in community {community}",
                key="invite_branch_elsewhere",
                branch=place,
                community=community.name,
                field="place",
            )
    user = accounts.create_user(
        session,
        username=username,
        password=secrets.token_urlsafe(32),  # never told to anyone: the link sets the real one
        display_name=display_name.strip() or username,
        roles=[(role, where)],
    )
    user.active = False
    return _link(session, user, principal)


def _link(session: Session, user: StaffUser, principal: Principal) -> dict[str, Any]:
    """A new one-time token for the user's invitation (returned once, only its hash kept)."""
    secret = secrets.token_urlsafe(32)
    row = AuthToken(
        user_id=user.id,
        kind=INVITE,
        token_hash=accounts.token_hash(secret),
        label=f"invited by {principal.username}"[:100],
        expires_at=datetime.now(UTC) + timedelta(days=INVITE_DAYS),
    )
    session.add(row)
    session.flush()
    role = next(iter(accounts.principal_of(user).roles)).role
    return {
        "token": secret,
        "username": user.username,
        "display_name": user.display_name,
        "role": Msg(names.ROLE_LABELS[role]),
        "expires_at": row.expires_at,
    }


def _in_community(session: Session, user: StaffUser, community: Community) -> bool:
    """Whether every role the user holds lies in the community (an invitee has one)."""
    grants = accounts.principal_of(user).roles
    for g in grants:
        where = g.community_id
        if g.grid_id is not None:
            grid = session.get(Grid, g.grid_id)
            where = grid.community_id if grid is not None else None
        elif g.branch_id is not None:
            branch = session.get(PartyBranch, g.branch_id)
            where = branch.community_id if branch is not None else None
        if where != community.id:
            return False
    return bool(grants)


def resend(
    session: Session, *, principal: Principal, community_code: str, username: str
) -> dict[str, Any]:
    """A new link for an invitation not yet accepted (lost, expired or never opened): the old
    links stop working, the new one lasts ``INVITE_DAYS``. An account that has set its
    password signs in instead."""
    community = community_by_code(session, code=community_code)
    boundaries.require_admin(session, principal, community)
    user = staff_user_by_username(session, username=username)
    links = tokens_of_kind(session, user_id=user.id, kind=INVITE) if user is not None else []
    if user is None or not links or not _in_community(session, user, community):
        raise NotFound(
            "no invitation for '{username}' in {community}",
            key="invitation_not_found",
            username=username,
            community=community.name,
            field="username",
        )
    if user.active or any(t.revoked for t in links):
        raise Conflict(
            "{username} has accepted the invitation already and signs in with their password",
            key="invitation_accepted",
            username=username,
            field="username",
        )
    delete_rows_of(session, rows=links)  # the old links are unknown from now on
    return _link(session, user, principal)


def _open_invitation(session: Session, token: str) -> tuple[AuthToken, StaffUser]:
    row = auth_token_by_hash(session, token_hash=accounts.token_hash(token))
    if row is None or row.kind != INVITE:
        raise NotFound(
            "this invitation link is not known; ask for a new one",
            key="invitation_unknown",
            field="token",
        )
    if row.revoked:
        raise Forbidden(
            "this invitation link has been used already; sign in with your password",
            key="invitation_used",
            field="token",
        )
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        raise Forbidden(
            "this invitation link has expired; ask for a new one",
            key="invitation_expired",
            field="token",
        )
    user = session.get(StaffUser, row.user_id)
    if user is None:
        raise NotFound(
            "this invitation link is not known; ask for a new one",
            key="invitation_unknown",
            field="token",
        )
    return row, user


def describe(session: Session, *, token: str) -> dict[str, Any]:
    """Who the invitation is for and what they will do (the invitation page shows it)."""
    row, user = _open_invitation(session, token)
    principal = accounts.principal_of(user)
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": [Msg(names.ROLE_LABELS[g.role]) for g in principal.roles],
        "expires_at": row.expires_at,
    }


def accept(session: Session, *, token: str, password: str) -> tuple[str, StaffUser]:
    """Set the invitee's password, enable the account, spend the link; a session token."""
    row, user = _open_invitation(session, token)
    user.password_hash = accounts.hash_password(password)
    user.active = True
    row.revoked = True
    session.flush()
    secret, _ = accounts.issue_token(session, user=user, kind="session")
    return secret, user
