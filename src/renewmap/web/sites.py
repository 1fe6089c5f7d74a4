"""Residents' pages of the micro-renewal sites: the list (each site's step, since when, what
residents may do), and one site with its process timeline, the drafts put before residents (a
rendered plan each, the designer's words, what changes; comment, vote), the decision and the
objections while the plan is on display, before/after photos by the construction dates, plants
to adopt, and, during the survey, pins for the site.

Templates ``resident/sites.html`` and ``resident/site.html``; script ``static/js/site.js``.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from renewmap.i18n import gettext
from renewmap.services.design.process import STAGE_LABELS, STAGES
from renewmap.vocabulary import DELIBERATION_PARTIES
from renewmap.web.design import labels
from renewmap.web.render import render, script_catalog
from renewmap.web.resident import category_list
from renewmap.web.sitemap import OnlineTiles, site_plan

ACTIONS = {
    "suggest": "Now: pin your suggestions for this site",
    "comment": "Now: comment on the drafts",
    "vote": "Now: say which draft you prefer",
    "object": "Now: the chosen plan is on display; you may file an objection",
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


def _before_after(
    photos: dict[str, Any], construction: dict[str, Any] | None
) -> list[tuple[str, dict[str, Any] | None]]:
    """The photo before (the last one taken before construction started; else the first) and
    after (the last one taken after it ended; else the last)."""
    start = construction.get("starts_on") if construction else None
    end = construction.get("ends_on") if construction else None
    before = photos.get("before", [])
    after = photos.get("after", [])
    if start:
        before = [p for p in before if p["taken_on"] <= start] or before
    if end:
        after = [p for p in after if p["taken_on"] >= end] or after
    return [
        ("before", (before[-1] if start else before[0]) if before else None),
        ("after", after[-1] if after else None),
    ]


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
        "stage": timeline["stage"],
        "announced": timeline["stage"] in STAGES
        and STAGES.index(timeline["stage"]) >= STAGES.index("announcement"),
        "residentsMay": timeline["residents_may"],
        "stages": {k: gettext(locale, v) for k, v in STAGE_LABELS.items()},
        "t": script_catalog(locale, "site"),
        "labels": labels(locale),
        "plants": plants,
        "plan": plan,
    }

    steps = {s["stage"]: s for s in timeline["steps"]}
    current = steps.get(timeline["stage"] or "")
    construction = steps.get("construction")
    if construction and not construction["starts_on"]:
        construction = None
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
        current=current,
        construction=construction,
        before_after=_before_after(photos, construction),
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
