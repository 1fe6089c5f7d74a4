"""The questions a category asks (``vocabulary.CATEGORY_QUESTIONS``), answered on the residents'
page or as an Open311 service definition's attributes, checked the same way for both and stored
on the request (``attributes``).

Answers arrive as lists of strings per question code (``attribute[code]`` form fields, or a JSON
object of them); a building number is written as people say it, "17" meaning 17号楼, and must be
one of the community's buildings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from renewmap.db.queries.open311 import building_numbers
from renewmap.errors import InvalidInput
from renewmap.i18n import Msg
from renewmap.vocabulary import BUILDING_QUESTION, CATEGORY_QUESTIONS

MAX_STRING_ATTRIBUTE = 100
MAX_NUMBER_ATTRIBUTE = 100_000
_BUILDING = re.compile(r"^\d{1,4}$")


def _attribute_error(code: str, problem: Msg, *, key: str) -> InvalidInput:
    return InvalidInput(
        "attribute '{attribute}': {problem}",
        key=key,
        attribute=code,
        problem=problem,
        field=f"attribute[{code}]",
    )


def _number(code: str, text: str) -> int | float:
    try:
        value = float(text)
    except ValueError:
        raise _attribute_error(
            code, Msg("'{value}' is not a number", value=text), key="open311_attribute_nan"
        ) from None
    if not math.isfinite(value) or not 0 <= value <= MAX_NUMBER_ATTRIBUTE:
        raise _attribute_error(
            code,
            Msg("must be between 0 and {limit}", limit=MAX_NUMBER_ATTRIBUTE),
            key="open311_attribute_range",
        )
    return int(value) if value.is_integer() else value


def check_answers(service_code: str, given: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The answers to a service's attributes, checked: no unknown codes, every required one,
    list values among the allowed keys. Building numbers are checked later, where they lie."""
    defined = {a.code: a for a in CATEGORY_QUESTIONS.get(service_code, ())}
    unknown = sorted(set(given) - set(defined))
    if unknown:
        raise _attribute_error(
            unknown[0],
            Msg(
                "not defined for service '{service}' (its attributes: {allowed})",
                service=service_code,
                allowed=list(defined) or "—",
            ),
            key="open311_attribute_unknown",
        )
    answers: dict[str, Any] = {}
    for a in defined.values():
        values = [v.strip() for v in given.get(a.code, ()) if v and v.strip()]
        if not values:
            if a.required:
                raise _attribute_error(
                    a.code,
                    Msg(
                        "required for service '{service}' ({description})",
                        service=service_code,
                        description=Msg(a.description),
                    ),
                    key="open311_attribute_required",
                )
            continue
        if a.datatype != "multivaluelist" and len(values) > 1:
            raise _attribute_error(
                a.code, Msg("takes one value"), key="open311_attribute_one_value"
            )
        if a.datatype in ("singlevaluelist", "multivaluelist"):
            keys = [v.key for v in a.values]
            bad = [v for v in values if v not in keys]
            if bad:
                raise _attribute_error(
                    a.code,
                    Msg("'{value}' is not one of {allowed}", value=bad[0], allowed=keys),
                    key="open311_attribute_value",
                )
            answers[a.code] = (
                sorted(set(values), key=keys.index) if a.datatype == "multivaluelist" else values[0]
            )
        elif a.datatype == "number":
            answers[a.code] = _number(a.code, values[0])
        else:
            if len(values[0]) > MAX_STRING_ATTRIBUTE:
                raise _attribute_error(
                    a.code,
                    Msg("longer than {limit} characters", limit=MAX_STRING_ATTRIBUTE),
                    key="open311_attribute_too_long",
                )
            answers[a.code] = values[0]
    if BUILDING_QUESTION in answers and _BUILDING.match(answers[BUILDING_QUESTION]):
        answers[BUILDING_QUESTION] += "号楼"  # "17" means the building numbered 17号楼
    return answers


def check_building(session: Session, answers: dict[str, Any], community_id: int) -> None:
    number = answers.get(BUILDING_QUESTION)
    if number is None:
        return
    known = building_numbers(session, community_id=community_id)
    if known and number not in known:
        raise _attribute_error(
            BUILDING_QUESTION,
            Msg("no building '{number}' in this community", number=number),
            key="open311_building_unknown",
        )
