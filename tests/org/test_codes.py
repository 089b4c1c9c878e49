"""Org codes: kinds by length, parents by prefix, numbering west→east then north→south."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengqiao.org.codes import child_code, code_problem, kind_of_code, parent_code, reading_order


@pytest.mark.parametrize(
    ("code", "kind", "parent"),
    [
        ("330603", "district", None),
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
