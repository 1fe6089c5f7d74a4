"""OGC API – Features Part 1 (core, GeoJSON, OpenAPI 3.0), read-only.

Documents are built here from the collection registry (``protocols.ogc.collections``); the
router only passes the query string, the caller and the base URL in. Item pages are encoded
without building feature dicts: the database writes each geometry as GeoJSON text and the
properties are dumped by orjson, so a page of 1,000 features is one query, one count and a
byte join.

Query parameters are checked strictly (unknown or repeated ones are refused) because a typo
in ``bbox`` silently returning everything is worse than a clear 400.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy.orm import Session

from renewmap.db.queries import ogc
from renewmap.db.queries.ogc import Interval
from renewmap.errors import InvalidInput, NotAcceptable, NotFound
from renewmap.i18n import gettext
from renewmap.protocols.ogc.collections import (
    CollectionDef,
    filter_condition,
    get_collection,
    json_type,
    visible_collections,
)
from renewmap.services.access.accounts import Principal

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
JSON_SCHEMA = "application/schema+json"
HTML = "text/html"
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
REL_CONFORMANCE = "http://www.opengis.net/def/rel/ogc/1.0/conformance"
REL_DATA = "http://www.opengis.net/def/rel/ogc/1.0/data"
REL_TILESETS = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"  # api.routers.ogc_tiles

DOC_PARAMS = frozenset({"f", "lang"})
FEATURE_PARAMS = frozenset({"f", "lang", "crs"})
ITEMS_PARAMS = FEATURE_PARAMS | {
    "limit",
    "offset",
    "after",
    "before",
    "bbox",
    "bbox-crs",
    "datetime",
}
# numberMatched is counted up to this many; beyond, it is left out (the spec allows it) and
# clients follow the next links: a count of a city's million requests cost more than the page
COUNT_CAP = 100_000
CRS84_NAMES = frozenset({CRS84, "OGC:CRS84", "[OGC:CRS84]"})
_DUMPS_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


@dataclass(frozen=True)
class Document:
    """An encoded answer, its media type and extra headers (the router sends it as is)."""

    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()


# Part 2 (CRS by reference): features are only served in CRS84, and say so.
_CONTENT_CRS = (("Content-Crs", f"<{CRS84}>"),)


@dataclass(frozen=True)
class Call:
    """What every OGC document is built from: the links' base and the reader's language."""

    base: str  # e.g. "https://map.example.org/ogc" (no trailing slash)
    locale: str
    query: tuple[tuple[str, str], ...] = ()  # the request's own query (for self/next links)


# --- parameters (pure) --------------------------------------------------------------------------


def check_params(query: Sequence[tuple[str, str]], allowed: frozenset[str]) -> dict[str, str]:
    """The query as a dict; unknown or repeated parameters are a 400, not silently ignored."""
    seen: dict[str, str] = {}
    for name, value in query:
        if name not in allowed:
            raise InvalidInput(
                "unknown query parameter '{field}'; this endpoint takes {allowed}",
                key="ogc_param_unknown",
                allowed=sorted(allowed),
                field=name,
            )
        if name in seen:
            raise InvalidInput(
                "query parameter '{field}' is given more than once",
                key="ogc_param_repeated",
                field=name,
            )
        seen[name] = value
    return seen


def _int_param(params: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\s*[+-]?\d{1,12}\s*", raw):
        raise InvalidInput(
            "{field} must be an integer, got '{value}'",
            key="ogc_param_not_integer",
            value=raw[:40],
            field=name,
        )
    value = int(raw)
    if value < minimum:
        raise InvalidInput(
            "{field} must be at least {minimum}, got {value}",
            key="ogc_param_too_small",
            minimum=minimum,
            value=value,
            field=name,
        )
    return value


def parse_limit(params: Mapping[str, str]) -> int:
    """``limit``: 1 or more (default 10); larger than 10,000 is served as 10,000 (the spec's
    "limit is a hint" rule), never an error."""
    return min(_int_param(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)


def parse_offset(params: Mapping[str, str]) -> int:
    return _int_param(params, "offset", 0, 0)


def parse_key(params: Mapping[str, str], name: str) -> int | None:
    """``after`` / ``before``: the id of the last (first) feature of the page before (after)
    this one; next and previous links carry them: keyset paging, as fast on the thousandth
    page as on the first."""
    if params.get(name) is None:
        return None
    return _int_param(params, name, 0, 0)


def check_crs(params: Mapping[str, str]) -> None:
    """``crs`` (OGC API – Features Part 2, sent by newer GDAL): only CRS84 is served."""
    crs = params.get("crs")
    if crs is not None and crs not in CRS84_NAMES:
        raise InvalidInput(
            "crs must be {crs}; other CRSs are not supported",
            key="ogc_crs_unsupported",
            crs=CRS84,
            field="crs",
        )


def parse_bbox(params: Mapping[str, str]) -> tuple[float, float, float, float] | None:
    """``bbox=minLon,minLat,maxLon,maxLat`` (or 6 numbers with heights) in CRS84."""
    crs = params.get("bbox-crs")
    if crs is not None and crs not in CRS84_NAMES:
        raise InvalidInput(
            "bbox-crs must be {crs}; other CRSs are not supported",
            key="ogc_bbox_crs_unsupported",
            crs=CRS84,
            field="bbox",
        )
    raw = params.get("bbox")
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidInput(
            "bbox must be 4 (or 6) comma-separated numbers, got '{value}'",
            key="ogc_bbox_numbers",
            value=raw[:80],
            field="bbox",
        ) from None
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise InvalidInput(
            "bbox must be 4 (or 6) comma-separated numbers, got '{value}'",
            key="ogc_bbox_numbers",
            value=raw[:80],
            field="bbox",
        )
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    minx, miny, maxx, maxy = values
    if not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        raise InvalidInput(
            "bbox is in CRS84 (longitude -180..180, then latitude -90..90); "
            "got {minx:g},{miny:g},{maxx:g},{maxy:g}",
            key="ogc_bbox_range",
            minx=minx,
            miny=miny,
            maxx=maxx,
            maxy=maxy,
            field="bbox",
        )
    if miny > maxy:
        raise InvalidInput(
            "bbox: the minimum latitude {miny:g} is above the maximum {maxy:g}",
            key="ogc_bbox_latitudes",
            miny=miny,
            maxy=maxy,
            field="bbox",
        )
    if minx > maxx:
        raise InvalidInput(
            "bbox: the minimum longitude {minx:g} is east of the maximum {maxx:g} "
            "(boxes across the antimeridian are not supported)",
            key="ogc_bbox_antimeridian",
            minx=minx,
            maxx=maxx,
            field="bbox",
        )
    return minx, miny, maxx, maxy


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?"
)


def _instant(text: str, *, end: bool) -> datetime:
    """One RFC 3339 date-time (without an offset: UTC) or a date (its first or last moment)."""
    try:
        if _DATE.fullmatch(text):
            day = date.fromisoformat(text)
            moment = time.max if end else time.min
            return datetime.combine(day, moment, tzinfo=UTC)
        if _DATETIME.fullmatch(text):
            normal = text.upper().replace(" ", "T").replace("Z", "+00:00")
            if "." in normal:  # Python reads at most microseconds
                head, _, rest = normal.partition(".")
                found = re.match(r"\d+", rest)  # _DATETIME put 1 to 9 digits there
                digits = found.group(0) if found else ""
                normal = head + "." + digits[:6].ljust(6, "0") + rest[len(digits) :]
            value = datetime.fromisoformat(normal)
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        pass
    raise InvalidInput(
        "datetime: '{value}' is not an RFC 3339 date-time (2024-05-01T08:00:00Z) "
        "or a date (2024-05-01)",
        key="ogc_datetime_invalid",
        value=text[:40],
        field="datetime",
    )


def parse_datetime(params: Mapping[str, str]) -> Interval | None:
    """``datetime``: an instant, a date (that whole day) or an interval ``start/end`` whose
    open end is ``..`` or empty."""
    raw = params.get("datetime")
    if raw is None:
        return None
    raw = raw.strip()
    if "/" not in raw:
        return Interval(_instant(raw, end=False), _instant(raw, end=True))
    start_text, _, end_text = raw.partition("/")
    if "/" in end_text:
        raise InvalidInput(
            "datetime: '{value}' has more than one '/'",
            key="ogc_datetime_slashes",
            value=raw[:80],
            field="datetime",
        )
    start = None if start_text in ("", "..") else _instant(start_text, end=False)
    end = None if end_text in ("", "..") else _instant(end_text, end=True)
    if start is None and end is None:
        raise InvalidInput(
            "datetime: an interval needs at least one end",
            key="ogc_datetime_open",
            field="datetime",
        )
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            "datetime: the interval '{value}' ends before it starts",
            key="ogc_datetime_reversed",
            value=raw[:80],
            field="datetime",
        )
    return Interval(start, end)


def _accepts(accept: str | None, offers: Sequence[str]) -> str:
    """The offered media type the ``Accept`` header prefers (the first offer on ties and
    without a header); NotAcceptable when it accepts none of them."""
    if not accept or not accept.strip():
        return offers[0]
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        q = 1.0
        for p in pieces[1:]:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        for rank, offer in enumerate(offers):
            bare = offer.split(";")[0]
            if media in (bare, "*/*") or (media.endswith("/*") and bare.startswith(media[:-1])):
                candidate = (q, -rank, offer)
                if best is None or candidate > best:
                    best = candidate
    if best is None:
        raise NotAcceptable(
            "cannot answer in any type of 'Accept: {accept}'; this endpoint offers {offers}",
            key="not_acceptable",
            accept=accept[:80],
            offers=tuple(offers),
        )
    return best[2]


def negotiate(params: Mapping[str, str], accept: str | None, *, features: bool = False) -> str:
    """The media type of the answer: ``f`` first (json or geojson), then ``Accept``.

    Feature documents are GeoJSON: ``f=json`` (which some clients send) gets GeoJSON too, as
    ``application/geo+json``; only an ``Accept`` that asks for ``application/json`` and not
    GeoJSON gets that label.
    """
    f = params.get("f")
    if f is not None:
        allowed = ("json", "geojson") if features else ("json",)
        if f.lower() not in allowed:
            if f.lower() == "html":
                raise InvalidInput(
                    "f must be one of {allowed} (HTML is not served), got '{value}'",
                    key="ogc_format_html",
                    allowed=allowed,
                    value=f[:20],
                    field="f",
                )
            raise InvalidInput(
                "f must be one of {allowed}, got '{value}'",
                key="ogc_format_unknown",
                allowed=allowed,
                value=f[:20],
                field="f",
            )
        return GEOJSON if features else JSON
    if features:
        return _accepts(accept, (GEOJSON, JSON))
    return _accepts(accept, (JSON, GEOJSON))


# --- links --------------------------------------------------------------------------------------


def _link(href: str, rel: str, media: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": media}
    if title:
        link["title"] = title
    return link


def _url(call: Call, path: str, query: Iterable[tuple[str, Any]] = ()) -> str:
    q = urlencode([(k, str(v)) for k, v in query])
    return f"{call.base}{path}" + (f"?{q}" if q else "")


def _with(call: Call, **changes: Any) -> list[tuple[str, str]]:
    """The request's own query with some parameters replaced (None drops one)."""
    kept = [(k, v) for k, v in call.query if k not in changes]
    return kept + [(k, str(v)) for k, v in changes.items() if v is not None]


