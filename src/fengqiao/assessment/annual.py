"""The annual target assessment (年度岗位目标责任制考核): every town's and every department's
report of a year, part by part, with the formula in words and numbers.

A town's total is the weighted mean of the 0-100 scores of its components (the scheme's
weights, which sum to 100); a component without data for the town is left out and the weights
of the others are taken as shares of their sum (the report says so). Every formula is written
out in docs/mechanisms.md; this module is the one place it is coded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Scope, aggregate
from fengqiao.assessment import service
from fengqiao.assessment.annual_models import UnitEvaluation
from fengqiao.assessment.periods import month_end
from fengqiao.assessment.regions import owner_in
from fengqiao.org.models import OrgUnit, Unit

# A town's components: (key, Chinese name).
TOWN_PARTS: tuple[tuple[str, str], ...] = (
    ("events", "月度事件考核"),
    ("rounds", "督查评分"),
    ("rectification", "整改按期完成率"),
    ("campaigns", "专项整治进度"),
    ("meetings", "例会召开率"),
    ("decisions", "会商决定按期办结率"),
)
DEPARTMENT_PARTS: tuple[tuple[str, str], ...] = (
    ("evaluation", "属地评价"),
    ("events", "月度事件考核"),
)
BENCHMARK_PARTS: tuple[tuple[str, str], ...] = (
    ("self_assessment", "标准化自评"),
    ("rounds", "督查评分"),
    ("effect", "工作成效明显"),
    ("satisfaction", "基层群众满意"),
)
# One name per key (the benchmark's `rounds` is the towns' `rounds`, 督查评分).
PART_ZH = {key: name for parts in (BENCHMARK_PARTS, DEPARTMENT_PARTS, TOWN_PARTS)
           for key, name in parts}  # fmt: skip
DEFAULT_WEIGHTS = {
    "events": 40.0, "rounds": 20.0, "rectification": 10.0, "campaigns": 10.0,
    "meetings": 10.0, "decisions": 10.0,
}  # fmt: skip
DEFAULT_DEPARTMENT_WEIGHTS = {"evaluation": 60.0, "events": 40.0}
DEFAULT_BENCHMARK_WEIGHTS = {
    "self_assessment": 20.0, "rounds": 40.0, "effect": 20.0, "satisfaction": 20.0,
}  # fmt: skip
DEFAULT_BENCHMARK_COUNT = 6
# Departments are of two kinds, each judged by the area that holds it (the article: the 12
# dispatched agencies' "考核评比均由镇(街道)负责").
DEPARTMENT_CATEGORIES = {"agency": "派驻机构", "district_department": "区级部门"}


@dataclass(frozen=True)
class Inputs:
    """The year's figures per town from the other mechanisms; None: that input is not wired
    in this installation (its package is missing), which the report names."""

    rounds: Mapping[int, float] | None = None  # 0..100
    rectification: Mapping[int, float] | None = None  # 0..1
    campaigns: Mapping[int, float] | None = None  # 0..1
    meetings: Mapping[int, tuple[int, int]] | None = None  # (held, scheduled)
    decisions: Mapping[int, float] | None = None  # 0..1
    self_assessment: Mapping[int, float] | None = None  # 0..100

    def missing(self) -> list[str]:
        return [name for name in INPUT_NAMES if getattr(self, name) is None]


INPUT_NAMES = ("rounds", "rectification", "campaigns", "meetings", "decisions", "self_assessment")


@dataclass
class Part:
    """One line of a report: the raw value, its 0-100 score, the weight and the points."""

    key: str
    name: str
    raw: float | None  # as the input gives it (a rate 0..1, a score 0..100)
    basis: str  # what the raw value is made of, in Chinese
    score: float | None  # 0..100; None: no data, not counted
    weight: float
    share: float | None = None  # the weight among the weights of the parts counted
    points: float | None = None  # what the part adds to the total


@dataclass
class Report:
    kind: str  # town, agency, district_department
    id: int
    name: str
    area: str  # the town of an agency, the district of a department or a town
    area_id: int
    path: str  # the org path the report belongs to (scope)
    parts: list[Part]
    total: float | None = None
    grade: str | None = None
    rank: int | None = None
    formula: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Monthly:
    """The monthly composite scores (the existing assessment) of towns and units in a year."""

    months: list[tuple[date, date]]
    towns: dict[int, list[float | None]]
    units: dict[int, list[float | None]]
    year_rows: dict[int, service.Row]  # the whole year's town rows (satisfaction, rework)


def months_of(year: int, today: date) -> list[tuple[date, date]]:
    """The months of `year` that have begun by `today` (the last cut at today)."""
    spans = []
    for month in range(1, 13):
        first = date(year, month, 1)
        if first > today:
            break
        spans.append((first, min(month_end(first), today)))
    return spans


def counted_words(spans: list[tuple[date, date]]) -> str:
    """Which part of the year the months count, in words: "1月至11月及12月1日至6日" when the
    last month has not ended (its partial days named), "1月至12月" when all have."""
    if not spans:
        return "无"
    first, last = spans[-1]
    whole = spans if last == month_end(first) else spans[:-1]
    words = ""
    if whole:
        words = (f"{whole[0][0].month}月" if len(whole) == 1
                 else f"{whole[0][0].month}月至{whole[-1][0].month}月")  # fmt: skip
    if len(whole) < len(spans):
        part = f"{first.month}月{first.day}日" + (f"至{last.day}日" if last > first else "")
        words = f"{words}及{part}" if words else part
    return words


def _scores(sums: Mapping[int, Mapping[str, int]], ids: list[int],
            volume: Callable[[int, Mapping[str, int]], float], weights: service.Weights,
            wanted: set[int] | None = None) -> dict[int, float | None]:  # fmt: skip
    """The 考核 page's composite score of each row (service.components and composite: the
    volume relative to the best row, closure, on-time closure, no rework); with `wanted`, of
    those rows only (the best volume is still the best of all)."""
    zero = dict.fromkeys(service.COUNTERS, 0)
    volumes = {i: volume(i, sums.get(i, zero)) for i in ids}
    best = max(volumes.values(), default=0.0)
    scores = {}
    for i in ids if wanted is None else [i for i in ids if i in wanted]:
        share = volumes[i] / best if best > 0 else None
        parts = service.components(service.indicators(sums.get(i, zero)), share)
        scores[i] = service.composite(parts, weights)
    return scores


def monthly(
    db: Session, *, district: Scope, year: int, today: date, weights: service.Weights
) -> Monthly:
    """Each town's and unit's composite score of each month of the year so far (the score the
    考核 page shows for that month; its grade caps, which need the patrols, play no part in a
    score), and the year's counters and indicators per town: two grouped rollup reads a month."""
    spans = months_of(year, today)
    path = service.scope_path(db, district)
    town_ids = list(db.scalars(select(OrgUnit.id).where(
        OrgUnit.kind == "town", OrgUnit.path.startswith(path, autoescape=True))))  # fmt: skip
    households: dict[int, int] = {}
    for _grid, grid_path, homes in service._grid_paths(db, path):
        town = owner_in(grid_path, set(town_ids))
        if town is not None:
            households[town] = households.get(town, 0) + homes

    def per_household(town: int, counts: Mapping[str, int]) -> float:
        homes = households.get(town, 0)
        return counts["new"] * 1000 / homes if homes else float(counts["new"])

    def sums(first: date, last: date, by: str) -> dict[int, dict[str, int]]:
        return service._sums(aggregate(db, scope=district, start=first, end=last, by=(by,),
                                       counters=service.COUNTERS, today=today))  # fmt: skip

    # Units are scored among all units (the best volume is any unit's), but only the
    # departments the annual assessment judges need their score.
    departments = set(db.scalars(
        select(Unit.id).where(Unit.category.in_(tuple(DEPARTMENT_CATEGORIES)))))  # fmt: skip
    towns: dict[int, list[float | None]] = {t: [None] * len(spans) for t in town_ids}
    units: dict[int, list[float | None]] = {}
    for index, (first, last) in enumerate(spans):
        for town, score in _scores(sums(first, last, "town_id"), town_ids, per_household,
                                   weights).items():  # fmt: skip
            towns[town][index] = score
        by_unit = sums(first, last, "owner_unit_id")
        for unit, score in _scores(by_unit, list(by_unit), lambda _u, c: float(c["dispatched"]),
                                   weights, departments).items():  # fmt: skip
            units.setdefault(unit, [None] * len(spans))[index] = score
    year_rows: dict[int, service.Row] = {}
    if spans:
        for town, counts in sums(spans[0][0], spans[-1][1], "town_id").items():
            year_rows[town] = service.Row(town, "", "", counts, service.indicators(counts),
                                          per_household(town, counts))  # fmt: skip
    return Monthly(spans, towns, units, year_rows)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def events_part(scores: list[float | None] | None, weight: float, name: str) -> Part:
    """The mean of the monthly composite scores the entity had (months without one skipped)."""
    had = [s for s in scores or [] if s is not None]
    if not had:
        return Part("events", name, None, "全年各月均无事件得分，不计", None, weight)
    mean = round(fmean(had), 1)
    basis = f"{len(had)}个月综合得分平均：（{' + '.join(_num(s) for s in had)}）÷ {len(had)}"
    return Part("events", name, mean, basis, mean, weight)


