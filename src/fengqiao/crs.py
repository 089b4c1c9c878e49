"""Conversion of longitude/latitude between WGS-84/CGCS2000, GCJ-02 and BD-09.

Fengqiao stores WGS-84 (CGCS2000 differs by centimetres, so the two are treated as one). Chinese
phone map SDKs report GCJ-02 (Amap, Tencent: an obfuscating offset of several hundred metres) or
BD-09 (Baidu: GCJ-02 plus a further offset), so input in those systems must be converted on entry or
an event near a grid border lands in the wrong grid. Every function takes floats or numpy arrays
and returns the same kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Coord = TypeVar("Coord", float, Array)
_Transform = Callable[[Array, Array], tuple[Array, Array]]

SUPPORTED_CRS = ("wgs84", "cgcs2000", "gcj02", "bd09")
CRS_ZH = {"wgs84": "WGS-84（GPS）", "cgcs2000": "CGCS2000", "gcj02": "GCJ-02（高德、腾讯）",
          "bd09": "BD-09（百度）"}  # fmt: skip

# GCJ-02 is defined on the Krasovsky 1940 ellipsoid.
_AXIS = 6378245.0
_ECCENTRICITY_SQ = 0.00669342162296594323
_BD_FACTOR = np.pi * 3000.0 / 180.0
# The inverses iterate until the forward transform of the estimate is this close to the input.
_TOLERANCE_DEG = 1e-10
_MAX_ITERATIONS = 20


class UnknownCRS(ValueError):
    """Raised for a coordinate reference system name this module does not convert."""

    def __init__(self, crs: str) -> None:
        super().__init__(f"unknown CRS {crs!r}; supported: {', '.join(SUPPORTED_CRS)}")


def _out_of_china(lng: Array, lat: Array) -> npt.NDArray[np.bool_]:
    # The GCJ-02 offset applies only inside this rough box, the rule every SDK uses.
    inside = (lng >= 72.004) & (lng <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)
    return ~inside


def _wgs_to_gcj(lng: Array, lat: Array) -> tuple[Array, Array]:
    x, y = lng - 105.0, lat - 35.0
    wave = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += wave + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlng += wave + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlng += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _ECCENTRICITY_SQ * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / (_AXIS * (1.0 - _ECCENTRICITY_SQ) / (magic * sqrt_magic) * np.pi)
    dlng = dlng * 180.0 / (_AXIS / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = _out_of_china(lng, lat)
    return np.where(outside, lng, lng + dlng), np.where(outside, lat, lat + dlat)


def _gcj_to_bd(lng: Array, lat: Array) -> tuple[Array, Array]:
    radius = np.hypot(lng, lat) + 0.00002 * np.sin(lat * _BD_FACTOR)
    theta = np.arctan2(lat, lng) + 0.000003 * np.cos(lng * _BD_FACTOR)
    return radius * np.cos(theta) + 0.0065, radius * np.sin(theta) + 0.006


def _invert(forward: _Transform) -> _Transform:
    """The exact inverse of a small-offset `forward` by fixed-point iteration."""

    def inverse(lng: Array, lat: Array) -> tuple[Array, Array]:
        # x = target - offset(x) contracts because the offset changes slowly with position.
        x, y = lng.copy(), lat.copy()
        for _ in range(_MAX_ITERATIONS):
            fx, fy = forward(x, y)
            dx, dy = fx - lng, fy - lat
            x -= dx
            y -= dy
            if not (np.any(np.abs(dx) > _TOLERANCE_DEG) or np.any(np.abs(dy) > _TOLERANCE_DEG)):
                break
        return x, y

    return inverse


def _identity(lng: Array, lat: Array) -> tuple[Array, Array]:
    return lng, lat


_gcj_to_wgs = _invert(_wgs_to_gcj)
_bd_to_gcj = _invert(_gcj_to_bd)


def _bd_to_wgs(lng: Array, lat: Array) -> tuple[Array, Array]:
    return _gcj_to_wgs(*_bd_to_gcj(lng, lat))


def _wgs_to_bd(lng: Array, lat: Array) -> tuple[Array, Array]:
    return _gcj_to_bd(*_wgs_to_gcj(lng, lat))


def _apply(transform: _Transform, lng: Any, lat: Any) -> tuple[Any, Any]:
    x, y = transform(np.asarray(lng, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    if np.ndim(x) == 0:
        return float(x), float(y)
    return x, y


def wgs84_to_gcj02(lng: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """WGS-84 to GCJ-02; points outside China are returned unchanged."""
    return _apply(_wgs_to_gcj, lng, lat)


def gcj02_to_wgs84(lng: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """GCJ-02 to WGS-84, exact to better than 1e-9 degrees (iterated, not the one-step guess)."""
    return _apply(_gcj_to_wgs, lng, lat)


def gcj02_to_bd09(lng: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """GCJ-02 to Baidu's BD-09."""
    return _apply(_gcj_to_bd, lng, lat)


def bd09_to_gcj02(lng: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """BD-09 to GCJ-02, the exact inverse of `gcj02_to_bd09`."""
    return _apply(_bd_to_gcj, lng, lat)


def wgs84_to_bd09(lng: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """WGS-84 to BD-09 (for showing stored points on a Baidu map)."""
    return _apply(_wgs_to_bd, lng, lat)


def bd09_to_wgs84(lng: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """BD-09 to WGS-84."""
    return _apply(_bd_to_wgs, lng, lat)


_TO_WGS84: dict[str, _Transform] = {
    "wgs84": _identity,
    "cgcs2000": _identity,
    "gcj02": _gcj_to_wgs,
    "bd09": _bd_to_wgs,
}


def to_wgs84(lng: Coord, lat: Coord, crs: str) -> tuple[Coord, Coord]:
    """Convert from the named CRS (one of `SUPPORTED_CRS`, any case) to WGS-84."""
    transform = _TO_WGS84.get(crs.lower())
    if transform is None:
        raise UnknownCRS(crs)
    return _apply(transform, lng, lat)
