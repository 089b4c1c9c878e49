"""The demo district's well-known places, with addresses: what people type into the search box
(柯桥区中医医院, 柯桥中学, 中国轻纺城, …). Each stands in its town's urban core (the grids
nearest the town's seat), with points drawn by a generator of its own, so every other feature
stays where it was."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shapely

from fengqiao.demo.boundaries import json_polygon, points_in
from fengqiao.demo.keqiao import TOWNS
from fengqiao.demo.plan import Org, Row, parent_of


class Landmark(NamedTuple):
    town: str
    kind: str
    name: str
    address: str


LANDMARKS: tuple[Landmark, ...] = (
    Landmark("柯桥街道", "hospital", "柯桥区中医医院", "柯桥街道笛扬路"),
    Landmark("柯桥街道", "school", "柯桥中学", "柯桥街道湖西路"),
    Landmark("柯桥街道", "enterprise", "中国轻纺城", "柯桥街道金柯桥大道"),
    Landmark("柯桥街道", "hospital", "柯桥区妇幼保健院", "柯桥街道万达路"),
    Landmark("柯岩街道", "hospital", "柯桥区人民医院", "柯岩街道柯岩大道"),
    Landmark("柯岩街道", "school", "鲁迅中学柯桥校区", "柯岩街道鉴湖路"),
    Landmark("华舍街道", "enterprise", "华舍纺织工业园", "华舍街道华齐路"),
    Landmark("钱清街道", "enterprise", "钱清轻纺原料市场", "钱清街道钱清大道"),
    Landmark("兰亭街道", "school", "兰亭书法学校", "兰亭街道兰亭路"),
    Landmark("齐贤街道", "enterprise", "齐贤纺织印染园区", "齐贤街道齐贤大道"),
    Landmark("安昌街道", "school", "安昌中学", "安昌街道安华路"),
    Landmark("平水镇", "hospital", "平水镇中心卫生院", "平水镇平水大道"),
)


def plan_landmarks(grids: list[Org], seed: int, *, first_id: int) -> list[Row]:
    """The landmarks of the towns the plan has, each in a grid near its town's seat."""
    rng = np.random.default_rng(seed + 110)
    seats = {t.name: (t.lng, t.lat) for t in TOWNS}
    by_town: dict[str, list[Org]] = {}
    for grid in grids:
        by_town.setdefault(parent_of(parent_of(grid)).name, []).append(grid)
    rows: list[Row] = []
    placed: dict[str, int] = {}
    for landmark in LANDMARKS:
        town_grids = by_town.get(landmark.town)
        if not town_grids:
            continue
        lng0, lat0 = seats[landmark.town]
        nearest = sorted(
            town_grids,
            key=lambda g: (g.shape.centroid.x - lng0) ** 2 + (g.shape.centroid.y - lat0) ** 2,
        )
        grid = nearest[placed.get(landmark.town, 0) % len(nearest)]
        placed[landmark.town] = placed.get(landmark.town, 0) + 1
        stored = shapely.from_geojson(json_polygon(grid.shape))
        lng, lat = points_in(stored, 1, rng).tolist()[0]
        rows.append(
            {
                "id": first_id + len(rows),
                "kind": landmark.kind,
                "code": None,
                "name": landmark.name,
                "lng": lng,
                "lat": lat,
                "grid_id": grid.id,
                "props": {"address": landmark.address},
            }
        )
    return rows