def _rate_part(key: str, value: float | None, weight: float, words: str) -> Part:
    if value is None:
        return Part(key, PART_ZH[key], None, "本年无数据，不计", None, weight)
    bounded = min(max(value, 0.0), 1.0)
    return Part(key, PART_ZH[key], value, f"{words} {_pct(value)} × 100", round(100 * bounded, 1),
                weight)  # fmt: skip


def _score_part(key: str, value: float | None, weight: float, words: str) -> Part:
    if value is None:
        return Part(key, PART_ZH[key], None, "本年无数据，不计", None, weight)
    bounded = round(min(max(value, 0.0), 100.0), 1)
    return Part(key, PART_ZH[key], value, f"{words} {_num(bounded)}", bounded, weight)


UNWIRED = "该项数据来源尚未接入，不计"


def town_parts(town_id: int, inputs: Inputs, month_scores: list[float | None] | None,
               weights: Mapping[str, float]) -> list[Part]:  # fmt: skip
    """A town's six components, each with its raw value and 0-100 score."""
    parts = [events_part(month_scores, weights["events"], PART_ZH["events"])]
    getters: dict[str, Callable[[], Part]] = {
        "rounds": lambda: _score_part("rounds", _get(inputs.rounds, town_id), weights["rounds"],
                                      "督查轮次平均得分"),
        "rectification": lambda: _rate_part(
            "rectification", _get(inputs.rectification, town_id), weights["rectification"],
            "整改事项按期完成"),
        "campaigns": lambda: _rate_part("campaigns", _get(inputs.campaigns, town_id),
                                        weights["campaigns"], "完成本镇街目标份额"),
        "meetings": lambda: _meetings_part(inputs, town_id, weights["meetings"]),
        "decisions": lambda: _rate_part("decisions", _get(inputs.decisions, town_id),
                                        weights["decisions"], "会商决定按期办结"),
    }  # fmt: skip
    for key, _ in TOWN_PARTS[1:]:
        if getattr(inputs, key) is None:
            parts.append(Part(key, PART_ZH[key], None, UNWIRED, None, weights[key]))
        else:
            parts.append(getters[key]())
    return parts


