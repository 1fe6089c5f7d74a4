"""Translations: every string the pages use has a Simplified Chinese translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from renewmap.i18n import catalog, gettext, negotiate
from renewmap.services.design.process import STAGE_LABELS
from renewmap.spatial.design import SEASONS
from renewmap.vocabulary import CATEGORY_LABELS, STATUS_LABELS, EventKind
from renewmap.web.design import (
    DRAW_HELP,
    FACILITIES,
    KINDS,
    LAYERS,
    PURPOSES,
    RULES,
    SURFACES,
)
from renewmap.web.errors import GENERIC, HEADLINES
from renewmap.web.plants import CARE_LABELS
from renewmap.web.sites import ACTIONS as SITE_ACTIONS

SRC = Path(__file__).resolve().parents[1] / "src" / "renewmap"
JS_T = re.compile(r'\bT\("((?:[^"\\]|\\.)+)"')
PY_T = re.compile(r'\b_?t\((?:locale, )?"((?:[^"\\]|\\.)+)"\)')
PATTERNS = [
    (SRC / "static" / "js" / "resident.js", JS_T),
    (SRC / "static" / "js" / "staff.js", JS_T),
    (SRC / "static" / "js" / "boundaries.js", JS_T),
    (SRC / "web" / "resident.py", PY_T),
    (SRC / "web" / "staff.py", PY_T),
    (SRC / "web" / "errors.py", PY_T),
    (SRC / "web" / "plants.py", PY_T),
    (SRC / "web" / "design.py", PY_T),
    (SRC / "web" / "sites.py", PY_T),
    (SRC / "static" / "js" / "design.js", JS_T),
    (SRC / "static" / "js" / "site.js", JS_T),
]


def used_msgids() -> set[str]:
    found: set[str] = set()
    for path, pattern in PATTERNS:
        found |= set(pattern.findall(path.read_text(encoding="utf-8")))
    found |= {label for label, _ in CATEGORY_LABELS.values()} | set(STATUS_LABELS.values())
    # the workspace's action buttons, and every history entry a page may show
    staff_js = (SRC / "static" / "js" / "staff.js").read_text(encoding="utf-8")
    labels = re.search(r"const ACTION_LABELS = \{(.*?)\};", staff_js, re.S)
    assert labels is not None
    found |= set(re.findall(r':\s*"([^"]+)"', labels.group(1)))
    found |= set(EventKind)
    found |= set(HEADLINES.values()) | {GENERIC} | set(CARE_LABELS.values())
    found |= {season.capitalize() for season in SEASONS}
    # the designers' and the sites' labels (kinds, layers, rules…, the process's steps)
    for table in (KINDS, LAYERS, SURFACES, PURPOSES, FACILITIES, RULES, STAGE_LABELS, SITE_ACTIONS):
        found |= set(table.values())
    found |= {DRAW_HELP}
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
