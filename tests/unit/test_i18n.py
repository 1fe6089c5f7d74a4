"""Translations: every string the pages use has a Simplified Chinese translation; every message
the services, the API and the exports say is a template in both catalogs; every error code has
a Chinese and an English message; one Chinese term per thing."""

from __future__ import annotations

import re
import string

import pytest

from renewmap import names
from renewmap.devtools.messages import scan
from renewmap.errors import InvalidInput, NotFound
from renewmap.i18n import (
    DOMAINS,
    LOCALES,
    Localized,
    Msg,
    Sentences,
    entries,
    fields,
    gettext,
    negotiate,
    posix_locale,
    translations,
    use_locale,
)
from renewmap.services.design.process import ACTION_LABELS as STEP_ACTIONS
from renewmap.services.design.process import STAGE_LABELS, STAGES
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
from renewmap.web.sitemap import CONTROL_LABELS, FIELD_LABELS, LAYER_NAMES
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
        CONTROL_LABELS,
    ):
        found |= set(table.values())
    found |= {DRAW_HELP, LOAD_HELP}
    # what the services say: labels of statuses, history, roles, actors, design features
    for table in (
        names.STATUS_LABELS,
        names.EVENT_LABELS,
        names.ACTION_VERBS,
        names.ACTORS,
        names.ROLE_LABELS,
        names.LAYER_KINDS,
        names.FEATURE_KINDS,
        names.FACILITY_TYPES,
        names.PLANT_LAYERS,
        names.PATH_SURFACES,
        STEP_ACTIONS,
    ):
        found |= set(table.values())
    return found


def test_every_used_string_is_translated_to_chinese() -> None:
    used = used_msgids()
    assert len(used) > 40, "the scan found the page's strings"
    zh = translations("zh_CN")
    missing = sorted(m for m in used if not zh.get(m))
    assert missing == [], f"add zh_CN translations for: {missing}"


FOUND = scan()


def test_messages_in_the_source_are_templates_with_codes() -> None:
    """msgids are literal templates (no f-strings), every value they name is passed, every
    raised error names its stable key, and one key means one message."""
    assert len(FOUND.msgids) > 300 and len(FOUND.keys) > 150, "the scan saw the source"
    assert FOUND.problems == []


def test_every_msgid_used_in_src_is_in_both_catalogs() -> None:
    zh = translations("zh_CN")
    en = {m for d in DOMAINS for m in entries("en", d)}
    assert sorted(m for m in FOUND.msgids if not zh.get(m)) == [], "translate in zh_CN"
    assert sorted(m for m in FOUND.msgids if m not in en) == [], "add to the en catalog"


def _sample_values(msgid: str) -> dict[str, object]:
    """A value for each of a template's names: numbers where it formats them (``{d:.1f}``)."""
    out: dict[str, object] = {}
    for _text, name, spec, _conv in string.Formatter().parse(msgid):
        if name:
            out[name] = 7 if spec else f"<{name}>"
    return out


def test_every_error_code_has_a_chinese_and_an_english_message() -> None:
    """Walk the registry of codes: each renders in both languages, the Chinese one in
    Chinese, with every value in its place."""
    zh = translations("zh_CN")
    en = {m for d in DOMAINS for m in entries("en", d)}
    for key, by_msgid in sorted(FOUND.keys.items()):
        (msgid,) = by_msgid
        values = _sample_values(msgid)
        chinese = Msg(msgid, **values).render("zh_CN")
        english = Msg(msgid, **values).render("en")
        assert zh.get(msgid) and msgid in en, f"{key}: not in both catalogs"
        assert english == msgid.format(**values), key
        texts = [str(v) for v in values.values() if isinstance(v, str)]
        assert all(v in chinese for v in texts), f"{key}: zh_CN drops a value: {chinese}"
        words = chinese
        for v in texts:
            words = words.replace(v, "")
        if words.strip():  # not just "{problems}"
            assert any("\u4e00" <= c <= "\u9fff" for c in words), f"{key}: not Chinese"