def dumps(doc: Any) -> bytes:
    """JSON bytes; datetimes as RFC 3339 in UTC (naive ones from SQLite are UTC)."""
    return orjson.dumps(doc, option=_DUMPS_OPTIONS)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _t(call: Call, msgid: str) -> str:
    return gettext(call.locale, msgid)


# --- documents ----------------------------------------------------------------------------------


def landing(call: Call, *, media: str) -> Document:
    """The landing page: what the service is and where everything else is."""
    doc = {
        "title": _t(call, "RenewMap: community micro-renewal map"),
        "description": _t(
            call,
            "Places, micro-renewal sites and residents' suggestions of Shanghai residential "
            "communities, as OGC API – Features.",
        ),
        "links": [
            _link(f"{call.base}/", "self", media, _t(call, "This document")),
            _link(f"{call.base}/api", "service-desc", OPENAPI, _t(call, "API definition")),
            _link(_docs_url(call), "service-doc", HTML, _t(call, "API documentation")),
            _link(f"{call.base}/conformance", "conformance", JSON, _t(call, "Conformance")),
            _link(f"{call.base}/conformance", REL_CONFORMANCE, JSON, _t(call, "Conformance")),
            _link(f"{call.base}/collections", "data", JSON, _t(call, "Collections")),
            _link(f"{call.base}/collections", REL_DATA, JSON, _t(call, "Collections")),
        ],
    }
    return Document(dumps(doc), media)


