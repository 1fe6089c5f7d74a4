"""The few places where PostGIS and SpatiaLite differ, each behind one small function."""

from __future__ import annotations

from sqlalchemy import ColumnElement, LargeBinary, Table, and_, func, literal_column, select, text
from sqlalchemy.orm import Session

Bounds = tuple[float, float, float, float]


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def bbox_filter(session: Session, table: Table, bounds: Bounds) -> ColumnElement[bool]:
    """Rows whose geometry's bounding box intersects ``bounds``, answered by the spatial index.

    PostGIS: the ``&&`` operator on the GiST index. SpatiaLite: its R*Tree is only used when
    queried explicitly through the ``SpatialIndex`` virtual table (rowid is our integer id).
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if dialect_name(session) == "postgresql":
        envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)
        return table.c.geom.op("&&")(envelope)
    frame = func.BuildMbr(minx, miny, maxx, maxy, 4326)
    index_rows = (
        select(literal_column("rowid"))
        .select_from(text("SpatialIndex"))
        .where(
            and_(
                literal_column("f_table_name") == table.name,
                literal_column("f_geometry_column") == "geom",
                literal_column("search_frame") == frame,
            )
        )
    )
    return table.c.id.in_(index_rows.scalar_subquery())


def geometry_wkb(session: Session, column: ColumnElement) -> ColumnElement[bytes]:
    """Plain ISO WKB of a geometry column (cheaper than EWKB elements for bulk reads)."""
    if dialect_name(session) == "postgresql":
        return func.ST_AsBinary(column, type_=LargeBinary)
    return func.AsBinary(column, type_=LargeBinary)
