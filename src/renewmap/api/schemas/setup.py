"""Setting a community up: the official committees, overlaps, buildings."""

from __future__ import annotations

from pydantic import Field

from renewmap.api.schemas.common import Number, Out


class CommitteeOut(Out):
    """A residents' committee on the official list (NBS 2023 division codes)."""

    code: str
    name: str
    subdistrict_code: str
    subdistrict_name: str


class OverlapOut(Out):
    code: str = Field(description="the other community's code")
    name: str
    area_m2: Number
    share: Number = Field(description="share of the outline that overlaps it (0–1)")
    message: str = Field(description="the warning in the reader's language")


class OverlapsOut(Out):
    overlaps: list[OverlapOut]


class CommunityCreated(Out):
    code: str
    name: str
    subdistrict_code: str | None
    overlaps: list[OverlapOut]


class BuildingRow(Out):
    """A building as the setup table shows it."""

    ref: str = Field(description="how to name it in the building endpoints")
    label: str = Field(description="as residents name it (7号楼)")
    number: str | None
    code: str | None
    name: str | None
    osm_id: str | None
    households: int | None
    grid: str | None = Field(description="its grid's code")
    point: list[float] = Field(description="a point inside it (lon, lat), to zoom to")
