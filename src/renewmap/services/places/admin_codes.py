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
