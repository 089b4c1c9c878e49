"""The anomalies planted in the demo year, for the early warnings (预警) to find.

Three kinds, spread over the year and the district, each a list of extra events:

- spike: one class in one village at ten times its expected count (at least 10 events) over
  1-3 days;
- cluster: 3-5 stability events (信访维稳, 劳资纠纷) in one village within a week;
- repeat: 3-4 events of one class within 20 m of one spot over 5-25 days.

The plan is a deterministic function of the seeded district, the event count, the end of the year
and the seed (its own random stream), so `planted_anomalies` gives a test the same list the seed
filed, without storing it anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import shapely

from fengqiao.geo.distance import EARTH_RADIUS_M
from fengqiao.geo.locator import GridIndex

# Fewer events than this and the year is too thin to plant anything in (the tests' tiny seeds).
MIN_EVENTS = 2000
SPIKES, CLUSTERS, REPEATS = 8, 5, 8
# A spike files ten times the class's expected count in its days, and at least SPIKE_MIN: a
# clear burst (docs/warnings.md says what the detector misses below that).
SPIKE_FACTOR, SPIKE_MIN = 10.0, 10
SPIKE_CLASSES = ("河道水体污染", "燃气及用火安全（含蜂窝煤炉）", "噪声扰民", "食品安全隐患",
                 "乱堆乱放", "违法建筑", "渣土泥浆", "电动自行车违规充电")  # fmt: skip
STABILITY_CLASSES = ("劳资纠纷", "群体性事件苗头", "信访诉求", "涉稳重点人员动态")
REPEAT_CLASSES = ("乱堆乱放", "占道经营", "僵尸车及违停", "环境卫生", "河道水体污染",
                  "消防通道堵塞", "设施报修", "违法建筑")  # fmt: skip
REPEAT_RADIUS_M = 20.0
# Anomalies lie after the first eight weeks (so a baseline exists) and end a few days before
# the end of the year.
FIRST_DAY, LAST_MARGIN_DAYS = 60, 4


@dataclass(frozen=True)
class PlantedEvent:
    """One extra event: its local day number in the year, time of day, place and class."""

    day: int
    hour: int
    second: int
    lng: float
    lat: float
    position: int  # in the grid index
    category: int  # index into the seed's class codes


@dataclass(frozen=True)
class PlantedAnomaly:
    kind: str  # spike | cluster | repeat
    village_id: int
    town_id: int
    grid_id: int | None  # the spot's grid (repeat)
    category_codes: tuple[str, ...]
    start: datetime  # first and last planted event
    end: datetime
    lat: float | None  # the spot (repeat)
    lng: float | None
    events: tuple[PlantedEvent, ...]


@dataclass(frozen=True)
class Background:
    """What the seed's background year looks like, as the planting needs it."""

    index: GridIndex
    accept_share: npt.NDArray[np.float64]  # per grid position: how densely events land there
    area_of_position: npt.NDArray[np.int64]  # 0 urban, 1 rural
    day_p: npt.NDArray[np.float64]  # share of the year's events on each local day
    hour_p: npt.NDArray[np.float64]
    class_p: npt.NDArray[np.float64]  # [day, area, class], rows sum to 1
    codes: list[str]
    names: list[str]
    local_start: datetime  # local midnight of day 0

    def moment(self, day: int, hour: int, second: int) -> datetime:
        return self.local_start + timedelta(days=day, hours=hour, seconds=second)


