"""Designers' pages: the site's hub (drafts, process, photos), the drawing workspace (vendored
Leaflet-Geoman with snapping to the site outline and building edges, live metrics and rule
checks), two drafts compared on one map, and the walking-coverage map of a community.

Like the other staff pages they are built around the community's folium site plan with every
asset served by the app; the data comes from the design API, so a page holds nothing its user
may not see.
"""

from __future__ import annotations

from html import escape
from typing import Any

import folium
import geopandas as gpd
from branca.element import Element

from renewmap.i18n import catalog, gettext
from renewmap.maps import STATIC_URL, OnlineTiles, community_map
from renewmap.services.design.process import STAGE_LABELS, STAGES
from renewmap.spatial.design import species_table
from renewmap.web.staff import HEAD, _script_json

KINDS = {
    "zone": "Zone",
    "green": "Planting bed",
    "plant": "Plant",
    "path": "Path",
    "facility": "Facility",
    "keep": "Existing element to keep",
}
LAYERS = {"tree": "Trees", "shrub": "Shrubs", "ground_cover": "Ground cover", "lawn": "Lawn"}
SURFACES = {
    "permeable_concrete": "Permeable concrete",
    "permeable_brick": "Permeable brick",
    "gravel": "Gravel",
    "wood": "Wood",
    "asphalt": "Asphalt",
}
PURPOSES = {"fitness": "Fitness", "access": "Access", "barrier_free": "Barrier-free"}
FACILITIES = {
    "bench": "Bench",
    "light": "Light",
    "ebike_shed": "E-bike shed",
    "art_wall": "Art wall",
    "notice_board": "Notice board",
    "play": "Play equipment",
}
RULES = {
    "inside_site": "Outside the site",
    "building_overlap": "Overlaps a building",
    "feature_overlap": "Overlaps another feature",
    "tree_wall_distance": "Tree too close to a wall",
    "barrier_free_width": "Barrier-free path too narrow",
    "valid_geometry": "Invalid geometry",
}
DRAW_HELP = (
    "Choose what to draw, then draw it on the map; corners snap to the site outline and "
    "building edges."
)
# Geoman loads right after Leaflet (before folium builds the map and its layers) and is put in
# opt-in mode there: only the features drawn on this page are editable; the site plan is not.
GEOMAN_JS = [
    ("leaflet_geoman", f"{STATIC_URL}/vendor/leaflet-geoman/leaflet-geoman.min.js"),
    ("leaflet_geoman_optin", f"{STATIC_URL}/js/geoman-optin.js"),
]
GEOMAN_CSS = [("leaflet_geoman_css", f"{STATIC_URL}/vendor/leaflet-geoman/leaflet-geoman.css")]


def _t(locale: str):  # type: ignore[no-untyped-def]
    return lambda msgid: escape(gettext(locale, msgid))


def _base(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    tiles: OnlineTiles | None,
    title: str,
    head: str = "",
) -> tuple[folium.Map, Any, Any]:
    base = {k: v for k, v in layers.items() if k != "request"}
    m = community_map(base, assets="server", tiles=tiles)
    community = layers["community"].iloc[0]
    root = m.get_root()
    root.title = f"{community['name']} · {title}"
    root.header.add_child(
        Element(HEAD + f'<link rel="stylesheet" href="{STATIC_URL}/css/design.css">' + head),
        name="design_assets",
    )
    return m, root, community


def control_last(m: folium.Map) -> None:
    """Keep the layer switcher after layers added to the site plan (it refers to them)."""
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            m._children.move_to_end(key)


def timeline_items(timeline: dict[str, Any], t: Any) -> str:
    """The process's steps as list items: number, name, dates, minutes, attachments."""
    return "".join(
        f'<li class="rm-step-{s["state"]}"><strong>{s["number"]}. '
        f"{t(STAGE_LABELS[s['stage']])}</strong> "
        f"<small>{escape(s['starts_on'] or '')}"
        f"{' – ' + escape(s['ends_on']) if s['ends_on'] else ''}</small>"
        f"{'<p>' + escape(s['minutes']) + '</p>' if s['minutes'] else ''}"
        + "".join(f' <a href="{a["url"]}">{escape(a["filename"])}</a>' for a in s["attachments"])
        + "</li>"
        for s in timeline["steps"]
    )


