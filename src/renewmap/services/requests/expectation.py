"""How long a new suggestion can expect to wait for its grid to accept it, told to the resident
before they submit (and on the receipt).

Decided from the grid's own record when it has one: of the waits that ended in an acceptance
in the last ``WINDOW_DAYS`` days (from the suggestion's creation, its transfer into the grid
or its reopening, to the accept), the time within which ``PERCENT`` % were accepted, in whole
days rounded up. With fewer than ``MIN_SAMPLE`` such waits the record says too little, and the
answer is the community's rule instead: ``RENEWMAP_OVERDUE_DAYS`` (a suggestion not accepted
by then is flagged overdue in the grid's workspace).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from renewmap.db.queries.requests import acceptance_history
from renewmap.vocabulary import EventKind

WINDOW_DAYS = 180
MIN_SAMPLE = 5
PERCENT = 80
_STARTS = (EventKind.CREATED, EventKind.TRANSFER, EventKind.REOPEN)


@dataclass(frozen=True)
class Expectation:
    days: int
    basis: Literal["history", "rule"]
    sample: int  # waits the history is made of (0 with the rule)
    percent: int | None  # with the history: this share was accepted within ``days``
    window_days: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "basis": self.basis,
            "sample": self.sample,
            "percent": self.percent,
            "window_days": self.window_days,
        }


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def waits(rows: Any, *, since: datetime) -> list[timedelta]:
    """Each wait that ended in an acceptance at or after ``since``, from the ordered
    (request, kind, at) rows."""
    out: list[timedelta] = []
    start: datetime | None = None
    current: int | None = None
    for request_id, kind, at in rows:
        if request_id != current:
            current, start = request_id, None
        if kind in _STARTS:
            start = _aware(at)
        elif kind == EventKind.ACCEPT and start is not None:
            if _aware(at) >= since:
                out.append(max(_aware(at) - start, timedelta(0)))
            start = None
    return out


def percentile_days(values: list[timedelta], percent: int) -> int:
    """Whole days (at least 1) within which ``percent`` % of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return max(1, math.ceil(ordered[rank - 1].total_seconds() / 86400))


def expected_acceptance(
    session: Session,
    *,
    community_id: int,
    grid_id: int | None,
    overdue_days: int,
    now: datetime | None = None,
) -> Expectation:
    """The wait to tell a resident whose suggestion goes to this grid (or, ``grid_id`` None,
    to the community's general branch)."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=WINDOW_DAYS)
    recent = waits(
        acceptance_history(session, community_id=community_id, grid_id=grid_id, since=since),
        since=since,
    )
    if len(recent) < MIN_SAMPLE:
        return Expectation(overdue_days, "rule", 0, None, WINDOW_DAYS)
    return Expectation(
        percentile_days(recent, PERCENT), "history", len(recent), PERCENT, WINDOW_DAYS
    )
