"""A site plan laid out on a sheet of paper (or a card for the screen): pure geometry.

The layout is computed once, in millimetres on the page (x to the right, y downwards), as plain
shapes and words; the renderers (``renewmap.sheets``: PDF and PNG) only draw them, so the A3
sheet for the joint meeting, the display board and the picture on the residents' page show the
same plan. The map is drawn in the community's metric CRS at a round scale (1:200) with a scale
bar and a north arrow that points to true north (a UTM grid is turned a little against it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from renewmap.spatial.crs import to_metric

Point2 = tuple[float, float]


@dataclass(frozen=True)
class Paper:
    name: str
    width_mm: float
    height_mm: float
    text_mm: float  # height of the body text
    margin_mm: float


PAPERS = {
    # the joint meeting's and the display board's sheet
    "a3": Paper("A3", 420.0, 297.0, 4.2, 12.0),
    # the picture on a phone: portrait, larger text for its size
    "card": Paper("card", 120.0, 165.0, 3.4, 4.0),
}


@dataclass(frozen=True)
class Style:
    fill: str | None = None
    stroke: str | None = None
    width_mm: float = 0.25
    opacity: float = 1.0  # of the fill
    dash: tuple[float, float] | None = None


@dataclass(frozen=True)
class Area:
    """Polygons: each one's shell then its holes, filled even-odd."""

    rings: tuple[tuple[Point2, ...], ...]
    style: Style


@dataclass(frozen=True)
class Stroke:
    points: tuple[Point2, ...]
    style: Style


@dataclass(frozen=True)
class Dot:
    centre: Point2
    radius_mm: float
    style: Style


@dataclass(frozen=True)
class Words:
    at: Point2  # the text's vertical middle, at its left, centre or right end
    text: str
    size_mm: float
    colour: str = "#000000"
    align: str = "left"  # left | centre | right


Shape = Area | Stroke | Dot | Words


@dataclass
class Drawing:
    paper: Paper
    shapes: list[Shape]
    scale: int  # the map is at 1:scale
    frame: tuple[float, float, float, float]  # the map's frame on the page (x0, y0, x1, y1)
    north_deg: float  # true north, degrees clockwise from the page's up


@dataclass(frozen=True)
class Item:
    """Something on the map: ``key`` chooses its style and legend entry (``green:tree``,
    ``plant:shrub``, ``path``, ``facility``, ``water``, ``keep``, ``zone``, ``building``)."""

    key: str
    geom: BaseGeometry  # WGS84
    label: str | None = None  # a species, a building's number
    width_m: float | None = None  # a path's width
    crown_m: float | None = None  # a tree's crown


@dataclass(frozen=True)
class Texts:
    """Every word on the sheet, already in the reader's language."""

    title: str
    subtitle: str = ""
    legend_title: str = ""
    legend: Mapping[str, str] = field(default_factory=dict)  # key → label
    blocks: Sequence[tuple[str, Sequence[str]]] = ()  # (heading, paragraphs) in the side panel
    scale: str = "1:{n}"  # {n}: the scale's denominator
    north: str = "N"
    attribution: str = ""


KIND_COLOURS = {  # as on the pages (static/js/lib/sitemap.js)
    "zone": "#7048e8",
    "path": "#e67700",
    "facility": "#1971c2",
    "keep": "#868e96",
    "water": "#1c7ed6",
}
STYLES: dict[str, Style] = {
    "site": Style(stroke="#d6336c", width_mm=0.8),
    "building": Style(fill="#dee2e6", stroke="#868e96", width_mm=0.2),
    "zone": Style(fill="#7048e8", stroke="#7048e8", width_mm=0.35, opacity=0.08, dash=(2.0, 1.2)),
    "water": Style(fill="#a5d8ff", stroke="#1c7ed6", width_mm=0.3, opacity=0.9),
    "green:lawn": Style(fill="#d3f9d8", stroke="#2f9e44", width_mm=0.25, opacity=0.95),
    "green:ground_cover": Style(fill="#a9e34b", stroke="#2f9e44", width_mm=0.25, opacity=0.75),
    "green:shrub": Style(fill="#51cf66", stroke="#2b8a3e", width_mm=0.25, opacity=0.75),
    "green:tree": Style(fill="#2b8a3e", stroke="#1e5e2b", width_mm=0.25, opacity=0.6),
    "path": Style(fill="#ffc078", stroke="#d9480f", width_mm=0.25, opacity=0.95),
    "keep": Style(fill="#adb5bd", stroke="#495057", width_mm=0.3, opacity=0.6, dash=(1.5, 1.0)),
    "facility": Style(fill="#1971c2", stroke="#ffffff", width_mm=0.3),
    "plant:tree": Style(fill="#2b8a3e", stroke="#1e5e2b", width_mm=0.3, opacity=0.75),
    "plant:shrub": Style(fill="#69db7c", stroke="#2b8a3e", width_mm=0.25, opacity=0.9),
    "plant:ground_cover": Style(fill="#c0eb75", stroke="#5c940d", width_mm=0.2, opacity=0.9),
    "plant:lawn": Style(fill="#d3f9d8", stroke="#2f9e44", width_mm=0.2, opacity=0.9),
}
# drawn bottom to top; the legend lists them in this order
ORDER = (
    "building",
    "zone",
    "water",
    "green:lawn",
    "green:ground_cover",
    "green:shrub",
    "green:tree",
    "path",
    "keep",
    "facility",
    "plant:ground_cover",
    "plant:shrub",
    "plant:tree",
    "plant:lawn",
    "site",
)
NICE_SCALES = (50, 100, 150, 200, 250, 300, 400, 500, 600, 750, 1000, 1250, 1500, 2000, 2500)
NICE_LENGTHS_M = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)
BLACK, GREY, WHITE = "#000000", "#495057", "#ffffff"


