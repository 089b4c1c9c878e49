"""Pure checks of a campaign's definition: the measures may not overlap, the period must run
forwards, per-town targets must add up. Each failure names the request field it is about.

Two measures *overlap* when they have the same name and unit, or when they share a class and a
unit: a closed event of that class would then be counted twice in the same unit. Two measures
of one class in different units are fine (拆除违建 counts 处 and m² of the same events)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fengqiao.campaigns.schemas import PERIOD_DAYS_MAX
from fengqiao.errors import Problem, invalid


@dataclass(frozen=True)
class MeasureShape:
    name: str
    unit: str
    classes: tuple[str, ...]
    target: float
    town_targets: dict[int, float]


def check_period(start: date, end: date, *, field: str = "end_date") -> None:
    """A period ends on or after its start and lasts at most two years."""
    if end < start:
        raise invalid(field, "the period ends before it starts", "结束日期早于开始日期")
    if (end - start).days > PERIOD_DAYS_MAX:
        raise invalid(field, "a campaign runs at most two years", "专项整治周期最长两年")


def check_measures(
    measures: Sequence[MeasureShape], *, classes: Sequence[str], towns: Sequence[int]
) -> None:
    """Refuse overlapping measures, classes outside the campaign's and bad per-town targets."""
    covered = set(classes)
    seen_names: dict[tuple[str, str], int] = {}
    seen_classes: dict[tuple[str, str], int] = {}
    for index, measure in enumerate(measures):
        name = measure.name.strip()
        if (name, measure.unit) in seen_names:
            first = seen_names[(name, measure.unit)] + 1
            raise _overlap(index, "name", f"same name and unit as measure {first}",
                           f"与第 {first} 项措施名称和单位相同")  # fmt: skip
        seen_names[(name, measure.unit)] = index
        for code in measure.classes:
            if code not in covered:
                raise invalid(f"measures[{index}].classes", f"class {code} is not one of the "
                              "campaign's classes", f"分类 {code} 不在本专项整治的分类中")  # fmt: skip
            if (code, measure.unit) in seen_classes:
                first = seen_classes[(code, measure.unit)] + 1
                raise _overlap(index, "classes", f"class {code} is already counted in "
                               f"{measure.unit} by measure {first}",
                               f"分类 {code} 已由第 {first} 项措施按同一单位统计")  # fmt: skip
            seen_classes[(code, measure.unit)] = index
        check_town_targets(measure, towns=towns, field=f"measures[{index}].town_targets")


def check_town_targets(measure: MeasureShape, *, towns: Sequence[int], field: str) -> None:
    """Per-town targets name towns of the campaign and add up to the measure's target."""
    if not measure.town_targets:
        return
    outside = sorted(set(measure.town_targets) - set(towns))
    if outside:
        raise invalid(field, f"town {outside[0]} is not in the campaign's area",
                      f"镇街 {outside[0]} 不在本专项整治的范围内")  # fmt: skip
    total = sum(measure.town_targets.values())
    if abs(total - measure.target) > 1e-6 * max(1.0, measure.target):
        raise invalid(field, f"the towns' targets add up to {total:g}, not {measure.target:g}",
                      f"各镇街目标合计 {total:g}，与总目标 {measure.target:g} 不符")  # fmt: skip


def _overlap(index: int, part: str, reason: str, reason_zh: str) -> Problem:
    problem = invalid(f"measures[{index}].{part}", reason, reason_zh)
    problem.slug, problem.title, problem.title_zh = (
        "overlapping-measures", "Overlapping measures", "措施重复统计"
    )  # fmt: skip
    return problem


def town_share(target: float, town_targets: dict[str, float], towns: Sequence[int],
               town_id: int, *, unit: str = "m²") -> float:  # fmt: skip
    """A town's share of a measure's target: its own split, else an equal part. A count
    (every unit but m²) is split into whole numbers by the largest remainder: the equal parts
    rounded down, the rest one each to the towns in the campaign's order (all remainders are
    equal), so the shares add up to the target."""
    if town_targets:
        return float(town_targets.get(str(town_id), 0.0))
    if town_id not in towns:
        return 0.0
    if unit == "m²":
        return target / len(towns)
    whole = math.floor(target / len(towns))
    left = round(target) - whole * len(towns)
    return float(whole + (1 if list(towns).index(town_id) < left else 0))


def expected_fraction(start: date, end: date, day: date) -> float:
    """How much of the period has passed by the end of `day` (0..1): the expected-by-now line."""
    total = (end - start).days + 1
    passed = (day - start).days + 1
    return min(1.0, max(0.0, passed / total))
