"""Vector tiles of the OGC collections (WebMercatorQuad, Mapbox Vector Tile).

Large layers (every building of a subdistrict, 20,000 suggestions) reach the map as tiles:
only what is in view, at the detail of the zoom. The same collections, properties and
visibility as OGC API – Features (``protocols.ogc.collections``): a tile never shows a row the
caller could not read as a feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
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

# A tile carries at most this many features and this many bytes; beyond either (and below the
# collection's minimum zoom) it carries the overview instead: counts in 16 × 16 cells.
FEATURE_CAP = 25_000
BYTE_BUDGET = 4 * 1024 * 1024
OVERVIEW_CELLS = 16
OVERVIEW_SUFFIX = "_overview"


@dataclass(frozen=True)
class Tile:
    """An encoded tile: the collection's features, or its overview (``{id}_overview``:
    points with ``count``, one per non-empty cell)."""

    data: bytes
    overview: bool


def collection_tile(
    session: Session,
    *,
    collection_id: str,
    z: int,
    x: int,
    y: int,
    principal: Principal | None = None,
    community_code: str | None = None,
) -> Tile:
    """One tile of a collection as MVT; the layer is named after the collection, feature ids
    are the rows' ids. ``community_code``: only that community's features (a community's page
    draws its own buildings, not the neighbours').

    Bounded: below the collection's ``min_zoom`` (unless one community's), over
    ``FEATURE_CAP`` candidates or over ``BYTE_BUDGET`` encoded, the tile is the overview (a
    z0 tile of a city's million requests was 166 MB)."""
    collection = get_collection(collection_id, principal=principal)
    check_tile(z, x, y)
    where = filter_condition(session, collection, principal=principal)
    if community_code is not None:
        where = and_(where, community_condition(collection, community_code))
    bounds = tile_bounds_lonlat(z, x, y)
    model = collection.model
    # a community's own features are few whatever the zoom (its page draws them from tiles
    # when zoomed out too): there only the cap and the budget apply
    shallow = community_code is None and z < collection.min_zoom
    if shallow or tiles.more_than(
        session, model=model, where=where, bounds=bounds, cap=FEATURE_CAP
    ):
        return Tile(overview_tile(session, collection, where, z=z, x=x, y=y), overview=True)
    if dialect_name(session) == "postgresql":
        data = tiles.postgis_tile(
            session,
            model=model,
            properties=collection.properties,
            where=where,
            bounds=bounds,
            z=z,
            x=x,
            y=y,
            layer=collection.id,
        )
    else:
        rows = tiles.tile_rows(
            session, model=model, properties=collection.properties, where=where, bounds=bounds
        )
        names = [name for name, _ in collection.properties]
        data = encode_tile(
            [r[0] for r in rows],
            shapely.from_wkb([bytes(r[1]) if r[1] is not None else None for r in rows]),
            [dict(zip(names, r[2:], strict=True)) for r in rows],
            z=z,
            x=x,
            y=y,
            layer=collection.id,
        )
    if len(data) > BYTE_BUDGET:
        return Tile(overview_tile(session, collection, where, z=z, x=x, y=y), overview=True)
    return Tile(data, overview=False)


def overview_tile(
    session: Session,
    collection: CollectionDef,
    where: ColumnElement[bool],
    *,
    z: int,
    x: int,
    y: int,
) -> bytes:
    """The tile's features counted per cell: a point at the mean of each cell's features
    with its ``count`` (at most ``OVERVIEW_CELLS``² points, however many rows)."""
    bounds = tile_bounds_lonlat(z, x, y, buffer=0)
    cells = tiles.overview_cells(
        session, model=collection.model, where=where, bounds=bounds, cells=OVERVIEW_CELLS
    )
    return encode_tile(
        [c * OVERVIEW_CELLS + r + 1 for c, r, _, _, _ in cells],
        shapely.points([(mx, my) for _, _, _, mx, my in cells]) if cells else np.empty(0, object),
        [{"count": n} for _, _, n, _, _ in cells],
        z=z,
        x=x,
        y=y,
        layer=collection.id + OVERVIEW_SUFFIX,
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
                "minzoom": collection.min_zoom,
                "maxzoom": MAX_ZOOM,
                "propertiesSchema": {
                    "type": "object",
                    "properties": {name: {} for name, _ in collection.properties},
                },
            },
            {
                "id": collection.id + OVERVIEW_SUFFIX,
                "dataType": "vector",
                "description": f"below zoom {collection.min_zoom}, and in a tile holding "
                f"more than {FEATURE_CAP} features or {BYTE_BUDGET // 1024 // 1024} MB: "
                "points with the count of the features in each 16th of the tile",
                "minzoom": 0,
                "maxzoom": MAX_ZOOM,
                "propertiesSchema": {
                    "type": "object",
                    "properties": {"count": {"type": "integer"}},
                },
            },
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
