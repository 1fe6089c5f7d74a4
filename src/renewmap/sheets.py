"""Drawings made to be printed: a laid-out site plan (``spatial.plan``) as PDF (vector, the
font embedded) or PNG (at a chosen resolution), drawn from the same shapes and words; the
household consultation forms (征询单) as a PDF, one page per household.

Both use the font with Chinese characters that the plant tags use (``printing.cjk_font``:
``RENEWMAP_CJK_FONT`` or a system font; without one ``FontMissing``, 503) and the same PDF
library (fpdf2), so the app has one way to make a PDF.
"""

from __future__ import annotations

import io
import itertools
import math
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from fpdf import FPDF
from fpdf.drawing import DeviceGray, DeviceRGB, color_from_hex_string
from PIL import Image, ImageDraw, ImageFont

from renewmap.printing import Font, cjk_font
from renewmap.spatial.plan import Area, Dot, Drawing, Stroke, Words

if TYPE_CHECKING:
    from renewmap.services.design.households import Form

MM_PT = 72 / 25.4  # points in a millimetre
BASELINE = 0.36  # from a line's middle down to its baseline, in ems (Chinese and Latin alike)


def printable(text: str) -> str:
    """Text as it can be printed: control and direction-format characters (a right-to-left
    override from someone's name) left out, since paper has no reading order to turn."""
    return "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _device(colour: str) -> DeviceRGB | DeviceGray:
    return color_from_hex_string(colour)


# --- PDF -------------------------------------------------------------------------------------


def drawing_pdf(drawing: Drawing, *, title: str, font: Font | None = None) -> bytes:
    """The drawing on one page of its paper size, vector shapes, text as embedded glyphs."""
    from fpdf.enums import IntersectionRule, PathPaintRule

    face = font or cjk_font()
    paper = drawing.paper
    orientation = "L" if paper.width_mm >= paper.height_mm else "P"
    pdf = FPDF(
        orientation=orientation,
        unit="mm",
        format=(min(paper.width_mm, paper.height_mm), max(paper.width_mm, paper.height_mm)),
    )
    pdf.set_margins(0, 0)
    pdf.set_auto_page_break(False)
    pdf.set_title(title)
    pdf.set_creator("RenewMap")
    pdf.add_font("cjk", fname=face.path, collection_font_number=face.index)
    pdf.add_page()

    for shape in drawing.shapes:
        if isinstance(shape, Area):
            s = shape.style
            if not shape.rings:
                continue
            with pdf.new_path(
                paint_rule=PathPaintRule.AUTO,
            ) as path:
                path.style.intersection_rule = IntersectionRule.EVENODD
                path.style.fill_color = _device(s.fill) if s.fill else None
                path.style.fill_opacity = s.opacity if s.fill else None
                path.style.stroke_color = _device(s.stroke) if s.stroke else None
                path.style.stroke_width = s.width_mm if s.stroke else None
                if s.dash and s.stroke:
                    path.style.stroke_dash_pattern = list(s.dash)
                for ring in shape.rings:
                    path.move_to(*ring[0])
                    for p in ring[1:]:
                        path.line_to(*p)
                    path.close()
        elif isinstance(shape, Stroke):
            s = shape.style
            if len(shape.points) < 2 or not s.stroke:
                continue
            with pdf.new_path() as path:
                path.style.fill_color = None
                path.style.stroke_color = _device(s.stroke)
                path.style.stroke_width = s.width_mm
                if s.dash:
                    path.style.stroke_dash_pattern = list(s.dash)
                path.move_to(*shape.points[0])
                for p in shape.points[1:]:
                    path.line_to(*p)
        elif isinstance(shape, Dot):
            s = shape.style
            with pdf.new_path() as path:
                path.style.fill_color = _device(s.fill) if s.fill else None
                path.style.fill_opacity = s.opacity if s.fill else None
                path.style.stroke_color = _device(s.stroke) if s.stroke else None
                path.style.stroke_width = s.width_mm if s.stroke else None
                path.circle(shape.centre[0], shape.centre[1], shape.radius_mm)
        elif isinstance(shape, Words):
            _pdf_words(pdf, shape)
    return bytes(pdf.output())


def _pdf_words(pdf: FPDF, w: Words) -> None:
    pdf.set_font("cjk", size=w.size_mm * MM_PT)
    text = printable(w.text)
    width = pdf.get_string_width(text)
    x = (
        w.at[0]
        if w.align == "left"
        else w.at[0] - width
        if w.align == "right"
        else w.at[0] - width / 2
    )
    y = w.at[1] + BASELINE * w.size_mm
    pdf.set_text_color(*_rgb(w.colour))
    pdf.text(x, y, text)


# --- PNG -------------------------------------------------------------------------------------

MAX_PIXELS = 40_000_000  # an A3 sheet at 300 dpi is 17.4 million


