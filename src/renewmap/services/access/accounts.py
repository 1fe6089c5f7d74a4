"""Staff accounts: passwords (argon2), roles in places, browser sessions and API tokens.

Residents never log in. Staff authenticate with a password once and then carry a random
token: a session cookie in the browser, or a bearer token for scripts. Only SHA-256 hashes of
tokens are stored, so a leaked database holds no usable credential.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.guards import keep_on_error
from renewmap.db.models import AuthToken, PartyBranch, StaffRole, StaffUser, Subdistrict
from renewmap.db.queries.accounts import (
    auth_token_by_hash,
    count_failed_login,
    count_unknown_name_failure,
    lock_account,
    lock_unknown_name,
    revoke_tokens_of,
    staff_user_by_username,
    unknown_name_lock,
)
from renewmap.db.queries.places import (
    branch_subtree_ids,
    building_ids_of_groups,
    community_by_code,
    find_branch,
    find_grid,
    find_organisation,
    find_subdistrict,
    grid_ids_of_branches,
)
from renewmap.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from renewmap.i18n import N_, Msg
from renewmap.services.places import admin_codes
from renewmap.vocabulary import (
    BUILDING_GROUP,
    GENERAL,
    ORG_OWNERS,
    ORG_PROPERTY,
    ROLE_PLACE,
    ROLES,
    Role,
)

SESSION_HOURS = 12
# What an organisation's role needs, in a sentence.
ROLE_ORG_NEEDS = {
    ORG_PROPERTY: N_("a property company"),
    ORG_OWNERS: N_("an owners' committee"),
}
LOCK_AFTER = 5  # failed sign-ins in a row before the account must wait
LOCK_BASE_S = 60  # the first wait; it doubles with every further failure
LOCK_MAX_S = 3600
API_TOKEN_DAYS = 90
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the user does not exist, so a wrong username costs the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-a-real-hash")


@dataclass(frozen=True)
class RoleGrant:
    role: str
    grid_id: int | None = None
    branch_id: int | None = None
    community_id: int | None = None
    subdistrict_id: int | None = None
    org_id: int | None = None


@dataclass(frozen=True)
class Principal:
    """Who is acting: a staff user and every role they hold."""

    user_id: int
    username: str
    display_name: str
    roles: tuple[RoleGrant, ...]

    @property
    def actor(self) -> str:
        """How the user is named in a request's history."""
        return f"{self.display_name} ({self.username})"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            "password must have at least {limit} characters",
            key="password_too_short",
            limit=MIN_PASSWORD,
            field="password",
        )
    return _hasher.hash(password)


def resolve_place(session: Session, *, role: str, place: str) -> RoleGrant:
    """A role in a place named by code: ``community/GRID`` for a grid lead, a branch code, a
    community code, a subdistrict code, or ``community/ORG`` for an organisation's staff.

    A role whose place gives no area is refused, naming why (a secretary of a building group,
    a building group that serves no building yet, a branch without grids…): such an account
    could only ever be told "your account has no area"."""
    if role not in ROLE_PLACE:
        raise InvalidInput(
            "unknown role '{role}'; use one of {roles}",
            key="role_unknown",
            role=role,
            roles=tuple(ROLES),
            field="role",
        )
    kind = ROLE_PLACE[role]
    if kind == "org":
        return _org_grant(session, role, place)
    if kind == "grid":
        community_code, _, grid_code = place.partition("/")
        if not grid_code:
            raise InvalidInput(
                "a grid lead's place is COMMUNITY/GRID (e.g. 310109010026/G07), got '{place}'",
                key="role_place_grid",
                place=place,
                field="place",
            )
        community = community_by_code(session, code=community_code)
        grid = find_grid(session, community_id=community.id, code=grid_code)
        if grid is None:
            raise NotFound(
                "grid '{grid}' not found in {community}",
                key="grid_not_found",
                grid=grid_code,
                community=community.name,
                field="place",
            )
        return RoleGrant(role, grid_id=grid.id)
    if kind == "branch":
        branch = find_branch(session, code=place)
        if branch is None:
            raise NotFound(
                "party branch '{branch}' not found",
                key="branch_not_found",
                branch=place,
                field="place",
            )
        _check_branch_area(session, role, branch)
        return RoleGrant(role, branch_id=branch.id)
    if kind == "community":
        return RoleGrant(role, community_id=community_by_code(session, code=place).id)
    sub = find_subdistrict(session, code=place)
    if sub is None and (official := admin_codes.subdistrict_name(place)) is not None:
        # an official subdistrict with no community yet: its admin is the one to set them up
        sub = Subdistrict(code=place, name=official)
        session.add(sub)
        session.flush()
    if sub is None:
        raise NotFound(
            "subdistrict '{subdistrict}' not found",
            key="subdistrict_not_found",
            subdistrict=place,
            field="place",
        )
    # no community yet is fine: the subdistrict is the area, and its admin sets them up
    return RoleGrant(role, subdistrict_id=sub.id)


