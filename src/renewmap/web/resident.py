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
from renewmap.i18n import N_, Text, gettext
from renewmap.services.requests.photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from renewmap.vocabulary import (
    CATEGORY_LABELS,
    CATEGORY_QUESTIONS,
    DELIBERATION_PARTIES,
    STATUS_LABELS,
    EventKind,
    Status,
)
from renewmap.web.render import render, script_catalog
from renewmap.web.sitemap import STATUS_COLOURS, VECTOR_TILES_FROM, OnlineTiles, site_plan

CATEGORIES = CATEGORY_LABELS  # what the page shows per category: label msgid, icon
STATUSES = STATUS_LABELS  # status → label msgid
# Who did a step of a request's history, when it was not a member of staff (whose name shows).
ACTORS = names.ACTORS  # who did a step when it was not a staff member
# How a resident is told of progress.
CHANNEL_LABELS = {"sms": N_("SMS"), "email": N_("E-mail")}


def category_list(locale: str) -> list[dict[str, str]]:
    return [
        {"code": c, "label": gettext(locale, label), "icon": icon}
        for c, (label, icon) in CATEGORIES.items()
    ]


def status_list(locale: str) -> list[dict[str, str]]:
    """Statuses with their label and the colour of their markers."""
    return [
        {"code": s, "label": gettext(locale, label), "colour": STATUS_COLOURS[s]}
        for s, label in STATUSES.items()
    ]


def actor_label(locale: str, actor: str | None) -> str:
    """A history actor as people say it: 居民, 系统, or the staff member's own name."""
    label = names.actor(actor)
    return label.render(locale) if isinstance(label, Text) else label


def question_list(locale: str) -> dict[str, list[dict[str, Any]]]:
    """Each category's questions (the definition Open311 shares), in ``locale``."""
    return {
        code: [
            {
                "code": q.code,
                "datatype": q.datatype,
                "label": gettext(locale, q.description),
                "required": q.required,
                "hint": gettext(locale, q.hint) if q.hint else None,
                "values": [{"key": v.key, "label": gettext(locale, v.name)} for v in q.values],
            }
            for q in questions
        ]
        for code, questions in CATEGORY_QUESTIONS.items()
    }


def resident_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    nonce: str,
    tiles: OnlineTiles | None = None,
    vector_tiles_from: int = VECTOR_TILES_FROM,
    channels: tuple[str, ...] = (),
    time_zone: str = "Asia/Shanghai",
    preview: bool = False,
) -> str:
    """HTML of the residents' page for one community (over an online basemap if ``tiles``).
    ``channels``: how residents may be told of progress here (an SMS gateway, SMTP).
    ``preview``: its admins' look at it before it is published (marked, not indexed, nothing
    can be posted from it)."""
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
        "timeZone": time_zone,
        "t": script_catalog(locale, "resident"),
        "categories": categories,
        "statuses": statuses,
        "questions": question_list(locale),
        "maxPhotos": MAX_PHOTOS,
        "maxPhotoBytes": MAX_PHOTO_BYTES,
        "site": plan,
        "preview": preview,
    }
    return render(
        "resident/community.html",
        preview=preview,
        locale=locale,
        nonce=nonce,
        community={"code": str(community["code"]), "name": str(community["name"])},
        categories=categories,
        statuses=statuses,
        category_options=[(c["code"], c["label"]) for c in categories],
        status_options=[(s["code"], s["label"]) for s in statuses],
        grid_options=[(str(c), str(n)) for c, n in zip(grids["code"], grids["name"], strict=True)],
        channels=channels,
        photo_mb=round(MAX_PHOTO_BYTES / (1024 * 1024)),
        channel_words=gettext(locale, " or ").join(
            gettext(locale, CHANNEL_LABELS[c]) for c in channels
        ),
        config=config,
        vectorgrid=any("tiles" in layer for layer in plan["layers"].values()),
    )


