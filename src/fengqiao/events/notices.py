"""Who is told at each handover of the loop: one table, action → notices, each notice a rule for
its recipients, a template (notify/templates.json) and its channels.

`announce` is called once per step, by `steps.transition` (and by the sweeper when an overdue
event climbs a rung), in the step's own transaction: the messages are outbox rows committed with
the change or not at all. Nobody is told about their own step. A notice is keyed by the step's
place on the event's trail (`<template>:<event>:<trail seq>`), so a step taken again later (a
second dispatch after a return) tells people again, while a retried request, refused with a
stale version, queues nothing; a new rung is told once (`escalate:<event>:<rung>`).

A resident who reported is told at each public step of events/public.py, in its words, with a
link to their report in the residents' app (`/r/reports/<code>`): in the app inbox always, by
text message only when they asked for it when filing (`event.notify_sms`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.events.escalation import (
    REASON_ZH,
    EscalationPolicy,
    event_rung_name,
    message_payload,
)
from fengqiao.events.escalation import rung_people as _rung_people
from fengqiao.events.models import Event, EventLog
from fengqiao.events.public import public_note, public_step, public_words
from fengqiao.outbox.service import Directory, Draft, Person, drafts_for, enqueue

SMS_AND_APP = ("sms", "app")
APP_ONLY = ("app",)
# Why a rung was climbed, by the step that climbed it (the sweeper says "overdue" itself).
CLIMB_REASON = {"request_escalation": "unit_request", "escalate": "operator", "return": "returns"}


@dataclass(frozen=True)
class Step:
    """The step being announced, as the rules see it."""

    action: str
    actor_id: int | None
    note: str
    policy: EscalationPolicy
    # The operator who last dispatched the event and the unit it went to (read for a return).
    dispatch: tuple[int | None, int | None] = (None, None)


Rule = Callable[[Directory, Event, Step], list[Person]]


@dataclass(frozen=True)
class Notice:
    """One message a step sends: to whom (a rule), in which words (a template), on which
    channels, and under which condition of the step's outcome."""

    template: str
    told: Rule
    channels: tuple[str, ...] = SMS_AND_APP
    when: Callable[[Event, Step], bool] = lambda _event, _step: True
    per_rung: bool = False  # keyed by the rung reached, not the step: a rung is told once
    # To the reporting resident: their report's link and the step's public words; SMS only when
    # they asked for it (`event.notify_sms`).
    resident: bool = False


# --- who ------------------------------------------------------------------------------------


def owner_unit(people: Directory, event: Event, _step: Step) -> list[Person]:
    """The owner unit's handlers (and duty phone) and its head."""
    if event.owner_unit_id is None:
        return []
    return people.unit_handlers(event.owner_unit_id) + people.unit_leaders(event.owner_unit_id)


def unit_handlers(people: Directory, event: Event, _step: Step) -> list[Person]:
    """The owner unit's handlers and duty phone: they do the work again."""
    return people.unit_handlers(event.owner_unit_id) if event.owner_unit_id else []


def dispatchers(people: Directory, event: Event, step: Step) -> list[Person]:
    """Who can dispatch it again: the operator who dispatched it, and the town's operators."""
    told = []
    dispatcher_id, _unit = step.dispatch
    if dispatcher_id is not None:
        found = people.person(dispatcher_id)
        if found is not None and "operator" in found[1]:
            told.append(found[0])
    return told + people.org_people(event.town_id, "operator")


def verifiers(people: Directory, event: Event, _step: Step) -> list[Person]:
    """The grid worker who must verify: the reporting worker, else the grid's workers."""
    if event.source == "grid_worker":
        found = people.person(event.reporter_id)
        return [found[0]] if found is not None else []
    return people.grid_workers(event.grid_id)


def reporter(*, resident: bool) -> Rule:
    """The reporter, when they are a resident (`resident=True`) or staff (False); a machine
    account (an IoT device) is told nothing."""

    def rule(people: Directory, event: Event, _step: Step) -> list[Person]:
        found = people.person(event.reporter_id)
        if found is None:
            return []
        person, roles = found
        if resident:
            return [person] if "resident" in roles else []
        return [person] if roles - {"resident", "device"} else []

    return rule


def new_rung(people: Directory, event: Event, _step: Step) -> list[Person]:
    """The people of the rung the event has reached (escalation.py's ladder)."""
    return _rung_people(people, event, event.escalation_rung)


# --- when -----------------------------------------------------------------------------------


def _closed(event: Event, _step: Step) -> bool:
    return event.status == "closed"


def _reworked(event: Event, _step: Step) -> bool:
    return event.status == "signed"


def _nth_return(event: Event, step: Step) -> bool:
    """The return that made the event climb by itself (steps.transition's rule)."""
    return event.return_count == step.policy.returns


def _public(event: Event, step: Step) -> bool:
    """The step the event just took is one a resident sees (events/public.py)."""
    return public_step(step.action, event.status) is not None


