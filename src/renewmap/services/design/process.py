"""The participatory process of a micro-renewal site (参与式规划): the eleven steps of Gaojing
town's guideline, then construction, acceptance and maintenance; and what the current step
lets residents do.

Each step keeps its dates, minutes and attachments; the site's current step decides the
residents' side: pin suggestions for the site during the survey, comment on the drafts put
before them while they join the design and during the public consultation, vote (one vote per
household with the forms' codes, else an informal one per phone) during the consultation,
and file objections while the chosen plan is on display (方案公示).

The process keeps its integrity: a step gone past without being held is recorded as not held,
with who decided that and why; a joint meeting is left only with its minutes (or a file of
them) or an explicit reason; the display starts only with a decision and lasts its window;
construction starts only when the window has closed and every objection has its answer.
The community's designers and admins run the process, and so does the secretary of the
community's general party branch (党总支), who leads it.

The steps in ``MEETING_STEPS`` are meetings: a meeting of the records' register linked to one
(services.records.meetings) is shown on the step (title, day, attendances, decisions; nobody
named) and is the step's record, like its minutes or a file of them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from renewmap import blobs
from renewmap.db.models import Community, Site, SitePhoto, SiteStage, StageAttachment
from renewmap.db.queries.accounts import staff_user_by_username
from renewmap.db.queries.places import (
    community_by_code,
    find_site,
    general_branch_of,
    site_is_public,
    sites_of_community,
)
from renewmap.db.queries.process import (
    attachments_of_stages,
    current_step_starts,
    find_stage,
    photo_counts_of_sites,
    site_photos,
    stages_of_site,
    unanswered_objections,
)
from renewmap.db.queries.records import meetings_of_site_steps, step_has_meeting
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.i18n import N_, Msg, t
from renewmap.names import ROLE_LABELS
from renewmap.services.access.accounts import Principal
from renewmap.services.ingest.files import checked_attachment
from renewmap.services.requests.photos import process_photo
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.vocabulary import DESIGN_ROLES, Role

STAGES = (  # as Gaojing town's guideline names them, then what follows the announcement
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
    "announcement",  # 方案公示 (a display period with objections)
    "construction",  # 施工
    "acceptance",  # 验收
    "maintenance",  # 维护
)
MEETING_STEPS = ("joint_meeting", "final_joint_meeting")
DISPLAY_DAYS = 7  # the display period (公示期) when none was set
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
    "construction": N_("Construction"),
    "acceptance": N_("Acceptance"),
    "maintenance": N_("Maintenance"),
}
# What residents may do in each step (anything not listed: read only).
RESIDENT_ACTIONS = {
    "survey": ("suggest",),
    "co_design": ("comment",),
    "consultation": ("comment", "vote"),
    "announcement": ("object",),  # within the display window (services.design.decision)
}
ACTION_LABELS = {
    "suggest": N_("pin suggestions for this site"),
    "comment": N_("comment on the drafts"),
    "vote": N_("vote for a draft"),
    "object": N_("file an objection to the plan on display"),
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


def community_of(session: Session, site: Site) -> Community:
    community = session.get(Community, site.community_id)
    assert community is not None  # a site belongs to a community (foreign key)
    return community


def site_info(session: Session, *, community_code: str, site_code: str) -> dict[str, Any]:
    """A site's code, name, description and outline (public)."""
    _community, site = site_of(session, community_code=community_code, site_code=site_code)
    return {
        "code": site.code,
        "name": site.name,
        "description": site.description,
        "geometry": to_geojson(from_db(site.geom)),
    }


def require_runner(principal: Principal, community: Community) -> None:
    """Only the community's designers and admins draw its sites and run their processes."""
    if not any(g.role in DESIGN_ROLES and g.community_id == community.id for g in principal.roles):
        raise Forbidden(
            "only the designers and admins of {community} work on its sites",
            key="not_a_designer",
            community=community.name,
            field="community",
        )


def runs_process(session: Session, principal: Principal, community: Community) -> bool:
    """The community's designers and admins, and the secretary of its general party branch."""
    if any(g.role in DESIGN_ROLES and g.community_id == community.id for g in principal.roles):
        return True
    secretary = [g.branch_id for g in principal.roles if g.role == Role.BRANCH_SECRETARY]
    if not secretary:
        return False
    general = general_branch_of(session, community_id=community.id)
    return general is not None and general.id in secretary


