"""Boundary administration for a community's admin: grid-set drafts and 拆墙并院.

A new grid set is first a *draft*: a GeoJSON FeatureCollection (drawn in the browser or a
file), checked with exactly the importer's rules (a dry run in a savepoint) and with the grid-set
validator (overlaps, gaps, parts outside the community, buildings no grid would take), with every
problem located so it can be shown on a map. *Publishing* it writes the grids, reassigns the
buildings, makes a new grid-set version and re-routes the open requests, each keeping its history.

Merging two compounds (拆墙并院) unites their outlines into the kept one; the merged compound's
row stays, pointing at the kept one, so both histories remain; its grids and buildings move.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import shape
from sqlalchemy.orm import Session

from renewmap import names, validation
from renewmap.db.models import (
    Community,
    GridDraft,
    RequestEvent,
)
from renewmap.db.queries.places import (
    buildings_numbered,
    buildings_of_community,
    community_by_code,
    compounds_by_code,
    find_branch,
    grid_in_use,
    grids_not_in,
    grids_of_community_by_code,
    move_compound,
    unassign_buildings_of_grid,
)
from renewmap.db.queries.requests import open_requests_of_grids
from renewmap.errors import (
    Conflict,
    Forbidden,
    ImportFailed,
    InvalidGeometry,
    InvalidInput,
    NotFound,
)
from renewmap.i18n import Msg, Sentences, t
from renewmap.services.access.accounts import Principal
from renewmap.services.ingest import importer
from renewmap.services.places.routing import reroute_open_requests
from renewmap.spatial.geometry import as_multi, from_db, parse_geojson, to_db, to_geojson
from renewmap.spatial.grids import Issue, best_grid, check_grid_set
from renewmap.vocabulary import EventKind, Role, metric_epsg


def require_admin(session: Session, principal: Principal, community: Community) -> None:
    """Only the community's admins (or its subdistrict's) draw its boundaries."""
    for g in principal.roles:
        if g.role == Role.COMMUNITY_ADMIN and g.community_id == community.id:
            return
        if g.role == Role.SUBDISTRICT_ADMIN and g.subdistrict_id == community.subdistrict_id:
            return
    raise Forbidden(
        "only an admin of {community} may change its boundaries",
        key="not_a_boundary_admin",
        community=community.name,
        field="community",
    )


def may_change(session: Session, *, principal: Principal, community_code: str) -> None:
    """404 for an unknown community, 403 unless the principal may change its boundaries."""
    require_admin(session, principal, community_by_code(session, code=community_code))


MAX_GRIDS = 500
GRID_FIELDS = {"code": 32, "name": 100, "branch_code": 64, "compound_code": 32}


def clean_features(features: Any) -> dict[str, Any]:
    """The grid set as stored: every geometry parsed and checked (finite WGS84 coordinates),
    only the known properties kept, as bounded NUL-free text."""
    if not isinstance(features, dict) or features.get("type") != "FeatureCollection":
        raise InvalidInput(
            "expected a GeoJSON FeatureCollection of grids",
            key="grid_draft_not_collection",
            field="features",
        )
    items = features.get("features")
    if not isinstance(items, list) or not items:
        raise InvalidInput(
            "the FeatureCollection has no features", key="grid_draft_empty", field="features"
        )
    if len(items) > MAX_GRIDS:
        raise InvalidInput(
            "at most {limit} grids in one grid set, got {n}",
            key="grid_draft_too_many",
            n=len(items),
            field="features",
            limit=MAX_GRIDS,
        )
    out = []
    for i, f in enumerate(items, start=1):
        if not isinstance(f, dict) or not isinstance(f.get("geometry"), dict):
            raise InvalidInput(
                "feature {n}: missing geometry",
                key="grid_draft_geometry_missing",
                n=i,
                field="features",
            )
        try:
            # structure and finite WGS84 coordinates; invalid shapes go into the report
            geom = parse_geojson(
                f["geometry"], where=Msg("feature {n}, geometry", n=i), require_valid=False
            )
        except InvalidGeometry as exc:
            raise InvalidInput(exc.msg, key=exc.key, field="features") from None
        props = f.get("properties") or {}
        if not isinstance(props, dict):
            raise InvalidInput(
                "feature {n}: properties must be an object",
                key="grid_draft_properties",
                n=i,
                field="features",
            )
        clean = {
            k: validation.clean_text(props.get(k), field=f"feature {i}.{k}", max_length=n)
            for k, n in GRID_FIELDS.items()
        }
        # through JSON: shapely's tuples become the lists JSON columns and readers expect
        plain = json.loads(json.dumps(to_geojson(geom)))
        out.append({"type": "Feature", "geometry": plain, "properties": clean})
    return {"type": "FeatureCollection", "features": out}


def _frame(features: dict[str, Any]) -> gpd.GeoDataFrame:
    clean = clean_features(features)
    rows = [f["properties"] for f in clean["features"]]
    geoms = [shape(f["geometry"]) for f in clean["features"]]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


FATAL_ISSUES = ("invalid", "overlap", "outside")  # what keeps a draft from being published


def _grid_issues(session: Session, community: Community, frame: gpd.GeoDataFrame) -> list[Issue]:
    """The importer's own checks (dry run, rolled back; they raise) and the grid-set
    validator's problems."""
    with session.begin_nested() as savepoint:
        try:
            importer.import_frame(
                session, frame, kind="grid", community_code=community.code, label=t("grid draft")
            )
        finally:
            savepoint.rollback()
    grids = [(str(r["code"]), r.geometry) for _, r in frame.iterrows()]
    buildings = buildings_of_community(session, community_id=community.id)
    geom = from_db(community.geom)
    report = check_grid_set(
        community_code=community.code,
        community_geom=geom,
        grids=grids,
        buildings=[
            (b.id, b.number, fp, best_grid(fp, grids))
            for b in buildings
            for fp in [from_db(b.geom)]
        ],
        building_names=[b.name for b in buildings],
        community_name=community.name,
        epsg=metric_epsg(community.metric_epsg, geom),
    )
    return report.issues


