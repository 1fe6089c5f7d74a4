"""What people did together, counted per community and per subdistrict per year: meetings,
attendances at them (人次), proposals (and how many were adopted or became sites), events and
their attendances; and the people on each roster now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Community
from renewmap.db.queries.places import find_subdistrict
from renewmap.db.queries.records import (
    communities_of_subdistrict,
    event_counts,
    meeting_counts,
    proposal_counts,
    roster_counts,
)
from renewmap.errors import NotFound
from renewmap.services.access.accounts import Principal
from renewmap.services.records import access

ADOPTED = ("adopted", "became_site")


def _rows(session: Session, communities: Sequence[Community]) -> dict[int, dict[int, Any]]:
    """community id → year → counts."""
    ids = [c.id for c in communities]
    out: dict[int, dict[int, dict[str, int]]] = {c.id: {} for c in communities}

    def cell(cid: int, year: int) -> dict[str, int]:
        return out[cid].setdefault(
            year,
            {
                "meetings": 0,
                "participants": 0,
                "proposals": 0,
                "adopted": 0,
                "became_site": 0,
                "events": 0,
                "event_attendances": 0,
            },
        )

    for (cid, year), (n, people) in meeting_counts(session, community_ids=ids).items():
        c = cell(cid, year)
        c["meetings"], c["participants"] = n, people
    for (cid, year), (n, people) in event_counts(session, community_ids=ids).items():
        c = cell(cid, year)
        c["events"], c["event_attendances"] = n, people
    for (cid, year, status), n in proposal_counts(session, community_ids=ids).items():
        c = cell(cid, year)
        c["proposals"] += n
        if status in ADOPTED:
            c["adopted"] += n
        if status == "became_site":
            c["became_site"] += n
    return out


def _years(by_year: dict[int, dict[str, int]]) -> list[dict[str, int]]:
    return [{"year": y, **by_year[y]} for y in sorted(by_year, reverse=True)]


def community_counts(
    session: Session, *, principal: Principal, community_code: str
) -> dict[str, Any]:
    community = access.readable_community(session, principal=principal, code=community_code)
    rows = _rows(session, [community])
    return {
        "community": {"code": community.code, "name": community.name},
        "people": roster_counts(session, community_ids=[community.id]).get(community.id, 0),
        "years": _years(rows[community.id]),
    }


def subdistrict_counts(
    session: Session, *, principal: Principal, subdistrict_code: str
) -> dict[str, Any]:
    """Each community of the subdistrict the principal reads, and their sum, per year. A
    subdistrict with none of them is "not found"."""
    sub = find_subdistrict(session, code=subdistrict_code)
    readable = access.records_scope(session, principal).readable
    communities = (
        [c for c in communities_of_subdistrict(session, subdistrict_id=sub.id) if c.id in readable]
        if sub is not None
        else []
    )
    if sub is None or not communities:
        raise NotFound(
            "subdistrict '{code}' not found in your area",
            key="subdistrict_not_in_scope",
            code=subdistrict_code,
            field="subdistrict",
        )
    rows = _rows(session, communities)
    people = roster_counts(session, community_ids=[c.id for c in communities])
    total: dict[int, dict[str, int]] = {}
    for by_year in rows.values():
        for year, counts in by_year.items():
            into = total.setdefault(year, dict.fromkeys(counts, 0))
            for k, v in counts.items():
                into[k] += v
    return {
        "subdistrict": {"code": sub.code, "name": sub.name},
        "communities": [
            {
                "code": c.code,
                "name": c.name,
                "people": people.get(c.id, 0),
                "years": _years(rows[c.id]),
            }
            for c in communities
        ],
        "people": sum(people.values()),
        "years": _years(total),
    }