def style_of(key: str) -> Style:
    return STYLES.get(key) or STYLES.get(key.split(":")[0]) or STYLES["keep"]


def round_scale(raw: float) -> int:
    """The first round scale (1:200, 1:250…) at which the map fits: ``raw`` or smaller."""
    for n in NICE_SCALES:
        if n >= raw:
            return n
    step = 10 ** math.floor(math.log10(raw))
    return int(math.ceil(raw / step) * step)


def bar_length_m(max_mm: float, mm_per_m: float) -> int:
    """The longest round length whose bar fits ``max_mm``."""
    fitting = [n for n in NICE_LENGTHS_M if n * mm_per_m <= max_mm]
    return fitting[-1] if fitting else NICE_LENGTHS_M[0]


def _em(c: str) -> float:
    """How wide a character is, in ems: Chinese a full em, Latin letters about half."""
    if ord(c) >= 0x2E80:
        return 1.0
    if c in "iIl.,:;'|!":
        return 0.3
    if c.isupper() or c in "mwMW%":
        return 0.72
    return 0.55


def text_width(text: str, size_mm: float) -> float:
    return sum(_em(c) for c in text) * size_mm


TOKEN = re.compile(r"[\u2e80-\U0002ffff]|[^\s\u2e80-\U0002ffff]+|\s+")


def wrap(text: str, width_mm: float, size_mm: float) -> list[str]:
    """``text`` in lines no wider than ``width_mm`` (Chinese breaks between any characters,
    other words stay whole unless one alone is too long)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in TOKEN.findall(paragraph):
            if token.isspace():
                if line:
                    line += " "
                continue
            if text_width(line + token, size_mm) <= width_mm or not line:
                line += token
                while text_width(line, size_mm) > width_mm and len(line) > 1:
                    cut = _cut(line, width_mm, size_mm)
                    lines.append(line[:cut])
                    line = line[cut:]
                continue
            lines.append(line.rstrip())
            line = token
        lines.append(line.rstrip())
    return lines


def _cut(text: str, width_mm: float, size_mm: float) -> int:
    w = 0.0
    for i, c in enumerate(text):
        w += _em(c) * size_mm
        if w > width_mm:
            return max(i, 1)
    return len(text)


def ellipsis(text: str, width_mm: float, size_mm: float) -> str:
    """``text`` cut with … to fit ``width_mm``."""
    if text_width(text, size_mm) <= width_mm:
        return text
    cut = _cut(text, width_mm - text_width("…", size_mm), size_mm)
    return text[:cut].rstrip() + "…"


class _Page:
    """Metric coordinates (the map's centre at the frame's centre) to page millimetres."""

    def __init__(self, centre: Point2, frame: tuple[float, float, float, float], k: float):
        self.cx, self.cy = centre
        self.fx, self.fy = (frame[0] + frame[2]) / 2, (frame[1] + frame[3]) / 2
        self.k = k

    def __call__(self, x: float, y: float) -> Point2:
        return (self.fx + (x - self.cx) * self.k, self.fy - (y - self.cy) * self.k)

    def ring(self, coords: Iterable[Sequence[float]]) -> tuple[Point2, ...]:
        return tuple(self(c[0], c[1]) for c in coords)


def _polygons(g: BaseGeometry) -> list[Polygon]:
    if isinstance(g, Polygon):
        return [g] if not g.is_empty else []
    if isinstance(g, MultiPolygon):
        return [p for p in g.geoms if not p.is_empty]
    if hasattr(g, "geoms"):
        return [p for part in g.geoms for p in _polygons(part)]
    return []


def _lines(g: BaseGeometry) -> list[LineString]:
    if isinstance(g, LineString):
        return [g] if not g.is_empty else []
    if hasattr(g, "geoms"):
        return [ln for part in g.geoms for ln in _lines(part)]
    return []


def _points(g: BaseGeometry) -> list[Point]:
    if isinstance(g, Point):
        return [g] if not g.is_empty else []
    if hasattr(g, "geoms"):
        return [p for part in g.geoms for p in _points(part)]
    return []


def _area(page: _Page, g: BaseGeometry, style: Style) -> Area | None:
    rings: list[tuple[Point2, ...]] = []
    for p in _polygons(g):
        rings.append(page.ring(p.exterior.coords))
        rings.extend(page.ring(h.coords) for h in p.interiors)
    return Area(tuple(rings), style) if rings else None


def true_north(site: BaseGeometry, epsg: int) -> float:
    """Degrees clockwise from the map's up (grid north) to true north at the site."""
    c = site.centroid
    a = to_metric(Point(c.x, c.y), epsg)
    b = to_metric(Point(c.x, c.y + 0.001), epsg)
    return math.degrees(math.atan2(b.x - a.x, b.y - a.y))


