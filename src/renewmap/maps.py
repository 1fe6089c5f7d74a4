"""Map building with folium, shared by the web pages, reports and notebooks.

folium loads Leaflet, jQuery, Bootstrap and icon fonts from CDNs by default. RenewMap must
work on an isolated intranet, so every map uses only the vendored Leaflet served by the app
(``assets="server"``) or inlined into the HTML (``assets="inline"``, for notebooks and files).
No online tiles by default: the base map is the community's own site plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from importlib import resources
from typing import Literal

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element, MacroElement
from folium.template import Template as FoliumTemplate  # has the tojavascript filter
from jinja2 import Template

from renewmap.spatial.crs import wgs84_to_gcj02_xy
from renewmap.vocabulary import Status

STATIC_URL = "/static"
AssetMode = Literal["server", "inline"]
# A base layer with at least this many features reaches the browser as vector tiles from our
# /ogc tiles (only what is in view) instead of one GeoJSON embedded in the page.
VECTOR_TILES_FROM = 2000
ODBL = "© OpenStreetMap contributors, ODbL 1.0"

GRID_COLOURS = [
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#edc948",
    "#76b7b2",
    "#ff9da7",
    "#9c755f",
    "#e15759",
    "#bab0ac",
]
STATUS_COLOURS: dict[str, str] = {
    Status.NEW: "#e8590c",
    Status.REOPENED: "#c92a2a",
    Status.ACCEPTED: "#1971c2",
    Status.IN_PROGRESS: "#6741d9",
    Status.RESOLVED: "#2b8a3e",
    Status.REJECTED: "#868e96",
    Status.DUPLICATE: "#adb5bd",
}
RULE_COLOURS = {
    "inside": "#2b8a3e",
    "boundary": "#e8590c",
    "building": "#1971c2",
    "overlap": "#6741d9",
    "community": "#c2255c",
    "snapped": "#868e96",
}


def _static_text(path: str) -> str:
    return (resources.files("renewmap") / "static" / path).read_text(encoding="utf-8")


def _asset_text(name: str) -> str:
    return (resources.files("renewmap") / "static" / "vendor" / "leaflet" / name).read_text(
        encoding="utf-8"
    )


class _Attribution(MacroElement):
    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


def offline_map(
    *,
    location: tuple[float, float],
    zoom: int = 17,
    assets: AssetMode = "server",
    attribution: str | None = ODBL,
) -> folium.Map:
    """A folium map with no CDN and no tiles (lat, lon location as Leaflet wants)."""
    m = folium.Map(
        location=list(location),
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        max_zoom=22,
        prefer_canvas=True,
    )
    if assets == "server":
        m.default_js = [("leaflet", f"{STATIC_URL}/vendor/leaflet/leaflet.js")]
        m.default_css = [("leaflet_css", f"{STATIC_URL}/vendor/leaflet/leaflet.css")]
    else:
        m.default_js = []
        m.default_css = []
        header = m.get_root().header
        header.add_child(
            Element(f"<style>{_asset_text('leaflet.css')}</style>"), name="leaflet_css"
        )
        header.add_child(
            Element(f"<script>{_asset_text('leaflet.js')}</script>"), name="leaflet_js"
        )
    if attribution:
        m.add_child(_Attribution(attribution))
    return m


@dataclass(frozen=True)
class OnlineTiles:
    """An online basemap under the site plan (off by default: the app runs on intranets).

    ``crs="gcj02"``: the imagery is in GCJ-02, as Chinese web basemaps are. Our data stays in
    WGS84 everywhere, in the browser too; the *imagery* is moved instead, by the GCJ-02 offset
    at the community's centre (static/js/shifted-tiles.js). Over a compound (< 2 km) the
    offset varies by centimetres, so a pin, a tap and a GPS fix all stay in WGS84.
    """

    url: str
    attribution: str
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    max_zoom: int = 18
    subdomains: str = "abc"


class _ShiftedTileLayer(folium.TileLayer):
    """``RMTiles.shifted``: a tile layer drawn ``shift`` degrees (GCJ-02 − WGS84) back."""

    _template = FoliumTemplate(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = window.RMTiles.shifted(
            {{ this.tiles|tojson }},
            {{ this.options|tojavascript }}
        );
        {% endmacro %}"""
    )


