"""Residents' pages of the micro-renewal sites: the list, and one site with its process
timeline, the drafts put before residents (as map layers; comment, vote), before/after photos,
plants to adopt, and, during the survey, pins for the site.

Templates ``resident/sites.html`` and ``resident/site.html``; script ``static/js/site.js``.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from renewmap.i18n import gettext
from renewmap.services.design.process import STAGE_LABELS
from renewmap.vocabulary import DELIBERATION_PARTIES
from renewmap.web.design import labels
from renewmap.web.render import render, script_catalog
from renewmap.web.resident import category_list
from renewmap.web.sitemap import OnlineTiles, site_plan

ACTIONS = {
    "suggest": "Now: pin your suggestions for this site",
    "comment": "Now: comment on the drafts",
    "vote": "Now: vote for the draft you prefer (one vote each)",
}


def sites_page(
    code: str, name: str, sites: list[dict[str, Any]], *, locale: str, nonce: str
) -> str:
    return render(
        "resident/sites.html",
        locale=locale,
        nonce=nonce,
        code=code,
        name=name,
        sites=sites,
        stage_labels=STAGE_LABELS,
        actions=ACTIONS,
    )


def site_page(
    layers: dict[str, gpd.GeoDataFrame],
    site: dict[str, Any],
    timeline: dict[str, Any],
    photos: dict[str, Any],
    plants: list[dict[str, Any]],
    *,
    locale: str,
    nonce: str,
    tiles: OnlineTiles | None = None,
    deliberations: list[dict[str, Any]] | None = None,
) -> str:
    community = layers["community"].iloc[0]
    plan = site_plan(
        {k: v for k, v in layers.items() if k != "request"}, locale=locale, tiles=tiles
    )
    config = {
        "community": timeline["community"],
        "locale": locale,
        "site": {"code": site["code"], "name": site["name"], "geometry": site["geometry"]},
        "t": script_catalog(locale, "site"),
        "labels": labels(locale),
        "plants": plants,
        "plan": plan,
    }

    def latest(phase: str) -> dict[str, Any] | None:
        items = photos.get(phase, [])
        if not items:
            return None
        return items[-1] if phase == "after" else items[0]

    return render(
        "resident/site.html",
        locale=locale,
        nonce=nonce,
        community_name=str(community["name"]),
        community_code=timeline["community"],
        site=site,
        timeline=timeline,
        stage_labels=STAGE_LABELS,
        actions=ACTIONS,
        before_after=[("before", latest("before")), ("after", latest("after"))],
        plants=plants,
        deliberations=[
            {
                **d,
                "parties": [gettext(locale, DELIBERATION_PARTIES.get(p, p)) for p in d["parties"]],
            }
            for d in deliberations or []
        ],
        category_options=[(c["code"], f"{c['icon']} {c['label']}") for c in category_list(locale)],
        config=config,
        vectorgrid=any("tiles" in layer for layer in plan["layers"].values()),
    )