_RESIDENT = reporter(resident=True)
# A public step without a wording of its own: "有新进展：<the step's public words>".
_PROGRESS = Notice("resident_progress", _RESIDENT, when=_public, resident=True)
_TOLD_CLOSED = (
    Notice("closed", reporter(resident=False), APP_ONLY, when=_closed),
    Notice("resident_closed", _RESIDENT, when=_closed, resident=True),
)
_RUNG = Notice("escalation", new_rung, per_rung=True)

# The table: what each step of the loop tells, and to whom. Steps not named tell nobody.
NOTICES: dict[str, tuple[Notice, ...]] = {
    "accept": (
        Notice("accepted", reporter(resident=False), APP_ONLY),
        Notice("resident_accepted", _RESIDENT, resident=True),
    ),
    "reject": (
        Notice("rejected", reporter(resident=False), APP_ONLY),
        Notice("resident_rejected", _RESIDENT, resident=True),
    ),
    "dispatch": (Notice("dispatched", owner_unit), _PROGRESS),
    "return": (Notice("returned", dispatchers), replace(_RUNG, when=_nth_return)),
    "feedback": (Notice("to_verify", verifiers), _PROGRESS),
    "verify": (Notice("rework", unit_handlers, when=_reworked), *_TOLD_CLOSED),
    "close": _TOLD_CLOSED,
    "recover": _TOLD_CLOSED,
    "request_escalation": (_RUNG,),
    "escalate": (_RUNG,),
    "self_handle": (_PROGRESS,),
    "approve": (_PROGRESS,),  # voided or suspended (both public); nothing else is approved
    "resume": (_PROGRESS,),
    "merge": (_PROGRESS,),
}


def _last_dispatch(db: Session, event_id: int) -> tuple[int | None, int | None]:
    """(actor, unit) of the event's latest dispatch on its trail."""
    with db.no_autoflush:
        row = db.execute(
            select(EventLog.actor_id, EventLog.unit_id)
            .where(EventLog.event_id == event_id, EventLog.action == "dispatch")
            .order_by(EventLog.seq.desc())
            .limit(1)
        ).first()
    return (row.actor_id, row.unit_id) if row is not None else (None, None)


def announce(
    db: Session,
    event: Event,
    *,
    action: str,
    actor_id: int | None,
    now: datetime,
    policy: EscalationPolicy,
    note: str = "",
    reason: str | None = None,
    people: Directory | None = None,
    queue: list[Draft] | None = None,
) -> int:
    """Queue the messages of one step that has just landed on `event`; how many drafts."""
    notices = NOTICES.get(action, ())
    if not notices:
        return 0
    dispatch = _last_dispatch(db, event.id) if action == "return" else (None, None)
    step = Step(action, actor_id, note, policy, dispatch)
    people = people or Directory(db)
    drafts: list[Draft] = []
    base: dict[str, Any] | None = None
    told_resident: dict[str, Any] | None = None
    for notice in notices:
        if not notice.when(event, step):
            continue
        # Nobody is told about their own step (a duty phone has no user and is always told).
        told = [
            p
            for p in notice.told(people, event, step)
            if p.user_id is None or p.user_id != actor_id
        ]
        if not told:
            continue
        if base is None:
            base = _payload(people, event, step, reason)
        payload, channels = base, notice.channels
        if notice.resident:
            if told_resident is None:
                told_resident = _resident_payload(db, base, event, step)
            payload = told_resident
            if not event.notify_sms:
                channels = tuple(channel for channel in channels if channel != "sms")
        key = (
            f"escalate:{event.id}:{event.escalation_rung}"
            if notice.per_rung
            else f"{notice.template}:{event.id}:{event.trail_seq}"
        )
        drafts += drafts_for(
            told, channels=channels, template=notice.template, payload=payload, key=key,
            event_id=event.id,
        )  # fmt: skip
    if queue is not None:
        queue.extend(drafts)  # the caller queues a whole batch at once
    elif drafts:
        enqueue(db, drafts, now=now)
    return len(drafts)


def _payload(people: Directory, event: Event, step: Step, reason: str | None) -> dict[str, Any]:
    payload = message_payload(people, event)
    payload["note"] = step.note
    _actor, returned_by = step.dispatch
    if returned_by is not None:
        unit = people.unit(returned_by)
        payload["from_unit"] = unit.name if unit is not None else ""
    why = reason or CLIMB_REASON.get(step.action, "")
    payload.update(rung=event_rung_name(event), reason=REASON_ZH.get(why, why))
    return payload


def _resident_payload(
    db: Session, base: dict[str, Any], event: Event, step: Step
) -> dict[str, Any]:
    """What a resident's message says: the step's public words, only the note a resident may
    read (a rejection's reason), and the link to their report in the residents' app."""
    public = public_step(step.action, event.status)
    into: dict[str, Any] = {}
    if step.action == "merge" and event.duplicate_of_id is not None:
        with db.no_autoflush:
            into["into_code"] = db.scalar(
                select(Event.code).where(Event.id == event.duplicate_of_id)
            )
    words = (
        public_words(public, unit_name=str(base.get("unit") or ""), payload=into) if public else ""
    )
    return {
        **base,
        "note": public_note(step.action, step.note),
        "step": words,
        "path": f"/r/reports/{event.code}",
    }
