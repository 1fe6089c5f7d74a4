"""Design drafts of a micro-renewal site (多稿设计): create, copy, save drawn features with a
version check, and read a draft with its live metrics and rule violations; compare two drafts.

Designers and the community's admins may draw; a draft's features are replaced as a whole on
save (the drawing page sends the full set), so two designers cannot silently overwrite each
other: the save names the version it was drawn on (409 otherwise).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from renewmap import names, validation
from renewmap.db.models import (
    Community,
    DesignDraft,
    DesignFeature,
    DraftRequest,
    Facility,
    GreenArea,
    Path,
    Plant,
    Site,
    Water,
)
from renewmap.db.queries.design import (
    adopted_request_titles,
    adopting_drafts,
    draft_feature_rows,
    draft_links,
    drafts_of_site,
    next_draft_number,
    site_layer_rows,
)
from renewmap.db.queries.places import (
    communities_by_ids,
    community_buildings_near,
    community_by_code,
)
from renewmap.db.queries.requests import request_ids_of_community, site_request_candidates
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.i18n import Alternatives, Msg, Sentences, rendered
from renewmap.services.access.accounts import Principal
from renewmap.services.design.process import require_process_runner, require_runner, site_of
from renewmap.spatial import design
from renewmap.spatial.crs import metres_to_degrees
from renewmap.spatial.geometry import check_geometry, from_db, parse_geojson, to_db, to_geojson
from renewmap.vocabulary import DESIGN_ROLES, metric_epsg

MAX_FEATURES = 2000
EXPECTED = {
    "zone": ("Polygon", "MultiPolygon"),
    "green": ("Polygon", "MultiPolygon"),
    "plant": ("Point",),
    "path": ("LineString", "MultiLineString"),
    "facility": ("Point", "Polygon", "MultiPolygon"),
    "water": ("Polygon", "MultiPolygon"),
    "keep": ("Point", "LineString", "Polygon", "MultiPolygon", "MultiLineString"),
}


def _may_draw(principal: Principal, community: Community) -> None:
    require_runner(principal, community)


def _draft(
    session: Session, principal: Principal, draft_id: int
) -> tuple[DesignDraft, Site, Community]:
    draft = session.get(DesignDraft, draft_id)
    if draft is None:
        raise NotFound("draft {id} not found", key="draft_not_found", id=draft_id, field="id")
    site = session.get_one(Site, draft.site_id)
    community = session.get_one(Community, site.community_id)
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
    from_site: bool = False,
) -> dict[str, Any]:
    """A new draft of a site: empty, a copy of another draft of the same site, or (with
    ``from_site``) the site as it is now, from its imported layers."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    _may_draw(principal, community)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("a draft needs a name", key="draft_name_missing", field="name")
    source = None
    if copy_from is not None:
        source = session.get(DesignDraft, copy_from)
        if source is None or source.site_id != site.id:
            raise NotFound(
                "draft {id} not found for site {site}",
                key="draft_source_not_found",
                id=copy_from,
                site=site.name or site_code,
                field="copy_from",
            )
    number = next_draft_number(session, site_id=site.id)
    draft = DesignDraft(
        site_id=site.id,
        number=number,
        name=name,
        copied_from_id=source.id if source else None,
        created_by=principal.actor,
    )
    session.add(draft)
    session.flush()
    if from_site and source is None:
        session.add_all(
            DesignFeature(draft_id=draft.id, kind=kind, props=props, geom=geom)
            for kind, props, geom in _site_layers(session, site)
        )
        session.flush()
    if source is not None:
        for f in draft_feature_rows(session, draft_id=source.id):
            session.add(
                DesignFeature(draft_id=draft.id, kind=f.kind, props=dict(f.props), geom=f.geom)
            )
        session.flush()
    return view(session, principal=principal, draft_id=draft.id)


