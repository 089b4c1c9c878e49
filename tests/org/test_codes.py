"""Org codes: kinds by length, parents by prefix, numbering west→east then north→south."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengqiao.org.codes import (
    child_code,
    code_problem,
    district_code,
    kind_of_code,
    parent_code,
    reading_order,
)
from fengqiao.org.models import ORG_KINDS, ORG_LEVEL_ZH


@pytest.mark.parametrize(
    ("code", "kind", "parent"),
    [
        ("330000", "province", None),
        ("330600", "city", "330000"),
        ("330603", "district", "330600"),
        ("330100", "city", "330000"),
        ("330106", "district", "330100"),
        ("000000", None, None),
        ("003300", None, None),
        ("330603001", "town", "330603"),
        ("330603001002", "village", "330603001"),
        ("330603001002003", "grid", "330603001002"),
        ("33060300100200", None, None),
        ("33060300100200x", None, None),
        ("", None, None),
        ("３３０６０３", None, None),  # full-width digits are not code digits
    ],
)
def test_kind_and_parent(code: str, kind: str | None, parent: str | None) -> None:
    assert kind_of_code(code) == kind
    assert parent_code(code) == parent


def test_code_problems() -> None:
    assert code_problem("330603001002003", "grid", "330603001002") is None
    assert "15 digits" in (code_problem("330603001002", "grid") or "")
    assert "000" in (code_problem("330603001002000", "grid") or "")
    assert "parent" in (code_problem("330603001003001", "grid", "330603001002") or "")
    assert "digits only" in (code_problem("33060300100200a", "grid") or "")


def test_division_code_problems() -> None:
    assert code_problem("330000", "province") is None
    assert code_problem("330600", "city", "330000") is None
    assert code_problem("330603", "district", "330600") is None
    # A city's code starts with its province's 2 digits, a district's with its city's 4.
    assert "parent's code 32" in (code_problem("330600", "city", "320000") or "")
    assert "parent's code 3307" in (code_problem("330603", "district", "330700") or "")
    # The suffix says the kind: a district code is not a city code and so on.
    assert "end in 00 but not 0000" in (code_problem("330603", "city") or "")
    assert "end in 0000" in (code_problem("330600", "province") or "")
    assert "not end in 00" in (code_problem("330600", "district") or "")
    assert "not end in 00" in (code_problem("330000", "district") or "")
    assert "00" in (code_problem("000600", "city") or "")
    assert "6 digits" in (code_problem("3306", "city") or "")


def test_district_code_and_kinds() -> None:
    assert district_code("330603001002003") == "330603"
    assert district_code("330603") == "330603"
    assert district_code("330600") is None
    assert district_code("330000") is None
    assert ORG_KINDS == ("province", "city", "district", "town", "village", "grid")
    assert ORG_LEVEL_ZH["province"] == "省" and ORG_LEVEL_ZH["city"] == "市"


def test_child_code() -> None:
    assert child_code("330603001", 7) == "330603001007"
    with pytest.raises(ValueError):
        child_code("330603001", 1000)


def test_reading_order_runs_west_to_east_then_north_to_south() -> None:
    # Two rows of three grids; the input is shuffled.
    centroids = [
        (120.3, 30.0),
        (120.1, 30.1),
        (120.2, 30.0),
        (120.3, 30.1),
        (120.1, 30.0),
        (120.2, 30.1),
    ]
    order = reading_order(centroids, row_height=0.05)
    assert [centroids[i] for i in order] == [
        (120.1, 30.1), (120.2, 30.1), (120.3, 30.1),
        (120.1, 30.0), (120.2, 30.0), (120.3, 30.0),
    ]  # fmt: skip


@given(st.lists(st.tuples(st.floats(120, 121), st.floats(29, 31)), max_size=30))
def test_reading_order_is_a_deterministic_permutation(centroids: list[tuple[float, float]]) -> None:
    order = reading_order(centroids, row_height=0.1)
    assert sorted(order) == list(range(len(centroids)))
    assert order == reading_order(centroids, row_height=0.1)