def plan(background: Background, *, count: int, until: datetime, seed: int) -> list[PlantedAnomaly]:
    """The anomalies planted in a year of `count` events ending at `until`."""
    if count < MIN_EVENTS:
        return []
    rng = np.random.default_rng([seed, 6])  # a stream of its own: the background is unchanged
    planter = _Planter(background, rng, count)
    last_day = int((until - background.local_start).total_seconds() // 86400) - LAST_MARGIN_DAYS
    out: list[PlantedAnomaly] = []
    for kind, n, offset in (("spike", SPIKES, 0.0), ("cluster", CLUSTERS, 0.3),
                            ("repeat", REPEATS, 0.6)):  # fmt: skip
        span = (last_day - FIRST_DAY) / n
        for i in range(n):
            day = FIRST_DAY + int(span * (i + offset * rng.random()))
            out.append(getattr(planter, kind)(day, min(last_day, day + 30)))
    return out


class _Planter:
    def __init__(self, background: Background, rng: np.random.Generator, count: int) -> None:
        self.bg, self.rng, self.count = background, rng, count
        index = background.index
        weight = shapely.area(index.geometries) * background.accept_share
        self.villages = sorted({int(v) for v in index.village_ids})
        self.positions = {v: np.flatnonzero(index.village_ids == v) for v in self.villages}
        self.village_share = {
            v: float(weight[self.positions[v]].sum() / weight.sum()) for v in self.villages
        }
        self.weight = weight
        self.by_name = {name: i for i, name in enumerate(background.names)}

    def _village(self) -> int:
        return self.villages[int(self.rng.integers(len(self.villages)))]

    def _class(self, names: tuple[str, ...]) -> int:
        known = [self.by_name[n] for n in names if n in self.by_name]
        return known[int(self.rng.integers(len(known)))]

    def _hour(self) -> tuple[int, int]:
        return int(self.rng.choice(24, p=self.bg.hour_p)), int(self.rng.integers(3600))

    def _point_in(self, position: int) -> tuple[float, float]:
        geometry = self.bg.index.geometries[position]
        min_x, min_y, max_x, max_y = shapely.bounds(geometry)
        while True:
            lng = self.rng.uniform(min_x, max_x, 32)
            lat = self.rng.uniform(min_y, max_y, 32)
            hits = np.flatnonzero(self.bg.index.locate_many(lng, lat) == position)
            if len(hits):
                return float(lng[hits[0]]), float(lat[hits[0]])

    def _position_in(self, village: int) -> int:
        positions = self.positions[village]
        p = self.weight[positions] / self.weight[positions].sum()
        return int(positions[self.rng.choice(len(positions), p=p)])

    def _anomaly(
        self, kind: str, village: int, events: list[PlantedEvent], **extra: object
    ) -> PlantedAnomaly:
        events.sort(key=lambda e: (e.day, e.hour, e.second))
        first, last = events[0], events[-1]
        town = int(self.bg.index.town_ids[self.positions[village][0]])
        return PlantedAnomaly(
            kind=kind, village_id=village, town_id=town,
            grid_id=extra.get("grid_id"),  # type: ignore[arg-type]
            category_codes=tuple(sorted({self.bg.codes[e.category] for e in events})),
            start=self.bg.moment(first.day, first.hour, first.second),
            end=self.bg.moment(last.day, last.hour, last.second),
            lat=extra.get("lat"), lng=extra.get("lng"),  # type: ignore[arg-type]
            events=tuple(events),
        )  # fmt: skip

    def spike(self, day: int, _last: int) -> PlantedAnomaly:
        village, category = self._village(), self._class(SPIKE_CLASSES)
        length = int(self.rng.integers(1, 4))
        area = int(self.bg.area_of_position[self.positions[village][0]])
        expected = (
            self.count
            * self.village_share[village]
            * sum(
                self.bg.day_p[d] * self.bg.class_p[d, area, category]
                for d in range(day, day + length)
            )
        )
        size = max(SPIKE_MIN, math.ceil(SPIKE_FACTOR * expected))
        events = []
        for _ in range(size):
            position = self._position_in(village)
            lng, lat = self._point_in(position)
            hour, second = self._hour()
            events.append(PlantedEvent(day + int(self.rng.integers(length)), hour, second,
                                       lng, lat, position, category))  # fmt: skip
        return self._anomaly("spike", village, events)

    def cluster(self, day: int, _last: int) -> PlantedAnomaly:
        village = self._village()
        span = int(self.rng.integers(2, 7))  # all within 7 days
        events = []
        for _ in range(int(self.rng.integers(3, 6))):
            position = self._position_in(village)
            lng, lat = self._point_in(position)
            hour, second = self._hour()
            events.append(PlantedEvent(day + int(self.rng.integers(span)), hour, second,
                                       lng, lat, position, self._class(STABILITY_CLASSES)))  # fmt: skip
        return self._anomaly("cluster", village, events)

    def repeat(self, day: int, last: int) -> PlantedAnomaly:
        category = self._class(REPEAT_CLASSES)
        span = min(int(self.rng.integers(5, 26)), last - day)
        while True:  # a spot whose whole neighbourhood lies in one grid
            village = self._village()
            position = self._position_in(village)
            lng0, lat0 = self._point_in(position)
            n = int(self.rng.integers(3, 5))
            radius = REPEAT_RADIUS_M * np.sqrt(self.rng.random(n))
            angle = self.rng.uniform(0, 2 * math.pi, n)
            lat = lat0 + np.degrees(radius * np.sin(angle) / EARTH_RADIUS_M)
            lng = lng0 + np.degrees(
                radius * np.cos(angle) / (EARTH_RADIUS_M * math.cos(math.radians(lat0)))
            )
            if (self.bg.index.locate_many(lng, lat) == position).all():
                break
        days = sorted(day + int(d) for d in self.rng.integers(0, span + 1, n))
        days[0], days[-1] = day, day + span
        events = []
        for d, x, y in zip(days, lng, lat, strict=True):
            hour, second = self._hour()
            events.append(PlantedEvent(d, hour, second, float(x), float(y), position, category))
        return self._anomaly(
            "repeat", village, events, grid_id=int(self.bg.index.grid_ids[position]),
            lat=lat0, lng=lng0,
        )  # fmt: skip


def to_json(anomalies: list[PlantedAnomaly]) -> list[dict[str, object]]:
    """The anomalies as plain data (what `fengqiao seed` writes to var/demo-anomalies.json)."""
    return [
        {
            "kind": a.kind,
            "village_id": a.village_id,
            "town_id": a.town_id,
            "grid_id": a.grid_id,
            "category_codes": list(a.category_codes),
            "start": a.start.isoformat(),
            "end": a.end.isoformat(),
            "lat": a.lat,
            "lng": a.lng,
            "events": len(a.events),
        }
        for a in anomalies
    ]
