"""Reads behind OGC API – Features: a page of items, its count, one item, a collection's extent.

Each page is one query with the geometry as GeoJSON text written by the database and the
properties as plain columns (and codes of related rows through outer joins), plus one count:
no per-row queries, no WKB parsing in Python. Boxes go through ``dialect.bbox_filter``, so
both databases answer from their spatial index and compare exact bounding boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, FromClause, Integer, Select, and_, func, literal, select
from sqlalchemy.orm import Session

from renewmap.db.dialect import (
    Bounds,
    bbox_bounds,
    bbox_filter,
    geometry_geojson,
    intersects_box,
)
from renewmap.db.models import Community


@dataclass(frozen=True)
class Interval:
    """A closed time interval; None at either end means open (``..``)."""

    start: datetime | None
    end: datetime | None


def is_date_column(column: Any) -> bool:
    """Whether a temporal column holds calendar dates (compared as dates, not instants)."""
    return isinstance(column.type, Date)


def _interval_condition(column: Any, interval: Interval) -> ColumnElement[bool]:
    parts = []
    as_date = is_date_column(column)

    def value(v: datetime) -> date | datetime:
        return v.date() if as_date else v

    if interval.start is not None:
        parts.append(column >= value(interval.start))
    if interval.end is not None:
        parts.append(column <= value(interval.end))
    if not parts:  # "../..": anything with a time
        parts.append(column.is_not(None))
    return and_(*parts)


def _where(
    session: Session,
    model: type[Any],
    condition: ColumnElement[bool],
    *,
    bounds: Bounds | None,
    temporal: Any | None,
    interval: Interval | None,
) -> ColumnElement[bool]:
    parts = [condition]
    if bounds is not None:
        parts.append(bbox_filter(session, model.__table__, bounds))
        if model.__table__.c.geom.type.geometry_type != "POINT":
            # OGC: features whose *geometry* intersects the box, not only its bounding box
            parts.append(intersects_box(session, model.geom, bounds))
    if interval is not None and temporal is not None:
        parts.append(_interval_condition(temporal, interval))
    return and_(*parts)


@dataclass(frozen=True)
class CodeLookup:
    """A property that is the ``code`` of the row ``key`` points at (a community, a grid…).

    Read through a LEFT JOIN on the target's primary key: one hash join per query instead of a
    look-up per row (a tile of 20,000 suggestions spent a third of its time in per-row
    look-ups). The join is aliased, so a table can point at itself (a merged compound)."""

    target: type[Any]
    key: Any

    @property
    def type(self) -> Any:
        """The SQL type of the value (for JSON Schemas): the target's ``code`` column's."""
        return self.target.code.type

    def matches(self, code: str) -> ColumnElement[bool]:
        """SQL: the row points at the target with this code (for filters)."""
        target = self.target
        wanted = select(target.id).where(target.code == code)
        matches: ColumnElement[bool] = self.key.in_(wanted.scalar_subquery())
        return matches


def property_columns(
    model: type[Any], properties: Sequence[tuple[str, Any]]
) -> tuple[list[Any], FromClause]:
    """The properties as SELECT columns and the FROM clause they need (the model's table with
    an outer join per :class:`CodeLookup`)."""
    table = model.__table__
    joined: FromClause = table
    columns = []
    for name, expr in properties:
        if isinstance(expr, CodeLookup):
            target = expr.target.__table__.alias(f"lookup_{name}")
            joined = joined.outerjoin(target, target.c.id == expr.key)
            columns.append(target.c.code)
        else:
            columns.append(expr)
    return columns, joined


def _select(
    session: Session, model: type[Any], properties: Sequence[tuple[str, Any]]
) -> Select[Any]:
    geojson = geometry_geojson(session, model.geom)
    columns, joined = property_columns(model, properties)
    return select(model.id, geojson, *columns).select_from(joined)


def items_page(
    session: Session,
    *,
    model: type[Any],
    properties: Sequence[tuple[str, Any]],
    condition: ColumnElement[bool],
    bounds: Bounds | None = None,
    temporal: Any | None = None,
    interval: Interval | None = None,
    limit: int,
    offset: int,
    after: int | None = None,
    before: int | None = None,
) -> list[tuple[Any, ...]]:
    """Rows ``(id, geometry GeoJSON text, *property values)`` of one page, ordered by id;
    ``after``: ids above it only, ``before``: the ``limit`` ids just below it, highest first
    (keyset paging)."""
    where = _where(session, model, condition, bounds=bounds, temporal=temporal, interval=interval)
    if after is not None:
        where = and_(where, model.id > after)
    if before is not None:
        where = and_(where, model.id < before)
    stmt = (
        _select(session, model, properties)
        .where(where)
        .order_by(model.id.desc() if before is not None else model.id)
        # written into the SQL, like the box (dialect.bbox_filter): the planner walks the
        # primary key for a small page, which a prepared statement's generic plan cannot know
        .limit(literal(limit, Integer, literal_execute=True))
        .offset(literal(offset, Integer, literal_execute=True))
    )
    return [tuple(r) for r in session.execute(stmt)]


def count_items(
    session: Session,
    *,
    model: type[Any],
    condition: ColumnElement[bool],
    bounds: Bounds | None = None,
    temporal: Any | None = None,
    interval: Interval | None = None,
    cap: int | None = None,
) -> int | None:
    """How many rows match (``numberMatched``); None when more than ``cap`` (counting stops
    there)."""
    where = _where(session, model, condition, bounds=bounds, temporal=temporal, interval=interval)
    if cap is None:
        return int(session.execute(select(func.count()).select_from(model).where(where)).one()[0])
    some = select(model.id).where(where).limit(cap + 1).subquery()
    n = int(session.execute(select(func.count()).select_from(some)).scalar_one())
    return None if n > cap else n


def any_item_up_to(
    session: Session,
    *,
    model: type[Any],
    condition: ColumnElement[bool],
    fid: int,
    bounds: Bounds | None = None,
    temporal: Any | None = None,
    interval: Interval | None = None,
) -> bool:
    """Whether a matching row has an id up to ``fid`` (is there a previous page)."""
    where = _where(session, model, condition, bounds=bounds, temporal=temporal, interval=interval)
    found = session.execute(select(model.id).where(where, model.id <= fid).limit(1)).first()
    return found is not None


def item_row(
    session: Session,
    *,
    model: type[Any],
    properties: Sequence[tuple[str, Any]],
    condition: ColumnElement[bool],
    fid: int,
) -> tuple[Any, ...] | None:
    """``(id, geometry GeoJSON text, *property values)`` of one visible row, or None."""
    stmt = _select(session, model, properties).where(and_(model.id == fid, condition))
    row = session.execute(stmt).first()
    return None if row is None else tuple(row)


@dataclass(frozen=True)
class Extent:
    """A collection's bounding box (None when empty) and the range of its temporal column."""

    bounds: Bounds | None
    first: date | datetime | None
    last: date | datetime | None


def extent(
    session: Session, *, model: type[Any], condition: ColumnElement[bool], temporal: Any | None
) -> Extent:
    """The bounding box of the visible rows and the range of their temporal column, in one
    aggregate query read from the cached boxes (no geometry is parsed)."""
    xmin, ymin, xmax, ymax = bbox_bounds(session, model.geom)
    columns = [func.min(xmin), func.min(ymin), func.max(xmax), func.max(ymax)]
    if temporal is not None:
        columns += [func.min(temporal), func.max(temporal)]
    row = session.execute(select(*columns).select_from(model).where(condition)).one()
    bounds = None if row[0] is None else (row[0], row[1], row[2], row[3])
    first, last = (row[4], row[5]) if temporal is not None else (None, None)
    return Extent(bounds, first, last)


def attributions(session: Session) -> list[str]:
    """The distinct attributions the communities' data carry (e.g. OpenStreetMap's ODbL)."""
    stmt = (
        select(Community.attribution)
        .where(Community.attribution.is_not(None), Community.attribution != "")
        .distinct()
        .order_by(Community.attribution)
    )
    return [str(v) for v in session.scalars(stmt)]
