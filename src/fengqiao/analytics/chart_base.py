"""What every chart of analysis (charts.py) is asked with, and the helpers they share: the
question (scope, days, names), its time axis, sums and 同比/环比 comparisons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fengqiao.analytics.compare import count_change, rate
from fengqiao.analytics.query import Aggregate, Scope, aggregate
from fengqiao.analytics.service import Names, comparison_ranges

WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
# Ranges up to this many days are drawn by day, longer ones by month.
DAILY_UP_TO = 92
# One level down as today: a province by city, a city by district, a district by town, ...
CHILD_LEVEL = {
    "province": "city",
    "city": "district",
    "district": "town",
    "town": "village",
    "village": "grid",
    "grid": "grid",
}


@dataclass
class Question:
    db: Session
    scope: Scope
    start: date
    end: date
    names: Names
    today: date | None = None
    min_base: int = 5  # FENGQIAO_ANALYTICS_MIN_BASE
    history_start: date | None = None  # the area's first day with an event

    def partial_from(self, low: date) -> str | None:
        """The first day with data when a base period starting on `low` began before it."""
        if self.history_start is not None and low < self.history_start:
            return self.history_start.isoformat()
        return None

    def sum(
        self,
        by: Sequence[str] = (),
        counters: Sequence[str] = ("new",),
        *,
        start: date | None = None,
        end: date | None = None,
        where: dict[str, Any] | None = None,
        distinct: str | None = None,
    ) -> Aggregate:
        result = aggregate(
            self.db, scope=self.scope, start=start or self.start, end=end or self.end,
            by=by, counters=counters, where=where, distinct=distinct, today=self.today,
        )  # fmt: skip
        if result.widened and start is None:
            self.widened.append((result.start, result.end))
        return result

    widened: list[tuple[date, date]] = field(default_factory=list)

    @property
    def daily(self) -> bool:
        return (self.end - self.start).days + 1 <= DAILY_UP_TO

    def axis(self) -> tuple[str, list[int], list[str]]:
        """The time dimension, its keys in order and their axis labels (12-05, or 2026-12)."""
        if self.daily:
            days = [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]
            return "day", [_day_key(d) for d in days], [d.strftime("%m-%d") for d in days]
        months, cursor = [], self.start.replace(day=1)
        while cursor <= self.end:
            months.append(cursor)
            cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
        return (
            "month",
            [m.year * 100 + m.month for m in months],
            [m.strftime("%Y-%m") for m in months],
        )

    def periods(self) -> list[str]:
        """The axis's periods as a table (CSV) writes them: days with their year (2026-12-05),
        months as 2026-12, so a spreadsheet never guesses the year."""
        dim, keys, labels = self.axis()
        if dim == "month":
            return labels
        return [f"{k // 10000:04d}-{k // 100 % 100:02d}-{k % 100:02d}" for k in keys]

    def totals(
        self, counters: Sequence[str], where: dict[str, Any] | None = None
    ) -> dict[str, dict[str, int]]:
        """The counters over this range and the 同比/环比 ranges."""
        result = {"current": _totals(self.sum((), counters, where=where), counters)}
        for name, (low, high) in comparison_ranges(self.start, self.end).items():
            summed = self.sum((), counters, start=low, end=high, where=where)
            result[name] = _totals(summed, counters)
        return result


def _day_key(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _totals(result: Aggregate, counters: Sequence[str]) -> dict[str, int]:
    return {name: result.total(name) for name in counters}


def _rate(part: float, whole: float) -> float | None:
    return rate(int(part), int(whole))


def _comparison(
    question: Question, counters: Sequence[str], where: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The counters now, a year before (yoy) and in the period just before (mom), with each
    counter's change in percent: None (无可比数据) when the base is below the smallest base or
    began before the area's first event (`partial_from`)."""
    totals = question.totals(counters, where)
    current = totals["current"]
    ranges = comparison_ranges(question.start, question.end)
    compared: dict[str, Any] = {"counters": list(counters), "current": current}
    for kind, (low, high) in ranges.items():
        base, partial = totals[kind], question.partial_from(low)
        compared[kind] = {
            "from": low.isoformat(),
            "to": high.isoformat(),
            "values": base,
            "partial_from": partial,
            "change_pct": {
                c: count_change(
                    current[c], base[c], min_base=question.min_base, partial_from=partial
                ).change
                for c in counters
            },
        }
    return compared


def _series_by(result: Aggregate, key_index: int, counter: str, keys: list[Any]) -> list[int]:
    column = len(result.by) + result.counters.index(counter)
    values = {row[key_index]: row[column] for row in result.rows}
    return [int(values.get(k, 0)) for k in keys]


def _by_child(q: Question, child: str, counters: tuple[str, ...]) -> dict[Any, dict[str, int]]:
    """Counters per child area of the scope: the rollups' own column for a town, village or
    grid; above the town (a province's cities, a city's districts) grouped in SQL by the
    town's district or city."""
    if child in ("town", "village", "grid"):
        return _by_one(q.sum((f"{child}_id",), counters))
    return _by_one(q.sum((child,), counters))


def _by_one(result: Aggregate) -> dict[Any, dict[str, int]]:
    """Rows grouped by one dimension as {key: {counter: value}}."""
    return {row[0]: dict(zip(result.counters, row[1:], strict=True)) for row in result.rows}
