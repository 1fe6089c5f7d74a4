"""Design metrics and rule checks for one micro-renewal site: pure geometry, no database.

Features arrive in WGS84 (x = longitude) and are measured in metres in a projected CRS (the
community's UTM zone). Paths are lines with a width: their surface is the line buffered by
half the width with flat ends. Plants are points; green areas are polygons with a planting
layer (tree / shrub / ground_cover / lawn).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from renewmap import names
from renewmap.i18n import N_, Localized, Msg, Text
from renewmap.spatial.crs import to_metric
from renewmap.spatial.geometry import validity_reason

KINDS = ("zone", "green", "plant", "path", "facility", "water", "keep")
LAYERS = ("tree", "shrub", "ground_cover", "lawn")
SEASONS = ("spring", "summer", "autumn", "winter")
AREA_EPS_M2 = 0.01  # overlaps smaller than this are drawing noise, not a design fault


@dataclass(frozen=True)
class Species:
    code: str
    name_zh: str
    latin: str
    layer: str
    seasons: frozenset[str]
    evergreen: bool


def species_table() -> dict[str, Species]:
    """The shipped table of common East-China landscape species (data/species.csv)."""
    text = (resources.files("renewmap") / "data" / "species.csv").read_text(encoding="utf-8")
    out = {}
    for row in csv.DictReader(text.splitlines()):
        out[row["code"]] = Species(
            code=row["code"],
            name_zh=row["name_zh"],
            latin=row["latin"],
            layer=row["layer"],
            seasons=frozenset(s for s in row["seasons"].split(";") if s),
            evergreen=row["evergreen"] == "yes",
        )
    return out


# Common names that differ from the table's (a cultivar or a trade name → the species).
ALIASES = {"红枫": "acer_palmatum", "香樟树": "cinnamomum_camphora", "桂花树": "osmanthus_fragrans"}


def find_species(value: object, table: Mapping[str, Species]) -> list[Species]:
    """The species named by a code, a Chinese or Latin name, or several of them separated by
    ';', '、' or ','  ("月季; 绣球" is a bed of both)."""
    text = str(value or "").strip()
    if not text:
        return []
    by_name = {s.name_zh: s for s in table.values()} | {s.latin.lower(): s for s in table.values()}
    found = []
    for part in re.split(r"[;；、,，]", text):
        key = part.strip()
        sp = table.get(key) or by_name.get(key) or by_name.get(key.lower())
        sp = sp or table.get(ALIASES.get(key, ""))
        if sp is not None and sp not in found:
            found.append(sp)
    return found


def species_name(sp: Species) -> Localized:
    """A species as readers name it: its Chinese name, or its Latin name in English."""
    return Localized(zh_CN=sp.name_zh, en=sp.latin)


@dataclass(frozen=True)
class Feature:
    id: str
    kind: str
    geom: BaseGeometry  # WGS84
    props: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitCosts:
    """Yuan per unit; the defaults are indicative Shanghai prices, configurable per project."""

    green_per_m2: Mapping[str, float] = field(
        default_factory=lambda: {"tree": 150.0, "shrub": 120.0, "ground_cover": 60.0, "lawn": 30.0}
    )
    plant_each: Mapping[str, float] = field(
        default_factory=lambda: {"tree": 1500.0, "shrub": 200.0, "ground_cover": 20.0, "lawn": 0.0}
    )
    path_per_m2: Mapping[str, float] = field(
        default_factory=lambda: {
            "permeable_concrete": 260.0,
            "permeable_brick": 220.0,
            "gravel": 120.0,
            "wood": 600.0,
            "asphalt": 180.0,
        }
    )
    facility_each: Mapping[str, float] = field(
        default_factory=lambda: {
            "bench": 2500.0,
            "light": 4000.0,
            "ebike_shed": 30000.0,
            "art_wall": 20000.0,
            "notice_board": 3000.0,
            "play": 15000.0,
            "meeting_hall": 30000.0,  # an open-air garden council: pergola and seats
            "party_service_station": 50000.0,
            "seed_station": 5000.0,
            "story_window": 8000.0,
            "flower_box": 800.0,
        }
    )


@dataclass(frozen=True)
class Rules:
    """The checks' thresholds (configurable defaults)."""

    tree_wall_m: float = 3.0
    barrier_free_width_m: float = 1.2