def _get(values: Mapping[int, float] | None, key: int) -> float | None:
    return None if values is None else values.get(key)


def _meetings_part(inputs: Inputs, town_id: int, weight: float) -> Part:
    held_scheduled = (inputs.meetings or {}).get(town_id)
    if not held_scheduled or not held_scheduled[1]:
        return Part("meetings", PART_ZH["meetings"], None, "本年无应开例会，不计", None, weight)
    held, scheduled = held_scheduled
    rate = held / scheduled
    return Part("meetings", PART_ZH["meetings"], rate,
                f"召开 {held} 次 ÷ 应开 {scheduled} 次 × 100",
                round(100 * min(rate, 1.0), 1), weight)  # fmt: skip


def weigh(parts: list[Part]) -> tuple[float | None, str]:
    """The total of the parts that have a score (their weights taken as shares of their sum),
    each part's share and points (in tenths, largest remainders, so they add up to the total
    exactly), and the formula in words and numbers."""
    counted = [p for p in parts if p.score is not None and p.weight > 0]
    weight_sum = sum(p.weight for p in counted)
    if not weight_sum:
        return None, "无可计分的考核项，暂无总分"
    raw = {p.key: p.weight * (p.score or 0.0) / weight_sum for p in counted}
    total = round(sum(raw.values()), 1)
    tenths = {key: int(value * 10) for key, value in raw.items()}
    short = round(total * 10) - sum(tenths.values())
    for key in sorted(raw, key=lambda k: raw[k] * 10 - tenths[k], reverse=True)[: max(short, 0)]:
        tenths[key] += 1
    for part in counted:
        part.share = part.weight / weight_sum
        part.points = tenths[part.key] / 10
    terms = " + ".join(f"{_num(p.weight)} × {_num(p.score or 0.0)}" for p in counted)
    formula = f"总分 =（{terms}）÷ {_num(weight_sum)} = {_num(total)}"
    left_out = [p.name for p in parts if p.score is None and p.weight > 0]
    if left_out:
        formula += f"；{'、'.join(left_out)}无数据不计，其余权重按其和 {_num(weight_sum)} 折算"
    return total, formula


