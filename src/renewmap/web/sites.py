"""Residents' pages of the micro-renewal sites: the list, and one site with its process
timeline, the drafts put before residents (as map layers; comment, vote), before/after photos,
plants to adopt, and, during the survey, pins for the site."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

import folium
import geopandas as gpd
from branca.element import Element

from renewmap.i18n import catalog, gettext
from renewmap.maps import STATIC_URL, OnlineTiles, community_map
from renewmap.services.design.process import STAGE_LABELS
from renewmap.vocabulary import CATEGORY_LABELS
from renewmap.web.design import _labels, control_last, timeline_items
from renewmap.web.staff import _script_json

HEAD = (
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f'<link rel="icon" href="{STATIC_URL}/img/icon.svg" type="image/svg+xml">'
    f'<link rel="stylesheet" href="{STATIC_URL}/css/resident.css">'
    f'<link rel="stylesheet" href="{STATIC_URL}/css/design.css">'
)
ACTIONS = {
    "suggest": "Now: pin your suggestions for this site",
    "comment": "Now: comment on the drafts",
    "vote": "Now: vote for the draft you prefer (one vote each)",
}


def sites_page(code: str, name: str, sites: list[dict[str, Any]], *, locale: str) -> str:
    t = lambda msgid: escape(gettext(locale, msgid))  # noqa: E731
    lang = "zh-CN" if locale == "zh_CN" else "en"
    items = "".join(
        f'<li><a href="/c/{quote(code)}/sites/{quote(s["code"])}">{escape(s["name"])}</a> '
        f"<small>{t(STAGE_LABELS[s['stage']]) if s['stage'] else t('Not started')}</small>"
        + "".join(f"<br><strong>{t(ACTIONS[a])}</strong>" for a in s["residents_may"])
        + "</li>"
        for s in sites
    )
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">{HEAD}
<title>{escape(name)} · {t("Micro-renewal sites")}</title></head>
<body><header class="rm-header"><h1>{escape(name)} <small>{t("Micro-renewal sites")}</small>
</h1><nav><a href="/c/{quote(code)}">{t("Map")}</a></nav></header>
<main class="rm-panel"><ul class="rm-plain" id="rm-sites">{items or "<li>—</li>"}</ul></main>
</body></html>"""


def site_page(
    layers: dict[str, gpd.GeoDataFrame],
    site: dict[str, Any],
    timeline: dict[str, Any],
    photos: dict[str, Any],
    plants: list[dict[str, Any]],
    *,
    locale: str,
    tiles: OnlineTiles | None = None,
) -> str:
    t = lambda msgid: escape(gettext(locale, msgid))  # noqa: E731
    base = {k: v for k, v in layers.items() if k != "request"}
    m = community_map(base, assets="server", tiles=tiles)
    community = layers["community"].iloc[0]
    folium.GeoJson(
        site["geometry"],
        name="site",
        style_function=lambda f: {"color": "#d6336c", "weight": 3, "fillOpacity": 0.03},
    ).add_to(m)
    control_last(m)
    root = m.get_root()
    root.title = f"{site['name']} · {community['name']}"
    root.header.add_child(
        Element(
            HEAD
            + f'<script src="{STATIC_URL}/js/util.js" defer></script>'
            + f'<script src="{STATIC_URL}/js/site.js" defer></script>'
        ),
        name="site_assets",
    )
    config = {
        "map": m.get_name(),
        "community": timeline["community"],
        "site": site,
        "t": {msgid: gettext(locale, msgid) for msgid in catalog("zh_CN")},
        "labels": _labels(locale),
        "plants": plants,
    }
    root.script.add_child(Element(f"window.RMR = {_script_json(config)};"), name="rmr_config")
    code = escape(timeline["community"])
    steps = timeline_items(timeline, t)
    now = "".join(f"<p><strong>{t(ACTIONS[a])}</strong></p>" for a in timeline["residents_may"])
    if timeline["stage"] == "announcement":
        now = f"<p>{t('The result has been announced; this site is read-only.')}</p>"
    categories = "".join(
        f'<option value="{c}">{icon} {t(label)}</option>'
        for c, (label, icon) in CATEGORY_LABELS.items()
    )
    survey = ""
    if "suggest" in timeline["residents_may"]:
        survey = f"""<h2>{t("Your suggestion for this site")}</h2>
<form id="rm-site-suggest"><p class="rm-meta">{t("Tap the map where it applies.")}</p>
<select name="category" aria-label="{t("Category")}">{categories}</select>
<input name="title" required maxlength="200" placeholder="{t("Title")}" aria-label="{t("Title")}">
<button type="submit" class="rm-primary">{t("Submit")}</button></form>
<p id="rm-suggest-result" role="status"></p>"""

    def ba(phase: str) -> str:
        items = photos.get(phase, [])
        if not items:
            return f"<figure><figcaption>{t(phase.capitalize())} · —</figcaption></figure>"
        p = items[-1] if phase == "after" else items[0]
        return (
            f'<figure><a href="{p["url"]}"><img src="{p["url"]}" '
            f'alt="{escape(p["caption"] or "")}"></a>'
            f"<figcaption>{t(phase.capitalize())} · {p['taken_on']}"
            f"{' · ' + escape(p['caption']) if p['caption'] else ''}</figcaption></figure>"
        )

    plant_items = "".join(
        f'<li><a href="{p["url"]}">{escape(p["name"] or "")}</a> '
        f"<small>{escape(p['species'] or '')}</small> "
        f"{'<strong>' + t('Open for adoption') + '</strong>' if p['open'] else t('Adopted')}</li>"
        for p in plants
    )
    panel = f"""
<header class="rm-header"><h1>{escape(site["name"])} <small>{escape(str(community["name"]))}</small>
</h1><nav><a href="/c/{code}/sites">{t("Micro-renewal sites")}</a></nav></header>
<section class="rm-panel" aria-label="{escape(site["name"])}">
{now}{survey}
<h2>{t("Design drafts")}</h2><div id="rm-drafts" aria-live="polite"></div>
<p id="rm-error" role="alert" class="rm-error"></p>
<h2>{t("Before and after")}</h2><div class="rm-ba">{ba("before")}{ba("after")}</div>
<h2>{t("Plants")}</h2><ul class="rm-plain">{plant_items or "<li>—</li>"}</ul>
<h2>{t("Participatory process")}</h2><ol class="rm-timeline" id="rm-timeline">{steps}</ol>
</section>"""
    root.html.add_child(Element(panel), name="site_panel")
    return root.render()