# A bill of quantities' units: square metres, plants (株) and pieces (个); the English
# catalog shows the last two as "nr".
UNITS = {"m2": N_("m²"), "plant": N_("nr (plants)"), "each": N_("nr (pieces)")}
COST_GROUPS = ("green_per_m2", "plant_each", "path_per_m2", "facility_each")
RULE_LIMITS = {"tree_wall_m": (0.0, 50.0), "barrier_free_width_m": (0.5, 10.0)}
MAX_UNIT_COST = 1_000_000.0  # yuan per m² or per item (validation.RANGES["unit_cost"])
MAX_COST_ITEMS = 100


class StandardsError(ValueError):
    """A design standard that cannot be used; the message names the field."""

    def __init__(self, msgid: str, /, **params: object) -> None:
        self.msg = Msg(msgid, **params)
        super().__init__(self.msg.render("en"))


def standards(
    overrides: Mapping[str, Any] | None,
) -> tuple[UnitCosts, Rules]:
    """Unit costs and rule thresholds: the defaults with a community's overrides on top.

    ``{"unit_costs": {"path_per_m2": {"wood": 650}}, "rules": {"tree_wall_m": 4}}``; unknown
    groups or rules, negative prices or thresholds out of range raise ``StandardsError``.
    """
    overrides = overrides or {}
    unknown = set(overrides) - {"unit_costs", "rules"}
    if unknown:
        raise StandardsError("unknown section(s): {sections}", sections=sorted(unknown))
    base = UnitCosts()
    groups: dict[str, dict[str, float]] = {g: dict(getattr(base, g)) for g in COST_GROUPS}
    for group, prices in (overrides.get("unit_costs") or {}).items():
        if group not in groups:
            raise StandardsError(
                "unit_costs.{group}: use one of {groups}", group=group, groups=COST_GROUPS
            )
        if not isinstance(prices, Mapping):
            raise StandardsError("unit_costs.{group}: expected {{item: yuan}}", group=group)
        if len(prices) > MAX_COST_ITEMS:
            raise StandardsError(
                "unit_costs.{group}: at most {limit} items", group=group, limit=MAX_COST_ITEMS
            )
        for item, price in prices.items():
            if not isinstance(item, str) or not 0 < len(item) <= 64 or "\x00" in item:
                raise StandardsError(
                    "unit_costs.{group}: item names of 1 to 64 characters", group=group
                )
            if (
                not isinstance(price, int | float)
                or isinstance(price, bool)
                or not 0 <= price <= MAX_UNIT_COST
            ):
                raise StandardsError(
                    "unit_costs.{group}.{item}: a price between 0 and {limit:,.0f} yuan",
                    group=group,
                    item=item,
                    limit=MAX_UNIT_COST,
                )
            groups[group][str(item)] = float(price)
    limits = {k: getattr(Rules(), k) for k in RULE_LIMITS}
    for rule, value in (overrides.get("rules") or {}).items():
        if rule not in RULE_LIMITS:
            raise StandardsError(
                "rules.{rule}: use one of {rules}", rule=rule, rules=tuple(RULE_LIMITS)
            )
        low, high = RULE_LIMITS[rule]
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not low <= value <= high
        ):
            raise StandardsError(
                "rules.{rule}: metres between {low:g} and {high:g}", rule=rule, low=low, high=high
            )
        limits[rule] = float(value)
    return UnitCosts(**groups), Rules(**limits)


def path_surface(line_m: BaseGeometry, width_m: float) -> BaseGeometry:
    """A path's paved area: the line grown by half its width, flat at the ends."""
    return line_m.buffer(width_m / 2, cap_style="flat", join_style="mitre")


def _width(f: Feature) -> float:
    try:
        return float(f.props.get("width_m") or 0)
    except (TypeError, ValueError):
        return 0.0


