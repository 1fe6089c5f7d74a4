"""Staff pages: sign-in, and the grid lead's workspace (my area's map, list and one request).

The workspace is built like the residents' page (folium site plan, vendored Leaflet, all text
from the catalogs); its data comes from the scoped staff API, so the page itself holds
nothing a user may not see.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import geopandas as gpd
from branca.element import Element

from renewmap.i18n import catalog, gettext
from renewmap.maps import STATIC_URL, OnlineTiles, community_map
from renewmap.vocabulary import (
    CATEGORY_LABELS,
    DESIGN_ROLES,
    OPEN_FILTER,
    STATUS_FILTERS,
    STATUS_LABELS,
)

HEAD = (
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f'<link rel="icon" href="{STATIC_URL}/img/icon.svg" type="image/svg+xml">'
    f'<link rel="stylesheet" href="{STATIC_URL}/css/resident.css">'
    f'<link rel="stylesheet" href="{STATIC_URL}/css/staff.css">'
)


def safe_next(next_url: str | None) -> str:
    """Where to go after signing in: only a workspace path of this site (no open redirect)."""
    if not next_url:
        return "/staff"
    parts = urlsplit(next_url)
    if (
        parts.scheme
        or parts.netloc
        or ".." in parts.path.split("/")
        or not (parts.path == "/staff" or parts.path.startswith("/staff/"))
    ):
        return "/staff"
    return urlunsplit(("", "", parts.path, parts.query, ""))


def _script_json(value: object) -> str:
    """JSON safe inside an inline <script> (no "</script>" or "<!--" can close it)."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def login_page(*, locale: str, next_url: str = "/staff") -> str:
    t = lambda msgid: escape(gettext(locale, msgid))  # noqa: E731
    lang = "zh-CN" if locale == "zh_CN" else "en"
    cfg = _script_json({"next": safe_next(next_url)})
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">{HEAD}
<title>{t("Staff sign-in")}</title></head>
<body><header class="rm-header"><h1>{t("Micro-renewal map")} <small>{t("Staff sign-in")}</small>
</h1></header><main class="rm-panel">
<form id="rm-login"><label for="rm-user">{t("Username")}</label>
<input id="rm-user" name="username" autocomplete="username" required>
<label for="rm-pass">{t("Password")}</label>
<input id="rm-pass" name="password" type="password" autocomplete="current-password" required>
<p id="rm-error" role="alert" class="rm-error"></p>
<button type="submit" class="rm-primary">{t("Sign in")}</button></form>
<script>
const NEXT = {cfg}.next;
document.getElementById("rm-login").addEventListener("submit", async (e) => {{
  e.preventDefault();
  const f = e.target;
  const r = await fetch("/api/staff/session", {{ method: "POST",
    headers: {{ "Content-Type": "application/json" }}, credentials: "same-origin",
    body: JSON.stringify({{ username: f.username.value, password: f.password.value }}) }});
  if (r.ok) {{ location.href = NEXT; return; }}
  const body = await r.json().catch(() => ({{}}));
  document.getElementById("rm-error").textContent = body.message || r.status;
}});
</script></main></body></html>"""


def _map_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    tiles: OnlineTiles | None,
    title: str,
    script: str,
) -> tuple[Any, Any, Any]:
    """A staff page around the community's site plan: (map, page root, community row)."""
    base = {k: v for k, v in layers.items() if k != "request"}
    m = community_map(base, assets="server", tiles=tiles)
    community = layers["community"].iloc[0]
    root = m.get_root()
    root.title = f"{community['name']} · {gettext(locale, title)}"
    root.header.add_child(
        Element(
            HEAD
            + f'<script src="{STATIC_URL}/js/util.js" defer></script>'
            + f'<script src="{STATIC_URL}/js/{script}" defer></script>'
        ),
        name="staff_assets",
    )
    return m, root, community


