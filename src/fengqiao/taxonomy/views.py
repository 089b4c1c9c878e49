"""Classes, routing rules, SLA policies and the working calendar: read by all, edited by admins."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from fengqiao.deps import CurrentPrincipal, DbSession, WriteSession
from fengqiao.errors import invalid, not_found
from fengqiao.sla.calendar import WorkCalendar
from fengqiao.sla.models import CalendarOverride
from fengqiao.taxonomy import service
from fengqiao.taxonomy.schemas import (
    CalendarDayIn,
    CalendarDayOut,
    CategoryCreate,
    CategoryList,
    CategoryOut,
    CategoryPatch,
    MajorOut,
    PolicyIn,
    PolicyOut,
    RuleIn,
    RuleOut,
)
from fengqiao.taxonomy.snapshot import rules_changed

router = APIRouter(tags=["taxonomy"])


@router.get("/categories", response_model=CategoryList, summary="The 10 major and 42 minor classes")
def list_categories(db: DbSession) -> CategoryList:
    """Every class with its platform, default unit type and level, filing and closing conditions."""
    majors, categories = service.list_categories(db=db)
    return CategoryList(
        majors=[MajorOut.model_validate(m) for m in majors],
        categories=[CategoryOut.model_validate(c) for c in categories],
    )


@router.post("/categories", response_model=CategoryOut, status_code=201)
def create_category(
    body: CategoryCreate, principal: CurrentPrincipal, db: WriteSession
) -> CategoryOut:
    """Add a minor class (administrators)."""
    principal.require_role("admin")
    category = service.create_category(db=db, values=body.model_dump())
    db.commit()
    return CategoryOut.model_validate(category)


@router.patch("/categories/{code}", response_model=CategoryOut)
def patch_category(
    code: str, body: CategoryPatch, principal: CurrentPrincipal, db: WriteSession
) -> CategoryOut:
    """Change a class (administrators); events already filed keep the names they had."""
    principal.require_role("admin")
    category = service.update_category(
        db=db, code=code, changes=body.model_dump(exclude_unset=True)
    )
    db.commit()
    return CategoryOut.model_validate(category)


@router.get("/routing-rules", response_model=list[RuleOut], summary="Routing rules in order")
def list_rules(db: DbSession) -> list[RuleOut]:
    """Tried by ascending position; the first match proposes the owner unit."""
    return [RuleOut.model_validate(r) for r in service.list_rules(db=db)]


@router.post("/routing-rules", response_model=RuleOut, status_code=201)
def create_rule(body: RuleIn, principal: CurrentPrincipal, db: WriteSession) -> RuleOut:
    principal.require_role("admin")
    rule = service.save_rule(db=db, values=body.model_dump(exclude_unset=True))
    db.commit()
    return RuleOut.model_validate(rule)


@router.patch("/routing-rules/{rule_id}", response_model=RuleOut)
def patch_rule(
    rule_id: int, body: RuleIn, principal: CurrentPrincipal, db: WriteSession
) -> RuleOut:
    principal.require_role("admin")
    rule = service.save_rule(db=db, values=body.model_dump(exclude_unset=True), rule_id=rule_id)
    db.commit()
    return RuleOut.model_validate(rule)


@router.get("/sla/policies", response_model=list[PolicyOut], summary="Deadline policies")
def list_policies(db: DbSession) -> list[PolicyOut]:
    return [PolicyOut.model_validate(p) for p in service.list_policies(db=db)]


@router.post("/sla/policies", response_model=PolicyOut, status_code=201)
def create_policy(body: PolicyIn, principal: CurrentPrincipal, db: WriteSession) -> PolicyOut:
    principal.require_role("admin")
    values = body.model_dump(exclude_unset=True)
    if "limit_value" not in values or "limit_unit" not in values:
        raise invalid(
            "limit_value", "a policy needs limit_value and limit_unit", "须填写时限与单位"
        )
    policy = service.save_policy(db=db, values=values)
    db.commit()
    return PolicyOut.model_validate(policy)


@router.patch("/sla/policies/{policy_id}", response_model=PolicyOut)
def patch_policy(
    policy_id: int, body: PolicyIn, principal: CurrentPrincipal, db: WriteSession
) -> PolicyOut:
    principal.require_role("admin")
    policy = service.save_policy(
        db=db, values=body.model_dump(exclude_unset=True), policy_id=policy_id
    )
    db.commit()
    return PolicyOut.model_validate(policy)


@router.get("/sla/calendar", response_model=list[CalendarDayOut], summary="Working days")
def calendar(
    db: DbSession,
    start: Annotated[date, Query(alias="from", description="First day.")],
    days: Annotated[int, Query(ge=1, le=366)] = 31,
) -> list[CalendarDayOut]:
    """Whether each day is a working day: the override table first, then the official calendar."""
    overrides = {o.day: o for o in db.scalars(select(CalendarOverride))}
    work = WorkCalendar({d: o.is_working for d, o in overrides.items()})
    out = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        override = overrides.get(day)
        out.append(
            CalendarDayOut(
                day=day,
                is_working=work.is_working_day(day),
                source="override" if override else "official",
                note=override.note if override else "",
            )
        )
    return out


@router.put("/sla/calendar/{day}", response_model=CalendarDayOut)
def put_calendar_day(
    day: date, body: CalendarDayIn, principal: CurrentPrincipal, db: WriteSession
) -> CalendarDayOut:
    """Declare a day working or rest (e.g. a year the official calendar does not know yet)."""
    principal.require_role("admin")
    row = db.get(CalendarOverride, day) or CalendarOverride(day=day)
    row.is_working, row.note = body.is_working, body.note
    db.add(row)
    rules_changed(db)
    db.commit()
    return CalendarDayOut(day=day, is_working=body.is_working, source="override", note=body.note)


@router.delete("/sla/calendar/{day}", status_code=204, response_class=Response)
def delete_calendar_day(day: date, principal: CurrentPrincipal, db: WriteSession) -> Response:
    """Drop an override; the official calendar decides that day again."""
    principal.require_role("admin")
    row = db.get(CalendarOverride, day)
    if row is None:
        raise not_found("calendar override", "日历调整")
    db.delete(row)
    rules_changed(db)
    db.commit()
    return Response(status_code=204)
