"""Reads for vector tiles: PostGIS encodes the whole tile in SQL (ST_AsMVT); on SpatiaLite the
rows come back as WKB and ``renewmap.spatial.tiles`` encodes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, func, literal_column, select
from sqlalchemy.orm import Session

from renewmap.db.dialect import Bounds, bbox_centre, bbox_filter, floor_int, geometry_wkb
from renewmap.db.queries.ogc import property_columns
from renewmap.spatial.tiles import BUFFER, EXTENT, WEB_MERCATOR

Properties = Sequence[tuple[str, ColumnElement[Any]]]


def postgis_tile(
    session: Session,
    *,
    model: Any,
    properties: Properties,
    where: ColumnElement[bool],
    bounds: Bounds,
    z: int,
    x: int,
    y: int,
    layer: str,
) -> bytes:
    """One MVT layer made by PostGIS: rows found through the GiST index with the tile's
    WGS84 box, projected to EPSG:3857 (integer SRID), clipped with a buffer, encoded."""
    envelope = func.ST_TileEnvelope(z, x, y)
    columns, joined = property_columns(model, properties)
    rows = (
        select(
            model.id.label("id"),
            *(column.label(name) for (name, _), column in zip(properties, columns, strict=True)),
            func.ST_AsMVTGeom(
                func.ST_Transform(model.geom, WEB_MERCATOR), envelope, EXTENT, BUFFER, True
            ).label("mvt_geom"),
        )
        .select_from(joined)
        .where(bbox_filter(session, model.__table__, bounds, exact=False), where)
        .subquery("tile_rows")
    )
    mvt = func.ST_AsMVT(
        literal_column("tile_rows"), layer, EXTENT, "mvt_geom", "id", type_=LargeBinary
    )
    # no "mvt_geom IS NOT NULL" here: PostgreSQL would push it into the scan and clip every
    # geometry twice; ST_AsMVT skips the rows whose clipped geometry is NULL by itself
    encoded = select(mvt).select_from(rows)
    data = session.execute(encoded).scalar_one()
    return bytes(data or b"")


def tile_rows(
    session: Session,
    *,
    model: Any,
    properties: Properties,
    where: ColumnElement[bool],
    bounds: Bounds,
) -> list[tuple[Any, ...]]:
    """Rows in the tile's WGS84 box: ``(id, WKB, property values…)``, found through the
    spatial index (candidates: the encoder clips them exactly)."""
    columns, joined = property_columns(model, properties)
    query = (
        select(model.id, geometry_wkb(session, model.geom), *columns)
        .select_from(joined)
        .where(bbox_filter(session, model.__table__, bounds, exact=False), where)
    )
    return [tuple(r) for r in session.execute(query)]


def more_than(
    session: Session,
    *,
    model: Any,
    where: ColumnElement[bool],
    bounds: Bounds,
    cap: int,
) -> bool:
    """Whether more than ``cap`` rows are candidates for the tile (reads at most cap + 1)."""
    some = (
        select(model.id)
        .where(bbox_filter(session, model.__table__, bounds, exact=False), where)
        .limit(cap + 1)
        .subquery()
    )
    return int(session.execute(select(func.count()).select_from(some)).scalar_one()) > cap


def overview_cells(
    session: Session,
    *,
    model: Any,
    where: ColumnElement[bool],
    bounds: Bounds,
    cells: int,
) -> list[tuple[int, int, int, float, float]]:
    """The rows of the tile counted in ``cells`` × ``cells`` cells of its box (by the centre
    of each row's bounding box, read from the index entry's box without parsing geometry):
    ``(column, row, count, mean x, mean y)`` per non-empty cell."""
    west, south, east, north = bounds
    cx, cy = bbox_centre(session, model.geom)
    dx, dy = (east - west) / cells, (north - south) / cells
    column = floor_int(session, (cx - west) / dx)
    row = floor_int(session, (cy - south) / dy)
    query = (
        select(column, row, func.count(), func.avg(cx), func.avg(cy))
        .where(
            bbox_filter(session, model.__table__, bounds, exact=False),
            where,
            cx >= west,
            cx < east,
            cy >= south,
            cy < north,
        )
        .group_by(column, row)
    )
    rows = session.execute(query)
    return [(int(c), int(r), int(n), float(x), float(y)) for c, r, n, x, y in rows]