def require_process_runner(session: Session, principal: Principal, community: Community) -> None:
    """Running a site's process (steps, minutes, photos, forms, the decision) is for its
    designers and admins and the general branch's secretary."""
    if not runs_process(session, principal, community):
        raise Forbidden(
            "only the designers and admins of {community} and the secretary of its general "
            "party branch run its sites' processes",
            key="not_a_process_runner",
            community=community.name,
            field="community",
        )


def runs_community(session: Session, *, principal: Principal, community_code: str) -> bool:
    """Whether the principal runs the sites' processes of this community (pages' links)."""
    return runs_process(session, principal, community_by_code(session, code=community_code))


def require_community_runner(
    session: Session, *, principal: Principal, community_code: str
) -> None:
    """404 for an unknown community, 403 unless the principal runs its sites' processes."""
    require_process_runner(session, principal, community_by_code(session, code=community_code))


def require_site_runner(
    session: Session, *, principal: Principal, community_code: str, site_code: str
) -> None:
    """404 for an unknown site, 403 unless the principal runs the site's process."""
    community, _site = site_of(session, community_code=community_code, site_code=site_code)
    require_process_runner(session, principal, community)


def allowed(site: Site) -> tuple[str, ...]:
    """What residents may do at the site now."""
    return RESIDENT_ACTIONS.get(site.stage or "", ())


def require_action(site: Site, action: str) -> None:
    """409 with the reason when the site's step does not allow the residents' action."""
    if action in allowed(site):
        return
    if site.stage in STAGES and STAGES.index(site.stage) >= STAGES.index("announcement"):
        why = Msg("the plan has been announced")
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


# ``Principal.actor`` as stored: "display name (username)"
ACTOR_USERNAME = re.compile(r"\(([A-Za-z0-9_.@-]{2,64})\)$")
# the role named when a member of staff held several that run the community's processes
RUNNER_ROLES = (Role.COMMUNITY_ADMIN, Role.DESIGNER, Role.BRANCH_SECRETARY)
COMMUNITY_STAFF = N_("Community staff")


def public_actor(session: Session, community: Community, actor: str | None) -> str | None:
    """Who ran a step of the community's sites, as residents may read it: the role in which
    they ran it ("设计师", "社区管理员"), never their name or username (a sign-in's half).
    Staff views show the stored actor."""
    if not actor:
        return None
    found = ACTOR_USERNAME.search(actor)
    user = staff_user_by_username(session, username=found.group(1)) if found else None
    if user is not None:
        general = general_branch_of(session, community_id=community.id)
        general_ids = {general.id} if general is not None else set()
        held = {
            g.role
            for g in user.roles
            if (g.role in DESIGN_ROLES and g.community_id == community.id)
            or (g.role == Role.BRANCH_SECRETARY and g.branch_id in general_ids)
        }
        for role in RUNNER_ROLES:
            if role in held:
                return t(ROLE_LABELS[role])
    return t(COMMUNITY_STAFF)