def drawing_png(drawing: Drawing, *, dpi: int = 150, font: Font | None = None) -> bytes:
    """The drawing as a picture at ``dpi`` dots per inch (white background)."""
    face = font or cjk_font()
    px = dpi / 25.4
    size = (round(drawing.paper.width_mm * px), round(drawing.paper.height_mm * px))
    if size[0] * size[1] > MAX_PIXELS:
        raise ValueError(f"{dpi} dpi is too fine for a {drawing.paper.name} sheet")
    img = Image.new("RGB", size, "white")
    fonts: dict[int, ImageFont.FreeTypeFont] = {}

    def at(p: tuple[float, float]) -> tuple[float, float]:
        return (p[0] * px, p[1] * px)

    def width(mm: float) -> int:
        return max(1, round(mm * px))

    for shape in drawing.shapes:
        if isinstance(shape, Area):
            rings = [[at(p) for p in ring] for ring in shape.rings if len(ring) >= 3]
            s = shape.style
            if s.fill and rings:
                _fill(img, rings, s.fill, s.opacity)
            if s.stroke:
                for ring in rings:
                    _line(img, [*ring, ring[0]], s.stroke, width(s.width_mm), s.dash, px)
        elif isinstance(shape, Stroke):
            s = shape.style
            if len(shape.points) >= 2 and s.stroke:
                _line(img, [at(p) for p in shape.points], s.stroke, width(s.width_mm), s.dash, px)
        elif isinstance(shape, Dot):
            x, y = at(shape.centre)
            r = shape.radius_mm * px
            s = shape.style
            if s.fill:
                _fill(img, [_circle(x, y, r)], s.fill, s.opacity)
            if s.stroke:
                ImageDraw.Draw(img).ellipse(
                    (x - r, y - r, x + r, y + r), outline=s.stroke, width=width(s.width_mm)
                )
        elif isinstance(shape, Words):
            size_px = max(6, round(shape.size_mm * px))
            if size_px not in fonts:
                fonts[size_px] = ImageFont.truetype(face.path, size_px, index=face.index)
            anchor = {"left": "lm", "right": "rm", "centre": "mm"}[shape.align]
            ImageDraw.Draw(img).text(
                at(shape.at),
                printable(shape.text),
                font=fonts[size_px],
                fill=shape.colour,
                anchor=anchor,
            )
    out = io.BytesIO()
    img.save(out, format="PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()


def _circle(x: float, y: float, r: float) -> list[tuple[float, float]]:
    n = max(12, min(72, round(r * 2)))
    return [
        (x + r * math.cos(2 * math.pi * i / n), y + r * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]


def _fill(
    img: Image.Image, rings: Sequence[Sequence[tuple[float, float]]], colour: str, opacity: float
) -> None:
    """Rings filled even-odd (holes stay open) at ``opacity``, drawn only within their box."""
    xs = [p[0] for ring in rings for p in ring]
    ys = [p[1] for ring in rings for p in ring]
    left, top = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    right, bottom = min(img.width, math.ceil(max(xs)) + 1), min(img.height, math.ceil(max(ys)) + 1)
    if right <= left or bottom <= top:
        return
    box = (left, top, right, bottom)
    mask = np.zeros((bottom - top, right - left), dtype=bool)
    for ring in rings:
        one = Image.new("1", (right - left, bottom - top), 0)
        ImageDraw.Draw(one).polygon([(x - left, y - top) for x, y in ring], fill=1)
        mask ^= np.asarray(one, dtype=bool)
    alpha = Image.fromarray((mask * round(255 * opacity)).astype(np.uint8), mode="L")
    img.paste(Image.new("RGB", alpha.size, colour), box, mask=alpha)


def _line(
    img: Image.Image,
    pts: Sequence[tuple[float, float]],
    colour: str,
    width: int,
    dash: tuple[float, float] | None,
    px: float,
) -> None:
    draw = ImageDraw.Draw(img)
    if not dash:
        draw.line(list(pts), fill=colour, width=width, joint="curve")
        return
    on, period = dash[0] * px, (dash[0] + dash[1]) * px
    walked = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        seg = math.hypot(x1 - x0, y1 - y0)
        d = 0.0
        while d < seg:
            phase = (walked + d) % period
            run = on - phase if phase < on else period - phase
            end = min(seg, d + max(run, 0.01))  # at least a hundredth of a pixel: it ends
            if phase < on:
                a, b = d / seg, end / seg
                draw.line(
                    [
                        (x0 + (x1 - x0) * a, y0 + (y1 - y0) * a),
                        (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b),
                    ],
                    fill=colour,
                    width=width,
                )
            d = end
        walked += seg


# --- household consultation forms (征询单) ----------------------------------------------------


def household_forms_pdf(forms: Sequence[Form], *, title: str, font: Font | None = None) -> bytes:
    """One A4 page per household: its name, its one-time code large, the QR code of the site's
    page with the code, what to do, the drafts to tick on paper."""
    import segno

    face = font or cjk_font()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_title(title)
    pdf.set_creator("RenewMap")
    pdf.add_font("cjk", fname=face.path, collection_font_number=face.index)
    width = 210 - 36
    for form in forms:
        pdf.add_page()
        pdf.set_font("cjk", size=18)
        pdf.multi_cell(width, 9, printable(form.title), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_draw_color(60, 60, 60)
        top = pdf.get_y()
        pdf.rect(18, top, width, 42)
        pdf.set_xy(22, top + 4)
        pdf.set_font("cjk", size=16)
        pdf.cell(width - 60, 9, printable(form.household), new_x="LMARGIN", new_y="NEXT")
        pdf.set_xy(22, top + 17)
        pdf.set_font("cjk", size=28)
        pdf.cell(width - 60, 14, form.code, new_x="LMARGIN", new_y="NEXT")
        code = io.BytesIO()
        segno.make(form.url, error="m").save(code, kind="png", scale=10, border=2)
        code.seek(0)
        pdf.image(code, x=18 + width - 40, y=top + 1, w=40, h=40)
        pdf.set_xy(18, top + 44)
        pdf.set_font("cjk", size=7)
        pdf.cell(width, 4, form.url, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.set_font("cjk", size=11)
        for line in form.lines:
            if line:
                pdf.multi_cell(width, 6, printable(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        for choice in form.choices:
            y = pdf.get_y()
            pdf.rect(20, y + 1.2, 4, 4)
            pdf.set_x(28)
            pdf.multi_cell(width - 10, 6.5, printable(choice), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        pdf.ln(4)
        pdf.set_font("cjk", size=9)
        pdf.set_text_color(90, 90, 90)
        pdf.multi_cell(width, 5, form.footer, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    return bytes(pdf.output())
