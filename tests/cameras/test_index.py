"""The in-memory nearest-camera index against a brute-force search over every camera."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fengqiao.cameras.index import CameraIndex


def brute(points: list[tuple[int, float, float, str | None]], lat: float, lng: float,
          limit: int, radius: float, under: str = "/") -> list[tuple[int, float]]:  # fmt: skip
    radius_earth = 6_371_008.8
    found = []
    for fid, plat, plng, path in points:
        if under.strip("/").count("/") > 0 and not (path or "").startswith(under):
            continue
        p1, p2 = math.radians(lat), math.radians(plat)
        h = (math.sin((p2 - p1) / 2) ** 2
             + math.cos(p1) * math.cos(p2) * math.sin(math.radians(plng - lng) / 2) ** 2)  # fmt: skip
        metres = 2 * radius_earth * math.asin(math.sqrt(h))
        if metres <= radius:
            found.append((fid, metres))
    found.sort(key=lambda pair: (pair[1], pair[0]))
    return found[:limit]


@pytest.fixture(scope="module")
def points() -> list[tuple[int, float, float, str | None]]:
    rng = np.random.default_rng(7)
    rows: list[tuple[int, float, float, str | None]] = []
    for i in range(1, 3001):
        # Org ids are unique across the tree, as in the database.
        town = int(rng.integers(2, 4))
        village = town * 100 + int(rng.integers(10, 13))
        grid = village * 100 + i % 7
        path = f"/1/{town}/{village}/{grid}/" if i % 50 else None  # a few cameras in no grid
        rows.append((i, 30.0 + float(rng.random()) * 0.1, 120.5 + float(rng.random()) * 0.1, path))
    return rows


@pytest.mark.parametrize("radius", [150.0, 1_000.0, 5_000.0])
@pytest.mark.parametrize("limit", [1, 10, 50])
def test_the_index_finds_what_brute_force_finds(
    points: list[tuple[int, float, float, str | None]], radius: float, limit: int
) -> None:
    index = CameraIndex.build(points)
    assert len(index) == len(points)
    rng = np.random.default_rng(int(radius) + limit)
    for _ in range(40):
        lat, lng = 29.99 + float(rng.random()) * 0.12, 120.49 + float(rng.random()) * 0.12
        got = index.nearest(lat, lng, limit=limit, radius_m=radius)
        want = brute(points, lat, lng, limit, radius)
        assert [fid for fid, _ in got] == [fid for fid, _ in want]
        assert [m for _, m in got] == pytest.approx([m for _, m in want], abs=0.06)


def test_the_index_keeps_to_the_callers_area(
    points: list[tuple[int, float, float, str | None]],
) -> None:
    index = CameraIndex.build(points)
    for scope, under in [
        ((1, 2), "/1/2/"),
        ((1, 3, 311), "/1/3/311/"),
        ((1, 2, 210, 21003), "/1/2/210/21003/"),
    ]:
        got = index.nearest(30.05, 120.55, limit=20, radius_m=5_000, scope=scope)
        assert got and [f for f, _ in got] == [
            f for f, _ in brute(points, 30.05, 120.55, 20, 5_000, under)
        ]
    # The district sees the cameras in no grid too.
    everything = index.nearest(30.05, 120.55, limit=3000, radius_m=50_000, scope=(1,))
    assert len(everything) == len(points)


def test_an_empty_index_and_an_empty_circle_find_nothing() -> None:
    assert CameraIndex.build([]).nearest(30.0, 120.0, limit=5, radius_m=1_000) == []
    one = CameraIndex.build([(1, 30.0, 120.0, "/1/2/3/4/")])
    assert one.nearest(30.5, 120.0, limit=5, radius_m=1_000) == []
    assert one.nearest(30.0, 120.001, limit=5, radius_m=1_000) == [(1, 96.3)]
