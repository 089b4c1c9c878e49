"""Monthly supervision rounds: a group's member scores a town the group covers against the
standard in force, and every item not fully met becomes a rectification (a tracked task with an
owner, a deadline and photo evidence required). They flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import conflict, forbidden, invalid, not_found
from fengqiao.inspections import groups, scoring
from fengqiao.inspections.models import (
    LOG_ACTION_ZH,
    RESULT_ZH,
    InspectionGroup,
    InspectionGroupTown,
    InspectionLog,
    InspectionRound,
    InspectionRoundItem,
)
from fengqiao.inspections.schemas import ItemScoreIn, RoundIn
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal, in_scope
from fengqiao.sla.calendar import WorkCalendar
from fengqiao.standards.models import ASPECT_ZH, StandardItem, StandardVersion
from fengqiao.standards.service import READER_ROLES, items_of, require_current
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import create_task, stored_calendar, task_light

DEADLINE_DAYS = 10  # working days to rectify unless the round says otherwise
TITLE_MAX = 200


def month_of(moment: datetime) -> tuple[int, int]:
    local = moment.astimezone(LOCAL_TZ)
    return local.year, local.month


def parse_month(text: str, field: str = "month") -> tuple[int, int]:
    try:
        year, month = (int(part) for part in text.split("-"))
    except ValueError as exc:
        raise invalid(field, "a month is YYYY-MM", "月份格式应为 年-月") from exc
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise invalid(field, "a month is YYYY-MM", "月份格式应为 年-月")
    return year, month


def town_owner(db: Session, town: OrgUnit) -> int | None:
    """Who owns a town's rectification when no unit is named: the town's leader, else its
    command room's operator (the first by id, so the choice is stable)."""
    for role in ("leader", "operator"):
        user_id = db.scalar(
            select(User.id).join(UserRole, UserRole.user_id == User.id)
            .where(User.home_org_id == town.id, User.is_active.is_(True), UserRole.role == role)
            .order_by(User.id).limit(1)
        )  # fmt: skip
        if user_id is not None:
            return user_id
    return None


def _check_owner_units(db: Session, town: OrgUnit, scores: Sequence[ItemScoreIn]) -> None:
    for index, score in enumerate(scores):
        if score.owner_unit_id is None:
            continue
        row = db.execute(
            select(Unit.id, OrgUnit.path).join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
            .where(Unit.id == score.owner_unit_id, Unit.active.is_(True))
        ).first()  # fmt: skip
        if row is None or not row.path.startswith(town.path):
            raise invalid(f"scores[{index}].owner_unit_id",
                          f"unit {score.owner_unit_id} is not a unit of {town.name}",
                          f"单位 {score.owner_unit_id} 不是{town.name}的单位")  # fmt: skip


