"""One validation layer for what people and files send: numbers, text and JSON.

Every endpoint and importer checks values the same way, so SpatiaLite and PostGIS answer alike
and nothing a client sends reaches the spatial code in a shape it cannot handle:

* numbers are finite (``NaN``/``Infinity`` are refused, also as JSON literals, which Python's
  ``json`` module accepts) and named quantities stay in a named range (``RANGES``);
* text holds no NUL character (PostgreSQL cannot store one, SQLite would), required text is
  not blank, and lengths are bounded;
* JSON is nested at most ``MAX_JSON_DEPTH`` levels with strings of at most
  ``MAX_JSON_STRING`` characters, checked on the raw bytes before any parser recurses.

Pydantic models use the ``Annotated`` types (``Text``, ``RequiredText``, ``FiniteFloat``, …);
importers and services use the plain functions (``clean_text``, ``number``, ``properties``).
Problems raise ``InvalidInput`` whose message names the field and the limit; messages are
format strings filled from the same keyword details, so they translate as one text.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, Field

from renewmap.errors import InvalidInput
from renewmap.i18n import N_, Msg

MAX_JSON_DEPTH = 32
MAX_JSON_STRING = 65_536  # characters of one JSON string (the longest text field is 20,000)
MAX_PROPERTIES = 50  # properties of one drawn or imported feature
MAX_PROPERTY_TEXT = 2_000  # characters of one property value
MAX_PROPERTY_KEY = 64
MAX_PROPERTY_DEPTH = 3  # a property may hold a list or object, nested this deep
MAX_PROPERTY_ITEMS = 200  # items of a list or object inside a property

# Named quantities and their ranges (inclusive): one table for the API, the drawing page's
# features, imported files and the design standards.
RANGES: dict[str, tuple[float, float, str]] = {
    "width_m": (0.0, 50.0, "m"),  # a path's width
    "crown_m": (0.0, 50.0, "m"),  # a tree's crown diameter
    "height_m": (0.0, 200.0, "m"),
    "area_m2": (0.0, 10_000_000.0, "m²"),
    "unit_cost": (0.0, 1_000_000.0, "yuan"),  # a unit price (per m² or per item)
    "households": (0.0, 100_000.0, ""),
}


def json_position(exc: json.JSONDecodeError) -> Msg:
    """Where JSON text breaks, in the reader's words (the parser's own text is English)."""
    return Msg("line {line}, column {column}", line=exc.lineno, column=exc.colno)


def problem(template: str, *, key: str, **details: Any) -> InvalidInput:
    """An ``InvalidInput`` whose message is ``template`` (a msgid) filled with ``details`` in the
    reader's language; ``key`` is its stable code."""
    return InvalidInput(template, key=key, **details)


# --- text -------------------------------------------------------------------------------------


def no_nul(value: str) -> str:
    """Refuse a NUL character (as PostgreSQL does; SQLite would store it)."""
    if "\x00" in value:
        raise ValueError(
            N_("must not contain a NUL character (\\0)")
        )  # shown through the API's request check
    return value


# Characters that show nothing: spaces of every kind, controls, format characters (zero-width
# space and joiners, direction marks) and the Hangul fillers.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")


def _invisible(char: str) -> bool:
    return char in _FILLERS or unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf")


def strip_text(value: str) -> str:
    """``value`` without invisible characters at either end (so "\u200b " is empty)."""
    start, end = 0, len(value)
    while start < end and _invisible(value[start]):
        start += 1
    while end > start and _invisible(value[end - 1]):
        end -= 1
    return value[start:end]


def not_blank(value: str) -> str:
    """Required text: invisible characters around it removed, and something left."""
    value = strip_text(value)
    if not value:
        raise ValueError(
            N_("must not be empty or only spaces")
        )  # shown through the API's request check
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(N_("must be a finite number"))  # shown through the API's request check
    return value


NoNul = AfterValidator(no_nul)
NotBlank = AfterValidator(not_blank)
Text = Annotated[str, NoNul]
RequiredText = Annotated[str, NoNul, NotBlank]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_finite)]


def ranged(name: str) -> Any:
    """A pydantic ``float`` type for the named quantity of ``RANGES``."""
    low, high, _unit = RANGES[name]
    return Annotated[float, Field(ge=low, le=high, allow_inf_nan=False)]


UnitCost = Annotated[float, Field(ge=0, le=RANGES["unit_cost"][1], allow_inf_nan=False)]
WidthM = Annotated[float, Field(ge=0, le=RANGES["width_m"][1], allow_inf_nan=False)]