def metrics(
    site: BaseGeometry,
    features: Sequence[Feature],
    *,
    epsg: int,
    species: Mapping[str, Species] | None = None,
    costs: UnitCosts | None = None,
) -> dict[str, Any]:
    """Areas, lengths, counts, seasons of interest and a bill of quantities with its total."""
    species = species if species is not None else species_table()
    costs = costs or UnitCosts()
    site_m = to_metric(site, epsg)
    site_area = site_m.area
    green_by_layer: dict[str, float] = {}
    green_parts = []
    hard_parts = []
    path_length: dict[str, float] = {}
    path_area: dict[str, float] = {}
    path_width: dict[str, float] = {}
    plants: dict[str, int] = {}
    plant_species: dict[str, int] = {}
    facilities: dict[str, int] = {}
    seasons: set[str] = set()
    for f in features:
        g = to_metric(f.geom, epsg)
        named = find_species(f.props.get("species"), species)
        sp = named[0] if named else None
        for one in named:
            seasons |= one.seasons
        if f.kind == "green":
            layer = str(f.props.get("layer") or (sp.layer if sp else "lawn"))
            area = g.intersection(site_m).area
            green_by_layer[layer] = green_by_layer.get(layer, 0.0) + area
            green_parts.append(g.intersection(site_m))
        elif f.kind == "plant":
            layer = sp.layer if sp else str(f.props.get("layer") or "tree")
            plants[layer] = plants.get(layer, 0) + 1
            if sp is not None:
                plant_species[sp.code] = plant_species.get(sp.code, 0) + 1
        elif f.kind == "path":
            surface = str(f.props.get("surface") or "unspecified")
            paved = path_surface(g, _width(f))
            path_length[surface] = path_length.get(surface, 0.0) + g.length
            width = f"{_width(f):g}"
            path_width[width] = path_width.get(width, 0.0) + g.length
            path_area[surface] = path_area.get(surface, 0.0) + paved.area
            hard_parts.append(paved)
        elif f.kind == "facility":
            kind = str(f.props.get("type") or "other")
            facilities[kind] = facilities.get(kind, 0) + 1
            if g.area > 0:
                hard_parts.append(g)
    green_area = shapely.union_all(green_parts).area if green_parts else 0.0
    hard_area = shapely.union_all(hard_parts).intersection(site_m).area if hard_parts else 0.0
    bill: list[dict[str, Any]] = []

    def line(code: str, item: Text | str, quantity: float, unit: str, unit_cost: float) -> None:
        # a cost estimate: quantities to the centimetre (or the piece), costs to the yuan,
        # each line's cost its rounded quantity times the unit price, the total their sum
        if quantity > 0:
            qty = round(quantity, 2)
            bill.append(
                {
                    "code": code,
                    "item": item,
                    "quantity": qty,
                    "unit": Msg(UNITS[unit]),
                    "unit_code": unit,
                    "unit_cost": unit_cost,
                    "cost": round(qty * unit_cost),
                }
            )

    def bill_item(group: str, table: Mapping[str, str], code: str) -> Msg:
        return Msg(
            "{group} · {item}",
            group=names.label(names.FEATURE_KINDS, group),
            item=names.label(table, code),
        )

    for layer, area in sorted(green_by_layer.items()):
        item = bill_item("green", names.PLANT_LAYERS, layer)
        line(f"green:{layer}", item, area, "m2", costs.green_per_m2.get(layer, 0.0))
    for layer, n in sorted(plants.items()):
        item = bill_item("plant", names.PLANT_LAYERS, layer)
        line(f"plant:{layer}", item, n, "plant", costs.plant_each.get(layer, 0.0))
    for surface, area in sorted(path_area.items()):
        item = bill_item("path", names.PATH_SURFACES, surface)
        line(f"path:{surface}", item, area, "m2", costs.path_per_m2.get(surface, 0.0))
    for kind, n in sorted(facilities.items()):
        facility = names.label(names.FACILITY_TYPES, kind)
        line(f"facility:{kind}", facility, n, "each", costs.facility_each.get(kind, 0.0))
    return {
        "site_area_m2": round(site_area, 2),
        "green_area_m2": round(green_area, 2),
        "green_ratio": round(green_area / site_area, 4) if site_area else None,
        "hard_area_m2": round(hard_area, 2),
        "green_by_layer_m2": {k: round(v, 2) for k, v in sorted(green_by_layer.items())},
        "path_length_m": {k: round(v, 2) for k, v in sorted(path_length.items())},
        "path_length_by_width_m": {k: round(v, 2) for k, v in sorted(path_width.items())},
        "plants_by_layer": dict(sorted(plants.items())),
        "plants_by_species": dict(sorted(plant_species.items())),
        "facilities": dict(sorted(facilities.items())),
        "seasons": [s for s in SEASONS if s in seasons],
        "all_seasons": all(s in seasons for s in SEASONS),
        "bill": bill,
        "total_cost": sum(b["cost"] for b in bill),
    }


