"""What the rounds add up to: each town's mean round score, its rectification rate and its
self-assessment score for a year (the inputs of the annual assessment), a summary per town in
the caller's scope, and the rectifications (tracked tasks of kind 'rectification') as a list."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from fengqiao.inspections.models import (
    InspectionGroup,
    InspectionGroupTown,
    InspectionRound,
    InspectionRoundItem,
    SelfAssessment,
)
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal, in_scope
from fengqiao.standards.service import READER_ROLES
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import light_clause, task_light


def round_scores(*, db: Session, year: int) -> dict[int, float]:
    """Town org id → the mean 0..100 score of the year's supervision rounds (towns with a
    round only)."""
    rows = db.execute(
        select(InspectionRound.town_id, func.avg(InspectionRound.score))
        .where(InspectionRound.year == year).group_by(InspectionRound.town_id)
    ).all()  # fmt: skip
    return {town: round(float(score), 2) for town, score in rows}


def _rectifications_of_year(year: int) -> Any:
    return (
        select(InspectionRound.town_id, TrackedTask.status, TrackedTask.done_at, TrackedTask.due_at)
        .join(InspectionRoundItem, InspectionRoundItem.round_id == InspectionRound.id)
        .join(TrackedTask, TrackedTask.id == InspectionRoundItem.task_id)
        .where(InspectionRound.year == year, TrackedTask.status != "cancelled")
    )


def rectification_rates(*, db: Session, year: int) -> dict[int, float]:
    """Town org id → the share (0..1) of the rectification items of the year's rounds done by
    their due time (an item still open, or done late, counts against; cancelled ones do not
    count). Towns with at least one rectification only."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for town, status, done_at, due_at in db.execute(_rectifications_of_year(year)):
        counts[town][1] += 1
        if status == "done" and done_at is not None and done_at <= due_at:
            counts[town][0] += 1
    return {town: round(on_time / total, 4) for town, (on_time, total) in counts.items()}


def self_assessments(*, db: Session, year: int) -> dict[int, float]:
    """Town org id → its submitted self-assessment score 0..100 for the year."""
    rows = db.execute(
        select(SelfAssessment.town_id, SelfAssessment.score)
        .where(SelfAssessment.year == year, SelfAssessment.status == "submitted")
    ).all()  # fmt: skip
    return {town: float(score) for town, score in rows}


def summary(*, db: Session, principal: Principal, year: int) -> list[dict[str, Any]]:
    """Per town in the caller's scope: its group, rounds and mean score of the year, its
    rectifications (all, open) and on-time rate, and its self-assessment."""
    principal.require_role(*READER_ROLES)
    towns = db.execute(
        select(OrgUnit.id, OrgUnit.name, InspectionGroup.id.label("gid"),
               InspectionGroup.name.label("gname"))
        .outerjoin(InspectionGroupTown, InspectionGroupTown.town_id == OrgUnit.id)
        .outerjoin(InspectionGroup, InspectionGroup.id == InspectionGroupTown.group_id)
        .where(OrgUnit.kind == "town", OrgUnit.valid_to.is_(None),
               in_scope(principal, OrgUnit.path)).order_by(OrgUnit.code)
    ).all()  # fmt: skip
    scores = round_scores(db=db, year=year)
    rates = rectification_rates(db=db, year=year)
    selves = self_assessments(db=db, year=year)
    rounds = dict(db.execute(
        select(InspectionRound.town_id, func.count()).where(InspectionRound.year == year)
        .group_by(InspectionRound.town_id)
    ).all())  # fmt: skip
    tallies: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for town, status, _, _ in db.execute(_rectifications_of_year(year)):
        tallies[town][0] += 1
        tallies[town][1] += status == "open"
    return [{
        "town": {"id": t.id, "name": t.name},
        "group": None if t.gid is None else {"id": t.gid, "name": t.gname},
        "rounds": rounds.get(t.id, 0), "round_score": scores.get(t.id),
        "rectifications": tallies[t.id][0], "rectifications_open": tallies[t.id][1],
        "rectification_rate": rates.get(t.id), "self_assessment": selves.get(t.id),
    } for t in towns]  # fmt: skip


def list_rectifications(*, db: Session, principal: Principal, now: datetime,
                        town_id: int | None, status: str | None, light: str | None,
                        round_id: int | None, offset: int, limit: int
                        ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """The rectification items of towns in scope (tracked tasks of kind 'rectification' made by
    rounds), latest due first; `light` filters by the light now."""
    principal.require_role(*READER_ROLES)
    where: list[ColumnElement[bool]] = [
        TrackedTask.kind == "rectification", in_scope(principal, InspectionRound.town_path),
    ]  # fmt: skip
    if town_id is not None:
        where.append(InspectionRound.town_id == town_id)
    if status is not None:
        where.append(TrackedTask.status == status)
    if round_id is not None:
        where.append(InspectionRound.id == round_id)
    if light is not None:
        where.append(light_clause(light, now))
    base = (
        select(TrackedTask, InspectionRound.id, InspectionRound.town_id, OrgUnit.name)
        .join(InspectionRoundItem, InspectionRoundItem.task_id == TrackedTask.id)
        .join(InspectionRound, InspectionRound.id == InspectionRoundItem.round_id)
        .join(OrgUnit, OrgUnit.id == InspectionRound.town_id)
        .where(*where)
    )
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = db.execute(
        base.order_by(TrackedTask.due_at.desc(), TrackedTask.id.desc()).offset(offset).limit(limit)
    ).all()
    return [{
        "code": task.code, "title": task.title, "town": {"id": town, "name": name},
        "round_id": rid, "status": task.status, "light": task_light(task, now),
        "due_at": task.due_at, "done_at": task.done_at,
        "evidence_required": task.evidence_required,
    } for task, rid, town, name in rows], total  # fmt: skip
