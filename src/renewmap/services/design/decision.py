"""The end of a site's process: the decision (the chosen draft and why), the display of the
chosen plan (方案公示) with residents' objections and the staff's answers, and the build that
turns the chosen draft into the site's layers.

The decision is recorded by those who run the process once the consultation has started and
before the display; it is shown to residents from the display on, with the vote's result and
what comes next. During the display window residents may object (one phone, a few
objections); every objection is answered before construction starts (services.design.process).

Building (during construction or later) replaces the site's green areas, paths, facilities and
water by the chosen draft's; its plants become plants with growth ID cards (a plant the site
kept keeps its card, adopter and care log; one taken out keeps its card, marked removed). The
layers as they were are kept with the build, so the history is retrievable; the site's
before/after comparison uses the construction dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import (
    DesignDraft,
    Facility,
    GreenArea,
    Path,
    Plant,
    Site,
    SiteBuild,
    SiteObjection,
    Water,
)
from renewmap.db.queries.design import plant_has_history, site_layer_rows
from renewmap.db.queries.process import (
    builds_of_site,
    household_votes,
    households_of_site,
    objections_by_device,
    objections_of_site,
    public_draft,
    public_drafts,
    stages_of_site,
    vote_counts,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.services.access.accounts import Principal
from renewmap.services.design import drafts, households, process
from renewmap.spatial import design
from renewmap.spatial.geometry import as_multi, from_db, to_db, to_geojson

MAX_REASONS = 5000
MAX_OBJECTION = 2000
MAX_ANSWER = 5000
OBJECTIONS_PER_PHONE = 5
BUILT_STEPS = ("construction", "acceptance", "maintenance")


def _stage_index(site: Site) -> int:
    return process.STAGES.index(site.stage) if site.stage in process.STAGES else -1


# --- the decision -------------------------------------------------------------------------------


def decide(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    draft_number: int,
    reasons: str,
) -> dict[str, Any]:
    """Record the chosen draft (one put before the residents) and the reasons, from the
    consultation on and until the plan goes on display."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    process.require_process_runner(session, principal, community)
    here = _stage_index(site)
    if here < process.STAGES.index("consultation"):
        raise Conflict(
            "the decision on {site} is made once the public consultation has started",
            key="decision_too_early",
            site=site.name or site.code,
            field="stage",
        )
    if here >= process.STAGES.index("announcement"):
        raise Conflict(
            "the decision on {site} is on display already and no longer changes",
            key="decision_on_display",
            site=site.name or site.code,
            field="stage",
        )
    reasons = (reasons or "").strip()
    if not reasons:
        raise InvalidInput("say why this draft was chosen", key="reasons_missing", field="reasons")
    if len(reasons) > MAX_REASONS:
        raise InvalidInput(
            "the reasons are longer than {limit} characters",
            key="reasons_too_long",
            limit=MAX_REASONS,
            field="reasons",
        )
    draft = public_draft(session, site_id=site.id, number=draft_number)
    if draft is None:
        raise NotFound(
            "draft {number} of {site} has not been shown to residents; the chosen draft is one "
            "they could see",
            key="decision_draft_not_public",
            number=draft_number,
            site=site.name or site.code,
            field="draft",
        )
    site.decision_draft_id = draft.id
    site.decision_reasons = reasons
    site.decided_by = principal.actor
    site.decided_at = datetime.now(UTC)
    session.flush()
    return decision(session, community_code=community_code, site_code=site_code, staff=True)


def results(session: Session, site: Site) -> dict[str, Any]:
    """The vote's result by draft: by household where forms were issued, else informal."""
    forms = households_of_site(session, site_id=site.id)
    formal = bool(forms)
    counts = (
        household_votes(session, site_id=site.id)
        if formal
        else vote_counts(session, site_id=site.id)
    )
    drafts_shown = public_drafts(session, site_id=site.id)
    return {
        "vote": "household" if formal else "informal",
        "households": {
            "issued": len(forms),
            "answered": sum(1 for f in forms if f.voted_at is not None),
        }
        if formal
        else None,
        "by_draft": [
            {"number": d.number, "name": d.name, "votes": counts.get(d.id, 0)} for d in drafts_shown
        ],
    }


