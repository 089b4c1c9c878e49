"""Pure track arithmetic: distance, duration and grid coverage of a run of GPS points, and the
lines a map draws for it. No database, no clock: the service and the demo seed both use it.

Rules (docs/patrol.md):
- a gap of more than `GAP_S` between two points breaks the track: the line ends, and the
  unknown way between them is not counted;
- a point that would mean moving faster than `MAX_SPEED_MPS` from the last good point is a GPS
  jump: it is stored and shown in GPX, but neither counted nor drawn;
- distance is the sum of great-circle (haversine) lengths of the remaining steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from fengqiao.geo.distance import (
    EARTH_RADIUS_M,
    Box,
    Located,
    bounding_box,
    haversine_m,
    haversine_many,
    rank_by_distance,
)

L = TypeVar("L", bound=Located)

# Re-exported: the patrol service, the demo seed and the tests reach them through this module.
__all__ = ["EARTH_RADIUS_M", "Box", "bounding_box", "haversine_m", "haversine_many"]

# Longer without a fix and the track is broken (phone in a pocket, building, tunnel).
GAP_S = 300.0
# 108 km/h: faster than a grid worker moves in town, on foot, by e-bike or by car.
MAX_SPEED_MPS = 30.0
# The one-map's track layer drops points closer than this to the last point it kept.
SIMPLIFY_M = 10.0
# Nearest searches look in boxes of these half-widths in turn, then everywhere.
SEARCH_RADII_M = (2_000.0, 8_000.0, 32_000.0)


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One stored position as the arithmetic needs it (`at` timezone-aware)."""

    at: datetime
    lat: float
    lng: float
    grid_id: int | None = None


@dataclass(frozen=True)
class TrackState:
    """Running totals of a track, enough to extend it with later points without rereading.

    `last_*` is the last good point (the anchor the next step is measured from).
    """

    distance_m: float = 0.0
    points: int = 0
    grids: tuple[int, ...] = ()
    first_at: datetime | None = None
    last_at: datetime | None = None
    last_lat: float | None = None
    last_lng: float | None = None

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last good point."""
        if self.first_at is None or self.last_at is None:
            return 0.0
        return (self.last_at - self.first_at).total_seconds()


def _step(anchor: TrackPoint | None, point: TrackPoint) -> tuple[str, float]:
    """How `point` continues from the last good point: ("start" | "step" | "jump", metres)."""
    if anchor is None:
        return "start", 0.0
    seconds = (point.at - anchor.at).total_seconds()
    if seconds > GAP_S:
        return "start", 0.0
    metres = haversine_m(anchor.lat, anchor.lng, point.lat, point.lng)
    if metres > MAX_SPEED_MPS * max(seconds, 1.0):
        return "jump", metres
    return "step", metres


def extend(state: TrackState, points: Iterable[TrackPoint]) -> TrackState:
    """`state` with `points` (in time order, all later than `state.last_at`) added."""
    anchor = (
        TrackPoint(state.last_at, state.last_lat, state.last_lng)
        if state.last_at is not None and state.last_lat is not None and state.last_lng is not None
        else None
    )
    distance, count = state.distance_m, state.points
    grids = list(state.grids)
    seen = set(grids)
    first_at = state.first_at
    for point in points:
        count += 1
        if point.grid_id is not None and point.grid_id not in seen:
            seen.add(point.grid_id)
            grids.append(point.grid_id)
        kind, metres = _step(anchor, point)
        if kind == "jump":
            continue
        distance += metres
        anchor = point
        if first_at is None:
            first_at = point.at
    return replace(
        state,
        distance_m=distance,
        points=count,
        grids=tuple(grids),
        first_at=first_at,
        last_at=anchor.at if anchor else None,
        last_lat=anchor.lat if anchor else None,
        last_lng=anchor.lng if anchor else None,
    )


def summarise(points: Sequence[TrackPoint]) -> TrackState:
    """Totals of a whole track (points in any order)."""
    return extend(TrackState(), sorted(points, key=lambda p: p.at))


def lines(points: Sequence[TrackPoint], *, simplify_m: float = 0.0) -> list[list[list[float]]]:
    """The track as [[lng, lat], ...] lines for a GeoJSON MultiLineString: broken at gaps, GPS
    jumps left out, single-point pieces dropped (a line needs two positions). With
    `simplify_m`, a point closer than that to the last one kept is skipped, except that each
    line still ends where its piece of track ends."""
    result: list[list[list[float]]] = []
    current: list[list[float]] = []
    skipped: list[float] | None = None  # the last point simplification left out
    anchor: TrackPoint | None = None
    kept: TrackPoint | None = None
    for point in sorted(points, key=lambda p: p.at):
        kind, _ = _step(anchor, point)
        if kind == "jump":
            continue
        anchor = point
        if kind == "start":
            _close(result, current, skipped)
            current, skipped, kept = [], None, None
        if (
            kept is not None
            and simplify_m > 0
            and haversine_m(kept.lat, kept.lng, point.lat, point.lng) < simplify_m
        ):
            skipped = [point.lng, point.lat]
            continue
        current.append([point.lng, point.lat])
        kept, skipped = point, None
    _close(result, current, skipped)
    return [[[round(x, 6), round(y, 6)] for x, y in line] for line in result]


def _close(
    result: list[list[list[float]]], line: list[list[float]], skipped: list[float] | None
) -> None:
    if skipped is not None:
        line.append(skipped)
    if len(line) >= 2:
        result.append(line)


def gap_segments(points: Sequence[TrackPoint]) -> list[list[TrackPoint]]:
    """Every point (jumps included), in time order, split where the track breaks on a gap; for
    GPX, which records what the phone sent."""
    segments: list[list[TrackPoint]] = []
    previous: TrackPoint | None = None
    for point in sorted(points, key=lambda p: p.at):
        if previous is None or (point.at - previous.at).total_seconds() > GAP_S:
            segments.append([])
        segments[-1].append(point)
        previous = point
    return segments


def nearest(
    fetch: Callable[[Box | None], Sequence[L]], lat: float, lng: float, limit: int
) -> list[tuple[L, float]]:
    """The `limit` items nearest to a point. `fetch(box)` returns the candidates inside a box
    (the database filters on it) or, given None, all of them. Boxes grow until `limit` items lie
    within the box's radius: an item in a box's corner may be farther than one just outside."""
    for radius in (*SEARCH_RADII_M, None):
        box = bounding_box(lat, lng, radius) if radius is not None else None
        ranked = rank_by_distance(fetch(box), lat, lng)
        within = [pair for pair in ranked if radius is None or pair[1] <= radius]
        if len(within) >= limit or radius is None:
            return within[:limit]
    raise AssertionError("unreachable")
