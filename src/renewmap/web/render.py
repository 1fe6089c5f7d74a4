"""Every HTML page and HTML file the app makes comes from the Jinja2 templates in
``web/templates`` through :func:`render`: autoescaping is on for every template, so text from
people and files can only ever be text. Data for a page's scripts travels as JSON
(``{{ config|tojson }}`` inside ``<script type="application/json">``); the scripts are ES
modules under ``static/js`` that put text into the page with ``textContent`` only.

Nothing here builds HTML in Python strings.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

from renewmap.i18n import LOCALES, gettext
from renewmap.web.assets import module_order, msgids

STATIC_URL = "/static"
DEFAULT_TIME_ZONE = "Asia/Shanghai"
LANG_TAGS = {"zh_CN": "zh-CN", "en": "en"}
LANG_NAMES = {"zh_CN": "中文", "en": "EN"}
# Pages kept in the page cache are rendered once with this stand-in for the CSP nonce, which is
# swapped for each response's own nonce. Random per process: no stored text can guess it.
NONCE_SLOT = "rmnonce" + secrets.token_hex(12)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one template environment (autoescape on for every template, whatever its name)."""
    env = Environment(
        loader=PackageLoader("renewmap.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # tojson escapes < > & ' as \u003c…; compact, and Chinese as UTF-8 (a third of \uXXXX)
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "separators": (",", ":")}
    env.globals["static"] = STATIC_URL
    env.globals["LANG_NAMES"] = LANG_NAMES
    env.globals["LOCALES"] = LOCALES
    env.globals["module_imports"] = module_imports
    return env


def module_imports(name: str) -> tuple[str, ...]:
    """What the page module ``static/js/NAME.js`` imports, directly or not (``js/lib/dom.js``
    …): the page names them in ``<link rel="modulepreload">`` so that the browser fetches them
    with the module rather than one level of imports after another."""
    return module_order(f"js/{name}.js")[:-1]


def translator(locale: str) -> Callable[..., str]:
    """``t("{n} suggestions", n=3)`` in ``locale`` (the catalog's msgids are English)."""

    def t(msgid: str, **values: object) -> str:
        return gettext(locale, msgid, **values)

    return t


def script_catalog(locale: str, module: str) -> dict[str, str]:
    """The words the page module ``static/js/MODULE.js`` (and what it imports) shows, in
    ``locale``: each ``T("…")`` of its source (labels chosen by data travel in the config)."""
    return {msgid: gettext(locale, msgid) for msgid in sorted(msgids(f"js/{module}.js"))}


def local_time(value: str | datetime | None, time_zone: str = DEFAULT_TIME_ZONE) -> str:
    """``YYYY-MM-DD HH:MM`` in the community's time zone (stored times are UTC)."""
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:  # SQLite gives naive UTC
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")


def local_date(value: str | date | datetime | None, time_zone: str = DEFAULT_TIME_ZONE) -> str:
    """A day as ``YYYY-MM-DD``; a moment becomes the day it was in the community's zone."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return local_time(value, time_zone)[:10]
    return value.isoformat()


def render(
    template: str,
    *,
    locale: str,
    nonce: str,
    time_zone: str = DEFAULT_TIME_ZONE,
    **context: Any,
) -> str:
    """HTML of ``template`` in ``locale``; ``nonce`` goes on every script element."""
    tz = time_zone

    def when(value: str | datetime | None) -> str:
        return local_time(value, tz)

    def day(value: str | date | datetime | None) -> str:
        return local_date(value, tz)

    return (
        environment()
        .get_template(template)
        .render(
            locale=locale,
            lang=LANG_TAGS.get(locale, "zh-CN"),
            t=translator(locale),
            nonce=nonce,
            time_zone=tz,
            when=when,
            day=day,
            **context,
        )
    )
