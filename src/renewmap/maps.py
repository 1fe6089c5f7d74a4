"""A community's site plan as a folium map, for notebooks.

The app's pages do not use folium: they are Jinja2 templates whose scripts draw the plan with
Leaflet from JSON (``renewmap.web.sitemap``, ``static/js/lib/sitemap.js``). This module serves
the walkthrough notebook and anyone exploring data in Jupyter.

folium loads Leaflet, jQuery, Bootstrap and icon fonts from CDNs by default; here Leaflet is
carried in the HTML as ``data:`` URLs instead (no CDN, no online tiles). folium writes
tooltips and labels into generated JavaScript and HTML, so no text from people or files goes
into them: features are told apart by colour; their names are in the GeoDataFrames.
"""

from __future__ import annotations

import base64
from importlib import resources

import folium
import geopandas as gpd
from branca.element import MacroElement
from jinja2 import Template

from renewmap.web.sitemap import STATUS_COLOURS

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
RULE_COLOURS = {
    "inside": "#2b8a3e",
    "boundary": "#e8590c",
    "building": "#1971c2",
    "overlap": "#6741d9",
    "community": "#c2255c",
    "snapped": "#868e96",
}


def _data_url(name: str, media: str) -> str:
    """A vendored Leaflet file as a ``data:`` URL (the notebook's HTML carries it, no CDN)."""
    data = (resources.files("renewmap") / "static" / "vendor" / "leaflet" / name).read_bytes()
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


class _Attribution(MacroElement):
    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


def offline_map(*, location: tuple[float, float], zoom: int = 17) -> folium.Map:
    """A folium map with Leaflet inlined, no CDN and no tiles (lat, lon as Leaflet wants)."""
    m = folium.Map(
        location=list(location),
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        max_zoom=22,
        prefer_canvas=True,
    )
    m.default_js = [("leaflet", _data_url("leaflet.js", "text/javascript"))]
    m.default_css = [("leaflet_css", _data_url("leaflet.css", "text/css"))]
    # our own notice only: an imported attribution is text from a file (folium sets it as HTML)
    m.add_child(_Attribution(ODBL))
    return m


def community_map(layers: dict[str, gpd.GeoDataFrame]) -> folium.Map:
    """The community's site plan: outline, grids (by colour), buildings, paths, green, water,
    and requests coloured by workflow status (or by routing rule)."""
    community = layers["community"]
    minx, miny, maxx, maxy = community.total_bounds
    m = offline_map(location=((miny + maxy) / 2, (minx + maxx) / 2))
    m.fit_bounds([[miny, minx], [maxy, maxx]])

    def draw(kind: str, name: str, style: dict[str, object]) -> None:
        frame = layers.get(kind)
        if frame is not None and len(frame):
            folium.GeoJson(frame[["geometry"]], name=name, style_function=lambda f: style).add_to(m)

    draw("community", "community", {"color": "#333", "weight": 2, "fillColor": "#f8f9fa"})
    draw("green", "green", {"color": "#2f9e44", "weight": 1, "fillColor": "#b2f2bb"})
    draw("water", "water", {"color": "#1c7ed6", "fillColor": "#a5d8ff", "fillOpacity": 0.9})
    grids = layers.get("grid")
    if grids is not None and len(grids):
        for i, (_, g) in enumerate(grids.iterrows()):
            colour = GRID_COLOURS[i % len(GRID_COLOURS)]
            folium.GeoJson(
                gpd.GeoDataFrame(geometry=[g.geometry], crs=grids.crs),
                name=f"grid {i + 1}",
                style_function=lambda f, c=colour: {
                    "color": c,
                    "weight": 2,
                    "fillColor": c,
                    "fillOpacity": 0.12,
                    "dashArray": "6 4",
                },
            ).add_to(m)
    draw("path", "paths", {"color": "#e67700", "weight": 3})
    draw("building", "buildings", {"color": "#495057", "weight": 1, "fillColor": "#ced4da"})
    requests = layers.get("request")
    if requests is not None and len(requests):
        group = folium.FeatureGroup(name="requests")
        by_status = "status" in requests.columns and "route_rule" not in requests.columns
        for _, r in requests.iterrows():
            p = r.geometry.representative_point()
            colour = (
                STATUS_COLOURS.get(r["status"], "#000")
                if by_status
                else RULE_COLOURS.get(r["route_rule"], "#000")
            )
            folium.CircleMarker(
                [p.y, p.x],
                radius=5,
                weight=1,
                color="#fff",
                fill=True,
                fill_opacity=0.9,
                fill_color=colour,
            ).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m