def _site_layers(session: Session, site: Site) -> list[tuple[str, dict[str, Any], Any]]:
    """The site's current green areas, plants, paths, facilities and water as draft features."""

    def clean(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if v not in (None, "")}

    out: list[tuple[str, dict[str, Any], Any]] = []
    for g in site_layer_rows(session, model=GreenArea, site_id=site.id):
        out.append(
            ("green", clean({"name": g.name, "layer": g.layer, "species": g.species}), g.geom)
        )
    for p in site_layer_rows(session, model=Plant, site_id=site.id):
        props = {"name": p.name, "species": p.species, "layer": p.layer, "plant_id": p.id}
        out.append(("plant", clean(props), p.geom))
    for w in site_layer_rows(session, model=Path, site_id=site.id):
        props = {"name": w.name, "width_m": w.width_m, "surface": w.surface, "purpose": w.purpose}
        out.append(("path", clean(props), w.geom))
    for f in site_layer_rows(session, model=Facility, site_id=site.id):
        kind = "facility" if from_db(f.geom).geom_type in EXPECTED["facility"] else "keep"
        out.append((kind, clean({"name": f.name, "type": f.kind}), f.geom))
    for w in site_layer_rows(session, model=Water, site_id=site.id):
        out.append(("water", clean({"name": w.name}), w.geom))
    return out


def site_features(session: Session, site: Site) -> list[design.Feature]:
    """The site as it is now (its layers) as design features: what drafts are compared with."""
    return [
        design.Feature(f"site-{i}", kind, from_db(geom), props)
        for i, (kind, props, geom) in enumerate(_site_layers(session, site), start=1)
    ]


def save_features(
    session: Session,
    *,
    principal: Principal,
    draft_id: int,
    version: int,
    features: dict[str, Any],
) -> dict[str, Any]:
    """Replace the draft's features (all checked first; nothing written on a bad one)."""
    draft = _current_draft(session, principal, draft_id, version)
    return _write(session, principal, draft, parse_features(features))


def replace_features(
    session: Session,
    *,
    principal: Principal,
    draft_id: int,
    version: int,
    features: list[design.Feature],
) -> dict[str, Any]:
    """Replace the draft's features with already checked ones (imports)."""
    draft = _current_draft(session, principal, draft_id, version)
    return _write(session, principal, draft, features)


def _current_draft(
    session: Session, principal: Principal, draft_id: int, version: int
) -> DesignDraft:
    """The draft, locked, if ``version`` is still its version (409 otherwise)."""
    draft, _site_row, _community = _draft(session, principal, draft_id)
    session.refresh(draft, with_for_update=True)
    if draft.version != version:
        raise Conflict(
            "draft {number} was saved by someone else (now version {version}); reload",
            key="draft_version_conflict",
            number=draft.number,
            version=draft.version,
            current={"id": draft.id, "version": draft.version},
        )
    return draft


def _write(
    session: Session, principal: Principal, draft: DesignDraft, features: list[design.Feature]
) -> dict[str, Any]:
    rows = [
        DesignFeature(draft_id=draft.id, kind=f.kind, props=f.props, geom=to_db(f.geom))
        for f in features
    ]
    for old in draft_feature_rows(session, draft_id=draft.id):
        session.delete(old)
    session.flush()
    session.add_all(rows)
    draft.version += 1
    session.flush()
    return view(session, principal=principal, draft_id=draft.id)


def _at(source: str | None, number: int | None = None, geometry: bool = False) -> Msg:
    """Where a problem is: the drawn features (or an imported file), one feature, its
    geometry."""
    if number is None:
        return Msg("file '{file}'", file=source) if source else Msg("the features")
    if geometry:
        if source:
            return Msg("file '{file}', feature {n}, geometry", file=source, n=number)
        return Msg("feature {n}, geometry", n=number)
    if source:
        return Msg("file '{file}', feature {n}", file=source, n=number)
    return Msg("feature {n}", n=number)


