"""A draft's plan for people: the rendered plan (legend by kind, species labels, scale bar,
north arrow) as a picture for the residents' page and as an A3 sheet (PDF or PNG) for the joint
meeting and the public display board; and what a draft changes, in plain words
("新增种植池 2 处，绿地率从 33.7% 到 37.1%").

Residents get the plans of the drafts put before them; staff who draw get every draft's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from renewmap import sheets
from renewmap.db.models import Community, DesignDraft, Site
from renewmap.db.queries.places import community_buildings_near
from renewmap.db.queries.process import public_draft
from renewmap.errors import InvalidInput, NotFound
from renewmap.i18n import gettext
from renewmap.services.access.accounts import Principal
from renewmap.services.design import drafts, process
from renewmap.spatial import design, plan
from renewmap.spatial.geometry import from_db
from renewmap.vocabulary import metric_epsg

FORMATS = {"pdf": "application/pdf", "png": "image/png"}
DPI = {"a3": 150, "card": 150}
# What the words call each kind of feature (msgids shared with the drawing page).
KIND_WORDS = {
    "zone": "Zone",
    "green": "Planting bed",
    "plant": "Plant",
    "path": "Path",
    "facility": "Facility",
    "water": "Water",
    "keep": "Existing element to keep",
}
LAYER_WORDS = {"tree": "Trees", "shrub": "Shrubs", "ground_cover": "Ground cover", "lawn": "Lawn"}
FACILITY_WORDS = {
    "bench": "Bench",
    "light": "Light",
    "ebike_shed": "E-bike shed",
    "art_wall": "Art wall",
    "notice_board": "Notice board",
    "play": "Play equipment",
    "meeting_hall": "Garden council hall",
    "party_service_station": "Party-mass service station",
    "seed_station": "Seed station",
    "story_window": "Story window",
    "flower_box": "Flower box",
}


def _g(locale: str) -> Callable[..., str]:
    def g(msgid: str, **values: object) -> str:
        return gettext(locale, msgid, **values)

    return g


# --- what a draft changes, in words -----------------------------------------------------------


def _what(key: str, locale: str) -> tuple[str, str]:
    """(what it is, the unit it is counted in) for a change's key."""
    g = _g(locale)
    kind, _, sub = key.partition(":")
    if kind == "plant":
        return g(LAYER_WORDS.get(sub, "Plant")), "plants"
    if kind == "facility":
        return g(FACILITY_WORDS.get(sub, "Facility")), "pieces"
    if kind == "path":
        return g("Path"), "metres"
    return g(KIND_WORDS.get(kind, kind)), "places"


def _amount(unit: str, row: dict[str, Any], locale: str) -> str:
    g = _g(locale)
    if unit == "metres":
        return g("{m} m", m=f"{row.get('length_m', 0):.0f}")
    return g(
        {"plants": "{n} plants", "pieces": "{n} pieces"}.get(unit, "{n} places"), n=row["count"]
    )


def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def change_phrases(change: dict[str, Any], locale: str) -> list[str]:
    """``spatial.design.changes`` in words: what is new, what goes, the green ratio."""
    g = _g(locale)
    out = []
    for verb, rows in (
        ("New {what}: {amount}", change["added"]),
        ("Removed {what}: {amount}", change["removed"]),
    ):
        for row in rows:
            what, unit = _what(row["what"], locale)
            out.append(g(verb, what=what, amount=_amount(unit, row, locale)))
    ratio = change["green_ratio"]
    if ratio["before"] is not None and ratio["after"] is not None:
        if round(ratio["before"], 3) == round(ratio["after"], 3):
            out.append(g("green ratio stays at {ratio}", ratio=percent(ratio["after"])))
        else:
            out.append(
                g(
                    "green ratio from {before} to {after}",
                    before=percent(ratio["before"]),
                    after=percent(ratio["after"]),
                )
            )
    return out


def sentence(phrases: Sequence[str], locale: str) -> str:
    """Phrases as one sentence: "新增种植池 2 处，绿地率从 33.7% 到 37.1%"."""
    return ("，" if locale == "zh_CN" else "; ").join(phrases)


