"""The participation records' test world (issue 18), shared by the records' test modules:
community T0001 (site S1, a request in grid A) and T0002 in the same subdistrict T00, and staff
of each kind with API tokens."""

from __future__ import annotations

from typing import Any

from shapely.geometry import box

from renewmap.db.models import Community, Request, Site, Subdistrict
from renewmap.services.access import accounts
from renewmap.spatial.geometry import as_multi, to_db
from tests.support.places import add_test_community, m2w, pt

STAFF = (
    ("admin", "community_admin=T0001"),
    ("secretary", "branch_secretary=T-GB"),
    ("lead_a", "grid_lead=T0001/A"),
    ("designer", "designer=T0001"),
    ("admin2", "community_admin=T0002"),
    ("demo_admin", "community_admin=310109010026"),
    ("sub", "subdistrict_admin=T00"),
)
PASSWORD = "correct horse battery"


def records_world(session: Any) -> tuple[dict[str, dict[str, str]], int]:
    """Build the world in ``session``: the staff's bearer headers by name, and the request's id."""
    add_test_community(session)
    t1 = session.query(Community).filter_by(code="T0001").one()
    sub = session.query(Subdistrict).filter_by(code="T00").one()
    t2 = Community(
        code="T0002",
        name="第二社区",
        subdistrict_id=sub.id,
        geom=to_db(as_multi(m2w(box(0, 2, 1, 3)))),
    )
    session.add(t2)
    site = Site(
        community_id=t1.id,
        code="S1",
        name="睦邻花园",
        geom=to_db(as_multi(m2w(box(0.5, 0.2, 0.8, 0.4)))),
    )
    session.add(site)
    request = Request(
        community_id=t1.id,
        category="greenery",
        title="中心花园设施老旧",
        route_rule="inside",
        geom=to_db(pt(0.5, 0.5)),
    )
    session.add(request)
    session.flush()
    headers = {}
    for name, role in STAFF:
        user = accounts.create_user(
            session, username=name, password=PASSWORD, roles=[tuple(role.split("=", 1))]
        )
        token, _ = accounts.issue_token(session, user=user, kind="api")
        headers[name] = {"Authorization": f"Bearer {token}"}
    return headers, request.id
