"""Things made to be printed or saved: QR codes (a plant's card, a resident's private link) and a
plant's tag, the card that hangs by the plant (its name, species, "扫码认养/查看成长档案" and the
QR code) as PNG, SVG or PDF.

PNG and PDF carry their text as drawn glyphs, so they need a font with Chinese characters:
``RENEWMAP_CJK_FONT`` (a .ttf, .otf or .ttc file), else the first of the usual system fonts
(Debian's fonts-noto-cjk, WenQuanYi, Droid Sans Fallback). Without one they cannot be made and
say so (``FontMissing``, 503). The SVG tag is a template (``web.plants``): its text stays text,
drawn by the viewer's fonts. The monthly report's PDF (``web.report_pdf``) is drawn in the
same font.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from renewmap.errors import FontMissing

# Where Debian, Ubuntu and Fedora put fonts with Chinese characters (most likely first).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
QR_KINDS = ("png", "svg")
TAG_KINDS = ("png", "svg", "pdf")
MEDIA = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


def qr(url: str, *, kind: str) -> tuple[bytes, str]:
    """A QR code of ``url``, PNG (for screens) or SVG (for print shops)."""
    code = segno.make(url, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg" if kind == "svg" else "png", scale=8, border=4)
    return out.getvalue(), MEDIA["svg" if kind == "svg" else "png"]


# --- the font ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Font:
    path: str
    index: int  # the face within a collection (.ttc): the Simplified Chinese one


def _sc_index(path: str) -> int:
    """The Simplified Chinese face of a font collection (Noto CJK holds JP, KR, SC, TC, HK)."""
    if not path.lower().endswith(".ttc"):
        return 0
    from fontTools.ttLib import TTCollection

    with TTCollection(path, lazy=True) as collection:
        for i, face in enumerate(collection.fonts):
            name = face["name"].getDebugName(1) or ""
            if " SC" in name or name.endswith("SC") or "Simplified" in name:
                return i
    return 0


@lru_cache(maxsize=4)
def _font(configured: str | None) -> Font:
    candidates = [configured] if configured else list(CJK_FONTS)
    for path in candidates:
        if path and Path(path).is_file():
            return Font(path, _sc_index(path))
    if configured:
        raise FontMissing(
            "RENEWMAP_CJK_FONT names {path}, which is not a font file on this server",
            key="cjk_font_not_found",
            path=configured,
        )
    raise FontMissing(
        "no font with Chinese characters on this server: install fonts-noto-cjk "
        "(apt-get install fonts-noto-cjk) or set RENEWMAP_CJK_FONT to a .ttf/.otf/.ttc file",
        key="cjk_font_missing",
    )


def cjk_font() -> Font:
    """The font tags are drawn with (``RENEWMAP_CJK_FONT``, else a system font)."""
    return _font(os.environ.get("RENEWMAP_CJK_FONT") or None)


# --- a plant's tag ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tag:
    name: str  # 桂花1
    species: str  # 桂花 Osmanthus fragrans
    caption: str  # 扫码认养/查看成长档案
    url: str  # the card's address (the QR code)


# The tag's layout in millimetres: 60 × 90, a 46 mm QR code under the name and species.
W_MM, H_MM = 60.0, 90.0
MM_PT = 72 / 25.4  # points in a millimetre
QR_MM, QR_TOP_MM = 46.0, 26.0


def _em(c: str) -> float:
    """How wide a character is, in ems: Chinese a full em, Latin letters about half."""
    return 1.0 if ord(c) >= 0x2E80 else 0.55


def fit(text: str, ems: float) -> str:
    """``text`` cut (with …) to fit ``ems`` ems, so that it fits its line on the tag."""
    width = 0.0
    for i, c in enumerate(text):
        width += _em(c)
        if width > ems:
            return text[: max(i - 1, 0)] + "…"
    return text


LINE_MM = 56.0  # the width a line of text may take
MIN_TEXT_MM = 2.4  # smaller than this is not read off a tag by a plant


def ems(text: str) -> float:
    return sum(_em(c) for c in text)


def line(text: str, size_mm: float) -> tuple[str, float]:
    """A line of the tag: ``text`` at ``size_mm`` (millimetres of its em) or smaller so that it
    fits the tag's width, and cut (…) only when even the smallest size would not fit."""
    width = ems(text) or 1.0
    size = max(MIN_TEXT_MM, min(size_mm, LINE_MM / width))
    return fit(text, LINE_MM / size), size


