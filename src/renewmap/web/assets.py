"""The pages' own ES modules (``static/js``) as the server sees them.

* :func:`msgids`: the catalog entries a page's scripts translate, found in the source of its
  module and everything it imports (``T("…")`` takes a literal; ESLint enforces that), so a
  page carries only the words it can show.
* :func:`bundle`: a page's module and its imports as one import-free module, for a file that
  must work on its own (the printable report opened from disk cannot import other files).
* :func:`inline_text`: a vendored script or stylesheet to put inside a file's HTML.

The modules keep to one import form, ``import { a, b as c } from "./x.js";``, and export only
with ``export function|async function|const|class NAME``; :func:`bundle` refuses anything else.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import PurePosixPath

from markupsafe import Markup

IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"([^"]+)";?[ \t]*$', re.M)
ANY_IMPORT = re.compile(r"^\s*import\b", re.M)
EXPORT = re.compile(
    r"^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)", re.M
)
ANY_EXPORT = re.compile(r"^\s*export\b", re.M)
T_CALL = re.compile(r'\bT\(\s*"((?:[^"\\]|\\.)*)"')


def _static(path: str) -> str:
    return (resources.files("renewmap") / "static" / path).read_text(encoding="utf-8")


def _resolve(importer: str, spec: str) -> str:
    if not spec.startswith(("./", "../")):
        raise ValueError(f"{importer}: only relative imports of our own modules ({spec!r})")
    parts: list[str] = []
    for part in (PurePosixPath(importer).parent / spec).parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


@lru_cache(maxsize=64)
def module_order(entry: str) -> tuple[str, ...]:
    """``entry`` (e.g. ``"js/resident.js"``) and every module it imports, dependencies first."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(path: str) -> None:
        if path in order:
            return
        if path in visiting:
            raise ValueError(f"import cycle through {path}")
        visiting.add(path)
        for _, spec in IMPORT.findall(_static(path)):
            visit(_resolve(path, spec))
        visiting.discard(path)
        order.append(path)

    visit(entry)
    return tuple(order)


@lru_cache(maxsize=64)
def msgids(entry: str) -> frozenset[str]:
    """The msgids that ``entry``'s scripts pass to ``T``."""
    found: set[str] = set()
    for path in module_order(entry):
        found |= {json.loads(f'"{raw}"') for raw in T_CALL.findall(_static(path))}
    return frozenset(found)


def _var(path: str) -> str:
    return "__rm_" + re.sub(r"\W", "_", path.removeprefix("js/").removesuffix(".js"))


@lru_cache(maxsize=16)
def bundle(entry: str) -> str:
    """``entry`` and its imports as one module without imports (each wrapped in a function
    that returns its exports)."""
    chunks: list[str] = []
    for path in module_order(entry):
        source = _static(path)
        lets: list[str] = []
        for names, spec in IMPORT.findall(source):
            pairs = []
            for name in (n.strip() for n in names.split(",") if n.strip()):
                original, _, alias = (p.strip() for p in name.partition(" as "))
                pairs.append(f"{original}: {alias}" if alias else original)
            lets.append(f"const {{ {', '.join(pairs)} }} = {_var(_resolve(path, spec))};")
        body = IMPORT.sub("", source)
        if ANY_IMPORT.search(body):
            raise ValueError(f"{path}: an import form the bundler does not know")
        exported = EXPORT.findall(body)
        body = re.sub(r"^export\s+", "", body, flags=re.M)
        if ANY_EXPORT.search(body):
            raise ValueError(f"{path}: an export form the bundler does not know")
        if path == entry:
            chunks.append("{\n" + "\n".join(lets) + "\n" + body + "\n}")
        else:
            chunks.append(
                f"const {_var(path)} = (() => {{\n"
                + "\n".join(lets)
                + f"\n{body}\nreturn {{ {', '.join(exported)} }};\n}})();"
            )
    return "\n".join(chunks)


def inline_text(text: str, *, element: str) -> Markup:
    """Our own script or stylesheet text, to be put between ``<element>`` tags of a file: it
    must not be able to close them (checked), so it is not escaped."""
    if f"</{element}" in text.lower():
        text = re.sub(f"</({element})", r"<\\/\1", text, flags=re.I)
    return Markup(text)


def vendored(path: str) -> str:
    """A vendored or static file's text (``vendor/leaflet/leaflet.js``, ``css/report.css``)."""
    return _static(path)
