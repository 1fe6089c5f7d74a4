"""What the records' services share: days, places on the community's map, vocabulary checks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from renewmap.db.models import Community
from renewmap.errors import InvalidInput
from renewmap.i18n import t
from renewmap.spatial.crs import metres_to_degrees
from renewmap.spatial.geometry import from_db, parse_geojson, to_db

NEAR_COMMUNITY_M = 50.0  # a place may lie just outside the outline (a gate, the street)
MIN_YEAR, MAX_YEAR = 1949, 2100


def parse_day(value: str | date | None, *, field: str, required: bool = True) -> date | None:
    if isinstance(value, date):
        return value
    if value in (None, ""):
        if required:
            raise InvalidInput(
                "{field} is required (not empty or only spaces)", key="text_required", field=field
            )
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            "{field}: expected a date like 2026-05-01, got '{value}'",
            key="date_invalid",
            value=str(value),
            field=field,
        ) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidInput(
            "{field}: expected a date like 2026-05-01, got '{value}'",
            key="date_invalid",
            value=str(value),
            field=field,
        )
    return day


def check_code(value: str, allowed: Mapping[str, str] | tuple[str, ...], *, field: str) -> str:
    """``value`` if it is one of the vocabulary's codes, else a message listing them."""
    if value not in allowed:
        raise InvalidInput(
            "{field} must be one of {allowed}, got '{value}'",
            key="record_code_unknown",
            field=field,
            allowed=list(allowed),
            value=value,
        )
    return value


def place_on_map(
    community: Community, geometry: dict[str, Any] | None, *, field: str, points_only: bool
) -> Any:
    """A GeoJSON place (a point, or an area or line when allowed) checked to lie in the
    community (or within 50 m of it): the value to store, or None."""
    if geometry is None:
        return None
    geom: BaseGeometry = parse_geojson(geometry, where=field)
    if points_only and geom.geom_type != "Point":
        raise InvalidInput(
            "{field} must be a GeoJSON Point, got {type}",
            key="record_place_not_point",
            field=field,
            type=geom.geom_type,
        )
    if geom.geom_type not in ("Point", "LineString", "Polygon", "MultiLineString", "MultiPolygon"):
        raise InvalidInput(
            "{field}: a {type} cannot be placed; send a Point, LineString or Polygon",
            key="record_place_kind",
            field=field,
            type=geom.geom_type,
        )
    outline = from_db(community.geom)
    if not shapely.dwithin(outline, geom, metres_to_degrees(NEAR_COMMUNITY_M, outline.centroid.y)):
        raise InvalidInput(
            "{field}: the place is more than {limit:.0f} m outside {community}",
            key="record_place_outside",
            field=field,
            limit=NEAR_COMMUNITY_M,
            community=community.name,
        )
    return to_db(geom)


def label(table: Mapping[str, str], code: str | None) -> str | None:
    """The word people read for a code, in the current language."""
    return t(table[code]) if code is not None and code in table else None


def this_year(tz: str) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(tz)).year