def timeline(
    session: Session, *, community_code: str, site_code: str, staff: bool = False
) -> dict[str, Any]:
    """Where the site stands: every step with dates, minutes and attachments (public). Who
    skipped a step or left a meeting without minutes: their role, or for ``staff`` who."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    named: dict[str, str | None] = {}

    def who(actor: str | None) -> str | None:
        if staff or not actor:
            return actor
        if actor not in named:
            named[actor] = public_actor(session, community, actor)
        return named[actor]

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
    records: dict[str, list[dict[str, Any]]] = {}
    for m, people in meetings_of_site_steps(session, site_id=site.id):
        # the meeting's record as residents may read it: nobody named, no contact
        records.setdefault(m.stage or "", []).append(
            {
                "id": m.id,
                "title": m.title,
                "held_on": m.held_on.isoformat(),
                "attendees": int(people),
                "decisions": m.decisions,
            }
        )
    steps = []
    for i, key in enumerate(STAGES):
        row = rows.get(key)
        if row is not None and row.skipped and i != current:
            state = "skipped"  # gone past without being held
        else:
            state = "done" if i < current else "current" if i == current else "upcoming"
        steps.append(
            {
                "stage": key,
                "label": t(STAGE_LABELS[key]),
                "number": i + 1,
                "state": state,
                "meeting": key in MEETING_STEPS,
                "meeting_records": records.get(key, []) if key in MEETING_STEPS else [],
                "starts_on": row.starts_on.isoformat() if row and row.starts_on else None,
                "ends_on": row.ends_on.isoformat() if row and row.ends_on else None,
                "minutes": row.minutes if row else None,
                "attachments": files.get(row.id, []) if row else [],
                "skip_reason": row.skip_reason if row and state == "skipped" else None,
                "skipped_by": who(row.skipped_by) if row and state == "skipped" else None,
                "override_reason": row.override_reason if row else None,
                "override_by": who(row.override_by) if row else None,
            }
        )
    return {
        "community": community.code,
        "site": {"code": site.code, "name": site.name},
        "stage": site.stage,
        "residents_may": list(allowed(site)),
        "steps": steps,
    }


def parse_day(value: str | None, field: str) -> date | None:
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
    require_process_runner(session, principal, community)
    start, end = parse_day(starts_on, "starts_on"), parse_day(ends_on, "ends_on")
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
    return timeline(session, community_code=community_code, site_code=site_code, staff=True)


def move_to(
    session: Session,
    *,
    principal: Principal,
    community_code: str,
    site_code: str,
    stage: str,
    reason: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Make ``stage`` the site's current step (back too: processes loop); dates the change.

    Going forward past steps that were never held needs ``reason`` (they are recorded as not
    held, by whom and why); leaving a joint meeting needs its minutes or a file of them, or
    ``reason`` to go on without; the display (方案公示) needs the decision and gets a window of
    ``DISPLAY_DAYS`` days unless one was set; construction needs the window closed and every
    objection answered. A refusal is a 409 that says what is missing."""
    community, site = site_of(session, community_code=community_code, site_code=site_code)
    require_process_runner(session, principal, community)
    if stage not in STAGES:
        raise InvalidInput(
            "stage must be one of {stages}", key="stage_unknown", stages=STAGES, field="stage"
        )
    session.refresh(site, with_for_update=True)
    today = today or date.today()
    reason = (reason or "").strip() or None
    if reason and len(reason) > MAX_REASON:
        raise InvalidInput(
            "the reason is longer than {limit} characters",
            key="reason_too_long",
            limit=MAX_REASON,
            field="reason",
        )
    previous = site.stage
    rows = stages_of_site(session, site_id=site.id)
    target = STAGES.index(stage)
    here = STAGES.index(previous) if previous in STAGES else -1
    if target > here:
        _check_forward(session, site, rows, here, target, reason, today)
    row = _stage_row(session, site, stage, principal.actor)
    if previous and previous != stage:
        before = _stage_row(session, site, previous, principal.actor)
        if before.ends_on is None and here < target:
            before.ends_on = today
        if previous in MEETING_STEPS and here < target and not _has_record(session, before):
            before.override_reason, before.override_by = reason, principal.actor
    for i in range(here + 1, target):
        passed = rows.get(STAGES[i]) or _stage_row(session, site, STAGES[i], principal.actor)
        if not _held(passed):
            passed.skipped, passed.skip_reason, passed.skipped_by = True, reason, principal.actor
    row.skipped, row.skip_reason, row.skipped_by = False, None, None  # held after all
    if row.starts_on is None:
        row.starts_on = today
    if stage == "announcement" and (row.ends_on is None or row.ends_on < row.starts_on):
        row.ends_on = row.starts_on + timedelta(days=DISPLAY_DAYS)
    site.stage = stage
    session.flush()
    return timeline(session, community_code=community_code, site_code=site_code, staff=True)


MAX_REASON = 2000


def _held(row: SiteStage | None) -> bool:
    """A step was held if it was ever current (it has a start) and was not skipped since."""
    return row is not None and row.starts_on is not None and not row.skipped


def _has_record(session: Session, row: SiteStage) -> bool:
    """A meeting's record: its minutes, a file (scanned minutes, a sign-in sheet), or a meeting
    of the register linked to the step."""
    return (
        bool(row.minutes)
        or bool(attachments_of_stages(session, stage_ids=[row.id]))
        or step_has_meeting(session, site_id=row.site_id, stage=row.stage)
    )


