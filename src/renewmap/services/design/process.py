"""The participatory process of a micro-renewal site (参与式规划, eleven steps), and what the
current step lets residents do.

Each step keeps its dates, minutes and attachments; the site's current step decides the
residents' side: pin suggestions for the site during the survey, comment on the drafts put
before them while they join the design and during the public consultation, vote (one vote per
device) during the consultation only, and nothing but reading once the result is announced.
The community's designers and admins run the process.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Community, Site, SitePhoto, SiteStage, StageAttachment
from renewmap.db.queries.places import community_by_code, find_site, sites_of_community
from renewmap.db.queries.process import (
    attachments_of_stages,
    find_stage,
    photo_counts_of_sites,
    site_photos,
    stages_of_site,
)
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.i18n import N_, Msg, t
from renewmap.services.access.accounts import Principal
from renewmap.services.ingest.files import checked_attachment
from renewmap.services.requests.photos import process_photo
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.vocabulary import DESIGN_ROLES

STAGES = (  # as Gaojing town's guideline names them
    "survey",  # 社区调研
    "interviews",  # 居民访谈
    "drafts",  # 多稿设计
    "co_design",  # 居民参与设计
    "revision",  # 方案调整
    "joint_meeting",  # 联席会讨论
    "optimisation",  # 方案优化
    "consultation",  # 公众咨询
    "final_revision",  # 方案修改
    "final_joint_meeting",  # 联席会
    "announcement",  # 方案公示
)
STAGE_LABELS = {
    "survey": N_("Survey"),
    "interviews": N_("Interviews"),
    "drafts": N_("Several design drafts"),
    "co_design": N_("Residents join the design"),
    "revision": N_("Revision"),
    "joint_meeting": N_("Joint meeting"),
    "optimisation": N_("Optimisation"),
    "consultation": N_("Public consultation"),
    "final_revision": N_("Final revision"),
    "final_joint_meeting": N_("Final joint meeting"),
    "announcement": N_("Announcement"),
}
# What residents may do in each step (anything not listed: read only).
RESIDENT_ACTIONS = {
    "survey": ("suggest",),
    "co_design": ("comment",),
    "consultation": ("comment", "vote"),
}
ACTION_LABELS = {
    "suggest": N_("pin suggestions for this site"),
    "comment": N_("comment on the drafts"),
    "vote": N_("vote for a draft"),
}
MAX_MINUTES = 20_000
PHASES = ("before", "after")


def site_of(session: Session, *, community_code: str, site_code: str) -> tuple[Community, Site]:
    community = community_by_code(session, code=community_code)
    site = find_site(session, community_id=community.id, code=site_code)
    if site is None:
        raise NotFound(
            "site '{site}' not found in {community}",
            key="site_not_found",
            site=site_code,
            community=community.name,
            field="site",
        )
    return community, site


def site_info(session: Session, *, community_code: str, site_code: str) -> dict[str, Any]:
    """A site's code, name and outline (public)."""
    _community, site = site_of(session, community_code=community_code, site_code=site_code)
    return {"code": site.code, "name": site.name, "geometry": to_geojson(from_db(site.geom))}


def require_runner(principal: Principal, community: Community) -> None:
    """Only the community's designers and admins draw its sites and run their processes."""
    if not any(g.role in DESIGN_ROLES and g.community_id == community.id for g in principal.roles):
        raise Forbidden(
            "only the designers and admins of {community} work on its sites",
            key="not_a_designer",
            community=community.name,
            field="community",
        )


def require_site_runner(
    session: Session, *, principal: Principal, community_code: str, site_code: str
) -> None:
    """404 for an unknown site, 403 unless the principal runs the community's sites."""
    community, _site = site_of(session, community_code=community_code, site_code=site_code)
    require_runner(principal, community)


def allowed(site: Site) -> tuple[str, ...]:
    """What residents may do at the site now."""
    return RESIDENT_ACTIONS.get(site.stage or "", ())


