"""Import geodata files into a community: all-or-nothing, with precise errors.

Reads GeoJSON, GeoPackage, zipped Shapefile and CSV (WKT or lon/lat) through pyogrio.
Every feature is checked (geometry type, validity, coordinate range, referenced codes) before
anything is added to the session; the caller commits once, so a failed import writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from renewmap import names
from renewmap.db.models import (
    LAYER_MODELS,
    Building,
    BuildingGroupPlace,
    Community,
    Compound,
    Facility,
    GreenArea,
    Grid,
    PartyBranch,
    Plant,
    Site,
    Stairwell,
    Subdistrict,
    Water,
)
from renewmap.db.models import (
    Path as PathModel,
)
from renewmap.db.queries.places import (
    buildings_numbered,
    buildings_to_assign,
    community_by_code,
    community_grids,
    community_has_grids,
    delete_rows,
    find_branch,
    find_by_osm_id,
    find_coded,
    find_community,
    find_site,
    find_subdistrict,
    grids_of_community_by_code,
    sourced_rows,
    stairwell_numbered,
)
from renewmap.errors import CRSError, ImportFailed, InvalidGeometry, InvalidInput, NotFound
from renewmap.i18n import N_, Alternatives, Lines, Msg, Text
from renewmap.services.ingest.files import check_sqlite_input, is_sqlite
from renewmap.services.places import admin_codes
from renewmap.spatial.crs import check_epsg, check_projected, gcj02_to_wgs84
from renewmap.spatial.geometry import (
    LINEAL,
    POLYGONAL,
    as_multi,
    check_geometry,
    from_db,
    to_db,
)
from renewmap.spatial.grids import best_grid
from renewmap.validation import RANGES, number
from renewmap.vocabulary import BRANCH_LEVELS, BUILDING_GROUP, TOP_LEVELS, metric_epsg

KINDS = tuple(LAYER_MODELS)
EXPECTED_TYPES: dict[str, tuple[str, ...]] = {
    "community": POLYGONAL,
    "compound": POLYGONAL,
    "grid": POLYGONAL,
    "building": POLYGONAL,
    "site": POLYGONAL,
    "green": POLYGONAL,
    "water": POLYGONAL,
    "path": LINEAL,
    "plant": ("Point",),
    "facility": ("Point", *POLYGONAL),
    "stairwell": ("Point",),
}
MAX_REPORTED_ERRORS = 25


# Kinds a re-import may remove features of (nothing else points at them; grids go through the
# boundary drafts, sites and plants carry a process and adoptions).
REMOVABLE_KINDS = ("building", "green", "water", "path", "facility")
# Each kind's properties, as `import --help` lists them (msgids: what each one means).
PROPERTIES: dict[str, dict[str, str]] = {
    "community": {
        "code": N_("residents' committee code (official list, or --unofficial)"),
        "name": N_("name (default: from the official list)"),
        "subdistrict_code": N_("subdistrict code (default: from the official list)"),
        "metric_epsg": N_("projected EPSG code to measure in (default: its UTM zone)"),
        "attribution": N_("data source and licence"),
        "top_level": N_("what its top party level is called: general_branch or party_committee"),
        "patrol_rule": N_("when its patrols are due: week:2:thu, nth:2:thu or day:15"),
    },
    "compound": {
        "code": N_("code, unique in the community (required)"),
        "name": N_("name"),
        "osm_id": N_("OpenStreetMap id"),
    },
    "grid": {
        "code": N_("code, unique in the community (required)"),
        "name": N_("name"),
        "branch_code": N_("code of its grid party branch"),
        "compound_code": N_("code of its compound"),
    },
    "building": {
        "code": N_("code, unique in the community (or 'id')"),
        "number": N_("number as residents say it, e.g. 7号楼"),
        "name": N_("name"),
        "households": N_("households (a whole number)"),
        "grid_code": N_("code of its grid"),
        "compound_code": N_("code of its compound"),
        "group_code": N_("code of the building party group serving it"),
        "osm_id": N_("OpenStreetMap id"),
    },
    "stairwell": {
        "building": N_("its building's number or code (required)"),
        "number": N_("its number, e.g. 2单元 (required)"),
        "households": N_("households (a whole number)"),
        "group_code": N_("code of the building party group serving just this stairwell"),
    },
    "site": {
        "code": N_("code, unique in the community (required)"),
        "name": N_("name"),
        "description": N_("description"),
    },
    "green": {
        "code": N_("code, unique in the community (or 'id')"),
        "name": N_("name"),
        "kind": N_("kind: lawn, bed, garden, park…"),
        "layer": N_("layer: tree, shrub, ground_cover, lawn"),
        "species": N_("species"),
        "site_code": N_("code of its micro-renewal site"),
        "osm_id": N_("OpenStreetMap id"),
    },
    "plant": {
        "code": N_("code, unique in the community (or 'id')"),
        "name": N_("name"),
        "species": N_("species"),
        "layer": N_("layer: tree, shrub, ground_cover, lawn"),
        "adoptable": N_("adoptable: yes or no"),
        "site_code": N_("code of its micro-renewal site"),
    },
    "path": {
        "code": N_("code, unique in the community (or 'id')"),
        "name": N_("name"),
        "width_m": N_("width in metres"),
        "surface": N_("surface, e.g. permeable_concrete"),
        "purpose": N_("purpose: fitness, access, barrier_free"),
        "highway": N_("OpenStreetMap highway tag"),
        "site_code": N_("code of its micro-renewal site"),
        "osm_id": N_("OpenStreetMap id"),
    },
    "facility": {
        "code": N_("code, unique in the community (or 'id')"),
        "name": N_("name"),
        "kind": N_("kind: bench, light, ebike_shed, art_wall, notice_board, play…"),
        "site_code": N_("code of its micro-renewal site"),
        "osm_id": N_("OpenStreetMap id"),
    },
    "water": {
        "code": N_("code, unique in the community (or 'id')"),
        "name": N_("name"),
        "site_code": N_("code of its micro-renewal site"),
        "osm_id": N_("OpenStreetMap id"),
    },
}


@dataclass
class ImportReport:
    """What an import did. A re-import matches features by their source id (OSM id, else the
    file's code or id column): ``updated`` ones changed, ``unchanged`` ones did not."""

    kind: str
    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    community: str | None = None
    assignments_changed: int = 0
    warnings: list[Text] = field(default_factory=list)
    # Snapshots of the existing rows a re-import touches (id(obj) → fields before).
    before: dict[int, tuple[Any, ...]] = field(default_factory=dict, repr=False)


def feature_at(file: str, feature: int | str | None = None, field_name: str | None = None) -> Msg:
    """Where in a file a problem is: the file, a feature (its number, or a code), a field."""
    if feature is None:
        return Msg("{file}", file=file)
    if field_name:
        return Msg("{file}, feature {n}, field '{field}'", file=file, n=feature, field=field_name)
    return Msg("{file}, feature {n}", file=file, n=feature)


class _Errors:
    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Msg] = []

    def where(self, feature: int | str | None, field_name: str | None = None) -> Msg:
        return feature_at(self.file, feature, field_name)

    def add(self, feature: int | str | None, field_name: str | None, message: Text) -> None:
        self.items.append(
            Msg("{where}: {problem}", where=self.where(feature, field_name), problem=message)
        )

    def add_whole(self, message: Msg) -> None:
        """A problem whose message already says where it is."""
        self.items.append(message)

    def raise_if_any(self) -> None:
        if self.items:
            shown: list[Msg] = self.items[:MAX_REPORTED_ERRORS]
            more = len(self.items) - len(shown)
            if more > 0:
                shown = [*shown, Msg("… and {n} more", n=more)]
            raise ImportFailed(
                "import of {file} failed, nothing was written:\n{problems}",
                key="import_failed",
                file=self.file,
                problems=Lines(shown),
                errors=self.items,
            )


