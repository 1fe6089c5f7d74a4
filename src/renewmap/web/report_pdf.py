"""The monthly report as a printable PDF (A4), from the same data as the page
(``services.requests.reports``): the figures, a map drawn as vectors (the area's grids,
buildings, the month's patrol routes and the requests coloured by status), the open, new and
resolved requests and the month's patrols. Drawn with fpdf2 in the CJK font
``renewmap.printing`` finds; every word in the reader's language, times in the community's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import shapely
from fpdf import FPDF
from fpdf.fonts import FontFace
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from renewmap.i18n import gettext
from renewmap.printing import cjk_font
from renewmap.web.render import local_date, local_time
from renewmap.web.report import FIGURES, heading
from renewmap.web.resident import CATEGORIES, STATUSES
from renewmap.web.sitemap import STATUS_COLOURS

PAGE_W, MARGIN = 210.0, 15.0
WIDTH = PAGE_W - 2 * MARGIN
MAP_H = 100.0
HEADINGS = FontFace(emphasis="", fill_color=(233, 236, 239))


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


class _Map:
    """Lon/lat → millimetres on the page in a box, north up, metres the same both ways."""

    def __init__(self, bounds: Sequence[float], x: float, y: float, w: float, h: float) -> None:
        minx, miny, maxx, maxy = bounds
        pad_x, pad_y = (maxx - minx) * 0.08 or 0.0005, (maxy - miny) * 0.08 or 0.0005
        self.box = (minx - pad_x, miny - pad_y, maxx + pad_x, maxy + pad_y)
        self.k = math.cos(math.radians((miny + maxy) / 2))  # a degree of longitude, shrunk
        span_x = (self.box[2] - self.box[0]) * self.k
        span_y = self.box[3] - self.box[1]
        self.scale = min(w / span_x, h / span_y)
        self.x0 = x + (w - span_x * self.scale) / 2
        self.y0 = y + (h - span_y * self.scale) / 2

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            self.x0 + (lon - self.box[0]) * self.k * self.scale,
            self.y0 + (self.box[3] - lat) * self.scale,
        )

    def clip(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.clip_by_rect(geom, *self.box)


def _rings(geom: BaseGeometry) -> Iterable[Sequence[tuple[float, float]]]:
    for part in getattr(geom, "geoms", [geom]):
        if part.geom_type == "Polygon" and not part.is_empty:
            yield list(part.exterior.coords)


def _lines(geom: BaseGeometry) -> Iterable[Sequence[tuple[float, float]]]:
    for part in getattr(geom, "geoms", [geom]):
        if part.geom_type == "LineString" and not part.is_empty:
            yield list(part.coords)


def _draw_map(pdf: FPDF, report: dict[str, Any], locale: str) -> None:
    layers = report["layers"]
    bounds = report["grid_bounds"] or list(layers["community"].total_bounds)
    top = pdf.get_y()
    m = _Map(bounds, MARGIN, top, WIDTH, MAP_H)
    pdf.set_draw_color(150, 150, 150)
    pdf.rect(MARGIN, top, WIDTH, MAP_H)

    def polygons(frame: Any, fill: tuple[int, int, int] | None, line: tuple[int, int, int]) -> None:
        if frame is None:
            return
        pdf.set_draw_color(*line)
        if fill is not None:
            pdf.set_fill_color(*fill)
        for geom in frame.geometry:
            for ring in _rings(m.clip(geom)):
                pdf.polygon([m.xy(x, y) for x, y in ring], style="DF" if fill else "D")

    pdf.set_line_width(0.3)
    polygons(layers.get("community"), (248, 249, 250), (80, 80, 80))
    polygons(layers.get("green"), (178, 242, 187), (47, 158, 68))
    grids = layers.get("grid")
    if grids is not None:
        ours = {g["code"] for g in report["grids"]}
        polygons(grids[~grids["code"].isin(ours)], None, (170, 170, 170))
        pdf.set_line_width(0.6)
        polygons(grids[grids["code"].isin(ours)], None, (28, 124, 84))
        pdf.set_line_width(0.3)
    polygons(layers.get("building"), (206, 212, 218), (73, 80, 87))
    pdf.set_draw_color(28, 124, 84)
    pdf.set_line_width(0.8)
    with pdf.local_context():
        pdf.set_dash_pattern(dash=1.5, gap=1.0)
        for walk in report["patrols"]:
            if walk["route"] is None:
                continue
            for line in _lines(m.clip(shape(walk["route"]))):
                pdf.polyline([m.xy(x, y) for x, y in line])
    pdf.set_line_width(0.2)
    for r in report["requests"]:
        x, y = m.xy(r["lon"], r["lat"])
        if not (MARGIN <= x <= MARGIN + WIDTH and top <= y <= top + MAP_H):
            continue
        pdf.set_fill_color(*_rgb(STATUS_COLOURS.get(r["status"], "#000000")))
        pdf.set_draw_color(255, 255, 255)
        pdf.circle(x=x, y=y, radius=1.1, style="DF")
    # the legend: a dot per status shown
    pdf.set_y(top + MAP_H + 1.5)
    shown = sorted({r["status"] for r in report["requests"]}, key=list(STATUSES).index)
    for status in shown:
        pdf.set_fill_color(*_rgb(STATUS_COLOURS[status]))
        pdf.circle(x=pdf.get_x() + 1.2, y=pdf.get_y() + 2, radius=1.1, style="F")
        pdf.set_x(pdf.get_x() + 3)
        label = gettext(locale, STATUSES[status])
        pdf.cell(pdf.get_string_width(label) + 4, 4, label)
    pdf.ln(6)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("cjk", size=12)
    pdf.cell(WIDTH, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8.5)


def _table(
    pdf: FPDF, header: Sequence[str], rows: list[Sequence[str]], widths: Sequence[int]
) -> None:
    if not rows:
        pdf.cell(WIDTH, 5, "—", new_x="LMARGIN", new_y="NEXT")
        return
    with pdf.table(
        col_widths=tuple(widths),
        text_align="LEFT",
        line_height=4.5,
        headings_style=HEADINGS,  # one face (the CJK font has no bold)
    ) as table:
        top = table.row()
        for h in header:
            top.cell(h)
        for cells in rows:
            row = table.row()
            for c in cells:
                row.cell(c)


def report_pdf(report: dict[str, Any], *, locale: str, time_zone: str) -> bytes:
    """The report as an A4 PDF, the font embedded (subset)."""
    t = lambda msgid, **kw: gettext(locale, msgid, **kw)  # noqa: E731
    font = cjk_font()
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.add_font("cjk", fname=font.path, collection_font_number=font.index)
    title = f"{report['grid_name']} · {heading(report, locale)}"
    pdf.set_title(title)
    pdf.set_creator("RenewMap")
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.multi_cell(WIDTH, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    lines = [
        f"{report['community_name']} ({report['community_code']})",
        t(
            "From {start} to {end}",
            start=local_time(report["start"], time_zone),
            end=local_time(report["end"], time_zone),
        )
        + f" ({time_zone}) · {t('Generated on')} {local_time(report['generated_at'], time_zone)}",
    ]
    if report["covers"]["kind"] == "branch":
        lines.append(f"{t('Grids')}: " + "、".join(g["name"] for g in report["grids"]))
    for line in lines:
        pdf.multi_cell(WIDTH, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("cjk", size=11)
    figures = report["figures"]
    shown = "    ".join(
        f"{t(label)}: {'—' if figures[key] is None else figures[key]}" for key, label in FIGURES
    )
    pdf.multi_cell(WIDTH, 6, shown, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8.5)
    if len(report["per_grid"]) > 1:
        _table(
            pdf,
            [t("Grid"), *(t(label) for _, label in FIGURES)],
            [
                [row["grid"]["name"], *("—" if row[k] is None else str(row[k]) for k, _ in FIGURES)]
                for row in report["per_grid"]
            ],
            (40, 28, 28, 28, 28, 28),
        )
    pdf.ln(2)
    _draw_map(pdf, report, locale)

    def status(code: str) -> str:
        return t(STATUSES.get(code, code))

    def category(code: str) -> str:
        return t(CATEGORIES.get(code, (code, ""))[0])

    _heading(pdf, t("Open requests"))
    _table(
        pdf,
        [
            t("Receipt"),
            t("Submitted"),
            t("Status"),
            t("Category"),
            t("Title"),
            t("Grid"),
            t("Days open"),
        ],
        [
            [
                r["receipt_code"] or "—",
                local_date(r["created_at"], time_zone),
                status(r["status"]),
                category(r["category"]),
                r["title"],
                r["grid"] or "—",
                str(r["days_open_at_end"]),
            ]
            for r in report["open_requests"]
        ],
        (18, 20, 16, 24, 56, 28, 18),
    )
    _heading(pdf, t("New this month"))
    _table(
        pdf,
        [t("Receipt"), t("Submitted"), t("Category"), t("Title"), t("Grid"), t("Status")],
        [
            [
                r["receipt_code"] or "—",
                local_time(r["created_at"], time_zone),
                category(r["category"]),
                r["title"],
                r["grid"] or "—",
                status(r["status"]),
            ]
            for r in report["new_requests"]
        ],
        (18, 28, 24, 60, 30, 20),
    )
    _heading(pdf, t("Resolved this month"))
    _table(
        pdf,
        [t("Receipt"), t("Submitted"), t("Resolved"), t("Days to resolve"), t("Title"), t("Grid")],
        [
            [
                r["receipt_code"] or "—",
                local_date(r["created_at"], time_zone),
                local_date(r["resolved_at"], time_zone),
                str(r["days_to_resolve"]),
                r["title"],
                r["grid"] or "—",
            ]
            for r in report["resolved_requests"]
        ],
        (18, 22, 22, 20, 68, 30),
    )
    _heading(pdf, t("Patrols this month"))
    if not report["patrols"]:
        pdf.cell(WIDTH, 5, t("No patrol this month"), new_x="LMARGIN", new_y="NEXT")
    for walk in report["patrols"]:
        pdf.set_font("cjk", size=10)
        where = "、".join(walk["grids"])
        pdf.multi_cell(
            WIDTH,
            5.5,
            t("Patrol of {day}", day=walk["day"]) + (f" · {where}" if where else ""),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font("cjk", size=8.5)
        parts = []
        if walk["study_topic"]:
            study = walk["study_topic"] + (
                f" ({walk['study_attendees']})" if walk["study_attendees"] else ""
            )
            parts.append(f"{t('Study')}: {study}")
        parts.append(f"{t('Participants')}: {walk['participants']}")
        if walk["notes"]:
            parts.append(f"{t('Notes')}: {walk['notes']}")
        route = t("on the map") if walk["route"] else "—"
        if walk["route_source"] == "gps":
            route += f" ({t('recorded by GPS')})"
        parts.append(f"{t('Route')}: {route}")
        found = [
            f"{f['receipt_code'] or ''} {category(f['category'])} · {f['title']} · "
            f"{status(f['status'])}".strip()
            for f in walk["findings"]
        ]
        parts.append(f"{t('Findings')}: " + ("；".join(found) if found else "—"))
        for part in parts:
            pdf.multi_cell(WIDTH, 4.5, part, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())
