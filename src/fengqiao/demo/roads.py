"""The demo district's local vector base: its arterials, the streets of the demo town, the canal,
rivers and lakes, with Keqiao's names, clipped to the towns the seed builds. The map draws them
under the grids when no tile source is set, so the demo has streets and names offline.

Deterministic: the same lines for every seed and scale (a gentle meander, not noise), so a road
keeps its place when the district is re-seeded.
"""

from __future__ import annotations

import itertools
import math

import shapely
from shapely.geometry import LineString, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from fengqiao.demo import keqiao as kq
from fengqiao.demo.plan import Org, Row

West, South, East, North = kq.DISTRICT_BBOX
Point = tuple[float, float]

# (name, rank, points): rank 1 are the arterials, labelled from zoom 12; rank 2 the demo town's
# streets, labelled from zoom 14.
ROADS: tuple[tuple[str, int, tuple[Point, ...]], ...] = (
    ("柯桥大道", 1, ((West, 30.085), (East, 30.085))),
    ("群贤路", 1, ((120.40, 30.104), (120.62, 30.104))),
    ("笛扬路", 1, ((120.497, 29.99), (120.497, 30.18))),
    ("金柯桥大道", 1, ((120.517, 29.98), (120.517, 30.19))),
    ("国道104线", 1, ((West, 30.03), (120.45, 30.06), (120.56, 30.095), (East, 30.13))),
    ("杭甬高速", 1, ((West, 30.128), (120.47, 30.132), (120.58, 30.126), (East, 30.124))),
    ("平水大道", 1, ((120.615, 30.02), (120.55, 30.06), (120.517, 30.075))),
    ("王坛线", 1, ((120.58, 29.965), (120.60, 30.0), (120.615, 30.02))),
    ("稽东线", 1, ((120.50, South), (120.50, 30.0), (120.497, 30.03))),
    ("夏履线", 1, ((120.375, 30.035), (120.40, 30.06), (120.43, 30.085))),
    ("漓渚路", 1, ((120.445, 29.985), (120.45, 30.02), (120.47, 30.05))),
    ("安华线", 1, ((120.45, 30.165), (120.45, 30.115), (120.45, 30.085))),
    ("马鞍线", 1, ((120.59, 30.17), (120.575, 30.12), (120.575, 30.085))),
    ("杨汛桥路", 1, ((120.37, 30.145), (120.40, 30.12), (120.40, 30.085))),
    ("鉴湖路", 2, ((120.46, 30.072), (120.55, 30.072))),
    ("湖中路", 2, ((120.46, 30.078), (120.55, 30.078))),
    ("万商路", 2, ((120.46, 30.098), (120.55, 30.098))),
    ("华齐路", 2, ((120.46, 30.121), (120.55, 30.121))),
    ("兴越路", 2, ((120.478, 30.04), (120.478, 30.13))),
    ("轻纺路", 2, ((120.488, 30.04), (120.488, 30.13))),
    ("钱陶公路", 2, ((120.507, 30.04), (120.507, 30.13))),
    ("柯华路", 2, ((120.528, 30.04), (120.528, 30.13))),
)
RIVERS: tuple[tuple[str, tuple[Point, ...]], ...] = (
    ("浙东运河", ((West, 30.091), (120.45, 30.093), (120.55, 30.090), (East, 30.094))),
    ("西小江", ((West, 30.150), (120.45, 30.156), (120.55, 30.148), (East, 30.152))),
)
# (name, centre, half-width and half-height in degrees)
LAKES: tuple[tuple[str, Point, float, float], ...] = (
    ("鉴湖", (120.505, 30.066), 0.010, 0.0025),
    ("瓜渚湖", (120.522, 30.112), 0.005, 0.0035),
)
MEANDER = 0.0006  # degrees, about 60 m
STEP = 0.003  # degrees between the vertices of a drawn line


def _phase(name: str) -> float:
    return sum(ord(ch) for ch in name) % 628 / 100.0


def _meander(name: str, points: tuple[Point, ...]) -> LineString:
    """The polyline densified, each vertex moved sideways along a slow sine."""
    out: list[Point] = []
    travelled = 0.0
    phase = _phase(name)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        steps = max(1, round(length / STEP))
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        for i in range(steps):
            t = i / steps
            d = travelled + t * length
            offset = MEANDER * math.sin(d * 180.0 + phase)
            out.append((x0 + t * (x1 - x0) + offset * nx, y0 + t * (y1 - y0) + offset * ny))
        travelled += length
    out.append(points[-1])
    return LineString(out)


def _lake(name: str, centre: Point, rx: float, ry: float) -> Polygon:
    phase = _phase(name)
    ring = []
    for i in range(48):
        a = 2 * math.pi * i / 48
        r = 1.0 + 0.12 * math.sin(3 * a + phase) + 0.06 * math.sin(5 * a)
        ring.append((centre[0] + rx * r * math.cos(a), centre[1] + ry * r * math.sin(a)))
    return Polygon(ring)


def _row(kind: str, name: str, rank: int, shape: BaseGeometry) -> Row:
    minx, miny, maxx, maxy = shape.bounds
    geometry = mapping(shapely.set_precision(shape, 1e-6))
    return {
        "kind": kind, "name": name, "rank": rank, "min_lng": round(minx, 6),
        "min_lat": round(miny, 6), "max_lng": round(maxx, 6), "max_lat": round(maxy, 6),
        "geometry": geometry,
    }  # fmt: skip


def plan_base_features(district: Org) -> list[Row]:
    """Rows of `base_feature`: the lines and lakes, clipped to the towns the seed builds."""
    area = shapely.union_all([town.shape for town in district.children])
    planned: list[tuple[str, str, int, BaseGeometry]] = [
        ("road", name, rank, _meander(name, points)) for name, rank, points in ROADS
    ]
    planned += [("river", name, 1, _meander(name, points)) for name, points in RIVERS]
    planned += [("lake", name, 1, _lake(name, c, rx, ry)) for name, c, rx, ry in LAKES]
    rows = []
    for kind, name, rank, shape in planned:
        clipped = shapely.intersection(shape, area)
        if not clipped.is_empty and clipped.length > 0:
            rows.append(_row(kind, name, rank, clipped))
    return rows
