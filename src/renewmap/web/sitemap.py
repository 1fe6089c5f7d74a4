"""The community's site plan as data for the pages' map script (``static/js/lib/sitemap.js``).

A page carries its site plan as JSON: the outline, green, water, grids, paths and buildings as
GeoJSON (coordinates to 1 cm), or, for a layer of ``VECTOR_TILES_FROM`` features or more, the
URL of our own vector tiles instead; the optional online basemap; the words the map shows, in
the reader's language. The script draws it with Leaflet and puts every name and number into
the page as text. No online tiles unless configured: the base map is the plan itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import shapely

from renewmap.i18n import gettext
from renewmap.settings import Settings
from renewmap.spatial.crs import wgs84_to_gcj02_xy
from renewmap.vocabulary import Status

# A base layer with at least this many features reaches the browser as vector tiles from our
# /ogc tiles (only what is in view) instead of GeoJSON in the page.
VECTOR_TILES_FROM = 2000
COORD_DECIMALS = 7  # about 1 cm
# A request's colour on a map, by workflow status (reports, notebooks).
STATUS_COLOURS: dict[str, str] = {
    Status.NEW: "#e8590c",
    Status.REOPENED: "#c92a2a",
    Status.ACCEPTED: "#1971c2",
    Status.IN_PROGRESS: "#6741d9",
    Status.RESOLVED: "#2b8a3e",
    Status.REJECTED: "#868e96",
    Status.DUPLICATE: "#adb5bd",
}
TILED = {"green": "green_areas", "path": "paths", "building": "buildings"}
# What each layer of the plan says about a feature (tooltips, vector tile popups).
PROPERTIES = {
    "community": ("name",),
    "green": ("name", "kind", "species"),
    "water": ("name",),
    "grid": ("code", "name", "branch_code"),
    "path": ("name", "surface", "width_m"),
    "building": ("number", "households", "grid_code"),
}
# Leaflet's own controls speak English (their titles and labels): the page's words instead.
CONTROL_LABELS = {"zoom_in": "Zoom in", "zoom_out": "Zoom out", "layers": "Layers"}
LAYER_NAMES = {
    "basemap": "Online basemap",
    "community": "Community",
    "green": "Green",
    "water": "Water",
    "grid": "Grids",
    "path": "Paths",
    "building": "Buildings",
    "labels": "Building numbers",
}
FIELD_LABELS = {
    "name": "Name",
    "kind": "Kind",
    "species": "Species",
    "surface": "Surface",
    "width_m": "Width (m)",
    "number": "Building number",
    "households": "Households",
    "grid": "Grid",
    "grid_code": "Grid",
    "code": "Code",
    "branch_code": "Party branch",
}


@dataclass(frozen=True)
class OnlineTiles:
    """An online basemap under the site plan (off by default: the app runs on intranets).

    ``crs="gcj02"``: the imagery is in GCJ-02, as Chinese web basemaps are. Our data stays in
    WGS84 everywhere, in the browser too; the *imagery* is moved instead, by the GCJ-02 offset
    at the community's centre (``shiftedTiles`` in sitemap.js). Over a compound (< 2 km) the
    offset varies by centimetres, so a pin, a tap and a GPS fix all stay in WGS84.
    """

    url: str
    attribution: str
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    max_zoom: int = 18
    subdomains: str = "abc"

    def origins(self) -> list[str]:
        """Where the tiles come from, for the CSP's img-src (``{s}`` spelled out)."""
        if self.url.startswith("/"):
            return []
        hosts = []
        for sub in self.subdomains if "{s}" in self.url else " ":
            parts = urlsplit(self.url.replace("{s}", sub.strip()))
            hosts.append(f"{parts.scheme}://{parts.netloc}")
        return sorted(set(hosts))


def online_tiles(settings: Settings) -> OnlineTiles | None:
    """The configured online basemap, if any (``RENEWMAP_TILES_*``)."""
    if settings.tiles_url is None:
        return None
    return OnlineTiles(
        url=settings.tiles_url,
        attribution=settings.tiles_attribution,
        crs=settings.tiles_crs,
        max_zoom=settings.tiles_max_zoom,
        subdomains=settings.tiles_subdomains,
    )


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars to Python, NaN/NaT to None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def feature_collection(
    frame: gpd.GeoDataFrame, columns: tuple[str, ...] | list[str]
) -> dict[str, Any]:
    """GeoJSON of ``frame`` with only ``columns`` as properties, coordinates to 1 cm."""
    geoms = shapely.transform(
        np.asarray(frame.geometry.values, dtype=object),
        lambda xy: np.round(xy, COORD_DECIMALS),
    )
    cols = [c for c in columns if c in frame.columns]
    records = frame[cols].to_dict("records") if cols else [{} for _ in range(len(frame))]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(shapely.to_geojson(g)),
                "properties": {k: _plain(v) for k, v in rec.items()},
            }
            for g, rec in zip(geoms, records, strict=True)
        ],
    }


