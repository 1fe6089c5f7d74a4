"""The printable monthly report of a grid or a party branch's area: served as a page
(``/staff/report``) and written as one offline file (``renewmap report``) from the same
template, ``report/grid.html``; and as a PDF (``report_pdf``).

The map is part of the document (a ``<div>`` drawn by ``static/js/report.js``, no iframe).
The file inlines what it needs — Leaflet, the stylesheets and the report's script bundled
into one module — and carries its own Content-Security-Policy in a ``<meta>``: scripts and
styles only with the file's nonce, nothing loaded from anywhere.
"""

from __future__ import annotations

import secrets
from typing import Any

from renewmap.api.security import file_csp
from renewmap.i18n import gettext
from renewmap.web.assets import bundle, inline_text, vendored
from renewmap.web.render import render, script_catalog
from renewmap.web.resident import CATEGORIES, STATUSES
from renewmap.web.sitemap import STATUS_COLOURS, site_plan


def _routes_layer(patrols: list[dict[str, Any]], locale: str) -> dict[str, Any]:
    """The month's patrol routes, each named by its day and grids."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": p["route"],
                "properties": {
                    "label": gettext(locale, "Patrol of {day}", day=p["day"])
                    + (" · " + "、".join(p["grids"]) if p["grids"] else "")
                },
            }
            for p in patrols
            if p["route"] is not None
        ],
    }


def _requests_layer(records: list[dict[str, Any]], locale: str) -> dict[str, Any]:
    """The requests as map points, coloured by status, named by title and status."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": {
                    "title": r["title"],
                    "status": gettext(locale, STATUSES.get(r["status"], r["status"])),
                    "colour": STATUS_COLOURS.get(r["status"], "#000"),
                },
            }
            for r in records
        ],
    }


def report_page(report: dict[str, Any], *, locale: str, nonce: str | None, time_zone: str) -> str:
    """HTML of the report. ``nonce=None``: the offline file (assets inlined, its own CSP)."""
    offline = nonce is None
    nonce = nonce or secrets.token_urlsafe(18)
    plan = site_plan(report["layers"], locale=locale, vector_tiles_from=None)
    config = {
        "locale": locale,
        "t": script_catalog(locale, "report"),
        "plan": plan,
        "focus": report["grid_bounds"],
        "requests": _requests_layer(report["requests"], locale),
        "routes": _routes_layer(report["patrols"], locale),
    }
    assets: dict[str, Any] = {}
    if offline:
        css = vendored("vendor/leaflet/leaflet.css") + "\n" + vendored("css/report.css")
        assets = {
            "csp": file_csp(nonce),
            "css": inline_text(css, element="style"),
            "leaflet": inline_text(vendored("vendor/leaflet/leaflet.js"), element="script"),
            "module": inline_text(bundle("js/report.js"), element="script"),
        }
    month = report["month"]
    return render(
        "report/grid.html",
        locale=locale,
        nonce=nonce,
        time_zone=time_zone,
        offline=offline,
        assets=assets,
        report=report,
        title_month=f"{month:%Y-%m}",
        heading=heading(report, locale),
        statuses={s: gettext(locale, label) for s, label in STATUSES.items()},
        categories={
            c: f"{icon} {gettext(locale, label)}" for c, (label, icon) in CATEGORIES.items()
        },
        figures=figure_labels(locale),
        config=config,
    )


def heading(report: dict[str, Any], locale: str) -> str:
    month = report["month"]
    return gettext(locale, "requests of {year}-{month}", year=f"{month:%Y}", month=f"{month:%m}")


# The month's figures, in the order printed: key → label msgid.
FIGURES = (
    ("new", "New this month"),
    ("accepted", "Accepted this month"),
    ("resolved", "Resolved this month"),
    ("median_days_to_resolve", "Median days to resolve"),
    ("open_at_end", "Open"),
)


def figure_labels(locale: str) -> list[tuple[str, str]]:
    return [(key, gettext(locale, label)) for key, label in FIGURES]
