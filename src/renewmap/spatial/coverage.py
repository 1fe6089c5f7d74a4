"""Which buildings lie within walking distance (default 300 m) of a green or activity site.

Distances run along the path network (networkx shortest paths over the noded path lines, in
metres in a projected CRS), with short straight connectors from a building or a site to the
nearest network point. Where no path comes close (or there are no paths), the straight-line
distance is used instead, and the answer says which method gave it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import networkx as nx
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from renewmap.spatial.crs import to_metric

SNAP_M = 50.0  # how far a building or a site may be from the network to join it
STEP_M = 5.0  # node spacing along paths: distances are good to a few metres


@dataclass(frozen=True)
class Coverage:
    building: str
    households: int
    distance_m: float | None
    covered: bool
    method: str  # network | straight


Node = tuple[float, float]  # a network node: rounded metric coordinates


def _network(
    lines_m: Sequence[BaseGeometry],
) -> tuple[nx.Graph[Node | str], shapely.STRtree | None, list[Node]]:
    graph: nx.Graph[Node | str] = nx.Graph()
    if not lines_m:
        return graph, None, []
    # split where lines cross, with a node every STEP_M so buildings can join anywhere along
    noded = shapely.segmentize(shapely.union_all(list(lines_m)), STEP_M)
    parts = list(getattr(noded, "geoms", [noded]))
    for part in parts:
        if not isinstance(part, LineString):
            continue
        coords = [(round(x, 3), round(y, 3)) for x, y in part.coords]
        for a, b in itertools.pairwise(coords):
            if a != b:
                graph.add_edge(a, b, weight=Point(a).distance(Point(b)))
    nodes = cast(list[Node], list(graph.nodes))  # coordinates only so far
    tree = shapely.STRtree([Point(n) for n in nodes]) if nodes else None
    return graph, tree, nodes


def _entries(
    g: BaseGeometry, tree: shapely.STRtree | None, nodes: list[Node]
) -> list[tuple[Node, float]]:
    """Where a shape joins the network: every node within one step of its nearest node (so a
    wide garden or building joins along its whole side), with the straight gap to each; none
    when the network is more than SNAP_M away."""
    if tree is None:
        return []
    nearest = g.distance(Point(nodes[int(tree.nearest(g))]))
    if nearest > SNAP_M:
        return []
    near = tree.query(g.buffer(nearest + STEP_M))
    return [(nodes[int(i)], g.distance(Point(nodes[int(i)]))) for i in near]


def walking_coverage(
    buildings: Sequence[tuple[str, int, BaseGeometry]],
    destinations: Sequence[BaseGeometry],
    paths: Sequence[BaseGeometry],
    *,
    epsg: int,
    radius_m: float = 300.0,
) -> list[Coverage]:
    """For each (label, households, footprint) building: its walking distance to the nearest
    destination and whether that is within ``radius_m``. Inputs in WGS84."""
    lines_m = [to_metric(p, epsg) for p in paths]
    dest_m = [to_metric(d, epsg) for d in destinations]
    graph, tree, nodes = _network(lines_m)
    # distance from every node to the nearest destination, through the network
    sources: dict[Node, float] = {}
    for d in dest_m:
        for node, gap in _entries(d, tree, nodes):
            sources[node] = min(gap, sources.get(node, float("inf")))
    reach: dict[Node | str, float] = {}
    if sources:
        graph.add_node("dest")
        for node, gap in sources.items():
            graph.add_edge("dest", node, weight=gap)
        reach = nx.single_source_dijkstra_path_length(graph, "dest", weight="weight")
        graph.remove_node("dest")
    out = []
    for label, households, footprint in buildings:
        fp = to_metric(footprint, epsg)
        straight = min((fp.distance(d) for d in dest_m), default=None)
        joins = [reach[node] + gap for node, gap in _entries(fp, tree, nodes) if node in reach]
        if joins:
            walk = min(joins)
            out.append(Coverage(label, households, round(walk, 1), walk <= radius_m, "network"))
        else:  # not connected: the straight line is the best estimate there is
            covered = straight is not None and straight <= radius_m
            shown = None if straight is None else round(straight, 1)
            out.append(Coverage(label, households, shown, covered, "straight"))
    return out