def require_action(site: Site, action: str) -> None:
    """409 with the reason when the site's step does not allow the residents' action."""
    if action in allowed(site):
        return
    if site.stage == "announcement":
        why = Msg("the plan has been announced; the site is read-only")
    elif site.stage is None:
        why = Msg("its participatory process has not started")
    else:
        why = Msg("it is in the step “{step}”", step=Msg(STAGE_LABELS[site.stage]))
    open_in = [Msg(STAGE_LABELS[s]) for s in STAGES if action in RESIDENT_ACTIONS.get(s, ())]
    raise Conflict(
        "residents cannot {action} at {site} now: {why} (open during: {steps})",
        key="step_closed_to_residents",
        action=Msg(ACTION_LABELS[action]),
        site=site.name or site.code,
        why=why,
        steps=open_in,
        stage=site.stage,
        field="stage",
    )


def timeline(session: Session, *, community_code: str, site_code: str) -> dict[str, Any]:
    """Where the site stands: every step with dates, minutes and attachments (public)."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    rows = stages_of_site(session, site_id=site.id)
    files: dict[int, list[dict[str, Any]]] = {}
    stage_ids = [r.id for r in rows.values()]
    for a_id, stage_id, name, ctype in attachments_of_stages(session, stage_ids=stage_ids):
        files.setdefault(stage_id, []).append(
            {
                "id": a_id,
                "filename": name,
                "content_type": ctype,
                "url": f"/api/attachments/{a_id}",
            }
        )
    current = STAGES.index(site.stage) if site.stage in STAGES else -1
    steps = []
    for i, key in enumerate(STAGES):
        row = rows.get(key)
        steps.append(
            {
                "stage": key,
                "label": t(STAGE_LABELS[key]),
                "number": i + 1,
                "state": "done" if i < current else "current" if i == current else "upcoming",
                "starts_on": row.starts_on.isoformat() if row and row.starts_on else None,
                "ends_on": row.ends_on.isoformat() if row and row.ends_on else None,
                "minutes": row.minutes if row else None,
                "attachments": files.get(row.id, []) if row else [],
            }
        )
    return {
        "community": community.code,
        "site": {"code": site.code, "name": site.name},
        "stage": site.stage,
        "residents_may": list(allowed(site)),
        "steps": steps,
    }


def _parse_day(value: str | None, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            "{field}: expected a date like 2026-05-01, got '{value}'",
            key="date_invalid",
            value=str(value),
            field=field,
        ) from None


def _stage_row(session: Session, site: Site, stage: str, actor: str) -> SiteStage:
    if stage not in STAGES:
        raise InvalidInput(
            "stage must be one of {stages}", key="stage_unknown", stages=STAGES, field="stage"
        )
    row = find_stage(session, site_id=site.id, stage=stage)
    if row is None:
        row = SiteStage(site_id=site.id, stage=stage, updated_by=actor)
        session.add(row)
        session.flush()
    return row


def record_stage(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    stage: str,
    starts_on: str | None = None,
    ends_on: str | None = None,
    minutes: str | None = None,
) -> dict[str, Any]:
    """Set a step's dates and minutes (the whole record; empty clears)."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    require_runner(principal, community)
    start, end = _parse_day(starts_on, "starts_on"), _parse_day(ends_on, "ends_on")
    if start and end and end < start:
        raise InvalidInput(
            "ends_on {end} is before starts_on {start}",
            key="stage_dates_reversed",
            end=end.isoformat(),
            start=start.isoformat(),
            field="ends_on",
        )
    minutes = (minutes or "").strip() or None
    if minutes and len(minutes) > MAX_MINUTES:
        raise InvalidInput(
            "minutes are longer than {limit} characters",
            key="minutes_too_long",
            limit=MAX_MINUTES,
            field="minutes",
        )
    row = _stage_row(session, site, stage, principal.actor)
    row.starts_on, row.ends_on, row.minutes = start, end, minutes
    row.updated_by = principal.actor
    session.flush()
    return timeline(session, community_code=community_code, site_code=site_code)


