"""Translations: every string the pages use has a Simplified Chinese translation."""

from __future__ import annotations

import re

import pytest

from renewmap.i18n import catalog, gettext, negotiate
from renewmap.services.design.process import STAGE_LABELS
from renewmap.spatial.design import SEASONS
from renewmap.web.assets import msgids
from renewmap.web.design import (
    DRAW_HELP,
    FACILITIES,
    KINDS,
    LAYERS,
    PURPOSES,
    RULES,
    SURFACES,
    UNITS,
)
from renewmap.web.errors import GENERIC, HEADLINES
from renewmap.web.plants import CARE_LABELS
from renewmap.web.resident import ACTORS, CATEGORIES, STATUSES
from renewmap.web.sitemap import FIELD_LABELS, LAYER_NAMES
from renewmap.web.sites import ACTIONS as SITE_ACTIONS
from renewmap.web.staff import ACTION_LABELS, HISTORY_KINDS, LOAD_HELP, ROLES
from tests.support.paths import SRC

TEMPLATE_T = re.compile(r"""\bt\(\s*(?:"((?:[^"\\]|\\.)+)"|'((?:[^'\\]|\\.)+)')""")
PY_T = re.compile(r'\bgettext\(\s*locale,\s*"((?:[^"\\]|\\.)+)"')


def used_msgids() -> set[str]:
    found: set[str] = set()
    # every t("…") of the templates
    for path in (SRC / "web" / "templates").rglob("*.html"):
        for double, single in TEMPLATE_T.findall(path.read_text(encoding="utf-8")):
            found.add(double or single)
    # every gettext(locale, "…") of the page builders
    for path in (SRC / "web").glob("*.py"):
        found |= set(PY_T.findall(path.read_text(encoding="utf-8")))
    # every T("…") of the page modules and what they import
    for path in (SRC / "static" / "js").glob("*.js"):
        found |= set(msgids(f"js/{path.name}"))
    # the labels chosen by data (statuses, categories, history, design vocabulary, …)
    found |= {label for label, _ in CATEGORIES.values()} | set(STATUSES.values())
    found |= set(ACTION_LABELS.values()) | set(HISTORY_KINDS) | set(ROLES.values())
    found |= set(ACTORS.values())
    found |= set(HEADLINES.values()) | {GENERIC} | set(CARE_LABELS.values())
    found |= {season.capitalize() for season in SEASONS} | {"Before", "After"}
    for table in (
        KINDS,
        LAYERS,
        SURFACES,
        PURPOSES,
        FACILITIES,
        RULES,
        UNITS,
        STAGE_LABELS,
        SITE_ACTIONS,
        LAYER_NAMES,
        FIELD_LABELS,
    ):
        found |= set(table.values())
    found |= {DRAW_HELP, LOAD_HELP}
    return found


def test_every_used_string_is_translated_to_chinese() -> None:
    used = used_msgids()
    assert len(used) > 40, "the scan found the page's strings"
    zh = catalog("zh_CN")
    missing = sorted(m for m in used if not zh.get(m))
    assert missing == [], f"add zh_CN translations for: {missing}"


def test_english_falls_back_to_message_ids() -> None:
    assert gettext("en", "Submit") == "Submit"
    assert gettext("zh_CN", "Submit") == "提交"
    assert gettext("zh_CN", "{n} suggestions", n=3) == "共 3 条建议"


@pytest.mark.parametrize(
    ("lang", "cookie", "accept", "expected"),
    [
        (None, None, None, "zh_CN"),
        ("en", "zh_CN", "zh-CN", "en"),
        (None, "en", "zh-CN", "en"),
        (None, None, "en-GB,en;q=0.8", "en"),
        (None, None, "fr-FR,de;q=0.5", "zh_CN"),
        ("xx", None, "zh-Hans", "zh_CN"),
    ],
)
def test_language_negotiation(lang, cookie, accept, expected) -> None:
    assert negotiate(lang, cookie, accept) == expected