def parse_features(features: Any, *, source: str | None = None) -> list[design.Feature]:
    """Check a FeatureCollection of drawn features (kind, geometry type, validity) and return
    them; the first problem raises, naming the feature (and the file ``source``, if any). Ids
    are the features' own or 1, 2, …"""
    if not isinstance(features, dict) or features.get("type") != "FeatureCollection":
        raise InvalidInput(
            "{where}: expected a GeoJSON FeatureCollection",
            key="features_not_collection",
            where=_at(source),
            field="features",
        )
    items = features.get("features") or []
    if not isinstance(items, list):
        raise InvalidInput(
            "{where}: features must be a list",
            key="features_not_list",
            where=_at(source),
            field="features",
        )
    if len(items) > MAX_FEATURES:
        raise InvalidInput(
            "{where}: at most {limit} features per draft",
            key="features_too_many",
            where=_at(source),
            limit=MAX_FEATURES,
            field="features",
        )
    out = []
    for i, f in enumerate(items, start=1):
        if not isinstance(f, dict):
            raise InvalidInput(
                "{where} is not a GeoJSON Feature",
                key="feature_not_feature",
                where=_at(source, i),
                n=i,
                field="features",
            )
        props = validation.properties(f.get("properties"), where=str(_at(source, i)))
        kind = props.pop("kind", None)
        if kind not in EXPECTED:
            raise InvalidInput(
                "{where}: properties.kind must be one of {kinds}",
                key="feature_kind_unknown",
                where=_at(source, i),
                n=i,
                kinds=tuple(EXPECTED),
                field="kind",
            )
        geom = parse_geojson(f.get("geometry"), where=_at(source, i, geometry=True))
        if geom.geom_type not in EXPECTED[kind]:
            raise InvalidInput(
                "{where}: a {kind} must be {allowed}, got {type}",
                key="feature_geometry_type",
                where=_at(source, i),
                n=i,
                kind=names.label(names.FEATURE_KINDS, kind),
                allowed=Alternatives(EXPECTED[kind]),
                type=geom.geom_type,
                field="geometry",
            )
        check_geometry(geom, where=_at(source, i, geometry=True))
        fid = f.get("id")
        out.append(design.Feature(str(fid) if fid not in (None, "") else str(i), kind, geom, props))
    return out