def test_translations_keep_the_values_of_their_templates() -> None:
    """A translation that drops or misspells a {value} would fail at runtime."""
    for locale in LOCALES:
        for domain in DOMAINS:
            for msgid, text in entries(locale, domain).items():
                if text and "{" in msgid:
                    assert fields(text) == fields(msgid), (locale, msgid, text)


def test_one_msgid_one_translation_across_catalogs() -> None:
    both = set(entries("zh_CN", "messages")) & set(entries("zh_CN", "services"))
    assert both == set(), "a msgid belongs to one catalog"


# One Chinese term per thing: the variants the catalogs must not use, and the term they use.
GLOSSARY = {
    "电动自行车棚": ("非机动车棚", "电动车棚", "电瓶车"),
    "办结": ("已解决", "解决了"),
    "方案公示": ("结果公告", "公示征询"),
    "㎡": ("平方米",),
}


def test_one_chinese_term_per_thing() -> None:
    texts = [t for d in DOMAINS for t in entries("zh_CN", d).values()]
    for term, variants in GLOSSARY.items():
        assert any(term in t for t in texts), term
        for v in variants:
            offending = [t for t in texts if v in t]
            assert offending == [], f"use {term}, not {v}: {offending}"
    # the request's statuses and the staff's step read the same word
    assert gettext("zh_CN", "Resolved") == "已办结" and gettext("zh_CN", "Resolve") == "办结"
    assert gettext("zh_CN", "e-bike shed") == gettext("zh_CN", "E-bike shed") == "电动自行车棚"


def test_the_eleven_steps_as_the_gaojing_guideline_names_them() -> None:
    """The guideline's eleven steps, then what follows the announcement (issue 17)."""
    assert [gettext("zh_CN", STAGE_LABELS[s]) for s in STAGES] == [
        "社区调研",
        "居民访谈",
        "多稿设计",
        "居民参与设计",
        "方案调整",
        "联席会讨论",
        "方案优化",
        "公众咨询",
        "方案修改",
        "联席会",
        "方案公示",
        "施工",
        "验收",
        "维护",
    ]


def test_messages_render_late_in_the_readers_language() -> None:
    where = Msg("{file}, feature {n}, field '{field}'", file="grids.geojson", n=4, field="code")
    exc = InvalidInput(
        "{where}: {problem}",
        key="x",
        where=where,
        problem=Msg("duplicate code '{code}'", code="G1"),
    )
    assert exc.render("en") == "grids.geojson, feature 4, field 'code': duplicate code 'G1'"
    assert exc.render("zh_CN") == "grids.geojson 第 4 个要素的“code”字段：编号“G1”重复"
    assert str(exc) == exc.render("en")  # logs and tracebacks
    with use_locale("en"):
        assert exc.message == exc.render("en")
    assert exc.message == exc.render("zh_CN")  # nothing chose: Simplified Chinese
    body = NotFound("community '{code}' not found", key="community_not_found", code="X").as_json(
        "zh_CN"
    )
    assert body == {
        "error": "not_found",
        "code": "community_not_found",
        "message": "找不到社区“X”",
        "params": {"code": "X"},
        "details": {"code": "X"},
    }
    # lists read as lists, sentences as sentences, each in its language
    assert (
        Msg("{problems}", problems=Sentences([Msg("empty code"), Msg("empty name")])).render(
            "zh_CN"
        )
        == "编号为空；名称为空"
    )
    assert Msg("unknown section(s): {sections}", sections=["a", "b"]).render("zh_CN") == (
        "未知部分：a、b"
    )
    assert str(Localized(zh_CN="银杏", en="Ginkgo biloba")) == "银杏"


def test_a_broken_translation_falls_back_to_english() -> None:
    assert Msg("no such msgid {x}", x=1).render("zh_CN") == "no such msgid 1"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "zh_CN"),
        ({"LANG": "C.UTF-8"}, "zh_CN"),
        ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_GB.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
    ],
)
def test_the_command_lines_language(environ, expected) -> None:
    assert posix_locale(environ) == expected


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
