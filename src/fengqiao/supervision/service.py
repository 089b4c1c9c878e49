"""Issuing supervision orders (automatic on overdue, or by hand), replying, and listing them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from fengqiao.errors import conflict, forbidden, invalid, not_found
from fengqiao.events.escalation import EscalationPolicy, local_text, message_payload
from fengqiao.events.models import Event
from fengqiao.events.scope import area_clause, home_ids, in_towns
from fengqiao.events.trail import record_step
from fengqiao.org.models import Unit
from fengqiao.outbox.service import Directory, Draft, drafts_for, enqueue
from fengqiao.scope import Principal
from fengqiao.supervision.models import ORDER_KIND_ZH, SupervisionOrder

# Old names of the models' tables, still read by supervision/views.py.
ISSUERS = frozenset({"operator", "leader", "admin"})
REPLIERS = ("handler", "unit_leader")


def issue_order(
    db: Session,
    event: Event,
    *,
    kind: str,
    requirement: str,
    due_at: datetime,
    now: datetime,
    policy: EscalationPolicy,
    issued_by: int | None = None,
    people: Directory | None = None,
    queue: list[Draft] | None = None,
    unit_id: int | None = None,
) -> SupervisionOrder:
    """Issue an order to the event's owner unit (or to `unit_id`, an assisting unit whose part
    ran late), tell the unit (SMS and app) and put it on the event's trail. The caller owns the
    transaction."""
    unit_id = unit_id or event.owner_unit_id
    if unit_id is None:
        raise conflict(
            "no-owner-unit", "No unit to supervise", "尚无责任单位",
            f"event {event.code} has not been dispatched to a unit",
            f"事件 {event.code} 尚未交办责任单位，无法督办",
        )  # fmt: skip
    if due_at <= now:
        raise invalid("due_at", "the reply deadline must lie ahead", "回复期限须晚于当前时间")
    number = 1 + (db.scalar(select(func.count()).where(SupervisionOrder.event_id == event.id)) or 0)
    order = SupervisionOrder(
        code=f"DB-{event.code}-{number}",
        event_id=event.id,
        kind=kind,
        unit_id=unit_id,
        town_id=event.town_id,
        village_id=event.village_id,
        grid_id=event.grid_id,
        issued_by=issued_by,
        issued_at=now,
        requirement=requirement,
        due_at=due_at,
        status="open",
    )
    db.add(order)
    db.flush()
    people = people or Directory(db)
    payload = message_payload(people, event)
    payload.update(
        order=order.code, kind=ORDER_KIND_ZH[kind], requirement=requirement,
        reply_due=local_text(due_at),
    )  # fmt: skip
    drafts = drafts_for(
        people.unit_handlers(unit_id), channels=("sms", "app"),
        template="supervision", payload=payload, key=f"order:{order.code}", event_id=event.id,
    )  # fmt: skip
    if queue is None:
        enqueue(db, drafts, now=now)
    else:
        queue.extend(drafts)  # the caller queues a whole batch at once
    record_step(
        db, event, now=now, action="supervise", actor_id=issued_by, unit_id=order.unit_id,
        note=requirement,
        payload={"order": order.code, "kind": kind, "due_at": due_at.isoformat()},
    )  # fmt: skip
    return order


def default_reply_due(now: datetime, policy: EscalationPolicy) -> datetime:
    return now + timedelta(hours=policy.reply_hours)


def reply_order(
    db: Session, *, order_id: int, principal: Principal, reply: str, now: datetime
) -> SupervisionOrder:
    """The unit answers an order: its handlers or its head, once."""
    order = db.get(SupervisionOrder, order_id, with_for_update=True)
    if order is None or not may_read(principal, order):
        raise not_found("supervision order", "督办单")
    if principal.unit_id != order.unit_id or not principal.has_any(*REPLIERS):
        raise forbidden(
            "only the supervised unit's handlers or head may reply",
            "只有被督办单位的处置人员或负责人可以回复",
        )
    if order.status != "open":
        raise conflict(
            "already-replied", "Already replied", "已回复",
            f"order {order.code} was replied to at {order.replied_at}",
            f"督办单 {order.code} 已回复，不能重复回复",
        )  # fmt: skip
    if not reply.strip():
        raise invalid("reply", "say what was done", "请填写回复内容")
    order.status, order.reply, order.replied_by, order.replied_at = (
        "replied",
        reply,
        principal.user_id,
        now,
    )
    event = db.get(Event, order.event_id, with_for_update=True)
    assert event is not None
    record_step(
        db, event, now=now, action="supervision_reply", actor_id=principal.user_id,
        unit_id=order.unit_id, note=reply,
        payload={"order": order.code, "late": now > order.due_at},
    )  # fmt: skip
    db.flush()
    return order


# --- reading ---------------------------------------------------------------------------------


def order_scope(principal: Principal) -> ColumnElement[bool]:
    """Orders a caller may read: a unit's own orders; staff the orders in their area."""
    clauses: list[ColumnElement[bool]] = []
    if principal.unit_id is not None and principal.has_any("handler", "unit_leader"):
        clauses.append(SupervisionOrder.unit_id == principal.unit_id)
    if principal.has_any("operator", "leader", "admin"):
        ids = home_ids(principal)
        column = {2: SupervisionOrder.town_id, 3: SupervisionOrder.village_id}.get(len(ids))
        if len(ids) <= 1:
            clauses.append(area_clause(principal, SupervisionOrder.town_id))
        elif column is not None:
            clauses.append(column == ids[-1])
    return or_(*clauses) if clauses else SupervisionOrder.id.is_(None)


