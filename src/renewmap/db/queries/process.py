"""The participatory process of a site: its steps, their files and photos, and what
residents say in it (comments on the public drafts, votes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from renewmap.db.models import (
    DesignDraft,
    DraftComment,
    DraftVote,
    HouseholdCode,
    Site,
    SiteBuild,
    SiteObjection,
    SitePhoto,
    SiteStage,
    StageAttachment,
)

# --- consultation: public drafts, comments, votes ----------------------------------------------


def public_drafts(session: Session, *, site_id: int) -> list[DesignDraft]:
    """The site's drafts put before residents, by number."""
    return list(
        session.scalars(
            select(DesignDraft)
            .where(DesignDraft.site_id == site_id, DesignDraft.public.is_(True))
            .order_by(DesignDraft.number)
        )
    )


def public_draft(session: Session, *, site_id: int, number: int) -> DesignDraft | None:
    return session.scalar(
        select(DesignDraft).where(
            DesignDraft.site_id == site_id,
            DesignDraft.number == number,
            DesignDraft.public.is_(True),
        )
    )


def visible_draft_comments(session: Session, *, draft_ids: Sequence[int]) -> list[DraftComment]:
    """Comments not hidden by moderation on these drafts, oldest first."""
    if not draft_ids:
        return []
    return list(
        session.scalars(
            select(DraftComment)
            .where(DraftComment.draft_id.in_(list(draft_ids)), DraftComment.hidden.is_(False))
            .order_by(DraftComment.id)
        )
    )


def vote_counts(session: Session, *, site_id: int) -> dict[int, int]:
    """Votes per draft id."""
    return dict(
        session.execute(
            select(DraftVote.draft_id, func.count())
            .where(DraftVote.site_id == site_id)
            .group_by(DraftVote.draft_id)
        ).all()
    )


def voted_draft_number(session: Session, *, site_id: int, device_hash: str) -> int | None:
    """The number of the draft this device voted for at the site, if it did."""
    return session.scalar(
        select(DesignDraft.number)
        .join(DraftVote, DraftVote.draft_id == DesignDraft.id)
        .where(DraftVote.site_id == site_id, DraftVote.device_hash == device_hash)
    )


# --- steps, their files, and the site's photos --------------------------------------------------


def stages_of_site(session: Session, *, site_id: int) -> dict[str, SiteStage]:
    """The site's recorded steps keyed by stage."""
    return {
        s.stage: s for s in session.scalars(select(SiteStage).where(SiteStage.site_id == site_id))
    }


def current_step_starts(session: Session, *, community_id: int) -> dict[int, Any]:
    """When each site of the community entered the step it is in now (site id → date)."""
    rows = session.execute(
        select(Site.id, SiteStage.starts_on)
        .join(SiteStage, (SiteStage.site_id == Site.id) & (SiteStage.stage == Site.stage))
        .where(Site.community_id == community_id, SiteStage.starts_on.is_not(None))
    ).all()
    return {site_id: day for site_id, day in rows}


def find_stage(session: Session, *, site_id: int, stage: str) -> SiteStage | None:
    return session.scalar(
        select(SiteStage).where(SiteStage.site_id == site_id, SiteStage.stage == stage)
    )


def attachments_of_stages(
    session: Session, *, stage_ids: Sequence[int]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, stage_id, filename, content_type) of the steps' files (not their bytes), by id."""
    if not stage_ids:
        return []
    return session.execute(
        select(
            StageAttachment.id,
            StageAttachment.stage_id,
            StageAttachment.filename,
            StageAttachment.content_type,
        )
        .where(StageAttachment.stage_id.in_(list(stage_ids)))
        .order_by(StageAttachment.id)
    ).all()


def site_photos(session: Session, *, site_id: int) -> Sequence[SitePhoto]:
    """The site's photos, oldest first."""
    return session.scalars(
        select(SitePhoto)
        .where(SitePhoto.site_id == site_id)
        .order_by(SitePhoto.taken_on, SitePhoto.id)
    ).all()


def photo_counts_of_sites(session: Session, *, community_id: int) -> dict[int, int]:
    """Photos per site id of the community."""
    return dict(
        session.execute(
            select(SitePhoto.site_id, func.count())
            .join(Site, Site.id == SitePhoto.site_id)
            .where(Site.community_id == community_id)
            .group_by(SitePhoto.site_id)
        ).all()
    )


# --- objections while the plan is on display ---------------------------------------------------


def objections_of_site(session: Session, *, site_id: int) -> Sequence[SiteObjection]:
    """The site's objections, oldest first."""
    return session.scalars(
        select(SiteObjection).where(SiteObjection.site_id == site_id).order_by(SiteObjection.id)
    ).all()


def unanswered_objections(session: Session, *, site_id: int) -> int:
    """How many of the site's objections wait for an answer."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(SiteObjection)
            .where(SiteObjection.site_id == site_id, SiteObjection.answer.is_(None))
        )
        or 0
    )


def objections_by_device(session: Session, *, site_id: int, device_hash: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(SiteObjection)
            .where(SiteObjection.site_id == site_id, SiteObjection.device_hash == device_hash)
        )
        or 0
    )


# --- household forms (征询单) --------------------------------------------------------------------


def household_by_hash(session: Session, *, code_hash: str) -> HouseholdCode | None:
    return session.scalar(select(HouseholdCode).where(HouseholdCode.code_hash == code_hash))


def households_of_site(session: Session, *, site_id: int) -> Sequence[HouseholdCode]:
    """The site's household forms that are valid (not revoked), by building and household."""
    return session.scalars(
        select(HouseholdCode)
        .where(HouseholdCode.site_id == site_id, HouseholdCode.revoked_at.is_(None))
        .order_by(HouseholdCode.id)
    ).all()


def household_votes(session: Session, *, site_id: int) -> dict[int, int]:
    """Household votes per draft id (forms not revoked)."""
    rows = session.execute(
        select(HouseholdCode.draft_id, func.count())
        .where(
            HouseholdCode.site_id == site_id,
            HouseholdCode.revoked_at.is_(None),
            HouseholdCode.draft_id.is_not(None),
        )
        .group_by(HouseholdCode.draft_id)
    ).all()
    return {draft: n for draft, n in rows if draft is not None}


# --- builds ---------------------------------------------------------------------------------------


def builds_of_site(session: Session, *, site_id: int) -> Sequence[SiteBuild]:
    """The site's builds, oldest first."""
    return session.scalars(
        select(SiteBuild).where(SiteBuild.site_id == site_id).order_by(SiteBuild.id)
    ).all()
