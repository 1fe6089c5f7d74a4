"""Grid-set checks and generation (pure shapely; metres in a projected CRS).

``check_grid_set`` finds what makes routing ambiguous or incomplete: invalid grids, overlaps
and gaps above a tolerance, grid area outside the community, and unassigned buildings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from renewmap import names
from renewmap.i18n import Msg, current_locale
from renewmap.spatial.crs import to_metric, transform
from renewmap.spatial.geometry import polygonal_part, validity_reason


@dataclass
class Issue:
    kind: str  # invalid | overlap | gap | outside | unassigned
    msg: Msg
    area_m2: float = 0.0
    grids: list[str] = field(default_factory=list)
    building_id: int | None = None
    location: tuple[float, float] | None = None

    @property
    def message(self) -> str:
        """The problem in the current language."""
        return self.msg.render(current_locale())

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "area_m2": self.area_m2,
            "grids": self.grids,
            "building_id": self.building_id,
            "location": self.location,
        }


@dataclass
class GridSetReport:
    community: str
    tolerance_m2: float
    grid_count: int
    building_count: int
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON data, messages in the current language."""
        return {
            "community": self.community,
            "tolerance_m2": self.tolerance_m2,
            "grid_count": self.grid_count,
            "building_count": self.building_count,
            "issues": [i.as_dict() for i in self.issues],
        }


def _polys(g: BaseGeometry) -> list[BaseGeometry]:
    g = polygonal_part(g)
    return list(cast(shapely.MultiPolygon, g).geoms) if g.geom_type == "MultiPolygon" else [g]


def check_grid_set(
    *,
    community_code: str,
    community_geom: BaseGeometry,
    grids: Sequence[tuple[str, BaseGeometry]],
    buildings: Sequence[tuple[int, str | None, BaseGeometry, str | None]],
    building_names: Sequence[str | None] | None = None,
    community_name: str | None = None,
    epsg: int,
    tolerance_m2: float = 1.0,
) -> GridSetReport:
    """Check a community's grids. ``buildings`` are (id, number, footprint, grid_code);
    ``building_names`` (optional, in the same order) name those without a number."""
    report = GridSetReport(community_code, tolerance_m2, len(grids), len(buildings))
    metric: list[tuple[str, BaseGeometry]] = []
    for code, geom in grids:
        if not geom.is_valid:
            report.issues.append(
                Issue(
                    "invalid",
                    Msg(
                        "grid {grid}: invalid geometry: {reason}",
                        grid=code,
                        reason=validity_reason(geom),
                    ),
                    grids=[code],
                )
            )
            geom = shapely.make_valid(geom)
        metric.append((code, to_metric(geom, epsg)))
    community_m = to_metric(community_geom, epsg)
    geoms = np.array([g for _, g in metric], dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects") if len(geoms) else ([], [])
    for i, j in zip(left, right, strict=True):
        if i >= j:
            continue
        inter = metric[i][1].intersection(metric[j][1])
        area = inter.area
        if area > tolerance_m2:
            c = transform(inter.representative_point(), epsg, 4326)
            report.issues.append(
                Issue(
                    "overlap",
                    Msg(
                        "grids {a} and {b} overlap by {area:.1f} m²",
                        a=metric[i][0],
                        b=metric[j][0],
                        area=area,
                    ),
                    area_m2=round(area, 2),
                    grids=[metric[i][0], metric[j][0]],
                    location=(round(c.x, 7), round(c.y, 7)),
                )
            )
    union = shapely.union_all([g for _, g in metric]) if metric else shapely.Polygon()
    for gap in _polys(community_m.difference(union)):
        if gap.area > tolerance_m2:
            c = transform(gap.representative_point(), epsg, 4326)
            report.issues.append(
                Issue(
                    "gap",
                    Msg(
                        "{area:.1f} m² of the community lies in no grid near "
                        "({lon:.6f}, {lat:.6f})",
                        area=gap.area,
                        lon=c.x,
                        lat=c.y,
                    ),
                    area_m2=round(gap.area, 2),
                    location=(round(c.x, 7), round(c.y, 7)),
                )
            )
    for code, g in metric:
        outside = g.difference(community_m).area
        if outside > tolerance_m2:
            report.issues.append(
                Issue(
                    "outside",
                    Msg(
                        "grid {grid}: {area:.1f} m² lie outside community {community}",
                        grid=code,
                        area=outside,
                        community=community_name or community_code,
                    ),
                    area_m2=round(outside, 2),
                    grids=[code],
                )
            )
    for n, (bid, number, fp, grid_code) in enumerate(buildings):
        if grid_code is None:
            c = fp.representative_point()
            name = building_names[n] if building_names is not None else None
            report.issues.append(
                Issue(
                    "unassigned",
                    Msg(
                        "{building} (near {lon:.6f}, {lat:.6f}) is assigned to no grid",
                        building=names.building(number, name),
                        lon=c.x,
                        lat=c.y,
                    ),
                    building_id=bid,
                    location=(round(c.x, 7), round(c.y, 7)),
                )
            )
    return report


def voronoi_grids(
    *,
    seeds: Sequence[BaseGeometry],
    groups: Sequence[str],
    clip: BaseGeometry,
    epsg: int,
) -> dict[str, BaseGeometry]:
    """Grids from building groups: Voronoi cells of the seed footprints' centroids,
    dissolved by group code and clipped to ``clip`` (all WGS84 in and out)."""
    pts = [to_metric(s.centroid, epsg) for s in seeds]
    clip_m = to_metric(clip, epsg)
    env = clip_m.envelope.buffer(100)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=env)
    out: dict[str, list[BaseGeometry]] = {}
    cell_list = list(cells.geoms)
    cell_tree = shapely.STRtree(cell_list)
    for p, group in zip(pts, groups, strict=True):
        idx = cell_tree.query(p, predicate="intersects")
        cell = cell_list[int(np.min(idx))]
        out.setdefault(group, []).append(cell)
    result: dict[str, BaseGeometry] = {}
    for group, parts in out.items():
        g = polygonal_part(shapely.union_all(parts).intersection(clip_m))
        # Snap coordinates to a 1 cm grid so shared edges stay exactly shared.
        g = shapely.set_precision(g, 0.01)
        result[group] = transform(g, epsg, 4326)
    return result


def best_grid(footprint: BaseGeometry, grids: Sequence[tuple[str, BaseGeometry]]) -> str | None:
    """The grid covering most of a building's footprint (ties: the lower code); None if none.

    Areas in degrees² are fine for comparing overlaps of one footprint at one latitude.
    """
    best: tuple[float, str] | None = None
    for code, g in grids:
        if not g.intersects(footprint):
            continue
        area = footprint.intersection(g).area
        if area > 0 and (best is None or area > best[0] or (area == best[0] and code < best[1])):
            best = (area, code)
    return best[1] if best else None
