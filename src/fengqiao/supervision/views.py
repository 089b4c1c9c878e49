"""Supervision orders: issue one by hand, list and export them, read one, reply as the unit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import forbidden, invalid, not_found
from fengqiao.events import service as events
from fengqiao.events.escalation import EscalationPolicy, local_text
from fengqiao.events.models import Event
from fengqiao.events.schemas import Ref
from fengqiao.exports import csv_download, stamped
from fengqiao.scope import Principal
from fengqiao.supervision import service
from fengqiao.supervision.models import ORDER_KIND_ZH, ORDER_STATUS_ZH, SupervisionOrder
from fengqiao.supervision.schemas import OrderIn, OrderList, OrderOut, ReplyIn

router = APIRouter(tags=["supervision"])


def _outs(
    db: Session,
    orders: Sequence[SupervisionOrder],
    now: datetime,
    principal: Principal | None = None,
) -> list[OrderOut]:
    units = service.unit_names(db, {o.unit_id for o in orders})
    user_ids = {i for o in orders for i in (o.issued_by, o.replied_by) if i}
    users = (
        {u.id: u for u in db.execute(select(User.id, User.username, User.name).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )  # fmt: skip
    event_ids = {o.event_id for o in orders}
    evs = (
        {e.id: e for e in db.execute(select(Event.id, Event.code, Event.title).where(Event.id.in_(event_ids)))}
        if event_ids
        else {}
    )  # fmt: skip

    def person(user_id: int | None) -> Ref | None:
        if user_id is None or user_id not in users:
            return None
        return Ref(id=user_id, code=users[user_id].username, name=users[user_id].name)

    return [
        OrderOut(
            id=o.id,
            code=o.code,
            event=Ref(id=o.event_id, code=evs[o.event_id].code, name=evs[o.event_id].title),
            kind=o.kind,
            kind_name=ORDER_KIND_ZH[o.kind],
            unit=Ref(id=o.unit_id, name=units.get(o.unit_id, "")),
            issued_by=person(o.issued_by),
            issued_at=o.issued_at,
            requirement=o.requirement,
            due_at=o.due_at,
            status=o.status,
            status_name=ORDER_STATUS_ZH[o.status],
            overdue=o.status == "open" and o.due_at < now,
            reply=o.reply,
            replied_by=person(o.replied_by),
            replied_at=o.replied_at,
            can_reply=principal is not None and service.may_reply(principal, o),
        )
        for o in orders
    ]


@router.post(
    "/events/{event_id}/supervision-orders",
    status_code=201,
    response_model=OrderOut,
    summary="Issue a supervision order (督办) on an event",
)
def issue_order(
    event_id: int,
    body: OrderIn,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
    settings: AppSettings,
) -> OrderOut:
    """Operators and leaders whose area holds the event order its unit to act; the unit is told
    by SMS and in the app, and the order is on the event's trail."""
    now = clock.now()
    policy = EscalationPolicy.from_settings(settings)
    with database.transaction() as db:
        event = events.get_event(db=db, principal=principal, event_id=event_id, lock=True)
        if not principal.has_any(*service.ISSUERS):
            raise forbidden(
                "only operators and leaders issue supervision orders",
                "只有指挥室坐席和领导可以督办",
            )
        due_at = body.due_at or service.default_reply_due(now, policy)
        if due_at.tzinfo is None:
            raise invalid("due_at", "give the time zone, e.g. +08:00", "请带时区，例如 +08:00")
        order = service.issue_order(
            db, event, kind=body.kind, requirement=body.requirement, due_at=due_at, now=now,
            policy=policy, issued_by=principal.user_id,
        )  # fmt: skip
        return _outs(db, [order], now, principal)[0]


def _filters(
    status: Annotated[Literal["open", "replied"] | None, Query()] = None,
    kind: Annotated[Literal["overdue", "leader", "important"] | None, Query()] = None,
    # Row ids, bounded: an id past the database's integer range failed inside the CSV export's
    # stream, after its answer had started (tests/test_api_fuzz.py).
    unit: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Unit id.")] = None,
    town: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Town org id.")] = None,
    event: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Event id.")] = None,
    overdue: Annotated[bool | None, Query(description="Open past its reply deadline.")] = None,
    issued_from: Annotated[datetime | None, Query()] = None,
    issued_to: Annotated[datetime | None, Query()] = None,
) -> service.OrderFilters:
    return service.OrderFilters(
        status=status, kind=kind, unit_id=unit, town_id=town, event_id=event, overdue=overdue,
        issued_from=issued_from, issued_to=issued_to,
    )  # fmt: skip


Filters = Annotated[service.OrderFilters, Depends(_filters)]


@router.get("/supervision-orders", response_model=OrderList, summary="List supervision orders")
def list_orders(
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
    filters: Filters,
    before: Annotated[
        int | None, Query(description="Cursor: `next_before` of the last page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrderList:
    """A unit sees its own orders; operators and leaders those of their area. Newest first."""
    now = clock.now()
    with database.session() as db:
        query = service.list_query(filters, principal, now, before_id=before).limit(limit + 1)
        orders = list(db.scalars(query))
        more = len(orders) > limit
        orders = orders[:limit]
        return OrderList(
            items=_outs(db, orders, now, principal),
            next_before=orders[-1].id if more and orders else None,
        )


CSV_HEADER = ["督办单号", "事件编号", "督办类型", "责任单位", "督办人", "下发时间", "督办要求",
              "回复期限", "状态", "是否逾期", "回复内容", "回复时间"]  # fmt: skip


@router.get(
    "/supervision-orders/export",
    summary="Export supervision orders as CSV",
    response_class=StreamingResponse,
)
def export_orders(
    principal: CurrentPrincipal, clock: AppClock, database: AppDatabase, filters: Filters
) -> StreamingResponse:
    """The same filters as the list, as UTF-8 CSV with Chinese headers (opens in Excel)."""
    now = clock.now()

    def rows() -> Iterator[list[Any]]:
        with database.session() as db:
            before: int | None = None
            while True:
                query = service.list_query(filters, principal, now, before_id=before).limit(1000)
                page = list(db.scalars(query))
                if not page:
                    break
                for o in _outs(db, page, now):
                    yield [
                        o.code, o.event.code, o.kind_name, o.unit.name,
                        o.issued_by.name if o.issued_by else "系统", local_text(o.issued_at),
                        o.requirement, local_text(o.due_at), o.status_name,
                        "是" if o.overdue else "否", o.reply or "", local_text(o.replied_at),
                    ]  # fmt: skip
                before = page[-1].id

    return csv_download(CSV_HEADER, rows(), filename=stamped("supervision", now))


@router.get(
    "/supervision-orders/{order_id}", response_model=OrderOut, summary="Read a supervision order"
)
def get_order(
    order_id: int, principal: CurrentPrincipal, clock: AppClock, database: AppDatabase
) -> OrderOut:
    with database.session() as db:
        order = db.get(SupervisionOrder, order_id)
        if order is None or not service.may_read(principal, order):
            raise not_found("supervision order", "督办单")
        return _outs(db, [order], clock.now(), principal)[0]


@router.post(
    "/supervision-orders/{order_id}/reply",
    response_model=OrderOut,
    summary="Reply to a supervision order (the supervised unit)",
)
def reply(
    order_id: int,
    body: ReplyIn,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
) -> OrderOut:
    """The unit's handlers or head say what was done, once; the reply is on the event's trail."""
    now = clock.now()
    with database.transaction() as db:
        order = service.reply_order(
            db, order_id=order_id, principal=principal, reply=body.reply, now=now
        )
        return _outs(db, [order], now, principal)[0]