def workspace_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    me: dict[str, Any],
    communities: list[dict[str, str]],
    tiles: OnlineTiles | None = None,
) -> str:
    """The workspace for one community of the user's area (switch among theirs)."""
    t = lambda msgid: escape(gettext(locale, msgid))  # noqa: E731
    m, root, community = _map_page(
        layers, locale=locale, tiles=tiles, title="Workspace", script="staff.js"
    )
    grids = layers["grid"]
    mine = set(me["scope"]["grids"])
    whole = community.get("id") in set(me["scope"]["communities"])
    # A grid lead's map opens on their grid(s); an admin's on the whole community.
    own = grids[grids["id"].isin(sorted(mine))] if not whole else grids.iloc[0:0]
    focus = own if len(own) else layers["community"]
    config = {
        "map": m.get_name(),
        "community": str(community["code"]),
        "t": {msgid: gettext(locale, msgid) for msgid in catalog("zh_CN")},
        "categories": {
            c: f"{icon} {gettext(locale, label)}" for c, (label, icon) in CATEGORY_LABELS.items()
        },
        "statuses": {s: gettext(locale, label) for s, label in STATUS_LABELS.items()},
        "bounds": [float(v) for v in focus.total_bounds],
        # every grid of the community: a request can be transferred to any of them
        "grids": [{"code": str(g["code"]), "name": str(g["name"])} for _, g in grids.iterrows()],
    }
    root.script.add_child(Element(f"window.RMS = {_script_json(config)};"), name="rms_config")
    grid_options = "".join(
        f'<option value="{escape(str(g["code"]))}">{escape(str(g["name"]))}</option>'
        for _, g in grids.iterrows()
        if whole or int(g["id"]) in mine
    )
    status_options = "".join(
        f'<option value="{s}"{" selected" if s == "open" else ""}>'
        f"{t('Open') if s == OPEN_FILTER else t(STATUS_LABELS[s])}</option>"
        for s in STATUS_FILTERS
    )
    category_options = "".join(
        f'<option value="{c}">{icon} {t(label)}</option>'
        for c, (label, icon) in CATEGORY_LABELS.items()
    )
    code = escape(str(community["code"]))
    my_grids = [g for _, g in grids.iterrows() if whole or int(g["id"]) in mine]
    exports_links = (
        f'<a href="/api/staff/requests.csv?community={code}">{t("Download CSV")}</a> · '
        f'<a href="/api/staff/requests.xlsx?community={code}">{t("Download Excel")}</a> · '
        + " ".join(
            f'<a href="/staff/report?community={code}&amp;grid={escape(str(g["code"]))}">'
            f"{t('Report')} {escape(str(g['name']))}</a>"
            for g in my_grids
        )
    )
    buildings = layers.get("building")
    numbers = sorted(
        {
            str(b["number"])
            for _, b in (buildings.iterrows() if buildings is not None else [])
            if isinstance(b["number"], str)
            and (whole or b.get("grid_code") in {str(g["code"]) for g in my_grids})
        },
        key=lambda n: (len(n), n),
    )
    building_options = "".join(f'<option value="{escape(n)}">{escape(n)}</option>' for n in numbers)
    switch = ""
    if len(communities) > 1:
        switch = "".join(
            f'<a href="/staff?community={escape(c["code"])}">{escape(c["name"])}</a> '
            for c in communities
        )
    drawer = any(r["role"] in DESIGN_ROLES for r in me["roles"])
    design_link = (
        f'<a href="/staff/design?community={code}">{t("Micro-renewal sites")}</a>' if drawer else ""
    )
    panel = f"""
<header class="rm-header"><h1>{escape(str(community["name"]))}
<small>{t("Workspace")} · {escape(me["display_name"])}</small></h1>
<nav>{switch}<a href="/staff/overview?community={code}">{t("Overview")}</a>{design_link}
<button type="button" id="rm-signout">{t("Sign out")}</button></nav></header>
<section class="rm-panel" id="rm-staff" aria-label="{t("My requests")}">
<div class="rm-filters">
<select id="rm-f-status" aria-label="{t("Status")}">{status_options}</select>
<select id="rm-f-category" aria-label="{t("Category")}"><option value="">{t("All categories")}
</option>{category_options}</select>
<select id="rm-f-grid" aria-label="{t("Grid")}"><option value="">{t("All my grids")}</option>
{grid_options}</select>
<select id="rm-f-building" aria-label="{t("Building")}"><option value="">{t("All buildings")}
</option>{building_options}</select>
<select id="rm-f-sort" aria-label="{t("Sort")}"><option value="age">{t("Oldest first")}</option>
<option value="supports">{t("Most supported")}</option>
<option value="newest">{t("Newest first")}</option></select></div>
<p class="rm-exports">{exports_links}</p>
<p id="rm-count" aria-live="polite"></p>
<ul id="rm-list" class="rm-list"></ul>
<article id="rm-detail" hidden tabindex="-1"></article>
<details id="rm-patrol"><summary>{t("Record a patrol")}</summary>
<form id="rm-patrol-form">
<label for="rm-p-grid">{t("Grid")}</label><select id="rm-p-grid" name="grid">{grid_options}</select>
<label for="rm-p-day">{t("Day")}</label><input id="rm-p-day" name="day" type="date" required>
<label for="rm-p-who">{t("Participants")}</label>
<input id="rm-p-who" name="participants" required maxlength="2000">
<label for="rm-p-notes">{t("Notes")}</label>
<textarea id="rm-p-notes" name="notes" rows="2" maxlength="4000"></textarea>
<p class="rm-meta">{t("Tap the map along the route walked; each tap adds a point.")}
<span id="rm-p-points">0</span></p>
<button type="button" id="rm-p-undo">{t("Undo last point")}</button>
<fieldset id="rm-p-finding"><legend>{t("Findings")}</legend>
<select id="rm-p-f-category" aria-label="{t("Category")}">{category_options}</select>
<input id="rm-p-f-title" maxlength="200" aria-label="{t("What was found")}"
placeholder="{t("What was found")}">
<button type="button" id="rm-p-f-place">{t("Place it on the map")}</button>
<ul id="rm-p-findings"></ul></fieldset>
<p id="rm-p-error" role="alert" class="rm-error"></p>
<button type="submit" class="rm-primary">{t("Save the patrol")}</button>
<p id="rm-p-result" role="status"></p></form></details>
</section>"""
    root.html.add_child(Element(panel), name="staff_panel")
    return root.render()