def check(
    site: BaseGeometry,
    features: Sequence[Feature],
    buildings: Iterable[tuple[Text | str, BaseGeometry]],
    *,
    epsg: int,
    rules: Rules | None = None,
    species: Mapping[str, Species] | None = None,
) -> list[dict[str, Any]]:
    """Every rule violation: the feature's id (for the drawing page), the rule, and a message
    naming the feature as people do (and what it clashes with) with the numbers.

    ``buildings`` are (label, footprint): the label as residents name the building (7号楼).
    """
    rules = rules or Rules()
    species = species if species is not None else species_table()
    site_m = to_metric(site, epsg)
    walls = [(label, to_metric(g, epsg)) for label, g in buildings]
    out: list[dict[str, Any]] = []
    numbers = names.ordinals([(f.kind, f.props) for f in features])

    def name_of(f: Feature, n: int) -> Msg:
        named = find_species(f.props.get("species"), species) if f.kind == "plant" else []
        return names.feature(f.kind, f.props, n, species_name(named[0]) if named else None)

    label = {id(f): name_of(f, n) for f, n in zip(features, numbers, strict=True)}

    def bad(feature: Feature, rule: str, message: Msg, **extra: Any) -> None:
        out.append(
            {
                "feature": feature.id,
                "rule": rule,
                "message": message,
                "feature_name": label[id(feature)],
                **extra,
            }
        )

    surfaces: list[tuple[Feature, BaseGeometry]] = []
    for f in features:
        if not f.geom.is_valid:
            bad(
                f,
                "valid_geometry",
                Msg(
                    "{feature}: invalid geometry: {reason}",
                    feature=label[id(f)],
                    reason=validity_reason(f.geom),
                ),
            )
            continue
        g = to_metric(f.geom, epsg)
        outside = g.difference(site_m)
        if (g.area > 0 and outside.area > AREA_EPS_M2) or (
            g.area == 0 and not site_m.buffer(0.05).covers(g)
        ):
            bad(f, "inside_site", Msg("{feature} reaches outside the site", feature=label[id(f)]))
        if f.kind == "path":
            width = _width(f)
            if f.props.get("purpose") == "barrier_free" and width < rules.barrier_free_width_m:
                bad(
                    f,
                    "barrier_free_width",
                    Msg(
                        "{feature} is a barrier-free path {width:g} m wide; at least "
                        "{minimum:g} m is required",
                        feature=label[id(f)],
                        width=width,
                        minimum=rules.barrier_free_width_m,
                    ),
                )
            surfaces.append((f, path_surface(g, width)))
        elif f.kind in ("green", "water"):
            surfaces.append((f, g))
        elif f.kind == "plant":
            named = find_species(f.props.get("species"), species)
            layer = named[0].layer if named else str(f.props.get("layer") or "")
            if layer == "tree":
                for wall_label, wall in walls:
                    d = wall.distance(g)
                    if d < rules.tree_wall_m:
                        bad(
                            f,
                            "tree_wall_distance",
                            Msg(
                                "{feature} is a tree {distance:.1f} m from {building}; keep at "
                                "least {minimum:g} m",
                                feature=label[id(f)],
                                distance=d,
                                building=wall_label,
                                minimum=rules.tree_wall_m,
                            ),
                            building=wall_label,
                        )
    for f, s in surfaces:
        for wall_label, wall in walls:
            if s.intersection(wall).area > AREA_EPS_M2:
                bad(
                    f,
                    "building_overlap",
                    Msg("{feature} overlaps {building}", feature=label[id(f)], building=wall_label),
                    building=wall_label,
                )
    for i, (f, s) in enumerate(surfaces):
        for other, t in surfaces[i + 1 :]:
            if s.intersection(t).area > AREA_EPS_M2 and not (f.kind == other.kind == "path"):
                bad(
                    f,
                    "feature_overlap",
                    Msg("{feature} overlaps {other}", feature=label[id(f)], other=label[id(other)]),
                    other=other.id,
                    other_name=label[id(other)],
                )
    return out


