"""The town's (subdistrict's) view across its communities: per community its open, overdue
and resolved requests with the median days to resolve, how its branches kept this month's
patrol, its micro-renewal sites by step of their process, and its outline for a map coloured
by open requests. For the subdistrict's admins.

Meetings held, this month and this year so far: the community's deliberations (四议共答) and
the steps of its sites' processes that are meetings (the two 联席会), by the day they were held
and the meetings of the records' register (issue 18; a register meeting that is a site's
联席会 step is counted once).
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from renewmap.db.models import Subdistrict
from renewmap.db.queries.places import (
    communities_of_subdistrict,
    find_subdistrict,
    sites_by_stage,
)
from renewmap.db.queries.requests import (
    meetings_held,
    request_counts_by_community,
    resolution_times_by_community,
)
from renewmap.errors import Forbidden, NotFound
from renewmap.services.access.accounts import Principal
from renewmap.services.requests.patrols import compliance
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.vocabulary import Role

# The steps of a site's participatory process that are meetings (联席会讨论, 联席会).
MEETING_STAGES = ("joint_meeting", "final_joint_meeting")


def subdistricts_of(session: Session, principal: Principal) -> list[Subdistrict]:
    """The subdistricts the principal administers."""
    out = []
    for g in principal.roles:
        if g.role == Role.SUBDISTRICT_ADMIN and g.subdistrict_id is not None:
            sub = session.get(Subdistrict, g.subdistrict_id)
            if sub is not None and sub not in out:
                out.append(sub)
    return out


def overview(
    session: Session,
    *,
    principal: Principal,
    subdistrict_code: str | None = None,
    overdue_days: int = 3,
    time_zone: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Every community of the subdistrict with its figures (its admins only)."""
    mine = subdistricts_of(session, principal)
    if subdistrict_code is None:
        if not mine:
            raise Forbidden(
                "the town's overview is for its subdistrict's admins",
                key="town_admins_only",
                field="subdistrict",
            )
        sub = mine[0]
    else:
        found = find_subdistrict(session, code=subdistrict_code)
        if found is None:
            raise NotFound(
                "subdistrict '{subdistrict}' not found",
                key="subdistrict_not_found",
                subdistrict=subdistrict_code,
                field="subdistrict",
            )
        if found not in mine:
            raise Forbidden(
                "{subdistrict} is not yours: its admins see its overview",
                key="subdistrict_not_yours",
                subdistrict=found.name,
                field="subdistrict",
            )
        sub = found
    now = now or datetime.now(UTC)
    today = now.astimezone(ZoneInfo(time_zone)).date()
    month = today.replace(day=1)
    communities = communities_of_subdistrict(session, subdistrict_id=sub.id)
    ids = [c.id for c in communities]
    counts = request_counts_by_community(
        session,
        community_ids=ids,
        unaccepted_before=now - timedelta(days=overdue_days),
        today=today,
    )
    times = resolution_times_by_community(session, community_ids=ids)
    stages = sites_by_stage(session, community_ids=ids)
    held = {
        period: meetings_held(
            session, community_ids=ids, stages=MEETING_STAGES, start=start, end=today
        )
        for period, start in (("month", month), ("year", today.replace(month=1, day=1)))
    }
    rows = []
    for c in communities:
        n = counts.get(c.id, {})
        days = [
            (_aware(done) - _aware(made)).total_seconds() / 86400
            for made, done in times.get(c.id, [])
        ]
        rows.append(
            {
                "community": {"code": c.code, "name": c.name},
                "top_level": c.top_level,
                "open": n.get("open", 0),
                "overdue": n.get("overdue", 0),
                "resolved": n.get("resolved", 0),
                "median_days_to_resolve": round(statistics.median(days), 1) if days else None,
                "patrols": compliance(session, community=c, month=month, today=today),
                "sites": stages.get(c.id, {}),
                "meetings": {period: n.get(c.id, 0) for period, n in held.items()},
                "geometry": to_geojson(from_db(c.geom)),
            }
        )
    return {
        "subdistrict": {"code": sub.code, "name": sub.name},
        "month": f"{month:%Y-%m}",
        "communities": rows,
        # the map data's sources (OpenStreetMap's ODbL notice…), each once
        "attributions": sorted({c.attribution for c in communities if c.attribution}),
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
