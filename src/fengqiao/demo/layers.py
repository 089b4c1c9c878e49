"""The demo district's map layers: points of interest, cameras and their statuses, IoT devices,
and today's patrols of the grid workers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely

from fengqiao.demo import keqiao as kq
from fengqiao.demo import patrols as demo_patrols
from fengqiao.demo.boundaries import geojson, json_polygon, points_in
from fengqiao.demo.plan import Org, Row, Scale, parent_of
from fengqiao.geo.locator import GridIndex, GridShape

Feature = tuple[str, int, str, dict[str, Any], str | None]  # kind, grid index, name, props, code


@dataclass
class _Features:
    """Accumulates POIs and cameras, each tied to the grid it will be placed in."""

    grids: list[Org]
    rng: np.random.Generator
    planned: list[Feature] = field(default_factory=list)
    used_names: set[str] = field(default_factory=set)
    numbers: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(
        self, kind: str, grid: int, name: str, props: dict[str, Any], code: str | None = None
    ) -> None:
        self.planned.append((kind, grid, name, props, code))

    def pick(self, count: int, weights: np.ndarray) -> list[int]:
        """`count` grid indices drawn with `weights`, sorted so a grid's features sit together."""
        if count <= 0:
            return []
        chosen = self.rng.choice(len(self.grids), size=count, p=weights / weights.sum())
        return sorted(chosen.tolist())

    def draw(self, choices: Sequence[str]) -> str:
        return choices[int(self.rng.integers(len(choices)))]

    def numbered(self, kind: str, grid: int) -> int:
        """1, 2, ... per kind within the grid's village, so such names never clash."""
        key = (kind, parent_of(self.grids[grid]).code)
        self.numbers[key] = self.numbers.get(key, 0) + 1
        return self.numbers[key]

    def unique(self, prefix: str, middles: Sequence[str], suffix: str = "") -> str:
        """`prefix + a drawn middle + suffix`, not used before; after a few clashes, numbered."""
        name = prefix + self.draw(middles) + suffix
        for _ in range(8):
            if name not in self.used_names:
                break
            name = prefix + self.draw(middles) + suffix
        base, n = name, 1
        while name in self.used_names:
            n += 1
            name = f"{base}{n}"
        self.used_names.add(name)
        return name

    def rows(self, first_id: int = 1) -> list[Row]:
        """Rows with coordinates drawn inside each grid's stored polygon, a grid at a time."""
        per_grid = np.bincount([f[1] for f in self.planned], minlength=len(self.grids))
        points: dict[int, Iterator[list[float]]] = {}
        for i in np.flatnonzero(per_grid).tolist():
            stored = shapely.from_geojson(json_polygon(self.grids[i].shape))
            points[i] = iter(points_in(stored, int(per_grid[i]), self.rng).tolist())
        rows: list[Row] = []
        for feature_id, (kind, i, name, props, code) in enumerate(self.planned, start=first_id):
            lng, lat = next(points[i])
            rows.append(
                {
                    "id": feature_id,
                    "kind": kind,
                    "code": code,
                    "name": name,
                    "lng": lng,
                    "lat": lat,
                    "grid_id": self.grids[i].id,
                    "props": props,
                }
            )
        return rows


def plan_features(spec: Scale, grids: list[Org], rng: np.random.Generator) -> list[Row]:
    """POIs and cameras, each generated inside a chosen grid so its grid_id is known."""
    out = _Features(grids, rng)
    urban = np.asarray([g.area_type == "urban" for g in grids])
    grid_type = np.asarray([g.grid_type for g in grids])
    villages = [parent_of(g) for g in grids]
    stems = [v.name.removesuffix("社区").removesuffix("村") for v in villages]

    # Hospitals: a health centre in each town first, then private hospitals.
    towns = list(dict.fromkeys(parent_of(v) for v in villages))[: spec.pois["hospital"]]
    for town in towns:
        in_town = [i for i, v in enumerate(villages) if v.parent is town]
        i = in_town[int(rng.integers(len(in_town)))]
        suffix = "社区卫生服务中心" if town.area_type == "urban" else "卫生院"
        out.add("hospital", i, f"{town.name}{suffix}", {"beds": int(rng.integers(30, 150))})
    for i in out.pick(spec.pois["hospital"] - len(towns), np.where(urban, 3.0, 1.0)):
        name = out.unique(stems[i], kq.HOSPITAL_SUFFIXES)
        out.add("hospital", i, name, {"beds": int(rng.integers(20, 500))})

    # Schools: one in every school grid, the rest more often in urban grids.
    school_grids = [i for i, g in enumerate(grids) if g.grid_type == "school"]
    school_grids = school_grids[: spec.pois["school"]]
    extra = out.pick(spec.pois["school"] - len(school_grids), np.where(urban, 2.0, 1.0))
    for i in sorted(school_grids + extra):
        stage, low, high = kq.SCHOOL_STAGES[int(rng.integers(len(kq.SCHOOL_STAGES)))]
        name = out.unique(stems[i], (stage,))
        out.add("school", i, name, {"students": int(rng.integers(low, high))})

    for i in out.pick(spec.pois["emergency_resource"], np.ones(len(grids))):
        name = f"{villages[i].name}应急物资储备点{out.numbered('emergency', i):02d}"
        props = {
            "resource": out.draw(kq.EMERGENCY_RESOURCES),
            "quantity": int(rng.integers(10, 500)),
        }
        out.add("emergency_resource", i, name, props)

    weights = np.where(grid_type == "enterprise", 30.0, np.where(urban, 1.0, 1.5))
    words = kq.ENTERPRISE_WORDS
    trade_names = [
        p + a + b for p in kq.ENTERPRISE_PREFIXES for a in words for b in words if a != b
    ]
    for i in out.pick(spec.pois["enterprise"], weights):
        industry = out.draw(kq.INDUSTRIES)
        name = out.unique("", trade_names, f"{industry}有限公司")
        props = {"industry": industry, "employees": int(rng.integers(8, 600))}
        out.add("enterprise", i, name, props)

    for i in out.pick(spec.pois["hydrant"], np.where(urban, 2.0, 1.0)):
        name = f"{villages[i].name}消火栓{out.numbered('hydrant', i):03d}"
        out.add("hydrant", i, name, {"type": out.draw(kq.HYDRANT_TYPES), "pressure_mpa": 0.3})

    # GB/T 28181 ids: 8-digit centre, 2-digit industry, 3-digit type (132: IP camera), serial.
    weights = np.where(urban, 3.0, 1.0) * np.where(grid_type == "market", 3.0, 1.0)
    for serial, i in enumerate(out.pick(spec.cameras, weights), start=1):
        code = f"{kq.DISTRICT_CODE}00" + "00" + "132" + f"{serial:07d}"
        place = out.draw(kq.CAMERA_PLACES)
        name = f"{villages[i].name}{place}监控{out.numbered('camera', i):03d}"
        props = {
            "stream_url": f"rtsp://video.example.invalid/{code}",
            "vendor": out.draw(kq.CAMERA_VENDORS),
        }
        out.add("camera", i, name, props, code)
    return out.rows()


