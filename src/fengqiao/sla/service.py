"""Editing the deadline policies and the working-calendar overrides (administrators only).

Every change bumps the org-level `rules` counter, so each instance reloads its rules snapshot
(which holds the policies and the calendar); events already dispatched keep their deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Column, select
from sqlalchemy.orm import Session

from fengqiao.errors import invalid, not_found
from fengqiao.org.models import OrgUnit
from fengqiao.org.service import RULES_COUNTER, bump_counter
from fengqiao.sla.calendar import WorkCalendar
from fengqiao.sla.deadlines import LimitUnit, Policy
from fengqiao.sla.models import CalendarOverride, SlaPolicy

LIMIT_UNITS = ("hours", "working_hours", "working_days", "calendar_days")


def check_level(level: Any, field: str) -> None:
    """An event level, as policies and classes give it: 1, 2, 3 or 4."""
    if not isinstance(level, int) or not 1 <= level <= 4:
        raise invalid(field, "level must be 1, 2, 3 or 4", "等级须为 1 至 4")


def _rules_changed(db: Session) -> None:
    # The rules snapshot (taxonomy) holds the policies and the calendar; sla sits below it, so
    # it bumps the counter the snapshot watches rather than calling into taxonomy.
    bump_counter(db=db, name=RULES_COUNTER)


def _class_exists(db: Session, code: str) -> bool:
    # The class table is read through the policy's own foreign key: sla sits below taxonomy and
    # does not import its models.
    (foreign_key,) = cast(Column[Any], SlaPolicy.__table__.c.category_code).foreign_keys
    column = foreign_key.column
    return db.scalar(select(column).where(column == code)) is not None


def list_policies(*, db: Session) -> list[SlaPolicy]:
    """Every deadline policy, oldest first."""
    return list(db.scalars(select(SlaPolicy).order_by(SlaPolicy.id)))


def save_policy(*, db: Session, values: dict[str, Any], policy_id: int | None = None) -> SlaPolicy:
    """Create or change an SLA policy; events already dispatched keep their deadlines."""
    policy = (
        SlaPolicy(urgent=False, yellow_ratio=0.8)
        if policy_id is None
        else db.get(SlaPolicy, policy_id)
    )
    if policy is None:
        raise not_found("SLA policy", "时限规则")
    for key, value in values.items():
        setattr(policy, key, value)
    if policy.limit_unit not in LIMIT_UNITS:
        raise invalid("limit_unit", f"use one of {', '.join(LIMIT_UNITS)}", "时限单位取值无效")
    if policy.limit_value is None or policy.limit_value < 0:
        raise invalid("limit_value", "a limit is a number ≥ 0", "时限须为非负数")
    try:  # what the deadline arithmetic itself accepts, checked before it is stored
        Policy(
            limit=policy.limit_value, unit=cast(LimitUnit, policy.limit_unit),
            remind_before_hours=policy.remind_before_hours, yellow_ratio=policy.yellow_ratio,
        )  # fmt: skip
    except ValueError as exc:
        raise invalid("limit_value", str(exc), "按自然日计的时限须为整数天") from None
    if policy.level is not None:
        check_level(policy.level, "level")
    if policy.category_code is not None and not _class_exists(db, policy.category_code):
        raise invalid("category_code", "unknown class", "事件分类不存在")
    if policy.district_id is not None:
        kind = db.scalar(select(OrgUnit.kind).where(OrgUnit.id == policy.district_id))
        if kind != "district":
            raise invalid("district_id", "not a district", "不是区（县）")
    db.add(policy)
    db.flush()
    _rules_changed(db)
    return policy


@dataclass(frozen=True)
class CalendarDay:
    """Whether a day is a working day, and whether an override or the official calendar says so."""

    day: date
    is_working: bool
    source: str  # "override" or "official"
    note: str = ""


def calendar_days(*, db: Session, start: date, days: int) -> list[CalendarDay]:
    """Whether each day is a working day: the override table first, then the official calendar."""
    overrides = {o.day: o for o in db.scalars(select(CalendarOverride))}
    work = WorkCalendar({d: o.is_working for d, o in overrides.items()})
    out = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        override = overrides.get(day)
        out.append(
            CalendarDay(
                day=day,
                is_working=work.is_working_day(day),
                source="override" if override else "official",
                note=override.note if override else "",
            )
        )
    return out


def set_calendar_day(*, db: Session, day: date, is_working: bool, note: str) -> CalendarDay:
    """Declare a day working or rest (e.g. a year the official calendar does not know yet)."""
    row = db.get(CalendarOverride, day) or CalendarOverride(day=day)
    row.is_working, row.note = is_working, note
    db.add(row)
    _rules_changed(db)
    return CalendarDay(day=day, is_working=is_working, source="override", note=note)


def drop_calendar_day(*, db: Session, day: date) -> None:
    """Drop an override; the official calendar decides that day again."""
    row = db.get(CalendarOverride, day)
    if row is None:
        raise not_found("calendar override", "日历调整")
    db.delete(row)
    _rules_changed(db)
