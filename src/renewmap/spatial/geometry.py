"""The one geometry boundary: WKB ↔ shapely ↔ GeoJSON, with explicit integer SRIDs.

Everything stored is WGS84 (EPSG:4326) with x = longitude. Input is checked here once, with
messages that say *where* the problem is (``where`` is e.g. "file.geojson, feature 3, geometry").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast, overload

import shapely
from geoalchemy2.elements import WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from renewmap.errors import InvalidGeometry
from renewmap.i18n import N_, Msg

WGS84: int = 4326

ROUTABLE = ("Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
_DEPTH = {
    "Point": 1,
    "MultiPoint": 2,
    "LineString": 2,
    "MultiLineString": 3,
    "Polygon": 3,
    "MultiPolygon": 4,
}
POLYGONAL = ("Polygon", "MultiPolygon")
LINEAL = ("LineString", "MultiLineString")
PUNTAL = ("Point", "MultiPoint")

# China's extent, used only to recognise swapped latitude/longitude with a helpful message.
_CHINA_LON = (73.0, 136.0)
_CHINA_LAT = (3.0, 54.0)
# GEOS's reasons a geometry is invalid (explain_validity), as people read them.
VALIDITY_REASONS = {
    "Self-intersection": N_("the outline crosses itself"),
    "Ring Self-intersection": N_("a ring touches itself"),
    "Hole lies outside shell": N_("a hole lies outside the outline"),
    "Holes are nested": N_("holes are nested"),
    "Interior is disconnected": N_("the interior is cut in pieces"),
    "Nested shells": N_("one outline lies inside another"),
    "Duplicate Rings": N_("a ring is repeated"),
    "Too few points in geometry component": N_("too few points"),
    "Invalid Coordinate": N_("a coordinate is not a number"),
    "Ring is not closed": N_("a ring is not closed"),
    "Repeated Point": N_("a point is repeated"),
}


def validity_reason(geom: BaseGeometry) -> Msg:
    """Why GEOS finds a geometry invalid, and where ("the outline crosses itself at …")."""
    text = explain_validity(geom)
    reason, _, rest = text.partition("[")
    reason = reason.strip()
    label = VALIDITY_REASONS.get(reason)
    if label is None:
        return Msg("{reason}", reason=text)
    coords = rest.rstrip("]").split()
    if len(coords) >= 2:
        return Msg("{reason} at ({x}, {y})", reason=Msg(label), x=coords[0], y=coords[1])
    return Msg(label)


@overload
def from_db(value: None) -> None: ...
@overload
def from_db(value: WKBElement | bytes | memoryview) -> BaseGeometry: ...
def from_db(value: WKBElement | bytes | memoryview | None) -> BaseGeometry | None:
    """Shapely geometry from what the database returns (WKB/EWKB elements or raw bytes)."""
    if value is None:
        return None
    if isinstance(value, WKBElement | WKTElement):
        return to_shape(value)
    return shapely.from_wkb(bytes(value))


def to_db(geom: BaseGeometry, srid: int = WGS84) -> WKBElement:
    """WKB element with an explicit integer SRID, ready for a GeoAlchemy2 column."""
    if not isinstance(srid, int):
        raise TypeError("srid must be an int")
    return WKBElement(shapely.to_wkb(geom, hex=False), srid=srid, extended=False)


def to_geojson(geom: BaseGeometry | None) -> dict[str, Any] | None:
    """GeoJSON geometry dict (RFC 7946: lon, lat) or None."""
    return None if geom is None else mapping(geom)


def parse_geojson(
    obj: object, *, where: str | Msg = "geometry", require_valid: bool = True
) -> BaseGeometry:
    """Parse and check a GeoJSON geometry (dict or JSON text; anything else is refused with a
    message) in WGS84: structure, finite coordinates in range and (unless ``require_valid`` is
    False: the caller reports invalid shapes itself) OGC validity."""
    if isinstance(obj, str):
        from renewmap.errors import InvalidInput
        from renewmap.validation import loads

        try:
            obj = loads(obj, where=where)  # nesting, NaN/Infinity checked before parsing
        except InvalidInput as exc:
            raise InvalidGeometry(exc.msg, key=exc.key, where=where) from None
    if not isinstance(obj, Mapping):
        raise InvalidGeometry(
            "{where}: a GeoJSON geometry object is required", key="geojson_not_object", where=where
        )
    if obj.get("type") == "Feature":
        obj = obj.get("geometry") or {}
    if "type" not in obj or "coordinates" not in obj:
        raise InvalidGeometry(
            "{where}: a GeoJSON geometry needs 'type' and 'coordinates'",
            key="geojson_incomplete",
            where=where,
        )
    _check_coordinates(obj["type"], obj["coordinates"], where)
    try:
        geom = shape(cast(dict[str, Any], obj))
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise InvalidGeometry(
            "{where}: malformed GeoJSON geometry ({reason})",
            key="geojson_malformed",
            where=where,
            reason=str(exc),
        ) from exc
    if require_valid:
        check_geometry(geom, where=where)
    else:
        check_lonlat(geom, where=where)
    return geom


def _check_coordinates(kind: object, coords: object, where: str | Msg) -> None:
    """RFC 7946 structure: nesting depth, numeric positions, closed rings."""
    if kind not in _DEPTH:
        raise InvalidGeometry(
            "{where}: malformed GeoJSON geometry (unknown type '{type}')",
            key="geojson_unknown_type",
            where=where,
            type=str(kind),
        )

    def depth(value: object) -> int:
        d = 0
        while isinstance(value, list):
            if not value:
                return d + 1
            value = value[0]
            d += 1
        return d

    if depth(coords) != _DEPTH[kind]:
        raise InvalidGeometry(
            "{where}: malformed GeoJSON geometry (coordinates of a {type} nested wrongly)",
            key="geojson_bad_nesting",
            where=where,
            type=str(kind),
        )

    def positions(value: object, level: int) -> Iterator[object]:
        if level == 1:
            yield value
        else:
            for item in cast(Iterable[object], value):  # lists, as depth() checked
                yield from positions(item, level - 1)

    for pos in positions(coords, _DEPTH[kind]):
        if (
            not isinstance(pos, list)
            or not 2 <= len(pos) <= 3
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
        ):
            raise InvalidGeometry(
                "{where}: malformed GeoJSON geometry (a position must be 2 or 3 numbers, "
                "got {position})",
                key="geojson_bad_position",
                where=where,
                position=f"{pos!r:.60}",
            )
    if kind in ("Polygon", "MultiPolygon"):
        polys = cast(list[list[list[object]]], [coords] if kind == "Polygon" else coords)
        for poly in polys:
            for ring in poly:
                if ring[0] != ring[-1]:
                    raise InvalidGeometry(
                        "{where}: malformed GeoJSON geometry (a polygon ring is not closed)",
                        key="geojson_ring_not_closed",
                        where=where,
                    )


def check_routable(geom: BaseGeometry, *, where: str | Msg = "geometry") -> None:
    """Requests are points, lines or polygons; collections have no single location."""
    if geom.geom_type not in ROUTABLE:
        raise InvalidGeometry(
            "{where}: a {type} cannot be routed; send a Point, LineString or "
            "Polygon (or their Multi* forms for lines and polygons)",
            key="geometry_not_routable",
            where=where,
            type=geom.geom_type,
        )


def check_lonlat(geom: BaseGeometry, *, where: str | Msg = "geometry") -> None:
    """Refuse coordinates outside WGS84 ranges; recognise swapped lat/lon around China."""
    if geom.is_empty:
        raise InvalidGeometry("{where}: geometry is empty", key="geometry_empty", where=where)
    coords = shapely.get_coordinates(geom)
    if not shapely.is_valid_input(geom) or not (coords == coords).all():
        raise InvalidGeometry(
            "{where}: coordinates contain NaN", key="coordinates_nan", where=where
        )
    minx, miny, maxx, maxy = geom.bounds
    looks_swapped = (
        _CHINA_LAT[0] <= minx <= maxx <= _CHINA_LAT[1]
        and _CHINA_LON[0] <= miny <= maxy <= _CHINA_LON[1]
    )
    if looks_swapped:
        raise InvalidGeometry(
            "{where}: coordinates look like (latitude, longitude); "
            "GeoJSON and WKT need x = longitude, y = latitude (got x={x:.6f}, y={y:.6f})",
            key="coordinates_swapped",
            where=where,
            x=minx,
            y=miny,
        )
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise InvalidGeometry(
            "{where}: coordinates outside WGS84 range (longitude -180..180, latitude -90..90); "
            "bounds are ({minx:.6f}, {miny:.6f}, {maxx:.6f}, {maxy:.6f}). "
            "Is the file in a projected CRS, or are latitude and longitude swapped?",
            key="coordinates_out_of_range",
            where=where,
            minx=minx,
            miny=miny,
            maxx=maxx,
            maxy=maxy,
        )


def check_geometry(geom: BaseGeometry, *, where: str | Msg = "geometry") -> None:
    """Coordinates in range and geometry valid (OGC rules), or a precise InvalidGeometry."""
    check_lonlat(geom, where=where)
    if not geom.is_valid:
        raise InvalidGeometry(
            "{where}: invalid geometry: {reason}",
            key="geometry_invalid",
            where=where,
            reason=validity_reason(geom),
        )


def as_multi(geom: BaseGeometry) -> BaseGeometry:
    """Promote a single polygon/line/point to its Multi* type so one column type fits all."""
    kind = geom.geom_type
    if kind == "Polygon":
        return shapely.MultiPolygon([cast(shapely.Polygon, geom)])
    if kind == "LineString":
        return shapely.MultiLineString([cast(shapely.LineString, geom)])
    if kind == "Point":
        return shapely.MultiPoint([cast(shapely.Point, geom)])
    return geom


def polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygon parts of a geometry (e.g. after a clip returned a collection)."""
    if geom.geom_type in POLYGONAL:
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in POLYGONAL]
    polys = [p for g in parts for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])]
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()


def lineal_part(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the line parts of a geometry, merged into a MultiLineString."""
    if geom.geom_type in LINEAL:
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in LINEAL]
    lines = [p for g in parts for p in (g.geoms if g.geom_type == "MultiLineString" else [g])]
    return shapely.MultiLineString(lines) if lines else shapely.MultiLineString()
