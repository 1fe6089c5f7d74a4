"""Vector tiles of the OGC collections (WebMercatorQuad, Mapbox Vector Tile).

Large layers (every building of a subdistrict, 20,000 suggestions) reach the map as tiles:
only what is in view, at the detail of the zoom. The same collections, properties and
visibility as OGC API – Features (``protocols.ogc.collections``): a tile never shows a row the
caller could not read as a feature.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

from renewmap.db.dialect import dialect_name
from renewmap.db.models import Community
from renewmap.db.queries import tiles
from renewmap.db.queries.ogc import CodeLookup
from renewmap.errors import InvalidInput
from renewmap.protocols.ogc.collections import CollectionDef, filter_condition, get_collection
from renewmap.services.access.accounts import Principal
from renewmap.spatial.tiles import (
    BUFFER,
    EXTENT,
    MAX_ZOOM,
    MVT_MEDIA_TYPE,
    TILE_MATRIX_SET,
    check_tile,
    encode_tile,
    tile_bounds_lonlat,
)


def collection_tile(
    session: Session,
    *,
    collection_id: str,
    z: int,
    x: int,
    y: int,
    principal: Principal | None = None,
    community_code: str | None = None,
) -> bytes:
    """One tile of a collection as MVT bytes (empty bytes when nothing is in it); the layer
    is named after the collection, feature ids are the rows' ids. ``community_code``: only
    that community's features (a community's page draws its own buildings, not the
    neighbours')."""
    collection = get_collection(collection_id, principal=principal)
    check_tile(z, x, y)
    where = filter_condition(session, collection, principal=principal)
    if community_code is not None:
        where = and_(where, community_condition(collection, community_code))
    bounds = tile_bounds_lonlat(z, x, y)
    if dialect_name(session) == "postgresql":
        return tiles.postgis_tile(
            session,
            model=collection.model,
            properties=collection.properties,
            where=where,
            bounds=bounds,
            z=z,
            x=x,
            y=y,
            layer=collection.id,
        )
    rows = tiles.tile_rows(
        session,
        model=collection.model,
        properties=collection.properties,
        where=where,
        bounds=bounds,
    )
    names = [name for name, _ in collection.properties]
    return encode_tile(
        [r[0] for r in rows],
        shapely.from_wkb([bytes(r[1]) if r[1] is not None else None for r in rows]),
        [dict(zip(names, r[2:], strict=True)) for r in rows],
        z=z,
        x=x,
        y=y,
        layer=collection.id,
    )


def community_condition(collection: CollectionDef, community_code: str) -> ColumnElement[bool]:
    """Rows of one community, through the collection's ``community`` property."""
    if collection.model is Community:
        return Community.code == community_code
    column = dict(collection.properties).get("community")
    if column is None:
        raise InvalidInput(
            "collection '{collection}' has no community to filter on",
            key="ogc_tiles_no_community",
            collection=collection.id,
            field="community",
        )
    if isinstance(column, CodeLookup):
        return column.matches(community_code)
    return column == community_code


def tilesets(
    *, collection_id: str, base_url: str, principal: Principal | None = None
) -> dict[str, Any]:
    """OGC API – Tiles: the tilesets of a collection (one: WebMercatorQuad vector tiles)."""
    collection = get_collection(collection_id, principal=principal)
    return {
        "tilesets": [tileset(collection_id=collection.id, base_url=base_url, principal=principal)]
    }


def tileset(
    *, collection_id: str, base_url: str, principal: Principal | None = None
) -> dict[str, Any]:
    """OGC API – Tiles tileset metadata with the URL template a map library needs."""
    collection = get_collection(collection_id, principal=principal)
    here = f"{base_url}/ogc/collections/{collection.id}/tiles/{TILE_MATRIX_SET}"
    return {
        "title": collection.title,
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "layers": [
            {
                "id": collection.id,
                "dataType": "vector",
                "propertiesSchema": {
                    "type": "object",
                    "properties": {name: {} for name, _ in collection.properties},
                },
            }
        ],
        "extent": EXTENT,
        "buffer": BUFFER,
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "links": [
            {"rel": "self", "type": "application/json", "href": here},
            {
                "rel": "item",
                "type": MVT_MEDIA_TYPE,
                "title": f"{collection.title} (Mapbox Vector Tiles)",
                "href": here + "/{z}/{x}/{y}",
                "templated": True,
            },
        ],
    }
