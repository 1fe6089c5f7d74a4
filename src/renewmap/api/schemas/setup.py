"""Setting a community up: the official committees, overlaps, buildings."""

from __future__ import annotations

from typing import Any

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


class StairwellOut(Out):
    number: str = Field(description="as residents say it (2单元)")
    households: int | None


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
    stairwells: list[StairwellOut] = Field(
        default_factory=list, description="its stairwells (单元), by number"
    )


class SetupCommunity(Out):
    code: str
    name: str
    state: str = Field(description="setup (hidden from residents) or published")


class SetupStatus(Out):
    """Where a community's setup stands, step by step."""

    code: str
    name: str
    state: str = Field(description="setup (hidden from residents) or published")
    outline: dict[str, Any]
    buildings: int
    numbered: int = Field(description="buildings with a number")
    grids: int
    grid_drafts: int
    branch_problems: int = Field(
        description="what the branch chain still lacks (a grid without a branch, an empty "
        "branch, no general branch)"
    )


class OutlineFileOut(Out):
    compounds: list[str] = Field(description="an OSM extract's named compounds to choose from")
    outline: dict[str, Any] | None = Field(description="GeoJSON geometry (WGS84), once chosen")


class FileBuilding(Out):
    id: str = Field(description="its source id (OSM id or the file's code)")
    label: str
    share_inside: Number = Field(description="share of its footprint inside the outline")
    area_m2: Number
    point: list[float]


class SavedCounts(Out):
    created: int
    updated: int
    unchanged: int
    roads: int = Field(0, description="roads and paths inside the outline (an OSM extract's)")


class BuildingsFileOut(Out):
    inside: list[FileBuilding] = Field(description="taken: mostly inside the outline")
    outside: list[FileBuilding] = Field(description="near but mostly outside: yes or no")
    saved: SavedCounts | None = Field(description="what was imported (with save)")


class InvitationOut(Out):
    link: str = Field(description="the one-time link (shown once)")
    username: str
    display_name: str
    expires_at: str


class ChainBranchOut(Out):
    code: str
    name: str
    grids: list[str] = Field(description="the codes of the grids it owns")


class ChainGeneralOut(Out):
    code: str
    name: str


class ChainGridOut(Out):
    code: str
    name: str
    branch: str | None = Field(description="its party branch's code (None: none yet)")


class ChainProblemOut(Out):
    kind: str = Field(description="no_general, grid_without_branch or empty_branch")
    message: str = Field(description="in the reader's language")
    branch: str | None
    grid: str | None


class BranchChainOut(Out):
    """A community's branch chain: its general branch, the grid party branches under it and
    the grids each owns, and what is still missing."""

    community: str
    top_level: str = Field(description="general_branch (党总支) or party_committee (社区党委)")
    general: ChainGeneralOut | None
    branches: list[ChainBranchOut]
    grids: list[ChainGridOut]
    problems: list[ChainProblemOut]
