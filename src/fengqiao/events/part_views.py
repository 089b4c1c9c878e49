"""The co-handling parts (协办) over HTTP: the parts on an event's detail, and a unit's or an
area's list of parts to do (GET /api/v1/event-parts) with their lights."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.errors import forbidden
from fengqiao.events import service
from fengqiao.events.filing import route
from fengqiao.events.models import Event, EventPart
from fengqiao.events.parts import PART_OPEN, part_light, parts_by_event, parts_of
from fengqiao.events.schemas import PartOut, Ref
from fengqiao.events.scope import event_scope, unit_scoped
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.paging import Page, Paging
from fengqiao.taxonomy.deps import app_rules
from fengqiao.taxonomy.snapshot import Rules

__all__ = ["joint_fields", "parts_by_event", "router"]

router = APIRouter(tags=["events"])


def _unit_refs(db: Session, rules: Rules, ids: set[int]) -> dict[int, Ref]:
    refs = {}
    for unit_id in ids:
        known = rules.units.by_id.get(unit_id)
        if known is not None and known.name:
            refs[unit_id] = Ref(id=known.id, code=known.code, name=known.name)
    missing = ids - refs.keys()
    if missing:
        query = select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(missing))
        refs.update((r.id, Ref(id=r.id, code=r.code, name=r.name)) for r in db.execute(query))
    return refs


def joint_fields(db: Session, rules: Rules, event: Event, now: datetime) -> dict[str, Any]:
    """The co-handling fields of an event's detail: its parts (the lead's first, from the event
    itself, then the assisting units'), their counts, and the assisting units routing proposes."""
    parts = parts_of(db, event)
    proposed: tuple[int, ...] = ()
    if event.status in ("accepted", "dispatched", "signed"):
        proposed = route(
            rules, category_code=event.category_code, level=event.level,
            place_ids=(event.village_id, event.town_id),
        ).assist_unit_ids  # fmt: skip
    ids = {p.unit_id for p in parts} | set(proposed)
    if event.owner_unit_id is not None:
        ids.add(event.owner_unit_id)
    refs = _unit_refs(db, rules, ids)
    out: list[PartOut] = []
    if parts and event.owner_unit_id is not None:
        out.append(
            PartOut(
                unit=refs.get(event.owner_unit_id),
                role="lead",
                status=event.status,
                light=service.light_of(event, now),
                due_at=event.due_at,
                signed_at=event.signed_at,
                fed_back_at=event.handled_at,
                result=event.result,
                overdue_at=event.overdue_at,
                version=event.version,
            )
        )
    out += [part_out(p, refs.get(p.unit_id), now) for p in parts]
    return {
        "parts": out,
        "assist_count": event.assist_count,
        "assist_open": event.assist_open,
        "proposed_assist_units": [refs[i] for i in proposed if i in refs],
    }


def part_out(part: EventPart, unit: Ref | None, now: datetime) -> PartOut:
    return PartOut(
        unit=unit, role="assist", status=part.status, light=part_light(part, now),
        due_at=part.due_at, signed_at=part.signed_at, fed_back_at=part.fed_back_at,
        result=part.result, photo_ids=list(part.photo_ids or []), waived_at=part.waived_at,
        waive_reason=part.waive_reason, overdue_at=part.overdue_at, version=part.version,
    )  # fmt: skip


class PartItem(PartOut):
    """One assisting part in a to-do list, with the event it belongs to."""

    event_id: int
    event_code: str
    event_title: str
    event_status: str
    event_version: int
    event_address: str
    town_id: int
    # The event's grid, village and town, as on the lead's card (so a 协办 card shows the place).
    event_grid: Ref | None = None
    event_village: Ref | None = None
    event_town: Ref | None = None


@router.get(
    "/event-parts", response_model=Page[PartItem], summary="Assisting parts (协办) to do, lights"
)
def list_parts(
    request: Request,
    principal: CurrentPrincipal,
    database: AppDatabase,
    clock: AppClock,
    paging: Paging,
    status: Literal["open", "fed_back", "waived", "ended", "all"] = Query("open"),
    light: Literal["green", "yellow", "red"] | None = Query(None, description="By the part's."),
    unit_id: int | None = Query(None, description="Area staff: one unit's parts."),
) -> dict[str, Any]:
    """A handler's or unit head's list is their unit's parts (what the unit assists); area staff
    see the parts of the events in their area. Open parts first by due time."""
    if not principal.is_staff():
        raise forbidden("staff only", "仅工作人员可查看协办清单")
    now = clock.now()
    query = select(EventPart, Event).join(Event, Event.id == EventPart.event_id)
    if unit_scoped(principal):
        query = query.where(EventPart.unit_id == (principal.unit_id or -1))
    else:
        query = query.where(event_scope(principal))
        if unit_id is not None:
            query = query.where(EventPart.unit_id == unit_id)
    if status == "open":
        query = query.where(EventPart.status.in_(PART_OPEN))
    elif status != "all":
        query = query.where(EventPart.status == status)
    if light == "red":
        query = query.where(EventPart.status.in_(PART_OPEN), EventPart.due_at <= now)
    elif light == "yellow":
        query = query.where(
            EventPart.status.in_(PART_OPEN), EventPart.yellow_at <= now, EventPart.due_at > now
        )
    elif light == "green":
        query = query.where(EventPart.status.in_(PART_OPEN), EventPart.yellow_at > now)
    with database.session() as db:
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = db.execute(
            query.order_by(text("event_part.due_at IS NULL"), EventPart.due_at, EventPart.id)
            .offset(paging.offset)
            .limit(paging.size)
        ).all()
        rules = app_rules(request, db)
        refs = _unit_refs(db, rules, {part.unit_id for part, _ in rows})
        places = _org_refs(
            db, {e for _, ev in rows for e in (ev.grid_id, ev.village_id, ev.town_id)}
        )
        items = [_item(part, event, refs.get(part.unit_id), now, places) for part, event in rows]
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


def _org_refs(db: Session, ids: set[int | None]) -> dict[int, Ref]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    query = select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(wanted))
    return {r.id: Ref(id=r.id, code=r.code, name=r.name) for r in db.execute(query)}


def _item(
    part: EventPart, event: Event, unit: Ref | None, now: datetime, places: dict[int, Ref]
) -> PartItem:
    def place(key: int | None) -> Ref | None:
        return None if key is None else places.get(key)

    return PartItem(
        **part_out(part, unit, now).model_dump(), event_id=event.id, event_code=event.code,
        event_title=event.title, event_status=event.status, event_version=event.version,
        event_address=event.address, town_id=event.town_id, event_grid=place(event.grid_id),
        event_village=place(event.village_id), event_town=place(event.town_id),
    )  # fmt: skip
