"""Designers' pages: the site's hub (drafts, process, photos), the drawing workspace (vendored
Leaflet-Geoman with snapping to the site outline and building edges, live metrics and rule
checks), two drafts compared on one map, and the walking-coverage map of a community.

Templates under ``design/``; scripts ``static/js/design*.js`` and ``coverage.js``. The data
comes from the design API, so a page holds nothing its user may not see.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from renewmap.i18n import gettext
from renewmap.services.design.process import STAGE_LABELS, STAGES
from renewmap.spatial.design import species_table
from renewmap.web.render import render, script_catalog
from renewmap.web.sitemap import OnlineTiles, site_plan

KINDS = {
    "zone": "Zone",
    "green": "Planting bed",
    "plant": "Plant",
    "path": "Path",
    "facility": "Facility",
    "water": "Water",
    "keep": "Existing element to keep",
}
LAYERS = {"tree": "Trees", "shrub": "Shrubs", "ground_cover": "Ground cover", "lawn": "Lawn"}
SURFACES = {
    "permeable_concrete": "Permeable concrete",
    "permeable_brick": "Permeable brick",
    "gravel": "Gravel",
    "wood": "Wood",
    "asphalt": "Asphalt",
}
PURPOSES = {"fitness": "Fitness", "access": "Access", "barrier_free": "Barrier-free"}
FACILITIES = {
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
RULES = {
    "inside_site": "Outside the site",
    "building_overlap": "Overlaps a building",
    "feature_overlap": "Overlaps another feature",
    "tree_wall_distance": "Tree too close to a wall",
    "barrier_free_width": "Barrier-free path too narrow",
    "valid_geometry": "Invalid geometry",
}
# Units of the bill of quantities, as people write them.
UNITS = {"m2": "㎡", "m": "m", "plant": "plants", "each": "each"}
DRAW_HELP = (
    "Choose what to draw, then draw it on the map; corners snap to the site outline and "
    "building edges."
)
COMPARED = (
    ("Site area (m²)", "site_area_m2"),
    ("Green area (m²)", "green_area_m2"),
    ("Green ratio", "green_ratio"),
    ("Hard surface (m²)", "hard_area_m2"),
    ("Estimated cost (yuan)", "total_cost"),
)


def labels(locale: str) -> dict[str, dict[str, str]]:
    """What the design scripts call kinds, layers, surfaces…, in ``locale``."""

    def g(msgid: str) -> str:
        return gettext(locale, msgid)

    return {
        "kinds": {k: g(v) for k, v in KINDS.items()},
        "layers": {k: g(v) for k, v in LAYERS.items()},
        "surfaces": {k: g(v) for k, v in SURFACES.items()},
        "purposes": {k: g(v) for k, v in PURPOSES.items()},
        "facilities": {k: g(v) for k, v in FACILITIES.items()},
        "rules": {k: g(v) for k, v in RULES.items()},
        "units": {k: g(v) for k, v in UNITS.items()},
        "seasons": {s: g(s.capitalize()) for s in ("spring", "summer", "autumn", "winter")},
    }


def _options(items: dict[str, str], locale: str) -> list[tuple[str, str]]:
    return [(k, gettext(locale, v)) for k, v in items.items()]


def _community(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, str]:
    row = layers["community"].iloc[0]
    return {"code": str(row["code"]), "name": str(row["name"])}


def _plan(
    layers: dict[str, gpd.GeoDataFrame], locale: str, tiles: OnlineTiles | None
) -> dict[str, Any]:
    return site_plan(
        {k: v for k, v in layers.items() if k != "request"}, locale=locale, tiles=tiles
    )


def _tiled(plan: dict[str, Any]) -> bool:
    return any("tiles" in layer for layer in plan["layers"].values())


def drawing_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    nonce: str,
    draft: dict[str, Any],
    site_geometry: dict[str, Any],
    suggestions: list[dict[str, Any]],
    tiles: OnlineTiles | None = None,
) -> str:
    """Draw one draft of a site: tools per kind, properties, live metrics and violations."""
    plan = _plan(layers, locale, tiles)
    species = list(species_table().values())
    config = {
        "locale": locale,
        "draft": draft,
        "site": site_geometry,
        "t": script_catalog(locale, "design"),
        "labels": labels(locale),
        "plan": plan,
    }
    return render(
        "design/drawing.html",
        locale=locale,
        nonce=nonce,
        community=_community(layers),
        draft=draft,
        adopted={a["id"] for a in draft["adopts"]},
        suggestions=suggestions,
        kinds=_options(KINDS, locale),
        layer_options=_options(LAYERS, locale),
        surface_options=_options(SURFACES, locale),
        purpose_options=_options(PURPOSES, locale),
        facility_options=_options(FACILITIES, locale),
        species=[(s.code, f"{s.name_zh} {s.latin}") for s in species],
        draw_help=DRAW_HELP,
        config=config,
        vectorgrid=_tiled(plan),
    )


def hub_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    nonce: str,
    sites: list[dict[str, Any]],
    site: dict[str, Any] | None,
    drafts: list[dict[str, Any]],
    timeline: dict[str, Any] | None,
    photos: dict[str, Any] | None,
    adopters: list[dict[str, Any]] | None = None,
    may_draw: bool = True,
    tiles: OnlineTiles | None = None,
) -> str:
    """A community's sites; for one site its drafts, its process (with the reason a step is
    skipped), its household forms and their turnout, the decision, objections and answers,
    the build and its photos; the plants' adopters with their phones (staff only). Those who
    draw also make and edit sites and facilities here."""
    plan = _plan(layers, locale, tiles)
    community = _community(layers)
    stage = site.get("stage") if site else None
    here = STAGES.index(stage) if stage in STAGES else -1
    config = {
        "community": community["code"],
        "locale": locale,
        "site": site["code"] if site else None,
        "stage": stage,
        "outline": site.get("geometry") if site else None,
        "mayDraw": may_draw,
        "labels": labels(locale),
        "t": script_catalog(locale, "design-hub"),
        "plan": plan,
    }
    stage_options = [
        (s, f"{i}. {gettext(locale, STAGE_LABELS[s])}") for i, s in enumerate(STAGES, start=1)
    ]
    phase = {
        # household forms until the consultation closes; the decision from it to the display
        "forms": 0 <= here <= STAGES.index("consultation"),
        "decide": STAGES.index("consultation") <= here < STAGES.index("announcement"),
        "objections": here >= STAGES.index("announcement"),
        "build": here >= STAGES.index("construction"),
    }
    return render(
        "design/hub.html",
        locale=locale,
        nonce=nonce,
        community=community,
        sites=sites,
        site=site,
        drafts=drafts,
        timeline=timeline,
        stage_labels=STAGE_LABELS,
        stage_options=stage_options,
        photos=[(ph, p) for ph in ("before", "after") for p in (photos or {}).get(ph, [])],
        adopters=adopters or [],
        may_draw=may_draw,
        phase=phase,
        public_drafts=[
            (d["number"], f"{d['number']} · {d['name']}") for d in drafts if d["public"]
        ],
        facility_options=_options(FACILITIES, locale),
        config=config,
        vectorgrid=_tiled(plan),
    )


def compare_page(
    layers: dict[str, gpd.GeoDataFrame],
    comparison: dict[str, Any],
    *,
    locale: str,
    nonce: str,
    tiles: OnlineTiles | None = None,
) -> str:
    """Two drafts on one map (toggle A, B or both) and their metrics side by side."""
    a, b = comparison["a"], comparison["b"]
    plan = _plan(layers, locale, tiles)

    def cell(v: Any, key: str) -> str:
        if v is None:
            return "—"
        if key == "green_ratio":
            return f"{v * 100:.1f}%"
        return f"{v:,.0f}" if key == "total_cost" else f"{v:,.1f}"

    def change(v: Any, key: str) -> str:
        """B − A: a ratio's change in percentage points, the rest in their own units."""
        if v is None:
            return "—"
        if key == "green_ratio":
            return gettext(locale, "{n} percentage points", n=f"{v * 100:+.1f}")
        return f"{v:+,.0f}" if key == "total_cost" else f"{v:+,.1f}"

    rows = [
        (
            gettext(locale, label),
            cell(a["metrics"][k], k),
            cell(b["metrics"][k], k),
            change(comparison["difference"].get(k), k) if k in comparison["difference"] else "—",
        )
        for label, k in COMPARED
    ]
    rows.append(
        (
            gettext(locale, "Seasons covered"),
            f"{len(a['metrics']['seasons'])}/4",
            f"{len(b['metrics']['seasons'])}/4",
            "",
        )
    )
    rows.append(
        (
            gettext(locale, "Rule violations"),
            str(len(a["violations"])),
            str(len(b["violations"])),
            "",
        )
    )
    config = {
        "locale": locale,
        "a": a["features"],
        "b": b["features"],
        "shared": comparison["shared"],
        "site": comparison["site_geometry"],
        "plan": plan,
    }
    return render(
        "design/compare.html",
        locale=locale,
        nonce=nonce,
        community=_community(layers),
        a=a,
        b=b,
        rows=rows,
        config=config,
        vectorgrid=_tiled(plan),
    )


