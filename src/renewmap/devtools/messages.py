"""The messages the code says to people, found in the source, and the catalog that holds them.

A msgid is the first argument of ``Msg(...)``, ``t(...)``, ``N_(...)`` or of a domain
exception (``raise NotFound("draft {id} not found", key="draft_not_found", id=...)``); it must
be a plain string literal (an f-string would bake the values into the msgid, where no catalog
can find it), and every name its template uses must be passed. Every exception made from a
msgid names its stable ``key``; one key means one message.

``python -m renewmap.devtools.messages`` rewrites ``services.po`` of every locale: new msgids
are added (untranslated), translations of the others are kept, unused ones are dropped. It
prints what still needs a translation.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

import renewmap
from renewmap import errors
from renewmap.i18n import LOCALES, entries, fields

SRC = Path(renewmap.__file__).resolve().parent
# Developer tooling and migrations speak to developers, not to the people using the app.
SKIP = ("devtools", "db/migrations")
MARKERS = {"Msg", "t", "N_"}
# Functions that build an exception from a msgid (``raise problem("…", key=…, …)``).
ERROR_FACTORIES = {"problem", "_too_large"}
# Exceptions of pure modules that carry a msgid and its values; whoever catches them names
# the code (``StandardsError`` becomes ``InvalidInput(key="standards_invalid")``).
MESSAGE_CLASSES = {"StandardsError"}
DOMAIN = "services"
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Found:
    msgids: dict[str, list[str]] = field(default_factory=dict)  # msgid → where ("file:line")
    keys: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # key → msgid → where
    problems: list[str] = field(default_factory=list)


def _error_classes(trees: Iterable[ast.Module]) -> set[str]:
    names = {
        n
        for n, v in vars(errors).items()
        if isinstance(v, type) and issubclass(v, errors.RenewMapError)
    }
    classes = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    while True:  # subclasses defined elsewhere (e.g. a protocol's own ValidationError)
        more = {
            c.name
            for c in classes
            if c.name not in names
            and any(isinstance(b, ast.Name | ast.Attribute) and _name(b) in names for b in c.bases)
        }
        if not more:
            return names
        names |= more


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _markers(tree: ast.Module) -> set[str]:
    """The marker functions this module imported from renewmap.i18n (a page's own ``t`` is not
    one)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "renewmap.i18n":
            out |= {a.asname or a.name for a in node.names if a.name in MARKERS}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in MARKERS:
            out.add(node.name)  # renewmap.i18n itself
    return out


def source_files(root: Path = SRC) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*.py")
        if not any(p.relative_to(root).as_posix().startswith(s) for s in SKIP)
    )


def scan(root: Path = SRC) -> Found:
    """Every msgid and error key in the package's source, and what is wrong with them."""
    files = source_files(root)
    trees = {p: ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for p in files}
    error_names = _error_classes(trees.values()) | ERROR_FACTORIES
    found = Found()
    for path, tree in trees.items():
        rel = path.relative_to(root.parent).as_posix()
        markers = _markers(tree) | MESSAGE_CLASSES
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            is_error = name in error_names
            if not (is_error or name in markers) or not node.args:
                continue
            where = f"{rel}:{node.lineno}"
            first = node.args[0]
            kwargs = {k.arg for k in node.keywords if k.arg is not None}
            splat = any(k.arg is None for k in node.keywords)
            if isinstance(first, ast.JoinedStr):
                found.problems.append(f"{where}: an f-string as msgid; use {{names}} and values")
                continue
            if isinstance(first, ast.BinOp):
                found.problems.append(f"{where}: a msgid built with +; use one template")
                continue
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue  # a message passed on (a variable): its literal is found where made
            msgid = first.value
            found.msgids.setdefault(msgid, []).append(where)
            if name != "N_" and not splat:
                missing = fields(msgid) - kwargs
                if missing:
                    found.problems.append(f"{where}: no value for {sorted(missing)} in {msgid!r}")
            if is_error:  # raised here or returned to be raised: it names its code
                key = next((k.value for k in node.keywords if k.arg == "key"), None)
                if key is None:
                    found.problems.append(f"{where}: {name}(...) without key='…'")
                    continue
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    found.keys.setdefault(key.value, {}).setdefault(msgid, []).append(where)
                # (key=exc.key: an error passed on with more context keeps its code)
    for code, by_msgid in found.keys.items():
        if len(by_msgid) > 1:
            found.problems.append(
                f"key {code!r} has {len(by_msgid)} different messages: {sorted(by_msgid)}"
            )
    return found


def _po_path(locale: str) -> Path:
    return SRC / "locales" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def update(found: Found | None = None) -> dict[str, list[str]]:
    """Rewrite ``services.po`` of each locale from the source; returns, per locale, the msgids
    that have no translation yet (English needs none: its msgids are the text)."""
    found = found or scan()
    others = {m for loc in LOCALES for m in entries(loc, "messages")}  # the pages' catalog
    wanted = sorted(m for m in found.msgids if m not in others)
    todo: dict[str, list[str]] = {}
    for locale in LOCALES:
        path = _po_path(locale)
        old: dict[str, str] = {}
        if path.exists():
            with path.open("rb") as f:
                old = {str(m.id): str(m.string or "") for m in read_po(f, locale=locale) if m.id}
        cat = Catalog(
            locale=locale,
            project="RenewMap",
            version="0.1",
            copyright_holder="RenewMap contributors",
            charset="utf-8",
            fuzzy=False,
            creation_date=FIXED_DATE,  # no churn: the file changes only when messages do
            revision_date=FIXED_DATE,
        )
        for msgid in wanted:
            places = sorted({w.rsplit(":", 1)[0] for w in found.msgids[msgid]})
            cat.add(msgid, old.get(msgid, ""), locations=[(p, 0) for p in places])
        with path.open("wb") as f:
            write_po(f, cat, width=0, include_lineno=False, omit_header=False)
        todo[locale] = [m for m in wanted if not old.get(m)] if locale != "en" else []
    return todo


def main() -> int:
    found = scan()
    for problem in found.problems:
        print(problem, file=sys.stderr)
    todo = update(found)
    for locale, missing in todo.items():
        for msgid in missing:
            print(f"{locale}: untranslated: {msgid}")
    return 1 if found.problems else 0


if __name__ == "__main__":
    sys.exit(main())