def _check_branch_area(session: Session, role: str, branch: PartyBranch) -> None:
    """A branch role must give an area: refused with the reason when it would not."""
    level = names.label(names.BRANCH_LEVELS, branch.level)
    if role == Role.BUILDING_GROUP_LEADER:
        if branch.level != BUILDING_GROUP:
            raise InvalidInput(
                "'{branch}' ({name}) is a {level}, not a building party group: a building "
                "group leader leads a group; grant branch_secretary={branch} to its "
                "secretary instead",
                key="role_branch_not_building_group",
                branch=branch.code,
                name=branch.name,
                level=level,
                field="place",
            )
        if not building_ids_of_groups(session, branch_ids=[branch.id]):
            raise InvalidInput(
                "building group '{branch}' ({name}) serves no building or stairwell yet, so "
                "its leader would have no area; link it to the buildings it serves first "
                "(group_code in the buildings file)",
                key="building_group_without_buildings",
                branch=branch.code,
                name=branch.name,
                field="place",
            )
        return
    if branch.level == BUILDING_GROUP:
        raise InvalidInput(
            "'{branch}' ({name}) is a building party group, which no grid belongs to: grant "
            "building_group_leader={branch} to its leader",
            key="role_branch_is_building_group",
            branch=branch.code,
            name=branch.name,
            field="place",
        )
    if branch.level == GENERAL and branch.community_id is not None:
        return  # the general branch covers its whole community
    subtree = branch_subtree_ids(session, branch_ids=[branch.id])
    if not grid_ids_of_branches(session, branch_ids=sorted(subtree)):
        raise InvalidInput(
            "party branch '{branch}' ({name}) has no grids yet, so its secretary would have "
            "no area; assign grids to it first (branch_code in the grids file)",
            key="branch_without_grids",
            branch=branch.code,
            name=branch.name,
            field="place",
        )


