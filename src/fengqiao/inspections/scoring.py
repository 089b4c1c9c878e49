"""Scoring a town against a standard version: pure functions of the items and the results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fengqiao.errors import invalid
from fengqiao.inspections.models import RESULT_FACTOR


@dataclass(frozen=True)
class ItemWeight:
    item_id: int
    weight: float


def item_score(weight: float, result: str) -> float:
    """Points an item earns: its weight when met, half when partly met, none when not met."""
    return round(weight * RESULT_FACTOR[result], 3)


def check_complete(items: Sequence[ItemWeight], given: Sequence[int]) -> None:
    """Refuse a score sheet that leaves out an item of the version, names one twice, or names
    one of another version (field `scores`)."""
    known = {i.item_id for i in items}
    seen: set[int] = set()
    for index, item_id in enumerate(given):
        if item_id not in known:
            raise invalid(f"scores[{index}].item_id", f"item {item_id} is not in the standard",
                          f"条目 {item_id} 不在现行标准中")  # fmt: skip
        if item_id in seen:
            raise invalid(f"scores[{index}].item_id", f"item {item_id} is scored twice",
                          f"条目 {item_id} 重复评分")  # fmt: skip
        seen.add(item_id)
    missing = len(known - seen)
    if missing:
        raise invalid("scores", f"{missing} items of the standard are not scored",
                      f"还有 {missing} 个条目未评分")  # fmt: skip


def total(items: Sequence[ItemWeight], results: Mapping[int, str]) -> float:
    """The sheet's score 0..100: the points earned over the version's weights (which sum to
    100, so this is the sum of points)."""
    weights = sum(i.weight for i in items) or 1.0
    earned = sum(item_score(i.weight, results[i.item_id]) for i in items)
    return round(100.0 * earned / weights, 2)
