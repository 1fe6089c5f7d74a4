"""One demo account per staff role in the demo community, for a newcomer to see every side of
the app (``./dev run``). Development only: refused with RENEWMAP_ENV=prod.

Each start gives every demo account a new random password, printed once by the caller and
never stored in clear; the previous sessions and tokens of those accounts end.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from renewmap.db.queries.accounts import staff_user_by_username
from renewmap.errors import Forbidden
from renewmap.i18n import N_
from renewmap.services.access import accounts
from renewmap.services.ingest.demo import DEMO_COMMUNITY
from renewmap.vocabulary import Role

# (username, display name, role, place, what the account sees: a msgid)
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("demo-grid-lead", "王网格长", Role.GRID_LEAD, f"{DEMO_COMMUNITY}/G07", N_("grid lead of G07")),
    (
        "demo-branch-secretary",
        "李支部书记",
        Role.BRANCH_SECRETARY,
        f"{DEMO_COMMUNITY}-B4",
        N_("secretary of the fourth grid party branch"),
    ),
    (
        "demo-general-secretary",
        "张总支书记",
        Role.BRANCH_SECRETARY,
        f"{DEMO_COMMUNITY}-GB",
        N_("secretary of the general party branch"),
    ),
    (
        "demo-community-admin",
        "赵社区管理员",
        Role.COMMUNITY_ADMIN,
        DEMO_COMMUNITY,
        N_("community admin"),
    ),
    (
        "demo-subdistrict-admin",
        "陈街道管理员",
        Role.SUBDISTRICT_ADMIN,
        DEMO_COMMUNITY[:9],
        N_("subdistrict admin"),
    ),
    ("demo-designer", "刘设计师", Role.DESIGNER, DEMO_COMMUNITY, N_("designer")),
    (
        "demo-group-leader",
        "孙楼组长",
        Role.BUILDING_GROUP_LEADER,
        f"{DEMO_COMMUNITY}-LZ01",
        N_("leader of 1号楼's building party group"),
    ),
    (
        "demo-property",
        "周物业",
        Role.PROPERTY_STAFF,
        f"{DEMO_COMMUNITY}/WY1",
        N_("staff of the property company"),
    ),
    (
        "demo-owners",
        "吴业委会委员",
        Role.OWNERS_COMMITTEE,
        f"{DEMO_COMMUNITY}/YWH1",
        N_("member of the owners' committee"),
    ),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    place: str
    what: str  # a msgid


def ensure_demo_accounts(session: Session, *, env: str) -> list[DemoAccount]:
    """Create the demo accounts that are missing and give each a new password."""
    if env == "prod":
        raise Forbidden(
            "demo accounts are for development only, not with RENEWMAP_ENV=prod",
            key="demo_accounts_in_prod",
        )
    made = []
    for username, display, role, place, what in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        if staff_user_by_username(session, username=username) is None:
            accounts.create_user(
                session,
                username=username,
                password=password,
                display_name=display,
                roles=[(str(role), place)],
            )
        else:
            accounts.set_password(session, username=username, password=password)
        made.append(DemoAccount(username, password, str(role), place, what))
    return made
