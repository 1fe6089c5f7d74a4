"""A grid's monthly report for its meeting: the figures, the open requests, and the layers of
its map (within the caller's scope, like every export). Data only; the page and the offline
file are rendered by ``renewmap.web.report``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from renewmap.services.access.accounts import Principal
from renewmap.services.places.layers import community_layers
from renewmap.services.requests import exports
from renewmap.vocabulary import is_open

REPORT_LAYERS = ("community", "grid", "building", "path", "green")


def grid_report(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    grid_code: str,
    month: date | None = None,
    time_zone: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> dict[str, Any]:
    """One grid's figures for ``month`` (default: this month in the community's time zone),
    its open requests oldest first, and the layers its map is drawn from."""
    zone = ZoneInfo(time_zone)
    now = now or datetime.now(UTC)
    month = month or now.astimezone(zone).date().replace(day=1)
    records = exports.rows(
        session, principal=principal, grid_code=grid_code, community_code=community_code
    )
    layers = community_layers(session, community_code=community_code, kinds=REPORT_LAYERS)
    grid = layers["grid"][layers["grid"]["code"] == grid_code]
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    open_ = [r for r in records if is_open(r["status"])]
    created = [r for r in records if r["created_at"]]
    new_this_month = [r for r in created if _moment(r["created_at"]) >= start]
    return {
        "community_code": community_code,
        "community_name": str(layers["community"]["name"].iloc[0]),
        "grid_code": grid_code,
        "grid_name": str(grid["name"].iloc[0]) if len(grid) else grid_code,
        "grid_bounds": [float(v) for v in grid.total_bounds] if len(grid) else None,
        "month": month,
        "generated_at": now,
        "counts": {
            "open": len(open_),
            "overdue": sum(1 for r in open_ if r["overdue"]),
            "new_this_month": len(new_this_month),
            "all": len(records),
        },
        "open_requests": open_,
        "requests": records,
        "layers": layers,
    }


def _moment(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
