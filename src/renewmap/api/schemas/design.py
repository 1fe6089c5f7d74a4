"""Micro-renewal sites: designers' drafts and their measures, the participatory process,
residents' consultation, plants and their adopters."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from renewmap.api.schemas.common import CodeName, Geometry, Number, Out


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


class SkippedEntities(Out):
    type: str = Field(description="a DXF entity type (TEXT, DIMENSION…)")
    count: int


class ImportReport(Out):
    file: str
    features: int = Field(description="features added to the draft")
    skipped: list[SkippedEntities] = Field(description="what the file had that was not used")


class DraftOut(Out):
    id: int
    number: int
    name: str
    description: str | None = Field(None, description="the designer's plain words for residents")
    version: int
    public: bool
    site: SiteRef
    community: str
    copied_from: int | None
    adopts: list[AdoptedRequest] = Field(description="the residents' suggestions it takes up")
    features: DesignFeatures
    metrics: Metrics
    violations: list[Violation]
    imported: ImportReport | None = Field(None, description="after an import: what it took")


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


class SharedFeatures(Out):
    a: list[str] = Field(description="ids of A's features that B has alike")
    b: list[str] = Field(description="ids of B's features that A has alike")


class Comparison(Out):
    a: DraftOut
    b: DraftOut
    site_geometry: dict[str, Any] = Field(description="the site's outline (GeoJSON)")
    shared: SharedFeatures
    difference: dict[str, Number | None] = Field(
        description="b minus a (green_ratio as a share: 0.034 is 3.4 percentage points)"
    )


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


class StepMeeting(Out):
    """The meeting record that stands for a step (records' register): nobody named."""

    id: int
    title: str
    held_on: str
    attendees: int = Field(description="attendances (人次) as signed in")
    decisions: str | None


class Step(Out):
    stage: str
    label: str = Field(description="the step as the Gaojing guideline names it (社区调研…)")
    number: int
    state: Literal["done", "current", "upcoming", "skipped"] = Field(
        description="skipped: gone past without being held (see skip_reason, skipped_by)"
    )
    meeting: bool = Field(description="a joint meeting (left only with minutes or a reason)")
    meeting_records: list[StepMeeting] = Field(
        description="the joint meeting's records in the meetings register (title, day, "
        "attendances, decisions)"
    )
    starts_on: str | None
    ends_on: str | None
    minutes: str | None
    attachments: list[AttachmentOut]
    skip_reason: str | None
    skipped_by: str | None
    override_reason: str | None = Field(description="why a meeting was left without minutes")
    override_by: str | None


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
    description: str | None
    stage: str | None
    step: int | None = Field(description="the current step's number (1–14)")
    steps: int = Field(description="how many steps the process has")
    since: str | None = Field(description="when the current step started")
    residents_may: list[str]
    photos: int


class SiteInfo(Out):
    code: str
    name: str | None
    description: str | None
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
    description: str | None = Field(description="the designer's plain words")
    features: DesignFeatures
    metrics: Metrics
    changes: list[str] = Field(description="what it changes against the site now, in words")
    plan: str = Field(description="its rendered plan: add .png or .pdf (?paper=card|a3)")
    adopts: list[AdoptedRequest]
    comments: list[DraftComment]
    votes: int | None = Field(description="None until the results may be shown")


class HouseholdCount(Out):
    issued: int = Field(description="household forms handed out")
    answered: int = Field(description="households that voted")


VoteKind = Literal["household", "informal"]


class Consultation(Out):
    community: str
    site: SiteInfo
    stage: str | None
    residents_may: list[str]
    results_visible: bool
    vote: VoteKind = Field(
        description="household: one vote per household by the forms' codes; informal: one "
        "per phone, counted as an informal poll"
    )
    households: HouseholdCount | None
    my_vote: int | None = Field(description="this phone's informal vote")
    drafts: list[PublicDraft]


class Vote(Out):
    site: str
    vote: VoteKind
    my_vote: int
    household: str | None = Field(description="the household that voted (7号楼 第12户)")


class Household(Out):
    site: str
    household: str = Field(description="as people name it: 7号楼 第12户")
    my_vote: int | None = Field(description="the draft it voted for, if it did")


class DraftVotes(Out):
    number: int
    name: str
    votes: int


class VoteResults(Out):
    vote: VoteKind
    households: HouseholdCount | None
    by_draft: list[DraftVotes]


class StepDates(Out):
    stage: str
    starts_on: str | None
    ends_on: str | None


class DisplayWindow(Out):
    starts_on: str | None
    ends_on: str | None


class DraftName(Out):
    number: int
    name: str


class Decision(Out):
    site: str
    decided: bool = Field(description="false until recorded (residents: until it is on display)")
    draft: DraftName | None = None
    reasons: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    results: VoteResults | None = None
    display: DisplayWindow | None = Field(None, description="the display period (方案公示)")
    next: list[StepDates] | None = Field(None, description="construction, acceptance, maintenance")


class Objection(Out):
    id: int
    body: str
    nickname: str | None
    household: bool = Field(description="filed with a household's code")
    created_at: str | None
    answer: str | None
    answered_at: str | None


class Objections(Out):
    site: str
    objections: list[Objection]
    unanswered: int


class CatchmentBuilding(Out):
    building: str = Field(description="as people name it (7号楼)")
    households: int | None
    distance_m: Number
    issued: int
    answered: int


class Catchment(Out):
    site: str
    radius_m: Number
    buildings: list[CatchmentBuilding]


class TurnoutBuilding(Out):
    building: str
    issued: int
    answered: int
    share: Number


class Turnout(Out):
    site: str
    issued: int
    answered: int
    share: Number | None
    buildings: list[TurnoutBuilding]


class BuildPlants(Out):
    kept: int
    new: int
    removed: int = Field(description="taken out (a card with a history stays, marked removed)")


class PlantLink(Out):
    id: int
    name: str | None
    url: str


class BuildOut(Out):
    site: str
    build: int
    built_on: str
    draft: int
    layers: dict[str, int] = Field(description="features per layer now")
    zones: int = Field(description="zones of the draft (names of parts, nothing to build)")
    plants: BuildPlants
    adoptable: list[PlantLink] = Field(description="new plants open for adoption (their cards)")


class BuildItem(Out):
    id: int
    draft: int
    draft_version: int
    built_on: str
    built_by: str
    before: str = Field(description="the layers it replaced (GeoJSON)")


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
    mine: bool = Field(description="the asking phone (its device cookie) is the adopter's")
    site: CodeName | None
    community: str | None
    care: list[CareOut]


# --- sites and facilities made in the browser --------------------------------------------------


class SiteOut(Out):
    code: str
    name: str
    description: str | None
    stage: str | None
    geometry: Geometry


class FacilityOut(Out):
    id: int
    type: str | None
    name: str | None
    site: str | None = Field(description="the site it lies in")
    geometry: Geometry


class TransferCode(Out):
    """Shown on the adopter's phone, typed on the new one."""

    code: str
    expires_at: str


class ClaimIn(BaseModel):
    code: str = Field(min_length=4, max_length=20)