def _check(session: Session, community: Community, frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """The draft's problems, each located to be shown on a map, in the reader's language."""
    issues = _grid_issues(session, community, frame)
    return {
        "ok": not issues,
        "grid_count": len(frame),
        "issues": [
            {
                "type": "Feature",
                "geometry": (
                    {"type": "Point", "coordinates": list(i.location)} if i.location else None
                ),
                "properties": {
                    "kind": i.kind,
                    "message": i.message,
                    "area_m2": i.area_m2,
                    "grids": i.grids,
                    "building_id": i.building_id,
                },
            }
            for i in issues
        ],
    }


def create_draft(
    session: Session, *, principal: Principal, community_code: str, features: dict[str, Any]
) -> dict[str, Any]:
    community = community_by_code(session, code=community_code)
    require_admin(session, principal, community)
    features = clean_features(features)
    report = _check(session, community, _frame(features))
    draft = GridDraft(community_id=community.id, features=features, created_by=principal.actor)
    session.add(draft)
    session.flush()
    return {"id": draft.id, "status": draft.status, "report": report}


def _draft(session: Session, community: Community, draft_id: int) -> GridDraft:
    draft = session.get(GridDraft, draft_id)
    if draft is None or draft.community_id != community.id:
        raise NotFound(
            "grid draft {id} not found in {community}",
            key="grid_draft_not_found",
            id=draft_id,
            community=community.name,
            field="id",
        )
    return draft


def get_draft(
    session: Session, *, principal: Principal, community_code: str, draft_id: int
) -> dict[str, Any]:
    community = community_by_code(session, code=community_code)
    require_admin(session, principal, community)
    draft = _draft(session, community, draft_id)
    report = _check(session, community, _frame(draft.features))
    return {
        "id": draft.id,
        "status": draft.status,
        "features": draft.features,
        "report": report,
        "published_version": draft.published_version,
    }


def publish(
    session: Session, *, principal: Principal, community_code: str, draft_id: int
) -> dict[str, Any]:
    """Write the draft's grids, reassign buildings, re-route open requests: one transaction."""
    community = community_by_code(session, code=community_code)
    require_admin(session, principal, community)
    draft = _draft(session, community, draft_id)
    if draft.status != "draft":
        raise Conflict(
            "grid draft {id} is already published",
            key="grid_draft_published",
            id=draft_id,
            status=draft.status,
            field="id",
        )
    frame = _frame(draft.features)
    fatal = [i.msg for i in _grid_issues(session, community, frame) if i.kind in FATAL_ISSUES]
    if fatal:
        raise Conflict(
            "the draft cannot be published: {problems}",
            key="grid_draft_has_problems",
            problems=Sentences(fatal),
            field="features",
            issues=fatal,
        )
    keep = {str(c) for c in frame["code"]}
    removed = grids_not_in(session, community_id=community.id, codes=sorted(keep))
    blocked = [g.code for g in removed if grid_in_use(session, grid_id=g.id)]
    if blocked:
        raise Conflict(
            "the draft drops grid(s) {grids}, which still have requests "
            "or leads; keep them in the draft (redraw them) or move those first",
            key="grid_draft_drops_grids",
            field="features",
            grids=sorted(blocked),
        )
    try:
        importer.import_frame(
            session, frame, kind="grid", community_code=community.code, label=t("grid draft")
        )
    except ImportFailed as exc:
        raise InvalidInput(exc.msg, key=exc.key, **exc.details) from None
    for g in removed:
        unassign_buildings_of_grid(session, grid_id=g.id)
        session.delete(g)
    session.flush()
    importer.assign_buildings(session, community_code=community.code, only_unassigned=False)
    community.grid_set_version = (community.grid_set_version or 0) + 1
    community.site_version = (community.site_version or 1) + 1
    changed = reroute_open_requests(session, community_id=community.id, actor=principal.actor)
    draft.status = "published"
    draft.published_at = datetime.now(UTC)
    draft.published_version = community.grid_set_version
    session.flush()
    return {
        "id": draft.id,
        "status": draft.status,
        "grid_set_version": community.grid_set_version,
        "removed": sorted(g.code for g in removed),
        "rerouted": [{"id": i, "from": a, "to": b} for i, a, b in changed],
    }


def merge_compounds(
    session: Session, *, principal: Principal, community_code: str, keep: str, merge: str
) -> dict[str, Any]:
    """拆墙并院: ``merge`` joins ``keep``; grids, buildings and open requests follow."""
    community = community_by_code(session, code=community_code)
    require_admin(session, principal, community)
    if keep == merge:
        raise InvalidInput(
            "a compound cannot be merged into itself", key="compound_merge_self", field="merge"
        )
    found = compounds_by_code(session, community_id=community.id, codes=[keep, merge])
    for code in (keep, merge):
        if code not in found:
            raise NotFound(
                "compound '{compound}' not found in {community}",
                key="compound_not_found",
                compound=code,
                community=community.name,
                field="compound",
            )
    kept, gone = found[keep], found[merge]
    if gone.merged_into_id is not None or kept.merged_into_id is not None:
        raise Conflict(
            "one of these compounds was already merged into another",
            key="compound_already_merged",
            field="merge",
        )
    union = shapely.union_all([from_db(kept.geom), from_db(gone.geom)])
    kept.geom = to_db(as_multi(union))
    gone.merged_into_id = kept.id
    grid_ids = move_compound(session, from_id=gone.id, to_id=kept.id)
    moved = []
    for r in open_requests_of_grids(session, grid_ids=grid_ids):
        r.events.append(
            RequestEvent(
                kind=EventKind.COMPOUND_MERGED,
                actor=principal.actor,
                public=False,
                data={"from": gone.code, "into": kept.code},
            )
        )
        r.version = (r.version or 1) + 1
        moved.append(r.id)
    community.site_version = (community.site_version or 1) + 1
    session.flush()
    return {
        "kept": kept.code,
        "merged": gone.code,
        "grids_moved": len(grid_ids),
        "open_requests": moved,
    }


def assign(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    buildings: dict[str, str] | None = None,
    grid_branches: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Assign buildings (by number) to grids and grids to party branches by hand; all checked
    first, then applied as a new grid-set version with open requests re-routed."""
    community = community_by_code(session, code=community_code)
    require_admin(session, principal, community)
    grids = grids_of_community_by_code(session, community_id=community.id)
    problems: list[Msg] = []
    building_moves = []
    for number, grid_code in (buildings or {}).items():
        found = buildings_numbered(session, community_id=community.id, number=number)
        if len(found) != 1:
            problems.append(
                Msg("buildings.{number}: no such building", number=number)
                if not found
                else Msg("buildings.{number}: more than one such building", number=number)
            )
        elif grid_code not in grids:
            problems.append(
                Msg("buildings.{number}: unknown grid '{grid}'", number=number, grid=grid_code)
            )
        else:
            building_moves.append((found[0], grids[grid_code]))
    branch_moves = []
    for grid_code, branch_code in (grid_branches or {}).items():
        branch = find_branch(session, code=branch_code)
        if grid_code not in grids:
            problems.append(Msg("grid_branches.{grid}: unknown grid", grid=grid_code))
        elif branch is None or branch.community_id not in (None, community.id):
            problems.append(
                Msg(
                    "grid_branches.{grid}: unknown branch '{branch}' here",
                    grid=grid_code,
                    branch=branch_code,
                )
            )
        elif branch.level != "grid":
            problems.append(
                Msg(
                    "grid_branches.{grid}: '{branch}' is a {level}, not a grid party branch",
                    grid=grid_code,
                    branch=branch_code,
                    level=names.label(names.BRANCH_LEVELS, branch.level),
                )
            )
        else:
            branch_moves.append((grids[grid_code], branch))
    if problems:
        raise InvalidInput(
            "{problems}",
            key="assignments_invalid",
            problems=Sentences(problems),
            field="assignments",
            errors=problems,
        )
    changed = 0
    for b, g in building_moves:
        if b.grid_id != g.id:
            b.grid_id, changed = g.id, changed + 1
    for g, branch in branch_moves:
        if g.branch_id != branch.id:
            g.branch_id, changed = branch.id, changed + 1
    rerouted: list[tuple[int, str | None, str | None]] = []
    if changed:
        community.grid_set_version = (community.grid_set_version or 0) + 1
        community.site_version = (community.site_version or 1) + 1
        session.flush()
        rerouted = reroute_open_requests(session, community_id=community.id, actor=principal.actor)
    return {
        "changed": changed,
        "grid_set_version": community.grid_set_version,
        "rerouted": [{"id": i, "from": a, "to": b} for i, a, b in rerouted],
    }
