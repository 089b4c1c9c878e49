"""The pure track arithmetic: distance, gaps, GPS jumps, coverage, and that a patrol counted
batch by batch adds up to the same as counted at once."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengqiao.patrol import tracks
from fengqiao.patrol.tracks import TrackPoint
from tests.patrol.conftest import haversine

T0 = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)


def line(count: int, *, step_deg: float = 0.0002, every_s: int = 30) -> list[TrackPoint]:
    return [
        TrackPoint(T0 + timedelta(seconds=k * every_s), 30.0 + k * step_deg, 120.5, 7)
        for k in range(count)
    ]


def test_distance_is_the_sum_of_great_circle_steps() -> None:
    points = line(5)
    expected = sum(haversine(a.lat, a.lng, b.lat, b.lng) for a, b in itertools.pairwise(points))
    state = tracks.summarise(points)
    assert state.distance_m == pytest.approx(expected, rel=1e-9)
    assert state.distance_m == pytest.approx(4 * 22.239, abs=0.01)  # 0.0002° of latitude
    assert state.points == 5 and state.span_s == 120 and state.grids == (7,)


def test_a_long_gap_breaks_the_track_and_is_not_counted() -> None:
    before = line(3)
    after = [TrackPoint(p.at + timedelta(minutes=20), p.lat + 0.01, p.lng, 8) for p in line(3)]
    state = tracks.summarise(before + after)
    assert state.distance_m == pytest.approx(
        tracks.summarise(before).distance_m + tracks.summarise(after).distance_m
    )
    assert state.grids == (7, 8)
    assert len(tracks.lines(before + after)) == 2


def test_a_gps_jump_is_neither_counted_nor_drawn() -> None:
    points = line(5)
    jump = TrackPoint(points[2].at + timedelta(seconds=1), 30.2, 120.5, 9)  # 22 km in 1 s
    state = tracks.summarise([*points, jump])
    assert state.distance_m == pytest.approx(tracks.summarise(points).distance_m)
    assert state.points == 6 and 9 in state.grids  # stored and counted as a point
    assert tracks.lines([*points, jump]) == tracks.lines(points)
    assert sum(len(s) for s in tracks.gap_segments([*points, jump])) == 6


def test_simplified_lines_keep_both_ends() -> None:
    points = line(30, step_deg=0.00002)  # 2.2 m apart
    (simple,) = tracks.lines(points, simplify_m=10.0)
    assert simple[0] == [120.5, 30.0] and simple[-1] == [120.5, round(30.0 + 29 * 0.00002, 6)]
    assert len(simple) == 7  # points 0, 5, ..., 25 (11 m apart) and the last, 29


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(1, 400),  # seconds to the next fix (some gaps are over 300)
            st.floats(-0.002, 0.002),
            st.floats(-0.002, 0.002),
            st.integers(1, 4),
        ),
        min_size=1,
        max_size=60,
    ),
    cuts=st.lists(st.integers(0, 60), max_size=5),
)
def test_counting_batch_by_batch_equals_counting_at_once(
    steps: list[tuple[int, float, float, int]], cuts: list[int]
) -> None:
    points, at, lat, lng = [], T0, 30.0, 120.5
    for seconds, dlat, dlng, grid in steps:
        at, lat, lng = at + timedelta(seconds=seconds), lat + dlat, lng + dlng
        points.append(TrackPoint(at, lat, lng, grid))
    whole = tracks.summarise(points)
    state = tracks.TrackState()
    bounds = sorted({0, len(points), *(c for c in cuts if c <= len(points))})
    for start, end in itertools.pairwise(bounds):
        state = tracks.extend(state, points[start:end])
    assert state.distance_m == pytest.approx(whole.distance_m)
    assert (state.points, state.grids, state.last_at) == (whole.points, whole.grids, whole.last_at)


@dataclass(frozen=True)
class Spot:
    lat: float
    lng: float


def test_nearest_widens_its_box_until_enough_lie_within_it() -> None:
    spots = [Spot(30.0 + d, 120.5) for d in (0.001, 0.05, 0.2, 1.0)]
    asked: list[tracks.Box | None] = []

    def fetch(box: tracks.Box | None) -> list[Spot]:
        asked.append(box)
        if box is None:
            return spots
        south, north, west, east = box
        return [s for s in spots if south <= s.lat <= north and west <= s.lng <= east]

    found = tracks.nearest(fetch, 30.0, 120.5, 3)
    assert [s for s, _ in found] == spots[:3]
    assert len(asked) == 3  # 2 km held one, 8 km two, 32 km three
    asked.clear()
    assert [s for s, _ in tracks.nearest(fetch, 30.0, 120.5, 9)] == spots
    assert len(asked) == 4 and asked[-1] is None  # then everything
    assert found[0][1] == pytest.approx(haversine(30.0, 120.5, 30.001, 120.5), abs=0.1)