def may_reply(principal: Principal, order: SupervisionOrder) -> bool:
    """Whether the caller may answer the order now: the supervised unit's people, once."""
    return (
        order.status == "open"
        and principal.unit_id == order.unit_id
        and principal.has_any(*REPLIERS)
    )


def may_read(principal: Principal, order: SupervisionOrder) -> bool:
    if principal.unit_id == order.unit_id and principal.has_any("handler", "unit_leader"):
        return True
    if not principal.has_any("operator", "leader", "admin"):
        return False
    ids = home_ids(principal)
    if len(ids) <= 1:
        return in_towns(principal, order.town_id)
    return {2: order.town_id, 3: order.village_id}.get(len(ids)) == ids[-1]


@dataclass(frozen=True)
class OrderFilters:
    status: str | None = None
    kind: str | None = None
    unit_id: int | None = None
    town_id: int | None = None
    event_id: int | None = None
    overdue: bool | None = None  # open and past its reply deadline
    issued_from: datetime | None = None
    issued_to: datetime | None = None


def list_query(
    filters: OrderFilters, principal: Principal, now: datetime, *, before_id: int | None = None
) -> Select[SupervisionOrder]:
    """Orders in the caller's scope matching the filters, newest first."""
    conditions: list[ColumnElement[bool]] = [order_scope(principal)]
    o = SupervisionOrder
    if filters.status:
        conditions.append(o.status == filters.status)
    if filters.kind:
        conditions.append(o.kind == filters.kind)
    if filters.unit_id is not None:
        conditions.append(o.unit_id == filters.unit_id)
    if filters.town_id is not None:
        conditions.append(o.town_id == filters.town_id)
    if filters.event_id is not None:
        conditions.append(o.event_id == filters.event_id)
    if filters.overdue is True:
        conditions.append(and_(o.status == "open", o.due_at < now))
    elif filters.overdue is False:
        conditions.append(or_(o.status != "open", o.due_at >= now))
    if filters.issued_from is not None:
        conditions.append(o.issued_at >= filters.issued_from)
    if filters.issued_to is not None:
        conditions.append(o.issued_at < filters.issued_to)
    if before_id is not None:
        conditions.append(o.id < before_id)
    return select(o).where(*conditions).order_by(o.id.desc())


def unit_names(db: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())