def _options(items: dict[str, str], t: Any, selected: str | None = None) -> str:
    return "".join(
        f'<option value="{k}"{" selected" if k == selected else ""}>{t(v)}</option>'
        for k, v in items.items()
    )


def _labels(locale: str) -> dict[str, dict[str, str]]:
    g = lambda msgid: gettext(locale, msgid)  # noqa: E731
    return {
        "kinds": {k: g(v) for k, v in KINDS.items()},
        "layers": {k: g(v) for k, v in LAYERS.items()},
        "surfaces": {k: g(v) for k, v in SURFACES.items()},
        "purposes": {k: g(v) for k, v in PURPOSES.items()},
        "facilities": {k: g(v) for k, v in FACILITIES.items()},
        "rules": {k: g(v) for k, v in RULES.items()},
        "seasons": {s: g(s.capitalize()) for s in ("spring", "summer", "autumn", "winter")},
    }


def drawing_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    draft: dict[str, Any],
    site_geometry: dict[str, Any],
    suggestions: list[dict[str, Any]],
    tiles: OnlineTiles | None = None,
) -> str:
    """Draw one draft of a site: tools per kind, properties, live metrics and violations."""
    t = _t(locale)
    title = f"{draft['site']['name']} · {gettext(locale, 'Draft')} {draft['number']}"
    m, root, community = _base(
        layers,
        locale=locale,
        tiles=tiles,
        title=title,
        head=f'<script src="{STATIC_URL}/js/util.js" defer></script>'
        f'<script src="{STATIC_URL}/js/design.js" defer></script>',
    )
    m.default_js = [*m.default_js, *GEOMAN_JS]
    m.default_css = [*m.default_css, *GEOMAN_CSS]
    config = {
        "map": m.get_name(),
        "draft": draft,
        "site": site_geometry,
        "t": {msgid: gettext(locale, msgid) for msgid in catalog("zh_CN")},
        "labels": _labels(locale),
        "species": [
            {"code": s.code, "name": s.name_zh, "latin": s.latin, "layer": s.layer}
            for s in species_table().values()
        ],
    }
    root.script.add_child(Element(f"window.RMD = {_script_json(config)};"), name="rmd_config")
    code = escape(str(community["code"]))
    site = escape(draft["site"]["code"])
    adopted = {a["id"] for a in draft["adopts"]}
    suggestion_items = "".join(
        f'<li><label><input type="checkbox" name="adopt" value="{s["id"]}"'
        f"{' checked' if s['id'] in adopted else ''}> #{s['id']} "
        f"{escape(s['title'])}</label></li>"
        for s in suggestions
    )
    suggestion_items = suggestion_items or f"<li>{t('No suggestions for this site yet')}</li>"
    tools = "".join(
        f'<button type="button" class="rm-tool" data-kind="{k}">{t(v)}</button>'
        for k, v in KINDS.items()
    )
    species_list = "".join(
        f'<option value="{escape(s.code)}">{escape(s.name_zh)} {escape(s.latin)}</option>'
        for s in species_table().values()
    )
    panel = f"""
<header class="rm-header"><h1>{escape(draft["site"]["name"])}
<small>{t("Draft")} {draft["number"]} · {escape(draft["name"])}</small></h1>
<nav><a href="/staff/design?community={code}&amp;site={site}">{t("Drafts")}</a></nav></header>
<section class="rm-panel" id="rm-design" aria-label="{t("Drawing")}">
<p class="rm-meta">{t(DRAW_HELP)}</p>
<div class="rm-tools" role="toolbar" aria-label="{t("Draw")}">{tools}</div>
<form id="rm-props" hidden><h2 id="rm-props-title"></h2>
<label for="rm-p-name">{t("Name")}</label><input id="rm-p-name" name="name" maxlength="100">
<div data-for="green"><label for="rm-p-layer">{t("Planting layer")}</label>
<select id="rm-p-layer" name="layer">{_options(LAYERS, t)}</select></div>
<div data-for="green plant"><label for="rm-p-species">{t("Species")}</label>
<input id="rm-p-species" name="species" list="rm-species" maxlength="100">
<datalist id="rm-species">{species_list}</datalist></div>
<div data-for="plant"><label><input type="checkbox" name="adoptable" id="rm-p-adoptable" checked>
{t("Adoptable")}</label></div>
<div data-for="path"><label for="rm-p-width">{t("Width (m)")}</label>
<input id="rm-p-width" name="width_m" type="number" min="0.3" max="20" step="0.1" value="1.5">
<label for="rm-p-surface">{t("Surface")}</label>
<select id="rm-p-surface" name="surface">{_options(SURFACES, t)}</select>
<label for="rm-p-purpose">{t("Purpose")}</label>
<select id="rm-p-purpose" name="purpose">{_options(PURPOSES, t)}</select></div>
<div data-for="facility"><label for="rm-p-type">{t("Facility")}</label>
<select id="rm-p-type" name="type">{_options(FACILITIES, t)}</select></div>
<button type="submit">{t("Apply")}</button>
<button type="button" id="rm-p-delete">{t("Delete")}</button></form>
<h2>{t("Metrics")}</h2><div id="rm-metrics" aria-live="polite"></div>
<h2>{t("Rule checks")}</h2><ul id="rm-violations" aria-live="polite"></ul>
<p id="rm-error" role="alert" class="rm-error"></p>
<p><button type="button" id="rm-save" class="rm-primary">{t("Save")}</button>
<span id="rm-saved" role="status"></span></p>
<details><summary>{t("Suggestions this draft adopts")}</summary>
<form id="rm-adopts"><ul class="rm-plain">{suggestion_items}</ul>
<button type="submit">{t("Save")}</button></form></details>
<details><summary>{t("Import and export")}</summary>
<p><a href="/api/design/drafts/{draft["id"]}/export.gpkg">GeoPackage</a> ·
<a href="/api/design/drafts/{draft["id"]}/export.geojson">GeoJSON</a> ·
<a href="/api/design/drafts/{draft["id"]}/export.dxf">DXF</a></p>
<form id="rm-import"><input type="file" name="file" accept=".geojson,.json,.gpkg,.dxf"
aria-label="{t("Layer file")}">
<label for="rm-i-kind">{t("Kind (if the file names none)")}</label>
<select id="rm-i-kind" name="kind"><option value=""></option>{_options(KINDS, t)}</select>
<label for="rm-i-epsg">{t("EPSG code of a DXF from elsewhere")}</label>
<input id="rm-i-epsg" name="epsg" type="number" min="1024" max="999999">
<button type="submit">{t("Import")}</button></form></details>
<p><label><input type="checkbox" id="rm-public"{" checked" if draft["public"] else ""}>
{t("Show this draft to residents")}</label></p>
</section>"""
    root.html.add_child(Element(panel), name="design_panel")
    return root.render()