# Choropleth steps for open requests per grid (light → dark); 0 is white.
STEPS = ((0, "#ffffff"), (1, "#ffe8cc"), (3, "#ffc078"), (6, "#fd7e14"), (10, "#d9480f"))


def step_colour(n: int) -> str:
    colour = STEPS[0][1]
    for threshold, c in STEPS:
        if n >= threshold:
            colour = c
    return colour


def overview_page(
    layers: dict[str, gpd.GeoDataFrame],
    stats: dict[str, Any],
    *,
    locale: str,
    patrols: dict[str, Any] | None = None,
    tiles: OnlineTiles | None = None,
) -> str:
    """Every grid of the area: a statistics table and a map coloured by open requests."""
    import folium

    t = lambda msgid: escape(gettext(locale, msgid))  # noqa: E731
    base = {k: v for k, v in layers.items() if k not in ("request", "grid")}
    m = community_map(base, assets="server", tiles=tiles)
    by_code = {s["grid"]["code"]: s for s in stats["grids"] if s["grid"]}
    grids = layers["grid"]
    shown = grids[grids["code"].isin(list(by_code))].copy()
    shown["open"] = [by_code[c]["open"] for c in shown["code"]]
    shown["overdue"] = [by_code[c]["overdue"] for c in shown["code"]]
    if len(shown):
        folium.GeoJson(
            shown[["code", "name", "open", "overdue", "geometry"]],
            name="未办结 open",
            style_function=lambda f: {
                "color": "#495057",
                "weight": 2,
                "fillColor": step_colour(int(f["properties"]["open"])),
                "fillOpacity": 0.75,
            },
            tooltip=folium.GeoJsonTooltip(["name", "open", "overdue"]),
        ).add_to(m)
        minx, miny, maxx, maxy = shown.total_bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    root = m.get_root()
    community = layers["community"].iloc[0]
    root.title = f"{community['name']} · {gettext(locale, 'Overview')}"
    root.header.add_child(Element(HEAD), name="staff_assets")
    legend = " ".join(f'<span class="rm-step" style="background:{c}"></span>≥{n}' for n, c in STEPS)
    walked = {p["grid"]["code"]: p for p in (patrols or {}).get("grids", [])}

    def patrol_cell(s: dict[str, Any]) -> str:
        p = walked.get((s["grid"] or {}).get("code"))
        if p is None:
            return "—"
        if p["patrolled"]:
            return escape(", ".join(d[5:] for d in p["patrols"]))
        late = f' <span class="rm-overdue">{t("late")}</span>' if p["late"] else ""
        return t("not yet") + late

    rows = "".join(
        f'<tr><th scope="row">{escape(s["grid"]["name"]) if s["grid"] else t("No grid")}</th>'
        f"<td>{s['open']}</td><td>{s['overdue']}</td><td>{s['resolved']}</td>"
        f"<td>{'—' if s['median_days_to_resolve'] is None else s['median_days_to_resolve']}</td>"
        f"<td>{s['supports']}</td><td>{patrol_cell(s)}</td></tr>"
        for s in stats["grids"]
    )
    due = f" ({t('due')} {escape(patrols['due'])})" if patrols else ""
    panel = f"""
<header class="rm-header"><h1>{escape(str(community["name"]))} <small>{t("Overview")}</small>
</h1><nav><a href="/staff?community={escape(str(community["code"]))}">{t("Workspace")}</a>
<a href="/staff/boundaries?community={escape(str(community["code"]))}">{t("Grid boundaries")}</a>
</nav>
</header><section class="rm-panel" aria-label="{t("Overview")}">
<p class="rm-meta">{t("Open requests per grid")}: {legend}</p>
<table id="rm-stats" class="rm-stats"><thead><tr><th scope="col">{t("Grid")}</th>
<th scope="col">{t("Open")}</th><th scope="col">{t("Overdue")}</th>
<th scope="col">{t("Resolved")}</th><th scope="col">{t("Median days to resolve")}</th>
<th scope="col">{t("Supports")}</th>
<th scope="col">{t("Patrol this month")}{due}</th></tr></thead>
<tbody>{rows}</tbody></table></section>"""
    root.html.add_child(Element(panel), name="overview_panel")
    return root.render()


