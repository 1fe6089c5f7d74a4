"""The few places where PostGIS and SpatiaLite differ, each behind one small function."""

from __future__ import annotations

import math
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Engine,
    Float,
    Integer,
    LargeBinary,
    Table,
    Text,
    and_,
    case,
    create_engine,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.selectable import Select

from renewmap.db.engine import POSTGRES_CONNECT_ARGS, postgres_driver_args

Bounds = tuple[float, float, float, float]
# A geometry column as queries name it: a table's column or a model's attribute
SqlColumn = ColumnElement[Any] | QueryableAttribute[Any]


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def bbox_filter(
    session: Session, table: Table, bounds: Bounds, *, exact: bool = True, indexed: bool = True
) -> ColumnElement[bool]:
    """Rows whose geometry's bounding box intersects ``bounds``.

    ``indexed``: answer through the spatial index. PostGIS: the ``&&`` operator on the GiST
    index. SpatiaLite: its R*Tree is only used when queried explicitly through the
    ``SpatialIndex`` virtual table (rowid is our integer id). Turn it off where another index
    already narrows the rows (a community's requests): SQLite then skips building a set of
    every id in a large box.

    ``exact``: both indexes keep single-precision boxes rounded outwards (≈ 1 m at 121°E), so
    they return a few rows just outside ``bounds``. Candidates for an exact geometric test do
    not care; whatever is shown or counted as "in this box" must be exact.
    """
    numbers = tuple(float(v) for v in bounds)
    conditions: list[ColumnElement[bool]] = []
    postgres = dialect_name(session) == "postgresql"
    # PostgreSQL: the numbers are written into the SQL, not bound. How many rows a box holds
    # decides the plan (the box's index, or the primary key for a page), and the generic plan
    # of a prepared statement cannot know it (measured: pages of 20,000 suggestions 1.7×
    # slower, their count 2×).
    minx, miny, maxx, maxy = (_inline(v) for v in numbers) if postgres else numbers
    if postgres:
        envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, _WGS84)
        conditions.append(table.c.geom.op("&&")(envelope))
    elif indexed:
        frame = func.BuildMbr(minx, miny, maxx, maxy, 4326)
        index_rows: Select[Any] = (
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
        conditions.append(table.c.id.in_(index_rows.scalar_subquery()))
    if exact or not conditions:
        if postgres:
            box = func.Box2D(table.c.geom)
            xmin, ymin, xmax, ymax = (
                func.ST_XMin(box),
                func.ST_YMin(box),
                func.ST_XMax(box),
                func.ST_YMax(box),
            )
        else:
            g = table.c.geom
            xmin, ymin, xmax, ymax = (
                func.MbrMinX(g),
                func.MbrMinY(g),
                func.MbrMaxX(g),
                func.MbrMaxY(g),
            )
        exact_mbr = and_(xmax >= minx, xmin <= maxx, ymax >= miny, ymin <= maxy)
        inner = _inner_bounds(cast(Bounds, numbers)) if postgres else None  # four floats
        if inner is not None:
            # PostGIS: the single-precision "contained in" test on a slightly smaller box
            # settles the rows well inside at the cost of ``&&``; only rows near the edges are
            # compared in double precision. Same answer, and the planner no longer takes the
            # four comparisons for independent filters (1% of the rows), which made it sort
            # every row in a large box instead of walking the primary key for a page.
            inside = table.c.geom.op("@")(
                func.ST_MakeEnvelope(*(_inline(v) for v in inner), _WGS84)
            )
            # CASE, not OR: evaluated in order, and estimated as "half the rows" rather than
            # as the product of the comparisons' guesses
            conditions.append(case((inside, true()), else_=exact_mbr))
        else:
            conditions.append(exact_mbr)
    return and_(*conditions)


_WGS84: ColumnElement[int] = literal_column(
    "4326"
)  # in the SQL too: an envelope must be a constant when planned


def intersects_box(session: Session, column: SqlColumn, bounds: Bounds) -> ColumnElement[bool]:
    """The geometry itself intersects ``bounds`` (not only its bounding box): a diagonal
    path or an L-shaped building whose box reaches into ``bounds`` is left out. Use with
    :func:`bbox_filter` (which finds the candidates through the index). Points, and shapes
    whose box lies inside ``bounds``, are settled without the geometric test."""
    numbers = tuple(float(v) for v in bounds)
    minx, miny, maxx, maxy = numbers
    if dialect_name(session) == "postgresql":
        envelope = func.ST_MakeEnvelope(*(_inline(v) for v in numbers), _WGS84)
        inner = _inner_bounds((minx, miny, maxx, maxy))
        settled: list[tuple[ColumnElement[bool], ColumnElement[bool]]] = []
        if inner is not None:
            settled.append(
                (column.op("@")(func.ST_MakeEnvelope(*map(_inline, inner), _WGS84)), true())
            )
        settled.append((func.ST_GeometryType(column) == "ST_Point", true()))
        return case(*settled, else_=func.ST_Intersects(column, envelope))
    frame = func.BuildMbr(minx, miny, maxx, maxy, 4326)
    return case(
        (func.GeometryType(column) == "POINT", true()),
        (
            and_(
                func.MbrMinX(column) >= minx,
                func.MbrMaxX(column) <= maxx,
                func.MbrMinY(column) >= miny,
                func.MbrMaxY(column) <= maxy,
            ),
            true(),
        ),
        else_=func.ST_Intersects(column, frame) == 1,
    )


def _inline(value: float) -> ColumnElement[float]:
    """A number written into the statement when it runs (it is a float: nothing to escape)."""
    return literal(value, Float, literal_execute=True)


def _inner_bounds(bounds: Bounds) -> Bounds | None:
    """``bounds`` shrunk by 4 single-precision steps at its magnitude, so that a box found
    inside it with single-precision boxes rounded outwards is truly inside ``bounds``; None
    when nothing would be left."""
    magnitude = max(1.0, *(abs(v) for v in bounds))
    margin = math.ldexp(1.0, math.frexp(magnitude)[1] - 22)  # 4 float32 ulps
    minx, miny, maxx, maxy = bounds
    if maxx - minx <= 2 * margin or maxy - miny <= 2 * margin:
        return None
    return minx + margin, miny + margin, maxx - margin, maxy - margin


def bbox_centre(
    session: Session, column: SqlColumn
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """x and y of the centre of each geometry's bounding box, read without parsing geometry.

    For a point this is the point itself; for a short line or small area it is a fair map anchor.
    SpatiaLite reads the MBR from the blob header; PostGIS from the cached box.
    """
    if dialect_name(session) == "postgresql":
        box = func.Box2D(column)
        return (
            (func.ST_XMin(box) + func.ST_XMax(box)) / 2.0,
            (func.ST_YMin(box) + func.ST_YMax(box)) / 2.0,
        )
    return (
        (func.MbrMinX(column) + func.MbrMaxX(column)) / 2.0,
        (func.MbrMinY(column) + func.MbrMaxY(column)) / 2.0,
    )


def bbox_bounds(
    session: Session, column: SqlColumn
) -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """xmin, ymin, xmax, ymax of each geometry's bounding box, read without parsing geometry
    (aggregate them with min/max for a layer's extent)."""
    if dialect_name(session) == "postgresql":
        box = func.Box2D(column)
        return func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)
    return func.MbrMinX(column), func.MbrMinY(column), func.MbrMaxX(column), func.MbrMaxY(column)


def geometry_geojson(session: Session, column: SqlColumn) -> ColumnElement[str]:
    """A geometry as GeoJSON text written by the database (no WKB parsing in Python), with
    the same 9 decimals (≈ 0.1 mm) on both databases."""
    if dialect_name(session) == "postgresql":
        return func.ST_AsGeoJSON(column, 9, type_=Text)
    return func.AsGeoJSON(column, 9, type_=Text)


def floor_int(session: Session, value: ColumnElement[Any]) -> ColumnElement[int]:
    """floor() as an integer; SQLite's floor() exists only in builds with math functions."""
    if dialect_name(session) == "postgresql":
        return func.floor(value).cast(Integer)
    truncated = value.cast(Integer)
    return truncated - case((value < truncated, 1), else_=0)


def geometry_wkb(session: Session, column: SqlColumn) -> ColumnElement[bytes]:
    """Plain ISO WKB of a geometry column (cheaper than EWKB elements for bulk reads)."""
    if dialect_name(session) == "postgresql":
        return func.ST_AsBinary(column, type_=LargeBinary)
    return func.AsBinary(column, type_=LargeBinary)


# --- the single-round-trip routing prefetch -----------------------------------------------------
# Only published communities are routed to (a community in setup is nobody's yet: the same
# test as renewmap.db.queries.places.in_public_community, written out for the driver-level SQL).
# Rows (all with the same 17 columns):
#   kind 1 grid:      id, code, community_id, wkb, name, branch (id, code, name, level, parent),
#                     branch's parent (id, code, name, level, parent), NULL
#   kind 2 building:  id, number, grid_id, wkb, code, community_id, building group (code, name),
#                     NULL, the group's stairwell_id, the group's id, NULLs… (one row per group
#                     serving the building; the group columns NULL when none does). Every
#                     building within ``m`` degrees of the point, assigned to a grid or not.
#   kind 3 community: id, code, metric_epsg, NULL, name, subdistrict (NULL, code, name),
#                     top_level, NULL, general branch (id, code, name, level, NULL),
#                     grid_set_version
_PREFETCH = """
WITH g AS (
  SELECT id, code, community_id, geom, name, branch_id FROM grid WHERE {grid_bbox}
  AND community_id IN (SELECT id FROM community WHERE state = 'published')
)
SELECT 1, g.id, g.code, g.community_id, {wkb}(g.geom), g.name,
       gb.id, gb.code, gb.name, gb.level, gb.parent_id,
       pb.id, pb.code, pb.name, pb.level, pb.parent_id, CAST(NULL AS INTEGER)
FROM g
LEFT JOIN party_branch gb ON gb.id = g.branch_id
LEFT JOIN party_branch pb ON pb.id = gb.parent_id
UNION ALL
SELECT 2, b.id, b.number, b.grid_id, {wkb}(b.geom), b.code,
       b.community_id, lg.code, lg.name, NULL, l.stairwell_id,
       lg.id, NULL, NULL, NULL, NULL, NULL
FROM building b
LEFT JOIN building_group_place l ON l.building_id = b.id
LEFT JOIN party_branch lg ON lg.id = l.branch_id
WHERE {building_near}
AND b.community_id IN (SELECT id FROM community WHERE state = 'published')
UNION ALL
{community_part}
WHERE c.id IN (SELECT community_id FROM g)
"""

_COMMUNITY_SUBQUERIES = """SELECT 3, c.id, c.code, c.metric_epsg, NULL, c.name,
       NULL, s.code, s.name, c.top_level, NULL,
       (SELECT p.id FROM party_branch p WHERE p.community_id = c.id AND p.level = 'general'
        ORDER BY p.code LIMIT 1),
       (SELECT p.code FROM party_branch p WHERE p.community_id = c.id AND p.level = 'general'
        ORDER BY p.code LIMIT 1),
       (SELECT p.name FROM party_branch p WHERE p.community_id = c.id AND p.level = 'general'
        ORDER BY p.code LIMIT 1),
       'general', NULL, c.grid_set_version
FROM community c LEFT JOIN subdistrict s ON s.id = c.subdistrict_id"""
# PostgreSQL looks the general branch up once per community with LATERAL.
_COMMUNITY_LATERAL = """SELECT 3, c.id, c.code, c.metric_epsg, NULL, c.name,
       NULL, s.code, s.name, c.top_level, NULL,
       gb.id, gb.code, gb.name, 'general', NULL, c.grid_set_version
FROM community c LEFT JOIN subdistrict s ON s.id = c.subdistrict_id
LEFT JOIN LATERAL (
  SELECT p.id, p.code, p.name FROM party_branch p
  WHERE p.community_id = c.id AND p.level = 'general' ORDER BY p.code LIMIT 1
) gb ON true"""

# PostGIS prefilters with a distance of 1e-9° (≈ 0.1 mm). It is a strict superset of what
# shapely's exact ``covers`` accepts, even where PostGIS's own point-in-polygon arithmetic
# would round the other way on an edge, so the rule's answers cannot change; it just sends
# fewer candidates than a bounding-box test (measured: 1.9 vs 3.1 rows on the demo).
_PG_POINT = "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)"
_PREFILTER_DEG = "1e-9"

_PREFETCH_SQL = {
    "postgresql": _PREFETCH.format(
        grid_bbox=f"ST_DWithin(geom, {_PG_POINT}, {_PREFILTER_DEG})",
        building_near=f"ST_DWithin(b.geom, {_PG_POINT}, %(m)s)",
        wkb="ST_AsBinary",
        community_part=_COMMUNITY_LATERAL,
    ),
    "sqlite": _PREFETCH.format(
        grid_bbox="id IN (SELECT rowid FROM SpatialIndex WHERE f_table_name = 'grid' "
        "AND f_geometry_column = 'geom' AND search_frame = MakePoint(:x, :y, 4326))",
        building_near="b.id IN (SELECT rowid FROM SpatialIndex WHERE f_table_name = 'building' "
        "AND f_geometry_column = 'geom' "
        "AND search_frame = BuildMbr(:x - :m, :y - :m, :x + :m, :y + :m, 4326))",
        wkb="AsBinary",
        community_part=_COMMUNITY_SUBQUERIES,
    ),
}


def route_prefetch_sql(session: Session) -> str:
    """Driver-level SQL (named parameters ``x``, ``y`` and the buildings' margin ``m`` in
    degrees) for the routing prefetch."""
    return _PREFETCH_SQL[dialect_name(session)]


def execute_hot(session: Session, sql: str, params: dict[str, float]) -> list[tuple[Any, ...]]:
    """Run one hot read query on the driver connection of the session's transaction.

    PostgreSQL: a server-side prepared statement (unless the engine's are off, behind
    PgBouncer) with binary results (no bytea hex decoding);
    SQLite: the driver cursor. Both skip SQLAlchemy's result layer, which costs more than
    the query itself for the routing prefetch.
    """
    driver: Any = session.connection().connection.driver_connection  # psycopg or sqlite3
    if dialect_name(session) == "postgresql":
        with driver.cursor(binary=True) as cur:
            # prepare=None: the connection's own rule (never, when prepared statements are off)
            cur.execute(sql, params, prepare=None if driver.prepare_threshold is None else True)
            rows: list[tuple[Any, ...]] = cur.fetchall()
            return rows
    cur = driver.cursor()
    try:
        found: list[tuple[Any, ...]] = cur.execute(sql, params).fetchall()
        return found
    finally:
        cur.close()


def read_only_bind(
    engine: Engine,
    *,
    url: str | None = None,
    statement_timeout_ms: int | None = None,
    pool: dict[str, Any] | None = None,
    prepared_statements: bool = True,
) -> Engine:
    """Engine for read-only sessions.

    PostgreSQL: a separate engine (own pool) in autocommit, so reads pay no BEGIN/COMMIT
    round trips and the read-write pool never flips isolation levels; ``url`` points it at a
    read replica, ``statement_timeout_ms`` cancels a read that runs longer. Dispose it with
    the main engine. SQLite: the same engine (its transactions are in-process and cheap).
    """
    if engine.dialect.name == "postgresql":
        options = POSTGRES_CONNECT_ARGS["options"]
        if statement_timeout_ms is not None:
            options += f" -c statement_timeout={int(statement_timeout_ms)}"
        return create_engine(
            url or engine.url,
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=engine.pool._pre_ping,
            connect_args={
                **POSTGRES_CONNECT_ARGS,
                **postgres_driver_args(prepared_statements=prepared_statements),
                "options": options,
            },
            **(pool or {}),
        )
    return engine


def write_bind(engine: Engine) -> Engine:
    """Engine for read-write sessions.

    SQLite: transactions start with ``BEGIN IMMEDIATE`` (taking the write lock at once), so two
    writers queue instead of the second failing with "database is locked" when it tries to
    write after reading an older snapshot; a check-then-write (a request's version) then sees
    the first writer's commit. PostgreSQL: unchanged (row locks do that job).
    """
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own ``%`` and ``_`` taken literally (use
    with ``escape=LIKE_ESCAPE``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
