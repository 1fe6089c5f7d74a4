"""Error pages for people (the API answers machines with JSON; see ``renewmap.api.app``).

A resident who opens an old or mistyped link on a phone should read what happened in their
language, with the same honest status code the API would give, and a way back.
"""

from __future__ import annotations

from html import escape

from renewmap.i18n import gettext
from renewmap.maps import STATIC_URL

HEADLINES = {
    403: "This link is not valid",
    404: "Page not found",
    429: "Too many requests; please wait a moment",
    503: "The service is unavailable; please try again shortly",
}
GENERIC = "Something went wrong"


def error_page(status: int, detail: str, *, locale: str) -> str:
    """A small, translated HTML page for an error status; ``detail`` is the precise message."""
    t = lambda msgid: escape(gettext(locale, msgid))  # noqa: E731
    lang = "zh-CN" if locale == "zh_CN" else "en"
    headline = t(HEADLINES.get(status, GENERIC))
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{headline}</title>
<link rel="icon" href="{STATIC_URL}/img/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{STATIC_URL}/css/resident.css"></head>
<body><header class="rm-header"><h1>{t("Micro-renewal map")}</h1></header>
<main class="rm-panel"><h2 id="rm-error">{headline}</h2>
<p class="rm-meta">{escape(detail)} ({status})</p>
<p><a href="/">{t("Back to the list of communities")}</a></p></main></body></html>"""