def _tiles_config(tiles: OnlineTiles, centre: tuple[float, float]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "url": tiles.url,
        "attribution": tiles.attribution,
        "subdomains": tiles.subdomains,
        "maxNativeZoom": tiles.max_zoom,
        "shift": None,
    }
    if tiles.crs == "gcj02":
        lon, lat = centre
        glon, glat = wgs84_to_gcj02_xy(np.array([lon]), np.array([lat]))
        out["anchor"] = [lon, lat]
        out["shift"] = [float(glon[0]) - lon, float(glat[0]) - lat]
    return out


def site_plan(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    tiles: OnlineTiles | None = None,
    vector_tiles_from: int | None = VECTOR_TILES_FROM,
) -> dict[str, Any]:
    """The map part of a page's configuration. ``vector_tiles_from=None``: embed every layer
    (a file that must work on its own, like the printable report)."""
    community = layers["community"]
    code = str(community["code"].iloc[0])
    minx, miny, maxx, maxy = (float(v) for v in community.total_bounds)
    grids = layers.get("grid")
    grid_names = (
        {str(c): str(n) for c, n in zip(grids["code"], grids["name"], strict=True)}
        if grids is not None and len(grids)
        else {}
    )
    out: dict[str, Any] = {}
    for kind, props in PROPERTIES.items():
        frame = layers.get(kind)
        if frame is None or not len(frame):
            continue
        if kind in TILED and vector_tiles_from is not None and len(frame) >= vector_tiles_from:
            out[kind] = {
                "tiles": f"/ogc/collections/{TILED[kind]}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"
                f"?community={code}",
                "collection": TILED[kind],
            }
            continue
        fc = feature_collection(frame, props)
        if kind == "building":  # buildings are named with their grid's name, not its code
            inside = shapely.point_on_surface(np.asarray(frame.geometry.values, dtype=object))
            xs = np.round(shapely.get_x(inside), COORD_DECIMALS)
            ys = np.round(shapely.get_y(inside), COORD_DECIMALS)
            for f, x, y in zip(fc["features"], xs.tolist(), ys.tolist(), strict=True):
                g = f["properties"].pop("grid_code", None)
                f["properties"]["grid"] = grid_names.get(str(g)) if g is not None else None
                f["properties"]["label_at"] = [x, y]  # where the number is written
        out[kind] = {"data": fc}
    attribution = community["attribution"].iloc[0] if "attribution" in community else None
    return {
        "community": code,
        "bounds": [minx, miny, maxx, maxy],
        "attribution": attribution if isinstance(attribution, str) else None,
        "tiles": None
        if tiles is None
        else _tiles_config(tiles, ((minx + maxx) / 2, (miny + maxy) / 2)),
        "layers": out,
        "names": {k: gettext(locale, v) for k, v in LAYER_NAMES.items()},
        "fields": {k: gettext(locale, v) for k, v in FIELD_LABELS.items()},
        "controls": {k: gettext(locale, v) for k, v in CONTROL_LABELS.items()},
    }


def area_plan(
    bounds: tuple[float, float, float, float] | list[float],
    *,
    locale: str,
    attribution: str | None = None,
    tiles: OnlineTiles | None = None,
) -> dict[str, Any]:
    """A plan with no layers of its own, framed on ``bounds`` (a town's map, whose page draws
    its communities itself), with the configured basemap if any."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return {
        "community": None,
        "bounds": [minx, miny, maxx, maxy],
        "attribution": attribution,
        "tiles": None
        if tiles is None
        else _tiles_config(tiles, ((minx + maxx) / 2, (miny + maxy) / 2)),
        "layers": {},
        "names": {k: gettext(locale, v) for k, v in LAYER_NAMES.items()},
        "fields": {k: gettext(locale, v) for k, v in FIELD_LABELS.items()},
    }
