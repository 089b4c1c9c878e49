"""The handlers of the transition table's co-handling rows (联合执法, events/parts.py): adding
assisting units, and each unit's signature and feedback on its own part, or an operator's waiver.

They follow `events.steps`: check the step's own data, do its own work (the part's row), and
return what changes on the event (its open-parts count); `steps.land` applies the table's
target (the event's state stands still), the version and the trail row with the part's unit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fengqiao.errors import conflict, invalid
from fengqiao.events import proof
from fengqiao.events.models import EventPart
from fengqiao.events.parts import add_parts, check_assists
from fengqiao.events.steps import Outcome, StepInput, handles, label_photos, named_photos


def part_for(step: StepInput, unit_id: int | None) -> EventPart:
    """The event's part of `unit_id`, locked; 422 on `unit_id` when the unit has none."""
    part = None
    if unit_id is not None:
        part = step.db.scalar(
            select(EventPart)
            .where(EventPart.event_id == step.event.id, EventPart.unit_id == unit_id)
            .with_for_update()
        )
    if part is None:
        raise invalid("unit_id", "this unit has no part in the event", "该单位不是本事件的协办单位")
    return part


def _still_open(part: EventPart) -> None:
    if part.status not in ("dispatched", "signed"):
        raise conflict(
            "part-finished", "The part is finished", "协办已完成",
            f"the part is {part.status}", "该协办已反馈或已免除",
        )  # fmt: skip


def _payload(part: EventPart, **more: Any) -> dict[str, Any]:
    return {"part": {"unit_id": part.unit_id, "status": part.status}, **more}


@handles("add_assist")
def _add_assist(step: StepInput) -> Outcome:
    event, data = step.event, step.data
    units = list(data.assist_unit_ids or [])
    if not units:
        raise invalid("assist_unit_ids", "name at least one assisting unit", "请选择协办单位")
    check_assists(step.table, event, units, lead=event.owner_unit_id)
    made = add_parts(
        db=step.db, rules=step.table, event=event, unit_ids=units, actor_id=step.who.user_id,
        now=step.now,
    )  # fmt: skip
    changed = {
        "assist_count": event.assist_count + len(made),
        "assist_open": event.assist_open + len(made),
    }
    payload = {"assist_unit_ids": units, "due_at": [p.due_at.isoformat() if p.due_at else None
                                                     for p in made]}  # fmt: skip
    return Outcome(event.owner_unit_id, payload, changed)


@handles("sign_part")
def _sign_part(step: StepInput) -> Outcome:
    part = part_for(step, step.who.unit_id)
    if part.status != "dispatched":
        raise conflict(
            "part-signed", "The part is signed already", "协办已签收",
            f"the part is {part.status}", "本单位的协办已签收",
        )  # fmt: skip
    part.status, part.signed_at, part.signed_by = "signed", step.now, step.who.user_id
    part.version += 1
    return Outcome(part.unit_id, _payload(part))


@handles("feedback_part")
def _feedback_part(step: StepInput) -> Outcome:
    data = step.data
    part = part_for(step, step.who.unit_id)
    if part.status != "signed":
        raise conflict(
            "part-not-signed", "Sign the part first", "请先签收协办",
            f"the part is {part.status}", "本单位的协办尚未签收或已反馈",
        )  # fmt: skip
    photos = [p for p in named_photos(step) if p.uploaded_by == step.who.user_id]
    category = step.table.categories.get(step.event.category_code)
    proof.check_feedback(
        result=data.result, kinds=[photo.kind for photo in photos],
        photo_required=category is None or category.feedback_photo_required,
    )  # fmt: skip
    labelled = label_photos(photos, "after", proof.HANDLING_KINDS)
    part.status, part.fed_back_at, part.fed_back_by = "fed_back", step.now, step.who.user_id
    part.result, part.photo_ids = data.result, labelled["attachment_ids"]
    part.version += 1
    changed = {"assist_open": max(step.event.assist_open - 1, 0)}
    return Outcome(part.unit_id, _payload(part, result=data.result, **labelled), changed)


@handles("waive_part")
def _waive_part(step: StepInput) -> Outcome:
    data = step.data
    if not data.note:
        raise invalid("note", "waive_part needs a reason", "请填写免除协办的理由")
    part = part_for(step, data.unit_id)
    _still_open(part)
    part.status, part.waived_at, part.waived_by = "waived", step.now, step.who.user_id
    part.waive_reason = data.note
    part.version += 1
    changed = {"assist_open": max(step.event.assist_open - 1, 0)}
    return Outcome(part.unit_id, _payload(part), changed)