def decision(
    session: Session, *, community_code: str, site_code: str, staff: bool = False
) -> dict[str, Any]:
    """The decision as residents see it from the display on (staff see it once recorded): the
    chosen draft, the reasons, the vote's result, the display window, what comes next."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    shown = _stage_index(site) >= process.STAGES.index("announcement")
    if site.decision_draft_id is None or not (shown or staff):
        return {"site": site.code, "decided": False}
    draft = session.get(DesignDraft, site.decision_draft_id)
    rows = stages_of_site(session, site_id=site.id)
    display = rows.get("announcement")
    later = []
    for step in BUILT_STEPS:
        row = rows.get(step)
        later.append(
            {
                "stage": step,
                "starts_on": row.starts_on.isoformat() if row and row.starts_on else None,
                "ends_on": row.ends_on.isoformat() if row and row.ends_on else None,
            }
        )
    return {
        "site": site.code,
        "decided": True,
        "draft": {"number": draft.number, "name": draft.name} if draft else None,
        "reasons": site.decision_reasons,
        # residents read the role; the username is half of a sign-in and never public
        "decided_by": site.decided_by
        if staff
        else process.public_actor(session, community, site.decided_by),
        "decided_at": site.decided_at.isoformat() if site.decided_at else None,
        "results": results(session, site),
        "display": {
            "starts_on": display.starts_on.isoformat() if display and display.starts_on else None,
            "ends_on": display.ends_on.isoformat() if display and display.ends_on else None,
        },
        "next": later,
    }


# --- objections while the plan is on display ---------------------------------------------------


def _display_open(session: Session, site: Site, today: date) -> None:
    row = stages_of_site(session, site_id=site.id).get("announcement")
    if site.stage != "announcement" or row is None or row.starts_on is None:
        raise Conflict(
            "objections to {site} are filed while its plan is on display",
            key="objections_not_on_display",
            site=site.name or site.code,
            field="stage",
        )
    if row.ends_on is not None and today > row.ends_on:
        raise Conflict(
            "the display of the plan of {site} ended on {day}; objections are closed",
            key="objections_closed",
            site=site.name or site.code,
            day=row.ends_on.isoformat(),
            field="stage",
        )


def object_to(
    session: Session,
    *,
    secret: str,
    community_code: str,
    site_code: str,
    device_hash: str,
    body: str,
    nickname: str | None = None,
    household_code: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """A resident's objection to the plan on display (staff must answer it)."""
    _community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    _display_open(session, site, today or date.today())
    body = (body or "").strip()
    if not body:
        raise InvalidInput("the objection is empty", key="objection_empty", field="body")
    if len(body) > MAX_OBJECTION:
        raise InvalidInput(
            "the objection is longer than {limit} characters",
            key="objection_too_long",
            limit=MAX_OBJECTION,
            field="body",
        )
    if objections_by_device(session, site_id=site.id, device_hash=device_hash) >= (
        OBJECTIONS_PER_PHONE
    ):
        raise Conflict(
            "this phone has filed {limit} objections to {site}; add to one of them by speaking "
            "to the residents' committee",
            key="objections_too_many",
            limit=OBJECTIONS_PER_PHONE,
            site=site.name or site.code,
            field="body",
        )
    household = None
    if household_code:
        household = households.claim(
            session, secret=secret, site=site, code=household_code, device_hash=device_hash
        )
    row = SiteObjection(
        site_id=site.id,
        body=body,
        nickname=(nickname or "").strip()[:40] or None,
        device_hash=device_hash,
        household_id=household.id if household else None,
    )
    session.add(row)
    session.flush()
    return _objection_view(row)


def _objection_view(row: SiteObjection) -> dict[str, Any]:
    return {
        "id": row.id,
        "body": row.body,
        "nickname": row.nickname,
        "household": row.household_id is not None,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "answer": row.answer,
        "answered_at": row.answered_at.isoformat() if row.answered_at else None,
    }


def objections(session: Session, *, community_code: str, site_code: str) -> dict[str, Any]:
    """The objections and their answers (public, like the plan on display)."""
    _community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    rows = objections_of_site(session, site_id=site.id)
    return {
        "site": site.code,
        "objections": [_objection_view(r) for r in rows],
        "unanswered": sum(1 for r in rows if r.answer is None),
    }


