"""The 18 charts of analysis (研判): each the series an ECharts option needs, and a table for CSV.

Every chart is a function of a `Question` (scope, days, names) that reads only `aggregate`
(the rollups, or a small scope's events). Charts with a time axis carry 同比/环比 totals and a
headline: a count for a count chart, a rate (changing in percentage points) for a rate chart,
and 无可比数据 where the base period is empty or below FENGQIAO_ANALYTICS_MIN_BASE
(`compare.py`). CSV tables write days with their year.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.analytics.compare import (
    NO_BASE,
    count_change,
    count_headline,
    rate,
    rate_headline,
)
from fengqiao.analytics.query import Aggregate, Scope, aggregate, day_of, month_of
from fengqiao.analytics.service import Names, comparison_ranges
from fengqiao.events.sources import SOURCE_ZH
from fengqiao.org.models import ORG_LEVEL_ZH, PLATFORM_ZH, OrgUnit
from fengqiao.taxonomy.models import EVENT_LEVEL_ZH

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


# --- the charts --------------------------------------------------------------------------


def daily_new_closed(q: Question) -> dict[str, Any]:
    dim, keys, labels = q.axis()
    result = q.sum((dim,), ("new", "done"))
    new, done = _series_by(result, 0, "new", keys), _series_by(result, 0, "done", keys)
    compare = _comparison(q, ("new", "done"))
    return {
        "kind": "line",
        "x": labels,
        "series": [{"name": "新增", "data": new}, {"name": "办结", "data": done}],
        "compare": compare,
        "headlines": [count_headline(compare, "new", "新增", min_base=q.min_base)],
        "table": (
            ["时间", "新增", "办结"],
            [[x, a, b] for x, a, b in zip(q.periods(), new, done, strict=True)],
        ),
    }


STATUS_PARTS = (
    ("closed", "已结案"),
    ("in_progress", "办理中"),
    ("open_overdue", "超期未结"),
    ("rejected", "不予受理"),
    ("voided", "已作废"),
    ("merged", "已合并"),
)


def handling_status(q: Question) -> dict[str, Any]:
    counters = ("new", "closed", "open", "open_overdue", "rejected", "voided", "merged")
    totals = _totals(q.sum((), counters), counters)
    values = dict(totals, in_progress=totals["open"] - totals["open_overdue"])
    effective = totals["new"] - totals["rejected"] - totals["voided"] - totals["merged"]
    data = [{"name": label, "value": values[key]} for key, label in STATUS_PARTS]
    return {
        "kind": "pie",
        "series": [{"name": "办结情况", "data": data}],
        "summary": {"new": totals["new"], "closure_rate": _rate(totals["closed"], effective)},
        "table": (["状态", "件数"], [[d["name"], d["value"]] for d in data]),
    }


def _distribution(
    q: Question, dimension: str, names: dict[Any, str], *, kind: str = "pie", title: str
) -> dict[str, Any]:
    rows = _by_one(q.sum((dimension,), ("new",)))
    data = [
        {"name": names.get(key, str(key)), "value": values["new"], "key": key}
        for key, values in sorted(rows.items(), key=lambda kv: (-kv[1]["new"], str(kv[0])))
    ]
    return {
        "kind": kind,
        "x": [d["name"] for d in data],
        "series": [{"name": title, "data": data}],
        "table": ([title, "件数"], [[d["name"], d["value"]] for d in data]),
    }


def levels(q: Question) -> dict[str, Any]:
    chart = _distribution(q, "level", dict(EVENT_LEVEL_ZH), title="等级")
    return chart


def major_classes(q: Question) -> dict[str, Any]:
    rows = _by_one(q.sum(("major_code",), ("new", "closed")))
    names = q.names.majors()
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1]["new"], kv[0]))
    x = [names.get(code, code) for code, _ in ordered]
    new = [v["new"] for _, v in ordered]
    closed = [v["closed"] for _, v in ordered]
    return {
        "kind": "bar",
        "x": x,
        "series": [{"name": "新增", "data": new}, {"name": "已结案", "data": closed}],
        "table": (["大类", "新增", "已结案"], [list(r) for r in zip(x, new, closed, strict=True)]),
    }


def top_minor_classes(q: Question) -> dict[str, Any]:
    chart = _distribution(q, "category_code", q.names.categories(), kind="bar", title="小类")
    top = chart["series"][0]["data"][:10]
    chart["series"][0]["data"] = top
    chart["x"] = [d["name"] for d in top]
    chart["table"] = (["小类", "件数"], [[d["name"], d["value"]] for d in top])
    return chart


def sources(q: Question) -> dict[str, Any]:
    return _distribution(q, "source", dict(SOURCE_ZH), title="来源")


def hour_weekday(q: Question) -> dict[str, Any]:
    result = q.sum(("how",), ("new",))
    cells = {int(row[0]): int(row[1]) for row in result.rows}
    data = [[hour, day, cells.get(day * 24 + hour, 0)] for day in range(7) for hour in range(24)]
    return {
        "kind": "heatmap",
        "x": [f"{h}时" for h in range(24)],
        "y": list(WEEKDAY_ZH),
        "series": [{"name": "新增", "data": data}],
        "max": max((v for *_, v in data), default=0),
        "table": (
            ["星期", *[f"{h}时" for h in range(24)]],
            [[WEEKDAY_ZH[d], *[cells.get(d * 24 + h, 0) for h in range(24)]] for d in range(7)],
        ),
    }


# Areas whose map colours the areas one level down instead of every grid (a province's 85,000
# grids are neither readable on one map nor cheap to send).
MAP_BY_AREA = ("province", "city")


def grid_map(q: Question) -> dict[str, Any]:
    if q.scope.level in MAP_BY_AREA:
        return _area_map(q)
    # Rows (grid, new, overdue) used as they come: a district has thousands of grids, so no
    # dict per grid.
    rows = q.sum(("grid_id",), ("new", "overdue")).rows
    rows.sort(key=lambda row: (-row[1], row[0]))
    top = rows[:10]
    names = q.names.orgs([row[0] for row in top])
    top_names = [names.get(row[0], str(row[0])) for row in top]
    return {
        "kind": "map",
        "grids": {str(grid): new for grid, new, _ in rows},
        "max": rows[0][1] if rows else 0,
        "series": [
            {
                "name": "高发网格",
                "data": [
                    {"name": name, "value": row[1]}
                    for name, row in zip(top_names, top, strict=True)
                ],
            }
        ],
        "x": top_names,
        "table": (["网格ID", "新增", "超期"], [list(row) for row in rows]),
    }


def _area_map(q: Question) -> dict[str, Any]:
    """The map of a city or province: its districts or cities coloured by their new events
    (`areas`, every one of them, 0 where none), drawn on the outlines of `/map/areas`."""
    child = CHILD_LEVEL[q.scope.level]
    counts = _by_child(q, child, ("new", "overdue"))
    places = q.db.execute(
        select(OrgUnit.id, OrgUnit.name).where(
            OrgUnit.kind == child, OrgUnit.path.like(f"%/{q.scope.org_id}/%")
        )
    ).all()
    rows = [(p.id, p.name, *(counts.get(p.id, {}).get(c, 0) for c in ("new", "overdue")))
            for p in places]  # fmt: skip
    rows.sort(key=lambda row: (-row[2], row[1]))
    top = rows[:10]
    return {
        "kind": "map",
        "level": child,
        "areas": {str(row[0]): row[2] for row in rows},
        "names": {str(row[0]): row[1] for row in rows},
        "grids": {},
        "max": rows[0][2] if rows else 0,
        "series": [{"name": "高发区域", "data": [{"name": r[1], "value": r[2]} for r in top]}],
        "x": [row[1] for row in top],
        "table": ([ORG_LEVEL_ZH[child], "新增", "超期"], [list(row[1:]) for row in rows]),
    }


def areas_ranked(q: Question) -> dict[str, Any]:
    child = CHILD_LEVEL[q.scope.level]
    rows = _by_child(q, child, ("new", "closed"))
    places = q.db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.households).where(
            OrgUnit.kind == child, OrgUnit.path.like(f"%/{q.scope.org_id}/%")
        )
    ).all()
    ranked = []
    for place in places:
        counts = rows.get(place.id, {"new": 0, "closed": 0})
        households = place.households or 0
        # Ranked on the exact rate (as a fraction, no float error), rounded only to be shown:
        # two places that both show 1.5 still come in their true order.
        exact = Fraction(counts["new"] * 1000, households) if households else Fraction(0)
        per_1000 = round(float(exact), 1) if households else None
        ranked.append({"id": place.id, "name": place.name, "households": households,
                       "new": counts["new"], "per_1000": per_1000, "exact": exact})  # fmt: skip
    ranked.sort(key=lambda r: (-r["exact"], -r["new"], r["name"]))
    return {
        "kind": "bar",
        "level": child,
        "x": [r["name"] for r in ranked],
        "series": [
            {"name": "每千户事件数", "data": [r["per_1000"] for r in ranked]},
            {"name": "新增", "data": [r["new"] for r in ranked]},
        ],
        "table": (
            [ORG_LEVEL_ZH[child], "户数", "新增", "每千户"],
            [[r["name"], r["households"], r["new"], r["per_1000"]] for r in ranked],
        ),
    }


DURATION_ZH = (
    ("done_h4", "4小时内"),
    ("done_d1", "4-24小时"),
    ("done_d3", "1-3天"),
    ("done_d7", "3-7天"),
    ("done_more", "7天以上"),
)


def handling_time(q: Question) -> dict[str, Any]:
    counters = ("done", "done_seconds", *[c for c, _ in DURATION_ZH])
    totals = _totals(q.sum((), counters), counters)
    data = [totals[c] for c, _ in DURATION_ZH]
    average = round(totals["done_seconds"] / totals["done"] / 3600, 1) if totals["done"] else None
    return {
        "kind": "bar",
        "x": [label for _, label in DURATION_ZH],
        "series": [{"name": "办结件数", "data": data}],
        "summary": {"done": totals["done"], "average_hours": average},
        "table": (["处置时长", "件数"], [[label, totals[c]] for c, label in DURATION_ZH]),
    }


def on_time_trend(q: Question) -> dict[str, Any]:
    dim, keys, labels = q.axis()
    result = q.sum((dim,), ("done", "done_on_time"))
    done = _series_by(result, 0, "done", keys)
    on_time = _series_by(result, 0, "done_on_time", keys)
    rates = [_rate(a, b) for a, b in zip(on_time, done, strict=True)]
    compare = _comparison(q, ("done", "done_on_time"))
    headline = rate_headline(compare, "done_on_time", "done", "按期结案率", min_base=q.min_base)
    for kind in ("current", "yoy", "mom"):
        values = compare[kind] if kind == "current" else compare[kind]["values"]
        values["rate"] = _rate(values["done_on_time"], values["done"])
    return {
        "kind": "line",
        "x": labels,
        "series": [{"name": "按期结案率（%）", "data": rates}, {"name": "办结", "data": done}],
        "compare": compare,
        "headlines": [headline],
        "table": (
            ["时间", "办结", "按期办结", "按期结案率（%）"],
            [list(r) for r in zip(q.periods(), done, on_time, rates, strict=True)],
        ),
    }


def overdue_by_place_unit(q: Question) -> dict[str, Any]:
    child = CHILD_LEVEL[q.scope.level]
    places = _by_child(q, child, ("overdue",))
    units = _by_one(q.sum(("owner_unit_id",), ("overdue",)))
    place_rows = sorted(((k, v["overdue"]) for k, v in places.items() if v["overdue"]),
                        key=lambda kv: (-kv[1], kv[0]))  # fmt: skip
    unit_rows = sorted(((k, v["overdue"]) for k, v in units.items() if v["overdue"] and k),
                       key=lambda kv: (-kv[1], kv[0]))[:15]  # fmt: skip
    place_names = q.names.orgs([k for k, _ in place_rows])
    unit_names = q.names.units([k for k, _ in unit_rows])
    return {
        "kind": "bar",
        "x": [place_names.get(k, str(k)) for k, _ in place_rows],
        "series": [{"name": "超期件数", "data": [v for _, v in place_rows]}],
        "units": {
            "x": [unit_names.get(k, str(k)) for k, _ in unit_rows],
            "data": [v for _, v in unit_rows],
        },
        "table": (
            ["类别", "名称", "超期件数"],
            [[ORG_LEVEL_ZH[child], place_names.get(k, str(k)), v] for k, v in place_rows]
            + [["责任单位", unit_names.get(k, str(k)), v] for k, v in unit_rows],
        ),
    }


def units_volume_time(q: Question) -> dict[str, Any]:
    # Rows (unit, dispatched, closed, handle_seconds) as they come: a province has tens of
    # thousands of units.
    rows = q.sum(("owner_unit_id",), ("dispatched", "closed", "handle_seconds")).rows
    units = [row for row in rows if row[0] and row[1]]
    units.sort(key=lambda row: (-row[1], row[0]))
    names = q.names.units([row[0] for row in units])
    points = []
    for unit, dispatched, closed, seconds in units:
        hours = round(seconds / closed / 3600, 1) if closed else None
        points.append({"name": names.get(unit, str(unit)), "value": [dispatched, hours]})
    return {
        "kind": "scatter",
        "series": [{"name": "责任单位", "data": points}],
        "table": (
            ["责任单位", "交办件数", "平均处置时长（小时）"],
            [[p["name"], *p["value"]] for p in points],
        ),
    }


def platforms(q: Question) -> dict[str, Any]:
    rows = _by_one(q.sum(("platform",), ("new", "closed", "closed_on_time")))
    keys = list(PLATFORM_ZH)
    x = [PLATFORM_ZH[k] for k in keys]
    new = [rows.get(k, {}).get("new", 0) for k in keys]
    closed = [rows.get(k, {}).get("closed", 0) for k in keys]
    on_time = [
        _rate(rows.get(k, {}).get("closed_on_time", 0), c)
        for k, c in zip(keys, closed, strict=True)
    ]
    return {
        "kind": "bar",
        "x": x,
        "series": [
            {"name": "新增", "data": new},
            {"name": "已结案", "data": closed},
            {"name": "按期结案率（%）", "data": on_time},
        ],
        "table": (
            ["平台", "新增", "已结案", "按期结案率（%）"],
            [list(r) for r in zip(x, new, closed, on_time, strict=True)],
        ),
    }


def worker_activity(q: Question) -> dict[str, Any]:
    # Per month: how many grid workers reported, and how much. Each worker's own figures are
    # on the assessment page (考核), which ranks them.
    monthly = q.sum(("month",), ("new",), where={"source": "grid_worker"}, distinct="reporter_id")
    labels = [month_of(row[0]).strftime("%Y-%m") for row in monthly.rows]
    reports = [row[1] for row in monthly.rows]
    active = [row[2] for row in monthly.rows]
    per_worker = [round(r / a, 1) if a else None for r, a in zip(reports, active, strict=True)]
    # The headline compares what this chart counts: the grid workers' reports.
    compare = _comparison(q, ("new",), where={"source": "grid_worker"})
    return {
        "kind": "bar",
        "x": labels,
        "series": [
            {"name": "上报网格员数", "data": active},
            {"name": "网格员上报件数", "data": reports},
            {"name": "人均上报件数", "data": per_worker},
        ],
        "compare": compare,
        "headlines": [count_headline(compare, "new", "网格员上报", min_base=q.min_base)],
        "table": (
            ["月份", "上报网格员数", "上报件数", "人均上报件数"],
            [list(r) for r in zip(labels, active, reports, per_worker, strict=True)],
        ),
    }


def class_changes(q: Question) -> dict[str, Any]:
    ranges = comparison_ranges(q.start, q.end)
    current = _by_one(q.sum(("major_code",), ("new",)))
    yoy = _by_one(q.sum(("major_code",), ("new",), start=ranges["yoy"][0], end=ranges["yoy"][1]))
    mom = _by_one(q.sum(("major_code",), ("new",), start=ranges["mom"][0], end=ranges["mom"][1]))
    names = q.names.majors()
    yoy_partial, mom_partial = q.partial_from(ranges["yoy"][0]), q.partial_from(ranges["mom"][0])
    codes = sorted(
        set(current) | set(yoy) | set(mom), key=lambda c: (-current.get(c, {}).get("new", 0), c)
    )
    rows = []
    for code in codes:
        now = current.get(code, {}).get("new", 0)
        last_year = yoy.get(code, {}).get("new", 0)
        before = mom.get(code, {}).get("new", 0)
        rows.append(
            [
                names.get(code, code),
                now,
                last_year,
                count_change(now, last_year, min_base=q.min_base, partial_from=yoy_partial).change,
                before,
                count_change(now, before, min_base=q.min_base, partial_from=mom_partial).change,
            ]
        )
    compare = _comparison(q, ("new",))
    return {
        "kind": "bar",
        "x": [r[0] for r in rows],
        "series": [
            {"name": "本期", "data": [r[1] for r in rows]},
            {"name": "去年同期", "data": [r[2] for r in rows]},
            {"name": "上期", "data": [r[4] for r in rows]},
        ],
        "changes": {"yoy_pct": [r[3] for r in rows], "mom_pct": [r[5] for r in rows]},
        "ranges": {k: [v[0].isoformat(), v[1].isoformat()] for k, v in ranges.items()},
        "compare": compare,
        "headlines": [count_headline(compare, "new", "新增", min_base=q.min_base)],
        # A change without a base large enough reads 无可比数据 in the CSV, not an empty cell.
        "table": (
            ["大类", "本期", "去年同期", "同比（%）", "上期", "环比（%）"],
            [[NO_BASE if v is None and i in (3, 5) else v for i, v in enumerate(r)] for r in rows],
        ),
    }


def return_rework(q: Question) -> dict[str, Any]:
    dim, keys, labels = q.axis()
    counters = ("dispatched", "returned_events", "closed", "reworked_events")
    result = q.sum((dim,), counters)
    series = {c: _series_by(result, 0, c, keys) for c in counters}
    returned = [
        _rate(a, b) for a, b in zip(series["returned_events"], series["dispatched"], strict=True)
    ]
    reworked = [
        _rate(a, b) for a, b in zip(series["reworked_events"], series["closed"], strict=True)
    ]
    compare = _comparison(q, counters)
    periods = q.periods()
    return {
        "kind": "line",
        "x": labels,
        "series": [
            {"name": "回退率（%）", "data": returned},
            {"name": "返工率（%）", "data": reworked},
        ],
        "compare": compare,
        "headlines": [
            rate_headline(compare, "returned_events", "dispatched", "回退率", min_base=q.min_base),
            rate_headline(compare, "reworked_events", "closed", "返工率", min_base=q.min_base),
        ],
        "table": (
            ["时间", "交办", "回退件数", "回退率（%）", "结案", "返工件数", "返工率（%）"],
            [
                [
                    periods[i],
                    series["dispatched"][i],
                    series["returned_events"][i],
                    returned[i],
                    series["closed"][i],
                    series["reworked_events"][i],
                    reworked[i],
                ]
                for i in range(len(labels))
            ],
        ),
    }


def satisfaction_verification(q: Question) -> dict[str, Any]:
    counters = ("closed", "self_handled", "reworked", "rated", "satisfaction_sum",
                "sat_1", "sat_2", "sat_3", "sat_4", "sat_5")  # fmt: skip
    t = _totals(q.sum((), counters), counters)
    stars = [{"name": f"{i}星", "value": t[f"sat_{i}"]} for i in range(5, 0, -1)]
    verified = t["closed"] - t["self_handled"]
    return {
        "kind": "pie",
        "series": [{"name": "满意度", "data": stars}],
        "verification": {"x": ["核查通过", "核查不通过"], "data": [verified, t["reworked"]]},
        "summary": {
            "rated": t["rated"],
            "average": round(t["satisfaction_sum"] / t["rated"], 2) if t["rated"] else None,
            "verified": verified,
            "failed": t["reworked"],
            "pass_rate": _rate(verified, verified + t["reworked"]),
        },
        "table": (
            ["项目", "件数"],
            [[s["name"], s["value"]] for s in stars]
            + [["核查通过", verified], ["核查不通过", t["reworked"]]],
        ),
    }


@dataclass(frozen=True)
class Chart:
    number: int
    name: str
    title: str
    function: Callable[[Question], dict[str, Any]]
    time_axis: bool = False


CHARTS: tuple[Chart, ...] = (
    Chart(1, "daily_new_closed", "每日新增与办结", daily_new_closed, True),
    Chart(2, "handling_status", "办结情况", handling_status),
    Chart(3, "levels", "等级分布", levels),
    Chart(4, "major_classes", "大类分布", major_classes),
    Chart(5, "top_minor_classes", "小类前十", top_minor_classes),
    Chart(6, "sources", "来源分布", sources),
    Chart(7, "hour_weekday", "高发时段", hour_weekday),
    Chart(8, "grid_map", "高发区域", grid_map),
    Chart(9, "areas_ranked", "区域排名（每千户）", areas_ranked),
    Chart(10, "handling_time", "处置时长分布", handling_time),
    Chart(11, "on_time_trend", "按期结案率趋势", on_time_trend, True),
    Chart(12, "overdue_by_place_unit", "超期分布", overdue_by_place_unit),
    Chart(13, "units_volume_time", "部门办件量与平均时长", units_volume_time),
    Chart(14, "platforms", "四个平台", platforms),
    Chart(15, "worker_activity", "网格员上报活跃度", worker_activity, True),
    Chart(16, "class_changes", "动态变化（同比环比）", class_changes, True),
    Chart(17, "return_rework", "回退率与返工率", return_rework, True),
    Chart(18, "satisfaction_verification", "满意度与核查", satisfaction_verification),
)
CHART_BY_NAME = {chart.name: chart for chart in CHARTS}


def draw(
    chart: Chart,
    *,
    db: Session,
    scope: Scope,
    start: date,
    end: date,
    today: date | None = None,
    min_base: int = 5,
    history_start: date | None = None,
) -> dict[str, Any]:
    """One chart's body for the API: its series, the range actually summed, its CSV table;
    `today` (the local date) lets a range that reaches it read the current month whole;
    `min_base` is the smallest base a 同比/环比 is computed against, and none is computed
    against a base period that began before `history_start` (the area's first event)."""
    question = Question(db=db, scope=scope, start=start, end=end, names=Names(db), today=today,
                        min_base=min_base, history_start=history_start)  # fmt: skip
    body = chart.function(question)
    effective_start = min([start, *(w[0] for w in question.widened)])
    effective_end = max([end, *(w[1] for w in question.widened)])
    header, rows = body.pop("table")
    return {
        "number": chart.number,
        "name": chart.name,
        "title": chart.title,
        "scope": {"level": scope.level, "id": scope.org_id, "name": scope.name},
        "from": start.isoformat(),
        "to": end.isoformat(),
        "effective": {
            "from": effective_start.isoformat(),
            "to": effective_end.isoformat(),
            "widened": bool(question.widened),
        },
        **body,
        "table": {"columns": header, "rows": rows},
    }


def grid_count(db: Session, scope: Scope) -> int:
    """Grids in the scope (for the dashboard's legend)."""
    return int(
        db.scalar(
            select(func.count()).where(
                OrgUnit.kind == "grid", OrgUnit.path.like(f"%/{scope.org_id}/%")
            )
        )
        or 0
    )


__all__ = ["CHARTS", "CHART_BY_NAME", "Chart", "Question", "day_of", "draw", "grid_count"]