def hub_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    sites: list[dict[str, Any]],
    site: dict[str, Any] | None,
    drafts: list[dict[str, Any]],
    timeline: dict[str, Any] | None,
    photos: dict[str, Any] | None,
    adopters: list[dict[str, Any]] | None = None,
    tiles: OnlineTiles | None = None,
) -> str:
    """A community's sites; for one site its drafts, its process and its photos; the plants'
    adopters with their phones (staff only)."""
    t = _t(locale)
    m, root, community = _base(
        layers,
        locale=locale,
        tiles=tiles,
        title=gettext(locale, "Micro-renewal sites"),
        head=f'<script src="{STATIC_URL}/js/util.js" defer></script>'
        f'<script src="{STATIC_URL}/js/design-hub.js" defer></script>',
    )
    code = escape(str(community["code"]))
    site_links = "".join(
        f'<li><a href="/staff/design?community={code}&amp;site={escape(s["code"])}">'
        f"{escape(s['name'])}</a> <small>{escape(s['code'])} · "
        f"{t(STAGE_LABELS[s['stage']]) if s['stage'] else t('Not started')}</small></li>"
        for s in sites
    )
    body = ""
    if site is not None and timeline is not None:
        sc = escape(site["code"])
        if site.get("geometry"):
            folium.GeoJson(
                site["geometry"],
                name="site",
                style_function=lambda f: {"color": "#d6336c", "weight": 3, "fillOpacity": 0.05},
            ).add_to(m)
            control_last(m)
            minx, miny, maxx, maxy = site["bounds"]
            m.fit_bounds([[miny, minx], [maxy, maxx]])
        draft_rows = "".join(
            f"<tr><td>{d['number']}</td><td><a href='/staff/design/drafts/{d['id']}'>"
            f"{escape(d['name'])}</a></td><td>{t('Yes') if d['public'] else '—'}</td>"
            f"<td><input type='radio' name='cmp-a' value='{d['id']}' aria-label='A'>"
            f"<input type='radio' name='cmp-b' value='{d['id']}' aria-label='B'></td></tr>"
            for d in drafts
        )
        copy_options = "".join(
            f'<option value="{d["id"]}">{d["number"]} · {escape(d["name"])}</option>'
            for d in drafts
        )
        steps = timeline_items(timeline, t)
        stage_options = "".join(
            f'<option value="{s}"{" selected" if s == timeline["stage"] else ""}>'
            f"{i}. {t(STAGE_LABELS[s])}</option>"
            for i, s in enumerate(STAGES, start=1)
        )
        photo_items = "".join(
            f'<figure><img src="{p["thumbnail"]}" alt="{escape(p["caption"] or "")}">'
            f"<figcaption>{t(phase.capitalize())} · {p['taken_on']}</figcaption></figure>"
            for phase in ("before", "after")
            for p in (photos or {}).get(phase, [])
        )
        body = f"""
<h2>{escape(site["name"])} <small>{sc}</small></h2>
<p><a href="/c/{code}/sites/{sc}">{t("Residents' page of this site")}</a></p>
<h3>{t("Drafts")}</h3>
<table class="rm-stats" id="rm-drafts"><thead><tr><th>№</th><th>{t("Name")}</th>
<th>{t("Shown to residents")}</th><th>{t("Compare")}</th></tr></thead>
<tbody>{draft_rows}</tbody></table>
<button type="button" id="rm-compare">{t("Compare the two chosen")}</button>
<form id="rm-new-draft"><label for="rm-n-name">{t("New draft")}</label>
<input id="rm-n-name" name="name" required maxlength="200">
<select name="start" aria-label="{t("Start from")}"><option value="empty">{t("Empty")}</option>
<option value="site" selected>{t("The site as it is")}</option>{copy_options}</select>
<button type="submit">{t("Create")}</button></form>
<h3>{t("Participatory process")}</h3>
<form id="rm-stage"><select name="stage" aria-label="{t("Step")}">{stage_options}</select>
<button type="submit">{t("Move the site to this step")}</button></form>
<ol class="rm-timeline">{steps}</ol>
<details><summary>{t("Dates, minutes and attachments of a step")}</summary>
<form id="rm-step"><select name="stage" aria-label="{t("Step")}">{stage_options}</select>
<label>{t("From")} <input type="date" name="starts_on"></label>
<label>{t("To")} <input type="date" name="ends_on"></label>
<label for="rm-minutes">{t("Minutes")}</label>
<textarea id="rm-minutes" name="minutes" rows="4" maxlength="20000"></textarea>
<label>{t("Attachment")} <input type="file" name="file"></label>
<button type="submit">{t("Save")}</button></form></details>
<h3>{t("Before and after")}</h3><div class="rm-photos">{photo_items}</div>
<form id="rm-photo"><select name="phase" aria-label="{t("Before or after")}">
<option value="before">{t("Before")}</option><option value="after">{t("After")}</option></select>
<input type="date" name="taken_on" required aria-label="{t("Taken on")}">
<input name="caption" maxlength="200" placeholder="{t("Caption")}" aria-label="{t("Caption")}">
<input type="file" name="file" accept="image/*" required aria-label="{t("Photo")}">
<button type="submit">{t("Add photo")}</button></form>"""
    adopter_rows = "".join(
        f'<tr><td><a href="/p/{a["plant"]}">{escape(a["name"] or a["code"] or "")}</a></td>'
        f"<td>{escape(a['nickname'])}</td><td>{escape(a['phone'] or '—')}</td>"
        f"<td>{a['adopted_on']}</td></tr>"
        for a in adopters or []
    )
    config = {
        "community": str(community["code"]),
        "site": site["code"] if site else None,
        "t": {msgid: gettext(locale, msgid) for msgid in catalog("zh_CN")},
    }
    root.script.add_child(Element(f"window.RMH = {_script_json(config)};"), name="rmh_config")
    panel = f"""
<header class="rm-header"><h1>{escape(str(community["name"]))}
<small>{t("Micro-renewal sites")}</small></h1>
<nav><a href="/staff/coverage?community={code}">{t("Walking coverage")}</a>
<a href="/staff?community={code}">{t("Workspace")}</a></nav></header>
<section class="rm-panel" aria-label="{t("Micro-renewal sites")}">
<ul class="rm-plain">{site_links or "<li>—</li>"}</ul>
<details id="rm-adopters"><summary>{t("Plant adopters (staff only)")}</summary>
<table class="rm-stats"><tbody>{adopter_rows or "<tr><td>—</td></tr>"}</tbody></table></details>
{body}
<p id="rm-error" role="alert" class="rm-error"></p></section>"""
    root.html.add_child(Element(panel), name="hub_panel")
    return root.render()


