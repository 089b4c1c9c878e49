"""SLA policies and the working calendar: read by all, edited by admins."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from fengqiao.deps import CurrentPrincipal, DbSession, WriteSession
from fengqiao.errors import invalid
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.sla import service
from fengqiao.sla.schemas import CalendarDayIn, CalendarDayOut, PolicyIn, PolicyOut

# Tagged as before the routes left taxonomy/views.py, so the API docs group them as they did.
router = APIRouter(tags=["taxonomy"])


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
    _require_covers(db, principal, policy.district_id)
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
    _require_covers(db, principal, policy.district_id)
    db.commit()
    return PolicyOut.model_validate(policy)


@router.get("/sla/calendar", response_model=list[CalendarDayOut], summary="Working days")
def calendar(
    db: DbSession,
    start: Annotated[date, Query(alias="from", description="First day.")],
    days: Annotated[int, Query(ge=1, le=366)] = 31,
) -> list[CalendarDayOut]:
    """Whether each day is a working day: the override table first, then the official calendar."""
    return [
        CalendarDayOut(**asdict(d)) for d in service.calendar_days(db=db, start=start, days=days)
    ]


@router.put("/sla/calendar/{day}", response_model=CalendarDayOut)
def put_calendar_day(
    day: date, body: CalendarDayIn, principal: CurrentPrincipal, db: WriteSession
) -> CalendarDayOut:
    """Declare a day working or rest (e.g. a year the official calendar does not know yet)."""
    principal.require_role("admin")
    saved = service.set_calendar_day(db=db, day=day, is_working=body.is_working, note=body.note)
    db.commit()
    return CalendarDayOut(**asdict(saved))


@router.delete("/sla/calendar/{day}", status_code=204, response_class=Response)
def delete_calendar_day(day: date, principal: CurrentPrincipal, db: WriteSession) -> Response:
    """Drop an override; the official calendar decides that day again."""
    principal.require_role("admin")
    service.drop_calendar_day(db=db, day=day)
    db.commit()
    return Response(status_code=204)


def _require_covers(db: Any, principal: Principal, district_id: int | None) -> None:
    """A district's own limit is its administrators' (or those above it): 403 for another's."""
    if district_id is not None:
        path = db.scalar(select(OrgUnit.path).where(OrgUnit.id == district_id))
        principal.require_covers(path or "")