def _org_grant(session: Session, role: str, place: str) -> RoleGrant:
    """``community/ORG``: the organisation must be of the kind the role works for."""
    community_code, _, code = place.partition("/")
    if not code:
        raise InvalidInput(
            "an organisation's place is COMMUNITY/ORG (e.g. 310109010026/WY1), got '{place}'",
            key="role_place_org",
            place=place,
            field="place",
        )
    community = community_by_code(session, code=community_code)
    org = find_organisation(session, community_id=community.id, code=code)
    if org is None:
        raise NotFound(
            "organisation '{org}' not found in {community}",
            key="organisation_not_found",
            org=code,
            community=community.name,
            field="place",
        )
    wanted = ORG_PROPERTY if role == Role.PROPERTY_STAFF else ORG_OWNERS
    if org.kind != wanted:
        raise InvalidInput(
            "this role needs {kind}, and '{org}' ({name}) is not one",
            key="role_org_wrong_kind",
            org=code,
            name=org.name,
            kind=Msg(ROLE_ORG_NEEDS[wanted]),
            role=role,
            field="place",
        )
    return RoleGrant(role, org_id=org.id)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str | None = None,
    email: str | None = None,
    roles: Sequence[tuple[str, str]] = (),
) -> StaffUser:
    """A staff user with roles given as (role, place code) pairs; all-or-nothing."""
    if not USERNAME.match(username):
        raise InvalidInput(
            "username: 2–64 letters, digits or _ . @ - (no spaces)",
            key="username_invalid",
            field="username",
        )
    if staff_user_by_username(session, username=username) is not None:
        raise Conflict(
            "user '{username}' already exists",
            key="user_exists",
            username=username,
            field="username",
        )
    grants = [resolve_place(session, role=r, place=p) for r, p in roles]
    user = StaffUser(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        email=email,
    )
    _add_roles(user, grants)
    session.add(user)
    session.flush()
    return user


def _add_roles(user: StaffUser, grants: list[RoleGrant]) -> None:
    for g in grants:
        user.roles.append(
            StaffRole(
                role=g.role,
                grid_id=g.grid_id,
                branch_id=g.branch_id,
                community_id=g.community_id,
                subdistrict_id=g.subdistrict_id,
                org_id=g.org_id,
            )
        )


def principal_of(user: StaffUser) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=tuple(
            RoleGrant(r.role, r.grid_id, r.branch_id, r.community_id, r.subdistrict_id, r.org_id)
            for r in user.roles
        ),
    )


def check_password(
    session: Session, *, username: str, password: str, now: datetime | None = None
) -> StaffUser:
    """The active user with this password; Unauthenticated (one answer for every failure).

    Failures are counted on the account, in the database (so the count holds whatever
    address the guesses come from, and in every worker): after ``LOCK_AFTER`` in a row the
    account waits ``LOCK_BASE_S`` seconds, doubling with each further failure up to
    ``LOCK_MAX_S``; while it waits, even the right password is refused (429, with the wait).
    A successful sign-in clears the count; ``unlock`` (``renewmap user unlock``) too."""
    now = now or datetime.now(UTC)
    user = staff_user_by_username(session, username=username)
    # a username no account has is counted and made to wait alike: a 429 must not tell
    # which usernames exist
    unknown: str | None = None
    if user is not None:
        locked = user.locked_until
    else:
        unknown = name_hash(username)
        locked = unknown_name_lock(session, name_hash=unknown)
    if locked is not None:
        until = _aware(locked)
        if until > now:
            wait = math.ceil((until - now).total_seconds())
            raise RateLimited(
                "too many failed sign-ins for this account; try again in {retry_after} s "
                "(or ask an admin to unlock it)",
                key="account_locked",
                retry_after=wait,
                field="password",
            )
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        verified = True
    except (VerificationError, InvalidHashError):
        verified = False
    if user is None or not verified or not user.active:
        _count_failure(session, user, unknown, now)
        raise Unauthenticated(
            "wrong username or password", key="wrong_credentials", field="password"
        )
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def lock_delay(failures: int) -> int:
    """Seconds an account waits after ``failures`` failed sign-ins in a row (0: none)."""
    if failures < LOCK_AFTER:
        return 0
    return min(LOCK_BASE_S * 2 ** (failures - LOCK_AFTER), LOCK_MAX_S)


def name_hash(username: str) -> str:
    """How an unknown username's failed sign-ins are kept: never the name itself."""
    return hashlib.sha256(("renewmap-login:" + username).encode()).hexdigest()


