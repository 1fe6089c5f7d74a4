"""Residents' suggestions: posting, the public views, +1s, comments, the private follow page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from renewmap.api.schemas.common import CodeName, Geometry, Out
from renewmap.api.schemas.places import RouteOut


class SessionCookies(Out):
    csrf_token: str = Field(description="send it back in the X-CSRF-Token header of writes")


class Expected(Out):
    """How long a new suggestion can expect to wait for acceptance."""

    days: int = Field(ge=1)
    basis: Literal["history", "rule"] = Field(
        description="history: the grid's record (percent of its recent suggestions were "
        "accepted within days); rule: RENEWMAP_OVERDUE_DAYS"
    )
    sample: int = Field(description="waits the history is made of (0 with the rule)")
    percent: int | None
    window_days: int = Field(description="how far back the history looks")


class SuggestionCreated(Out):
    id: int
    receipt_code: str = Field(description="what the resident quotes (e.g. on the phone)")
    follow_url: str = Field(description="the resident's private page (keep it secret)")
    token: str
    owner: RouteOut
    message: str
    expected: Expected
    notify: list[Literal["sms", "email"]] = Field(
        description="how the resident will be told of progress (empty without consent)"
    )


class PreviewIn(BaseModel):
    community: str = Field(max_length=32, description="the community whose page asks")
    geometry: Geometry = Field(description="the pin (Point), a drawn line or area; WGS84")


class SuggestionPreview(Out):
    """Before posting: who will handle it and how long acceptance may take."""

    owner: RouteOut
    message: str
    outside: bool = Field(description="outside the community, within the snap distance")
    elsewhere: bool = Field(description="the place belongs to another community")
    expected: Expected


class PublicPhoto(Out):
    url: str
    thumbnail: str
    width: int | None
    height: int | None
    kind: Literal["resident", "after"] = Field(
        "resident", description="the resident's, or 'after': staff's with a reply or the fix"
    )


class AdoptedIn(Out):
    """A design draft that takes the suggestion up."""

    site: str
    site_name: str | None
    draft: int
    name: str


class SuggestionView(Out):
    """What anyone may see of a suggestion: never the phone, the nickname only if allowed."""

    id: int
    category: str
    title: str
    description: str | None
    status: str
    created_at: str | None
    grid: CodeName | None
    rule: str | None
    supports: int
    comments: int
    nickname: str | None
    photos: list[PublicPhoto]
    adopted_in: list[AdoptedIn]
    supported: bool | None = Field(
        None, description="whether this browser (its device cookie) gave it +1; browse only"
    )


class SuggestionFeature(Out):
    type: Literal["Feature"]
    id: int
    geometry: Geometry
    properties: SuggestionView


class SuggestionPage(Out):
    type: Literal["FeatureCollection"]
    features: list[SuggestionFeature]
    numberMatched: int
    numberReturned: int
    offset: int
    limit: int


class NearbyView(SuggestionView):
    distance_m: float = Field(description="metres from the point asked")


class NearbyFeature(Out):
    type: Literal["Feature"]
    id: int
    geometry: Geometry
    properties: NearbyView


class NearbySuggestions(Out):
    type: Literal["FeatureCollection"]
    features: list[NearbyFeature]


class Supports(Out):
    supports: int = Field(description="the suggestion's +1s now")


class CommentOut(Out):
    id: int
    body: str
    nickname: str | None
    created_at: str | None


class ActedBy(Out):
    """In which role and place a member of staff acted (never who)."""

    role: str
    place: str


class EventPhoto(Out):
    url: str
    thumbnail: str


class PublicEvent(Out):
    kind: str
    label: str = Field(description="what happened, in the reader's language")
    at: str | None
    note: str | None
    by: ActedBy | None = None
    details: dict[str, Any] | None = Field(
        None,
        description="assign_property: the due day; deliberation: held_on, parties, "
        "attendees, question, decision",
    )
    photos: list[EventPhoto] | None = Field(None, description="'after' photos of this step")


class PropertyStatus(Out):
    org: str | None = Field(description="the property company's name")
    due: str | None = Field(description="the day it is to be done by")


class FollowView(SuggestionView):
    """The resident's private view: the public one, their contact details and the history."""

    receipt_code: str | None
    hidden: bool
    your_nickname: str | None
    your_phone: str | None
    your_email: str | None
    history: list[PublicEvent]
    property: PropertyStatus | None = Field(
        None, description="while the property company has it: 已交物业处理，预计 … 前完成"
    )
    geometry: Geometry
    community: str | None
    notify: list[Literal["sms", "email"]] = Field(
        description="how the resident is told of progress (empty: not, or stopped)"
    )
    reopen_until: str | None = Field(description="a resolved request may be reopened until then")


class MessagesStopped(Out):
    receipt_code: str
    stopped: bool
    cancelled: int = Field(description="messages that were waiting and will not be sent")


class MapPoint(Out):
    id: int
    lon: float
    lat: float
    title: str
    category: str
    status: str


class MapCell(Out):
    count: int = Field(ge=1)
    lon: float = Field(description="mean position of the suggestions in the cell")
    lat: float
    bbox: tuple[float, float, float, float]
    id: int | None = Field(None, description="the suggestion, when the cell holds one")


class SuggestionMapLayer(Out):
    """What the residents' map draws for a view: points when few, else counts per cell."""

    mode: Literal["points", "cells"]
    numberMatched: int
    points: list[MapPoint]
    cells: list[MapCell]
