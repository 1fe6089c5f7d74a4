"""Read use cases for places: communities and their layers as GeoJSON."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Community
from renewmap.db.queries.places import (
    community_by_code,
    list_communities,
    public_community_by_code,
)
from renewmap.errors import NotFound
from renewmap.services.places.layers import LAYER_KINDS, community_layers
from renewmap.spatial.geometry import from_db, to_geojson


def _summary(c: Community) -> dict[str, Any]:
    g = from_db(c.geom)
    sub = c.subdistrict
    return {
        "code": c.code,
        "name": c.name,
        "subdistrict": {"code": sub.code, "name": sub.name, "level": "subdistrict"}
        if sub
        else None,
        "bbox": tuple(round(v, 7) for v in g.bounds),
        "grid_set_version": c.grid_set_version,
        "layers": list(PUBLIC_LAYER_KINDS),
        "attribution": c.attribution,
    }


def communities(session: Session, *, include_setup: bool = False) -> list[dict[str, Any]]:
    """The communities residents see (none still being set up, unless ``include_setup``: the
    operator's list, each with its state)."""
    return [
        {**_summary(c), "state": c.state} if include_setup else _summary(c)
        for c in list_communities(session, published_only=not include_setup)
    ]


def published(session: Session, *, code: str) -> Community:
    """A community residents may see: one still being set up is not found (404), as if it
    did not exist yet."""
    return public_community_by_code(session, code=code)


def community(session: Session, *, code: str) -> dict[str, Any]:
    return _summary(published(session, code=code))


def site_version(session: Session, *, code: str) -> tuple[int, int]:
    """What a community's site plan is drawn from, as versions: (site, grid set).

    A page cache keyed on these can never serve an outdated plan.
    """
    c = published(session, code=code)
    return (c.site_version or 1, c.grid_set_version or 1)


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


# Residents' requests carry contact details: they are published only through the suggestions
# API (public fields, hidden ones left out) and to staff within their scope.
PUBLIC_LAYER_KINDS = tuple(k for k in LAYER_KINDS if k != "request")


def layer_geojson(session: Session, *, community_code: str, kind: str) -> dict[str, Any]:
    """One public layer as a GeoJSON FeatureCollection (RFC 7946)."""
    if kind == "request":
        raise NotFound(
            "requests are not a public layer: use /api/communities/{code}/suggestions "
            "(public fields) or the staff API (your area)",
            key="requests_not_public_layer",
            code=community_code,
            field="kind",
        )
    published(session, code=community_code)
    frame = community_layers(session, community_code=community_code, kinds=(kind,))[kind]
    features = []
    props_cols = [c for c in frame.columns if c not in ("geometry", "id")]
    for _, row in frame.iterrows():
        features.append(
            {
                "type": "Feature",
                "id": int(row["id"]),
                "geometry": to_geojson(row.geometry),
                "properties": {c: _clean(row[c]) for c in props_cols},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def community_row(session: Session, *, code: str) -> Community:
    """The community itself (404 if unknown)."""
    return community_by_code(session, code=code)


def branch_names(session: Session, *, code: str) -> dict[str, str]:
    """The community's party branches: code → name."""
    from renewmap.db.queries.places import branches_of_community

    community = community_by_code(session, code=code)
    return {b.code: b.name for b in branches_of_community(session, community_id=community.id)}
