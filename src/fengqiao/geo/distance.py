"""Distances on the Earth and nearest searches: the event center's duplicate search, patrol
tracks and the nearest workers and cameras share them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

# The mean Earth radius (IUGG).
EARTH_RADIUS_M = 6_371_008.8

Box = tuple[float, float, float, float]  # south, north, west, east


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def haversine_many(
    lat: npt.ArrayLike, lng: npt.ArrayLike, lat0: float, lng0: float
) -> npt.NDArray[np.float64]:
    """Great-circle distances in metres from one point to many (for nearest searches)."""
    p1 = np.radians(np.asarray(lat, dtype=np.float64))
    p0 = math.radians(lat0)
    dp = p1 - p0
    dl = np.radians(np.asarray(lng, dtype=np.float64) - lng0)
    a = np.sin(dp / 2) ** 2 + math.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
    result: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return result


class Located(Protocol):
    @property
    def lat(self) -> float: ...
    @property
    def lng(self) -> float: ...


L = TypeVar("L", bound=Located)


def bounding_box(lat: float, lng: float, radius_m: float) -> Box:
    """(south, north, west, east) of a box holding the circle of `radius_m` around a point."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlng = min(180.0, dlat / max(math.cos(math.radians(lat)), 1e-6))
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng


def rank_by_distance(items: Sequence[L], lat: float, lng: float) -> list[tuple[L, float]]:
    """(item, metres) nearest first, metres to 0.1 m."""
    if not items:
        return []
    metres = haversine_many([i.lat for i in items], [i.lng for i in items], lat, lng)
    ranked = sorted(zip(items, metres.tolist(), strict=True), key=lambda pair: pair[1])
    return [(item, round(distance, 1)) for item, distance in ranked]