LOAD_HELP = (
    "Load a grid set as GeoJSON (properties: code, name, branch_code); it is checked first "
    "and changes nothing until you publish it."
)


def boundaries_page(
    layers: dict[str, gpd.GeoDataFrame], *, locale: str, tiles: OnlineTiles | None = None
) -> str:
    """Load a new grid set, see it and its problems on the map, publish it."""
    t = lambda msgid: escape(gettext(locale, msgid))  # noqa: E731
    m, root, community = _map_page(
        layers, locale=locale, tiles=tiles, title="Grid boundaries", script="boundaries.js"
    )
    config = {
        "map": m.get_name(),
        "community": str(community["code"]),
        "t": {msgid: gettext(locale, msgid) for msgid in catalog("zh_CN")},
        "bounds": [float(v) for v in layers["community"].total_bounds],
    }
    root.script.add_child(Element(f"window.RMB = {_script_json(config)};"), name="rmb_config")
    code = escape(str(community["code"]))
    panel = f"""
<header class="rm-header"><h1>{escape(str(community["name"]))}
<small>{t("Grid boundaries")}</small></h1>
<nav><a href="/staff/overview?community={code}">{t("Overview")}</a></nav></header>
<section class="rm-panel" aria-label="{t("Grid boundaries")}">
<p>{t(LOAD_HELP)}</p>
<form id="rm-draft-form"><input type="file" id="rm-draft-file"
accept=".geojson,.json,application/geo+json" aria-label="{t("Grid set file")}">
<button type="submit">{t("Check")}</button></form>
<p id="rm-b-error" role="alert" class="rm-error"></p>
<h2>{t("Or draw")}</h2>
<button type="button" id="rm-d-current">{t("Start from the current grids")}</button>
<form id="rm-d-draw"><label for="rm-d-code">{t("Grid code")}</label>
<input id="rm-d-code" name="code" required maxlength="64" list="rm-d-codes">
<datalist id="rm-d-codes"></datalist>
<label for="rm-d-name">{t("Grid name")}</label><input id="rm-d-name" name="name" maxlength="200">
<label for="rm-d-branch">{t("Party branch code")}</label>
<input id="rm-d-branch" name="branch_code" maxlength="64">
<p class="rm-meta">{t("Tap the corners of the grid on the map, then finish.")}
<span id="rm-d-points">0</span></p>
<button type="button" id="rm-d-undo">{t("Undo last point")}</button>
<button type="submit">{t("Finish this grid")}</button></form>
<button type="button" id="rm-d-check" class="rm-primary" hidden>{t("Check the drawn set")}</button>
<ul id="rm-issues" aria-live="polite"></ul>
<button type="button" id="rm-publish" class="rm-primary" hidden>{t("Publish and re-route")}</button>
<p id="rm-result" role="status"></p></section>"""
    root.html.add_child(Element(panel), name="boundaries_panel")
    return root.render()
