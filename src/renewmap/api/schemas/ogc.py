"""OGC API - Features and Tiles documents (JSON and GeoJSON).

The routes render these from ``protocols.ogc``; the models document them. The standard's own
OpenAPI definition of ``/ogc`` is served at ``/ogc/api``. Documents may carry more members
than listed (the standard allows it), so these models accept extra keys.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from renewmap.api.schemas.common import Geometry, Out


class OgcDocument(BaseModel):
    model_config = ConfigDict(extra="allow")


class Link(OgcDocument):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None
    templated: bool | None = None


class Landing(OgcDocument):
    title: str
    description: str
    links: list[Link]


class Conformance(OgcDocument):
    conformsTo: list[str]
    links: list[Link] = Field(default_factory=list)


class Collection(OgcDocument):
    id: str
    title: str
    description: str | None = None
    itemType: str
    crs: list[str]
    storageCrs: str | None = None
    extent: dict[str, Any]
    attribution: str | None = None
    links: list[Link]


class Collections(OgcDocument):
    links: list[Link]
    collections: list[Collection]


class Feature(OgcDocument):
    type: Literal["Feature"]
    id: int | str
    geometry: Geometry | None
    properties: dict[str, Any]
    links: list[Link] = Field(default_factory=list)


class Items(OgcDocument):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberMatched: int | None = None
    numberReturned: int
    timeStamp: str
    links: list[Link]


class JsonSchema(OgcDocument):
    """The collection's features as a JSON Schema (``application/schema+json``)."""


class OpenApiDocument(OgcDocument):
    """An OpenAPI 3.0 definition."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


class TileLayer(Out):
    id: str
    dataType: str
    description: str | None = None
    minzoom: int
    maxzoom: int
    propertiesSchema: dict[str, Any]


class TileLink(Out):
    rel: str
    type: str
    href: str
    title: str | None = None
    templated: bool | None = None


class Tileset(Out):
    title: str
    dataType: str
    crs: str
    tileMatrixSetURI: str
    layers: list[TileLayer]
    extent: int
    buffer: int
    minzoom: int
    maxzoom: int
    links: list[TileLink]


class Tilesets(Out):
    tilesets: list[Tileset]
