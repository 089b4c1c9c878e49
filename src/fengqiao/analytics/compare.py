"""同比/环比 that do not mislead: a change against a base period, or 无可比数据 when the base is
empty or too small to carry a percentage (one event last year and 390 now is not "+38,900 %"),
or began before the area's first event (a platform started mid-period has a partial base).

Counts change in percent; rates change in percentage points (个百分点), never in percent of a
percent. Pure functions: charts, the bulletin's narrative and their tests share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NO_BASE = "无可比数据"
POINTS = "个百分点"


@dataclass(frozen=True)
class Change:
    """The current value against a base: `change` is percent for a count, percentage points
    for a rate; None (with `comparable` False) when the base is below the smallest base."""

    kind: str  # "count" or "rate"
    current: float | None
    base: float | None
    base_size: int  # events in the base period (for a rate: its denominator)
    min_base: int
    change: float | None
    partial_from: str | None = None  # the base began before this first day with data

    @property
    def comparable(self) -> bool:
        return self.change is not None

    def words(self) -> str:
        """The change in plain words: +12.5%, -3.2个百分点, 持平, or 无可比数据."""
        if self.change is None:
            return NO_BASE
        if self.change == 0:
            return "持平"
        sign = "+" if self.change > 0 else "-"
        unit = POINTS if self.kind == "rate" else "%"
        return f"{sign}{abs(self.change):.1f}{unit}"

    def why_not(self, base_name: str) -> str:
        """Why there is no comparison, e.g. 上期仅 3 件，不足 5 件 (empty when there is one)."""
        if self.change is not None:
            return ""
        if self.partial_from is not None:
            return f"{base_name}数据不完整，{self.partial_from}起才有数据"
        if self.kind == "rate" and self.current is None:
            return "本期无可计算的比率"
        if self.base_size == 0:
            return f"{base_name}无数据"
        return f"{base_name}仅{self.base_size}件，不足{self.min_base}件"

    def as_dict(self, base_name: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "base": self.base,
            "base_size": self.base_size,
            "change": self.change,
            "unit": POINTS if self.kind == "rate" else "%",
            "comparable": self.comparable,
            "words": self.words(),
            "why_not": self.why_not(base_name),
        }


def count_change(
    current: int, base: int, *, min_base: int, partial_from: str | None = None
) -> Change:
    """A count against its base period, in percent (one decimal); `partial_from`: the base
    period began before the first day with data (its count is not the whole period's)."""
    enough = base >= min_base and base > 0 and partial_from is None
    change = round((current - base) / base * 100, 1) if enough else None
    return Change("count", current, base, base, min_base, change, partial_from)


def rate(part: int, whole: int) -> float | None:
    """part / whole in percent (one decimal); None without a denominator."""
    return round(part / whole * 100, 1) if whole else None


def rate_change(
    part: int, whole: int, base_part: int, base_whole: int, *, min_base: int,
    partial_from: str | None = None,
) -> Change:  # fmt: skip
    """A rate (part / whole) against the base period's, in percentage points: comparable only
    when the base's denominator reaches `min_base`, this period has a denominator and the base
    period is whole."""
    current, base = rate(part, whole), rate(base_part, base_whole)
    change = None
    if current is not None and base is not None and base_whole >= min_base and not partial_from:
        change = round(current - base, 1)
    return Change("rate", current, base, base_whole, min_base, change, partial_from)


# --- a chart's headline ------------------------------------------------------------------------

BASE_NAMES = {"yoy": ("同比", "去年同期"), "mom": ("环比", "上期")}


def _headline(
    compare: dict[str, Any], label: str, current: float | None, changes: dict[str, Change]
) -> dict[str, Any]:
    """What a chart leads with: its figure for the range and its 同比/环比 in words; `compare`
    is the chart's comparison (`current`, and per period `from`, `to`, `values`)."""
    kind = next(iter(changes.values())).kind
    if kind == "rate":
        text = f"{label} {'—' if current is None else f'{current:.1f}%'}"
    else:
        text = f"本期{label} {int(current or 0):,} 件"
    head: dict[str, Any] = {"label": label, "kind": kind, "value": current, "text": text}
    for period, change in changes.items():
        word, base_name = BASE_NAMES[period]
        head[period] = {
            "from": compare[period]["from"],
            "to": compare[period]["to"],
            "text": f"{word} {change.words()}",
            **change.as_dict(base_name),
        }
    return head


def count_headline(
    compare: dict[str, Any], counter: str, label: str, *, min_base: int
) -> dict[str, Any]:
    """A count chart's headline: the count, and its change in percent."""
    now = compare["current"][counter]
    changes = {
        period: count_change(
            now, compare[period]["values"][counter], min_base=min_base,
            partial_from=compare[period].get("partial_from"),
        )
        for period in BASE_NAMES
    }  # fmt: skip
    return _headline(compare, label, now, changes)


def rate_headline(
    compare: dict[str, Any], part: str, whole: str, label: str, *, min_base: int
) -> dict[str, Any]:
    """A rate chart's headline: part / whole in percent, and its change in percentage points
    (the base's denominator must reach the smallest base)."""
    now = compare["current"]
    changes = {
        period: rate_change(
            now[part], now[whole], compare[period]["values"][part],
            compare[period]["values"][whole], min_base=min_base,
            partial_from=compare[period].get("partial_from"),
        )
        for period in BASE_NAMES
    }  # fmt: skip
    return _headline(compare, label, rate(now[part], now[whole]), changes)
