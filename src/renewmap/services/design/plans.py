"""A draft's plan for people: the rendered plan (legend by kind, species labels, scale bar,
north arrow) as a picture for the residents' page and as an A3 sheet (PDF or PNG) for the joint
meeting and the public display board; and what a draft changes, in plain words
("新增种植池 2 处，绿地率从 33.7% 到 37.1%").

Residents get the plans of the drafts put before them; staff who draw get every draft's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from renewmap import names, sheets
from renewmap.db.models import Community, DesignDraft, Site
from renewmap.db.queries.places import community_buildings_near
from renewmap.db.queries.process import public_draft
from renewmap.errors import InvalidInput, NotFound
from renewmap.i18n import N_, Msg, Text, gettext
from renewmap.services.access.accounts import Principal
from renewmap.services.design import drafts, process
from renewmap.spatial import design, plan
from renewmap.spatial.geometry import from_db
from renewmap.vocabulary import metric_epsg

FORMATS = {"pdf": "application/pdf", "png": "image/png"}
DPI = {"a3": 150, "card": 150}


def word(table: dict[str, str], code: str, locale: str) -> str:
    """A kind, layer or facility as people call it (``renewmap.names``), as a heading or a
    legend's entry starts ("Planting bed" / "种植池")."""
    text = _render(names.label(table, code), locale)
    return text[:1].upper() + text[1:]


def _render(value: Text | str, locale: str) -> str:
    return value.render(locale) if isinstance(value, Text) else value


# --- what a draft changes, in words -----------------------------------------------------------


def _what(key: str) -> tuple[Text | str, str]:
    """(what it is, the unit it is counted in) for a change's key."""
    kind, _, sub = key.partition(":")
    if kind == "plant":
        return names.label(names.PLANT_LAYERS, sub or "tree"), "plants"
    if kind == "facility":
        return names.label(names.FACILITY_TYPES, sub or "other"), "pieces"
    if kind == "path":
        return names.label(names.FEATURE_KINDS, "path"), "metres"
    return names.label(names.FEATURE_KINDS, kind), "places"


def _amount(unit: str, row: dict[str, Any]) -> Msg:
    if unit == "metres":
        return Msg("{m} m", m=f"{row.get('length_m', 0):.0f}")
    if unit == "plants":
        return Msg("{n} plants", n=row["count"])
    if unit == "pieces":
        return Msg("{n} pieces", n=row["count"])
    return Msg("{n} places", n=row["count"])


def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def change_phrases(change: dict[str, Any], locale: str) -> list[str]:
    """``spatial.design.changes`` in words: what is new, what goes, the green ratio."""
    out: list[Msg] = []
    for rows, added in ((change["added"], True), (change["removed"], False)):
        for row in rows:
            what, unit = _what(row["what"])
            amount = _amount(unit, row)
            if added:
                out.append(Msg("New {what}: {amount}", what=what, amount=amount))
            else:
                out.append(Msg("Removed {what}: {amount}", what=what, amount=amount))
    ratio = change["green_ratio"]
    if ratio["before"] is not None and ratio["after"] is not None:
        if round(ratio["before"], 3) == round(ratio["after"], 3):
            out.append(Msg("green ratio stays at {ratio}", ratio=percent(ratio["after"])))
        else:
            out.append(
                Msg(
                    "green ratio from {before} to {after}",
                    before=percent(ratio["before"]),
                    after=percent(ratio["after"]),
                )
            )
    return [m.render(locale) for m in out]


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


SEASON_WORDS = {
    "spring": N_("Spring"),
    "summer": N_("Summer"),
    "autumn": N_("Autumn"),
    "winter": N_("Winter"),
}


def cost_words(total: float, locale: str) -> str:
    """A cost estimate as one is written: 约 5.18 万元 / about 51,800 yuan."""
    if locale == "zh_CN" and total >= 10_000:
        return Msg("about {n} ten-thousand yuan", n=f"{total / 10_000:.2f}").render(locale)
    return Msg("about {n} yuan", n=f"{round(total, -2):,.0f}").render(locale)


