"""The 18 charts of analysis (研判): each the series an ECharts option needs, and a table for CSV.

Every chart is a function of a `Question` (scope, days, names) that reads only `aggregate`
(the rollups, or a small scope's events). Charts with a time axis carry 同比/环比 totals and a
headline: a count for a count chart, a rate (changing in percentage points) for a rate chart,
and 无可比数据 where the base period is empty or below FENGQIAO_ANALYTICS_MIN_BASE
(`compare.py`). CSV tables write days with their year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.analytics.chart_base import (
    WEEKDAY_ZH,
    Question,
    _by_one,
    _comparison,
    _rate,
    _series_by,
    _totals,
)
from fengqiao.analytics.chart_places import (
    areas_ranked,
    grid_map,
    overdue_by_place_unit,
    units_volume_time,
)
from fengqiao.analytics.compare import (
    NO_BASE,
    count_change,
    count_headline,
    rate_headline,
)
from fengqiao.analytics.query import Scope, day_of, month_of
from fengqiao.analytics.service import Names, comparison_ranges
from fengqiao.events.sources import SOURCE_ZH
from fengqiao.org.models import PLATFORM_ZH, OrgUnit
from fengqiao.taxonomy.models import EVENT_LEVEL_ZH

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
