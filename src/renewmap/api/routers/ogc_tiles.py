"""Mapbox Vector Tiles of the OGC collections: ``/ogc/collections/{id}/tiles/WebMercatorQuad/…``.

Thin: tiles are made by ``renewmap.protocols.ogc.tiles``. Staff-only collections need a bearer
token, as their features do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from renewmap.api.deps import BearerStaff, PublicBase, PublicSession
from renewmap.api.responses import content
from renewmap.api.routing import TransactionalRoute
from renewmap.api.schemas.ogc import Tileset, Tilesets
from renewmap.protocols.ogc import tiles
from renewmap.spatial.tiles import MVT_MEDIA_TYPE, TILE_MATRIX_SET

router = APIRouter(prefix="/ogc", tags=["ogc"], route_class=TransactionalRoute)


@router.get(
    "/collections/{collection_id}/tiles",
    response_model=Tilesets,
    response_model_exclude_unset=True,
)
def collection_tilesets(
    collection_id: str, base: PublicBase, principal: BearerStaff
) -> dict[str, Any]:
    """The collection's tilesets (OGC API – Tiles): vector tiles in WebMercatorQuad."""
    return tiles.tilesets(collection_id=collection_id, base_url=base, principal=principal)


@router.get(
    f"/collections/{{collection_id}}/tiles/{TILE_MATRIX_SET}",
    response_model=Tileset,
    response_model_exclude_unset=True,
)
def collection_tileset(
    collection_id: str, base: PublicBase, principal: BearerStaff
) -> dict[str, Any]:
    """Tileset metadata with the tile URL template."""
    return tiles.tileset(collection_id=collection_id, base_url=base, principal=principal)


@router.get(
    f"/collections/{{collection_id}}/tiles/{TILE_MATRIX_SET}/{{z}}/{{x}}/{{y}}",
    response_class=Response,
    responses=content(MVT_MEDIA_TYPE, description="one tile (empty when nothing is in it)"),
)
def collection_tile(
    collection_id: str,
    z: int,
    x: int,
    y: int,
    session: PublicSession,
    principal: BearerStaff,
    community: str | None = None,
) -> Response:
    """One Mapbox Vector Tile (layer named after the collection; empty when nothing is in it);
    ``community``: only that community's features. Below the collection's minimum zoom, or
    over the feature cap or byte budget, the layer ``{id}_overview`` instead: counts per cell
    (``X-Tile-Content: overview``)."""
    tile = tiles.collection_tile(
        session,
        collection_id=collection_id,
        z=z,
        x=x,
        y=y,
        principal=principal,
        community_code=community,
    )
    # public tiles may be cached briefly by browsers; staff tiles never by shared caches
    cache = "private, no-store" if principal is not None else "public, max-age=60"
    kind = "overview" if tile.overview else "features"
    headers = {"Cache-Control": cache, "X-Tile-Content": kind}
    return Response(tile.data, media_type=MVT_MEDIA_TYPE, headers=headers)
