"""Coordinate conversion between WGS-84, GCJ-02 and BD-09."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengqiao.crs import (
    SUPPORTED_CRS,
    UnknownCRS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

KEQIAO_WGS = (120.49, 30.08)
METRES_PER_DEGREE_LAT = 111_320.0

china_lng = st.floats(min_value=74.0, max_value=134.0)
china_lat = st.floats(min_value=19.0, max_value=53.0)


def metres_east_north(start: tuple[float, float], end: tuple[float, float]) -> tuple[float, float]:
    east = (end[0] - start[0]) * METRES_PER_DEGREE_LAT * math.cos(math.radians(start[1]))
    return east, (end[1] - start[1]) * METRES_PER_DEGREE_LAT


def test_published_reference_values() -> None:
    # Values from the widely used coordtransform libraries (Beijing) and a Zhejiang point.
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx((116.410244499, 39.916404281), abs=1e-8)
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.410369494, 39.921336994), abs=1e-8)
    assert wgs84_to_gcj02(121.0917077, 30.6107779) == pytest.approx(
        (121.096269356, 30.608604332), abs=1e-6
    )
    assert wgs84_to_bd09(121.0917077, 30.6107779) == pytest.approx(
        (121.102717324, 30.614845722), abs=1e-6
    )


def test_keqiao_gcj02_is_a_few_hundred_metres_east_and_south() -> None:
    gcj = wgs84_to_gcj02(*KEQIAO_WGS)
    east, north = metres_east_north(KEQIAO_WGS, gcj)
    assert 350 < east < 500
    assert -320 < north < -220


def test_keqiao_bd09_is_further_north_east_of_gcj02() -> None:
    gcj = wgs84_to_gcj02(*KEQIAO_WGS)
    bd = gcj02_to_bd09(*gcj)
    east, north = metres_east_north(gcj, bd)
    assert 550 < east < 750
    assert 550 < north < 750
    assert wgs84_to_bd09(*KEQIAO_WGS) == bd


@given(china_lng, china_lat)
def test_gcj02_round_trip_is_exact(lng: float, lat: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lng, lat))
    assert back == pytest.approx((lng, lat), abs=1e-7)


@given(china_lng, china_lat)
def test_bd09_round_trip_is_exact(lng: float, lat: float) -> None:
    assert bd09_to_gcj02(*gcj02_to_bd09(lng, lat)) == pytest.approx((lng, lat), abs=1e-7)
    assert bd09_to_wgs84(*wgs84_to_bd09(lng, lat)) == pytest.approx((lng, lat), abs=1e-7)


def test_inverse_beats_the_one_step_approximation() -> None:
    gcj = wgs84_to_gcj02(*KEQIAO_WGS)
    shifted = wgs84_to_gcj02(*gcj)
    one_step = (2 * gcj[0] - shifted[0], 2 * gcj[1] - shifted[1])
    assert abs(one_step[0] - KEQIAO_WGS[0]) > 1e-7  # the crude inverse is metres off ...
    assert gcj02_to_wgs84(*gcj) == pytest.approx(KEQIAO_WGS, abs=1e-9)  # ... ours is not


@pytest.mark.parametrize("point", [(-0.1276, 51.5072), (139.69, 35.69), (120.0, -33.9)])
def test_points_outside_china_are_unchanged(point: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point
    assert to_wgs84(*point, "gcj02") == point


def test_arrays_convert_elementwise_and_keep_their_shape() -> None:
    lng = np.array([120.49, 116.404, -0.1276, np.nan])
    lat = np.array([30.08, 39.915, 51.5072, 30.0])
    for convert in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, bd09_to_wgs84):
        x, y = convert(lng, lat)
        assert isinstance(x, np.ndarray)
        assert x.shape == lng.shape
        for i in range(3):
            assert (x[i], y[i]) == pytest.approx(convert(float(lng[i]), float(lat[i])), abs=1e-12)
        assert math.isnan(x[3])


def test_scalars_come_back_as_floats() -> None:
    lng, lat = to_wgs84(120, 30, "wgs84")
    assert type(lng) is float
    assert type(lat) is float


@pytest.mark.parametrize(
    ("crs", "to_source"),
    [("WGS84", None), ("cgcs2000", None), ("GCJ02", wgs84_to_gcj02), ("Bd09", wgs84_to_bd09)],
)
def test_to_wgs84_dispatches_by_name_in_any_case(
    crs: str, to_source: Callable[[float, float], tuple[float, float]] | None
) -> None:
    source = KEQIAO_WGS if to_source is None else to_source(*KEQIAO_WGS)
    assert to_wgs84(*source, crs) == pytest.approx(KEQIAO_WGS, abs=1e-9)


def test_unknown_crs_names_the_supported_ones() -> None:
    with pytest.raises(UnknownCRS) as error:
        to_wgs84(120.49, 30.08, "epsg:3857")
    assert isinstance(error.value, ValueError)
    for name in SUPPORTED_CRS:
        assert name in str(error.value)