def coverage_page(
    layers: dict[str, gpd.GeoDataFrame],
    coverage: dict[str, Any],
    *,
    locale: str,
    nonce: str,
    tiles: OnlineTiles | None = None,
) -> str:
    """Buildings within walking distance of a green or activity site, and the ones that are not."""
    plan = _plan(layers, locale, tiles)
    feats = coverage["features"]["features"]
    config = {
        "locale": locale,
        "plan": plan,
        "coverage": coverage["features"],
        "fields": {
            "building": gettext(locale, "Building number"),
            "households": gettext(locale, "Households"),
            "distance_m": gettext(locale, "Distance (m)"),
        },
    }
    share = coverage["share_buildings"]
    hh = coverage.get("share_households")
    return render(
        "design/coverage.html",
        locale=locale,
        nonce=nonce,
        community=_community(layers),
        radius=f"{coverage['radius_m']:.0f}",
        share="—" if share is None else f"{share * 100:.0f}%",
        households=None if hh is None else f"{hh * 100:.0f}%",
        uncovered=[
            (
                f["properties"]["building"] or "—",
                "—"
                if f["properties"]["distance_m"] is None
                else f"{f['properties']['distance_m']:.0f} m",
            )
            for f in feats
            if not f["properties"]["covered"]
        ],
        config=config,
        vectorgrid=_tiled(plan),
    )