def move_to(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    stage: str,
    today: date | None = None,
) -> dict[str, Any]:
    """Make ``stage`` the site's current step (back too: processes loop); dates the change."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    require_runner(principal, community)
    session.refresh(site, with_for_update=True)
    today = today or date.today()
    row = _stage_row(session, site, stage, principal.actor)
    previous = site.stage
    if previous and previous != stage:
        before = _stage_row(session, site, previous, principal.actor)
        if before.ends_on is None and STAGES.index(previous) < STAGES.index(stage):
            before.ends_on = today
    if row.starts_on is None:
        row.starts_on = today
    site.stage = stage
    session.flush()
    return timeline(session, community_code=community_code, site_code=site_code)


def add_attachment(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    stage: str,
    filename: str,
    data: bytes,
) -> dict[str, Any]:
    """Keep a file with a step (PDF, image, text or Office document; at most 10 MB)."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    require_runner(principal, community)
    name, ctype = checked_attachment(filename, data)
    row = _stage_row(session, site, stage, principal.actor)
    session.add(StageAttachment(stage_id=row.id, filename=name, content_type=ctype, data=data))
    session.flush()
    return timeline(session, community_code=community_code, site_code=site_code)


def attachment(session: Session, *, attachment_id: int) -> tuple[bytes, str, str]:
    """An attachment's bytes, type and name (public, like the process itself)."""
    row = session.get(StageAttachment, attachment_id)
    if row is None:
        raise NotFound(
            "attachment {id} not found", key="attachment_not_found", id=attachment_id, field="id"
        )
    return row.data, row.content_type, row.filename


def add_photo(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    phase: str,
    taken_on: str,
    filename: str,
    data: bytes,
    caption: str | None = None,
) -> dict[str, Any]:
    """A dated before/after photo of the site (re-encoded without metadata)."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    require_runner(principal, community)
    if phase not in PHASES:
        raise InvalidInput(
            "phase must be 'before' or 'after'", key="photo_phase_unknown", field="phase"
        )
    day = _parse_day(taken_on, "taken_on")
    if day is None:
        raise InvalidInput(
            "taken_on: the day the photo was taken is required",
            key="photo_date_missing",
            field="taken_on",
        )
    caption = (caption or "").strip()[:200] or None
    p = process_photo(data, filename=filename or "photo")
    session.add(
        SitePhoto(
            site_id=site.id,
            phase=phase,
            taken_on=day,
            caption=caption,
            content_type=p.content_type,
            width=p.width,
            height=p.height,
            data=p.data,
            thumbnail=p.thumbnail,
        )
    )
    session.flush()
    return photos(session, community_code=community_code, site_code=site_code)


def photos(session: Session, *, community_code: str, site_code: str) -> dict[str, Any]:
    """The site's photos by phase, oldest first: the before/after comparison's data."""
    _community, site = site_of(session, community_code=community_code, site_code=site_code)
    out: dict[str, list[dict[str, Any]]] = {p: [] for p in PHASES}
    for p in site_photos(session, site_id=site.id):
        out[p.phase].append(
            {
                "id": p.id,
                "taken_on": p.taken_on.isoformat(),
                "caption": p.caption,
                "url": f"/api/site-photos/{p.id}",
                "thumbnail": f"/api/site-photos/{p.id}/thumbnail",
                "width": p.width,
                "height": p.height,
            }
        )
    return {"site": site.code, **out}


def photo_bytes(session: Session, *, photo_id: int, thumbnail: bool = False) -> tuple[bytes, str]:
    row = session.get(SitePhoto, photo_id)
    if row is None:
        raise NotFound("photo {id} not found", key="photo_not_found", id=photo_id, field="id")
    return (row.thumbnail if thumbnail else row.data), row.content_type


def sites(session: Session, *, community_code: str) -> list[dict[str, Any]]:
    """The community's sites with their current step (for the pages' lists)."""
    community = community_by_code(session, code=community_code)
    counts = photo_counts_of_sites(session, community_id=community.id)
    return [
        {
            "code": s.code,
            "name": s.name,
            "stage": s.stage,
            "residents_may": list(allowed(s)),
            "photos": counts.get(s.id, 0),
        }
        for s in sites_of_community(session, community_id=community.id)
    ]
