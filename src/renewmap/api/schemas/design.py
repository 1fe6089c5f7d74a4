"""Micro-renewal sites: designers' drafts and their measures, the participatory process,
residents' consultation, plants and their adopters."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from renewmap.api.schemas.common import Geometry, Number, Out


class SiteRef(Out):
    code: str
    name: str | None


class BillLine(Out):
    """One line of a cost estimate: the item and unit as people read them (in their language),
    their codes beside them, the cost to the yuan."""

    code: str = Field(description="e.g. green:shrub, path:permeable_concrete, facility:bench")
    item: str = Field(description="e.g. 种植池 · 灌木")
    quantity: Number
    unit: str = Field(description="㎡, 株, 个 (m², nr in English)")
    unit_code: Literal["m2", "plant", "each"]
    unit_cost: Number
    cost: int = Field(description="quantity × unit cost, to the yuan")


class Metrics(Out):
    """What a draft measures: areas, lengths, plants, facilities, seasons, the bill."""

    site_area_m2: Number
    green_area_m2: Number
    green_ratio: Number | None
    hard_area_m2: Number
    green_by_layer_m2: dict[str, Number]
    path_length_m: dict[str, Number]
    path_length_by_width_m: dict[str, Number]
    plants_by_layer: dict[str, int]
    plants_by_species: dict[str, int]
    facilities: dict[str, int]
    seasons: list[str]
    all_seasons: bool
    bill: list[BillLine]
    total_cost: Number


class Violation(Out):
    """A broken rule: the feature, the rule, and what it clashes with (when something)."""

    feature: str = Field(description="the feature's id in the collection (for the drawing page)")
    rule: str
    message: str = Field(description="the feature named as people name it, in their language")
    feature_name: str = Field(description="种植池「睦邻花圃」, 3号步道…")
    building: str | None = None
    other: str | None = None
    other_name: str | None = None


class DesignFeature(Out):
    type: Literal["Feature"]
    id: str
    geometry: Geometry
    properties: dict[str, Any] = Field(description="kind (zone, green, plant…) and its fields")


class DesignFeatures(Out):
    type: Literal["FeatureCollection"]
    features: list[DesignFeature]


class ExportedDraft(Out):
    """A draft exported as GeoJSON (``export.geojson``; GeoPackage and DXF hold the same)."""

    type: Literal["FeatureCollection"]
    name: str = Field(description="site · draft")
    features: list[DesignFeature]


class AdoptedRequest(Out):
    id: int
    title: str


class DraftOut(Out):
    id: int
    number: int
    name: str
    version: int
    public: bool
    site: SiteRef
    community: str
    copied_from: int | None
    adopts: list[AdoptedRequest] = Field(description="the residents' suggestions it takes up")
    features: DesignFeatures
    metrics: Metrics
    violations: list[Violation]


class DraftListItem(Out):
    id: int
    number: int
    name: str
    version: int
    public: bool
    copied_from: int | None
    updated_at: str | None


class Evaluation(Out):
    metrics: Metrics
    violations: list[Violation]


class Comparison(Out):
    a: DraftOut
    b: DraftOut
    difference: dict[str, Number | None] = Field(description="b minus a")


class Standards(Out):
    community: str
    unit_costs: dict[str, dict[str, Number]]
    rules: dict[str, Number]
    overrides: dict[str, Any] = Field(description="what the community changed ({}: defaults)")


# --- the participatory process ------------------------------------------------------------------


class AttachmentOut(Out):
    id: int
    filename: str
    content_type: str
    url: str


class Step(Out):
    stage: str
    label: str = Field(description="the step as the Gaojing guideline names it (社区调研…)")
    number: int
    state: Literal["done", "current", "upcoming"]
    starts_on: str | None
    ends_on: str | None
    minutes: str | None
    attachments: list[AttachmentOut]


class Timeline(Out):
    community: str
    site: SiteRef
    stage: str | None
    residents_may: list[str]
    steps: list[Step]


class SitePhoto(Out):
    id: int
    taken_on: str
    caption: str | None
    url: str
    thumbnail: str
    width: int | None
    height: int | None


class SitePhotos(Out):
    site: str
    before: list[SitePhoto]
    after: list[SitePhoto]


class SiteListItem(Out):
    code: str
    name: str | None
    stage: str | None
    residents_may: list[str]
    photos: int


class SiteInfo(Out):
    code: str
    name: str | None
    geometry: Geometry


class DraftComment(Out):
    id: int
    body: str
    nickname: str | None
    created_at: str | None
    geometry: Geometry | None


class PublicDraft(Out):
    number: int
    name: str
    features: DesignFeatures
    metrics: Metrics
    adopts: list[AdoptedRequest]
    comments: list[DraftComment]
    votes: int | None = Field(description="None until the results may be shown")


class Consultation(Out):
    community: str
    site: SiteInfo
    stage: str | None
    residents_may: list[str]
    results_visible: bool
    my_vote: int | None
    drafts: list[PublicDraft]


class Vote(Out):
    site: str
    my_vote: int


# --- plants -------------------------------------------------------------------------------------


class SpeciesOut(Out):
    name_zh: str | None
    latin: str | None
    seasons: list[str]


class CareOut(Out):
    kind: str
    note: str | None
    by: str | None
    on: str
    at: str  # the moment (ISO 8601, with offset): pages show it in the community's time zone
    photo: str | None
    thumbnail: str | None


class PlantCard(Out):
    """A plant's public growth ID card."""

    id: int
    code: str | None
    name: str | None
    species: SpeciesOut
    layer: str | None
    planted_on: str | None
    adoptable: bool
    adopter: str | None
    adopted_on: str | None
    care: list[CareOut]
