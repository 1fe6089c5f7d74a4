"""The expected wait for acceptance from a grid's own record, on both databases: the
community's rule until the grid has enough accepted suggestions of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from renewmap.db.queries.accounts import staff_user_by_username
from renewmap.services.access import accounts
from renewmap.services.access.scope import scope_of
from renewmap.services.requests import expectation, suggestions, workflow
from tests.support.places import add_test_community, pt


def test_the_grids_record_once_there_is_enough(session) -> None:
    ids = add_test_community(session)
    accounts.create_user(
        session,
        username="lead_a",
        password="correct horse battery",
        roles=[("grid_lead", "T0001/A")],
    )
    lead = accounts.principal_of(staff_user_by_username(session, username="lead_a"))
    now = datetime.now(UTC)

    def expected(grid: str) -> expectation.Expectation:
        return expectation.expected_acceptance(
            session, community_id=ids["community"], grid_id=ids[grid], overdue_days=3
        )

    assert (expected("A").basis, expected("A").days) == ("rule", 3)
    for hours in (10, 20, 30, 40, 100):  # accepted after 0.4, 0.8, 1.25, 1.7, 4.2 days
        created = suggestions.create_suggestion(
            session, secret="s", geom=pt(0.5, 0.5), category="lighting", title="灯"
        )
        created.request.events[0].at = now - timedelta(hours=hours + 1)
        session.flush()  # (the step below reads the request afresh, locked)
        workflow.act(
            session,
            principal=lead,
            scope=scope_of(session, lead),
            request_id=created.request.id,
            action="accept",
            version=created.request.version,
        )
        created.request.events[-1].at = now - timedelta(hours=1)
        if hours < 40:
            assert expected("A").basis == "rule"  # fewer than 5: too little to say
    session.flush()
    found = expected("A")
    # 80% of 5 is the 4th wait, 40 hours: within 2 days
    assert (found.basis, found.sample, found.percent, found.days) == ("history", 5, 80, 2)
    assert expected("B").basis == "rule"  # grid B has no record of its own
