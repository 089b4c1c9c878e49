"""Towns' self-assessments against the standard in force: a town's operators or leaders record
each item's result, note and evidence for a year, keep it as a draft, then submit it (final).
They flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.errors import conflict, invalid, not_found
from fengqiao.inspections import groups, scoring
from fengqiao.inspections.models import (
    RESULT_ZH,
    SELF_STATUS_ZH,
    SelfAssessment,
    SelfAssessmentItem,
)
from fengqiao.inspections.schemas import SelfAssessmentIn
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal, in_scope
from fengqiao.standards.models import ASPECT_ZH, StandardItem, StandardVersion
from fengqiao.standards.service import READER_ROLES, items_of, require_current

WRITER_ROLES = ("operator", "leader")


def save(*, db: Session, principal: Principal, data: SelfAssessmentIn,
         now: datetime) -> SelfAssessment:  # fmt: skip
    """Record (or re-record, while a draft) a town's self-assessment of a year; `submit`
    makes it final."""
    principal.require_role(*WRITER_ROLES)
    town = db.get(OrgUnit, data.town_id)
    if town is None or town.kind != "town":
        raise invalid("town_id", f"no town with id {data.town_id}", f"镇街 {data.town_id} 不存在")
    principal.require_covers(town.path)
    standard = require_current(db)
    items = items_of(db, standard.id)
    weights = [scoring.ItemWeight(i.id, i.weight) for i in items]
    scoring.check_complete(weights, [s.item_id for s in data.scores])
    results = {s.item_id: s.result for s in data.scores}
    sheet = db.scalars(select(SelfAssessment).where(
        SelfAssessment.town_id == town.id, SelfAssessment.year == data.year
    ).with_for_update()).first()  # fmt: skip
    if sheet is not None and sheet.status == "submitted":
        raise conflict("self-assessment-submitted", "Already submitted", "自评已提交",
                       f"{town.name}'s self-assessment of {data.year} is submitted",
                       f"{town.name}{data.year}年度自评已提交，不能修改")  # fmt: skip
    if sheet is None:
        sheet = SelfAssessment(
            town_id=town.id, town_path=town.path, year=data.year, status="draft", version=1,
            standard_version_id=standard.id, score=0.0, created_by=principal.user_id,
            created_at=now,
        )  # fmt: skip
        db.add(sheet)
        db.flush()
        action = "create"
    else:
        db.execute(delete(SelfAssessmentItem).where(SelfAssessmentItem.assessment_id == sheet.id))
        sheet.version += 1
        action = "edit"
    sheet.standard_version_id = standard.id
    sheet.score = scoring.total(weights, results)
    by_id = {i.id: i for i in items}
    for s in data.scores:
        db.add(SelfAssessmentItem(
            assessment_id=sheet.id, item_id=s.item_id, result=s.result,
            score=scoring.item_score(by_id[s.item_id].weight, s.result),
            note=(s.note or "").strip() or None, evidence=(s.evidence or "").strip() or None,
        ))  # fmt: skip
    groups.log(db, "self_assessment", sheet.id, principal.user_id, action, now, f"{sheet.score:g}")
    if data.submit:
        sheet.status, sheet.submitted_by, sheet.submitted_at = "submitted", principal.user_id, now
        groups.log(db, "self_assessment", sheet.id, principal.user_id, "submit", now)
    db.flush()
    return sheet


def get(db: Session, principal: Principal, sheet_id: int) -> SelfAssessment:
    principal.require_role(*READER_ROLES)
    sheet = db.get(SelfAssessment, sheet_id)
    if sheet is None or not principal.covers(sheet.town_path):
        raise not_found("self-assessment", "自评")
    return sheet


def list_sheets(*, db: Session, principal: Principal, year: int | None,
                town_id: int | None) -> list[SelfAssessment]:  # fmt: skip
    """The self-assessments of towns in scope, newest year first."""
    principal.require_role(*READER_ROLES)
    where: list[ColumnElement[bool]] = [in_scope(principal, SelfAssessment.town_path)]
    if year is not None:
        where.append(SelfAssessment.year == year)
    if town_id is not None:
        where.append(SelfAssessment.town_id == town_id)
    return list(db.scalars(select(SelfAssessment).where(*where).order_by(
        SelfAssessment.year.desc(), SelfAssessment.town_id).limit(500)))  # fmt: skip


def sheets_out(db: Session, sheets: Sequence[SelfAssessment], *, detail: bool = False
               ) -> list[dict[str, Any]]:  # fmt: skip
    if not sheets:
        return []
    towns = dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.id.in_({s.town_id for s in sheets}))).all())  # fmt: skip
    versions = {v.id: v for v in db.scalars(select(StandardVersion).where(
        StandardVersion.id.in_({s.standard_version_id for s in sheets})))}  # fmt: skip
    ids = {u for s in sheets for u in (s.created_by, s.submitted_by) if u is not None}
    people = dict(db.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    rows = db.execute(
        select(SelfAssessmentItem, StandardItem)
        .join(StandardItem, StandardItem.id == SelfAssessmentItem.item_id)
        .where(SelfAssessmentItem.assessment_id.in_([s.id for s in sheets]))
        .order_by(StandardItem.position)
    ).all() if detail else []  # fmt: skip

    def person(user_id: int | None) -> dict[str, Any] | None:
        return None if user_id is None else {"id": user_id, "name": people.get(user_id, "")}

    out = []
    for s in sheets:
        v = versions[s.standard_version_id]
        out.append({
            "id": s.id, "town": {"id": s.town_id, "name": towns.get(s.town_id, "")},
            "year": s.year, "standard_version": {"id": v.id, "number": v.number, "title": v.title},
            "score": s.score, "status": s.status, "status_name": SELF_STATUS_ZH[s.status],
            "version": s.version, "created_by": person(s.created_by),
            "submitted_by": person(s.submitted_by), "submitted_at": s.submitted_at,
            "items": [{
                "item_id": si.id, "aspect": si.aspect, "aspect_name": ASPECT_ZH[si.aspect],
                "text": si.text, "weight": si.weight, "result": ai.result,
                "result_name": RESULT_ZH[ai.result], "score": ai.score, "note": ai.note,
                "evidence": ai.evidence,
            } for ai, si in rows if ai.assessment_id == s.id],
        })  # fmt: skip
    return out