def create_round(*, db: Session, principal: Principal, data: RoundIn, now: datetime,
                 notify: bool = True, calendar: WorkCalendar | None = None
                 ) -> InspectionRound:  # fmt: skip
    """Score a town for a month: the caller is a member of the group, the town is the group's,
    the month has no round yet and is not in the future, every item is scored once; each item
    not met becomes a rectification."""
    group = db.get(InspectionGroup, data.group_id)
    if group is None:
        raise invalid(
            "group_id", f"no group with id {data.group_id}", f"督查组 {data.group_id} 不存在"
        )
    if not groups.is_member(db, group.id, principal.user_id):
        raise forbidden(f"only members of {group.name} score its rounds",
                        f"只有{group.name}的成员可以评分")  # fmt: skip
    town = db.get(OrgUnit, data.town_id)
    if town is None or town.kind != "town":
        raise invalid("town_id", f"no town with id {data.town_id}", f"镇街 {data.town_id} 不存在")
    if groups.group_of_town(db, town.id) != group.id:
        raise invalid("town_id", f"{town.name} is not assigned to {group.name}",
                      f"{town.name}不是{group.name}联系的镇街")  # fmt: skip
    year, month = parse_month(data.month)
    if (year, month) > month_of(now):
        raise invalid("month", "a round cannot be for a month to come", "不能为未来月份评分")
    held_on = data.held_on or now.astimezone(LOCAL_TZ).date()
    if held_on > now.astimezone(LOCAL_TZ).date():
        raise invalid("held_on", "the visit cannot be in the future", "督查日期不能晚于今天")
    taken = db.scalar(select(InspectionRound.id).where(
        InspectionRound.town_id == town.id, InspectionRound.year == year,
        InspectionRound.month == month,
    ))  # fmt: skip
    if taken is not None:
        raise conflict("round-exists", "Round already held", "本月已督查",
                       f"{town.name} already has a round for {data.month}",
                       f"{town.name}{year}年{month}月已有督查记录")  # fmt: skip
    standard = require_current(db)
    items = items_of(db, standard.id)
    weights = [scoring.ItemWeight(i.id, i.weight) for i in items]
    scoring.check_complete(weights, [s.item_id for s in data.scores])
    _check_owner_units(db, town, data.scores)
    results = {s.item_id: s.result for s in data.scores}
    the_round = InspectionRound(
        group_id=group.id, town_id=town.id, town_path=town.path, standard_version_id=standard.id,
        year=year, month=month, held_on=held_on, score=scoring.total(weights, results),
        note=(data.note or "").strip() or None, created_by=principal.user_id, created_at=now,
    )  # fmt: skip
    db.add(the_round)
    db.flush()
    groups.log(db, "round", the_round.id, principal.user_id, "score", now,
               f"{the_round.score:g}")  # fmt: skip
    by_id = {i.id: i for i in items}
    failed = 0
    fallback_owner = town_owner(db, town)
    # One working calendar for every item (a caller making many rounds passes its own).
    calendar = calendar or stored_calendar(db)
    for score in data.scores:
        item = by_id[score.item_id]
        row = InspectionRoundItem(
            round_id=the_round.id, item_id=item.id, result=score.result,
            score=scoring.item_score(item.weight, score.result),
            note=(score.note or "").strip() or None,
        )  # fmt: skip
        if score.result != "met":
            failed += 1
            task = create_task(
                db=db, kind="rectification", source_type="inspection", source_id=the_round.id,
                title=f"{ASPECT_ZH[item.aspect]}：{item.text}"[:TITLE_MAX],
                detail=row.note or f"{year}年{month}月督查{RESULT_ZH[score.result]}，请限期整改",
                org_id=town.id, owner_unit_id=score.owner_unit_id,
                owner_user_id=None if score.owner_unit_id else fallback_owner,
                limit=float(score.deadline_days or DEADLINE_DAYS), limit_unit="working_days",
                evidence_required=True, actor_id=principal.user_id, now=now, calendar=calendar,
                notify=notify,
            )  # fmt: skip
            row.task_id = task.id
        db.add(row)
    if failed:
        groups.log(db, "round", the_round.id, principal.user_id, "rectify", now, f"{failed}")
    db.flush()
    return the_round


def get_round(db: Session, principal: Principal, round_id: int) -> InspectionRound:
    """A round of a town in the caller's scope; 404 otherwise."""
    principal.require_role(*READER_ROLES)
    the_round = db.get(InspectionRound, round_id)
    if the_round is None or not principal.covers(the_round.town_path):
        raise not_found("inspection round", "督查记录")
    return the_round


def list_rounds(*, db: Session, principal: Principal, town_id: int | None, group_id: int | None,
                year: int | None, offset: int, limit: int) -> tuple[list[InspectionRound], int]:  # fmt: skip
    """The rounds of towns in the caller's scope, newest month first."""
    principal.require_role(*READER_ROLES)
    where: list[ColumnElement[bool]] = [in_scope(principal, InspectionRound.town_path)]
    if town_id is not None:
        where.append(InspectionRound.town_id == town_id)
    if group_id is not None:
        where.append(InspectionRound.group_id == group_id)
    if year is not None:
        where.append(InspectionRound.year == year)
    total = db.scalar(select(func.count()).select_from(InspectionRound).where(*where)) or 0
    rows = db.scalars(
        select(InspectionRound).where(*where)
        .order_by(InspectionRound.year.desc(), InspectionRound.month.desc(), InspectionRound.id)
        .offset(offset).limit(limit)
    ).all()  # fmt: skip
    return list(rows), total


