"""Official Shanghai division codes (NBS 2023), shipped with the package.

A residents' committee code has 12 digits; its first 9 are the subdistrict/town code.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _committees() -> dict[str, tuple[str, str]]:
    path = resources.files("renewmap") / "data" / "shanghai_residents_committees_2023.csv"
    with path.open(encoding="utf-8") as f:
        return {r["code"]: (r["name"], r["streetCode"]) for r in csv.DictReader(f)}


@lru_cache(maxsize=1)
def _subdistricts() -> dict[str, str]:
    path = resources.files("renewmap") / "data" / "shanghai_streets_towns_2023.csv"
    with path.open(encoding="utf-8") as f:
        return {r["code"]: r["name"] for r in csv.DictReader(f)}


def committee_name(code: str) -> str | None:
    """Name of a residents' committee, e.g. 310109010026 → 巴林居委会."""
    found = _committees().get(code)
    return found[0] if found else None


def subdistrict_of(code: str) -> str | None:
    """Subdistrict code of a committee code (known codes only)."""
    found = _committees().get(code)
    if found:
        return found[1]
    return None


def subdistrict_name(code: str) -> str | None:
    return _subdistricts().get(code)


def is_official(code: str) -> bool:
    """Whether a code is on the official list of residents' committees."""
    return code in _committees()


def search(query: str, *, limit: int = 20) -> list[dict[str, str]]:
    """Residents' committees whose name (or subdistrict's name) holds every word of the query,
    or whose code starts with it: what a person types to find their committee's code."""
    words = query.split()
    if not words:
        return []
    subs = _subdistricts()
    found = []
    for code, (name, sub_code) in _committees().items():
        sub_name = subs.get(sub_code, "")
        text = f"{name} {sub_name}"
        if all(w in text or code.startswith(w) for w in words):
            found.append(
                {
                    "code": code,
                    "name": name,
                    "subdistrict_code": sub_code,
                    "subdistrict_name": sub_name,
                }
            )
            if len(found) >= limit:
                break
    return found
