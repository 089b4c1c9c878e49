"""Benchmark towns (标杆镇街): every town judged on the eight-aspect standard (its own
self-assessment and the supervision groups' round scores) plus 工作成效明显 (the year's event
indicators) and 基层群众满意 (residents' ratings and the verification outcomes), weighted as
the year's scheme says; the best `benchmark_count` are proposed, the district confirms."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.assessment import service
from fengqiao.assessment.annual import (
    PART_ZH,
    UNWIRED,
    Inputs,
    Monthly,
    Part,
    Report,
    _num,
    _pct,
    _score_part,
    events_part,
    finish,
)
from fengqiao.org.models import OrgUnit


def satisfaction_part(row: service.Row | None, weight: float) -> Part:
    """群众满意: the mean of the ones present of (满意度 − 1) ÷ 4 × 100 (ratings 1-5) and
    (1 − 返工率) × 100 (the share of handled events that passed verification at the first
    回访/核查), over the year's events of the town."""
    name = PART_ZH["satisfaction"]
    if row is None:
        return Part("satisfaction", name, None, "本年无事件，不计", None, weight)
    rating, rework = row.values.get("satisfaction"), row.values.get("rework_rate")
    scores, words = [], []
    if rating is not None:
        scores.append(100 * (rating - 1) / 4)
        words.append(
            f"满意度 {rating:.2f} 分（{row.counts['rated']} 件评价）折 {_num(round(scores[-1], 1))}"
        )
    if rework is not None:
        scores.append(100 * (1 - rework))
        words.append(f"核查一次通过率 {_pct(1 - rework)} 折 {_num(round(scores[-1], 1))}")
    if not scores:
        return Part("satisfaction", name, None, "本年无评价、无核查，不计", None, weight)
    value = round(sum(scores) / len(scores), 1)
    basis = "；".join(words) + (f"；两项平均 {_num(value)}" if len(scores) > 1 else "")
    return Part("satisfaction", name, value, basis, value, weight)


def benchmark_reports(
    db: Session, *, inputs: Inputs, monthly: Monthly, weights: Mapping[str, float]
) -> list[Report]:
    """Every town's benchmark standing of the year, ranked (best first)."""
    towns = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.path, OrgUnit.parent_id)
        .where(OrgUnit.kind == "town", OrgUnit.id.in_(list(monthly.towns)))
        .order_by(OrgUnit.code)
    ).all()
    district = dict(
        db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "district")).all()
    )
    reports = []
    for town in towns:
        parts = []
        for key, values, words in (
            ("self_assessment", inputs.self_assessment, "标准化自评得分"),
            ("rounds", inputs.rounds, "督查组各轮平均得分"),
        ):
            if values is None:
                parts.append(Part(key, PART_ZH[key], None, UNWIRED, None, weights[key]))
            else:
                parts.append(_score_part(key, values.get(town.id), weights[key], words))
        parts.append(events_part(monthly.towns.get(town.id), weights["effect"], PART_ZH["effect"]))
        parts[-1].key = "effect"
        parts.append(satisfaction_part(monthly.year_rows.get(town.id), weights["satisfaction"]))
        reports.append(
            Report(
                "town",
                town.id,
                town.name,
                district.get(town.parent_id, ""),
                town.parent_id or 0,
                town.path,
                parts,
            )
        )
    finish(reports)
    return reports
