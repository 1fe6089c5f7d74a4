"""Residents' suggestions: posting, the public views, +1s, comments, the private follow page."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from renewmap.api.schemas.common import CodeName, Geometry, Out
from renewmap.api.schemas.places import RouteOut


class SessionCookies(Out):
    csrf_token: str = Field(description="send it back in the X-CSRF-Token header of writes")


class SuggestionCreated(Out):
    id: int
    receipt_code: str = Field(description="what the resident quotes (e.g. on the phone)")
    follow_url: str = Field(description="the resident's private page (keep it secret)")
    token: str
    owner: RouteOut
    message: str


class PublicPhoto(Out):
    url: str
    thumbnail: str
    width: int | None
    height: int | None


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


class PublicEvent(Out):
    kind: str
    label: str = Field(description="what happened, in the reader's language")
    at: str | None
    note: str | None


class FollowView(SuggestionView):
    """The resident's private view: the public one, their contact details and the history."""

    receipt_code: str | None
    hidden: bool
    your_nickname: str | None
    your_phone: str | None
    history: list[PublicEvent]


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
