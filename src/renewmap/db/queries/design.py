"""Design: designers' drafts of a site and their features, the community's standards, and
the plants residents adopt."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from renewmap.db.models import (
    DesignDraft,
    DesignFeature,
    DraftRequest,
    Plant,
    PlantAdoption,
    PlantCare,
    Request,
    Site,
)

# --- plants and their adopters ----------------------------------------------------------------


def current_adoption(session: Session, *, plant_id: int) -> PlantAdoption | None:
    """The plant's adoption that has not ended, if any."""
    return session.scalar(
        select(PlantAdoption)
        .where(PlantAdoption.plant_id == plant_id, PlantAdoption.ended_at.is_(None))
        .order_by(PlantAdoption.id.desc())
    )


def care_log(session: Session, *, plant_id: int) -> Sequence[PlantCare]:
    return session.scalars(
        select(PlantCare).where(PlantCare.plant_id == plant_id).order_by(PlantCare.id)
    ).all()


def current_adopters(session: Session, *, community_id: int) -> Sequence[Row[*tuple[Any, ...]]]:
    """(Plant, PlantAdoption) of every plant of the community adopted now, by plant."""
    return session.execute(
        select(Plant, PlantAdoption)
        .join(PlantAdoption, PlantAdoption.plant_id == Plant.id)
        .where(Plant.community_id == community_id, PlantAdoption.ended_at.is_(None))
        .order_by(Plant.id)
    ).all()


def plants_of_site(session: Session, *, site_id: int) -> Sequence[Plant]:
    """The site's plants now (not those a build took out)."""
    return session.scalars(
        select(Plant).where(Plant.site_id == site_id, Plant.removed_on.is_(None)).order_by(Plant.id)
    ).all()


def adopted_plant_ids(session: Session, *, plant_ids: Sequence[int]) -> set[int]:
    """Those of ``plant_ids`` adopted now."""
    return set(
        session.scalars(
            select(PlantAdoption.plant_id).where(
                PlantAdoption.plant_id.in_(list(plant_ids)),
                PlantAdoption.ended_at.is_(None),
            )
        )
    )


# --- drafts and their features ------------------------------------------------------------------


def next_draft_number(session: Session, *, site_id: int) -> int:
    """One more than the site's highest draft number (1 for its first draft)."""
    top = session.scalar(select(func.max(DesignDraft.number)).where(DesignDraft.site_id == site_id))
    return (top or 0) + 1


def drafts_of_site(session: Session, *, site_id: int) -> Sequence[DesignDraft]:
    return session.scalars(
        select(DesignDraft).where(DesignDraft.site_id == site_id).order_by(DesignDraft.number)
    ).all()


def draft_feature_rows(session: Session, *, draft_id: int) -> list[DesignFeature]:
    return list(
        session.scalars(
            select(DesignFeature)
            .where(DesignFeature.draft_id == draft_id)
            .order_by(DesignFeature.id)
        )
    )


def site_layer_rows(session: Session, *, model: type[Any], site_id: int) -> Sequence[Any]:
    """The features of one layer (green areas, plants, paths…) of a site now (plants a build
    took out are left out)."""
    query = select(model).where(model.site_id == site_id)
    if model is Plant:
        query = query.where(Plant.removed_on.is_(None))
    return session.scalars(query.order_by(model.id)).all()


def plant_has_history(session: Session, *, plant_id: int) -> bool:
    """Whether a plant was ever adopted or cared for (its card is worth keeping)."""
    adopted = session.scalar(
        select(PlantAdoption.id).where(PlantAdoption.plant_id == plant_id).limit(1)
    )
    cared = session.scalar(select(PlantCare.id).where(PlantCare.plant_id == plant_id).limit(1))
    return adopted is not None or cared is not None


def draft_links(session: Session, *, draft_id: int) -> Sequence[DraftRequest]:
    """The draft's links to the suggestions it adopts."""
    return session.scalars(select(DraftRequest).where(DraftRequest.draft_id == draft_id)).all()


def adopted_request_titles(session: Session, *, draft_id: int) -> Sequence[Row[*tuple[Any, ...]]]:
    """(id, title) of the visible suggestions a draft adopts, by id."""
    return session.execute(
        select(Request.id, Request.title)
        .join(DraftRequest, DraftRequest.request_id == Request.id)
        .where(DraftRequest.draft_id == draft_id, Request.hidden.is_(False))
        .order_by(Request.id)
    ).all()


def adopting_drafts(
    session: Session, *, request_ids: Sequence[int]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """(request id, draft number, draft name, site code, site name) for every draft adopting
    one of these suggestions."""
    return session.execute(
        select(DraftRequest.request_id, DesignDraft.number, DesignDraft.name, Site.code, Site.name)
        .join(DesignDraft, DesignDraft.id == DraftRequest.draft_id)
        .join(Site, Site.id == DesignDraft.site_id)
        .where(DraftRequest.request_id.in_(sorted(set(request_ids))))
        .order_by(DraftRequest.request_id, Site.code, DesignDraft.number)
    ).all()
