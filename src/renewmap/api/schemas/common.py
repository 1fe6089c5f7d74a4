"""What every schema shares: the base of response bodies, ids, numbers, GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from renewmap.vocabulary import MAX_ID, MIN_ID

# A database id (or a version number) in a body: outside the range it names nothing.
Id = Annotated[int, Field(ge=MIN_ID, le=MAX_ID)]
# A measured or counted value: whole numbers stay whole in the JSON (0, not 0.0).
Number = int | float
# A GeoJSON geometry object (RFC 7946), WGS84 longitude first.
Geometry = dict[str, Any]


class Out(BaseModel):
    """A response body. Every key the app sends is declared: an undeclared one is an error in
    the app (and in its tests), not something that slips out unannounced."""

    model_config = ConfigDict(extra="forbid")


class CodeName(Out):
    """A place as people name it."""

    code: str
    name: str | None


class ErrorBody(BaseModel):
    """Every API error: the class of problem, the specific problem's stable code, the message
    in the reader's language, the values it names, and machine-readable details."""

    error: str
    code: str
    message: str
    params: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


class GeoJSONFeature(BaseModel):
    type: Literal["Feature"]
    id: int | str | None = None
    geometry: Geometry | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[GeoJSONFeature]
