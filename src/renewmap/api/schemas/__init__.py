"""Response and request models (also used by tests to validate bodies)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["sqlite", "postgresql"]
    version: str


class RefOut(BaseModel):
    code: str
    name: str
    level: str | None = None


class RouteOut(BaseModel):
    """Who owns a location, and the chain above."""

    rule: Literal["building", "inside", "boundary", "overlap", "community", "snapped"]
    community: RefOut
    grid: RefOut | None
    branch: RefOut | None
    general_branch: RefOut | None
    subdistrict: RefOut | None
    distance_m: float | None = Field(None, description="distance snapped over (rule snapped)")
    grid_set_version: int | None
    chain: list[RefOut]
    message: str


class CommunityOut(BaseModel):
    code: str
    name: str
    subdistrict: RefOut | None
    bbox: tuple[float, float, float, float]
    grid_set_version: int
    layers: list[str]
    attribution: str | None = None


class GeoJSONFeature(BaseModel):
    type: Literal["Feature"]
    id: int | str | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[GeoJSONFeature]


class MapPoint(BaseModel):
    id: int
    lon: float
    lat: float
    title: str
    category: str
    status: str


class MapCell(BaseModel):
    count: int = Field(ge=1)
    lon: float = Field(description="mean position of the suggestions in the cell")
    lat: float
    bbox: tuple[float, float, float, float]
    id: int | None = Field(None, description="the suggestion, when the cell holds one")


class SuggestionMapLayer(BaseModel):
    """What the residents' map draws for a view: points when few, else counts per cell."""

    mode: Literal["points", "cells"]
    numberMatched: int
    points: list[MapPoint]
    cells: list[MapCell]
