"""Residents and the drafts of a site: see the drafts put before them (features as map layers,
metrics, what each changes in plain words, the designer's description), comment on a draft
(optionally at a place on its map), vote for one, and pin suggestions for the site during the
survey.

Where staff issued household forms (services.design.households) the vote is one per household,
by the form's code, changeable until the consultation closes; where they did not, a phone may
vote once and the count is informal, and is called so wherever it is shown.

The site's current step (services.design.process) decides what is open; results of the vote are
shown once the consultation is over, so the running count does not sway the vote.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import shapely
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from renewmap.db.guards import exclusive
from renewmap.db.models import Community, DesignDraft, DraftComment, DraftVote, Site
from renewmap.db.queries.process import (
    household_votes,
    households_of_site,
    public_draft,
    public_drafts,
    visible_draft_comments,
    vote_counts,
    voted_draft_number,
)
from renewmap.errors import Conflict, InvalidInput, NotFound
from renewmap.services.design import drafts, households, plans, process
from renewmap.spatial.crs import metres_to_degrees
from renewmap.spatial.geometry import from_db, parse_geojson, to_db, to_geojson

MAX_COMMENT = 1000
NEAR_SITE_M = 20.0  # a comment's place may be just outside the outline (the gate, the street)


def _results_visible(site: Site) -> bool:
    return site.stage in process.STAGES and process.STAGES.index(site.stage) > process.STAGES.index(
        "consultation"
    )


def view(
    session: Session,
    *,
    community_code: str,
    site_code: str,
    device_hash: str | None = None,
    locale: str = "zh_CN",
) -> dict[str, Any]:
    """What residents see of a site's design: the public drafts with their plans' figures and
    changes, comments, whether the vote is by household or informal, their own vote."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    public = public_drafts(session, site_id=site.id)
    ids = [d.id for d in public]
    comments: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for c in visible_draft_comments(session, draft_ids=ids):
        comments[c.draft_id].append(_comment_view(c))
    forms = households_of_site(session, site_id=site.id)
    formal = bool(forms)
    votes = (
        household_votes(session, site_id=site.id)
        if formal
        else vote_counts(session, site_id=site.id)
    )
    mine = None
    if device_hash and not formal:
        mine = voted_draft_number(session, site_id=site.id, device_hash=device_hash)
    show = _results_visible(site)
    baseline = drafts.site_features(session, site)
    out = []
    for d in public:
        v = drafts.draft_view(session, d, site, community)
        out.append(
            {
                "number": v["number"],
                "name": v["name"],
                "description": v["description"],
                "features": v["features"],
                "metrics": v["metrics"],
                "changes": plans.changes_in_words(
                    session, site, community, baseline, d, locale=locale
                ),
                "plan": f"/api/sites/{community.code}/{site.code}/drafts/{d.number}/plan",
                "adopts": v["adopts"],
                "comments": comments[d.id],
                "votes": votes.get(d.id, 0) if show else None,
            }
        )
    answered = sum(1 for f in forms if f.voted_at is not None)
    return {
        "community": community.code,
        "site": process.site_info(session, community_code=community_code, site_code=site_code),
        "stage": site.stage,
        "residents_may": list(process.allowed(site)),
        "results_visible": show,
        # "household": one vote per household by the forms' codes; "informal": one per phone
        "vote": "household" if formal else "informal",
        "households": {"issued": len(forms), "answered": answered} if formal else None,
        "my_vote": mine,
        "drafts": out,
    }


def _comment_view(c: DraftComment) -> dict[str, Any]:
    return {
        "id": c.id,
        "body": c.body,
        "nickname": c.nickname,
        "created_at": c.created_at.isoformat() if c.created_at else None,
        "geometry": to_geojson(from_db(c.geom)) if c.geom is not None else None,
    }


def _open_draft(session: Session, site: Site, number: int) -> DesignDraft:
    draft = public_draft(session, site_id=site.id, number=number)
    if draft is None:
        raise NotFound(
            "draft {number} of {site} is not open to residents",
            key="draft_not_public",
            number=number,
            site=site.name or site.code,
            field="draft",
        )
    return draft