def plan_camera_statuses(features: list[Row], seed: int, now: datetime) -> list[Row]:
    """The registry row of every camera: most online and seen within the last minutes, some
    offline since hours or days, a few faulty. Drawn from a generator of its own, so the places
    of everything else stay where they were."""
    rng = np.random.default_rng(seed + 28181)
    rows: list[Row] = []
    for feature in features:
        if feature["kind"] != "camera":
            continue
        draw = float(rng.random())
        status = "online" if draw < 0.94 else "offline" if draw < 0.99 else "fault"
        minutes = float(rng.uniform(0, 5)) if status == "online" else float(rng.uniform(60, 7200))
        seen = now - timedelta(minutes=minutes)
        rows.append(
            {
                "feature_id": feature["id"],
                "status": status,
                "last_seen_at": seen,
                "status_at": seen,
                "updated_at": now,
            }
        )
    return rows


def plan_devices(
    spec: Scale, grids: list[Org], rng: np.random.Generator, *, first_id: int
) -> list[Row]:
    """IoT devices on the map: water-quality sensors on rural rivers, smoke detectors in urban
    rental housing. Planned after every other feature, so those stay where they were."""
    out = _Features(grids, rng)
    urban = np.asarray([g.area_type == "urban" for g in grids])
    water, smoke = spec.devices
    kinds = (
        ("water_quality", "水质传感器", "河道水质监测点", "WQ", water, np.where(urban, 1.0, 3.0)),
        ("smoke_detector", "烟感探测器", "出租房烟感", "SD", smoke, np.where(urban, 4.0, 1.0)),
    )
    for device_type, label, place, prefix, count, weights in kinds:
        for serial, i in enumerate(out.pick(count, weights), start=1):
            name = f"{parent_of(grids[i]).name}{place}{out.numbered(device_type, i):02d}"
            props = {"device_type": device_type, "label_zh": label, "status": "online"}
            out.add("iot_device", i, name, props, f"IOT-{prefix}-{serial:05d}")
    return out.rows(first_id=first_id)


def plan_patrols(
    grids: list[Org],
    users: list[Row],
    assignments: list[Row],
    rng: np.random.Generator,
    now: datetime,
) -> demo_patrols.PatrolPlan:
    """Today's patrols of the grid workers, each starting somewhere inside their grid."""
    by_id = {g.id: g for g in grids}
    index = GridIndex.build(
        [
            GridShape(g.id, g.code, parent_of(g).id, parent_of(parent_of(g)).id, geojson(g.shape))
            for g in grids
        ]
    )
    per_grid = Counter(a["grid_id"] for a in assignments)
    starts: dict[int, Iterator[list[float]]] = {}
    for grid_id, count in sorted(per_grid.items()):
        stored = shapely.from_geojson(json_polygon(by_id[grid_id].shape))
        starts[grid_id] = iter(points_in(stored, count, rng).tolist())
    walkers = []
    for assignment in sorted(assignments, key=lambda a: a["user_id"]):
        grid = by_id[assignment["grid_id"]]
        lng, lat = next(starts[grid.id])
        walkers.append(
            demo_patrols.Walker(
                assignment["user_id"], grid.id, grid.path, grid.shape.bounds, (lng, lat)
            )
        )
    demo_worker = next(u["id"] for u in users if u["username"] == "demo_grid_worker")
    return demo_patrols.plan_patrols(
        walkers, index=index, now=now, rng=rng, closed_user=demo_worker
    )
