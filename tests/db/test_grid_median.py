"""The median days to resolve per grid, computed in the database (percentile_cont on PostGIS,
window functions on SpatiaLite): known answers on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import true

from renewmap.db.queries.requests import grid_stat_rows, resolution_medians
from renewmap.services.requests.intake import create_request
from renewmap.vocabulary import Status
from tests.support.places import add_test_community, pt

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _request(session, grid_id, *, days: float | None, status: str = Status.RESOLVED, at=START):
    request, _owner = create_request(session, geom=pt(0.5, 0.5), category="lighting", title="灯")
    request.grid_id = grid_id
    request.status = status
    request.created_at = at
    request.resolved_at = at + timedelta(days=days) if days is not None else None
    return request


@pytest.fixture
def places(session):
    return add_test_community(session)


def medians(session, community_id):
    got = resolution_medians(
        session, in_scope=true(), community_id=community_id, resolved=Status.RESOLVED
    )
    return {gid: round(m, 6) for gid, m in got.items()}


def test_median_days_to_resolve_per_grid(session, places) -> None:
    a, b = places["A"], places["B"]
    # grid A: an even count, unsorted, with hours → the mean of the two middle spans
    for days in (10, 1, 3.5, 2):
        _request(session, a, days=days)
    # grid B: an odd count; one created in another month; not resolved ones do not count
    for i, days in enumerate((7, 0.25, 4)):
        _request(session, b, days=days, at=START + timedelta(days=31 * i, hours=i))
    _request(session, b, days=None, status=Status.ACCEPTED)
    _request(session, b, days=100, status=Status.ACCEPTED)  # reopened: resolved_at kept, open
    # no grid: one request
    _request(session, None, days=1.5)
    session.flush()
    assert medians(session, places["community"]) == {a: 2.75, b: 4.0, None: 1.5}
    # the grid statistics' own query (one scan on PostGIS) gives the same medians
    rows = grid_stat_rows(
        session,
        in_scope=true(),
        community_id=places["community"],
        overdue_before=START,
        unaccepted=[Status.NEW],
        resolved=Status.RESOLVED,
    )
    got = {gid: (resolved, round(median, 6)) for gid, _n, _o, _l, resolved, _s, median in rows}
    assert got == {a: (4, 2.75), b: (3, 4.0), None: (1, 1.5)}


def test_no_resolved_request_has_no_median(session, places) -> None:
    _request(session, places["A"], days=None, status=Status.NEW)
    session.flush()
    assert medians(session, places["community"]) == {}


def test_scope_limits_the_rows_counted(session, places) -> None:
    from renewmap.db.models import Request

    a = places["A"]
    for days in (1, 2, 30):
        _request(session, a, days=days)
    session.flush()
    got = resolution_medians(
        session,
        in_scope=Request.title == "灯",
        community_id=places["community"],
        resolved=Status.RESOLVED,
    )
    assert got == {a: pytest.approx(2.0)}
    none = resolution_medians(
        session,
        in_scope=Request.title == "别的",
        community_id=places["community"],
        resolved=Status.RESOLVED,
    )
    assert none == {}
