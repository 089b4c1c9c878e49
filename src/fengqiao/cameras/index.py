"""The nearest cameras to a point, in memory: the process keeps every camera's point in arrays
sorted by latitude, cuts the latitude band of the search circle with a binary search, and
measures great-circle distances only inside it.

`CameraIndex` is pure (no database); `CameraLocator` holds one per process and rebuilds it when
the registry's change counter (or the grids', which decide scope) has moved.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.geo.distance import EARTH_RADIUS_M, haversine_many
from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import OrgUnit
from fengqiao.org.service import GRIDS_COUNTER, read_counter

CAMERAS_COUNTER = "cameras"
# Org levels a camera's grid path holds: district, town, village, grid.
LEVELS = 4


def path_ids(path: str) -> tuple[int, ...]:
    """The org unit ids of a materialised path ("/1/5/20/" → (1, 5, 20))."""
    return tuple(int(part) for part in path.strip("/").split("/") if part)


@dataclass(frozen=True)
class CameraIndex:
    """Every camera's id, point and org ancestry, in latitude order."""

    ids: npt.NDArray[np.int64]
    lat: npt.NDArray[np.float64]
    lng: npt.NDArray[np.float64]
    # levels[k][i]: the id of camera i's org unit at depth k (-1: none, e.g. no grid).
    levels: npt.NDArray[np.int64]

    @classmethod
    def build(cls, rows: Iterable[tuple[int, float, float, str | None]]) -> CameraIndex:
        """From (feature id, lat, lng, grid path or None) rows."""
        items = list(rows)
        ids = np.fromiter((r[0] for r in items), dtype=np.int64, count=len(items))
        lat = np.fromiter((r[1] for r in items), dtype=np.float64, count=len(items))
        lng = np.fromiter((r[2] for r in items), dtype=np.float64, count=len(items))
        levels = np.full((LEVELS, len(items)), -1, dtype=np.int64)
        for i, (_id, _lat, _lng, path) in enumerate(items):
            for depth, unit_id in enumerate(path_ids(path or "")[:LEVELS]):
                levels[depth, i] = unit_id
        order = np.argsort(lat, kind="stable")
        return cls(ids[order], lat[order], lng[order], levels[:, order])

    def __len__(self) -> int:
        return int(self.ids.size)

    def nearest(
        self,
        lat: float,
        lng: float,
        *,
        limit: int,
        radius_m: float,
        scope: tuple[int, ...] = (),
    ) -> list[tuple[int, float]]:
        """(feature id, metres to 0.1 m) of the `limit` cameras nearest to a point within
        `radius_m`, nearest first, among those under the org unit whose path ids are `scope`
        (the district, or no scope, means every camera)."""
        dlat = math.degrees(radius_m / EARTH_RADIUS_M)
        lo = int(np.searchsorted(self.lat, lat - dlat, side="left"))
        hi = int(np.searchsorted(self.lat, lat + dlat, side="right"))
        if hi <= lo:
            return []
        band = slice(lo, hi)
        dlng = min(180.0, dlat / max(math.cos(math.radians(lat)), 1e-6))
        keep = np.abs(self.lng[band] - lng) <= dlng
        if len(scope) > 1:  # below the district: only cameras in that subtree
            depth = min(len(scope), LEVELS) - 1
            keep &= self.levels[depth, band] == scope[depth]
        picked = np.flatnonzero(keep) + lo
        if picked.size == 0:
            return []
        metres = haversine_many(self.lat[picked], self.lng[picked], lat, lng)
        inside = metres <= radius_m
        picked, metres = picked[inside], metres[inside]
        if picked.size > limit:
            top = np.argpartition(metres, limit - 1)[:limit]
            picked, metres = picked[top], metres[top]
        order = np.lexsort((self.ids[picked], metres))
        return [(int(self.ids[picked[k]]), round(float(metres[k]), 1)) for k in order.tolist()]


def load_index(db: Session) -> tuple[CameraIndex, tuple[int, int]]:
    """Every stored camera with its grid's path, and the counters it was read at."""
    generation = (
        read_counter(db=db, name=CAMERAS_COUNTER),
        read_counter(db=db, name=GRIDS_COUNTER),
    )
    rows = db.execute(
        select(LayerFeature.id, LayerFeature.lat, LayerFeature.lng, OrgUnit.path)
        .outerjoin(OrgUnit, OrgUnit.id == LayerFeature.grid_id)
        .where(LayerFeature.kind == "camera")
    )
    return CameraIndex.build((r[0], r[1], r[2], r[3]) for r in rows), generation


class CameraLocator:
    """The process's camera index, rebuilt when the registry or the grids change.

    A change bumps the `cameras` (or `grids`) counter in the database; an instance compares
    them at most every `check_seconds`, so instances behind one load balancer agree within that
    span; the instance that made the change forgets its index at once (`invalidate`).
    """

    def __init__(self, check_seconds: float) -> None:
        self.check_seconds = check_seconds
        self._index: CameraIndex | None = None
        self._generation: tuple[int, int] | None = None
        self._checked_at = -math.inf
        self._lock = threading.Lock()

    def needs_check(self) -> bool:
        return self._index is None or time.monotonic() - self._checked_at >= self.check_seconds

    def index(self, db: Session) -> CameraIndex:
        """The index, checked against the stored counters when `check_seconds` have passed."""
        index = self._index
        if index is not None and not self.needs_check():
            return index
        with self._lock:
            if self._index is not None and self._generation is not None:
                current = (
                    read_counter(db=db, name=CAMERAS_COUNTER),
                    read_counter(db=db, name=GRIDS_COUNTER),
                )
                if current == self._generation:
                    self._checked_at = time.monotonic()
                    return self._index
            self._index, self._generation = load_index(db)
            self._checked_at = time.monotonic()
            return self._index

    def invalidate(self) -> None:
        """Forget the index; the next search rebuilds it (after this process changed cameras)."""
        with self._lock:
            self._index = None
            self._generation = None
