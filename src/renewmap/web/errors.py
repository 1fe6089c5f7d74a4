"""Error pages for people (the API answers machines with JSON; see ``renewmap.api.app``).

A resident who opens an old or mistyped link on a phone should read what happened in their
language, with the same honest status code the API would give, and a way back.
"""

from __future__ import annotations

from renewmap.i18n import gettext
from renewmap.web.render import render

HEADLINES = {
    403: "This link is not valid",
    404: "Page not found",
    429: "Too many requests; please wait a moment",
    503: "The service is unavailable; please try again shortly",
}
GENERIC = "Something went wrong"


def error_page(status: int, detail: str, *, locale: str, nonce: str) -> str:
    """A small, translated HTML page for an error status; ``detail`` is the precise message."""
    return render(
        "error.html",
        locale=locale,
        nonce=nonce,
        status=status,
        detail=detail,
        headline=gettext(locale, HEADLINES.get(status, GENERIC)),
    )
