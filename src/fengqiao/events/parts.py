"""Co-handling (联合执法): the assisting units' parts (协办) of a joint event.

The lead (主办) is the event's owner unit and its part is the event itself. Each assisting unit
has a row of `event_part` with its own state (dispatched → signed → fed_back, or waived by an
operator with a reason), deadline and light. The steps on parts are rows of the transition
table (`add_assist`, `sign_part`, `feedback_part`, `waive_part`; their handlers are in
`events.part_steps`); the lead's `feedback` is guarded by `workflow.parts_done`. The event keeps
`assist_count` and `assist_open`, so an event without parts reads nothing more on any step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.errors import invalid
from fengqiao.events.escalation import local_text, message_payload
from fengqiao.events.filing import deadline_for, serves
from fengqiao.events.models import Event, EventPart
from fengqiao.outbox.service import Directory, drafts_for, enqueue
from fengqiao.scope import Principal
from fengqiao.sla.deadlines import Deadline, light
from fengqiao.taxonomy.snapshot import Rules

PART_OPEN = ("dispatched", "signed")
PART_STATUS_ZH = {
    "dispatched": "待签收",
    "signed": "已签收",
    "fed_back": "已反馈",
    "waived": "已免除",
    "ended": "随事件终结",
}
PART_ROLE_ZH = {"lead": "主办", "assist": "协办"}
MAX_ASSISTS = 8  # assisting units per event


@dataclass(frozen=True)
class PartFacts:
    """What the table's actor kinds and guards read about an event's parts."""

    to_sign: frozenset[int] = frozenset()
    to_feed: frozenset[int] = frozenset()
    open: int = 0


def parts_of(db: Session, event: Event) -> list[EventPart]:
    """The event's assisting parts in the order they were added (no query for a plain event)."""
    if not event.assist_count:
        return []
    return list(
        db.scalars(select(EventPart).where(EventPart.event_id == event.id).order_by(EventPart.id))
    )


def parts_by_event(db: Session, events: Iterable[Event]) -> dict[int, list[EventPart]]:
    """The parts of several events in one query (only the joint ones are asked for)."""
    ids = [event.id for event in events if event.assist_count]
    found: dict[int, list[EventPart]] = {}
    if ids:
        query = select(EventPart).where(EventPart.event_id.in_(ids)).order_by(EventPart.id)
        for part in db.scalars(query):
            found.setdefault(part.event_id, []).append(part)
    return found


def part_facts(parts: Sequence[EventPart]) -> PartFacts:
    """Which units may sign, which may feed back, and how many parts are open."""
    return PartFacts(
        to_sign=frozenset(p.unit_id for p in parts if p.status == "dispatched"),
        to_feed=frozenset(p.unit_id for p in parts if p.status == "signed"),
        open=sum(1 for p in parts if p.status in PART_OPEN),
    )


def part_light(part: EventPart, now: datetime) -> str | None:
    """The part's light: by its own deadline, frozen when it fed back or was waived; none once
    it ended with its event."""
    if part.due_at is None or part.yellow_at is None or part.status == "ended":
        return None
    at = part.fed_back_at or part.waived_at or now
    deadline = Deadline(due_at=part.due_at, yellow_at=part.yellow_at, remind_at=part.remind_at)
    return light(deadline=deadline, now=at)


def assists(db: Session, principal: Principal, event: Event) -> bool:
    """Whether the caller works for one of the event's assisting units."""
    if principal.unit_id is None or not event.assist_count:
        return False
    found = db.scalar(
        select(EventPart.id).where(
            EventPart.event_id == event.id, EventPart.unit_id == principal.unit_id
        )
    )
    return found is not None