def _docs_url(call: Call) -> str:
    """The interactive documentation (Swagger UI of the whole app, /ogc paths included)."""
    return call.base.rsplit("/ogc", 1)[0] + "/docs"


def conformance(call: Call, *, media: str) -> Document:
    doc = {
        "conformsTo": list(CONFORMANCE),
        "links": [_link(f"{call.base}/conformance", "self", media)],
    }
    return Document(dumps(doc), media)


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return datetime.combine(value, time.min, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _attribution(session: Session) -> str | None:
    """The distinct attributions of the communities (OSM-derived data: ODbL)."""
    texts = ogc.attributions(session)
    return "; ".join(texts) if texts else None


def _collection_doc(
    session: Session,
    call: Call,
    collection: CollectionDef,
    *,
    principal: Principal | None,
    media: str,
    attribution: str | None,
) -> dict[str, Any]:
    base = f"{call.base}/collections/{collection.id}"
    condition = filter_condition(session, collection, principal=principal)
    ext = ogc.extent(
        session, model=collection.model, condition=condition, temporal=collection.temporal
    )
    extent: dict[str, Any] = {}
    if ext.bounds is not None:
        extent["spatial"] = {"bbox": [[round(v, 9) for v in ext.bounds]], "crs": CRS84}
    if collection.temporal is not None:
        extent["temporal"] = {"interval": [[_iso(ext.first), _iso(ext.last)]], "trs": GREGORIAN}
    doc: dict[str, Any] = {
        "id": collection.id,
        "title": _t(call, collection.title),
        "description": _t(call, collection.description),
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
    }
    if extent:
        doc["extent"] = extent
    if collection.attributed and attribution:
        doc["attribution"] = attribution
    doc["links"] = [
        _link(base, "self", media, doc["title"]),
        _link(f"{base}/items", "items", GEOJSON, doc["title"]),
        _link(f"{base}/tiles", REL_TILESETS, JSON, _t(call, "Vector tiles")),
        _link(f"{base}/schema", "describedby", JSON_SCHEMA, _t(call, "Schema of the features")),
        # GDAL (3.6) looks for this spelling of the relation
        _link(f"{base}/schema", "describedBy", JSON_SCHEMA, _t(call, "Schema of the features")),
    ]
    if collection.attributed and attribution:
        doc["links"].append(
            _link("https://opendatacommons.org/licenses/odbl/1-0/", "license", HTML, "ODbL 1.0")
        )
    return doc


def collections(
    session: Session, call: Call, *, principal: Principal | None, media: str
) -> Document:
    """Every collection the caller may read (staff-only ones only for staff with an area)."""
    attribution = _attribution(session)
    doc = {
        "links": [_link(f"{call.base}/collections", "self", media, _t(call, "Collections"))],
        "collections": [
            _collection_doc(
                session, call, c, principal=principal, media=JSON, attribution=attribution
            )
            for c in visible_collections(principal)
        ],
    }
    return Document(dumps(doc), media)


def collection(
    session: Session,
    call: Call,
    *,
    collection_id: str,
    principal: Principal | None,
    media: str,
) -> Document:
    c = get_collection(collection_id, principal=principal)
    attribution = _attribution(session) if c.attributed else None
    doc = _collection_doc(
        session, call, c, principal=principal, media=media, attribution=attribution
    )
    return Document(dumps(doc), media)


def _feature_bytes(row: Sequence[Any], names: Sequence[str]) -> bytes:
    geometry = row[1]
    return b'{"type":"Feature","id":%d,"geometry":%b,"properties":%b}' % (
        row[0],
        geometry.encode() if geometry else b"null",
        orjson.dumps(dict(zip(names, row[2:], strict=True)), option=_DUMPS_OPTIONS),
    )


def items(
    session: Session,
    call: Call,
    *,
    collection_id: str,
    principal: Principal | None,
    params: Mapping[str, str],
    media: str,
) -> Document:
    """One page of a collection's features (``limit``, ``offset`` or ``after``/``before``,
    ``bbox``, ``datetime``), with ``numberReturned``, ``numberMatched`` (left out beyond
    ``COUNT_CAP``) and next/prev links (keyset: ``after`` the page's last id, ``before`` its
    first)."""
    c = get_collection(collection_id, principal=principal)
    check_crs(params)
    limit = parse_limit(params)
    offset = parse_offset(params)
    after, before = parse_key(params, "after"), parse_key(params, "before")
    if after is not None and before is not None:
        raise InvalidInput(
            "give after or before, not both", key="ogc_after_and_before", field="before"
        )
    bounds = parse_bbox(params)
    interval = parse_datetime(params)
    temporal = c.temporal if interval is not None else None  # no time: datetime is ignored
    condition = filter_condition(session, c, principal=principal)
    filters: dict[str, Any] = {
        "model": c.model,
        "condition": condition,
        "bounds": bounds,
        "temporal": temporal,
        "interval": interval,
    }
    rows = ogc.items_page(
        session,
        properties=c.properties,
        limit=limit + 1,  # one more tells whether there is a page beyond
        offset=offset,
        after=after,
        before=before,
        **filters,
    )
    beyond = len(rows) > limit
    rows = rows[:limit]
    if before is not None:  # read backwards from ``before``: put the page in id order
        rows.reverse()
    keyset = after is not None or before is not None
    matched: int | None
    if not beyond and offset == 0 and not keyset:
        matched = len(rows)  # everything is on this page: no count needed
    else:
        matched = ogc.count_items(session, cap=COUNT_CAP, **filters)
    has_next = beyond if before is None else bool(rows)
    if before is not None:
        has_prev = beyond
    elif after is not None:
        has_prev = ogc.any_item_up_to(session, fid=after, **filters)
    else:
        has_prev = offset > 0
    path = f"/collections/{c.id}/items"
    links = [
        _link(_url(call, path, call.query), "self", media, _t(call, "This page")),
        _link(f"{call.base}/collections/{c.id}", "collection", JSON, _t(call, c.title)),
    ]
    if has_next:
        last = rows[-1][0] if rows else before
        next_query = _with(call, offset=None, before=None, after=last, limit=limit)
        links.append(_link(_url(call, path, next_query), "next", GEOJSON, _t(call, "Next page")))
    if has_prev:
        if keyset:
            first = rows[0][0] if rows else after
            prev_query = _with(call, offset=None, after=None, before=first, limit=limit)
        else:
            prev_query = _with(call, offset=max(0, offset - limit) or None, limit=limit)
        links.append(
            _link(_url(call, path, prev_query), "prev", GEOJSON, _t(call, "Previous page"))
        )
    names = [name for name, _ in c.properties]
    counts: dict[str, Any] = {} if matched is None else {"numberMatched": matched}
    meta = dumps({**counts, "numberReturned": len(rows), "timeStamp": _now(), "links": links})
    body = b"".join(
        (
            b'{"type":"FeatureCollection","features":[',
            b",".join([_feature_bytes(r, names) for r in rows]),
            b"],",
            meta[1:],
        )
    )
    return Document(body, media, _CONTENT_CRS)


def item(
    session: Session,
    call: Call,
    *,
    collection_id: str,
    feature_id: str,
    principal: Principal | None,
    params: Mapping[str, str],
    media: str,
) -> Document:
    """One feature by its id (the row id); one the caller may not see is "not found"."""
    c = get_collection(collection_id, principal=principal)
    check_crs(params)
    missing = NotFound(
        "no feature '{feature}' in collection '{collection}'",
        key="ogc_feature_not_found",
        feature=feature_id[:40],
        collection=c.id,
        field="featureId",
    )
    if not re.fullmatch(r"\d{1,18}", feature_id):
        raise missing
    row = ogc.item_row(
        session,
        model=c.model,
        properties=c.properties,
        condition=filter_condition(session, c, principal=principal),
        fid=int(feature_id),
    )
    if row is None:
        raise missing
    base = f"{call.base}/collections/{c.id}"
    links = [
        _link(f"{base}/items/{row[0]}", "self", media),
        _link(base, "collection", JSON, _t(call, c.title)),
    ]
    feature = _feature_bytes(row, [name for name, _ in c.properties])
    return Document(feature[:-1] + b',"links":' + dumps(links) + b"}", media, _CONTENT_CRS)


# --- schemas ------------------------------------------------------------------------------------


def feature_schema(collection: CollectionDef) -> dict[str, Any]:
    """A JSON Schema of one feature of the collection (the ``describedby`` link)."""
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "title": collection.title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {"type": "object"},
            "properties": {
                "type": "object",
                "properties": {name: json_type(expr) for name, expr in collection.properties},
            },
        },
    }


def schema(call: Call, *, collection_id: str, principal: Principal | None) -> Document:
    c = get_collection(collection_id, principal=principal)
    doc = feature_schema(c)
    doc["$id"] = f"{call.base}/collections/{c.id}/schema"
    doc["title"] = _t(call, c.title)
    return Document(dumps(doc), JSON_SCHEMA)
