"""Reading events, and adding photos to one: the event a caller may see, what they may do with
it, its light, trail and attachments.

Filing lives in `events.filing`, the steps of the closed loop in `events.steps`, the trail in
`events.trail`. The caller owns the transaction and commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.errors import conflict, forbidden, not_found
from fengqiao.events import workflow
from fengqiao.events.filing import insert_attachments
from fengqiao.events.models import Attachment, Event, EventLog, EventPart
from fengqiao.events.parts import assists, part_facts
from fengqiao.events.photos import PhotoInfo
from fengqiao.events.scope import is_staff, may_read, scope_district, unit_scoped

# The label tables live beside their tables; named here too for the pages that read them from
# this module (web/nav.py) until the labels are served from one place.
from fengqiao.events.trail import append_log
from fengqiao.scope import Principal
from fengqiao.sla.deadlines import Deadline, light
from fengqiao.taxonomy.snapshot import Rules


def get_event(*, db: Session, principal: Principal, event_id: int, lock: bool = False) -> Event:
    """An event the caller may read; 404 when it does not exist or lies outside their scope.
    Area staff at or below a district ask with their district first (the shard key: in a
    distributed database one shard answers); an event elsewhere that they may still read (one
    they reported) is found by the id alone after that miss."""
    query = select(Event).where(Event.id == event_id)
    if lock:
        query = query.with_for_update()
    own = scope_district(principal)
    event = db.scalar(query.where(Event.district_id == own)) if own is not None else None
    if event is None:
        event = db.scalar(query)
    if event is None or not (
        may_read(
            principal,
            reporter_id=event.reporter_id,
            town_id=event.town_id,
            village_id=event.village_id,
            grid_id=event.grid_id,
            owner_unit_id=event.owner_unit_id,
        )
        or is_owner_handler(principal, event)
        or assists(db, principal, event)
        or (unit_scoped(principal) and _acted_on(db, principal, event.id))
    ):
        # Outside the caller's scope reads as "no such event": ids are not secrets, contents are.
        raise not_found("event", "事件")
    return event


def _acted_on(db: Session, principal: Principal, event_id: int) -> bool:
    """Whether the caller took a step on the event's trail (a handler keeps what they did)."""
    return (
        db.scalar(
            select(EventLog.id)
            .where(EventLog.event_id == event_id, EventLog.actor_id == principal.user_id)
            .limit(1)
        )
        is not None
    )


def is_owner_handler(principal: Principal, event: Event) -> bool:
    """Whether the caller handles events for the unit that owns this one."""
    return principal.unit_id is not None and principal.unit_id == event.owner_unit_id


def attachments(db: Session, event_id: int) -> list[Attachment]:
    """The event's photos, oldest first."""
    return list(
        db.scalars(
            select(Attachment).where(Attachment.event_id == event_id).order_by(Attachment.id)
        )
    )


def light_of(event: Event, now: datetime) -> str | None:
    """The event's light now, frozen while suspended; none once finished (closed, rejected,
    voided, merged): a light asks for work still to do, and a finished event asks for none
    (whether it finished in time is its `closed_at` against `due_at`, not a colour)."""
    if event.due_at is None or event.yellow_at is None or event.status in workflow.FINAL:
        return None
    at = now
    if event.status == "suspended" and event.suspended_at is not None:
        at = event.suspended_at
    deadline = Deadline(due_at=event.due_at, yellow_at=event.yellow_at, remind_at=event.remind_at)
    return light(deadline=deadline, now=at)


def facts(event: Event, rules: Rules, parts: Sequence[EventPart] = ()) -> workflow.EventFacts:
    """What the transition table's checks and guards need to know about the event (and its
    assisting parts, for a joint event: `parts.parts_of`)."""
    known = part_facts(parts)
    return workflow.EventFacts(
        status=event.status,
        grid_path=rules.grid_path(
            town_id=event.town_id, village_id=event.village_id, grid_id=event.grid_id
        ),
        source=event.source,
        reporter_id=event.reporter_id,
        owner_unit_id=event.owner_unit_id,
        pending_action=event.pending_action,
        level=event.level,
        satisfaction=event.satisfaction,
        to_sign=known.to_sign,
        to_feed=known.to_feed,
        parts_open=event.assist_open,
    )


def allowed_actions(
    event: Event, principal: Principal, rules: Rules, parts: Sequence[EventPart] = ()
) -> list[str]:
    """The actions the caller could take on the event now (what the UI offers)."""
    available = workflow.available(event.status)
    if not available:  # a finished event (most of a list's history): no facts to gather
        return []
    known = facts(event, rules, parts)
    result = []
    for action in available:
        transition = workflow.BY_ACTION[action]
        if workflow.passes_guard(action, known) and any(
            workflow.is_actor(kind, principal, known)
            for kind in workflow.actors_for(transition, known)
        ):
            result.append(action)
    return result


def add_attachments(
    *,
    db: Session,
    principal: Principal,
    event: Event,
    photos: Sequence[PhotoInfo],
    kind: str,
    now: datetime,
) -> list[Attachment]:
    """Add photos to an event the caller may act on (staff of its area, its reporter, its unit)."""
    if event.status in workflow.FINAL:
        raise conflict(
            "event-final", "The event is finished", "事件已结束",
            f"the event is {event.status}; no more photos", "事件已结束，不能再上传照片",
        )  # fmt: skip
    if not (
        principal.user_id == event.reporter_id
        or is_owner_handler(principal, event)
        or assists(db, principal, event)
        or (is_staff(principal) and not principal.roles <= {"leader"})
    ):
        raise forbidden("you may not add photos to this event", "您不能为该事件上传照片")
    ids = insert_attachments(
        db, event_id=event.id, photos=photos, kind=kind, by=principal.user_id, now=now
    )
    append_log(
        db, event, at=now, actor_id=principal.user_id, action="attach", from_status=event.status,
        to_status=event.status, unit_id=None, note="",
        payload={"kind": kind, "attachment_ids": ids, "photos": [p.sha256 for p in photos]},
    )  # fmt: skip
    event.updated_at = now
    db.flush()
    return list(
        db.scalars(select(Attachment).where(Attachment.id.in_(ids)).order_by(Attachment.id))
    )