def check_assists(rules: Rules, event: Event, unit_ids: Sequence[int], *, lead: int | None) -> None:
    """Refuse a list of assisting units that names no lead, the lead itself, a unit twice, an
    unknown unit or one outside the event's town (a unit of its village or town, or a district
    department, as for the lead); 422 naming `assist_unit_ids`."""
    field = "assist_unit_ids"
    if lead is None:
        raise invalid(
            "unit_id", "a joint event needs a lead unit (主办)", "联合处置须先确定主办单位"
        )
    if len(unit_ids) > MAX_ASSISTS:
        raise invalid(
            field, f"at most {MAX_ASSISTS} assisting units", f"协办单位最多{MAX_ASSISTS}个"
        )
    if len(set(unit_ids)) != len(unit_ids):
        raise invalid(field, "a unit is named twice", "协办单位重复")
    if lead in unit_ids:
        raise invalid(field, "the lead unit cannot also assist", "主办单位不能同时为协办单位")
    for unit_id in unit_ids:
        unit = rules.units.by_id.get(unit_id)
        if unit is None:
            raise invalid(field, f"unknown or inactive unit {unit_id}", "协办单位不存在或已停用")
        if not serves(
            unit,
            village_id=event.village_id,
            town_id=event.town_id,
            district_id=rules.district_of(event.town_id),
        ):
            raise invalid(
                field,
                f"{unit.name} lies outside the event's town: choose units of its town or "
                "district departments",
                f"{unit.name}不在事件所在镇街，协办单位须为本镇街单位或区级部门",
            )


def add_parts(
    *,
    db: Session,
    rules: Rules,
    event: Event,
    unit_ids: Sequence[int],
    actor_id: int | None,
    now: datetime,
    lead_unit_id: int | None = None,
) -> list[EventPart]:
    """Give each new assisting unit its part, with a deadline computed as the event's is (from
    now), and tell its handlers; units that already have a part are refused by the caller.
    `lead_unit_id` names the lead when the step that adds the parts also sets it (a dispatch):
    the message must name the real lead, not the event's owner before the step."""
    existing = {part.unit_id for part in parts_of(db, event)}
    clash = sorted(existing & set(unit_ids))
    if clash:
        raise invalid("assist_unit_ids", "the unit already assists", "该单位已是协办单位")
    policy_id, deadline = deadline_for(
        rules, level=event.level, category_code=event.category_code, urgent=event.urgent,
        start=now, town_id=event.town_id,
    )  # fmt: skip
    made = []
    for unit_id in unit_ids:
        part = EventPart(
            event_id=event.id, unit_id=unit_id, role="assist", status="dispatched",
            town_id=event.town_id, dispatched_at=now, dispatched_by=actor_id, photo_ids=[],
            sla_policy_id=policy_id, version=1,
            due_at=deadline.due_at if deadline else None,
            yellow_at=deadline.yellow_at if deadline else None,
            remind_at=deadline.remind_at if deadline else None,
        )  # fmt: skip
        db.add(part)
        made.append(part)
    db.flush()
    tell(
        db,
        event,
        made,
        template="assist_dispatched",
        key="assist",
        now=now,
        lead_unit_id=lead_unit_id,
    )
    return made


def end_open_parts(db: Session, event: Event, *, now: datetime) -> int:
    """An event that reaches a final state (closed, voided, merged, rejected) ends its parts still
    open, so no unit keeps a part to do, a light or a reminder for an event that is over."""
    ended = 0
    for part in parts_of(db, event):
        if part.status in PART_OPEN:
            part.status, part.version = "ended", part.version + 1
            ended += 1
    event.assist_open = 0
    return ended


def part_payload(
    people: Directory, event: Event, part: EventPart, *, lead_unit_id: int | None = None
) -> dict[str, object]:
    """The message fields of one part: the event's, the assisting unit and its due time; `unit`
    is the lead (主办), `lead_unit_id` when given, else the event's owner unit."""
    unit = people.unit(part.unit_id)
    payload = message_payload(people, event) | {
        "part_unit": unit.name if unit else "协办单位",
        "part_due": local_text(part.due_at),
    }
    lead = people.unit(lead_unit_id) if lead_unit_id is not None else None
    if lead is not None:
        payload["unit"] = lead.name
    return payload


def tell(
    db: Session,
    event: Event,
    parts: Sequence[EventPart],
    *,
    template: str,
    key: str,
    now: datetime,
    lead_unit_id: int | None = None,
) -> int:
    """Queue one message per part to its unit's handlers (and duty phone); how many."""
    people = Directory(db)
    drafts = []
    for part in parts:
        drafts += drafts_for(
            people.unit_handlers(part.unit_id), channels=("sms", "app"), template=template,
            payload=part_payload(people, event, part, lead_unit_id=lead_unit_id),
            key=f"{key}:{event.id}:{part.unit_id}:{part.dispatched_at.isoformat()}",
            event_id=event.id,
        )  # fmt: skip
    if drafts:
        enqueue(db, drafts, now=now)
    return len(drafts)
