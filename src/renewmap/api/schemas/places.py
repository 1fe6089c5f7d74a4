"""Places: health, communities, who owns a location, walking coverage."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from renewmap.api.schemas.common import Geometry, Number, Out


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["sqlite", "postgresql"]
    version: str


class Live(BaseModel):
    status: Literal["ok"] = Field(description="the process answers (no database involved)")


class Ready(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable", "schema_outdated"]
    detail: str | None = None


class RefOut(BaseModel):
    code: str
    name: str
    level: str | None = None
    kind: str | None = Field(
        None,
        description="on the general branch: what the community calls its top level "
        "(general_branch 党总支, party_committee 社区党委)",
    )


class RouteOut(BaseModel):
    """Who owns a location, and the chain above."""

    rule: Literal["building", "inside", "boundary", "overlap", "community", "snapped"]
    community: RefOut
    grid: RefOut | None
    branch: RefOut | None
    general_branch: RefOut | None
    subdistrict: RefOut | None
    building: RefOut | None = Field(
        None, description="the building a point is in or at (within 10 m), e.g. 17号楼"
    )
    building_group: RefOut | None = Field(
        None, description="the building party group (楼组党小组) serving it there"
    )
    distance_m: float | None = Field(None, description="distance snapped over (rule snapped)")
    grid_set_version: int | None
    chain: list[RefOut] = Field(
        description="building group (if any) → grid branch → … → general branch → subdistrict"
    )
    message: str


class CommunityOut(BaseModel):
    code: str
    name: str
    subdistrict: RefOut | None
    bbox: tuple[float, float, float, float]
    grid_set_version: int
    layers: list[str]
    attribution: str | None = None


class Place(Out):
    """A named place of the community, where a pin goes when it is chosen."""

    kind: Literal["building", "site", "facility", "grid", "green", "water", "compound"]
    id: int
    name: str = Field(description="as people name it: 17号楼, 睦邻微花园, 第3网格")
    lon: float = Field(description="a point inside it (WGS84)")
    lat: float
    bbox: tuple[float, float, float, float]


class PlaceList(Out):
    places: list[Place]
    more: bool = Field(description="more places match than were listed: search with more words")


class CoveredBuilding(Out):
    building: str = Field(description="its number (e.g. 17号楼), or its id when it has none")
    households: int
    distance_m: Number | None = Field(description="walking distance to the nearest destination")
    covered: bool
    method: str = Field(description="how the distance was measured (paths, or straight line)")


class CoverageFeature(Out):
    type: Literal["Feature"]
    id: int
    geometry: Geometry
    properties: CoveredBuilding


class CoverageFeatures(Out):
    type: Literal["FeatureCollection"]
    features: list[CoverageFeature]


class Coverage(Out):
    """Buildings within walking distance of a green space or a site."""

    community: str
    radius_m: Number
    buildings: int
    buildings_covered: int
    share_buildings: Number | None
    households: int
    households_covered: int
    share_households: Number | None
    features: CoverageFeatures