def _vsi_path(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".zip"):
        return f"/vsizip/{path}"
    if name.endswith(".gz"):
        return f"/vsigzip/{path}"
    return str(path)


def _pick_layer(p: Path, kind: str | None) -> str | None:
    """A file with several layers needs --layer, unless one is named after the kind."""
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(_vsi_path(p))]
    except Exception:
        return None  # unreadable: let the read report it
    if len(names) <= 1:
        return None
    if kind is not None and kind in names:
        return kind
    raise ImportFailed(
        "{file}: the file has {n} layers ({layers}); choose one with --layer NAME",
        key="import_layer_ambiguous",
        file=p.name,
        n=len(names),
        layers=names,
        path=str(p),
    )


def read_features(
    path: str | Path,
    *,
    crs: int | None = None,
    gcj02: bool = False,
    layer: str | None = None,
    kind: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector or CSV file into WGS84, or raise ImportFailed naming the file."""
    p = Path(path)
    label = p.name
    if not p.exists():
        raise ImportFailed(
            "{file}: file not found ({path})", key="import_file_missing", file=label, path=str(p)
        )
    if crs is not None:
        crs = check_epsg(crs)
    try:
        if p.suffix.lower() == ".csv":
            gdf = _read_csv(p, crs)
        else:
            options = {}
            if p.is_file() and is_sqlite(p):  # a GeoPackage: no views, read within a time budget
                try:
                    check_sqlite_input(p, name=label)
                except InvalidInput as exc:
                    raise ImportFailed(exc.msg, key=exc.key, file=str(p)) from None
            if layer is None:
                layer = _pick_layer(p, kind)
            if p.suffix.lower() in (".geojson", ".json"):
                # Otherwise GDAL turns codes such as "T0009" into times.
                options["DATE_AS_STRING"] = "YES"
            gdf = pyogrio.read_dataframe(_vsi_path(p), layer=layer, **options)
    except ImportFailed:
        raise
    except Exception as exc:  # pyogrio/GDAL raise many types for unreadable input
        raise ImportFailed(
            "{file}: cannot read the file ({reason})",
            key="import_file_unreadable",
            file=label,
            reason=str(exc),
            path=str(p),
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise ImportFailed(
            "{file}: the file has no geometry column",
            key="import_no_geometry_column",
            file=label,
            path=str(p),
        )
    if gdf.crs is None:
        if crs is None:
            raise ImportFailed(
                "{file}: the file declares no CRS; pass --crs EPSG (e.g. --crs 4326)",
                key="import_no_crs",
                file=label,
                path=str(p),
            )
        gdf = gdf.set_crs(crs)
    elif crs is not None and CRS.from_user_input(gdf.crs) != CRS.from_epsg(crs):
        declared = gdf.crs.to_epsg() or gdf.crs.name
        raise ImportFailed(
            "{file}: the file declares CRS {declared} but --crs {crs} was given",
            key="import_crs_mismatch",
            file=label,
            declared=str(declared),
            crs=crs,
            path=str(p),
        )
    if CRS.from_user_input(gdf.crs) != CRS.from_epsg(4326):
        bad = ~gdf.geometry.isna() & ~shapely.is_valid_input(gdf.geometry.values)
        if bad.any():
            raise ImportFailed(
                "{file}: unreadable geometries",
                key="import_geometries_unreadable",
                file=label,
                path=str(p),
            )
        gdf = gdf.to_crs(4326)
    if gcj02:
        gdf = gdf.set_geometry(
            [gcj02_to_wgs84(g) if g is not None else None for g in gdf.geometry], crs=4326
        )
    return gdf


def _read_csv(p: Path, crs: int | None) -> gpd.GeoDataFrame:
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ImportFailed(
            "{file}: cannot read CSV ({reason})",
            key="import_csv_unreadable",
            file=p.name,
            reason=str(exc),
            path=str(p),
        ) from exc
    cols = {c.lower(): c for c in df.columns}
    wkt_col = cols.get("wkt") or cols.get("geometry") or cols.get("geom")
    lon_col = cols.get("lon") or cols.get("lng") or cols.get("longitude") or cols.get("x")
    lat_col = cols.get("lat") or cols.get("latitude") or cols.get("y")
    geoms: list[BaseGeometry | None] = []
    errors = _Errors(p.name)
    if wkt_col:
        for i, text in enumerate(df[wkt_col], start=1):
            try:
                geoms.append(shapely.from_wkt(text) if text else None)
            except Exception as exc:
                errors.add(i, wkt_col, Msg("not valid WKT ({reason})", reason=str(exc)))
                geoms.append(None)
        df = df.drop(columns=[wkt_col])
    elif lon_col and lat_col:
        for i, (x, y) in enumerate(zip(df[lon_col], df[lat_col], strict=True), start=1):
            try:
                fx, fy = float(x), float(y)
                if math.isnan(fx) or math.isnan(fy):
                    raise ValueError("NaN")
                geoms.append(shapely.Point(fx, fy))
            except ValueError:
                errors.add(i, f"{lon_col}/{lat_col}", Msg("not a number: '{x}', '{y}'", x=x, y=y))
                geoms.append(None)
        df = df.drop(columns=[lon_col, lat_col])
    else:
        raise ImportFailed(
            "{file}: a CSV needs a 'wkt' column or 'lon' and 'lat' columns; found {columns}",
            key="import_csv_columns",
            file=p.name,
            columns=[str(c) for c in df.columns],
            path=str(p),
        )
    errors.raise_if_any()
    return gpd.GeoDataFrame(df, geometry=geoms, crs=crs if crs is not None else 4326)


def _text(row: pd.Series, *names: str) -> str | None:
    for name in names:
        if name in row and row[name] is not None:
            value = row[name]
            if isinstance(value, float) and math.isnan(value):
                continue
            text = str(value).strip()
            if text:
                return text
    return None


def _number(
    row: pd.Series, name: str, errors: _Errors, feature: int, *, integer: bool = False
) -> float | int | None:
    raw = _text(row, name)
    if raw is None:
        return None
    low, high, _unit = RANGES.get(name, (0.0, 1e9, ""))
    try:
        # the shared rule: finite (no NaN, no inf), in the quantity's range
        value = number(raw, field=name, low=low, high=high, integer=integer)
    except InvalidInput:
        if integer:
            problem = Msg(
                "must be a non-negative whole number, got '{raw}' (at most {high:g})",
                raw=raw,
                high=high,
            )
        else:
            problem = Msg(
                "must be a non-negative number, got '{raw}' (at most {high:g})", raw=raw, high=high
            )
        errors.add(feature, name, problem)
        return None
    return int(value) if integer else value


def import_file(
    session: Session,
    path: str | Path,
    *,
    kind: str,
    community_code: str | None = None,
    crs: int | None = None,
    gcj02: bool = False,
    layer: str | None = None,
    official_only: bool = False,
    replace: bool = False,
) -> ImportReport:
    """Validate and add every feature of one file; raise ImportFailed before any write."""
    if kind not in KINDS:
        raise ImportFailed(
            "unknown kind '{kind}'; use one of {kinds}", key="import_kind", kind=kind, kinds=KINDS
        )
    gdf = read_features(path, crs=crs, gcj02=gcj02, layer=layer, kind=kind)
    label = Path(path).name
    return import_frame(
        session,
        gdf,
        kind=kind,
        community_code=community_code,
        label=label,
        official_only=official_only,
        replace=replace,
    )


def import_frame(
    session: Session,
    gdf: gpd.GeoDataFrame,
    *,
    kind: str,
    community_code: str | None = None,
    label: str = "input",
    official_only: bool = False,
    replace: bool = False,
) -> ImportReport:
    """Import an in-memory WGS84 GeoDataFrame (same checks as files).

    Features are matched to existing ones by source id (``osm_id``, else ``code`` or the
    file's ``id`` column), so importing the same source twice changes nothing. ``replace``
    removes the community's features of this kind from the same kind of source that the
    frame no longer has (buildings, green areas, water, paths, facilities only).
    ``official_only`` refuses community codes outside the official list."""
    errors = _Errors(label)
    report = ImportReport(kind=kind, file=label, community=community_code)
    if len(gdf) == 0:
        raise ImportFailed("{file}: the file has no features", key="import_empty", file=label)
    if replace and kind not in REMOVABLE_KINDS:
        raise ImportFailed(
            "{file}: only {kinds} can be replaced by a re-import",
            key="import_replace_kind",
            file=label,
            kinds=Alternatives(REMOVABLE_KINDS),
        )
    if "code" not in gdf.columns and "id" in gdf.columns and kind not in ("community", "grid"):
        gdf = gdf.rename(columns={"id": "code"})  # the file's id column is the source id
    community: Community | None = None
    if kind != "community":
        if not community_code:
            raise ImportFailed(
                "{file}: --community CODE is required for kind '{kind}'",
                key="import_community_missing",
                file=label,
                kind=kind,
            )
        try:
            community = community_by_code(session, code=community_code)
        except NotFound as exc:
            raise ImportFailed(
                "{file}: unknown community code '{community}' (import it first with "
                "--kind community)",
                key="import_community_unknown",
                file=label,
                community=community_code,
            ) from exc
    expected = EXPECTED_TYPES[kind]
    checked: list[tuple[int, pd.Series, BaseGeometry]] = []
    for i, (_, row) in enumerate(gdf.iterrows(), start=1):
        geom = row.geometry
        if geom is None or geom.is_empty:
            errors.add(i, "geometry", Msg("missing or empty geometry"))
            continue
        if geom.geom_type not in expected:
            errors.add(
                i,
                "geometry",
                Msg(
                    "expected {expected} for kind '{kind}', got {type}",
                    expected=Alternatives(expected),
                    kind=kind,
                    type=geom.geom_type,
                ),
            )
            continue
        try:
            check_geometry(geom, where=errors.where(i, "geometry"))
        except InvalidGeometry as exc:
            errors.add_whole(exc.msg)
            continue
        checked.append((i, row, geom))
    # Field checks run on the remaining features too, so one run reports every problem.
    had_grids = (
        kind == "grid"
        and community is not None
        and community_has_grids(session, community_id=community.id)
    )
    if kind == "community":
        objects = _build_communities(
            session, checked, community, errors, report, official_only=official_only
        )
    else:
        _duplicate_keys(checked, errors)
        objects = _BUILDERS[kind](session, checked, community, errors, report)
    errors.raise_if_any()
    for obj in objects:
        session.add(obj)
    _count_changes(objects, report)
    if replace and community is not None:
        key = "osm_id" if "osm_id" in gdf.columns else "code"
        _remove_missing(session, LAYER_MODELS[kind], community, objects, key, report)
    if kind == "community":
        _warn_overlaps(session, objects, report)
    if not (report.created or report.updated or report.removed):
        session.flush()
        return report  # the same source again: nothing changed, no new versions
    if report.assignments_changed:
        had_grids = True  # a changed building → grid assignment is a new grid-set version
    if had_grids and community is not None:
        # A changed grid set is a new version; open requests keep the version they were
        # routed with until `renewmap reroute` moves them.
        community.grid_set_version = (community.grid_set_version or 0) + 1
    for changed in [community] if community is not None else objects:
        if changed.id is not None:  # an existing community's plan changed; new ones start at 1
            changed.site_version = (changed.site_version or 1) + 1
    session.flush()
    return report


def _snapshot(obj: Any) -> tuple[Any, ...]:
    """An existing row's fields, to tell an updated feature from an unchanged one."""
    values: list[Any] = []
    for column in obj.__table__.columns:
        if column.key in ("id", "site_version", "grid_set_version"):
            continue
        value = getattr(obj, column.key, None)
        if column.key == "geom" and value is not None:
            value = from_db(value).wkb if not isinstance(value, BaseGeometry) else value.wkb
        values.append(value)
    return tuple(values)


def _count_changes(objects: list[Any], report: ImportReport) -> None:
    for obj in objects:
        before = report.before.get(id(obj))
        if before is None:
            continue
        if _snapshot(obj) == before:
            report.unchanged += 1
        else:
            report.updated += 1


def _remove_missing(
    session: Session,
    model: type[Any],
    community: Community,
    kept: list[Any],
    key: str,
    report: ImportReport,
) -> None:
    """Remove the features of this kind and source that the new import no longer has."""
    keep = {id(o) for o in kept}
    gone = [
        o
        for o in sourced_rows(session, model=model, community_id=community.id, key=key)
        if id(o) not in keep
    ]
    if not gone:
        return
    if model is Building and any(o.grid_id is not None for o in gone):
        report.assignments_changed += 1
    for o in gone:
        session.expunge(o)
    delete_rows(session, model=model, ids=[o.id for o in gone])
    report.removed = len(gone)


def _warn_overlaps(session: Session, objects: list[Any], report: ImportReport) -> None:
    from renewmap.services.places.communities import overlaps

    session.flush()
    for obj in objects:
        for o in overlaps(session, from_db(obj.geom), exclude_code=obj.code):
            report.warnings.append(
                Msg("community {code}: {overlap}", code=obj.code, overlap=o.message())
            )


def _upsert(
    session: Session,
    model: type[Any],
    community: Community | None,
    code: str | None,
    report: ImportReport,
    osm_id: str | None = None,
) -> Any:
    """The existing feature with this source id (OSM id first, then code), or a new one."""
    existing = None
    if community is not None:
        if osm_id is not None and hasattr(model, "osm_id"):
            existing = find_by_osm_id(
                session, model=model, community_id=community.id, osm_id=osm_id
            )
        if existing is None and code is not None and hasattr(model, "code"):
            existing = find_coded(session, model=model, community_id=community.id, code=code)
    if existing is not None:
        report.before[id(existing)] = _snapshot(existing)
        return existing
    report.created += 1
    obj = model()
    if community is not None:
        obj.community_id = community.id
    return obj


Rows = list[tuple[int, pd.Series, BaseGeometry]]  # (feature number, fields, geometry)
# Makes the rows' objects (new or updated), adding every problem to the errors
Builder = Callable[..., list[Any]]


def _duplicate_codes(rows: Iterable[tuple[int, pd.Series, BaseGeometry]], errors: _Errors) -> None:
    _duplicate_field(rows, errors, "code")


def _duplicate_keys(rows: Iterable[tuple[int, pd.Series, BaseGeometry]], errors: _Errors) -> None:
    """A source id twice in one file would make one feature of two."""
    _duplicate_field(rows, errors, "osm_id")


def _duplicate_field(
    rows: Iterable[tuple[int, pd.Series, BaseGeometry]], errors: _Errors, name: str
) -> None:
    seen: dict[str, int] = {}
    for i, row, _ in rows:
        value = _text(row, name)
        if value is None:
            continue
        if value in seen:
            if name == "code":
                problem = Msg(
                    "duplicate code '{code}' (also feature {n})", code=value, n=seen[value]
                )
            else:
                problem = Msg(
                    "duplicate OSM id '{osm_id}' (also feature {n})", osm_id=value, n=seen[value]
                )
            errors.add(i, name, problem)
        seen[value] = i


def _build_communities(
    session: Session,
    rows: Rows,
    _community: Community | None,
    errors: _Errors,
    report: ImportReport,
    *,
    official_only: bool = False,
) -> list[Any]:
    out = []
    _duplicate_codes(rows, errors)
    for i, row, geom in rows:
        code = _text(row, "code")
        if code is None:
            errors.add(i, "code", Msg("a community needs a code (e.g. 310109010026)"))
            continue
        if official_only and not admin_codes.is_official(code):
            errors.add(
                i,
                "code",
                Msg(
                    "'{code}' is not on the official list of residents' committees "
                    "(renewmap community search NAME finds a code); pass --unofficial to "
                    "use it anyway",
                    code=code,
                ),
            )
            continue
        name = _text(row, "name") or admin_codes.committee_name(code)
        if name is None:
            errors.add(i, "name", Msg("a community needs a name"))
            continue
        sub_code = _text(row, "subdistrict_code") or admin_codes.subdistrict_of(code)
        subdistrict = None
        if sub_code:
            subdistrict = find_subdistrict(session, code=sub_code)
            if subdistrict is None:
                sub_name = _text(row, "subdistrict_name") or admin_codes.subdistrict_name(sub_code)
                if sub_name is None:
                    errors.add(
                        i,
                        "subdistrict_code",
                        Msg("unknown subdistrict code '{code}'", code=sub_code),
                    )
                    continue
                subdistrict = Subdistrict(code=sub_code, name=sub_name)
                session.add(subdistrict)
        epsg = _number(row, "metric_epsg", errors, i, integer=True)
        if epsg:
            try:
                check_projected(int(epsg))
            except CRSError as exc:
                errors.add(i, "metric_epsg", exc.msg)
                continue
        existing = find_community(session, code=code)
        obj = existing or Community(code=code, grid_set_version=1)
        if existing is not None:
            report.before[id(existing)] = _snapshot(existing)
        report.created += existing is None
        top_level = _text(row, "top_level")
        if top_level is not None and top_level not in TOP_LEVELS:
            errors.add(
                i,
                "top_level",
                Msg(
                    "unknown top level '{level}'; use {levels}",
                    level=top_level,
                    levels=tuple(TOP_LEVELS),
                ),
            )
            continue
        patrol_rule = _text(row, "patrol_rule")
        if patrol_rule is not None:
            from renewmap.services.requests.patrols import parse_rule

            try:
                parse_rule(patrol_rule)
            except InvalidInput as exc:
                errors.add(i, "patrol_rule", exc.msg)
                continue
        obj.name = name
        obj.top_level = top_level or obj.top_level
        obj.patrol_rule = patrol_rule or obj.patrol_rule
        obj.subdistrict = subdistrict
        obj.metric_epsg = metric_epsg(int(epsg) if epsg else None, geom)
        obj.attribution = _text(row, "attribution")
        obj.geom = to_db(as_multi(geom))
        out.append(obj)
    return out


def _build_simple(model: type[Any]) -> Builder:
    def build(
        session: Session, rows: Rows, community: Community, errors: _Errors, report: ImportReport
    ) -> list[Any]:
        _duplicate_codes(rows, errors)
        out = []
        for i, row, geom in rows:
            code = _text(row, "code")
            obj = _upsert(session, model, community, code, report, _text(row, "osm_id"))
            obj.code = code if code is not None else obj.code
            name = _text(row, "name")
            if model in (Compound, Site) and code is None:
                errors.add(
                    i,
                    "code",
                    Msg(
                        "a {kind} needs a code",
                        kind=names.label(names.LAYER_KINDS, model.__tablename__),
                    ),
                )
                continue
            obj.name = name or obj.name or code
            if hasattr(obj, "osm_id"):
                obj.osm_id = _text(row, "osm_id") or obj.osm_id
            if model is not Site and model is not Compound:
                _site_of(session, obj, row, community, errors, i)
            _extra_fields(obj, row, errors, i)
            obj.geom = to_db(geom if model in (Plant, Facility) else as_multi(geom))
            out.append(obj)
        return out

    return build


def _site_of(
    session: Session, obj: Any, row: pd.Series, community: Community, errors: _Errors, i: int
) -> None:
    site_code = _text(row, "site_code")
    if site_code is None:
        return
    site = find_site(session, community_id=community.id, code=site_code)
    if site is None:
        errors.add(
            i,
            "site_code",
            Msg(
                "unknown site code '{code}' in community {community}",
                code=site_code,
                community=community.code,
            ),
        )
        return
    obj.site_id = site.id


def _extra_fields(obj: Any, row: pd.Series, errors: _Errors, i: int) -> None:
    if isinstance(obj, GreenArea):
        obj.kind = _text(row, "kind") or obj.kind
        obj.layer = _text(row, "layer") or obj.layer
        obj.species = _text(row, "species") or obj.species
    elif isinstance(obj, Plant):
        obj.species = _text(row, "species") or obj.species
        obj.layer = _text(row, "layer") or obj.layer
        adoptable = _text(row, "adoptable")
        if adoptable is not None:
            obj.adoptable = adoptable.lower() in ("1", "true", "yes", "y", "是")
    elif isinstance(obj, PathModel):
        obj.width_m = _number(row, "width_m", errors, i) or obj.width_m
        obj.surface = _text(row, "surface") or obj.surface
        obj.purpose = _text(row, "purpose") or obj.purpose
        obj.highway = _text(row, "highway") or obj.highway
    elif isinstance(obj, Facility):
        obj.kind = _text(row, "kind") or obj.kind
    elif isinstance(obj, Site):
        obj.description = _text(row, "description") or obj.description


def _build_grids(
    session: Session, rows: Rows, community: Community, errors: _Errors, report: ImportReport
) -> list[Any]:
    _duplicate_codes(rows, errors)
    out = []
    for i, row, geom in rows:
        code = _text(row, "code")
        if code is None:
            errors.add(i, "code", Msg("a grid needs a code"))
            continue
        obj = _upsert(session, Grid, community, code, report)
        obj.code = code
        obj.name = _text(row, "name") or obj.name or code
        branch_code = _text(row, "branch_code")
        if branch_code is not None:
            branch = find_branch(session, code=branch_code)
            if branch is None:
                errors.add(
                    i, "branch_code", Msg("unknown party branch code '{code}'", code=branch_code)
                )
                continue
            if branch.community_id not in (None, community.id):
                errors.add(
                    i,
                    "branch_code",
                    Msg("branch '{code}' belongs to another community", code=branch_code),
                )
                continue
            obj.branch_id = branch.id
        compound_code = _text(row, "compound_code")
        if compound_code is not None:
            compound = find_coded(
                session, model=Compound, community_id=community.id, code=compound_code
            )
            if compound is None:
                errors.add(
                    i, "compound_code", Msg("unknown compound code '{code}'", code=compound_code)
                )
                continue
            obj.compound_id = compound.id
        obj.geom = to_db(as_multi(geom))
        out.append(obj)
    return out


def _build_buildings(
    session: Session, rows: Rows, community: Community, errors: _Errors, report: ImportReport
) -> list[Any]:
    _duplicate_codes(rows, errors)
    grids = grids_of_community_by_code(session, community_id=community.id)
    out = []
    for i, row, geom in rows:
        code = _text(row, "code")
        obj = _upsert(session, Building, community, code, report, _text(row, "osm_id"))
        obj.code = code if code is not None else obj.code
        obj.number = _text(row, "number") or obj.number
        obj.name = _text(row, "name") or obj.name
        obj.osm_id = _text(row, "osm_id") or obj.osm_id
        households = _number(row, "households", errors, i, integer=True)
        obj.households = households if households is not None else obj.households
        grid_code = _text(row, "grid_code")
        if grid_code is not None:
            if grid_code in grids and obj.id is not None and obj.grid_id != grids[grid_code].id:
                report.assignments_changed += 1
            if grid_code not in grids:
                errors.add(
                    i,
                    "grid_code",
                    Msg(
                        "unknown grid code '{code}' in community {community}",
                        code=grid_code,
                        community=community.code,
                    ),
                )
                continue
            obj.grid_id = grids[grid_code].id
        compound_code = _text(row, "compound_code")
        if compound_code is not None:
            compound = find_coded(
                session, model=Compound, community_id=community.id, code=compound_code
            )
            if compound is None:
                errors.add(
                    i, "compound_code", Msg("unknown compound code '{code}'", code=compound_code)
                )
                continue
            obj.compound_id = compound.id
        group_code = _text(row, "group_code")
        if group_code is not None:
            group = _building_group(session, community, group_code, errors, i)
            if group is None:
                continue
            # the building-wide link of this building: the one in the file replaces it
            for old in obj.group_places if obj.id is not None else []:
                if old.stairwell_id is None:
                    session.delete(old)
            obj.group_places.append(BuildingGroupPlace(branch_id=group.id))
        obj.geom = to_db(as_multi(geom))
        out.append(obj)
    return out


def _building_group(
    session: Session, community: Community, code: str, errors: _Errors, i: int
) -> PartyBranch | None:
    """The community's building party group with this code (or an error naming why not)."""
    group = find_branch(session, code=code)
    if group is None:
        errors.add(i, "group_code", Msg("unknown party branch code '{code}'", code=code))
    elif group.level != BUILDING_GROUP:
        errors.add(
            i,
            "group_code",
            Msg(
                "'{code}' is a {level}, not a building party group",
                code=code,
                level=names.label(names.BRANCH_LEVELS, group.level),
            ),
        )
    elif group.community_id not in (None, community.id):
        errors.add(
            i,
            "group_code",
            Msg("building group '{code}' belongs to another community", code=code),
        )
    else:
        return group
    return None


def _build_stairwells(
    session: Session, rows: Rows, community: Community, errors: _Errors, report: ImportReport
) -> list[Any]:
    """Stairwells (楼道/单元): ``building`` (its number or code), ``number`` (2单元), the
    entrance as the point, ``households``, and ``group_code`` when one building group serves
    only this stairwell."""
    out = []
    seen: dict[tuple[str, str], int] = {}
    for i, row, geom in rows:
        building_name, number = _text(row, "building"), _text(row, "number")
        if building_name is None:
            errors.add(i, "building", Msg("a stairwell needs its building's number or code"))
            continue
        if number is None:
            errors.add(i, "number", Msg("a stairwell needs its number (e.g. 2单元)"))
            continue
        if (building_name, number) in seen:
            errors.add(
                i,
                "number",
                Msg(
                    "duplicate stairwell (also feature {other})",
                    other=seen[building_name, number],
                ),
            )
            continue
        seen[building_name, number] = i
        building = find_coded(
            session, model=Building, community_id=community.id, code=building_name
        ) or next(
            iter(buildings_numbered(session, community_id=community.id, number=building_name)), None
        )
        if building is None:
            errors.add(
                i,
                "building",
                Msg(
                    "unknown building '{building}' in {community}",
                    building=building_name,
                    community=community.name,
                ),
            )
            continue
        obj = stairwell_numbered(session, building_id=building.id, number=number)
        report.updated += obj is not None
        report.created += obj is None
        obj = obj or Stairwell(community_id=community.id, building_id=building.id, number=number)
        households = _number(row, "households", errors, i, integer=True)
        if households is not None:
            obj.households = int(households)
        obj.geom = to_db(geom)
        group_code = _text(row, "group_code")
        if group_code is not None:
            group = _building_group(session, community, group_code, errors, i)
            if group is None:
                continue
            obj.group_places = [BuildingGroupPlace(branch_id=group.id, building_id=building.id)]
        out.append(obj)
    return out


_BUILDERS: dict[str, Builder] = {
    "community": _build_communities,
    "compound": _build_simple(Compound),
    "grid": _build_grids,
    "building": _build_buildings,
    "site": _build_simple(Site),
    "green": _build_simple(GreenArea),
    "plant": _build_simple(Plant),
    "path": _build_simple(PathModel),
    "facility": _build_simple(Facility),
    "water": _build_simple(Water),
    "stairwell": _build_stairwells,
}


def import_branches(session: Session, path: str | Path) -> ImportReport:
    """Import the party tree from CSV ``code,name,parent_code,level`` (parents may come later
    in the file). ``community_code`` is an optional extra column."""
    p = Path(path)
    label = p.name
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ImportFailed(
            "{file}: cannot read CSV ({reason})",
            key="import_csv_unreadable",
            file=label,
            reason=str(exc),
            path=str(p),
        ) from exc
    missing = {"code", "name", "parent_code", "level"} - set(df.columns)
    if missing:
        raise ImportFailed(
            "{file}: missing column(s) {columns}; expected code,name,parent_code,level",
            key="branches_columns_missing",
            file=label,
            columns=sorted(missing),
            path=str(p),
        )
    errors = _Errors(label)
    report = ImportReport(kind="branch", file=label)
    rows = list(df.to_dict("records"))
    codes_in_file = {r["code"].strip() for r in rows}
    by_code: dict[str, PartyBranch] = {}
    seen: set[str] = set()
    for i, r in enumerate(rows, start=1):
        code, name, level = r["code"].strip(), r["name"].strip(), r["level"].strip()
        parent_code = r["parent_code"].strip()
        if not code:
            errors.add(i, "code", Msg("empty code"))
            continue
        if code in seen:
            errors.add(i, "code", Msg("duplicate code '{code}'", code=code))
            continue
        seen.add(code)
        if not name:
            errors.add(i, "name", Msg("empty name"))
        if level not in BRANCH_LEVELS:
            errors.add(
                i,
                "level",
                Msg("unknown level '{level}'; use {levels}", level=level, levels=BRANCH_LEVELS),
            )
        if (
            parent_code
            and parent_code not in codes_in_file
            and find_branch(session, code=parent_code) is None
        ):
            errors.add(
                i, "parent_code", Msg("unknown parent branch code '{code}'", code=parent_code)
            )
        if level == "general" and parent_code:
            errors.add(i, "parent_code", Msg("a general branch has no parent in the community"))
        if level in ("grid", "building_group") and not parent_code:
            errors.add(i, "parent_code", Msg("a '{level}' branch needs a parent", level=level))
        community_id = None
        community_code = (r.get("community_code") or "").strip()
        if community_code:
            community = find_community(session, code=community_code)
            if community is None:
                errors.add(
                    i,
                    "community_code",
                    Msg("unknown community code '{code}'", code=community_code),
                )
            else:
                community_id = community.id
        existing = find_branch(session, code=code)
        obj = existing or PartyBranch(code=code)
        report.updated += existing is not None
        report.created += existing is None
        obj.name, obj.level = name, level
        if community_id is not None:
            obj.community_id = community_id
        by_code[code] = obj
    errors.raise_if_any()
    for obj in by_code.values():
        session.add(obj)
    session.flush()
    for i, r in enumerate(rows, start=1):
        parent_code = r["parent_code"].strip()
        obj = by_code[r["code"].strip()]
        if parent_code:
            parent = by_code.get(parent_code) or find_branch(session, code=parent_code)
            obj.parent_id = parent.id if parent else None
            if obj.community_id is None and parent is not None:
                obj.community_id = parent.community_id
            if parent is obj:
                errors.add(i, "parent_code", Msg("a branch cannot be its own parent"))
    session.flush()
    # Inherit the community down the tree (children listed before parents).
    for _ in range(3):
        for obj in by_code.values():
            if obj.community_id is None and obj.parent_id is not None:
                parent = session.get(PartyBranch, obj.parent_id)
                obj.community_id = parent.community_id if parent else None
    _check_cycles(by_code.values(), session, errors)
    errors.raise_if_any()
    session.flush()
    return report


ORGANISATION_COLUMNS = ("code", "name", "kind", "community_code")


def import_organisations(session: Session, path: str | Path) -> ImportReport:
    """Import the compounds' organisations from CSV ``code,name,kind,community_code`` with
    optional ``compound_code`` and ``phone`` (its service desk): the property company (物业,
    kind ``property_company``) and the owners' committee (业委会, ``owners_committee``)."""
    from renewmap.db.models import Organisation
    from renewmap.vocabulary import ORG_KINDS

    p = Path(path)
    label = p.name
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ImportFailed(
            "{file}: cannot read CSV ({reason})",
            key="import_csv_unreadable",
            file=label,
            reason=str(exc),
            path=str(p),
        ) from exc
    missing = set(ORGANISATION_COLUMNS) - set(df.columns)
    if missing:
        raise ImportFailed(
            "{file}: missing column(s) {columns}; expected "
            "code,name,kind,community_code[,compound_code,phone]",
            key="organisations_columns_missing",
            file=label,
            columns=sorted(missing),
            path=str(p),
        )
    errors = _Errors(label)
    report = ImportReport(kind="organisation", file=label)
    seen: set[tuple[str, str]] = set()
    out = []
    for i, r in enumerate(df.to_dict("records"), start=1):
        code, name, kind = r["code"].strip(), r["name"].strip(), r["kind"].strip()
        community_code = r["community_code"].strip()
        if not code or not name:
            errors.add(i, "code" if not code else "name", Msg("empty"))
            continue
        if kind not in ORG_KINDS:
            errors.add(
                i,
                "kind",
                Msg("unknown kind '{kind}'; use {kinds}", kind=kind, kinds=tuple(ORG_KINDS)),
            )
            continue
        if (community_code, code) in seen:
            errors.add(i, "code", Msg("duplicate code '{code}'", code=code))
            continue
        seen.add((community_code, code))
        community = find_community(session, code=community_code)
        if community is None:
            errors.add(
                i, "community_code", Msg("unknown community code '{code}'", code=community_code)
            )
            continue
        compound = None
        compound_code = (r.get("compound_code") or "").strip()
        if compound_code:
            compound = find_coded(
                session, model=Compound, community_id=community.id, code=compound_code
            )
            if compound is None:
                errors.add(
                    i,
                    "compound_code",
                    Msg("unknown compound code '{code}'", code=compound_code),
                )
                continue
        obj = find_coded(session, model=Organisation, community_id=community.id, code=code)
        report.updated += obj is not None
        report.created += obj is None
        obj = obj or Organisation(community_id=community.id, code=code)
        obj.name, obj.kind = name, kind
        obj.compound_id = compound.id if compound is not None else None
        obj.phone = (r.get("phone") or "").strip() or None
        out.append(obj)
    errors.raise_if_any()
    session.add_all(out)
    session.flush()
    return report


def _check_cycles(branches: Iterable[PartyBranch], session: Session, errors: _Errors) -> None:
    for b in branches:
        seen = {b.id}
        parent_id = b.parent_id
        while parent_id is not None:
            if parent_id in seen:
                errors.add(b.code, "parent_code", Msg("the party tree has a cycle here"))
                break
            seen.add(parent_id)
            parent = session.get(PartyBranch, parent_id)
            parent_id = parent.parent_id if parent else None


def assign_buildings(session: Session, *, community_code: str, only_unassigned: bool = True) -> int:
    """Assign buildings to the grid that covers most of their footprint; returns how many."""
    community = community_by_code(session, code=community_code)
    grids = community_grids(session, community_id=community.id)
    by_code = {g.code: g for g in grids}
    shapes = [(g.code, from_db(g.geom)) for g in grids]
    count = 0
    for b in buildings_to_assign(
        session, community_id=community.id, only_unassigned=only_unassigned
    ):
        code = best_grid(from_db(b.geom), shapes)
        if code is not None and b.grid_id != by_code[code].id:
            b.grid_id = by_code[code].id
            count += 1
    if count:
        community.grid_set_version = (community.grid_set_version or 0) + 1
        community.site_version = (community.site_version or 1) + 1
    session.flush()
    return count
