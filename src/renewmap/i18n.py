"""Translations: Simplified Chinese first, English second.

Message ids are English ``str.format`` templates; ``locales/<locale>/LC_MESSAGES/*.po`` hold
the catalogs (``messages.po``: the pages; ``services.po``: what the services, the API and the
exports say) and are read with Babel at first use (no compiled .mo files to keep in sync).

Text for people is made in two ways:

- ``Msg(msgid, **params)`` keeps the English template and its values and is rendered late, in
  the reader's language (``msg.render(locale)``): exceptions carry one, and a message can hold
  others as values (a file's name and a feature's number around the reason it was refused).
- ``t(msgid, **params)`` renders now, in the language of the current request or command
  (``use_locale``; Simplified Chinese when nothing chose one).
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from typing import Any

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
# How a list reads in a sentence ("A, B, C" / "A、B、C") and how sentences follow each other.
_ITEM_SEP = {"zh_CN": "、", "en": ", "}
_SENTENCE_SEP = {"zh_CN": "；", "en": "; "}
_OR_SEP = {"zh_CN": " 或 ", "en": " or "}

_locale: ContextVar[str] = ContextVar("renewmap_locale", default=DEFAULT_LOCALE)


DOMAINS = ("messages", "services")  # the pages' words; the services', API's and exports'


def _po_path(locale: str, domain: str) -> Any:
    return resources.files("renewmap") / "locales" / locale / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=len(LOCALES) * len(DOMAINS))
def entries(locale: str, domain: str) -> dict[str, str]:
    """Every msgid of one catalog with its translation ("" = not translated)."""
    path = _po_path(locale, domain)
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        po = read_po(f, locale=locale)
    return {str(m.id): str(m.string or "") for m in po if m.id}


@lru_cache(maxsize=len(LOCALES) * len(DOMAINS))
def catalog(locale: str, domain: str = "messages") -> dict[str, str]:
    """msgid → translation in one catalog (the pages' by default; untranslated left out)."""
    return {k: v for k, v in entries(locale, domain).items() if v}


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> dict[str, str]:
    """msgid → translation across every catalog of a locale."""
    out: dict[str, str] = {}
    for domain in DOMAINS:
        out.update(catalog(locale, domain))
    return out


def gettext(locale: str, msgid: str, **values: object) -> str:
    text = translations(locale if locale in LOCALES else DEFAULT_LOCALE).get(msgid, msgid)
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


def posix_locale(environ: Mapping[str, str]) -> str:
    """The command line's language from LC_ALL, LC_MESSAGES or LANG (the first one set):
    English for ``en*``, Simplified Chinese otherwise (``C`` and unset included)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "en" if value.lower().startswith("en") else DEFAULT_LOCALE
    return DEFAULT_LOCALE


# --- the active language ---------------------------------------------------------------------


def current_locale() -> str:
    """The language of the request or command being served."""
    return _locale.get()


@contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Render ``t()`` and ``str(Msg)`` in ``locale`` inside the block."""
    token = _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield _locale.get()
    finally:
        _locale.reset(token)


def set_locale(locale: str) -> None:
    """Choose the language for the rest of this context (a request, a command)."""
    _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


# --- messages --------------------------------------------------------------------------------


class Sentences(tuple[Any, ...]):
    """Several messages read one after another ("A; B" / "A；B"), not as a list of items."""


class Lines(tuple[Any, ...]):
    """Several messages, one per line."""


class Alternatives(tuple[Any, ...]):
    """Choices read as such: "Polygon or MultiPolygon" / "Polygon或MultiPolygon"."""


def fields(msgid: str) -> set[str]:
    """The names a msgid's template refers to (``{n}``, ``{lon:.6f}`` → n, lon)."""
    out = set()
    for _text, name, _spec, _conv in string.Formatter().parse(msgid):
        if name:
            out.add(name.split(".")[0].split("[")[0])
    return out


def render_value(value: object, locale: str) -> object:
    """A message's value as the reader sees it: messages rendered, lists joined."""
    if isinstance(value, Text):
        return value.render(locale)
    if isinstance(value, Lines):
        return "\n".join(str(render_value(v, locale)) for v in value)
    if isinstance(value, Alternatives):
        return _OR_SEP[locale].join(str(render_value(v, locale)) for v in value)
    if isinstance(value, Sentences):
        return _SENTENCE_SEP[locale].join(str(render_value(v, locale)) for v in value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return _ITEM_SEP[locale].join(str(render_value(v, locale)) for v in items)
    return value


def jsonable(value: object, locale: str) -> object:
    """A value for a JSON body: messages rendered, lists kept as lists, others as they are
    when JSON has them (anything else as its text)."""
    if isinstance(value, Text):
        return value.render(locale)
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, locale) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v, locale) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class Text:
    """Something a person reads, rendered in their language when it is shown."""

    __slots__ = ()

    def render(self, locale: str) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render(current_locale())


class Localized(Text):
    """Text that comes with its own translations (a species' Chinese and Latin names), not
    from the catalogs."""

    __slots__ = ("texts",)

    def __init__(self, **texts: str) -> None:
        self.texts = texts

    def render(self, locale: str) -> str:
        return (
            self.texts.get(locale)
            or self.texts.get(DEFAULT_LOCALE)
            or next(iter(self.texts.values()), "")
        )

    def __repr__(self) -> str:
        return f"Localized(**{self.texts!r})"


class Msg(Text):
    """A message for a person: an English ``str.format`` template (the msgid) and its values,
    rendered in the reader's language when it is shown. Values may be messages themselves."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: object) -> None:
        self.msgid = msgid
        self.params = params

    def render(self, locale: str) -> str:
        locale = locale if locale in LOCALES else DEFAULT_LOCALE
        values = {k: render_value(v, locale) for k, v in self.params.items()}
        for text in (translations(locale).get(self.msgid), self.msgid):
            if text is None:
                continue
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError, AttributeError):
                continue  # a broken translation: the English template, then the bare msgid
        return self.msgid

    def __repr__(self) -> str:
        return f"Msg({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and other.msgid == self.msgid and other.params == self.params

    def __hash__(self) -> int:
        return hash(self.msgid)


def t(msgid: str, /, **params: object) -> str:
    """Render a message now, in the current language."""
    return Msg(msgid, **params).render(current_locale())


def rendered(value: Any) -> Any:
    """A value (a dict, a list…) with every message in it rendered in the current language."""
    return jsonable(value, current_locale())


def N_(msgid: str) -> str:
    """Mark a msgid in a table (a label, a unit) for the catalogs (gettext_noop); it is
    translated where it is shown."""
    return msgid