def changes_in_words(
    session: Session,
    site: Site,
    community: Community,
    baseline: list[design.Feature],
    draft: DesignDraft,
    *,
    locale: str,
) -> list[str]:
    """What ``draft`` changes against the site as it is (``baseline``), in phrases."""
    outline = from_db(site.geom)
    epsg = metric_epsg(community.metric_epsg, outline)
    feats = drafts.draft_features(session, draft_id=draft.id)
    return change_phrases(design.changes(outline, baseline, feats, epsg=epsg), locale)


def cost_words(total: float, locale: str) -> str:
    """A cost estimate as one is written: 约 5.18 万元 / about 51,800 yuan."""
    g = _g(locale)
    if locale == "zh_CN" and total >= 10_000:
        return g("about {n} ten-thousand yuan", n=f"{total / 10_000:.2f}")
    return g("about {n} yuan", n=f"{round(total, -2):,.0f}")


def key_figures(metrics: dict[str, Any], locale: str) -> list[str]:
    g = _g(locale)
    paths = sum(metrics["path_length_m"].values())
    plants = sum(metrics["plants_by_layer"].values())
    seasons = [g(s.capitalize()) for s in metrics["seasons"]]
    lines = [
        g("Green ratio {ratio}", ratio=percent(metrics["green_ratio"])),
        g("Green area {a} ㎡", a=f"{metrics['green_area_m2']:.1f}"),
        g("Hard surface {a} ㎡", a=f"{metrics['hard_area_m2']:.1f}"),
    ]
    if paths:
        lines.append(g("Paths {m} m", m=f"{paths:.1f}"))
    if plants:
        lines.append(g("Plants {n}", n=plants))
    lines.append(g("Seasons covered: {seasons}", seasons=" ".join(seasons) or "—"))
    lines.append(g("Cost estimate: {cost}", cost=cost_words(metrics["total_cost"], locale)))
    return lines


# --- the plan -----------------------------------------------------------------------------------


def _items(feats: Sequence[design.Feature], locale: str) -> list[plan.Item]:
    table = design.species_table()
    out = []
    for f in feats:
        named = design.find_species(f.props.get("species"), table)
        species = "、".join(s.name_zh if locale == "zh_CN" else s.latin for s in named) or None
        width = crown = None
        if f.kind == "green":
            key = f"green:{f.props.get('layer') or (named[0].layer if named else 'lawn')}"
            label = species
        elif f.kind == "plant":
            key = f"plant:{named[0].layer if named else f.props.get('layer') or 'tree'}"
            label = species or (str(f.props.get("name") or "") or None)
            crown = _number(f.props.get("crown_m"))
        elif f.kind == "path":
            key, label = "path", None
            width = _number(f.props.get("width_m"))
        elif f.kind == "facility":
            key = "facility"
            label = gettext(locale, FACILITY_WORDS.get(str(f.props.get("type")), "Facility"))
        elif f.kind == "keep" and f.props.get("type") == "water":
            key, label = "water", str(f.props.get("name") or "") or None
        else:
            key, label = f.kind, str(f.props.get("name") or "") or None
        out.append(plan.Item(key, f.geom, label=label, width_m=width, crown_m=crown))
    return out


def _number(value: object) -> float | None:
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except ValueError:
        return None
    return v if v > 0 else None


def legend(locale: str) -> dict[str, str]:
    g = _g(locale)
    out = {
        "site": g("Site outline"),
        "building": g("Building"),
        "zone": g("Zone"),
        "water": g("Water"),
        "path": g("Path"),
        "keep": g("Existing element to keep"),
        "facility": g("Facility"),
    }
    for layer, word in LAYER_WORDS.items():
        out[f"green:{layer}"] = g("{kind} ({layer})", kind=g("Planting bed"), layer=g(word))
        out[f"plant:{layer}"] = g("{kind} ({layer})", kind=g("Plant"), layer=g(word))
    return out


