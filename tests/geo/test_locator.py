"""Point-to-grid lookup: inside, outside, on shared borders (smallest code wins), NaN, empty."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping

from fengqiao.geo.locator import GridHit, GridIndex, GridShape

# Four 0.01-degree squares around Keqiao; codes deliberately not in reading order.
#   30.02 +-----+-----+
#         | G04 | G03 |
#   30.01 +-----+-----+
#         | G02 | G01 |
#   30.00 +-----+-----+
#      120.40 120.41 120.42
# plus G05: two separate squares (a MultiPolygon) east of them, with a gap in between.
X0, X1, X2 = 120.40, 120.41, 120.42
Y0, Y1, Y2 = 30.00, 30.01, 30.02


def square(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def polygon(x0: float, y0: float, x1: float, y1: float) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": square(x0, y0, x1, y1)}


SHAPES = [
    GridShape(3, "G03", 20, 2, polygon(X1, Y1, X2, Y2)),
    GridShape(2, "G02", 10, 1, polygon(X0, Y0, X1, Y1)),
    GridShape(4, "G04", 20, 2, polygon(X0, Y1, X1, Y2)),
    GridShape(1, "G01", 10, 1, polygon(X1, Y0, X2, Y1)),
    GridShape(
        5,
        "G05",
        30,
        3,
        {
            "type": "MultiPolygon",
            "coordinates": [square(120.43, Y0, 120.44, Y1), square(120.45, Y0, 120.46, Y1)],
        },
    ),
]


@pytest.fixture(scope="module")
def index() -> GridIndex:
    return GridIndex.build(SHAPES)


def code_at(index: GridIndex, lng: float, lat: float) -> str | None:
    """The code found by locate, after checking locate_many finds the same grid."""
    hit = index.locate(lng, lat)
    position = int(index.locate_many(np.array([lng]), np.array([lat]))[0])
    if hit is None:
        assert position == -1
        return None
    assert position >= 0
    assert index.grid_ids[position] == hit.grid_id
    assert index.codes[position] == hit.code
    return hit.code


def test_point_inside_a_grid_gives_the_grid_village_and_town(index: GridIndex) -> None:
    assert index.locate(120.415, 30.015) == GridHit(grid_id=3, code="G03", village_id=20, town_id=2)
    position = index.locate_many(np.array([120.405]), np.array([30.005]))[0]
    assert (index.grid_ids[position], index.village_ids[position], index.town_ids[position]) == (
        2,
        10,
        1,
    )


@pytest.mark.parametrize(
    ("lng", "lat", "code"),
    [
        (X1, 30.005, "G01"),  # edge G02 | G01
        (X1, 30.015, "G03"),  # edge G04 | G03
        (120.405, Y1, "G02"),  # edge G02 / G04
        (120.415, Y1, "G01"),  # edge G01 / G03
        (X1, Y1, "G01"),  # the vertex all four share
        (X1, Y2, "G03"),  # top vertex shared by G04 and G03
        (X0, 30.005, "G02"),  # an outer edge belongs to its grid
        (X0, Y0, "G02"),  # an outer corner too
    ],
)
def test_shared_borders_go_to_the_smallest_code(
    index: GridIndex, lng: float, lat: float, code: str
) -> None:
    assert code_at(index, lng, lat) == code


def test_multipolygon_grid_owns_both_parts_and_not_the_gap(index: GridIndex) -> None:
    assert code_at(index, 120.435, 30.005) == "G05"
    assert code_at(index, 120.455, 30.005) == "G05"
    assert code_at(index, 120.445, 30.005) is None  # inside the bounds, in no grid


@pytest.mark.parametrize(
    ("lng", "lat"),
    [(120.5, 30.5), (120.39, 30.005), (120.415, 29.99), (0.0, 0.0), (120.415, 30.0200001)],
)
def test_points_outside_every_grid_find_none(index: GridIndex, lng: float, lat: float) -> None:
    assert code_at(index, lng, lat) is None


@pytest.mark.parametrize(
    ("lng", "lat"), [(math.nan, 30.005), (120.405, math.nan), (math.inf, 30.005), (-math.inf, 0)]
)
def test_nan_and_infinite_coordinates_find_none(index: GridIndex, lng: float, lat: float) -> None:
    assert code_at(index, lng, lat) is None


def test_locate_many_mixes_hits_misses_and_nan(index: GridIndex) -> None:
    positions = index.locate_many(
        np.array([120.405, math.nan, 120.5, X1, 120.455]),
        np.array([30.005, 30.005, 30.5, Y1, 30.005]),
    )
    assert positions.dtype == np.int64
    codes = [index.codes[p] if p >= 0 else None for p in positions]
    assert codes == ["G02", None, None, "G01", "G05"]


def test_arrays_are_sorted_by_code_and_bounds_cover_all_grids(index: GridIndex) -> None:
    assert len(index) == 5
    assert list(index.codes) == ["G01", "G02", "G03", "G04", "G05"]
    assert list(index.grid_ids) == [1, 2, 3, 4, 5]
    assert index.bounds == (X0, Y0, 120.46, Y2)


def test_answers_do_not_depend_on_input_order() -> None:
    shuffled = SHAPES[:]
    random.Random(7).shuffle(shuffled)
    other = GridIndex.build(shuffled)
    assert other.locate(X1, Y1) == GridHit(1, "G01", 10, 1)
    assert list(other.codes) == ["G01", "G02", "G03", "G04", "G05"]


def test_empty_index_finds_nothing() -> None:
    empty = GridIndex.build([])
    assert len(empty) == 0
    assert empty.locate(120.4, 30.0) is None
    assert empty.locate(math.nan, math.nan) is None
    assert empty.locate_many(np.array([120.4, math.nan]), np.array([30.0, 1.0])).tolist() == [
        -1,
        -1,
    ]
    assert all(math.isnan(v) for v in empty.bounds)


def voronoi_index(count: int, seed: int) -> GridIndex:
    rng = np.random.default_rng(seed)
    frame = shapely.box(120.35, 29.95, 120.65, 30.20)
    seeds = shapely.multipoints(
        np.column_stack([rng.uniform(120.35, 120.65, count), rng.uniform(29.95, 30.20, count)])
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    order = rng.permutation(len(cells))  # codes unrelated to the diagram's own order
    return GridIndex.build(
        [
            GridShape(int(i), f"C{order[i]:04d}", 0, 0, dict(mapping(cell)))
            for i, cell in enumerate(cells)
        ]
    )


def test_locate_many_agrees_with_locate_and_a_brute_force_scan() -> None:
    index = voronoi_index(300, seed=1)
    rng = np.random.default_rng(2)
    vertices = shapely.get_coordinates(index.geometries)  # shared edges and corners
    lng = np.concatenate([rng.uniform(120.3, 120.7, 5_000), vertices[:, 0]])
    lat = np.concatenate([rng.uniform(29.9, 30.25, 5_000), vertices[:, 1]])

    positions = index.locate_many(lng, lat)

    expected = np.full(len(lng), -1)
    on_shared_border = 0
    for i, (x, y) in enumerate(zip(lng.tolist(), lat.tolist(), strict=True)):
        owners = np.flatnonzero(shapely.intersects_xy(index.geometries, x, y))
        on_shared_border += len(owners) > 1
        if len(owners):
            expected[i] = min(owners, key=lambda p: index.codes[p])
        hit = index.locate(x, y)
        assert (hit.code if hit else None) == (index.codes[expected[i]] if len(owners) else None)
    assert np.array_equal(positions, expected)
    assert (positions == -1).any()
    assert on_shared_border > 500  # the vertices really test the tie rule


def tiled_index() -> GridIndex:
    """Rectangles tiled as the province seed tiles them (uneven float edges), a four-cornered
    grid that is not a rectangle, and a rectangle with a hole (its box is not the polygon)."""
    rng = np.random.default_rng(3)
    xs = np.concatenate([[120.0], np.sort(rng.uniform(120.0, 120.3, 11)), [120.3]])
    ys = np.concatenate([[30.0], np.sort(rng.uniform(30.0, 30.2, 7)), [30.2]])
    shapes: list[GridShape] = []
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            box = (float(xs[i]), float(ys[j]), float(xs[i + 1]), float(ys[j + 1]))
            shapes.append(GridShape(len(shapes) + 1, f"T{i:02d}{j:02d}", 0, 0, polygon(*box)))
    kite = [[[120.31, 30.05], [120.35, 30.0], [120.39, 30.05], [120.35, 30.1], [120.31, 30.05]]]
    hole = list(reversed(square(120.33, 30.13, 120.37, 30.17)[0]))
    holed = [*square(120.31, 30.11, 120.39, 30.19), hole]
    shapes.append(GridShape(900, "K900", 0, 0, {"type": "Polygon", "coordinates": kite}))
    shapes.append(GridShape(901, "K901", 0, 0, {"type": "Polygon", "coordinates": holed}))
    return GridIndex.build(shapes)


def test_single_lookups_on_rectangle_edges_agree_with_a_brute_force_scan() -> None:
    index = tiled_index()
    # The fast path (a candidate that is its own box answers by comparing numbers) is taken for
    # the tiles only: the kite and the holed square still go through the polygon test.
    assert sum(index._is_box_1) == len(index) - 2
    assert not index._is_box_1[list(index.codes).index("K900")]
    assert not index._is_box_1[list(index.codes).index("K901")]
    vertices = shapely.get_coordinates(index.geometries)
    rng = np.random.default_rng(4)
    # Every corner, the same a hair off in each direction, and random points over everything.
    xs = [*vertices[:, 0], *np.nextafter(vertices[:, 0], 0), *np.nextafter(vertices[:, 0], 200)]
    ys = [*vertices[:, 1], *np.nextafter(vertices[:, 1], 200), *np.nextafter(vertices[:, 1], 0)]
    xs += rng.uniform(119.99, 120.4, 4_000).tolist()
    ys += rng.uniform(29.99, 30.21, 4_000).tolist()
    on_border = inside_hole = 0
    for x, y in zip(xs, ys, strict=True):
        x, y = float(x), float(y)
        owners = np.flatnonzero(shapely.intersects_xy(index.geometries, x, y))
        on_border += len(owners) > 1
        inside_hole += 120.33 < x < 120.37 and 30.13 < y < 30.17
        expected = min((str(index.codes[p]) for p in owners), default=None)
        hit = index.locate(x, y)
        assert (hit.code if hit else None) == expected, (x, y)
    assert on_border > 100 and inside_hole > 10  # the ties and the hole really were tested
