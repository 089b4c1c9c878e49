"""Early warnings (预警): list and export them, read one, acknowledge one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.errors import invalid, not_found
from fengqiao.events.escalation import local_text
from fengqiao.events.models import Event
from fengqiao.events.schemas import Ref
from fengqiao.events.scope import event_scope
from fengqiao.exports import csv_download, stamped
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.paging import Page, Paging
from fengqiao.scope import Principal
from fengqiao.warnings import service, wording
from fengqiao.warnings.models import (
    WARNING_KIND_ZH,
    WARNING_LEVEL_ZH,
    WARNING_STATUS_ZH,
    WARNING_STEP_ZH,
    EarlyWarning,
)
from fengqiao.warnings.schemas import AckIn, WarningOut, WarningStepOut

router = APIRouter(tags=["warnings"])
# Related events shown per warning (by code, linking to the event).
RELATED_SHOWN = 20


def _related(db: Session, principal: Principal, warnings: Sequence[EarlyWarning]) -> dict[int, Ref]:
    """The first related events of each warning that the caller may read, by id."""
    ids = {i for w in warnings for i in (w.details or {}).get("event_ids", [])[:RELATED_SHOWN]}
    if not ids:
        return {}
    rows = db.execute(
        select(Event.id, Event.code, Event.category_name).where(
            Event.id.in_(ids), event_scope(principal)
        )
    )
    return {r.id: Ref(id=r.id, code=r.code, name=r.category_name) for r in rows}


def _history(w: EarlyWarning) -> list[WarningStepOut]:
    return [
        WarningStepOut(at=datetime.fromisoformat(h["at"]), step=h["step"],
                       step_name=WARNING_STEP_ZH.get(h["step"], ""), told=h.get("told", 0))
        for h in w.history or []
    ]  # fmt: skip


def _outs(db: Session, warnings: Sequence[EarlyWarning], principal: Principal) -> list[WarningOut]:
    org_ids = {i for w in warnings for i in (w.org_id, w.town_id) if i}
    orgs = (
        dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(org_ids))).all())
        if org_ids
        else {}
    )
    unit_ids = {w.unit_id for w in warnings if w.unit_id}
    units = (
        dict(db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all())
        if unit_ids
        else {}
    )
    user_ids = {w.acknowledged_by for w in warnings if w.acknowledged_by}
    users = (
        {u.id: u for u in db.execute(select(User.id, User.username, User.name).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )  # fmt: skip
    related = _related(db, principal, warnings)
    return [
        WarningOut(
            id=w.id,
            kind=w.kind,
            kind_name=WARNING_KIND_ZH.get(w.kind, w.kind),
            place=Ref(id=w.org_id, name=orgs.get(w.org_id, "")),
            town=Ref(id=w.town_id, name=orgs.get(w.town_id, "")) if w.town_id else None,
            unit=Ref(id=w.unit_id, name=units.get(w.unit_id, "")) if w.unit_id else None,
            category_code=w.category_code,
            category_name=w.category_name,
            lat=w.lat,
            lng=w.lng,
            window_start=w.window_start,
            window_end=w.window_end,
            observed=w.observed,
            expected=w.expected,
            score=w.score,
            p_value=(w.details or {}).get("p_value"),
            message=w.message,
            statistics=wording.statistics(
                w.kind, expected=w.expected, p_value=(w.details or {}).get("p_value")
            ),
            event_ids=list((w.details or {}).get("event_ids", [])),
            events=[
                related[i]
                for i in (w.details or {}).get("event_ids", [])[:RELATED_SHOWN]
                if i in related
            ],
            event_count=int(
                (w.details or {}).get("event_count", len((w.details or {}).get("event_ids", [])))
            ),
            created_at=w.created_at,
            status=w.status,
            status_name=WARNING_STATUS_ZH.get(w.status, w.status),
            acknowledged_by=(
                Ref(
                    id=w.acknowledged_by,
                    code=users[w.acknowledged_by].username,
                    name=users[w.acknowledged_by].name,
                )
                if w.acknowledged_by in users
                else None
            ),
            acknowledged_at=w.acknowledged_at,
            note=w.note,
            pushed_to=len(w.pushed_to or []),
            level=w.level,
            level_name=WARNING_LEVEL_ZH.get(w.level, ""),
            remind_at=w.remind_at,
            climb_at=w.climb_at,
            reminded_at=w.reminded_at,
            climbed_at=w.climbed_at,
            history=_history(w),
        )
        for w in warnings
    ]


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ) if day else None


def _filters(
    kind: Annotated[
        Literal["spike", "cluster", "repeat", "backlog"] | None,
        Query(
            description="spike 类案激增, cluster 涉稳聚集, repeat 同一地点重复, backlog 单位积压."
        ),
    ] = None,
    status: Annotated[Literal["open", "acknowledged"] | None, Query()] = None,
    town: Annotated[int | None, Query(description="Town org id.")] = None,
    unit: Annotated[int | None, Query(description="Unit id (the unit concerned).")] = None,
    category: Annotated[
        str | None, Query(pattern=r"^\d{2}(\d{2})?$", description="Class code (2 or 4 digits).")
    ] = None,
    date_from: Annotated[
        date | None, Query(description="Created on or after this local day.")
    ] = None,
    date_to: Annotated[
        date | None, Query(description="Created on or before this local day.")
    ] = None,
) -> service.WarningFilters:
    if date_from and date_to and date_to < date_from:
        raise invalid("date_to", "must not be before date_from", "结束日期不能早于开始日期")
    end = _day_start(date_to)
    return service.WarningFilters(
        kind=kind, status=status, town_id=town, unit_id=unit, category=category,
        created_from=_day_start(date_from), created_to=end + timedelta(days=1) if end else None,
    )  # fmt: skip


Filters = Annotated[service.WarningFilters, Depends(_filters)]


@router.get("/warnings", response_model=Page[WarningOut], summary="List early warnings (预警)")
def list_warnings(
    principal: CurrentPrincipal, database: AppDatabase, filters: Filters, paging: Paging
) -> Page[WarningOut]:
    """Operators and leaders see the warnings of their area, a unit's people those concerning
    their unit. Newest first."""
    with database.session() as db:
        query = service.list_query(filters, principal)
        total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        rows = list(db.scalars(query.offset(paging.offset).limit(paging.size)))
        return Page(
            items=_outs(db, rows, principal), total=total, page=paging.page, size=paging.size
        )


CSV_HEADER = ["编号", "类型", "地点", "镇街", "相关单位", "类别", "时段开始", "时段结束", "实际数",
              "期望数", "强度", "预警内容", "发布时间", "状态", "签收人", "签收时间", "签收意见",
              "统计说明", "相关事件", "当前层级"]  # fmt: skip


@router.get(
    "/warnings/export", summary="Export early warnings as CSV", response_class=StreamingResponse
)
def export_warnings(
    principal: CurrentPrincipal, clock: AppClock, database: AppDatabase, filters: Filters
) -> StreamingResponse:
    """The same filters as the list, as UTF-8 CSV with Chinese headers (opens in Excel)."""

    def rows() -> Iterator[list[Any]]:
        with database.session() as db:
            offset = 0
            while True:
                query = service.list_query(filters, principal).offset(offset).limit(1000)
                page = list(db.scalars(query))
                if not page:
                    break
                for w in _outs(db, page, principal):
                    yield [
                        w.id, w.kind_name, w.place.name, w.town.name if w.town else "",
                        w.unit.name if w.unit else "", w.category_name, local_text(w.window_start),
                        local_text(w.window_end), w.observed, w.expected, w.score, w.message,
                        local_text(w.created_at), w.status_name,
                        w.acknowledged_by.name if w.acknowledged_by else "",
                        local_text(w.acknowledged_at), w.note or "", w.statistics,
                        "、".join(e.code or "" for e in w.events), w.level_name,
                    ]  # fmt: skip
                offset += len(page)

    return csv_download(CSV_HEADER, rows(), filename=stamped("warnings", clock.now()))


@router.get("/warnings/{warning_id}", response_model=WarningOut, summary="Read an early warning")
def get_warning(warning_id: int, principal: CurrentPrincipal, database: AppDatabase) -> WarningOut:
    with database.session() as db:
        warning = db.get(EarlyWarning, warning_id)
        if warning is None or not service.may_read(principal, warning):
            raise not_found("warning", "预警")
        return _outs(db, [warning], principal)[0]


@router.post(
    "/warnings/{warning_id}/ack",
    response_model=WarningOut,
    summary="Acknowledge an early warning (签收)",
)
def acknowledge(
    warning_id: int,
    body: AckIn,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
) -> WarningOut:
    """The town or unit concerned (or anyone above it) signs for the warning, once, with a note."""
    with database.transaction() as db:
        warning = service.acknowledge(
            db=db, warning_id=warning_id, principal=principal, note=body.note, now=clock.now()
        )
        return _outs(db, [warning], principal)[0]
