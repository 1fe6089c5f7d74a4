"""The residents' pages: the community's site plan with a pin-and-suggest panel, and the
private follow page of one suggestion.

Templates ``resident/community.html`` and ``resident/follow.html``; scripts
``static/js/resident.js`` and ``static/js/follow.js``. Suggestions are fetched by map view
(bbox) and page, so the page never embeds them.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from renewmap import names
from renewmap.i18n import Text, gettext
from renewmap.vocabulary import CATEGORY_LABELS, STATUS_LABELS, Status
from renewmap.web.render import render, script_catalog
from renewmap.web.sitemap import VECTOR_TILES_FROM, OnlineTiles, site_plan

CATEGORIES = CATEGORY_LABELS  # what the page shows per category: label msgid, icon
STATUSES = STATUS_LABELS  # status → label msgid
# Who did a step of a request's history, when it was not a member of staff (whose name shows).
ACTORS = names.ACTORS  # who did a step when it was not a staff member


def category_list(locale: str) -> list[dict[str, str]]:
    return [
        {"code": c, "label": gettext(locale, label), "icon": icon}
        for c, (label, icon) in CATEGORIES.items()
    ]


def status_list(locale: str) -> list[dict[str, str]]:
    return [{"code": s, "label": gettext(locale, label)} for s, label in STATUSES.items()]


def actor_label(locale: str, actor: str | None) -> str:
    """A history actor as people say it: 居民, 系统, or the staff member's own name."""
    label = names.actor(actor)
    return label.render(locale) if isinstance(label, Text) else label


def resident_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    nonce: str,
    tiles: OnlineTiles | None = None,
    vector_tiles_from: int = VECTOR_TILES_FROM,
) -> str:
    """HTML of the residents' page for one community (over an online basemap if ``tiles``)."""
    community = layers["community"].iloc[0]
    grids = layers["grid"]
    plan = site_plan(
        {k: v for k, v in layers.items() if k != "request"},
        locale=locale,
        tiles=tiles,
        vector_tiles_from=vector_tiles_from,
    )
    categories = category_list(locale)
    statuses = status_list(locale)
    config = {
        "community": str(community["code"]),
        "locale": locale,
        "t": script_catalog(locale, "resident"),
        "categories": categories,
        "statuses": statuses,
        "site": plan,
    }
    return render(
        "resident/community.html",
        locale=locale,
        nonce=nonce,
        community={"code": str(community["code"]), "name": str(community["name"])},
        categories=categories,
        category_options=[(c["code"], c["label"]) for c in categories],
        status_options=[(s["code"], s["label"]) for s in statuses],
        grid_options=[(str(c), str(n)) for c, n in zip(grids["code"], grids["name"], strict=True)],
        config=config,
        vectorgrid=any("tiles" in layer for layer in plan["layers"].values()),
    )


def follow_page(
    view: dict[str, Any], *, locale: str, nonce: str, code: str, token: str, time_zone: str
) -> str:
    """The resident's private page: status, who handles it, history; add details."""
    label, icon = CATEGORIES.get(view["category"], (view["category"], ""))
    return render(
        "resident/follow.html",
        locale=locale,
        nonce=nonce,
        time_zone=time_zone,
        code=code,
        view=view,
        status=gettext(locale, STATUSES.get(view["status"], view["status"])),
        reopenable=view["status"] == Status.RESOLVED,
        category=f"{icon} {gettext(locale, label)}".strip(),
        history=[
            {"at": h["at"], "what": gettext(locale, h["kind"]), "note": h.get("note")}
            for h in view["history"]
        ],
        config={
            "code": code,
            "token": token,
            "locale": locale,
            "t": script_catalog(locale, "follow"),
        },
    )


def index_page(communities: list[dict[str, str]], *, locale: str, nonce: str) -> str:
    """The list of communities, each linking to its residents' page."""
    return render("index.html", locale=locale, nonce=nonce, communities=communities)


def api_docs_page(
    info: dict[str, Any], operations: list[dict[str, str]], *, locale: str, nonce: str
) -> str:
    """The API's operations, listed from its OpenAPI document (``/docs``)."""
    return render("apidoc.html", locale=locale, nonce=nonce, info=info, operations=operations)
