"""Translations: Simplified Chinese first, English second.

Message ids are English; ``locales/<locale>/LC_MESSAGES/messages.po`` hold the catalogs and
are read with Babel at first use (no compiled .mo files to keep in sync).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANG_ALIASES = {
    "zh": "zh_CN",
    "zh-cn": "zh_CN",
    "zh_cn": "zh_CN",
    "zh-hans": "zh_CN",
    "en": "en",
    "en-us": "en",
    "en-gb": "en",
}


@lru_cache(maxsize=len(LOCALES))
def catalog(locale: str) -> dict[str, str]:
    """msgid → translation for one locale (empty translations fall back to the msgid)."""
    path = resources.files("renewmap") / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        po = read_po(f, locale=locale)
    return {str(m.id): str(m.string) for m in po if m.id and m.string}


def gettext(locale: str, msgid: str, **values: object) -> str:
    text = catalog(locale if locale in LOCALES else DEFAULT_LOCALE).get(msgid, msgid)
    return text.format(**values) if values else text


def negotiate(lang: str | None, cookie: str | None, accept_language: str | None) -> str:
    """?lang= beats the cookie, which beats Accept-Language; default Simplified Chinese."""
    for candidate in (lang, cookie):
        if candidate and candidate.lower() in LANG_ALIASES:
            return LANG_ALIASES[candidate.lower()]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag in LANG_ALIASES:
            return LANG_ALIASES[tag]
        if tag.split("-")[0] in LANG_ALIASES:
            return LANG_ALIASES[tag.split("-")[0]]
    return DEFAULT_LOCALE
