"""Design drafts of a micro-renewal site (多稿设计): create, copy, save drawn features with a
version check, and read a draft with its live metrics and rule violations; compare two drafts.

Designers and the community's admins may draw; a draft's features are replaced as a whole on
save (the drawing page sends the full set), so two designers cannot silently overwrite each
other: the save names the version it was drawn on (409 otherwise).
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renewmap.db import queries
from renewmap.db.models import Building, Community, DesignDraft, DesignFeature, Site
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.services.accounts import Principal
from renewmap.spatial import design
from renewmap.spatial.crs import utm_epsg
from renewmap.spatial.geometry import check_geometry, from_db, parse_geojson, to_db, to_geojson

DRAWERS = ("designer", "community_admin")
MAX_FEATURES = 2000
EXPECTED = {
    "zone": ("Polygon", "MultiPolygon"),
    "green": ("Polygon", "MultiPolygon"),
    "plant": ("Point",),
    "path": ("LineString", "MultiLineString"),
    "facility": ("Point", "Polygon", "MultiPolygon"),
    "keep": ("Point", "LineString", "Polygon", "MultiPolygon", "MultiLineString"),
}


def _site(session: Session, community_code: str, site_code: str) -> tuple[Community, Site]:
    community = queries.community_by_code(session, code=community_code)
    site = session.scalar(
        select(Site).where(Site.community_id == community.id, Site.code == site_code)
    )
    if site is None:
        raise NotFound(f"site '{site_code}' not found in {community_code}", field="site")
    return community, site


def _may_draw(principal: Principal, community: Community) -> None:
    for g in principal.roles:
        if g.role in DRAWERS and g.community_id == community.id:
            return
    raise Forbidden(
        f"only the designers and admins of community {community.code} may draw its sites",
        field="community",
    )


def _draft(
    session: Session, principal: Principal, draft_id: int
) -> tuple[DesignDraft, Site, Community]:
    draft = session.get(DesignDraft, draft_id)
    if draft is None:
        raise NotFound(f"draft {draft_id} not found", field="id")
    site = session.get(Site, draft.site_id)
    community = session.get(Community, site.community_id)
    _may_draw(principal, community)
    return draft, site, community


def create_draft(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    name: str,
    copy_from: int | None = None,
) -> dict[str, Any]:
    """A new draft of a site, empty or a copy of another draft of the same site."""
    community, site = _site(session, community_code, site_code)
    _may_draw(principal, community)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("a draft needs a name", field="name")
    source = None
    if copy_from is not None:
        source = session.get(DesignDraft, copy_from)
        if source is None or source.site_id != site.id:
            raise NotFound(f"draft {copy_from} not found for site {site_code}", field="copy_from")
    number = (
        session.scalar(select(func.max(DesignDraft.number)).where(DesignDraft.site_id == site.id))
        or 0
    ) + 1
    draft = DesignDraft(
        site_id=site.id,
        number=number,
        name=name,
        copied_from_id=source.id if source else None,
        created_by=principal.actor,
    )
    session.add(draft)
    session.flush()
    if source is not None:
        for f in _features(session, source.id):
            session.add(
                DesignFeature(draft_id=draft.id, kind=f.kind, props=dict(f.props), geom=f.geom)
            )
        session.flush()
    return view(session, principal=principal, draft_id=draft.id)


def _features(session: Session, draft_id: int) -> list[DesignFeature]:
    return list(
        session.scalars(
            select(DesignFeature)
            .where(DesignFeature.draft_id == draft_id)
            .order_by(DesignFeature.id)
        )
    )


def save_features(
    session: Session,
    *,
    principal: Principal,
    draft_id: int,
    version: int,
    features: dict[str, Any],
) -> dict[str, Any]:
    """Replace the draft's features (all checked first; nothing written on a bad one)."""
    draft, _site_row, _community = _draft(session, principal, draft_id)
    session.refresh(draft, with_for_update=True)
    if draft.version != version:
        raise Conflict(
            f"draft {draft_id} was saved by someone else (now version {draft.version}); reload",
            current={"id": draft.id, "version": draft.version},
        )
    if not isinstance(features, dict) or features.get("type") != "FeatureCollection":
        raise InvalidInput("expected a GeoJSON FeatureCollection", field="features")
    items = features.get("features") or []
    if len(items) > MAX_FEATURES:
        raise InvalidInput(f"at most {MAX_FEATURES} features per draft", field="features")
    rows = []
    for i, f in enumerate(items, start=1):
        props = dict((f or {}).get("properties") or {})
        kind = props.pop("kind", None)
        if kind not in EXPECTED:
            raise InvalidInput(
                f"feature {i}: properties.kind must be one of {', '.join(EXPECTED)}", field="kind"
            )
        geom = parse_geojson((f or {}).get("geometry"), where=f"feature {i}.geometry")
        if geom.geom_type not in EXPECTED[kind]:
            allowed = " or ".join(EXPECTED[kind])
            raise InvalidInput(
                f"feature {i}: a {kind} must be {allowed}, got {geom.geom_type}", field="geometry"
            )
        check_geometry(geom, where=f"feature {i}.geometry")
        rows.append(DesignFeature(draft_id=draft.id, kind=kind, props=props, geom=to_db(geom)))
    for old in _features(session, draft.id):
        session.delete(old)
    session.flush()
    session.add_all(rows)
    draft.version += 1
    session.flush()
    return view(session, principal=principal, draft_id=draft.id)