def missing(*, db: Session, principal: Principal, year: int, month: int) -> list[dict[str, Any]]:
    """The towns in scope, assigned to a group, with no round for the month."""
    principal.require_role(*READER_ROLES)
    held = select(InspectionRound.id).where(
        InspectionRound.town_id == InspectionGroupTown.town_id, InspectionRound.year == year,
        InspectionRound.month == month,
    ).exists()  # fmt: skip
    rows = db.execute(
        select(OrgUnit.id, OrgUnit.name, InspectionGroup.id.label("group_id"),
               InspectionGroup.name.label("group_name"))
        .join(InspectionGroupTown, InspectionGroupTown.town_id == OrgUnit.id)
        .join(InspectionGroup, InspectionGroup.id == InspectionGroupTown.group_id)
        .where(in_scope(principal, OrgUnit.path), ~held).order_by(OrgUnit.code)
    ).all()  # fmt: skip
    return [{"id": r.id, "name": r.name, "group": {"id": r.group_id, "name": r.group_name}}
            for r in rows]  # fmt: skip


def _people(db: Session, ids: Sequence[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


def rectification_out(task: TrackedTask, now: datetime) -> dict[str, Any]:
    return {
        "code": task.code,
        "status": task.status,
        "light": task_light(task, now),
        "due_at": task.due_at,
        "done_at": task.done_at,
        "title": task.title,
    }


def rounds_out(db: Session, rounds: Sequence[InspectionRound], now: datetime, *,
               detail: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """Rounds with their group, town, version and failed items; with `detail` every item, its
    rectification (code, status, light) and the trail."""
    if not rounds:
        return []
    ids = [r.id for r in rounds]
    places = dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.id.in_({r.town_id for r in rounds}))).all())  # fmt: skip
    group_names = dict(db.execute(select(InspectionGroup.id, InspectionGroup.name)).all())
    versions = {v.id: v for v in db.scalars(select(StandardVersion).where(
        StandardVersion.id.in_({r.standard_version_id for r in rounds})))}  # fmt: skip
    items = db.execute(
        select(InspectionRoundItem, StandardItem, TrackedTask)
        .join(StandardItem, StandardItem.id == InspectionRoundItem.item_id)
        .outerjoin(TrackedTask, TrackedTask.id == InspectionRoundItem.task_id)
        .where(InspectionRoundItem.round_id.in_(ids)).order_by(StandardItem.position)
    ).all()  # fmt: skip
    logs = list(db.scalars(select(InspectionLog).where(and_(
        InspectionLog.subject == "round", InspectionLog.subject_id.in_(ids)
    )).order_by(InspectionLog.id))) if detail else []  # fmt: skip
    people = _people(db, [r.created_by for r in rounds] + [g.actor_id for g in logs])
    out = []
    for r in rounds:
        mine = [row for row in items if row[0].round_id == r.id]
        tasks = [t for _, _, t in mine if t is not None]
        version = versions[r.standard_version_id]
        entry: dict[str, Any] = {
            "id": r.id, "group": {"id": r.group_id, "name": group_names.get(r.group_id, "")},
            "town": {"id": r.town_id, "name": places.get(r.town_id, "")},
            "standard_version": {"id": version.id, "number": version.number,
                                 "title": version.title},
            "month": f"{r.year:04d}-{r.month:02d}", "held_on": r.held_on, "score": r.score,
            "note": r.note, "created_at": r.created_at,
            "created_by": None if r.created_by is None else
            {"id": r.created_by, "name": people.get(r.created_by, "")},
            "failed": sum(1 for ri, _, _ in mine if ri.result != "met"),
            "rectifications_open": sum(1 for t in tasks if t.status == "open"),
        }  # fmt: skip
        if detail:
            entry["items"] = [{
                "item_id": si.id, "aspect": si.aspect, "aspect_name": ASPECT_ZH[si.aspect],
                "text": si.text, "weight": si.weight, "evidence": si.evidence,
                "result": ri.result, "result_name": RESULT_ZH[ri.result], "score": ri.score,
                "note": ri.note, "rectification": None if t is None else rectification_out(t, now),
            } for ri, si, t in mine]  # fmt: skip
            entry["trail"] = [{
                "at": g.at, "action": g.action, "action_name": LOG_ACTION_ZH[g.action],
                "actor": None if g.actor_id is None else
                {"id": g.actor_id, "name": people.get(g.actor_id, "")}, "note": g.note,
            } for g in logs if g.subject_id == r.id]  # fmt: skip
        out.append(entry)
    return out


def today(now: datetime) -> date:
    return now.astimezone(LOCAL_TZ).date()