def _check_forward(
    session: Session,
    site: Site,
    rows: dict[str, SiteStage],
    here: int,
    target: int,
    reason: str | None,
    today: date,
) -> None:
    """Why the site may not go forward from step ``here`` to ``target`` (409), if it may not."""
    skipped = [STAGES[i] for i in range(here + 1, target) if not _held(rows.get(STAGES[i]))]
    if skipped and not reason:
        raise Conflict(
            "moving {site} to “{step}” goes past steps that were not held ({steps}): give the "
            "reason they are skipped",
            key="steps_skipped_without_reason",
            site=site.name or site.code,
            step=Msg(STAGE_LABELS[STAGES[target]]),
            steps=[Msg(STAGE_LABELS[s]) for s in skipped],
            field="reason",
            skipped=skipped,
        )
    if here >= 0 and STAGES[here] in MEETING_STEPS:
        meeting = rows.get(STAGES[here])
        if (meeting is None or not _has_record(session, meeting)) and not reason:
            raise Conflict(
                "the {step} of {site} has no minutes: record them (or attach them), or give "
                "the reason to go on without them",
                key="meeting_without_minutes",
                step=Msg(STAGE_LABELS[STAGES[here]]),
                site=site.name or site.code,
                field="reason",
                stage=STAGES[here],
            )
    announce = STAGES.index("announcement")
    if here < announce <= target and site.decision_draft_id is None:
        raise Conflict(
            "record the decision on {site} (the chosen draft and why) before the plan is put "
            "on display",
            key="display_without_decision",
            site=site.name or site.code,
            field="decision",
        )
    if here <= announce < target:
        shown = rows.get("announcement")
        if here < announce or shown is None or shown.starts_on is None:
            raise Conflict(
                "the plan of {site} must be on display ({step}) before construction",
                key="construction_before_display",
                site=site.name or site.code,
                step=Msg(STAGE_LABELS["announcement"]),
                field="stage",
            )
        if shown.ends_on is not None and today <= shown.ends_on:
            raise Conflict(
                "the plan of {site} is on display until {day}; construction starts after the "
                "display period",
                key="construction_during_display",
                site=site.name or site.code,
                day=shown.ends_on.isoformat(),
                field="stage",
                display_until=shown.ends_on.isoformat(),
            )
        waiting = unanswered_objections(session, site_id=site.id)
        if waiting:
            raise Conflict(
                "{n} objection(s) to the plan of {site} have no answer yet: answer every "
                "objection before construction",
                key="objections_unanswered",
                n=waiting,
                site=site.name or site.code,
                field="objections",
                unanswered=waiting,
            )


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
    require_process_runner(session, principal, community)
    name, ctype = checked_attachment(filename, data)
    row = _stage_row(session, site, stage, principal.actor)
    key = blobs.put(session, data, ctype)  # before the row commits: never a row without its file
    session.add(
        StageAttachment(
            stage_id=row.id, filename=name, content_type=ctype, data_key=key, size=len(data)
        )
    )
    session.flush()
    return timeline(session, community_code=community_code, site_code=site_code, staff=True)


def attachment(session: Session, *, attachment_id: int) -> tuple[bytes, str, str]:
    """An attachment's bytes, type and name (public, like the process itself)."""
    row = session.get(StageAttachment, attachment_id)
    stage = session.get(SiteStage, row.stage_id) if row is not None else None
    if row is None or not site_is_public(session, site_id=stage.site_id if stage else None):
        raise NotFound(
            "attachment {id} not found", key="attachment_not_found", id=attachment_id, field="id"
        )
    return blobs.get(session, row.data_key), row.content_type, row.filename


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
    require_process_runner(session, principal, community)
    if phase not in PHASES:
        raise InvalidInput(
            "phase must be 'before' or 'after'", key="photo_phase_unknown", field="phase"
        )
    day = parse_day(taken_on, "taken_on")
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
            **p.store(session),
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
    if row is None or not site_is_public(session, site_id=row.site_id):
        raise NotFound("photo {id} not found", key="photo_not_found", id=photo_id, field="id")
    return blobs.get(session, row.thumbnail_key if thumbnail else row.data_key), row.content_type


def sites(session: Session, *, community_code: str) -> list[dict[str, Any]]:
    """The community's sites with their current step (for the pages' lists)."""
    community = community_by_code(session, code=community_code)
    counts = photo_counts_of_sites(session, community_id=community.id)
    since = current_step_starts(session, community_id=community.id)
    return [
        {
            "code": s.code,
            "name": s.name,
            "description": s.description,
            "stage": s.stage,
            "step": STAGES.index(s.stage) + 1 if s.stage in STAGES else None,
            "steps": len(STAGES),
            "since": since[s.id].isoformat() if s.id in since else None,
            "residents_may": list(allowed(s)),
            "photos": counts.get(s.id, 0),
        }
        for s in sites_of_community(session, community_id=community.id)
    ]
