"""Throughput of GridIndex against a bare STRtree query, on synthetic Voronoi grids.

Run: .venv/bin/python bench/bench_locate.py [--points 1000000] [--big-grids 100000] [--smoke]

The 1,700-grid case (a district) covers 120.35-120.65 E, 29.95-30.20 N. The 100,000-grid case (a
province) uses a box 7.7x as wide and high around the same centre, so grids keep the same size.
Each case locates 1,000,000 uniform random points in its box; figures are the best of a few runs.
`--smoke`: 2,000 grids for the second case, 20,000 points, one run each (checks the script runs;
its figures mean nothing).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from fengqiao.geo.locator import GridIndex, GridShape

DISTRICT_BOX = (120.35, 29.95, 120.65, 30.20)
POINTS = 1_000_000
SINGLE_LOOKUPS = 200_000
REPEATS = [3]  # best of; one in smoke mode


def voronoi_grids(
    count: int, box: tuple[float, float, float, float], rng: np.random.Generator
) -> list[GridShape]:
    """`count` Voronoi cells of random seeds, clipped to `box`, as GridShape rows."""
    seeds = np.column_stack(
        [rng.uniform(box[0], box[2], count), rng.uniform(box[1], box[3], count)]
    )
    frame = shapely.box(*box)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame))
    cells = shapely.intersection(cells, frame)
    return [
        GridShape(
            grid_id=i + 1,
            code=f"{i:07d}",
            village_id=i // 10,
            town_id=i // 200,
            geometry=dict(mapping(cell)),
        )
        for i, cell in enumerate(cells)
    ]


def best_seconds(run: Callable[[], Any]) -> float:
    best = math.inf
    for _ in range(REPEATS[0]):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def scaled_box(factor: float) -> tuple[float, float, float, float]:
    min_x, min_y, max_x, max_y = DISTRICT_BOX
    cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2
    hw, hh = (max_x - min_x) / 2 * factor, (max_y - min_y) / 2 * factor
    return (cx - hw, cy - hh, cx + hw, cy + hh)


def rss_mb() -> float:
    """Resident memory of this process (Linux), in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def settled_rss_mb() -> float:
    """Resident memory after returning freed heap pages to the system."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mb()


def bench(
    count: int,
    box: tuple[float, float, float, float],
    rng: np.random.Generator,
    points_count: int = POINTS,
) -> None:
    grids = voronoi_grids(count, box, rng)
    before = settled_rss_mb()
    start = time.perf_counter()
    index = GridIndex.build(grids)
    seconds = time.perf_counter() - start
    peak = rss_mb() - before
    print(f"build {count} grids: {seconds:.2f} s")
    print(
        f"index memory {count} grids: {settled_rss_mb() - before:.0f} MB kept, {peak:.0f} MB while building"
    )
    lng = rng.uniform(box[0], box[2], points_count)
    lat = rng.uniform(box[1], box[3], points_count)

    located = index.locate_many(lng, lat)
    many = best_seconds(lambda: index.locate_many(lng, lat))

    # The limit: the same tree and points, with Point objects made beforehand and not timed.
    points = shapely.points(lng, lat)
    bare = best_seconds(lambda: index.tree.query(points, predicate="intersects"))
    point_of, grid_of = index.tree.query(points, predicate="intersects")
    expected = np.full(points_count, len(index), dtype=np.int64)
    np.minimum.at(expected, point_of, grid_of)
    expected[expected == len(index)] = -1
    assert np.array_equal(located, expected), "locate_many disagrees with the STRtree"

    lookups = min(SINGLE_LOOKUPS, points_count)
    singles = list(zip(lng[:lookups].tolist(), lat[:lookups].tolist(), strict=True))
    single = best_seconds(lambda: [index.locate(x, y) for x, y in singles])

    print(f"locate_many {count} grids: {points_count / many:,.0f} points/s")
    print(f"bare STRtree query {count} grids: {points_count / bare:,.0f} points/s")
    print(f"ratio: {bare / many:.2f}")
    print(f"locate single {count} grids: {lookups / single:,.0f} lookups/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=POINTS)
    parser.add_argument("--big-grids", type=int, default=100_000, help="the province case")
    parser.add_argument(
        "--smoke", action="store_true", help="smallest sizes, one run: checks the script runs"
    )
    args = parser.parse_args()
    if args.smoke:
        args.points, args.big_grids, REPEATS[0] = 20_000, 2_000, 1
        print("# smoke mode: 2,000 grids, 20,000 points, one run; the figures below mean nothing")
    rng = np.random.default_rng(20240601)
    bench(1_700, DISTRICT_BOX, rng, args.points)
    bench(args.big_grids, scaled_box(math.sqrt(args.big_grids / 1_700)), rng, args.points)


if __name__ == "__main__":
    main()