def by_label(locale: str, by: dict[str, str] | None) -> str:
    """Who acted on a step, as the resident reads it: "第3网格 网格长" (role and place)."""
    if not by:
        return ""
    role = names.ROLE_LABELS.get(by.get("role", ""))
    return " ".join(p for p in (by.get("place"), gettext(locale, role) if role else None) if p)


def follow_page(
    view: dict[str, Any],
    layers: dict[str, gpd.GeoDataFrame] | None,
    *,
    locale: str,
    nonce: str,
    code: str,
    token: str,
    time_zone: str,
    tiles: OnlineTiles | None = None,
) -> str:
    """The resident's private page: status, where it is (a small map), who handles it and who
    acted at each step, history; add details or reopen; stop progress messages."""
    label, icon = CATEGORIES.get(view["category"], (view["category"], ""))
    reopenable = view["status"] == Status.RESOLVED and view.get("reopen_until") is not None
    plan = (
        site_plan(layers, locale=locale, tiles=tiles)
        if layers is not None and len(layers["community"])
        else None
    )
    return render(
        "resident/follow.html",
        locale=locale,
        nonce=nonce,
        time_zone=time_zone,
        code=code,
        view=view,
        status=gettext(locale, STATUSES.get(view["status"], view["status"])),
        reopenable=reopenable,
        category=f"{icon} {gettext(locale, label)}".strip(),
        history=[_history_item(locale, h) for h in view["history"]],
        property=view.get("property"),
        photos=[p for p in view["photos"] if p.get("kind") != "after"],
        channels=[gettext(locale, CHANNEL_LABELS[c]) for c in view.get("notify", [])],
        config={
            "code": code,
            "token": token,
            "locale": locale,
            "t": script_catalog(locale, "follow"),
            "site": plan,
            "geometry": view["geometry"],
            "grid": (view.get("grid") or {}).get("code"),
            "colour": STATUS_COLOURS.get(view["status"], "#495057"),
        },
        vectorgrid=plan is not None and any("tiles" in layer for layer in plan["layers"].values()),
    )


def stop_page(
    *, locale: str, nonce: str, code: str, stop: str, done: bool, community: str | None
) -> str:
    """The stop link's page: confirm (a plain form, no script needed), then done."""
    return render(
        "resident/stop.html",
        locale=locale,
        nonce=nonce,
        code=code,
        stop=stop,
        done=done,
        community=community,
    )


def _history_item(locale: str, h: dict[str, Any]) -> dict[str, Any]:
    """One history entry as the resident reads it: what happened (the property company's due
    day in words), the note, a deliberation's parties and decision, the "after" photos."""
    details = h.get("details") or {}
    what = gettext(locale, h["kind"])
    if h["kind"] == EventKind.ASSIGN_PROPERTY and details.get("due"):
        what = gettext(
            locale, "Passed to the property company, to be done by {due}", due=details["due"]
        )
    deliberation = None
    if h["kind"] == EventKind.DELIBERATION:
        deliberation = {
            **details,
            "parties": [
                gettext(locale, DELIBERATION_PARTIES.get(p, p))
                for p in details.get("parties") or []
            ],
        }
    return {
        "at": h["at"],
        "what": what,
        "note": None if deliberation else h.get("note"),
        "by": by_label(locale, h.get("by")),
        "deliberation": deliberation,
        "photos": h.get("photos") or [],
    }


def index_page(communities: list[dict[str, str]], *, locale: str, nonce: str) -> str:
    """The list of communities, each linking to its residents' page."""
    return render("index.html", locale=locale, nonce=nonce, communities=communities)


def api_docs_page(
    info: dict[str, Any], operations: list[dict[str, str]], *, locale: str, nonce: str
) -> str:
    """The API's operations, listed from its OpenAPI document (``/docs``)."""
    return render("apidoc.html", locale=locale, nonce=nonce, info=info, operations=operations)