def finish(reports: list[Report], group: Callable[[Report], Any] | None = None) -> None:
    """Totals, grades (the 考核 page's floors) and ranks (best total first, within `group`)."""
    for report in reports:
        report.total, report.formula = weigh(report.parts)
        report.grade = service.grade(report.total)
    groups: dict[Any, list[Report]] = {}
    for report in reports:
        if report.total is not None:
            groups.setdefault(group(report) if group else None, []).append(report)
    for members in groups.values():
        members.sort(key=lambda r: (-(r.total or 0.0), r.name))
        for position, report in enumerate(members, start=1):
            report.rank = position


def town_reports(
    db: Session, *, inputs: Inputs, monthly: Monthly, weights: Mapping[str, float]
) -> list[Report]:
    """Every town's report of the year (the towns of the district `monthly` was read for),
    ranked."""
    towns = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.path, OrgUnit.parent_id)
        .where(OrgUnit.kind == "town", OrgUnit.id.in_(list(monthly.towns)))
        .order_by(OrgUnit.code)
    ).all()
    district = dict(
        db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "district")).all()
    )
    reports = [
        Report("town", t.id, t.name, district.get(t.parent_id, ""), t.parent_id or 0, t.path,
               town_parts(t.id, inputs, monthly.towns.get(t.id), weights))
        for t in towns
    ]  # fmt: skip
    finish(reports)
    return reports


def department_reports(
    db: Session, *, year: int, monthly: Monthly, weights: Mapping[str, float], within: str = "/"
) -> list[Report]:
    """Every dispatched agency's and district department's report of the year: its evaluation
    by the area that judges it and its own event indicators; ranked within that area."""
    units = db.execute(
        select(Unit.id, Unit.name, Unit.category, OrgUnit.id.label("area_id"),
               OrgUnit.name.label("area"), OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        .where(Unit.category.in_(tuple(DEPARTMENT_CATEGORIES)), Unit.active.is_(True),
               OrgUnit.path.startswith(within, autoescape=True))
        .order_by(OrgUnit.code, Unit.code)
    ).all()  # fmt: skip
    evaluations = {
        e.unit_id: e for e in db.scalars(select(UnitEvaluation).where(UnitEvaluation.year == year))
    }
    reports = []
    for unit in units:
        judged = evaluations.get(unit.id)
        by = "镇街" if unit.category == "agency" else "区"
        if judged is None:
            evaluation = Part("evaluation", PART_ZH["evaluation"], None, f"{by}尚未评价，不计",
                              None, weights["evaluation"])  # fmt: skip
        else:
            evaluation = _score_part("evaluation", judged.score, weights["evaluation"],
                                     f"{unit.area}评价得分")  # fmt: skip
        parts = [evaluation, events_part(monthly.units.get(unit.id), weights["events"],
                                         PART_ZH["events"])]  # fmt: skip
        report = Report(unit.category, unit.id, unit.name, unit.area, unit.area_id, unit.path,
                        parts)  # fmt: skip
        if judged is not None:
            report.extra = {"note": judged.note, "entered_by": judged.entered_by,
                            "entered_at": judged.entered_at, "version": judged.version}  # fmt: skip
        reports.append(report)
    finish(reports, group=lambda r: r.area_id)
    # The district's departments first, then each town's agencies, each area best first.
    order = {area_id: index for index, area_id in enumerate(dict.fromkeys(
        r.area_id for r in sorted(reports, key=lambda r: r.kind != "district_department")))}  # fmt: skip
    reports.sort(key=lambda r: (order[r.area_id], r.rank is None, r.rank or 0, r.name))
    return reports