def answer(
    session: Session, *, principal: Principal, objection_id: int, text: str
) -> dict[str, Any]:
    """Staff answer an objection (the answer is public; a later answer replaces it)."""
    row = session.get(SiteObjection, objection_id)
    if row is None:
        raise NotFound(
            "objection {id} not found", key="objection_not_found", id=objection_id, field="id"
        )
    site = session.get_one(Site, row.site_id)
    community = process.community_of(session, site)
    process.require_process_runner(session, principal, community)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("the answer is empty", key="answer_empty", field="answer")
    if len(text) > MAX_ANSWER:
        raise InvalidInput(
            "the answer is longer than {limit} characters",
            key="answer_too_long",
            limit=MAX_ANSWER,
            field="answer",
        )
    row.answer, row.answered_by, row.answered_at = text, principal.actor, datetime.now(UTC)
    session.flush()
    return _objection_view(row)


# --- building the chosen draft ------------------------------------------------------------------

LAYER_MODELS: dict[str, type[Any]] = {
    "green": GreenArea,
    "plant": Plant,
    "path": Path,
    "facility": Facility,
    "water": Water,
}


def _layers_geojson(session: Session, site: Site) -> dict[str, Any]:
    """The site's layers as they are, one FeatureCollection per layer (the build's 'before')."""
    out: dict[str, Any] = {}
    for name, model in LAYER_MODELS.items():
        feats = []
        for row in site_layer_rows(session, model=model, site_id=site.id):
            props = {
                c.key: _plain(getattr(row, c.key))
                for c in model.__table__.columns
                if c.key not in ("geom", "community_id", "site_id")
            }
            feats.append(
                {
                    "type": "Feature",
                    "id": row.id,
                    "geometry": to_geojson(from_db(row.geom)),
                    "properties": props,
                }
            )
        out[name] = {"type": "FeatureCollection", "features": feats}
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def build(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    built_on: date | None = None,
) -> dict[str, Any]:
    """Turn the chosen draft into the site's layers (during construction or later)."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    process.require_process_runner(session, principal, community)
    if site.stage not in BUILT_STEPS:
        raise Conflict(
            "the chosen draft of {site} is built during construction: move the site to "
            "construction first",
            key="build_before_construction",
            site=site.name or site.code,
            field="stage",
        )
    session.refresh(site, with_for_update=True)
    draft = session.get(DesignDraft, site.decision_draft_id) if site.decision_draft_id else None
    if draft is None:
        raise Conflict(
            "{site} has no decision to build",
            key="build_no_decision",
            site=site.name or site.code,
            field="decision",
        )
    day = built_on or date.today()
    before = _layers_geojson(session, site)
    feats = drafts.draft_features(session, draft_id=draft.id)
    table = design.species_table()
    current_plants = {p.id: p for p in site_layer_rows(session, model=Plant, site_id=site.id)}
    for layer in ("green", "path", "facility", "water"):
        for row in site_layer_rows(session, model=LAYER_MODELS[layer], site_id=site.id):
            session.delete(row)
    session.flush()
    kept: set[int] = set()
    new_plants: list[Plant] = []
    counts = {k: 0 for k in LAYER_MODELS}
    zones = 0
    numbering: dict[str, int] = {}
    for f in feats:
        props = dict(f.props)
        name = str(props.get("name") or "").strip() or None
        common = {"community_id": community.id, "site_id": site.id, "name": name}
        if f.kind == "zone":
            zones += 1  # a zone names a part of the garden; there is nothing to build
            continue
        if f.kind == "plant":
            named = design.find_species(props.get("species"), table)
            species = named[0].name_zh if named else (str(props.get("species") or "") or None)
            layer = named[0].layer if named else str(props.get("layer") or "tree")
            adoptable = props.get("adoptable") is not False
            old_id = props.get("plant_id")
            plant = current_plants.get(old_id) if isinstance(old_id, int) else None
            if plant is not None and plant.id not in kept:
                kept.add(plant.id)
                plant.geom, plant.species, plant.layer = to_db(f.geom), species, layer
                plant.adoptable, plant.name = adoptable, name or plant.name
            else:
                numbering[species or ""] = numbering.get(species or "", 0) + 1
                plant = Plant(
                    **common,
                    species=species,
                    layer=layer,
                    adoptable=adoptable,
                    planted_on=day,
                    geom=to_db(f.geom),
                )
                if plant.name is None and species:
                    plant.name = f"{species}{numbering[species]}"
                session.add(plant)
                new_plants.append(plant)
            counts["plant"] += 1
        elif f.kind == "green":
            named = design.find_species(props.get("species"), table)
            layer = str(props.get("layer") or (named[0].layer if named else "lawn"))
            species = "、".join(s.name_zh for s in named) or (
                str(props.get("species") or "") or None
            )
            session.add(
                GreenArea(
                    **common, kind="bed", layer=layer, species=species, geom=to_db(as_multi(f.geom))
                )
            )
            counts["green"] += 1
        elif f.kind == "path":
            width = props.get("width_m")
            session.add(
                Path(
                    **common,
                    width_m=float(width) if isinstance(width, int | float) else None,
                    surface=str(props.get("surface") or "") or None,
                    purpose=str(props.get("purpose") or "") or None,
                    geom=to_db(as_multi(f.geom)),
                )
            )
            counts["path"] += 1
        elif f.kind == "water" or (f.kind == "keep" and props.get("type") == "water"):
            if f.geom.geom_type in ("Polygon", "MultiPolygon"):
                session.add(Water(**common, geom=to_db(as_multi(f.geom))))
                counts["water"] += 1
        else:  # facilities, and elements kept from before (a wall, a column, a shed)
            kind = str(props.get("type") or ("kept" if f.kind == "keep" else "other"))
            session.add(Facility(**common, kind=kind, geom=to_db(f.geom)))
            counts["facility"] += 1
    removed = 0
    for plant in current_plants.values():
        if plant.id in kept:
            continue
        removed += 1
        if plant_has_history(session, plant_id=plant.id):
            plant.removed_on, plant.adoptable = day, False  # its card and log stay readable
        else:
            session.delete(plant)
    session.flush()
    record = SiteBuild(
        site_id=site.id,
        draft_id=draft.id,
        draft_number=draft.number,
        draft_version=draft.version,
        built_on=day,
        built_by=principal.actor,
        before=before,
        after=drafts.feature_collection(feats),
    )
    session.add(record)
    community.site_version = (community.site_version or 1) + 1  # the site plan changed
    session.flush()
    return {
        "site": site.code,
        "build": record.id,
        "built_on": day.isoformat(),
        "draft": draft.number,
        "layers": counts,
        "zones": zones,
        "plants": {"kept": len(kept), "new": len(new_plants), "removed": removed},
        "adoptable": [
            {"id": p.id, "name": p.name, "url": f"/p/{p.id}"} for p in new_plants if p.adoptable
        ],
    }


def builds(
    session: Session, *, principal: Principal, community_code: str, site_code: str
) -> list[dict[str, Any]]:
    """The site's builds, oldest first (each keeps the layers it replaced)."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    process.require_process_runner(session, principal, community)
    return [
        {
            "id": b.id,
            "draft": b.draft_number,
            "draft_version": b.draft_version,
            "built_on": b.built_on.isoformat(),
            "built_by": b.built_by,
            "before": f"/api/design/communities/{community.code}/sites/{site.code}"
            f"/builds/{b.id}/before.geojson",
        }
        for b in builds_of_site(session, site_id=site.id)
    ]


def layers_before(
    session: Session, *, principal: Principal, community_code: str, site_code: str, build_id: int
) -> dict[str, Any]:
    """The site's layers as they were before a build, as one FeatureCollection (each feature
    with its ``layer``)."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    process.require_process_runner(session, principal, community)
    record = session.get(SiteBuild, build_id)
    if record is None or record.site_id != site.id:
        raise NotFound(
            "build {id} of {site} not found",
            key="build_not_found",
            id=build_id,
            site=site.name or site.code,
            field="id",
        )
    feats = []
    for layer, collection in record.before.items():
        for f in collection["features"]:
            feats.append({**f, "properties": {"layer_kind": layer, **f["properties"]}})
    return {"type": "FeatureCollection", "features": feats}
