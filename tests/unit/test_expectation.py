"""The expected wait for acceptance told to a resident before they post: the waits read from a
grid's history, and the whole days within which a share of them ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from renewmap.services.requests import expectation


def test_waits_are_read_from_the_history() -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    day = timedelta(days=1)
    rows = [
        (1, "created", t0),
        (1, "accept", t0 + 2 * day),  # 2 days
        (2, "created", t0),
        (2, "accept", t0 + timedelta(hours=30)),  # 1.25 days
        (3, "created", t0),
        (3, "transfer", t0 + 5 * day),  # its clock restarts in the new grid
        (3, "accept", t0 + 6 * day),  # 1 day
        (4, "created", t0 - 400 * day),
        (4, "accept", t0 - 399 * day),  # before the window: not counted
        (5, "created", t0),
        (5, "accept", t0 + day),  # 1 day
        (5, "reopen", t0 + 10 * day),
        (5, "accept", t0 + 13 * day),  # 3 days after its reopening
    ]
    waits = expectation.waits(rows, since=t0 - 180 * day)
    assert sorted(w.total_seconds() / 86400 for w in waits) == [1, 1, 1.25, 2, 3]


def test_the_days_within_which_a_share_was_accepted() -> None:
    # nearest rank: 80% of 5 waits is the 4th; 3.1 days round up to 4
    values = [timedelta(days=d) for d in (0.5, 1, 2, 3.1, 9)]
    assert expectation.percentile_days(values, 80) == 4
    assert expectation.percentile_days(values, 100) == 9
    assert expectation.percentile_days([timedelta(minutes=5)], 80) == 1  # at least one day