def _tile_layer(tiles: OnlineTiles, centre: tuple[float, float]) -> folium.TileLayer:
    common = {
        "tiles": tiles.url,
        "attr": tiles.attribution,
        "name": "在线底图 online basemap",
        "overlay": True,
        "max_zoom": 22,
        "max_native_zoom": tiles.max_zoom,
        "subdomains": tiles.subdomains,
    }
    if tiles.crs == "wgs84":
        return folium.TileLayer(**common)
    lon, lat = centre
    glon, glat = wgs84_to_gcj02_xy(np.array([lon]), np.array([lat]))
    return _ShiftedTileLayer(
        **common,
        anchor=[lon, lat],
        shift=[float(glon[0]) - lon, float(glat[0]) - lat],
    )


class VectorTileLayer(folium.map.Layer):
    """A collection drawn from our own Mapbox Vector Tiles (``static/js/vector-tiles.js``,
    vendored Leaflet.VectorGrid); a click shows ``fields``, (property, label) pairs."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = window.RMVT.layer(
            {{ this.url|tojson }}, {{ this.collection|tojson }},
            {{ this.style|tojson }}, {{ this.fields|tojson }});
        {% endmacro %}"""
    )

    def __init__(
        self,
        *,
        collection: str,
        community_code: str,
        name: str,
        style: dict[str, object],
        fields: list[tuple[str, str]],
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "VectorTileLayer"
        self.collection = collection
        self.url = (
            f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"
            f"?community={community_code}"
        )
        self.style = {"fill": True, **style}
        self.fields = fields

    def render(self, **kwargs: object) -> None:
        header = self.get_root().header
        for key, src in (
            (
                "vectorgrid_js",
                f"{STATIC_URL}/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
            ),
            ("vector_tiles_js", f"{STATIC_URL}/js/vector-tiles.js"),
        ):
            header.add_child(Element(f'<script src="{src}"></script>'), name=key)
        super().render(**kwargs)


def _escaped(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Text values HTML-escaped: tooltips and labels are inserted as HTML by Leaflet.

    Any column dtype is checked (pandas 3 stores text as ``str``, not ``object``).
    """
    out = frame.copy()
    for col in out.columns:
        if col != out.geometry.name:
            out[col] = out[col].map(lambda v: escape(v) if isinstance(v, str) else v)
    return out


def community_map(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    assets: AssetMode = "server",
    tiles: OnlineTiles | None = None,
    vector_tiles_from: int = VECTOR_TILES_FROM,
) -> folium.Map:
    """The community's site plan: outline, grids, buildings (numbers), paths, green, water,
    and requests coloured by routing rule; over an online basemap only if ``tiles``.

    Served pages (``assets="server"``) draw a base layer of ``vector_tiles_from`` features or
    more from the app's vector tiles; self-contained files (reports) always embed it."""
    layers = {k: _escaped(v) for k, v in layers.items()}
    community = layers["community"]
    code = str(community["code"].iloc[0])

    def tiled(kind: str) -> bool:
        return assets == "server" and len(layers.get(kind, [])) >= vector_tiles_from

    minx, miny, maxx, maxy = community.total_bounds
    attribution = community["attribution"].iloc[0] if "attribution" in community else None
    m = offline_map(
        location=((miny + maxy) / 2, (minx + maxx) / 2),
        assets=assets,
        attribution=attribution if isinstance(attribution, str) else None,
    )
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    if tiles is not None:
        if tiles.crs == "gcj02":
            header = m.get_root().header
            if assets == "server":
                script = f'<script src="{STATIC_URL}/js/shifted-tiles.js"></script>'
            else:
                script = f"<script>{_static_text('js/shifted-tiles.js')}</script>"
            header.add_child(Element(script), name="shifted_tiles_js")
        _tile_layer(tiles, ((minx + maxx) / 2, (miny + maxy) / 2)).add_to(m)
    # Without a basemap the compound is drawn as paper; over one, as a light veil.
    paper = 1.0 if tiles is None else 0.15
    folium.GeoJson(
        community[["code", "name", "geometry"]],
        name="社区 community",
        style_function=lambda f: {
            "color": "#333",
            "weight": 2,
            "fillColor": "#f8f9fa",
            "fillOpacity": paper,
        },
    ).add_to(m)
    if tiled("green"):
        VectorTileLayer(
            collection="green_areas",
            community_code=code,
            name="绿地 green",
            style={"color": "#2f9e44", "weight": 1, "fillColor": "#b2f2bb", "fillOpacity": 0.8},
            fields=[("name", "名称 name"), ("kind", "类型 kind"), ("species", "品种 species")],
        ).add_to(m)
    elif len(layers.get("green", [])):
        folium.GeoJson(
            layers["green"][["name", "kind", "geometry"]],
            name="绿地 green",
            style_function=lambda f: {
                "color": "#2f9e44",
                "weight": 1,
                "fillColor": "#b2f2bb",
                "fillOpacity": 0.8,
            },
        ).add_to(m)
    if len(layers.get("water", [])):
        folium.GeoJson(
            layers["water"][["name", "geometry"]],
            name="水体 water",
            style_function=lambda f: {
                "color": "#1c7ed6",
                "fillColor": "#a5d8ff",
                "fillOpacity": 0.9,
            },
        ).add_to(m)
    grids = layers.get("grid")
    if grids is not None and len(grids):
        colours = {c: GRID_COLOURS[i % len(GRID_COLOURS)] for i, c in enumerate(grids["code"])}
        folium.GeoJson(
            grids[["code", "name", "branch_code", "geometry"]],
            name="网格 grids",
            style_function=lambda f: {
                "color": colours[f["properties"]["code"]],
                "weight": 2,
                "fillColor": colours[f["properties"]["code"]],
                "fillOpacity": 0.12,
                "dashArray": "6 4",
            },
            tooltip=folium.GeoJsonTooltip(["name", "code", "branch_code"]),
        ).add_to(m)
    if tiled("path"):
        VectorTileLayer(
            collection="paths",
            community_code=code,
            name="步道 paths",
            style={"color": "#e67700", "weight": 3, "fill": False},
            fields=[
                ("name", "名称 name"),
                ("surface", "铺装 surface"),
                ("width_m", "宽度 width (m)"),
            ],
        ).add_to(m)
    elif len(layers.get("path", [])):
        folium.GeoJson(
            layers["path"][["name", "surface", "width_m", "geometry"]],
            name="步道 paths",
            style_function=lambda f: {"color": "#e67700", "weight": 3},
        ).add_to(m)
    buildings = layers.get("building")
    if tiled("building"):
        # one label per building would be thousands of DOM nodes: numbers show on a click
        VectorTileLayer(
            collection="buildings",
            community_code=code,
            name="楼栋 buildings",
            style={"color": "#495057", "weight": 1, "fillColor": "#ced4da", "fillOpacity": 0.9},
            fields=[
                ("number", "楼号 number"),
                ("households", "户数 households"),
                ("grid", "网格 grid"),
            ],
        ).add_to(m)
    elif buildings is not None and len(buildings):
        folium.GeoJson(
            buildings[["number", "households", "grid_code", "geometry"]],
            name="楼栋 buildings",
            style_function=lambda f: {
                "color": "#495057",
                "weight": 1,
                "fillColor": "#ced4da",
                "fillOpacity": 0.9,
            },
            tooltip=folium.GeoJsonTooltip(["number", "households", "grid_code"]),
        ).add_to(m)
        labels = folium.FeatureGroup(name="楼号 numbers")
        for _, b in buildings.iterrows():
            if isinstance(b["number"], str):
                p = b.geometry.representative_point()
                folium.Marker(
                    [p.y, p.x],
                    icon=folium.DivIcon(
                        html=f'<div class="rm-label">{b["number"]}</div>',
                        icon_size=(48, 16),
                        icon_anchor=(24, 8),
                    ),
                ).add_to(labels)
        labels.add_to(m)
        m.get_root().header.add_child(
            Element(
                "<style>.rm-label{font:11px sans-serif;color:#212529;text-align:center;"
                "white-space:nowrap;pointer-events:none}</style>"
            )
        )
    requests = layers.get("request")
    if requests is not None and len(requests):
        group = folium.FeatureGroup(name="居民诉求 requests")
        # Coloured by workflow status when the frame has one (reports), else by routing rule.
        by_status = "status" in requests.columns and "route_rule" not in requests.columns
        for _, r in requests.iterrows():
            p = r.geometry.representative_point()
            what = r["status"] if by_status else r["grid_code"] or r["route_rule"]
            folium.CircleMarker(
                [p.y, p.x],
                radius=5,
                weight=1,
                color="#fff",
                fill=True,
                fill_opacity=0.9,
                fill_color=(
                    STATUS_COLOURS.get(r["status"], "#000")
                    if by_status
                    else RULE_COLOURS.get(r["route_rule"], "#000")
                ),
                tooltip=f"{r['title']} · {what}",
            ).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m
