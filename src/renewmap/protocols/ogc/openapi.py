"""The OpenAPI 3.0 definition of ``/ogc`` (conformance class oas30), built from the registry.

FastAPI describes the whole app in OpenAPI 3.1 at ``/openapi.json``; OGC clients (GDAL, QGIS,
OWSLib) read 3.0 from the landing page's ``service-desc`` link. Generic paths
(``/collections/{collectionId}/items``) and one set of concrete paths per collection are
listed, the latter with each collection's property types, so a client can read the limit's
maximum, the parameters and the feature schema of the collection it opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from renewmap import __version__
from renewmap.protocols.ogc.collections import COLLECTIONS, CollectionDef, json_type
from renewmap.protocols.ogc.features import (
    CRS84,
    DEFAULT_LIMIT,
    GEOJSON,
    JSON,
    JSON_SCHEMA,
    MAX_LIMIT,
    OPENAPI,
    Call,
    Document,
    dumps,
)


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _parameters() -> dict[str, Any]:
    return {
        "f": {
            "name": "f",
            "in": "query",
            "required": False,
            "description": "The format of the answer (instead of the Accept header).",
            "schema": {"type": "string", "enum": ["json"]},
        },
        "fFeatures": {
            "name": "f",
            "in": "query",
            "required": False,
            "description": "The format of the answer; both values give GeoJSON "
            "(application/geo+json).",
            "schema": {"type": "string", "enum": ["json", "geojson"]},
        },
        "lang": {
            "name": "lang",
            "in": "query",
            "required": False,
            "description": "Language of titles and descriptions (zh_CN, the default, or en); "
            "Accept-Language is used otherwise.",
            "schema": {"type": "string", "enum": ["zh_CN", "zh", "en"]},
        },
        "limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": f"How many features a page holds (at most {MAX_LIMIT:,}; "
            "more is served as the maximum).",
            "style": "form",
            "explode": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        "offset": {
            "name": "offset",
            "in": "query",
            "required": False,
            "description": "How many matching features to skip (the next link carries it).",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "after": {
            "name": "after",
            "in": "query",
            "required": False,
            "description": "Only features with an id above this one (keyset paging: the next "
            "link carries the page's last id; as fast on a deep page as on the first).",
            "schema": {"type": "integer", "minimum": 0},
        },
        "before": {
            "name": "before",
            "in": "query",
            "required": False,
            "description": "The page of features just below this id (the prev link carries the "
            "page's first id); not together with after.",
            "schema": {"type": "integer", "minimum": 0},
        },
        "bbox": {
            "name": "bbox",
            "in": "query",
            "required": False,
            "description": "Only features whose bounding box intersects this box: "
            "minLon,minLat,maxLon,maxLat in CRS84 (6 numbers with heights are accepted; "
            "the heights are ignored).",
            "style": "form",
            "explode": False,
            "schema": {
                "type": "array",
                "minItems": 4,
                "maxItems": 6,
                "items": {"type": "number"},
            },
        },
        "bbox-crs": {
            "name": "bbox-crs",
            "in": "query",
            "required": False,
            "description": "The CRS of bbox; only CRS84.",
            "schema": {"type": "string", "format": "uri", "enum": [CRS84]},
        },
        "crs": {
            "name": "crs",
            "in": "query",
            "required": False,
            "description": "The CRS of the answer (Part 2); only CRS84.",
            "schema": {"type": "string", "format": "uri", "enum": [CRS84]},
        },
        "datetime": {
            "name": "datetime",
            "in": "query",
            "required": False,
            "description": "An RFC 3339 instant, a date (that whole day) or an interval "
            "start/end with '..' for an open end, e.g. 2024-05-01/.. . Collections without a "
            "time ignore it.",
            "style": "form",
            "explode": False,
            "schema": {"type": "string"},
        },
        "collectionId": {
            "name": "collectionId",
            "in": "path",
            "required": True,
            "description": "The collection's id (see /collections).",
            "schema": {"type": "string"},
        },
        "featureId": {
            "name": "featureId",
            "in": "path",
            "required": True,
            "description": "The feature's id (the row id, an integer).",
            "schema": {"type": "string"},
        },
    }


def _link_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
    }


def _links() -> dict[str, Any]:
    return {"type": "array", "items": _ref("schemas", "link")}


def _geometry_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {
            "type": {
                "type": "string",
                "enum": [
                    "Point",
                    "MultiPoint",
                    "LineString",
                    "MultiLineString",
                    "Polygon",
                    "MultiPolygon",
                ],
            },
            "coordinates": {"type": "array", "items": {}},
        },
    }


def _property_schema(expr: Any) -> dict[str, Any]:
    return {**json_type(expr), "nullable": True}


def _feature_schema(properties: dict[str, Any] | None) -> dict[str, Any]:
    props: dict[str, Any] = {"type": "object", "nullable": True}
    if properties is not None:
        props["properties"] = properties
    return {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {**_ref("schemas", "geometryGeoJSON")},
            "properties": props,
            "links": _links(),
        },
    }


def _collection_schema(feature_ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": feature_ref},
            "links": _links(),
            "timeStamp": {"type": "string", "format": "date-time"},
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
        },
    }


def _schemas(collections: Mapping[str, CollectionDef]) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "exception": {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
        },
        "link": _link_schema(),
        "landingPage": {
            "type": "object",
            "required": ["links"],
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": _links(),
            },
        },
        "confClasses": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
        },
        "extent": {
            "type": "object",
            "properties": {
                "spatial": {
                    "type": "object",
                    "properties": {
                        "bbox": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "array",
                                "minItems": 4,
                                "maxItems": 6,
                                "items": {"type": "number"},
                            },
                        },
                        "crs": {"type": "string", "enum": [CRS84], "default": CRS84},
                    },
                },
                "temporal": {
                    "type": "object",
                    "properties": {
                        "interval": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "array",
                                "minItems": 2,
                                "maxItems": 2,
                                "items": {
                                    "type": "string",
                                    "format": "date-time",
                                    "nullable": True,
                                },
                            },
                        },
                        "trs": {"type": "string"},
                    },
                },
            },
        },
        "collection": {
            "type": "object",
            "required": ["id", "links"],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": _links(),
                "extent": _ref("schemas", "extent"),
                "itemType": {"type": "string", "default": "feature"},
                "crs": {"type": "array", "items": {"type": "string"}, "default": [CRS84]},
                "storageCrs": {"type": "string"},
                "attribution": {"type": "string"},
            },
        },
        "collections": {
            "type": "object",
            "required": ["links", "collections"],
            "properties": {
                "links": _links(),
                "collections": {"type": "array", "items": _ref("schemas", "collection")},
            },
        },
        "geometryGeoJSON": _geometry_schema(),
        "featureGeoJSON": _feature_schema(None),
        "featureCollectionGeoJSON": _collection_schema(_ref("schemas", "featureGeoJSON")),
    }
    for c in collections.values():
        props = {name: _property_schema(expr) for name, expr in c.properties}
        schemas[f"{c.id}Feature"] = _feature_schema(props)
        schemas[f"{c.id}FeatureCollection"] = _collection_schema(_ref("schemas", f"{c.id}Feature"))
    return schemas


def _content(media: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {media: {"schema": schema}}


def _responses() -> dict[str, Any]:
    def error(description: str) -> dict[str, Any]:
        return {"description": description, "content": _content(JSON, _ref("schemas", "exception"))}

    return {
        "LandingPage": {
            "description": "The landing page: links to the API definition, the conformance "
            "declaration and the collections.",
            "content": _content(JSON, _ref("schemas", "landingPage")),
        },
        "ConformanceDeclaration": {
            "description": "The conformance classes this server implements.",
            "content": _content(JSON, _ref("schemas", "confClasses")),
        },
        "Collections": {
            "description": "The collections the caller may read.",
            "content": _content(JSON, _ref("schemas", "collections")),
        },
        "Collection": {
            "description": "One collection: title, extent, CRS and links.",
            "content": _content(JSON, _ref("schemas", "collection")),
        },
        "Features": {
            "description": "A page of features (GeoJSON FeatureCollection).",
            "content": {
                GEOJSON: {"schema": _ref("schemas", "featureCollectionGeoJSON")},
                JSON: {"schema": _ref("schemas", "featureCollectionGeoJSON")},
            },
        },
        "Feature": {
            "description": "One feature (GeoJSON Feature).",
            "content": {
                GEOJSON: {"schema": _ref("schemas", "featureGeoJSON")},
                JSON: {"schema": _ref("schemas", "featureGeoJSON")},
            },
        },
        "InvalidParameter": error("A query parameter is unknown, repeated or has a bad value."),
        "Unauthenticated": error("The collection is for staff: send a valid API token."),
        "Forbidden": error("The account has no area with requests."),
        "NotFound": error("No such collection or feature (or not in the caller's area)."),
        "NotAcceptable": error("The Accept header allows none of the media types served."),
        "ServerError": error("A server error."),
    }


def _errors(*codes: str) -> dict[str, Any]:
    names = {
        "400": "InvalidParameter",
        "401": "Unauthenticated",
        "403": "Forbidden",
        "404": "NotFound",
        "406": "NotAcceptable",
        "500": "ServerError",
    }
    return {code: _ref("responses", names[code]) for code in codes}


def _get(
    operation_id: str,
    summary: str,
    parameters: list[str],
    ok: dict[str, Any],
    errors: tuple[str, ...],
    *,
    tag: str,
    security: list[dict[str, list[str]]] | None = None,
    path_parameters: tuple[str, ...] = (),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "parameters": [_ref("parameters", p) for p in (*path_parameters, *parameters)],
        "responses": {"200": ok, **_errors(*errors)},
    }
    if security is not None:
        op["security"] = security
    return {"get": op}


def _feature_responses(c: CollectionDef | None, *, single: bool) -> dict[str, Any]:
    if c is None:
        return _ref("responses", "Feature" if single else "Features")
    schema = _ref("schemas", f"{c.id}Feature" if single else f"{c.id}FeatureCollection")
    return {
        "description": f"{'One feature' if single else 'A page of features'} of {c.title}.",
        "content": {GEOJSON: {"schema": schema}, JSON: {"schema": schema}},
    }


ITEM_PARAMETERS = [
    "limit",
    "offset",
    "after",
    "before",
    "bbox",
    "bbox-crs",
    "datetime",
    "crs",
    "fFeatures",
    "lang",
]
OPTIONAL_TOKEN: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]
TOKEN: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _paths(collections: Mapping[str, CollectionDef]) -> dict[str, Any]:
    doc_errors = ("400", "406", "500")
    read_errors = ("400", "401", "403", "404", "406", "500")
    paths: dict[str, Any] = {
        "/": _get(
            "getLandingPage",
            "Landing page",
            ["f", "lang"],
            _ref("responses", "LandingPage"),
            doc_errors,
            tag="Capabilities",
        ),
        "/api": {
            "get": {
                "operationId": "getAPI",
                "summary": "This API definition (OpenAPI 3.0)",
                "tags": ["Capabilities"],
                "parameters": [_ref("parameters", "f")],
                "responses": {
                    "200": {
                        "description": "The API definition.",
                        "content": {OPENAPI: {"schema": {"type": "object"}}},
                    },
                    **_errors(*doc_errors),
                },
            }
        },
        "/conformance": _get(
            "getConformanceDeclaration",
            "Conformance classes",
            ["f", "lang"],
            _ref("responses", "ConformanceDeclaration"),
            doc_errors,
            tag="Capabilities",
        ),
        "/collections": _get(
            "getCollections",
            "The collections (staff-only ones listed to staff with an area)",
            ["f", "lang"],
            _ref("responses", "Collections"),
            ("400", "401", "406", "500"),
            tag="Capabilities",
            security=OPTIONAL_TOKEN,
        ),
        "/collections/{collectionId}": _get(
            "describeCollection",
            "One collection",
            ["f", "lang"],
            _ref("responses", "Collection"),
            read_errors,
            tag="Capabilities",
            security=OPTIONAL_TOKEN,
            path_parameters=("collectionId",),
        ),
        "/collections/{collectionId}/items": _get(
            "getFeatures",
            "A page of a collection's features",
            ITEM_PARAMETERS,
            _feature_responses(None, single=False),
            read_errors,
            tag="Data",
            security=OPTIONAL_TOKEN,
            path_parameters=("collectionId",),
        ),
        "/collections/{collectionId}/items/{featureId}": _get(
            "getFeature",
            "One feature",
            ["crs", "fFeatures", "lang"],
            _feature_responses(None, single=True),
            read_errors,
            tag="Data",
            security=OPTIONAL_TOKEN,
            path_parameters=("collectionId", "featureId"),
        ),
        "/collections/{collectionId}/schema": {
            "get": {
                "operationId": "getSchema",
                "summary": "JSON Schema of a collection's features",
                "tags": ["Capabilities"],
                "security": OPTIONAL_TOKEN,
                "parameters": [_ref("parameters", "collectionId"), _ref("parameters", "lang")],
                "responses": {
                    "200": {
                        "description": "A JSON Schema.",
                        "content": {JSON_SCHEMA: {"schema": {"type": "object"}}},
                    },
                    **_errors(*read_errors),
                },
            }
        },
    }
    for c in collections.values():
        security = TOKEN if c.staff_only else None
        errors = read_errors if c.staff_only else ("400", "404", "406", "500")
        tag = c.title
        paths[f"/collections/{c.id}"] = _get(
            f"describe_{c.id}",
            c.title,
            ["f", "lang"],
            _ref("responses", "Collection"),
            errors,
            tag=tag,
            security=security,
        )
        paths[f"/collections/{c.id}/items"] = _get(
            f"getFeatures_{c.id}",
            f"{c.title}: a page of features",
            ITEM_PARAMETERS,
            _feature_responses(c, single=False),
            errors,
            tag=tag,
            security=security,
        )
        paths[f"/collections/{c.id}/items/{{featureId}}"] = _get(
            f"getFeature_{c.id}",
            f"{c.title}: one feature",
            ["crs", "fFeatures", "lang"],
            _feature_responses(c, single=True),
            errors,
            tag=tag,
            security=security,
            path_parameters=("featureId",),
        )
    return paths


def openapi_document(
    base: str, collections: Mapping[str, CollectionDef], *, version: str
) -> dict[str, Any]:
    """The whole OpenAPI 3.0.3 document; ``base`` is the server URL (…/ogc)."""
    tags = [
        {"name": "Capabilities", "description": "What the server offers."},
        {"name": "Data", "description": "Features of any collection."},
    ] + [{"name": c.title, "description": c.description} for c in collections.values()]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "RenewMap OGC API – Features",
            "version": version,
            "description": "Places, micro-renewal sites and residents' suggestions of "
            "community micro-renewal, read-only, as OGC API – Features Part 1 (core, GeoJSON, "
            "OpenAPI 3.0). Coordinates are CRS84 (longitude, latitude). Data derived from "
            "OpenStreetMap is © OpenStreetMap contributors, ODbL 1.0.",
            "license": {
                "name": "ODbL 1.0 (OpenStreetMap-derived layers)",
                "url": "https://opendatacommons.org/licenses/odbl/1-0/",
            },
        },
        "servers": [{"url": base, "description": "This server"}],
        "tags": tags,
        "paths": _paths(collections),
        "components": {
            "parameters": _parameters(),
            "schemas": _schemas(collections),
            "responses": _responses(),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A staff API token (renewmap token create, or the staff "
                    "API); needed for staff-only collections.",
                }
            },
        },
    }


def openapi(call: Call) -> Document:
    """The OpenAPI 3.0 definition of the /ogc endpoints, for this server's base URL."""
    return Document(dumps(openapi_document(call.base, COLLECTIONS, version=__version__)), OPENAPI)
