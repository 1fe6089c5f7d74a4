"""The residents' page: the community's own site plan with a pin-and-suggest panel.

Built with folium (the same map code as reports and notebooks) and the app's own
``static/js/resident.js``; every asset is served by the app. Suggestions are fetched by map
view (bbox) and page, so the page never embeds them all.
"""

from __future__ import annotations

import json
from html import escape

import geopandas as gpd
from branca.element import Element, MacroElement
from folium.map import FitBounds
from jinja2 import Template

from renewmap.i18n import LOCALES, catalog, gettext
from renewmap.maps import STATIC_URL, OnlineTiles, community_map
from renewmap.settings import Settings
from renewmap.vocabulary import CATEGORY_LABELS, STATUS_LABELS, Status

LANG_NAMES = {"zh_CN": "中文", "en": "EN"}


class _EarlyStart(MacroElement):
    """Calls ``RMEarly.start(map)`` (static/js/resident-early.js) right after the map exists."""

    _template = Template(
        "{% macro script(this, kwargs) %}window.RMEarly.start({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


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


def _t(locale: str, msgid: str) -> str:
    return escape(gettext(locale, msgid))


def resident_page(
    layers: dict[str, gpd.GeoDataFrame], *, locale: str, tiles: OnlineTiles | None = None
) -> str:
    """HTML of the residents' page for one community (over an online basemap if ``tiles``)."""
    base = {k: v for k, v in layers.items() if k != "request"}
    m = community_map(base, assets="server", tiles=tiles)
    community = layers["community"].iloc[0]
    grids = layers["grid"]
    # The page frames the community itself (padding, finer zoom steps), right after the map is
    # created and before the site plan is drawn, so the first view's data is asked for early.
    for name, child in list(m._children.items()):
        if isinstance(child, FitBounds):
            del m._children[name]
    early = _EarlyStart()
    early.add_to(m)
    m._children.move_to_end(early.get_name(), last=False)
    root = m.get_root()
    root.title = f"{community['name']} · {gettext(locale, 'Micro-renewal map')}"
    header = root.header
    vendor = f"{STATIC_URL}/vendor/leaflet.markercluster"
    header.add_child(
        Element(
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="{STATIC_URL}/img/icon.svg" type="image/svg+xml">'
            f'<link rel="stylesheet" href="{vendor}/MarkerCluster.css">'
            f'<link rel="stylesheet" href="{vendor}/MarkerCluster.Default.css">'
            f'<link rel="stylesheet" href="{STATIC_URL}/css/resident.css">'
            f'<script src="{STATIC_URL}/js/resident-early.js"></script>'
            f'<script src="{vendor}/leaflet.markercluster.js" defer></script>'
            f'<script src="{STATIC_URL}/js/resident.js" defer></script>'
        ),
        name="resident_assets",
    )
    strings = {msgid: gettext(locale, msgid) for msgid in catalog("zh_CN")}
    config = {
        "map": m.get_name(),
        "community": str(community["code"]),
        "locale": locale,
        "t": strings,
        "categories": [
            {"code": c, "label": gettext(locale, label), "icon": icon}
            for c, (label, icon) in CATEGORY_LABELS.items()
        ],
        "statuses": [
            {"code": s, "label": gettext(locale, label)} for s, label in STATUS_LABELS.items()
        ],
        "grids": [{"code": str(g["code"]), "name": str(g["name"])} for _, g in grids.iterrows()],
        "bounds": [float(v) for v in layers["community"].total_bounds],
    }
    # The map object exists once folium's script has run; resident.js (deferred) reads this.
    cfg = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    root.script.add_child(Element(f"window.RM = {cfg};"), name="rm_config")
    links = []
    for loc in LOCALES:
        html_lang = "zh-CN" if loc == "zh_CN" else "en"
        current = ' aria-current="page"' if loc == locale else ""
        links.append(f'<a href="?lang={loc}" lang="{html_lang}"{current}>{LANG_NAMES[loc]}</a>')
    langs = " · ".join(links)
    category_buttons = "".join(
        f'<button type="button" class="rm-cat" data-code="{c}" aria-pressed="false">'
        f'<span aria-hidden="true">{icon}</span> {_t(locale, label)}</button>'
        for c, (label, icon) in CATEGORY_LABELS.items()
    )
    options = lambda items: "".join(  # noqa: E731
        f'<option value="{escape(v)}">{escape(label)}</option>' for v, label in items
    )
    panel = f"""
<header class="rm-header">
  <h1>{escape(str(community["name"]))} <small>{_t(locale, "Micro-renewal map")}</small></h1>
  <nav class="rm-lang" aria-label="Language">{langs}
  <a href="/c/{escape(str(community["code"]))}/sites">{_t(locale, "Micro-renewal sites")}</a></nav>
</header>
<div class="rm-tabs" role="tablist">
  <button role="tab" id="tab-suggest" aria-selected="true" aria-controls="rm-suggest">
    {_t(locale, "Suggest")}</button>
  <button role="tab" id="tab-browse" aria-selected="false" aria-controls="rm-browse">
    {_t(locale, "Browse")}</button>
</div>
<main class="rm-panel">
<section id="rm-suggest" role="tabpanel" aria-labelledby="tab-suggest">
  <div id="rm-step-place">
    <p class="rm-hint" id="rm-hint">
      {_t(locale, "Tap the map to place a pin, then drag it to adjust.")}</p>
    <div class="rm-row">
      <button type="button" id="rm-locate">📍 {_t(locale, "Use my location")}</button>
      <button type="button" id="rm-draw-line">〰 {_t(locale, "Draw a line")}</button>
      <button type="button" id="rm-draw-area">▱ {_t(locale, "Draw an area")}</button>
    </div>
    <div class="rm-row" id="rm-draw-tools" hidden>
      <button type="button" id="rm-draw-done">{_t(locale, "Done")}</button>
      <button type="button" id="rm-draw-undo">{_t(locale, "Undo")}</button>
    </div>
    <button type="button" id="rm-reset" hidden>{_t(locale, "Start over")}</button>
  </div>
  <form id="rm-form" novalidate>
    <fieldset><legend>{_t(locale, "Category")}</legend><div class="rm-cats">{category_buttons}</div>
    </fieldset>
    <div id="rm-nearby" hidden><h2>{_t(locale, "Similar suggestions nearby")}</h2><ul></ul></div>
    <label>{_t(locale, "Title")}<input name="title" id="rm-title" maxlength="200" required></label>
    <label>{_t(locale, "Description (optional)")}
      <textarea name="description" id="rm-description" maxlength="2000" rows="3"></textarea></label>
    <label>{_t(locale, "Photos (up to 3)")}
      <input type="file" name="photos" id="rm-photos" accept="image/jpeg,image/png,image/webp"
             multiple></label>
    <label>{_t(locale, "Nickname (optional)")}
      <input name="nickname" id="rm-nickname" maxlength="40"></label>
    <label class="rm-check"><input type="checkbox" name="show_nickname" id="rm-show-nickname">
      {_t(locale, "Show my nickname publicly")}</label>
    <label>{_t(locale, "Phone (optional, only staff can see it)")}
      <input name="phone" id="rm-phone" type="tel" inputmode="tel" maxlength="20"></label>
    <p id="rm-error" role="alert" class="rm-error"></p>
    <button type="submit" id="rm-submit" class="rm-primary">{_t(locale, "Submit")}</button>
  </form>
  <div id="rm-receipt" hidden tabindex="-1">
    <h2 id="rm-receipt-title"></h2>
    <p id="rm-owner" class="rm-owner"></p>
    <p>{_t(locale, "Keep this private link to follow your suggestion:")}
      <a id="rm-follow" href="#"></a></p>
    <button type="button" id="rm-again">{_t(locale, "Post another suggestion")}</button>
  </div>
</section>
<section id="rm-browse" role="tabpanel" aria-labelledby="tab-browse" hidden>
  <div class="rm-filters">
    <select id="rm-f-category" aria-label="{_t(locale, "Category")}">
      <option value="">{_t(locale, "All categories")}</option>
      {options((c, gettext(locale, label)) for c, (label, _) in CATEGORY_LABELS.items())}</select>
    <select id="rm-f-status" aria-label="{_t(locale, "Status")}">
      <option value="">{_t(locale, "All statuses")}</option>
      {options((s, gettext(locale, label)) for s, label in STATUS_LABELS.items())}</select>
    <select id="rm-f-grid" aria-label="{_t(locale, "Grid")}">
      <option value="">{_t(locale, "All grids")}</option>
      {options((str(g["code"]), str(g["name"])) for _, g in grids.iterrows())}</select>
  </div>
  <p id="rm-count" aria-live="polite"></p>
  <ul id="rm-list" aria-label="{_t(locale, "The suggestions in this view, as a list")}"></ul>
  <button type="button" id="rm-more" hidden>{_t(locale, "Load more")}</button>
</section>
</main>
"""
    root.html.add_child(Element(panel), name="rm_panel")
    html = root.render()
    lang = "zh-CN" if locale == "zh_CN" else "en"
    return html.replace("<html>", f'<html lang="{lang}">', 1)


def follow_page(view: dict, *, locale: str, code: str, token: str) -> str:
    """The resident's private page: status, who handles it, history; add details."""
    t = lambda msgid: _t(locale, msgid)  # noqa: E731
    status = gettext(locale, STATUS_LABELS.get(view["status"], view["status"]))
    label, icon = CATEGORY_LABELS.get(view["category"], (view["category"], ""))
    grid = escape(view["grid"]["name"]) if view.get("grid") else "—"
    history = "".join(
        f"<li><time>{escape((h['at'] or '')[:16].replace('T', ' '))}</time> "
        f"{escape(gettext(locale, h['kind']))}"
        f"{' — ' + escape(h['note']) if h.get('note') else ''}</li>"
        for h in view["history"]
    )
    photos = "".join(
        f'<img src="{escape(p["thumbnail"])}" alt="" width="96" height="96">'
        for p in view["photos"]
    )
    lang = "zh-CN" if locale == "zh_CN" else "en"
    reopen_form = ""
    if view["status"] == Status.RESOLVED:
        reopen_form = f"""<h2>{t("Not fixed?")}</h2>
<form id="rm-reopen"><textarea name="note" maxlength="2000" rows="2" required
aria-label="{t("What is still not fixed")}" placeholder="{t("What is still not fixed")}"></textarea>
<button type="submit">{t("Reopen")}</button></form>"""
    config = json.dumps({"code": code, "token": token}).replace("</", "<\\/")
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t("Your suggestion")} · {escape(code)}</title>
<link rel="icon" href="{STATIC_URL}/img/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{STATIC_URL}/css/resident.css"></head>
<body><header class="rm-header"><h1>{t("Your suggestion")} <small>{t("Receipt")}
{escape(code)}</small></h1></header><main class="rm-panel">
<h2 id="rm-title">{escape(view["title"])}</h2>
<p class="rm-meta">{icon} {escape(gettext(locale, label))} · {t("Status")}:
<strong id="rm-status">{escape(status)}</strong> · {t("Grid")}: {grid}</p>
{f"<p>{escape(view['description'])}</p>" if view.get("description") else ""}
<div>{photos}</div>
<h2>{t("History")}</h2><ol id="rm-history">{history}</ol>
{reopen_form}
<h2>{t("Add more details")}</h2>
<form id="rm-details"><textarea name="text" maxlength="1000" rows="3"></textarea>
<input type="file" name="photos" accept="image/jpeg,image/png,image/webp" multiple>
<p id="rm-error" role="alert" class="rm-error"></p>
<button type="submit" class="rm-primary">{t("Send")}</button></form>
<script>
const RMF = {config};
// Each form posts to /api/receipts/{{code}}/{{what}} with the private token.
for (const [id, what] of [["rm-details", "details"], ["rm-reopen", "reopen"]]) {{
  const form = document.getElementById(id);
  if (!form) continue;
  form.addEventListener("submit", async (e) => {{
    e.preventDefault();
    const fd = new FormData(e.target);
    fd.append("token", RMF.token);
    const r = await fetch("/api/receipts/" + encodeURIComponent(RMF.code) + "/" + what,
      {{ method: "POST", body: fd }});
    if (r.ok) {{ location.reload(); return; }}
    const body = await r.json();
    document.getElementById("rm-error").textContent = body.message || r.status;
  }});
}}
</script></main></body></html>"""