def _judge(
    session: Session, site: Site, community: Community, feats: list[design.Feature]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    site_geom = from_db(site.geom)
    epsg = metric_epsg(community.metric_epsg, site_geom)
    near = site_geom.buffer(0.001).bounds  # buildings within ≈100 m matter
    walls = [
        (names.building(b.number, b.name), from_db(b.geom))
        for b in community_buildings_near(session, community_id=community.id, bounds=near)
    ]
    costs, rules = design.standards(community.design_standards)
    # bill items, units and rule messages in the reader's language
    numbers = rendered(design.metrics(site_geom, feats, epsg=epsg, costs=costs))
    violations = rendered(design.check(site_geom, feats, walls, epsg=epsg, rules=rules))
    return numbers, violations


def draft_features(session: Session, *, draft_id: int) -> list[design.Feature]:
    """The draft's saved features (ids are their row ids)."""
    return [
        design.Feature(str(f.id), f.kind, from_db(f.geom), f.props or {})
        for f in draft_feature_rows(session, draft_id=draft_id)
    ]


def feature_collection(feats: list[design.Feature]) -> dict[str, Any]:
    """Features as GeoJSON, the kind among the properties (as the API takes them back)."""
    return {
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
    }


def evaluate(
    session: Session, *, principal: Principal, draft_id: int, features: Any
) -> dict[str, Any]:
    """Metrics and violations of features being drawn (not saved): the page's live panel."""
    _draft_row, site, community = _draft(session, principal, draft_id)
    numbers, violations = _judge(session, site, community, parse_features(features))
    return {"metrics": numbers, "violations": violations}


def site_context(
    session: Session, *, principal: Principal, draft_id: int
) -> tuple[DesignDraft, Site, Community]:
    """The draft, its site and community, for pages and exports (drawers only)."""
    return _draft(session, principal, draft_id)


def view(session: Session, *, principal: Principal, draft_id: int) -> dict[str, Any]:
    """The draft's features, metrics and violations."""
    draft, site, community = _draft(session, principal, draft_id)
    return draft_view(session, draft, site, community)


def draft_view(
    session: Session, draft: DesignDraft, site: Site, community: Community
) -> dict[str, Any]:
    """A draft as the drawing page and the consultation page show it (no permission check)."""
    feats = draft_features(session, draft_id=draft.id)
    numbers, violations = _judge(session, site, community, feats)
    return {
        "id": draft.id,
        "number": draft.number,
        "name": draft.name,
        "description": draft.description,
        "version": draft.version,
        "public": bool(draft.public),
        "site": {"code": site.code, "name": site.name},
        "community": community.code,
        "copied_from": draft.copied_from_id,
        "adopts": adopted_requests(session, draft_id=draft.id),
        "features": feature_collection(feats),
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
        raise InvalidInput(
            "compare two drafts of the same site", key="compare_different_sites", field="b"
        )
    keys = ("green_area_m2", "green_ratio", "hard_area_m2", "total_cost")
    _draft_row, site, community = _draft(session, principal, a)
    outline = from_db(site.geom)
    epsg = metric_epsg(community.metric_epsg, outline)
    pairs, _only_a, _only_b = design.match(
        draft_features(session, draft_id=a), draft_features(session, draft_id=b), epsg=epsg
    )
    return {
        "a": left,
        "b": right,
        "site_geometry": to_geojson(outline),
        # the features both drafts have alike (same kind, place and shape), by their ids
        "shared": {"a": [p.id for p, _ in pairs], "b": [q.id for _, q in pairs]},
        "difference": {
            k: None
            if left["metrics"][k] is None or right["metrics"][k] is None
            else round(right["metrics"][k] - left["metrics"][k], 4)
            for k in keys
        },
    }


def adopted_requests(session: Session, *, draft_id: int) -> list[dict[str, Any]]:
    """The resident suggestions a draft adopts (id and title; hidden ones left out)."""
    rows = adopted_request_titles(session, draft_id=draft_id)
    return [{"id": i, "title": t} for i, t in rows]


def set_adopted(
    session: Session, *, principal: Principal, draft_id: int, request_ids: list[int]
) -> dict[str, Any]:
    """Name the suggestions this draft adopts (the whole list; each must be of the community)."""
    draft, site, community = _draft(session, principal, draft_id)
    wanted = sorted(set(request_ids))
    found = request_ids_of_community(session, community_id=community.id, ids=wanted)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(
            "suggestion(s) {ids} not found in {community}",
            key="adopted_suggestions_not_found",
            ids=missing,
            community=community.name,
            field="request_ids",
        )
    for old in draft_links(session, draft_id=draft.id):
        session.delete(old)
    session.flush()
    session.add_all(DraftRequest(draft_id=draft.id, request_id=i) for i in wanted)
    session.flush()
    return draft_view(session, draft, site, community)


def set_public(
    session: Session,
    *,
    principal: Principal,
    draft_id: int,
    public: bool,
    acknowledge_violations: bool = False,
) -> dict[str, Any]:
    """Put a draft before the residents (consultation) or take it back. A draft that still
    breaks rules is put before them only when the designer says they know (409 otherwise,
    listing what it breaks)."""
    draft, site, community = _draft(session, principal, draft_id)
    if public and not draft.public and not acknowledge_violations:
        _numbers, violations = _judge(
            session, site, community, draft_features(session, draft_id=draft.id)
        )
        if violations:
            raise Conflict(
                "draft {number} still breaks {n} rule(s): {problems}. Fix them, or show it to "
                "residents anyway (acknowledge_violations)",
                key="draft_breaks_rules",
                number=draft.number,
                n=len(violations),
                problems=Sentences(str(v["message"]) for v in violations[:5]),
                field="acknowledge_violations",
                violations=[v["rule"] for v in violations],
            )
    draft.public = bool(public)
    session.flush()
    return draft_view(session, draft, site, community)


MAX_DESCRIPTION = 2000


def set_details(
    session: Session,
    *,
    principal: Principal,
    draft_id: int,
    name: str,
    description: str | None,
) -> dict[str, Any]:
    """A draft's name and the designer's plain description of it for residents."""
    draft, site, community = _draft(session, principal, draft_id)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("a draft needs a name", key="draft_name_missing", field="name")
    description = (description or "").strip() or None
    if description and len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            "description is longer than {limit} characters",
            key="description_too_long",
            limit=MAX_DESCRIPTION,
            field="description",
        )
    draft.name, draft.description = name[:200], description
    session.flush()
    return draft_view(session, draft, site, community)


def site_drafts(
    session: Session, *, principal: Principal, community_code: str, site_code: str
) -> list[dict[str, Any]]:
    """Every draft of a site, newest number last (for the designers and the process's
    runners)."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    require_process_runner(session, principal, community)
    return [
        {
            "id": d.id,
            "number": d.number,
            "name": d.name,
            "version": d.version,
            "public": bool(d.public),
            "copied_from": d.copied_from_id,
            "updated_at": d.updated_at.isoformat() if d.updated_at else None,
        }
        for d in drafts_of_site(session, site_id=site.id)
    ]


def adopted_in(session: Session, *, request_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """For the public view of suggestions: the drafts that adopt each ("adopted in draft N")."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not request_ids:
        return out
    rows = adopting_drafts(session, request_ids=request_ids)
    for request_id, number, name, site_code, site_name in rows:
        out.setdefault(request_id, []).append(
            {"site": site_code, "site_name": site_name, "draft": number, "name": name}
        )
    return out


def workspace(session: Session, *, principal: Principal, draft_id: int) -> dict[str, Any]:
    """What the drawing page needs: the draft, its site's outline, and the residents'
    suggestions for the site (pinned in its survey or within 20 m of it) to adopt."""
    draft, site, community = _draft(session, principal, draft_id)
    outline = from_db(site.geom)
    near = outline.buffer(metres_to_degrees(20.0, outline.centroid.y))
    candidates = site_request_candidates(
        session, community_id=community.id, site_id=site.id, bounds=near.bounds
    )
    suggestions = [
        {
            "id": r.id,
            "receipt_code": r.receipt_code,  # how people name a suggestion (never its id)
            "title": r.title,
            "category": r.category,
            "status": r.status,
        }
        for r in candidates
        if r.site_id == site.id or near.intersects(from_db(r.geom))
    ]
    return {
        "community": community.code,
        "draft": draft_view(session, draft, site, community),
        "site": to_geojson(outline),
        "suggestions": suggestions,
    }


def site_summary(
    session: Session, *, principal: Principal, community_code: str, site_code: str
) -> dict[str, Any]:
    """A site's name, outline and bounds for the sites' hub."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    require_process_runner(session, principal, community)
    outline = from_db(site.geom)
    return {
        "code": site.code,
        "name": site.name,
        "description": site.description,
        "stage": site.stage,
        "geometry": to_geojson(outline),
        "bounds": [float(v) for v in outline.bounds],
    }


def require_drawer(session: Session, *, principal: Principal, community_code: str) -> None:
    """Designers' pages are for the community's designers and admins."""
    _may_draw(principal, community_by_code(session, code=community_code))


def drawable_communities(session: Session, *, principal: Principal) -> list[str]:
    """Codes of the communities whose sites the user may draw (designers, admins)."""
    ids = sorted(
        {g.community_id for g in principal.roles if g.role in DESIGN_ROLES and g.community_id}
    )
    return [c.code for c in communities_by_ids(session, ids=ids)]


def get_standards(session: Session, *, principal: Principal, community_code: str) -> dict[str, Any]:
    """The unit costs and rule thresholds the community's drafts are measured with."""
    community = community_by_code(session, code=community_code)
    _may_draw(principal, community)
    costs, rules = design.standards(community.design_standards)
    return {
        "community": community.code,
        "unit_costs": {g: dict(getattr(costs, g)) for g in design.COST_GROUPS},
        "rules": {k: getattr(rules, k) for k in design.RULE_LIMITS},
        "overrides": community.design_standards or {},
    }


def set_standards(
    session: Session, *, principal: Principal, community_code: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    """Replace the community's overrides of the defaults (checked first; {} restores them)."""
    community = community_by_code(session, code=community_code)
    _may_draw(principal, community)
    try:
        design.standards(overrides)
    except design.StandardsError as exc:
        raise InvalidInput(exc.msg, key="standards_invalid", field="standards") from None
    community.design_standards = overrides or None
    session.flush()
    return get_standards(session, principal=principal, community_code=community_code)