def drawing(
    session: Session,
    draft: DesignDraft,
    site: Site,
    community: Community,
    *,
    paper: str,
    locale: str,
) -> plan.Drawing:
    """The draft's plan laid out on ``paper`` (``a3`` or ``card``) in ``locale``."""
    if paper not in plan.PAPERS:
        raise InvalidInput(f"paper must be one of {', '.join(plan.PAPERS)}", field="paper")
    g = _g(locale)
    view = drafts.draft_view(session, draft, site, community)
    feats = drafts.draft_features(session, draft_id=draft.id)
    outline = from_db(site.geom)
    epsg = metric_epsg(community.metric_epsg, outline)
    near = outline.buffer(0.0015).bounds  # ≈150 m: the buildings around
    context = [
        plan.Item("building", from_db(b.geom), label=b.number)
        for b in community_buildings_near(session, community_id=community.id, bounds=near)
    ]
    blocks: list[tuple[str, list[str]]] = []
    if paper == "a3":
        if draft.description:
            blocks.append((g("What this draft does"), [draft.description]))
        baseline = drafts.site_features(session, site)
        changes = change_phrases(design.changes(outline, baseline, feats, epsg=epsg), locale)
        if changes:
            blocks.append((g("Key changes"), changes))
        blocks.append((g("Key figures"), key_figures(view["metrics"], locale)))
    source = community.attribution
    credit = g("Base data: {source}", source=source) if source else ""
    texts = plan.Texts(
        title=g("{site} · draft {n} · {name}", site=site.name, n=draft.number, name=draft.name),
        subtitle=g("{community} · {day}", community=community.name, day=date.today().isoformat()),
        legend_title=g("Legend"),
        legend=legend(locale),
        blocks=blocks,
        scale=g("Scale 1:{n}"),
        north=g("N"),
        attribution=" · ".join(p for p in (credit, g("Made with RenewMap")) if p),
    )
    return plan.layout(
        outline,
        _items(feats, locale),
        epsg=epsg,
        paper=plan.PAPERS[paper],
        texts=texts,
        context=context,
    )


_CACHE: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_ENTRIES = 32


def render(
    session: Session,
    draft: DesignDraft,
    site: Site,
    community: Community,
    *,
    fmt: str,
    paper: str,
    locale: str,
) -> tuple[bytes, str, str]:
    """(bytes, media type, file name) of the draft's plan; the same draft, version and site
    plan give the same file, so a few are kept."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", field="format")
    key = (
        draft.id,
        draft.version,
        draft.name,
        draft.description,
        community.site_version,
        fmt,
        paper,
        locale,
        date.today(),
    )
    with _CACHE_LOCK:
        data = _CACHE.get(key)
        if data is not None:
            _CACHE.move_to_end(key)
    if data is None:
        laid = drawing(session, draft, site, community, paper=paper, locale=locale)
        if fmt == "pdf":
            data = sheets.drawing_pdf(laid, title=f"{site.name} {draft.number} {draft.name}")
        else:
            data = sheets.drawing_png(laid, dpi=DPI[paper])
        with _CACHE_LOCK:
            _CACHE[key] = data
            while len(_CACHE) > CACHE_ENTRIES:
                _CACHE.popitem(last=False)
    name = f"{site.code}-draft{draft.number}-{paper}.{fmt}"
    return data, FORMATS[fmt], name


def public_plan(
    session: Session,
    *,
    community_code: str,
    site_code: str,
    number: int,
    fmt: str,
    paper: str,
    locale: str,
) -> tuple[bytes, str, str]:
    """The plan of a draft put before the residents (404 for one that is not)."""
    community, site = process.site_of(session, community_code=community_code, site_code=site_code)
    draft = public_draft(session, site_id=site.id, number=number)
    if draft is None:
        raise NotFound(
            f"draft {number} of site {site.code} is not open to residents", field="draft"
        )
    return render(session, draft, site, community, fmt=fmt, paper=paper, locale=locale)


def staff_plan(
    session: Session, *, principal: Principal, draft_id: int, fmt: str, paper: str, locale: str
) -> tuple[bytes, str, str]:
    """Any draft's plan, for those who draw the site's drafts."""
    draft, site, community = drafts.site_context(session, principal=principal, draft_id=draft_id)
    return render(session, draft, site, community, fmt=fmt, paper=paper, locale=locale)
