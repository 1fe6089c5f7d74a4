"""Finding a place by the name residents use: "17号楼", a micro-renewal site, a facility, a
grid, a garden. The residents' page searches with it and places its pin at the answer (the way
to place a pin without tapping the map).

Only the community's own data is searched (no online geocoder: the app runs on intranets).
"""

from __future__ import annotations

import re
from typing import Any

import shapely
from sqlalchemy.orm import Session

from renewmap.db.queries.places import community_by_code, named_features
from renewmap.spatial.geometry import from_db

MAX_QUERY = 40
LIMIT = 30
# Kinds in the order a list shows them (what people look for most: their building).
KIND_ORDER = ("building", "site", "facility", "grid", "green", "water", "compound")
_DIGITS = re.compile(r"^\d+$")
_LEADING_NUMBER = re.compile(r"^(\d+)")


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def _rank(name: str, query: str) -> int:
    """0: the very name (or "17" for 17号楼), 1: the name starts with it as a whole number or
    word, 2: starts with it, 3: contains it."""
    n = _normal(name)
    if not query:
        return 3
    if n == query or (_DIGITS.match(query) and n in (f"{query}号楼", f"{query}号")):
        return 0
    if n.startswith(query):
        rest = n[len(query) :]
        return 1 if not (query[-1].isdigit() and rest[:1].isdigit()) else 2
    return 3


def _natural(name: str) -> tuple[int, str]:
    """Buildings numbered 2 before 10."""
    m = _LEADING_NUMBER.match(name)
    return (int(m.group(1)) if m else 10**9, name)


def find_places(
    session: Session, *, community_code: str, q: str | None = None, limit: int = LIMIT
) -> dict[str, Any]:
    """Named places of the community matching ``q`` (all of them, in order, without one):
    each with its kind, name, a point inside it (where a pin goes) and its bounding box.
    ``more``: there were more matches than ``limit``."""
    community = community_by_code(session, code=community_code)
    query = _normal(q or "")[:MAX_QUERY]
    rows = named_features(session, community_id=community.id, text=query or None, limit=limit + 1)
    seen: set[tuple[str, int]] = set()
    found = []
    for kind, fid, name, wkb in rows:
        if (kind, fid) in seen:  # a building found by both its number and its name
            continue
        seen.add((kind, fid))
        found.append((kind, fid, name, wkb))
    found.sort(key=lambda r: (_rank(r[2], query), KIND_ORDER.index(r[0]), _natural(r[2]), r[1]))
    places = []
    for kind, fid, name, wkb in found[:limit]:
        geom = from_db(wkb)
        point = geom if isinstance(geom, shapely.Point) else shapely.point_on_surface(geom)
        places.append(
            {
                "kind": kind,
                "id": fid,
                "name": name,
                "lon": round(float(point.x), 7),
                "lat": round(float(point.y), 7),
                "bbox": [round(float(v), 7) for v in geom.bounds],
            }
        )
    return {"places": places, "more": len(found) > limit}