def _count_failure(
    session: Session, user: StaffUser | None, unknown: str | None, now: datetime
) -> None:
    """One more failure of an account or of an unknown username (and the wait it brings),
    kept although the request that made it fails."""
    if user is not None:
        delay = lock_delay(count_failed_login(session, user_id=user.id))
        if delay:
            lock_account(session, user_id=user.id, until=now + timedelta(seconds=delay))
    else:
        assert unknown is not None
        delay = lock_delay(count_unknown_name_failure(session, name_hash=unknown))
        if delay:
            lock_unknown_name(session, name_hash=unknown, until=now + timedelta(seconds=delay))
    keep_on_error(session)


def unlock(session: Session, *, username: str) -> None:
    """Clear an account's failed sign-ins and its wait (an admin, at the command line)."""
    user = staff_user_by_username(session, username=username)
    if user is None:
        raise NotFound(
            "user '{username}' not found", key="user_not_found", username=username, field="username"
        )
    user.failed_logins, user.locked_until = 0, None
    session.flush()


def issue_token(
    session: Session, *, user: StaffUser, kind: str, label: str | None = None
) -> tuple[str, AuthToken]:
    """A new random token (returned once; only its hash is kept)."""
    if kind not in ("session", "api"):
        raise InvalidInput(
            "unknown token kind '{kind}'", key="token_kind_unknown", kind=kind, field="kind"
        )
    lifetime = timedelta(hours=SESSION_HOURS) if kind == "session" else timedelta(API_TOKEN_DAYS)
    secret = secrets.token_urlsafe(32)
    row = AuthToken(
        user_id=user.id,
        kind=kind,
        token_hash=token_hash(secret),
        label=label,
        expires_at=datetime.now(UTC) + lifetime,
    )
    session.add(row)
    session.flush()
    return secret, row


def login(session: Session, *, username: str, password: str) -> tuple[str, StaffUser]:
    """Password → a browser session token."""
    user = check_password(session, username=username, password=password)
    secret, _ = issue_token(session, user=user, kind="session")
    return secret, user


def authenticate(session: Session, *, token: str, kind: str) -> Principal:
    """The principal behind a token; Unauthenticated when unknown, expired or revoked."""
    row = auth_token_by_hash(session, token_hash=token_hash(token))
    now = datetime.now(UTC)
    if row is None or row.kind != kind or row.revoked:
        raise Unauthenticated(
            "you are not signed in (unknown or revoked credentials)",
            key="not_signed_in",
            field="token",
        )
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= now:
        raise Unauthenticated(
            "the session has expired; sign in again", key="session_expired", field="token"
        )
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.active:
        raise Forbidden("this account is disabled", key="account_disabled", field="token")
    return principal_of(user)


def revoke(session: Session, *, token: str) -> None:
    row = auth_token_by_hash(session, token_hash=token_hash(token))
    if row is not None:
        row.revoked = True
        session.flush()


def user_by_id(session: Session, *, user_id: int) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("user {id} not found", key="user_id_not_found", id=user_id)
    return user


def grant_roles(session: Session, *, username: str, roles: list[tuple[str, str]]) -> int:
    user = staff_user_by_username(session, username=username)
    if user is None:
        raise NotFound(
            "user '{username}' not found", key="user_not_found", username=username, field="username"
        )
    grants = [resolve_place(session, role=r, place=p) for r, p in roles]
    _add_roles(user, grants)
    session.flush()
    return len(grants)


def set_password(session: Session, *, username: str, password: str) -> None:
    """A new password; every session and token of the user stops working."""
    user = staff_user_by_username(session, username=username)
    if user is None:
        raise NotFound(
            "user '{username}' not found", key="user_not_found", username=username, field="username"
        )
    user.password_hash = hash_password(password)
    revoke_tokens_of(session, user_id=user.id)
    session.flush()


def operator_principal(session: Session, *, community_code: str) -> Principal:
    """The server operator at the command line: a community admin of one community."""
    grant = resolve_place(session, role=Role.COMMUNITY_ADMIN, place=community_code)
    return Principal(user_id=0, username="operator", display_name="operator", roles=(grant,))
