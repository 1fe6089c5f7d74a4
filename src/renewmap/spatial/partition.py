"""A first partition of a community into grids, for its admins to adjust (issue 15).

Buildings are grouped into ``n`` groups by k-means on their centroids (metric coordinates,
deterministic: farthest-point seeding, Lloyd's iterations), so each grid holds neighbouring
buildings. The outline is then cut with the Voronoi diagram of the buildings' centroids: a
building's Voronoi cell goes to its group, every footprint goes whole to its own group (a
building is never split between two grids), and each group's cells are united. The parts
cover the outline without overlapping; the grid-set validator checks the result like any
drawn set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from renewmap.spatial.geometry import lineal_part, polygonal_part

MAX_ITERATIONS = 100


def kmeans(points: np.ndarray, n: int) -> np.ndarray:
    """The group (0…n-1) of each point: k-means seeded by farthest points from the first, so
    the same input always gives the same groups. Groups are numbered from north-west to
    south-east by their centres (the order people read a map in)."""
    count = len(points)
    n = max(1, min(n, count))
    centres = [points[0]]
    distance = np.linalg.norm(points - points[0], axis=1)
    for _ in range(1, n):
        nxt = int(np.argmax(distance))
        centres.append(points[nxt])
        distance = np.minimum(distance, np.linalg.norm(points - points[nxt], axis=1))
    c = np.array(centres, dtype=float)
    labels = np.zeros(count, dtype=int)
    for i in range(MAX_ITERATIONS):
        d = np.linalg.norm(points[:, None, :] - c[None, :, :], axis=2)
        new = np.argmin(d, axis=1)
        if i and np.array_equal(new, labels):
            break
        labels = new
        for k in range(n):
            members = points[labels == k]
            if len(members):
                c[k] = members.mean(axis=0)
    # north first (larger y), then west (smaller x)
    order = sorted(range(n), key=lambda k: (-round(float(c[k][1]), 0), float(c[k][0])))
    rank = {k: i for i, k in enumerate(order)}
    return np.array([rank[int(label)] for label in labels], dtype=int)


def partition(
    outline: BaseGeometry, footprints: Sequence[BaseGeometry], n: int
) -> list[BaseGeometry]:
    """``n`` (or fewer, with fewer buildings) polygonal parts of ``outline``, in metric
    coordinates; each building's footprint lies whole in exactly one part. Parts that end up
    empty are left out."""
    if not footprints:
        return [outline] if not outline.is_empty else []
    points = np.array([[fp.centroid.x, fp.centroid.y] for fp in footprints], dtype=float)
    labels = kmeans(points, n)
    groups = int(labels.max()) + 1
    feet = [shapely.make_valid(fp) for fp in footprints]
    cells = _cells(outline, points)
    parts: list[BaseGeometry] = []
    for k in range(groups):
        own = [feet[i] for i in range(len(feet)) if labels[i] == k]
        others = [feet[i] for i in range(len(feet)) if labels[i] != k]
        region = shapely.union_all([*(cells[i] for i in range(len(cells)) if labels[i] == k), *own])
        if others:
            region = region.difference(shapely.union_all(others))
        region = polygonal_part(shapely.make_valid(region.intersection(outline)))
        if not region.is_empty:
            parts.append(region)
    return parts


def _cells(outline: BaseGeometry, points: np.ndarray) -> list[BaseGeometry]:
    """The Voronoi cell of each point, clipped to the outline (duplicate points share one)."""
    if len(points) == 1:
        return [outline]
    grown = outline.envelope.buffer(max(outline.envelope.length, 1.0))
    diagram = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=grown)
    cells = list(shapely.get_parts(diagram))
    tree = shapely.STRtree(cells)
    out: list[BaseGeometry] = []
    for x, y in points:
        p = shapely.Point(x, y)
        hits = [cells[int(i)] for i in tree.query(p, predicate="intersects")]
        cell = hits[0] if hits else shapely.Polygon()
        out.append(cell.intersection(outline))
    return out


# --- split by the internal roads ----------------------------------------------------------------

SLIVER_M2 = 300.0  # a face smaller than this (a strip between a road and the fence) is no grid


def split_by_roads(
    outline: BaseGeometry,
    roads: Sequence[BaseGeometry],
    footprints: Sequence[BaseGeometry] = (),
    *,
    sliver_m2: float = SLIVER_M2,
) -> list[BaseGeometry]:
    """The outline cut along its internal roads (metric coordinates), as people draw grids:
    the faces that the outline's boundary and the roads clipped to it enclose. A road that
    ends inside without meeting another line cuts nothing; faces under ``sliver_m2`` are merged
    into the neighbour they share the longest edge with; each building's footprint goes whole
    to the part holding most of it. Parts are ordered north-west to south-east; together they
    cover the outline without overlapping."""
    if outline.is_empty:
        return []
    clipped = [lineal_part(shapely.intersection(r, outline)) for r in roads]
    lines = [c for c in clipped if not c.is_empty]
    noded = shapely.union_all([outline.boundary, *lines])  # nodes every crossing
    faces = [
        f
        for f in shapely.get_parts(shapely.polygonize(list(shapely.get_parts(noded))))
        if outline.covers(f.representative_point())  # not a hole of the outline
    ]
    faces = _merge_slivers(faces, sliver_m2)
    faces = _whole_buildings(faces, [shapely.make_valid(fp) for fp in footprints])
    parts = [polygonal_part(shapely.make_valid(f.intersection(outline))) for f in faces]
    parts = [p for p in parts if not p.is_empty]
    return sorted(parts, key=_reading_order)


def _reading_order(part: BaseGeometry) -> tuple[float, float]:
    p = part.representative_point()
    return (-round(p.y, 0), round(p.x, 0))


def _merge_slivers(faces: list[BaseGeometry], sliver_m2: float) -> list[BaseGeometry]:
    """Faces under ``sliver_m2`` united with the neighbour sharing the longest edge, smallest
    first (one with no neighbour stays)."""
    faces = list(faces)
    while True:
        small = sorted(
            (i for i, f in enumerate(faces) if f.area < sliver_m2), key=lambda i: faces[i].area
        )
        merged = False
        for i in small:
            shared = [
                (faces[i].boundary.intersection(f.boundary).length, j)
                for j, f in enumerate(faces)
                if j != i
            ]
            length, j = max(shared, default=(0.0, -1))
            if length <= 0:
                continue
            faces[j] = shapely.union(faces[j], faces[i])
            del faces[i]
            merged = True
            break
        if not merged:
            return faces


def _whole_buildings(faces: list[BaseGeometry], feet: list[BaseGeometry]) -> list[BaseGeometry]:
    """Each footprint added whole to the face holding most of it, taken from the others."""
    if not faces or not feet:
        return faces
    owner = [max(range(len(faces)), key=lambda k: faces[k].intersection(fp).area) for fp in feet]
    out = []
    for k, face in enumerate(faces):
        own = [fp for fp, o in zip(feet, owner, strict=True) if o == k]
        others = [fp for fp, o in zip(feet, owner, strict=True) if o != k]
        region = shapely.union_all([face, *own]) if own else face
        if others:
            region = region.difference(shapely.union_all(others))
        out.append(region)
    return out
