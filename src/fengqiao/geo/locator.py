"""In-memory point-to-grid index: which grid polygon holds a longitude/latitude point.

A point on a border shared by several grids goes to the grid with the smallest code, so the answer
never depends on insertion order. Geometries are sorted by code, which makes "smallest position"
mean "smallest code" everywhere below.

Speed comes from a lookup raster built once with the STRtree: the bounding box is cut into square
cells, and each cell records whether it lies inside exactly one grid (answer known), touches no grid
(no answer), or touches several (candidate grids, tested exactly with `shapely.intersects_xy` on
prepared polygons). Most points are answered by array indexing alone and no shapely Point is ever
built; measured against a bare `STRtree.query(points, predicate="intersects")`, whose cost is
dominated by creating one Point object per input, this is 3-4x faster (see bench/bench_locate.py).

A single lookup (`locate`) reads plain Python arrays (`array.array`: no numpy scalar per step)
and tests a mixed cell's candidates against their bounding box first (exact: a polygon holds no
point outside its closed box); a candidate that *is* its box (an axis-aligned rectangle, as
topologically equal) answers by that comparison alone, others by `shapely.intersects_xy`.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import shapely

# Cells per typical grid (16 = a 4 x 4 raster over a median grid) and a cap on the whole raster;
# finer cells answer more points without a polygon test but cost build time and memory.
_CELLS_PER_GRID = 16
_MAX_CELLS = 1 << 19
# Cell value meaning "no grid here"; values <= _MIXED mean "test candidates of mixed cell -v-2".
_NONE = -1
_MIXED = -2

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class GridShape:
    """One grid to index; `geometry` is a GeoJSON Polygon or MultiPolygon in WGS-84 lng/lat."""

    grid_id: int
    code: str
    village_id: int
    town_id: int
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GridHit:
    """The grid a point falls in."""

    grid_id: int
    code: str
    village_id: int
    town_id: int


class GridIndex:
    """Grids sorted by code, their STRtree, and the cell raster that answers most lookups."""

    def __init__(self, grids: Sequence[GridShape]) -> None:
        ordered = sorted(grids, key=lambda grid: (grid.code, grid.grid_id))
        self.grid_ids = np.array([grid.grid_id for grid in ordered], dtype=np.int64)
        self.codes = np.array([grid.code for grid in ordered], dtype=object)
        self.village_ids = np.array([grid.village_id for grid in ordered], dtype=np.int64)
        self.town_ids = np.array([grid.town_id for grid in ordered], dtype=np.int64)
        self._hits = [GridHit(g.grid_id, g.code, g.village_id, g.town_id) for g in ordered]
        geojson = [
            orjson.dumps(grid.geometry, option=orjson.OPT_SERIALIZE_NUMPY) for grid in ordered
        ]
        geometries = shapely.from_geojson(geojson)
        invalid = ~shapely.is_valid(geometries)
        if invalid.any():  # a self-crossing ring would make the predicates below unreliable
            geometries[invalid] = shapely.make_valid(geometries[invalid])
        shapely.prepare(geometries)
        self.geometries: npt.NDArray[np.object_] = geometries
        self.tree = shapely.STRtree(geometries)
        self._build_raster()

    @classmethod
    def build(cls, grids: Sequence[GridShape]) -> GridIndex:
        """Index `grids` (any order; ties on a shared border go to the smallest code)."""
        return cls(grids)

    def __len__(self) -> int:
        return len(self._hits)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lng, min_lat, max_lng, max_lat) of all grids; NaN when the index is empty."""
        return (self._min_x, self._min_y, self._max_x, self._max_y)

    def _build_raster(self) -> None:
        bounds = shapely.bounds(self.geometries)
        if np.isnan(bounds).all():  # no grids, or only empty geometries
            self._min_x = self._min_y = self._max_x = self._max_y = math.nan
            self._nx = self._ny = 1
            self._cell_w = self._cell_h = 1.0
            self._cell_values = np.full(1, _NONE, dtype=np.int64)
            self._starts = self._stops = self._candidates = np.zeros(0, dtype=np.int64)
            self._single_arrays(bounds)
            return
        self._min_x, self._min_y = (float(v) for v in np.nanmin(bounds[:, :2], axis=0))
        self._max_x, self._max_y = (float(v) for v in np.nanmax(bounds[:, 2:], axis=0))
        width, height = self._max_x - self._min_x, self._max_y - self._min_y
        # Size cells from the median grid, not from the whole box: a province's grids are
        # small in towns and large in the hills, inside a box that is partly sea.
        sizes = np.sqrt((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]))
        side = float(np.nanmedian(sizes)) / math.sqrt(_CELLS_PER_GRID)
        side = max(side, math.sqrt(width * height / _MAX_CELLS), 1e-9)  # 1e-9: never zero
        self._nx = max(1, min(math.ceil(width / side), _MAX_CELLS))
        self._ny = max(1, min(math.ceil(height / side), _MAX_CELLS // self._nx))
        self._cell_w = width / self._nx or 1.0
        self._cell_h = height / self._ny or 1.0

        cell = np.arange(self._nx * self._ny)
        col, row = cell % self._nx, cell // self._nx
        # Grow each cell by a hair so that every point the cell arithmetic puts into a cell
        # is inside its box despite rounding (about 1e-14 degrees; cells are metres wide).
        margin = 1e-6 * min(self._cell_w, self._cell_h)
        boxes = shapely.box(
            self._min_x + col * self._cell_w - margin,
            self._min_y + row * self._cell_h - margin,
            self._min_x + (col + 1) * self._cell_w + margin,
            self._min_y + (row + 1) * self._cell_h + margin,
        )
        box_of, grid_of = self.tree.query(boxes, predicate="intersects")
        order = np.lexsort((grid_of, box_of))  # candidates ascending = smallest code first
        box_of, grid_of = box_of[order], grid_of[order]
        counts = np.bincount(box_of, minlength=len(cell))
        single = counts[box_of] == 1
        covered = shapely.covers(self.geometries[grid_of[single]], boxes[box_of[single]])
        inner_cells, inner_grids = box_of[single][covered], grid_of[single][covered]
        # Cells touching several grids, or one grid that does not cover them, need a test.
        mixed = np.setdiff1d(np.flatnonzero(counts), inner_cells)

        self._cell_values = np.full(len(cell), _NONE, dtype=np.int64)
        self._cell_values[inner_cells] = inner_grids
        self._cell_values[mixed] = _MIXED - np.arange(len(mixed))
        self._starts = np.searchsorted(box_of, mixed)
        self._stops = self._starts + counts[mixed]
        self._candidates = grid_of
        self._single_arrays(bounds)

    def _single_arrays(self, bounds: npt.NDArray[np.float64]) -> None:
        """The raster, candidates and boxes as `array.array` for `locate` (one point at a time)."""
        self._cells_1 = array("q", self._cell_values.tobytes())
        self._starts_1 = array("q", self._starts.astype(np.int64).tobytes())
        self._stops_1 = array("q", self._stops.astype(np.int64).tobytes())
        self._candidates_1 = array("q", self._candidates.astype(np.int64).tobytes())
        # NaN bounds (an empty geometry) fail every comparison: never a box hit.
        self._boxes_1 = array("d", np.ascontiguousarray(bounds, dtype=np.float64).tobytes())
        rectangles = np.zeros(len(self.geometries), dtype=bool)
        # Only a four-cornered ring can be a rectangle cheaply worth checking (`equals` is slow).
        four = shapely.get_num_coordinates(self.geometries) == 5
        finite = np.flatnonzero(four & ~np.isnan(bounds).any(axis=1))
        if len(finite):
            boxes = shapely.box(*bounds[finite].T)
            rectangles[finite] = shapely.equals(self.geometries[finite], boxes)
        self._is_box_1 = bytes(np.asarray(rectangles, dtype=np.uint8))

    def locate_many(self, lng: npt.ArrayLike, lat: npt.ArrayLike) -> IntArray:
        """Position (into `grid_ids`, `codes`, ...) of each point's grid; -1 where none or NaN."""
        x = np.asarray(lng, dtype=np.float64).ravel()
        y = np.asarray(lat, dtype=np.float64).ravel()
        result = np.full(len(x), _NONE, dtype=np.int64)
        inside = (x >= self._min_x) & (x <= self._max_x) & (y >= self._min_y) & (y <= self._max_y)
        points = np.flatnonzero(inside)
        # Same arithmetic as locate(), so both put a point into the same cell.
        col = ((x[points] - self._min_x) / self._cell_w).astype(np.int64)
        row = ((y[points] - self._min_y) / self._cell_h).astype(np.int64)
        cell = np.minimum(row, self._ny - 1) * self._nx + np.minimum(col, self._nx - 1)
        values = self._cell_values[cell]
        result[points] = np.maximum(values, _NONE)
        is_mixed = values <= _MIXED
        pending, mixed = points[is_mixed], _MIXED - values[is_mixed]
        # Visiting points cell by cell keeps each candidate polygon hot in the CPU cache.
        order = np.argsort(mixed, kind="stable")
        pending, mixed = pending[order], mixed[order]
        candidate_at, stop = self._starts[mixed], self._stops[mixed]
        # Round k tests each pending point against its cell's k-th candidate; the first hit is
        # the smallest code because each cell's candidates are in ascending order.
        while len(pending):
            candidate = self._candidates[candidate_at]
            hit = shapely.intersects_xy(self.geometries[candidate], x[pending], y[pending])
            result[pending[hit]] = candidate[hit]
            candidate_at += 1
            keep = ~hit & (candidate_at < stop)
            pending, candidate_at, stop = pending[keep], candidate_at[keep], stop[keep]
        return result

    def locate(self, lng: float, lat: float) -> GridHit | None:
        """The grid holding one point, or None (also for NaN)."""
        if not (self._min_x <= lng <= self._max_x and self._min_y <= lat <= self._max_y):
            return None
        col = min(int((lng - self._min_x) / self._cell_w), self._nx - 1)
        row = min(int((lat - self._min_y) / self._cell_h), self._ny - 1)
        value = self._cells_1[row * self._nx + col]
        if value >= 0:
            return self._hits[value]
        if value == _NONE:
            return None
        mixed = _MIXED - value
        boxes, is_box = self._boxes_1, self._is_box_1
        for candidate in self._candidates_1[self._starts_1[mixed] : self._stops_1[mixed]]:
            at = 4 * candidate
            if not (boxes[at] <= lng <= boxes[at + 2] and boxes[at + 1] <= lat <= boxes[at + 3]):
                continue
            if is_box[candidate] or shapely.intersects_xy(self.geometries[candidate], lng, lat):
                return self._hits[candidate]
        return None