def tag_png(tag: Tag, *, dpi: int = 300) -> bytes:
    font = cjk_font()
    px = dpi / 25.4
    img = Image.new("RGB", (round(W_MM * px), round(H_MM * px)), "white")
    draw = ImageDraw.Draw(img)
    cx = img.width / 2

    def write(text: str, size_mm: float, y_mm: float, colour: str) -> None:
        words, size = line(text, size_mm)
        face = ImageFont.truetype(font.path, round(size * px), index=font.index)
        draw.text((cx, y_mm * px), words, font=face, fill=colour, anchor="mm")

    write(tag.name, 7, 11, "black")
    write(tag.species, 3.6, 20, "#333333")
    matrix = segno.make(tag.url, error="m")
    code = io.BytesIO()
    matrix.save(code, kind="png", scale=12, border=0)
    code.seek(0)
    side = round(QR_MM * px)
    qr_img = Image.open(code).convert("RGB").resize((side, side), Image.Resampling.NEAREST)
    img.paste(qr_img, (round(cx - side / 2), round(QR_TOP_MM * px)))
    write(tag.caption, 3.6, 80, "black")
    draw.rectangle((0, 0, img.width - 1, img.height - 1), outline="#999999", width=2)
    out = io.BytesIO()
    img.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def tag_pdf(tag: Tag) -> bytes:
    """The tag as a one-page PDF (60 × 90 mm) with the font embedded (subset)."""
    from fpdf import FPDF

    font = cjk_font()
    pdf = FPDF(unit="mm", format=(W_MM, H_MM))
    pdf.set_margins(0, 0)
    pdf.set_auto_page_break(False)
    pdf.set_title(tag.name)
    pdf.add_font("cjk", fname=font.path, collection_font_number=font.index)
    pdf.add_page()
    pdf.set_draw_color(153, 153, 153)
    pdf.rect(0.2, 0.2, W_MM - 0.4, H_MM - 0.4)

    def write(text: str, size_mm: float, y_mm: float) -> None:
        words, size = line(text, size_mm)
        pdf.set_font("cjk", size=size * MM_PT)
        pdf.set_xy(0, y_mm - size / 2)
        pdf.cell(W_MM, size, words, align="C")

    write(tag.name, 7, 11)
    pdf.set_text_color(51, 51, 51)
    write(tag.species, 3.6, 20)
    code = io.BytesIO()
    segno.make(tag.url, error="m").save(code, kind="png", scale=12, border=0)
    code.seek(0)
    pdf.image(code, x=(W_MM - QR_MM) / 2, y=QR_TOP_MM, w=QR_MM, h=QR_MM)
    pdf.set_text_color(0, 0, 0)
    write(tag.caption, 3.6, 80)
    return bytes(pdf.output())


def qr_cells(url: str) -> list[tuple[int, int]]:
    """The dark modules of ``url``'s QR code as (row, column), and nothing else (for an SVG
    drawn from a template)."""
    matrix = segno.make(url, error="m")
    return [
        (row, col)
        for row, bits in enumerate(matrix.matrix_iter(border=0))
        for col, dark in enumerate(bits)
        if dark
    ]


def qr_size(url: str) -> int:
    return int(segno.make(url, error="m").symbol_size(border=0)[0])


def plant_tag(tag: Tag, *, kind: str) -> tuple[bytes, str]:
    """The tag as PNG or PDF and its media type (the SVG is a template: ``web.plants``)."""
    if kind == "pdf":
        return tag_pdf(tag), MEDIA["pdf"]
    return tag_png(tag), MEDIA["png"]