def compare_page(
    layers: dict[str, gpd.GeoDataFrame],
    comparison: dict[str, Any],
    *,
    locale: str,
    tiles: OnlineTiles | None = None,
) -> str:
    """Two drafts on one map (toggle A, B or both) and their metrics side by side."""
    t = _t(locale)
    a, b = comparison["a"], comparison["b"]
    m, root, community = _base(
        layers,
        locale=locale,
        tiles=tiles,
        title=gettext(locale, "Compare drafts"),
        head=f'<script src="{STATIC_URL}/js/util.js" defer></script>'
        f'<script src="{STATIC_URL}/js/design-compare.js" defer></script>',
    )
    config = {
        "map": m.get_name(),
        "a": a["features"],
        "b": b["features"],
        "t": {msgid: gettext(locale, msgid) for msgid in catalog("zh_CN")},
    }
    root.script.add_child(Element(f"window.RMC = {_script_json(config)};"), name="rmc_config")
    rows = [
        ("Site area (m²)", "site_area_m2"),
        ("Green area (m²)", "green_area_m2"),
        ("Green ratio", "green_ratio"),
        ("Hard surface (m²)", "hard_area_m2"),
        ("Estimated cost (yuan)", "total_cost"),
    ]

    def cell(v: Any, key: str) -> str:
        if v is None:
            return "—"
        return f"{v * 100:.1f}%" if key == "green_ratio" else f"{v:,.2f}"

    table = "".join(
        f"<tr><th scope='row'>{t(label)}</th><td>{cell(a['metrics'][k], k)}</td>"
        f"<td>{cell(b['metrics'][k], k)}</td>"
        f"<td>{cell(comparison['difference'].get(k), k) if k in comparison['difference'] else '—'}"
        "</td></tr>"
        for label, k in rows
    )
    seasons = (
        f"<tr><th scope='row'>{t('Seasons covered')}</th>"
        f"<td>{len(a['metrics']['seasons'])}/4</td><td>{len(b['metrics']['seasons'])}/4</td>"
        "<td></td></tr>"
        f"<tr><th scope='row'>{t('Rule violations')}</th><td>{len(a['violations'])}</td>"
        f"<td>{len(b['violations'])}</td><td></td></tr>"
    )
    code = escape(str(community["code"]))
    panel = f"""
<header class="rm-header"><h1>{escape(a["site"]["name"])} <small>{t("Compare drafts")}</small>
</h1><nav><a href="/staff/design?community={code}&amp;site={escape(a["site"]["code"])}">
{t("Drafts")}</a></nav></header>
<section class="rm-panel" aria-label="{t("Compare drafts")}">
<fieldset id="rm-show"><legend>{t("Show on the map")}</legend>
<label><input type="radio" name="show" value="a"> A</label>
<label><input type="radio" name="show" value="b"> B</label>
<label><input type="radio" name="show" value="both" checked> {t("Both")}</label></fieldset>
<table class="rm-stats" id="rm-compare-table"><thead><tr><th></th>
<th scope="col"><span class="rm-swatch rm-a"></span>A · {a["number"]} {escape(a["name"])}</th>
<th scope="col"><span class="rm-swatch rm-b"></span>B · {b["number"]} {escape(b["name"])}</th>
<th scope="col">B − A</th></tr></thead><tbody>{table}{seasons}</tbody></table></section>"""
    root.html.add_child(Element(panel), name="compare_panel")
    return root.render()