def clean_text(value: object, *, field: str, max_length: int, required: bool = False) -> str | None:
    """Text for a service or importer: stripped, NUL-free and at most ``max_length``
    characters; empty becomes None, or a problem when ``required``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        text = ""
    else:
        text = strip_text(str(value))
    if "\x00" in text:
        raise problem(
            "{field}: text must not contain a NUL character (\\0)", key="text_nul", field=field
        )
    if not text:
        if required:
            raise problem(
                "{field} is required (not empty or only spaces)", key="text_required", field=field
            )
        return None
    if len(text) > max_length:
        raise problem(
            "{field}: at most {limit} characters, got {length}",
            key="text_too_long",
            field=field,
            limit=max_length,
            length=len(text),
        )
    return text


def number(
    value: object,
    *,
    field: str,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
) -> float:
    """A finite number (a numeric string too) within ``low``..``high``, or a problem."""
    if isinstance(value, bool):
        raise problem(
            "{field}: a number is required, got {value}",
            key="number_required",
            field=field,
            value=value,
        )
    try:
        result = float(value)  # type: ignore[arg-type]  # float() refuses non-numbers itself
    except (TypeError, ValueError, OverflowError):
        raise problem(
            "{field}: a number is required, got '{value}'",
            key="number_required_text",
            field=field,
            value=str(value)[:40],
        ) from None
    if not math.isfinite(result):
        raise problem(
            "{field}: numbers must be finite, got {value}",
            key="number_not_finite",
            field=field,
            value=str(value)[:40],
        )
    if integer and result != int(result):
        raise problem(
            "{field}: a whole number is required, got {value}",
            key="whole_number_required",
            field=field,
            value=value,
        )
    if (low is not None and result < low) or (high is not None and result > high):
        raise problem(
            "{field}: must be between {low:g} and {high:g}, got {value:g}",
            key="number_out_of_range",
            field=field,
            low=-math.inf if low is None else low,
            high=math.inf if high is None else high,
            value=result,
        )
    return result


def quantity(value: object, *, name: str, field: str | None = None) -> float:
    """A named quantity of ``RANGES`` (e.g. ``width_m``) in its range."""
    low, high, _unit = RANGES[name]
    return number(value, field=field or name, low=low, high=high)


def properties(props: object, *, where: str) -> dict[str, Any]:
    """A feature's free-form properties, bounded: at most ``MAX_PROPERTIES`` keys of text,
    values that are finite numbers, booleans, NUL-free text of at most ``MAX_PROPERTY_TEXT``
    characters, or small lists/objects of those; named quantities (``RANGES``) in range."""
    if props is None:
        return {}
    if not isinstance(props, Mapping):
        raise problem(
            "{field}: properties must be an object", key="properties_not_object", field=where
        )
    if len(props) > MAX_PROPERTIES:
        raise problem(
            "{field}: at most {limit} properties, got {count}",
            key="properties_too_many",
            field=where,
            limit=MAX_PROPERTIES,
            count=len(props),
        )
    out: dict[str, Any] = {}
    for key, value in props.items():
        name = clean_text(key, field=f"{where} (a property name)", max_length=MAX_PROPERTY_KEY)
        if name is None:
            raise problem(
                "{field}: a property name must not be empty", key="property_name_empty", field=where
            )
        field = f"{where}.{name}"
        if name in RANGES and value is not None and value != "":
            out[name] = quantity(value, name=name, field=field)
        else:
            out[name] = _property_value(value, field, 1)
    return out


def _property_value(value: Any, field: str, depth: int) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return number(value, field=field)
    if isinstance(value, str):
        return clean_text(value, field=field, max_length=MAX_PROPERTY_TEXT) or ""
    if isinstance(value, list | tuple | Mapping):
        if depth > MAX_PROPERTY_DEPTH:
            raise problem(
                "{field}: nested deeper than {limit} levels",
                key="property_too_deep",
                field=field,
                limit=MAX_PROPERTY_DEPTH,
            )
        if len(value) > MAX_PROPERTY_ITEMS:
            raise problem(
                "{field}: at most {limit} items, got {count}",
                key="property_too_many_items",
                field=field,
                limit=MAX_PROPERTY_ITEMS,
                count=len(value),
            )
        if isinstance(value, Mapping):
            return {
                clean_text(k, field=field, max_length=MAX_PROPERTY_KEY) or "": _property_value(
                    v, f"{field}.{k}", depth + 1
                )
                for k, v in value.items()
            }
        return [_property_value(v, f"{field}[{i}]", depth + 1) for i, v in enumerate(value)]
    raise problem(
        "{field}: unsupported value {value!r:.40}",
        key="property_value_unsupported",
        field=field,
        value=value,
    )


# --- JSON -------------------------------------------------------------------------------------

# A JSON string token (unrolled loop: fast on long strings); scanned left to right, every
# match starts at an opening quote of valid JSON.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NON_FINITE = re.compile(rb"NaN|Infinity")
_BIG_EXPONENT = re.compile(rb"[eE][+-]?[0-9]{3}")  # 1e308 and beyond may not fit a float
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 300  # hundreds of digits: beyond a float, or a huge integer
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)


class _Bad:
    """A value the strict parser refuses, kept in place so its path can be named."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _finite_float(text: str) -> float | _Bad:
    value = float(text)
    return value if math.isfinite(value) else _Bad(text)