# --- what a draft changes ------------------------------------------------------------------

SAME_M = 0.3  # features this close (and of the same kind) are the same feature
SAME_AREA_SHARE = 0.03  # …or whose areas differ by less than this share


def _key(f: Feature, species: Mapping[str, Species]) -> str:
    """What a feature is, as the words about changes count it (``green``, ``plant:tree``,
    ``path``, ``facility:bench``, ``water``…)."""
    if f.kind == "plant":
        named = find_species(f.props.get("species"), species)
        return f"plant:{named[0].layer if named else f.props.get('layer') or 'tree'}"
    if f.kind == "facility":
        return f"facility:{f.props.get('type') or 'other'}"
    if f.kind == "keep" and f.props.get("type") == "water":
        return "water"  # drafts made before water could be drawn
    return f.kind


def same(a: BaseGeometry, b: BaseGeometry) -> bool:
    """Two metric geometries of the same feature (a copy, or moved by a snap)."""
    if a.geom_type != b.geom_type:
        return False
    if a.area > 0 or b.area > 0:
        biggest = max(a.area, b.area)
        return a.symmetric_difference(b).area <= max(SAME_AREA_SHARE * biggest, 0.05)
    return bool(a.hausdorff_distance(b) <= SAME_M)


def match(
    left: Sequence[Feature], right: Sequence[Feature], *, epsg: int
) -> tuple[list[tuple[Feature, Feature]], list[Feature], list[Feature]]:
    """Features of ``left`` and ``right`` that are the same (same kind, same place and shape),
    those only in ``left`` and those only in ``right``."""
    rights = [(f, to_metric(f.geom, epsg)) for f in right]
    used: set[int] = set()
    pairs: list[tuple[Feature, Feature]] = []
    only_left: list[Feature] = []
    for f in left:
        g = to_metric(f.geom, epsg)
        for i, (other, og) in enumerate(rights):
            if i not in used and other.kind == f.kind and same(g, og):
                used.add(i)
                pairs.append((f, other))
                break
        else:
            only_left.append(f)
    only_right = [f for i, (f, _) in enumerate(rights) if i not in used]
    return pairs, only_left, only_right


def changes(
    site: BaseGeometry,
    before: Sequence[Feature],
    after: Sequence[Feature],
    *,
    epsg: int,
    species: Mapping[str, Species] | None = None,
) -> dict[str, Any]:
    """What ``after`` (a draft) changes against ``before`` (the site as it is): features added
    and removed by what they are (counts; paths also in metres) and the green ratio before and
    after, for the plain words residents read ("新增种植池 2 处，绿地率从 33.7% 到 37.1%")."""
    species = species if species is not None else species_table()
    _pairs, removed, added = match(before, after, epsg=epsg)

    def tally(feats: Sequence[Feature]) -> list[dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for f in feats:
            if f.kind == "zone":
                continue  # zones name parts of the garden; they are not built
            key = _key(f, species)
            row = out.setdefault(key, {"what": key, "count": 0})
            row["count"] += 1
            if f.kind == "path":
                length = row.get("length_m", 0.0) + to_metric(f.geom, epsg).length
                row["length_m"] = round(length, 1)
        order = ("green", "water", "plant", "path", "facility", "keep")
        return sorted(out.values(), key=lambda r: (order.index(r["what"].split(":")[0]), r["what"]))

    ratio_before = metrics(site, before, epsg=epsg, species=species)["green_ratio"]
    ratio_after = metrics(site, after, epsg=epsg, species=species)["green_ratio"]
    return {
        "added": tally(added),
        "removed": tally(removed),
        "green_ratio": {"before": ratio_before, "after": ratio_after},
    }
