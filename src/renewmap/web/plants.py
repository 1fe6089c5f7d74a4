"""The growth ID card page (成长身份证) of one plant: what it is, who looks after it, its care.

Template ``resident/plant.html``; script ``static/js/plant.js``.
"""

from __future__ import annotations

from typing import Any

from renewmap.i18n import gettext
from renewmap.printing import H_MM, QR_MM, QR_TOP_MM, W_MM, Tag, line, qr_cells, qr_size
from renewmap.services.design.adoption import display_name
from renewmap.web.render import environment, render, script_catalog

CARE_LABELS = {
    "watering": "Watering",
    "pruning": "Pruning",
    "fertilising": "Fertilising",
    "photo": "Photo",
    "note": "Note",
}


SVG_FONTS = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'


def tag_svg(tag: Tag) -> bytes:
    """A plant's printable tag as SVG (millimetres), from its template."""
    size = qr_size(tag.url)
    return (
        environment()
        .get_template("print/plant_tag.svg")
        .render(
            tag=tag,
            name=line(tag.name, 7),
            species=line(tag.species, 3.6),
            caption=line(tag.caption, 3.6),
            w=W_MM,
            h=H_MM,
            fonts=SVG_FONTS,
            cells=qr_cells(tag.url),
            cell=QR_MM / size,
            x0=(W_MM - QR_MM) / 2,
            top=QR_TOP_MM,
        )
        .lstrip()
        .encode()
    )


def card_page(card: dict[str, Any], *, locale: str, nonce: str, time_zone: str) -> str:
    """The card: what the plant is, who looks after it; the care form for its adopter only
    (others are asked to adopt it first), moving the adoption to a new phone, printable tags."""
    sp = card["species"]
    return render(
        "resident/plant.html",
        locale=locale,
        nonce=nonce,
        time_zone=time_zone,
        card=card,
        name=display_name(card),
        seasons=[gettext(locale, s.capitalize()) for s in sp["seasons"]],
        care=[
            {**c, "kind": gettext(locale, CARE_LABELS.get(c["kind"], c["kind"]))}
            for c in card["care"]
        ],
        care_options=[(k, gettext(locale, v)) for k, v in CARE_LABELS.items() if k != "photo"],
        config={
            "id": card["id"],
            "locale": locale,
            "timeZone": time_zone,
            "t": script_catalog(locale, "plant"),
        },
    )