def comment(
    session: Session,
    *,
    community_code: str,
    site_code: str,
    draft_number: int,
    device_hash: str,
    body: str,
    nickname: str | None = None,
    point: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A resident's comment on a public draft, optionally placed on its map."""
    _community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    process.require_action(site, "comment")
    draft = _open_draft(session, site, draft_number)
    body = (body or "").strip()
    if not body:
        raise InvalidInput("the comment is empty", key="comment_empty", field="body")
    if len(body) > MAX_COMMENT:
        raise InvalidInput(
            "the comment is longer than {limit} characters",
            key="comment_too_long",
            limit=MAX_COMMENT,
            field="body",
        )
    nickname = (nickname or "").strip()[:40] or None
    geom = None
    if point is not None:
        where = cast(shapely.Point, parse_geojson(point, where="point"))  # checked next
        if where.geom_type != "Point":
            raise InvalidInput(
                "point must be a GeoJSON Point, got {type}",
                key="comment_point_not_point",
                type=where.geom_type,
                field="point",
            )
        outline = from_db(site.geom)
        tolerance = metres_to_degrees(NEAR_SITE_M, outline.centroid.y)
        if not shapely.dwithin(outline, where, tolerance):
            raise InvalidInput(
                "the place you marked is more than {limit:.0f} m from {site}; mark a place on "
                "the site or next to it",
                key="comment_point_far_from_site",
                limit=NEAR_SITE_M,
                site=site.name or site.code,
                lon=round(where.x, 6),
                lat=round(where.y, 6),
                field="point",
            )
        geom = to_db(where)
    row = DraftComment(
        draft_id=draft.id, body=body, nickname=nickname, device_hash=device_hash, geom=geom
    )
    session.add(row)
    session.flush()
    return _comment_view(row)


def vote(
    session: Session,
    *,
    secret: str,
    community_code: str,
    site_code: str,
    draft_number: int,
    device_hash: str,
    household_code: str | None = None,
    locale: str = "zh_CN",
) -> dict[str, Any]:
    """A vote during the public consultation: the household's (by its form's code; it may
    change its vote until the consultation closes) where forms were issued, else the phone's
    one informal vote."""
    _community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    process.require_action(site, "vote")
    draft = _open_draft(session, site, draft_number)
    if households.has_forms(session, site=site):
        if not household_code:
            raise Conflict(
                "{site} counts one vote per household: enter the code printed on your "
                "household's form",
                key="household_code_required",
                site=site.name or site.code,
                field="code",
            )
        row = households.claim(
            session, secret=secret, site=site, code=household_code, device_hash=device_hash
        )
        row.draft_id = draft.id
        row.voted_at = datetime.now(UTC)
        session.flush()
        return {
            "site": site.code,
            "vote": "household",
            "my_vote": draft.number,
            "household": households.household_label(row).render(locale),
        }
    if household_code:
        raise NotFound(
            "{site} has no household forms: its vote is informal, one per phone",
            key="household_forms_none",
            site=site.name or site.code,
            field="code",
        )
    # two taps at once: one vote, the other answered at once (no queue on a row lock that
    # would hold a worker thread per tap)
    if not exclusive(session, f"vote:{site.id}:{device_hash}"):
        raise Conflict("your vote is being counted", key="vote_in_progress", field="draft")
    earlier = voted_draft_number(session, site_id=site.id, device_hash=device_hash)
    if earlier is not None:
        raise Conflict(
            "you have already voted for draft {number} of {site} on this phone; the informal "
            "poll counts one vote per phone",
            key="already_voted",
            number=earlier,
            site=site.name or site.code,
            field="draft",
        )
    try:
        with session.begin_nested():
            session.add(DraftVote(site_id=site.id, draft_id=draft.id, device_hash=device_hash))
    except IntegrityError:  # the unique (site, device) index had the last word
        raise Conflict(
            "you have already voted for a draft of {site} on this phone; the informal poll "
            "counts one vote per phone",
            key="already_voted_here",
            site=site.name or site.code,
            field="draft",
        ) from None
    return {"site": site.code, "vote": "informal", "my_vote": draft.number, "household": None}


def household(
    session: Session,
    *,
    secret: str,
    community_code: str,
    site_code: str,
    code: str,
    device_hash: str,
    locale: str = "zh_CN",
) -> dict[str, Any]:
    """A phone enters its household's code: which household it is and its vote so far."""
    _community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    row = households.claim(session, secret=secret, site=site, code=code, device_hash=device_hash)
    return {"site": site.code, **households.household_view(session, row, locale)}


def hide_comment(session: Session, *, principal: Any, comment_id: int) -> None:
    """Moderation by the community's designers and admins."""
    row = session.get(DraftComment, comment_id)
    if row is None:
        raise NotFound("comment {id} not found", key="comment_not_found", id=comment_id, field="id")
    draft = session.get_one(DesignDraft, row.draft_id)
    site = session.get_one(Site, draft.site_id)
    process.require_process_runner(
        session, principal, session.get_one(Community, site.community_id)
    )
    row.hidden = True
    session.flush()
