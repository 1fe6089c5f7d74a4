"""A community's reply templates: ready-made public replies staff pick and adjust
("已派物业维修，预计三天内完成"). Kept by the community's admins; any staff of the community
reads them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.models import Community, ReplyTemplate
from renewmap.db.queries.places import community_by_code
from renewmap.db.queries.requests import reply_template_titled, reply_templates_of
from renewmap.errors import Conflict, Forbidden, InvalidInput, NotFound
from renewmap.services.access.accounts import Principal
from renewmap.services.access.scope import require_staff_scope, scope_of
from renewmap.services.places.organisation import require_admin_of
from renewmap.validation import strip_text

MAX_TITLE = 100
MAX_BODY = 2000
MAX_TEMPLATES = 100


def _view(t: ReplyTemplate) -> dict[str, Any]:
    return {"id": t.id, "title": t.title, "body": t.body}


def listing(session: Session, *, principal: Principal, community_code: str) -> list[dict[str, Any]]:
    community = community_by_code(session, code=community_code)
    scope = scope_of(session, principal)
    require_staff_scope(scope)
    if community.id not in scope.touched_communities(session):
        raise Forbidden(
            "{community} is not in your area",
            key="community_outside_scope",
            community=community.name,
            field="community",
        )
    return [_view(t) for t in reply_templates_of(session, community_id=community.id)]


def add(
    session: Session, *, principal: Principal, community_code: str, title: str, body: str
) -> dict[str, Any]:
    community = community_by_code(session, code=community_code)
    require_admin_of(principal, community, task="reply_templates")
    title, body = strip_text(title or ""), strip_text(body or "")
    if not title or not body:
        raise InvalidInput(
            "a template needs a title and its text",
            key="template_incomplete",
            field="title" if not title else "body",
        )
    if len(title) > MAX_TITLE or len(body) > MAX_BODY:
        raise InvalidInput(
            "title at most {title_limit}, text at most {body_limit} characters",
            key="template_too_long",
            title_limit=MAX_TITLE,
            body_limit=MAX_BODY,
            field="title" if len(title) > MAX_TITLE else "body",
        )
    existing = reply_templates_of(session, community_id=community.id)
    if len(existing) >= MAX_TEMPLATES:
        raise InvalidInput(
            "at most {limit} templates per community",
            key="too_many_templates",
            limit=MAX_TEMPLATES,
            field="title",
        )
    if reply_template_titled(session, community_id=community.id, title=title) is not None:
        raise Conflict(
            "a template titled “{title}” already exists",
            key="template_exists",
            title=title,
            field="title",
        )
    t = ReplyTemplate(community_id=community.id, title=title, body=body, created_by=principal.actor)
    session.add(t)
    session.flush()
    return _view(t)


def remove(session: Session, *, principal: Principal, template_id: int) -> None:
    t = session.get(ReplyTemplate, template_id)
    if t is None:
        raise NotFound(
            "template {id} not found", key="template_not_found", id=template_id, field="id"
        )
    community = session.get(Community, t.community_id)
    assert community is not None
    require_admin_of(principal, community, task="reply_templates")
    session.delete(t)
    session.flush()
