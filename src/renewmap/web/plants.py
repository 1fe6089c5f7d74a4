"""The growth ID card page (成长身份证) of one plant: what it is, who looks after it, its care.

Template ``resident/plant.html``; script ``static/js/plant.js``.
"""

from __future__ import annotations

from typing import Any

from renewmap.i18n import gettext
from renewmap.web.render import render, script_catalog

CARE_LABELS = {
    "watering": "Watering",
    "pruning": "Pruning",
    "fertilising": "Fertilising",
    "photo": "Photo",
    "note": "Note",
}


def card_page(card: dict[str, Any], *, locale: str, nonce: str, time_zone: str) -> str:
    sp = card["species"]
    return render(
        "resident/plant.html",
        locale=locale,
        nonce=nonce,
        time_zone=time_zone,
        card=card,
        name=card["name"] or sp["name_zh"] or "",
        seasons=[gettext(locale, s.capitalize()) for s in sp["seasons"]],
        care=[
            {**c, "kind": gettext(locale, CARE_LABELS.get(c["kind"], c["kind"]))}
            for c in card["care"]
        ],
        care_options=[(k, gettext(locale, v)) for k, v in CARE_LABELS.items()],
        config={"id": card["id"], "locale": locale, "t": script_catalog(locale, "plant")},
    )