def layout(
    site: BaseGeometry,
    items: Sequence[Item],
    *,
    epsg: int,
    paper: Paper,
    texts: Texts,
    context: Sequence[Item] = (),
) -> Drawing:
    """The plan of ``items`` (a draft's features) over ``context`` (buildings around) with the
    site's outline, a legend of what is drawn, a scale bar, a north arrow and ``texts``."""
    w, h, m, t = paper.width_mm, paper.height_mm, paper.margin_mm, paper.text_mm
    shapes: list[Shape] = []
    # title
    y = m + t * 0.9
    shapes.append(Words((m, y), ellipsis(texts.title, w - 2 * m, t * 1.7), t * 1.7))
    y += t * 1.6
    if texts.subtitle:
        shapes.append(Words((m, y), ellipsis(texts.subtitle, w - 2 * m, t), t, GREY))
    top = m + t * 3.4
    bottom = h - m - t * 1.6  # the attribution's line below
    landscape = w >= h
    gap = t * 2
    if landscape:
        panel_w = max(0.27 * w, 24 * t)
        frame = (m, top, w - m - panel_w - gap, bottom)
        panel = (w - m - panel_w, top, w - m, bottom)
    else:
        split = top + (bottom - top) * 0.6
        frame = (m, top, w - m, split)
        panel = (m, split + gap / 2, w - m, bottom)
    fw, fh = frame[2] - frame[0], frame[3] - frame[1]

    site_m = to_metric(site, epsg)
    drawn = [(it, to_metric(it.geom, epsg)) for it in items]
    extent = shapely.union_all([site_m, *(g.envelope for _, g in drawn)]).bounds
    ew, eh = extent[2] - extent[0], extent[3] - extent[1]
    pad = max(3.0, 0.08 * max(ew, eh))
    ew, eh = ew + 2 * pad, eh + 2 * pad
    scale = round_scale(max(ew * 1000 / fw, eh * 1000 / fh, 1.0))
    k = 1000 / scale  # mm per metre
    centre = ((extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2)
    page = _Page(centre, frame, k)
    window = box(
        centre[0] - fw / 2 / k,
        centre[1] - fh / 2 / k,
        centre[0] + fw / 2 / k,
        centre[1] + fh / 2 / k,
    )

    labels: list[tuple[str, Point2, float, str]] = []  # text, anchor, radius around it, colour
    present: list[str] = []

    def put(it: Item, g: BaseGeometry) -> None:
        g = shapely.clip_by_rect(g, *window.bounds) if not window.covers(g) else g
        if g.is_empty:
            return
        key = it.key
        style = style_of(key)
        if key == "path":
            lines = _lines(g)
            if it.width_m and it.width_m > 0:
                paved = shapely.union_all(
                    [
                        ln.buffer(it.width_m / 2, cap_style="flat", join_style="mitre")
                        for ln in lines
                    ]
                )
                area = _area(page, paved, style)
                if area:
                    shapes.append(area)
            else:
                for ln in lines:
                    shapes.append(
                        Stroke(page.ring(ln.coords), Style(stroke=style.stroke, width_mm=0.8))
                    )
        elif _polygons(g):
            area = _area(page, g, style)
            if area:
                shapes.append(area)
        elif _lines(g):
            for ln in _lines(g):
                shapes.append(
                    Stroke(
                        page.ring(ln.coords),
                        Style(stroke=style.stroke or style.fill, width_mm=0.6, dash=style.dash),
                    )
                )
        r = 0.0
        for p in _points(g):
            at = page(p.x, p.y)
            if key.startswith("plant:"):
                crown = it.crown_m or (3.0 if key == "plant:tree" else 1.0)
                r = max(crown / 2 * k, 1.0 if key == "plant:tree" else 0.7)
            else:
                r = 1.4
            shapes.append(Dot(at, r, style))
        if key not in present:
            present.append(key)
        if it.label:
            where = g.representative_point() if g.area > 0 else _points(g)[:1] or [g.centroid]
            at_pt = where if isinstance(where, Point) else where[0]
            radius = r if _points(g) else 0.0
            colour = GREY if key == "building" else "#1b1b1b"
            labels.append((it.label, page(at_pt.x, at_pt.y), radius, colour))

    for it in context:
        put(it, to_metric(it.geom, epsg))
    rank = {k_: i for i, k_ in enumerate(ORDER)}
    for it, g in sorted(drawn, key=lambda pair: rank.get(pair[0].key, len(ORDER))):
        put(it, g)
    outline = _area(page, site_m, STYLES["site"])
    if outline:
        shapes.append(outline)
        present.append("site")
    shapes.extend(_place_labels(labels, frame, t * 0.72))
    x0, y0, x1, y1 = frame
    shapes.append(Stroke(((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)), Style(stroke=GREY)))

    north = true_north(site, epsg)
    shapes.extend(_panel(panel, paper, texts, present, scale, k, north))
    if texts.attribution:
        shapes.append(
            Words(
                (m, h - m - t * 0.4),
                ellipsis(texts.attribution, w - 2 * m, t * 0.75),
                t * 0.75,
                GREY,
            )
        )
    return Drawing(paper, shapes, scale, frame, north)


def _place_labels(
    labels: Sequence[tuple[str, Point2, float, str]],
    frame: tuple[float, float, float, float],
    size: float,
) -> list[Shape]:
    """Labels beside their point (right, left, above, below), none over another: one that finds
    no free place is left out rather than drawn over a neighbour."""
    placed: list[tuple[float, float, float, float]] = []
    out: list[Shape] = []
    for text, (x, y), r, colour in labels:
        tw = text_width(text, size)
        options = [
            (x + r + 0.6, y, "left"),
            (x - r - 0.6, y, "right"),
            (x, y - r - size * 0.8, "centre"),
            (x, y + r + size * 0.8, "centre"),
        ]
        if r == 0:  # an area's label sits on it
            options = [(x, y, "centre"), *options[2:]]
        for ax, ay, align in options:
            left = ax if align == "left" else ax - tw if align == "right" else ax - tw / 2
            bx = (left - 0.3, ay - size * 0.6, left + tw + 0.3, ay + size * 0.6)
            inside = (
                bx[0] >= frame[0] and bx[2] <= frame[2] and bx[1] >= frame[1] and bx[3] <= frame[3]
            )
            if inside and not any(_overlap(bx, other) for other in placed):
                placed.append(bx)
                x0, y0, x1, y1 = bx
                veil = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
                out.append(Area((veil,), Style(fill=WHITE, opacity=0.7)))
                out.append(Words((ax, ay), text, size, colour, align))
                break
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _panel(
    panel: tuple[float, float, float, float],
    paper: Paper,
    texts: Texts,
    present: Sequence[str],
    scale: int,
    k: float,
    north_deg: float,
) -> list[Shape]:
    """The side panel: the texts' blocks from the top, then the legend, the scale and the north
    arrow at the bottom (the blocks give way when space runs short)."""
    x0, y0, x1, y1 = panel
    pw = x1 - x0
    t = paper.text_mm
    body = t * 0.9
    line_h = body * 1.45
    entries = [k_ for k_ in ORDER if k_ in present and k_ in texts.legend]
    columns = 2 if pw > 60 * t * 0.4 and len(entries) > 6 else 1
    rows = math.ceil(len(entries) / columns)
    legend_h = (t * 1.8 if texts.legend_title else 0) + rows * line_h
    scale_h = t * 7.5
    foot_top = y1 - legend_h - scale_h
    out: list[Shape] = []
    # the blocks
    y = y0 + t * 0.6
    for heading, paragraphs in texts.blocks:
        if y + t * 2.2 > foot_top:
            break
        out.append(Words((x0, y), ellipsis(heading, pw, t * 1.1), t * 1.1))
        y += t * 1.6
        for para in paragraphs:
            for ln in wrap(para, pw, body):
                if y + line_h > foot_top:
                    last = out[-1] if out else None
                    if isinstance(last, Words) and last.size_mm == body:  # more follows: …
                        more = ellipsis(last.text, pw - text_width("…", body), body).rstrip("…")
                        out[-1] = Words(last.at, more + "…", body)
                    break
                out.append(Words((x0, y), ln, body))
                y += line_h
            y += body * 0.4
        y += t * 0.6
    # the legend
    y = foot_top
    if texts.legend_title:
        out.append(Words((x0, y + t * 0.6), texts.legend_title, t * 1.1))
        y += t * 1.8
    col_w = pw / columns
    for i, key in enumerate(entries):
        cx = x0 + (i // rows) * col_w
        cy = y + (i % rows) * line_h + line_h / 2
        out.extend(_swatch(key, cx, cy, t))
        out.append(
            Words((cx + t * 2.4, cy), ellipsis(texts.legend[key], col_w - t * 2.8, body), body)
        )
    # the scale: "1:200", a bar of round metres, the north arrow
    y = y1 - scale_h + t * 1.2
    out.append(Words((x0, y), texts.scale.format(n=scale), body))
    bar_m = bar_length_m(min(pw - t * 10, 80.0), k)
    bar = bar_m * k
    by = y + t * 1.4
    bh = max(1.2, t * 0.35)
    for i in range(4):
        sx = x0 + bar * i / 4
        fill = BLACK if i % 2 == 0 else WHITE
        out.append(
            Area(
                (((sx, by), (sx + bar / 4, by), (sx + bar / 4, by + bh), (sx, by + bh)),),
                Style(fill=fill, stroke=BLACK, width_mm=0.2),
            )
        )
    ly = by + bh + body * 0.9
    half = bar_m / 2
    out.append(Words((x0, ly), "0", body * 0.9, align="centre"))
    out.append(Words((x0 + bar / 2, ly), f"{half:g}", body * 0.9, align="centre"))
    out.append(Words((x0 + bar, ly), f"{bar_m} m", body * 0.9, align="centre"))
    out.extend(_north_arrow((x1 - t * 3, y1 - scale_h / 2), t * 4.5, north_deg, texts.north, t))
    return out


def _swatch(key: str, x: float, y: float, t: float) -> list[Shape]:
    style = style_of(key)
    w, h = t * 1.8, t * 1.1
    if key.startswith("plant:") or key == "facility":
        return [Dot((x + w / 2, y), t * 0.45, style)]
    if key == "site":
        return [
            Stroke(
                (
                    (x, y - h / 2),
                    (x + w, y - h / 2),
                    (x + w, y + h / 2),
                    (x, y + h / 2),
                    (x, y - h / 2),
                ),
                style,
            )
        ]
    return [
        Area((((x, y - h / 2), (x + w, y - h / 2), (x + w, y + h / 2), (x, y + h / 2)),), style)
    ]


def _north_arrow(centre: Point2, length: float, deg: float, letter: str, t: float) -> list[Shape]:
    """A split arrowhead pointing ``deg`` degrees clockwise from up, its letter beyond the tip."""
    a = math.radians(deg)
    ux, uy = math.sin(a), -math.cos(a)  # up on the page is -y
    px, py = -uy, ux
    cx, cy = centre
    tip = (cx + ux * length / 2, cy + uy * length / 2)
    tail = (cx - ux * length / 2, cy - uy * length / 2)
    notch = (cx - ux * length / 4, cy - uy * length / 4)
    left = (tail[0] - px * length / 3.2, tail[1] - py * length / 3.2)
    right = (tail[0] + px * length / 3.2, tail[1] + py * length / 3.2)
    letter_at = (cx + ux * (length / 2 + t * 1.1), cy + uy * (length / 2 + t * 1.1))
    return [
        Area(((tip, left, notch),), Style(fill=BLACK, stroke=BLACK, width_mm=0.25)),
        Area(((tip, right, notch),), Style(fill=WHITE, stroke=BLACK, width_mm=0.25)),
        Words(letter_at, letter, t * 1.1, align="centre"),
    ]