def _evaluate(
    session: Session, draft: DesignDraft, site: Site, community: Community
) -> tuple[list[design.Feature], dict[str, Any], list[dict[str, Any]]]:
    site_geom = from_db(site.geom)
    c = site_geom.centroid
    epsg = community.metric_epsg or utm_epsg(c.x, c.y)
    feats = [
        design.Feature(str(f.id), f.kind, from_db(f.geom), f.props or {})
        for f in _features(session, draft.id)
    ]
    near = shapely.box(*site_geom.buffer(0.001).bounds)  # buildings within ≈100 m matter
    footprints = (
        (b.number or f"id {b.id}", from_db(b.geom))
        for b in session.scalars(select(Building).where(Building.community_id == community.id))
    )
    walls = [(label, fp) for label, fp in footprints if fp.intersects(near)]
    return (
        feats,
        design.metrics(site_geom, feats, epsg=epsg),
        design.check(site_geom, feats, walls, epsg=epsg),
    )


def view(session: Session, *, principal: Principal, draft_id: int) -> dict[str, Any]:
    """The draft's features, metrics and violations."""
    draft, site, community = _draft(session, principal, draft_id)
    feats, numbers, violations = _evaluate(session, draft, site, community)
    return {
        "id": draft.id,
        "number": draft.number,
        "name": draft.name,
        "version": draft.version,
        "site": {"code": site.code, "name": site.name},
        "copied_from": draft.copied_from_id,
        "features": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": f.id,
                    "geometry": to_geojson(f.geom),
                    "properties": {"kind": f.kind, **dict(f.props)},
                }
                for f in feats
            ],
        },
        "metrics": numbers,
        "violations": violations,
    }


def compare(session: Session, *, principal: Principal, a: int, b: int) -> dict[str, Any]:
    """Two drafts of one site side by side: each one's metrics and the differences."""
    left, right = (
        view(session, principal=principal, draft_id=a),
        view(session, principal=principal, draft_id=b),
    )
    if left["site"]["code"] != right["site"]["code"]:
        raise InvalidInput("compare two drafts of the same site", field="b")
    keys = ("green_area_m2", "green_ratio", "hard_area_m2", "total_cost")
    return {
        "a": left,
        "b": right,
        "difference": {
            k: None
            if left["metrics"][k] is None
            else round(right["metrics"][k] - left["metrics"][k], 4)
            for k in keys
        },
    }