def _depth(outside: bytes) -> int:
    brackets = outside.translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max())


def json_depth(data: bytes) -> int:
    """How deeply arrays and objects nest in ``data`` (strings skipped), without parsing."""
    return _depth(_STRING.sub(b'""', data))


def check_json(data: bytes, *, where: str | Msg = "body") -> None:
    """Refuse JSON that is nested too deeply, holds ``NaN``/``Infinity`` (or a number beyond
    a float), a NUL character or an over-long string, naming where; valid-looking JSON passes
    (the parser then reports syntax errors). Fast (a fraction of ``json.loads``): byte
    searches on the raw text, a full parse only to name the place of a problem."""
    outside = _STRING.sub(b'""', data)  # the text between strings: numbers and punctuation
    depth = _depth(outside)
    if depth > MAX_JSON_DEPTH:
        raise problem(
            "{field}: JSON nested {depth} levels deep; at most {limit} are accepted",
            key="json_too_deep",
            field=where,
            depth=depth,
            limit=MAX_JSON_DEPTH,
        )
    suspicious = (
        _NON_FINITE.search(outside) is not None
        or _BIG_EXPONENT.search(outside) is not None
        or outside.translate(_DIGITS_AS_ZERO).find(_LONG_NUMBER) >= 0
        or (b"\\u0000" in data and _NUL_ESCAPE.search(data) is not None)
        or b"\x00" in data
        or (
            len(data) - len(outside) > MAX_JSON_STRING  # only then measure each string
            and max(map(len, _STRING.findall(data))) > MAX_JSON_STRING
        )
    )
    if suspicious:
        _name_the_problem(data, where)


def loads(data: bytes | str, *, where: str | Msg = "body") -> Any:
    """Parse JSON strictly (see ``check_json``); syntax errors are an ``InvalidInput`` too."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    check_json(raw, where=where)
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise problem(
            "{field}: JSON must be UTF-8 text", key="json_not_utf8", field=where
        ) from None
    except (json.JSONDecodeError, ValueError) as exc:
        reason = json_position(exc) if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise problem(
            "{field}: not valid JSON ({reason})", key="json_invalid", field=where, reason=reason
        ) from None


def _name_the_problem(data: bytes, where: str | Msg) -> None:
    try:
        doc = json.loads(data.decode("utf-8-sig"), parse_constant=_Bad, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise problem(
            "{field}: JSON must be UTF-8 text", key="json_not_utf8", field=where
        ) from None
    except (json.JSONDecodeError, RecursionError):
        return  # not JSON: the parser's own error follows
    except ValueError:  # an integer of thousands of digits
        raise problem(
            "{field}: a number is too long", key="json_number_too_long", field=where
        ) from None
    stack: list[tuple[str, Any]] = [(str(where), doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _Bad):
            raise problem(
                "{field}: numbers must be finite, got {value}",
                key="number_not_finite",
                field=path,
                value=value.literal,
            )
        if isinstance(value, str):
            _check_json_string(value, path)
        elif isinstance(value, dict):
            for k, v in reversed(value.items()):
                _check_json_string(k, f"{path} (a key)")
                stack.append((f"{path}.{k}", v))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))


def _check_json_string(value: str, path: str) -> None:
    if "\x00" in value:
        raise problem(
            "{field}: text must not contain a NUL character (\\0)", key="text_nul", field=path
        )
    if len(value) > MAX_JSON_STRING:
        raise problem(
            "{field}: a text of {length} characters; at most {limit} are accepted",
            key="json_text_too_long",
            field=path,
            length=len(value),
            limit=MAX_JSON_STRING,
        )