def key_figures(metrics: dict[str, Any], locale: str) -> list[str]:
    paths = sum(metrics["path_length_m"].values())
    plants = sum(metrics["plants_by_layer"].values())
    seasons = " ".join(Msg(SEASON_WORDS[s]).render(locale) for s in metrics["seasons"])
    lines = [
        Msg("Green ratio {ratio}", ratio=percent(metrics["green_ratio"])),
        Msg("Green area {a} ㎡", a=f"{metrics['green_area_m2']:.1f}"),
        Msg("Hard surface {a} ㎡", a=f"{metrics['hard_area_m2']:.1f}"),
    ]
    if paths:
        lines.append(Msg("Paths {m} m", m=f"{paths:.1f}"))
    if plants:
        lines.append(Msg("Plants {n}", n=plants))
    lines.append(Msg("Seasons covered: {seasons}", seasons=seasons or "—"))
    lines.append(Msg("Cost estimate: {cost}", cost=cost_words(metrics["total_cost"], locale)))
    return [m.render(locale) for m in lines]


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
            label = word(names.FACILITY_TYPES, str(f.props.get("type") or "other"), locale)
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
    out = {
        "site": Msg("Site outline").render(locale),
        "building": word(names.LAYER_KINDS, "building", locale),
    }
    for kind in ("zone", "water", "path", "keep", "facility"):
        out[kind] = word(names.FEATURE_KINDS, kind, locale)
    for layer in names.PLANT_LAYERS:
        for kind in ("green", "plant"):
            text = Msg(
                "{kind} ({layer})",
                kind=names.label(names.FEATURE_KINDS, kind),
                layer=names.label(names.PLANT_LAYERS, layer),
            ).render(locale)
            out[f"{kind}:{layer}"] = text[:1].upper() + text[1:]
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
        raise InvalidInput(
            "paper must be one of {papers}",
            key="plan_paper_unknown",
            papers=tuple(plan.PAPERS),
            field="paper",
        )
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
            blocks.append((Msg("What this draft does").render(locale), [draft.description]))
        baseline = drafts.site_features(session, site)
        changes = change_phrases(design.changes(outline, baseline, feats, epsg=epsg), locale)
        if changes:
            blocks.append((Msg("Key changes").render(locale), changes))
        blocks.append((Msg("Key figures").render(locale), key_figures(view["metrics"], locale)))
    source = community.attribution
    credit = Msg("Base data: {source}", source=source).render(locale) if source else ""
    title = Msg("{site} · draft {n} · {name}", site=site.name, n=draft.number, name=draft.name)
    subtitle = Msg("{community} · {day}", community=community.name, day=date.today().isoformat())
    made_with = Msg("Made with RenewMap").render(locale)
    texts = plan.Texts(
        title=title.render(locale),
        subtitle=subtitle.render(locale),
        legend_title=Msg("Legend").render(locale),
        legend=legend(locale),
        blocks=blocks,
        scale=gettext(locale, N_("Scale 1:{n}")),  # a template: the layout puts in the scale
        north=Msg("N").render(locale),
        attribution=" · ".join(p for p in (credit, made_with) if p),
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
        raise InvalidInput(
            "format must be one of {formats}",
            key="plan_format_unknown",
            formats=tuple(FORMATS),
            field="format",
        )
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
            "draft {number} of {site} is not open to residents",
            key="draft_not_public",
            number=number,
            site=site.name or site.code,
            field="draft",
        )
    return render(session, draft, site, community, fmt=fmt, paper=paper, locale=locale)


def staff_plan(
    session: Session, *, principal: Principal, draft_id: int, fmt: str, paper: str, locale: str
) -> tuple[bytes, str, str]:
    """Any draft's plan, for those who draw the site's drafts."""
    draft, site, community = drafts.site_context(session, principal=principal, draft_id=draft_id)
    return render(session, draft, site, community, fmt=fmt, paper=paper, locale=locale)