def coverage_page(
    layers: dict[str, gpd.GeoDataFrame],
    coverage: dict[str, Any],
    *,
    locale: str,
    tiles: OnlineTiles | None = None,
) -> str:
    """Buildings within walking distance of a green or activity site, and the ones that are not."""
    t = _t(locale)
    m, root, community = _base(
        layers, locale=locale, tiles=tiles, title=gettext(locale, "Walking coverage")
    )
    feats = coverage["features"]["features"]
    for covered, colour, name in ((True, "#2f9e44", "covered"), (False, "#e03131", "uncovered")):
        mine = [f for f in feats if bool(f["properties"]["covered"]) is covered]
        if mine:
            folium.GeoJson(
                {"type": "FeatureCollection", "features": mine},
                name=name,
                style_function=lambda f, c=colour: {
                    "color": c,
                    "weight": 2,
                    "fillColor": c,
                    "fillOpacity": 0.6,
                },
                tooltip=folium.GeoJsonTooltip(["building", "households", "distance_m"]),
            ).add_to(m)

    control_last(m)

    def far(p: dict[str, Any]) -> str:
        return "—" if p["distance_m"] is None else f"{p['distance_m']:.0f} m"

    share = coverage["share_buildings"]
    rows = "".join(
        f"<li>{escape(str(f['properties']['building'] or '—'))} · {far(f['properties'])}</li>"
        for f in feats
        if not f["properties"]["covered"]
    )
    code = escape(str(community["code"]))
    hh = coverage.get("share_households")
    households = "" if hh is None else f" · {hh * 100:.0f}% {t('of households')}"
    panel = f"""
<header class="rm-header"><h1>{escape(str(community["name"]))}
<small>{t("Walking coverage")}</small></h1>
<nav><a href="/staff/design?community={code}">{t("Micro-renewal sites")}</a></nav></header>
<section class="rm-panel" aria-label="{t("Walking coverage")}">
<p>{t("Within walking distance")} ({coverage["radius_m"]:.0f} m):
<strong id="rm-share">{"—" if share is None else f"{share * 100:.0f}%"}</strong>
{t("of buildings")}{households}</p>
<p class="rm-meta"><span class="rm-swatch" style="background:#2f9e44"></span>{t("Covered")}
<span class="rm-swatch" style="background:#e03131"></span>{t("Not covered")}</p>
<h2>{t("Buildings not covered")}</h2><ul id="rm-uncovered">{rows or "<li>—</li>"}</ul></section>"""
    root.html.add_child(Element(panel), name="coverage_panel")
    return root.render()
