"""Designs in and out: export a draft to GeoJSON, GeoPackage (a layer per kind) and DXF (a
layer per kind, in metres, for CAD users); import a layer from GeoJSON, GeoPackage or DXF into a
draft. Imports are all-or-nothing and name the file, layer and feature of any problem.

DXF has no CRS of its own: exports write coordinates in the community's metric CRS and record
its EPSG code in a custom header variable (``RENEWMAP_EPSG``) and the properties of each
feature as XDATA, so a file comes back in as it went out; a DXF from elsewhere needs ``epsg``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, mapping
from sqlalchemy.orm import Session

from renewmap import validation
from renewmap.errors import InvalidInput
from renewmap.i18n import Msg
from renewmap.services.access.accounts import Principal
from renewmap.services.design import drafts
from renewmap.services.ingest.files import check_sqlite_input, checked_upload
from renewmap.spatial import design
from renewmap.spatial.crs import check_epsg, transform
from renewmap.spatial.geometry import from_db, to_geojson
from renewmap.vocabulary import metric_epsg

FORMATS = {
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "dxf": ("image/vnd.dxf", "dxf"),
}
MAX_IMPORT = 20 * 1024 * 1024
XDATA_APP = "RENEWMAP"
KIND_LAYERS = {kind: f"RM_{kind.upper()}" for kind in drafts.EXPECTED}
LAYER_KINDS = {v.lower(): k for k, v in KIND_LAYERS.items()} | {k: k for k in drafts.EXPECTED}
COLOURS = {"zone": 4, "green": 3, "plant": 94, "path": 8, "facility": 6, "water": 5, "keep": 9}


def export(
    session: Session, *, principal: Principal, draft_id: int, fmt: str
) -> tuple[bytes, str, str]:
    """The draft as a file: (bytes, media type, file name)."""
    if fmt not in FORMATS:
        raise InvalidInput(
            "format must be one of {formats}",
            key="draft_export_format",
            formats=tuple(FORMATS),
            field="format",
        )
    draft, site, community = drafts.site_context(session, principal=principal, draft_id=draft_id)
    feats = drafts.draft_features(session, draft_id=draft.id)
    site_geom = from_db(site.geom)
    stem = f"{community.code}-{site.code}-draft{draft.number}"
    media, ext = FORMATS[fmt]
    if fmt == "geojson":
        body = {
            "type": "FeatureCollection",
            "name": f"{site.name} · {draft.name}",
            "features": drafts.feature_collection(feats)["features"],
        }
        data = json.dumps(body, ensure_ascii=False, indent=1).encode()
    elif fmt == "gpkg":
        data = _to_gpkg(feats)
    else:
        data = _to_dxf(feats, site_geom, metric_epsg(community.metric_epsg, site_geom), title=stem)
    return data, media, f"{stem}.{ext}"


def _plain(value: Any) -> Any:
    return (
        value
        if isinstance(value, str | int | float | bool) or value is None
        else json.dumps(value, ensure_ascii=False)
    )


def _to_gpkg(feats: list[design.Feature]) -> bytes:
    import geopandas as gpd

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "draft.gpkg"
        written = False
        for kind in drafts.EXPECTED:
            mine = [f for f in feats if f.kind == kind]
            if not mine:
                continue
            keys = sorted({k for f in mine for k in f.props})
            frame = gpd.GeoDataFrame(
                {"feature_id": [f.id for f in mine]}
                | {k: [_plain(f.props.get(k)) for f in mine] for k in keys},
                geometry=[f.geom for f in mine],
                crs="EPSG:4326",
            )
            frame.to_file(path, layer=kind, driver="GPKG", engine="pyogrio")
            written = True
        if not written:  # an empty draft is still a valid GeoPackage with an empty layer
            gpd.GeoDataFrame({"feature_id": []}, geometry=[], crs="EPSG:4326").to_file(
                path, layer="zone", driver="GPKG", engine="pyogrio"
            )
        return path.read_bytes()


def _xdata(props: dict[str, Any]) -> list[tuple[int, str]]:
    text = json.dumps(props, ensure_ascii=False)
    return [(1000, text[i : i + 250]) for i in range(0, len(text), 250)] or [(1000, "{}")]


def _to_dxf(feats: list[design.Feature], site_geom: Any, epsg: int, *, title: str) -> bytes:
    import ezdxf

    doc = ezdxf.new("R2013", setup=True)
    doc.header["$INSUNITS"] = 6  # metres
    doc.header.custom_vars.append("RENEWMAP_EPSG", str(epsg))
    doc.header.custom_vars.append("RENEWMAP_TITLE", title)
    doc.appids.add(XDATA_APP)
    doc.layers.add("RM_SITE", color=1)
    for kind, layer in KIND_LAYERS.items():
        doc.layers.add(layer, color=COLOURS[kind])
    msp = doc.modelspace()

    def rings(poly: Polygon, layer: str, props: dict[str, Any] | None) -> None:
        for ring in [poly.exterior, *poly.interiors]:
            e = msp.add_lwpolyline(list(ring.coords)[:-1], close=True, dxfattribs={"layer": layer})
            if props is not None:  # every ring: holes go back to their feature on import
                e.set_xdata(XDATA_APP, _xdata(props))

    for poly in getattr(transform(site_geom, 4326, epsg), "geoms", []):
        rings(poly, "RM_SITE", None)
    for f in feats:
        layer = KIND_LAYERS[f.kind]
        g = transform(f.geom, 4326, epsg)
        props = {"kind": f.kind, "feature_id": f.id, **f.props}
        parts = list(getattr(g, "geoms", [g]))
        for part in parts:
            if isinstance(part, Polygon):
                rings(part, layer, props)
            elif isinstance(part, LineString):
                e = msp.add_lwpolyline(list(part.coords), dxfattribs={"layer": layer})
                e.set_xdata(XDATA_APP, _xdata(props))
            elif isinstance(part, Point):
                mark = msp.add_point((part.x, part.y), dxfattribs={"layer": layer})
                mark.set_xdata(XDATA_APP, _xdata(props))
                label = f.props.get("species") or f.props.get("type") or f.props.get("name")
                if label:
                    msp.add_text(str(label), height=0.5, dxfattribs={"layer": layer}).set_placement(
                        (part.x + 0.4, part.y + 0.4)
                    )
    out = io.StringIO()
    doc.write(out)
    return out.getvalue().encode("utf-8")


# --- import ----------------------------------------------------------------------------------


def import_layer(
    session: Session,
    *,
    principal: Principal,
    draft_id: int,
    version: int,
    filename: str,
    data: bytes,
    kind: str | None = None,
    epsg: int | None = None,
) -> dict[str, Any]:
    """Add the features of a file to the draft (kinds from the file's layers or properties,
    else ``kind``); nothing changes if any feature is wrong."""
    drafts.site_context(session, principal=principal, draft_id=draft_id)  # rights first
    name = checked_upload(filename, data, limit=MAX_IMPORT)
    if kind is not None and kind not in drafts.EXPECTED:
        raise InvalidInput(
            "kind must be one of {kinds}",
            key="import_kind_unknown",
            kinds=tuple(drafts.EXPECTED),
            field="kind",
        )
    ext = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    skipped: dict[str, int] = {}
    if ext in ("geojson", "json"):
        items = _from_geojson(name, data, kind)
    elif ext == "gpkg":
        items = _from_gpkg(name, data, kind)
    elif ext == "dxf":
        items = _from_dxf(name, data, kind, epsg, skipped)
    else:
        raise InvalidInput(
            "file '{file}': use GeoJSON (.geojson), GeoPackage (.gpkg) or DXF (.dxf)",
            key="import_format_unknown",
            file=name,
            field="file",
        )
    if not items:
        raise InvalidInput(
            "file '{file}' has no features to import",
            key="import_no_features",
            file=name,
            field="file",
        )
    # The new features are checked as a whole (messages name the file); the draft's own were
    # checked when they were saved.
    added = drafts.parse_features(
        {"type": "FeatureCollection", "features": items}, source=f"{name}: "
    )
    current = drafts.draft_features(session, draft_id=draft_id)
    out = drafts.replace_features(
        session, principal=principal, draft_id=draft_id, version=version, features=current + added
    )
    out["imported"] = {
        "file": name,
        "features": len(added),
        "skipped": [{"type": t, "count": n} for t, n in sorted(skipped.items())],
    }
    return out


def _with_kind(
    name: str, where: Msg, geometry: dict[str, Any] | None, props: dict[str, Any], kind: str | None
) -> dict[str, Any]:
    chosen = props.get("kind") or kind
    if chosen not in drafts.EXPECTED:
        raise InvalidInput(
            "file '{file}', {where}: no kind (a layer or properties.kind of "
            "{kinds}, or choose one for the whole file)",
            key="import_feature_kind_missing",
            file=name,
            where=where,
            kinds=tuple(drafts.EXPECTED),
            field="kind",
        )
    clean = {k: v for k, v in props.items() if v is not None and k not in ("kind", "feature_id")}
    # through JSON: shapely's tuples become the lists any GeoJSON reader expects
    plain = json.loads(json.dumps(geometry)) if geometry is not None else None
    return {"type": "Feature", "geometry": plain, "properties": {"kind": chosen, **clean}}


def _from_geojson(name: str, data: bytes, kind: str | None) -> list[dict[str, Any]]:
    try:
        doc = validation.loads(data, where=Msg("file '{file}'", file=name))  # depth, NaN, NUL
    except InvalidInput as exc:
        raise InvalidInput(exc.msg, key=exc.key, field="file") from None
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise InvalidInput(
            "file '{file}' is not a GeoJSON FeatureCollection",
            key="import_not_feature_collection",
            file=name,
            field="file",
        )
    crs = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if crs and not any(t in str(crs).upper() for t in ("CRS84", "EPSG::4326", "EPSG:4326")):
        raise InvalidInput(
            "file '{file}' is in {crs}; GeoJSON must be WGS84 longitude/latitude (RFC 7946)",
            key="import_geojson_crs",
            file=name,
            crs=str(crs),
            field="file",
        )
    features = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list):
        raise InvalidInput(
            "file '{file}': features must be a list",
            key="import_features_not_list",
            file=name,
            field="file",
        )
    return [
        _with_kind(
            name,
            Msg("feature {n}", n=i),
            (f or {}).get("geometry") if isinstance(f, dict) else None,
            dict((f or {}).get("properties") or {}) if isinstance(f, dict) else {},
            kind,
        )
        for i, f in enumerate(features, start=1)
    ]


def _from_gpkg(name: str, data: bytes, kind: str | None) -> list[dict[str, Any]]:
    import pyogrio

    if not data.startswith(b"SQLite format 3\x00"):
        raise InvalidInput(
            "file '{file}' is not a GeoPackage", key="import_not_gpkg", file=name, field="file"
        )
    items: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.gpkg"
        path.write_bytes(data)
        check_sqlite_input(path, name=name, protect=True)  # no views, time-bounded
        try:
            layers = pyogrio.list_layers(path)
        except Exception as exc:  # GDAL's own message says what is wrong with the file
            raise InvalidInput(
                "file '{file}' cannot be read: {reason}",
                key="import_unreadable",
                file=name,
                reason=str(exc),
                field="file",
            ) from None
        for layer_name, geom_type in layers:
            if geom_type is None:
                continue  # an attribute-only table
            layer_kind = LAYER_KINDS.get(str(layer_name).lower(), kind)
            frame = pyogrio.read_dataframe(path, layer=layer_name)
            if frame.crs is None:
                raise InvalidInput(
                    "file '{file}', layer '{layer}' has no CRS",
                    key="import_layer_no_crs",
                    file=name,
                    layer=str(layer_name),
                    field="file",
                )
            frame = frame.to_crs(4326)
            for i, row in enumerate(frame.itertuples(index=False), start=1):
                props = {
                    k: (None if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in row._asdict().items()
                    if k != "geometry"
                }
                geom = row.geometry
                items.append(
                    _with_kind(
                        name,
                        Msg("layer '{layer}' feature {n}", layer=str(layer_name), n=i),
                        mapping(geom) if geom is not None else None,
                        _json_values(props),
                        layer_kind,
                    )
                )
    return items


def _json_values(props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in props.items():
        if hasattr(v, "item"):  # numpy scalars
            v = v.item()
        if isinstance(v, str) and v[:1] in "[{":
            with contextlib.suppress(json.JSONDecodeError):
                v = json.loads(v)
        out[k] = v if isinstance(v, str | int | float | bool | list | dict) or v is None else str(v)
    return out


def _from_dxf(
    name: str, data: bytes, kind: str | None, epsg: int | None, skipped: dict[str, int]
) -> list[dict[str, Any]]:
    """The features of a DXF: polylines, lines, points, circles (a tree's crown), hatches (their
    boundaries, holes and all), splines, arcs and ellipses (as lines, or areas when closed), and
    what blocks (INSERT) are made of, placed where the block is. What it cannot use (texts,
    dimensions, images…) is counted in ``skipped`` by entity type, to be reported."""
    import ezdxf
    from ezdxf.lldxf.const import DXFError

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")  # older Chinese CAD files
    try:
        doc = ezdxf.read(io.StringIO(text))
    except (DXFError, ValueError) as exc:
        raise InvalidInput(
            "file '{file}' is not a readable DXF file: {reason}",
            key="import_not_dxf",
            file=name,
            reason=str(exc),
            field="file",
        ) from None
    declared = None
    if doc.header.custom_vars.has_tag("RENEWMAP_EPSG"):
        declared = doc.header.custom_vars.get("RENEWMAP_EPSG")
    source = epsg or (int(declared) if declared and declared.isdigit() else None)
    if source is None:
        raise InvalidInput(
            "file '{file}': a DXF has no coordinate system; give the EPSG code of its "
            "coordinates (e.g. 32651 for UTM zone 51N)",
            key="import_dxf_no_crs",
            file=name,
            field="epsg",
        )
    check_epsg(source)
    parts: list[tuple[str, dict[str, Any], Any, Msg]] = []  # (feature id, props, geom, where)
    for i, (e, layer, inherited) in enumerate(_entities(doc.modelspace(), skipped), start=1):
        etype = e.dxftype()
        if layer.upper() == "RM_SITE":
            continue  # the site's outline, as exported: not a feature
        props: dict[str, Any] = dict(inherited)
        if e.has_xdata(XDATA_APP):
            raw = "".join(str(v) for code, v in e.get_xdata(XDATA_APP) if code == 1000)
            try:
                props = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                props = {}
        where = Msg("entity {n} ({type} on layer '{layer}')", n=i, type=etype, layer=layer)
        geom = _dxf_geometry(e, etype, props)
        if geom is None:
            if etype in AREA_TYPES:  # a hatch without a boundary, a degenerate curve
                skipped[etype] = skipped.get(etype, 0) + 1
                continue
            raise InvalidInput(
                "file '{file}', {where}: too few points",
                key="import_dxf_too_few_points",
                file=name,
                where=where,
                field="file",
            )
        props.setdefault("kind", LAYER_KINDS.get(layer.lower(), kind))
        fid = str(props.pop("feature_id", f"dxf-{i}"))
        parts.append((fid, props, transform(geom, source, 4326), where))
    # One feature's polygons and holes are consecutive entities with its id: an outer ring,
    # the rings inside it (holes), then the next outer ring (a multipolygon's next part).
    items: list[dict[str, Any]] = []
    i = 0
    while i < len(parts):
        fid, props, geom, where = parts[i]
        group = [geom]
        j = i + 1
        while j < len(parts) and parts[j][0] == fid and not fid.startswith("dxf-"):
            group.append(parts[j][2])
            j += 1
        items.append(_with_kind(name, where, to_geojson(_assemble(group)), props, props["kind"]))
        i = j
    return items


DXF_TYPES = (
    "LWPOLYLINE",
    "POLYLINE",
    "LINE",
    "POINT",
    "CIRCLE",
    "HATCH",
    "SPLINE",
    "ARC",
    "ELLIPSE",
)
AREA_TYPES = ("HATCH", "SPLINE", "ARC", "ELLIPSE")
MAX_BLOCK_DEPTH = 8  # blocks inside blocks: deeper is a loop or a bomb
MAX_ENTITIES = 50_000
FLATTEN_M = 0.05  # curves become lines no more than 5 cm off


def _entities(
    space: Any,
    skipped: dict[str, int],
    depth: int = 0,
    layer: str | None = None,
    props: dict[str, Any] | None = None,
    seen: list[int] | None = None,
) -> Iterator[tuple[Any, str, dict[str, Any]]]:
    """(entity, layer, properties inherited from its block) of ``space`` with every block
    reference (INSERT) replaced by its entities where the block is placed; entities of a block
    drawn on layer 0 take the layer of the reference, as CAD programs show them."""
    count = seen if seen is not None else [0]
    for e in space:
        count[0] += 1
        if count[0] > MAX_ENTITIES:
            raise InvalidInput(
                "the DXF has more than {limit} entities (blocks counted as placed)",
                key="import_dxf_too_many_entities",
                limit=MAX_ENTITIES,
                field="file",
            )
        etype = e.dxftype()
        own = e.dxf.layer if e.dxf.hasattr("layer") else "0"
        here = layer if (layer and own == "0") else own
        if etype == "INSERT":
            if depth >= MAX_BLOCK_DEPTH:
                skipped["INSERT"] = skipped.get("INSERT", 0) + 1
                continue
            inherited = dict(props or {})
            if e.has_xdata(XDATA_APP):
                raw = "".join(str(v) for code, v in e.get_xdata(XDATA_APP) if code == 1000)
                with contextlib.suppress(json.JSONDecodeError):
                    inherited = json.loads(raw) if raw else inherited
                inherited.pop("feature_id", None)
            try:
                inside = list(e.virtual_entities())
            except Exception:  # a broken or non-uniformly scaled block
                skipped["INSERT"] = skipped.get("INSERT", 0) + 1
                continue
            yield from _entities(inside, skipped, depth + 1, here, inherited, count)
        elif etype in DXF_TYPES:
            yield e, here, dict(props or {})
        else:
            skipped[etype] = skipped.get(etype, 0) + 1


def _ring_or_line(points: list[tuple[float, float]], closed: bool) -> Any:
    if closed and len(points) >= 3:
        poly = Polygon(points)
        return poly if poly.is_valid and poly.area > 0 else shapely.make_valid(poly)
    return LineString(points) if len(points) >= 2 else None


def _dxf_geometry(e: Any, etype: str, props: dict[str, Any]) -> Any:
    if etype in ("LWPOLYLINE", "POLYLINE"):
        if etype == "LWPOLYLINE":
            pts = [(p[0], p[1]) for p in e.get_points("xy")]
        else:
            pts = [(v.dxf.location.x, v.dxf.location.y) for v in e.vertices]
        if e.closed if etype == "LWPOLYLINE" else e.is_closed:
            return Polygon(pts) if len(pts) >= 3 else None
        return LineString(pts) if len(pts) >= 2 else None
    if etype == "LINE":
        return LineString([(e.dxf.start.x, e.dxf.start.y), (e.dxf.end.x, e.dxf.end.y)])
    if etype == "POINT":
        return Point(e.dxf.location.x, e.dxf.location.y)
    if etype == "HATCH":
        from ezdxf import path as ezpath

        # every boundary path a ring; nested rings are holes (even-odd, as the hatch is filled)
        area = None
        for boundary in ezpath.from_hatch(e):
            pts = [(v.x, v.y) for v in boundary.flattening(FLATTEN_M)]
            if len(pts) < 3:
                continue
            ring = shapely.make_valid(Polygon(pts))
            area = ring if area is None else area.symmetric_difference(ring)
        if area is None or area.is_empty or area.area <= 0:
            return None
        polys = [g for g in getattr(area, "geoms", [area]) if isinstance(g, Polygon)]
        return polys[0] if len(polys) == 1 else MultiPolygon(polys) if polys else None
    if etype in ("SPLINE", "ARC", "ELLIPSE"):
        pts = [(v.x, v.y) for v in e.flattening(FLATTEN_M)]
        closed = len(pts) >= 3 and Point(pts[0]).distance(Point(pts[-1])) < 1e-6
        if etype == "SPLINE":
            closed = closed or bool(e.closed)
        return _ring_or_line(pts[:-1] if closed and pts[0] == pts[-1] else pts, closed)
    props.setdefault("crown_m", round(2 * e.dxf.radius, 2))  # a tree drawn as its crown
    return Point(e.dxf.center.x, e.dxf.center.y)


def _assemble(group: list[Any]) -> Any:
    """Rings of one feature back into a (multi)polygon; lines and points as they are."""
    if len(group) == 1:
        return group[0]
    if all(isinstance(g, Polygon) for g in group):
        polys: list[tuple[Any, list[Any]]] = []
        for ring in group:
            if polys and Polygon(polys[-1][0]).contains(ring):
                polys[-1][1].append(ring.exterior.coords)
            else:
                polys.append((ring.exterior.coords, []))
        built = [Polygon(shell, holes) for shell, holes in polys]
        return built[0] if len(built) == 1 else MultiPolygon(built)
    if all(isinstance(g, LineString) for g in group):
        return shapely.MultiLineString(group)
    return group[0]
