"""The service catalogue and proxy requests over HTTP: the public catalogue (no login), the
administrators' item editing and import, proxy requests with their trail (the pages:
web/catalogue_pages.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.bounds import ID_MAX
from fengqiao.catalogue import access, proxy, search, service
from fengqiao.catalogue.models import SERVICE_LEVEL_ZH, ProxyRequest, ServiceItem
from fengqiao.catalogue.schemas import (
    ImportReport,
    ItemHit,
    ItemImport,
    ItemIn,
    ItemOut,
    ItemPage,
    ItemPatch,
    Level,
    ProxyCreate,
    ProxyDetail,
    ProxyOut,
    ProxyPage,
    ProxyStatus,
    ProxySummary,
    ProxyTrailRow,
    ProxyTransition,
)
from fengqiao.clock import LOCAL_TZ
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import invalid
from fengqiao.events.escalation import local_text
from fengqiao.events.schemas import Ref
from fengqiao.exports import csv_download, stamped
from fengqiao.paging import Paging
from fengqiao.scope import mask_phone, note_if_whole
from fengqiao.sla.deadlines import LIGHT_ZH
from fengqiao.taxonomy.deps import app_rules

router = APIRouter(tags=["services"])
public = APIRouter(tags=["services"])


# --- the catalogue ---------------------------------------------------------------------------


def item_out(item: ServiceItem) -> ItemOut:
    levels = service.levels_of(item)
    return ItemOut(
        id=item.id, code=item.code, name=item.name, category=item.category,
        levels=levels,
        level_names=[SERVICE_LEVEL_ZH[level] for level in levels], materials=list(item.materials),
        time_limit_days=item.time_limit_days, time_limit_text=service.limit_text(item.time_limit_days),
        fee=item.fee, unit_type=item.unit_type, unit_name=item.unit_name,
        description=item.description, tags=list(item.tags), proxy_allowed=item.proxy_allowed,
        is_active=item.is_active, version=item.version, updated_at=item.updated_at,
    )  # fmt: skip


def _search(
    db: Session, q: str, paging: Any, *, include_inactive: bool, level: str | None,
    category: str | None, proxy_only: bool,
) -> ItemPage:  # fmt: skip
    hits, total = search.search(
        db, q, limit=paging.size, offset=paging.offset, include_inactive=include_inactive,
        level=level, category=category, proxy_only=proxy_only,
    )  # fmt: skip
    return ItemPage(
        items=[ItemHit(**item_out(h.item).model_dump(), name_match=h.name_match) for h in hits],
        total=total, page=paging.page, size=paging.size, query=q,
        mode=search.mode_of(db, q),
    )  # fmt: skip


Q = Annotated[
    str,
    Query(
        max_length=search.MAX_QUERY_CHARS,
        description="Words to find (Chinese or not), separated by spaces; every one must appear.",
    ),
]
LevelQ = Annotated[Level | None, Query(description="Only items that can be done at this level.")]
CategoryQ = Annotated[str | None, Query(max_length=32, description="Only this category.")]
ProxyOnlyQ = Annotated[bool, Query(description="Only items a grid worker may handle (代办).")]


@public.get(
    "/public/services", response_model=ItemPage, summary="The public service catalogue (最多跑一次)"
)
def public_catalogue(
    database: AppDatabase, paging: Paging, q: Q = "", level: LevelQ = None,
    category: CategoryQ = None, proxy: ProxyOnlyQ = False,
) -> ItemPage:  # fmt: skip
    """No login. The active items, searched in Chinese (name matches first) or listed by code."""
    with database.session() as db:
        return _search(
            db, q, paging, include_inactive=False, level=level, category=category, proxy_only=proxy
        )


@public.get(
    "/public/services/categories", response_model=list[str], summary="The catalogue's categories"
)
def public_categories(database: AppDatabase) -> list[str]:
    with database.session() as db:
        return service.categories(db)


@public.get("/public/services/{item_id}", response_model=ItemOut, summary="One service item")
def public_item(item_id: int, database: AppDatabase) -> ItemOut:
    """No login. Materials, where it can be done, the time limit, the fee and the unit."""
    with database.session() as db:
        return item_out(service.get_item(db=db, item_id=item_id))


@router.get("/services/search", response_model=ItemPage, summary="Search the service catalogue")
def search_items(
    principal: CurrentPrincipal, database: AppDatabase, paging: Paging, q: Q = "",
    level: LevelQ = None, category: CategoryQ = None, proxy: ProxyOnlyQ = False,
    include_inactive: Annotated[bool, Query(description="Administrators: also withdrawn items.")] = False,
) -> ItemPage:  # fmt: skip
    """The same search as the public catalogue; administrators may include withdrawn items."""
    if include_inactive:
        principal.require_role("admin")
    with database.session() as db:
        return _search(
            db, q, paging, include_inactive=include_inactive, level=level, category=category,
            proxy_only=proxy,
        )  # fmt: skip


@router.post(
    "/services/items", response_model=ItemOut, status_code=201, summary="Add a service item"
)
def create_item(
    body: ItemIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> ItemOut:
    """Administrators only; a code already used is a 409."""
    principal.require_role("admin")
    with database.transaction() as db:
        return item_out(service.create_item(db=db, data=body, now=clock.now()))


@router.get("/services/items/{item_id}", response_model=ItemOut, summary="Read a service item")
def read_item(item_id: int, principal: CurrentPrincipal, database: AppDatabase) -> ItemOut:
    with database.session() as db:
        return item_out(
            service.get_item(db=db, item_id=item_id, include_inactive=principal.has_any("admin"))
        )


@router.patch("/services/items/{item_id}", response_model=ItemOut, summary="Edit a service item")
def edit_item(
    item_id: int, body: ItemPatch, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> ItemOut:  # fmt: skip
    """Administrators only; send the `version` you read (409 when someone saved in between).
    Proxy requests already made keep the item's name and limit as they were."""
    principal.require_role("admin")
    with database.transaction() as db:
        return item_out(service.update_item(db=db, item_id=item_id, patch=body, now=clock.now()))


@router.delete(
    "/services/items/{item_id}", response_model=ItemOut, summary="Withdraw a service item"
)
def withdraw_item(
    item_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> ItemOut:
    """Administrators only. The item leaves the public catalogue but is kept (its proxy
    requests point at it); PATCH `is_active: true` brings it back."""
    principal.require_role("admin")
    with database.transaction() as db:
        return item_out(service.deactivate_item(db=db, item_id=item_id, now=clock.now()))


@router.post(
    "/services/items/import", response_model=ImportReport, summary="Import service items (JSON)"
)
def import_items(
    body: ItemImport, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> ImportReport:
    """Administrators only. `{"version": 1, "items": [...]}` as in the shipped items.json: new
    codes are added, known codes updated in place, nothing deleted; a bad entry refuses the
    whole file and stores nothing."""
    principal.require_role("admin")
    with database.transaction() as db:
        result = service.import_items(db=db, data=body, now=clock.now())
    return ImportReport(created=result.created, updated=result.updated, total=result.total)


# --- proxy requests ------------------------------------------------------------------------------


def _calendar(request: Request, db: Session) -> Any:
    return app_rules(request, db).calendar


def proxy_outs(
    db: Session, view: access.Viewer, rows: Sequence[ProxyRequest], now: datetime, *,
    detail: bool = False,
) -> list[ProxyOut]:  # fmt: skip
    """Rows as the caller may see them: personal data masked in lists and for roles without need."""
    org_ids, user_ids = proxy.ids_of(rows)
    orgs, users = proxy.names(db, org_ids, user_ids)
    principal = view.principal
    outs = []
    for r in rows:
        own = principal.user_id == r.resident_user_id
        whole = detail and access.sees_personal(view, r)
        name = r.resident_name if (own or whole) else access.mask_name(r.resident_name)
        phone = r.resident_phone if own or whole else mask_phone(r.resident_phone, principal) or ""
        id_number = r.resident_id_number
        if id_number and not (own or whole):
            id_number = access.mask_id_number(id_number)
        if not own:  # what is served whole goes to the personal-data access log (operations.md)
            note_if_whole(
                principal, "proxy_request", r.id, resident_name=(name, r.resident_name),
                resident_phone=(phone, r.resident_phone),
                resident_id_number=(id_number, r.resident_id_number),
            )  # fmt: skip

        def user_ref(user_id: int | None) -> Ref | None:
            if not user_id:
                return None
            username, user_name = users.get(user_id, ("", ""))
            return Ref(id=user_id, code=username, name=user_name)

        creator = user_ref(r.created_by)
        assert creator is not None
        outs.append(
            ProxyOut(
                id=r.id, code=r.code, item=Ref(id=r.item_id, name=r.item_name),
                time_limit_days=r.time_limit_days, resident_name=name, resident_phone=phone,
                resident_id_number=id_number, resident_user_id=r.resident_user_id,
                grid=Ref(id=r.grid_id, name=orgs.get(r.grid_id, "")),
                village=Ref(id=r.village_id, name=orgs.get(r.village_id, "")),
                town=Ref(id=r.town_id, name=orgs.get(r.town_id, "")),
                address=r.address, note=r.note,
                status=r.status,
                status_name=proxy.PROXY_STATUS_ZH.get(r.status, r.status), created_by=creator,
                worker=user_ref(r.worker_id), created_at=r.created_at, taken_at=r.taken_at,
                submitted_at=r.submitted_at, finished_at=r.finished_at, due_at=r.due_at,
                light=proxy.light_of(r, now), overdue=proxy.is_overdue(r, now),
                result=r.result, version=r.version, actions=proxy.allowed_actions(view, r),
            )
        )  # fmt: skip
    return outs


def proxy_detail(
    db: Session, view: access.Viewer, request: ProxyRequest, now: datetime
) -> ProxyDetail:
    out = proxy_outs(db, view, [request], now, detail=True)[0]
    rows = proxy.trail(db, request.id)
    _, users = proxy.names(db, [], [r.actor_id for r in rows if r.actor_id])
    trail = [
        ProxyTrailRow(
            seq=r.seq, at=r.at,
            actor=Ref(id=r.actor_id, code=users.get(r.actor_id, ("", ""))[0],
                      name=users.get(r.actor_id, ("", ""))[1]) if r.actor_id else None,
            action=r.action, action_name=proxy.PROXY_ACTION_ZH.get(r.action, r.action),
            from_status=r.from_status, to_status=r.to_status, note=r.note,
        )
        for r in rows
    ]  # fmt: skip
    return ProxyDetail(**out.model_dump(), trail=trail)


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ) if day else None


def proxy_filters(
    status: Annotated[
        ProxyStatus | Literal["open"] | None,
        Query(description="requested, taken, submitted, done, refused, withdrawn, or open."),
    ] = None,
    light: Annotated[
        Literal["green", "yellow", "red"] | None,
        Query(description="Open requests by light; red = overdue."),
    ] = None,
    mine: Annotated[bool, Query(description="Only requests the caller has taken.")] = False,
    # Ids fit the database's integer keys: a larger one failed inside the streamed CSV (a 500).
    item: Annotated[int | None, Query(ge=1, le=ID_MAX, description="Service item id.")] = None,
    town: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    village: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    grid: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
    q: Annotated[str | None, Query(max_length=50, description="Code or item name.")] = None,
    date_from: Annotated[date | None, Query(description="Asked on or after this day.")] = None,
    date_to: Annotated[date | None, Query(description="Asked on or before this day.")] = None,
) -> proxy.ProxyFilters:
    if date_from and date_to and date_to < date_from:
        raise invalid("date_to", "must not be before date_from", "结束日期不能早于开始日期")
    end = _day_start(date_to)
    return proxy.ProxyFilters(
        status=status, light=light, mine=mine, item_id=item, town_id=town, village_id=village,
        grid_id=grid, query=q.strip() if q else None, created_from=_day_start(date_from),
        created_to=end + timedelta(days=1) if end else None,
    )  # fmt: skip


ProxyFilters = Annotated[proxy.ProxyFilters, Depends(proxy_filters)]


@router.post(
    "/proxy-requests", response_model=ProxyDetail, status_code=201,
    summary="Ask for a proxy service (代办)",
)  # fmt: skip
async def create_proxy(
    request: Request, response: Response, body: ProxyCreate, principal: CurrentPrincipal,
    database: AppDatabase, clock: AppClock, settings: AppSettings,
) -> ProxyDetail:  # fmt: skip
    """A resident asks for themselves (name and phone default to their account), or a grid
    worker or operator asks for a resident of their grid or area. The deadline is the item's
    legal limit plus `proxy_collect_days` working days."""
    now = clock.now()

    def write() -> ProxyDetail:
        with database.transaction() as db:
            view = access.viewer(db, principal)
            created = proxy.create_proxy(
                db=db, view=view, data=body, calendar=_calendar(request, db), now=now,
                collect_days=settings.proxy_collect_days,
            )  # fmt: skip
            return proxy_detail(db, view, created, now)

    out = await database.run_write(write)
    response.headers["Location"] = f"/api/v1/proxy-requests/{out.id}"
    return out


@router.get("/proxy-requests", response_model=ProxyPage, summary="List proxy requests")
def list_proxy(
    principal: CurrentPrincipal, database: AppDatabase, clock: AppClock, filters: ProxyFilters,
    paging: Paging,
) -> ProxyPage:  # fmt: skip
    """Grid workers see their grids' requests, operators and leaders their area's, residents
    their own; newest first, with counts (open, overdue, yellow, done) over everything visible."""
    access.require_reader(principal)
    now = clock.now()
    with database.session() as db:
        view = access.viewer(db, principal)
        query = proxy.list_query(view, filters, now)
        total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        rows = list(db.scalars(query.offset(paging.offset).limit(paging.size)))
        return ProxyPage(
            items=proxy_outs(db, view, rows, now), total=total, page=paging.page,
            size=paging.size, summary=ProxySummary(**proxy.summary(db, view, now)),
        )  # fmt: skip


CSV_HEADER = ["编号", "服务事项", "群众", "联系电话", "镇街", "村社", "网格", "状态", "红黄绿灯",
              "超期", "提出时间", "接单人", "接单时间", "递交时间", "办结时间", "办理时限",
              "办理结果"]  # fmt: skip


@router.get(
    "/proxy-requests/export.csv", response_class=StreamingResponse,
    summary="Export proxy requests as CSV", responses={200: {"content": {"text/csv": {}}}},
)  # fmt: skip
def export_proxy(
    principal: CurrentPrincipal, database: AppDatabase, clock: AppClock, filters: ProxyFilters
) -> StreamingResponse:
    """The list's filters, as UTF-8 CSV with Chinese headers; personal data masked as in lists."""
    access.require_reader(principal)
    now = clock.now()

    def rows() -> Iterator[list[Any]]:
        with database.session() as db:
            view = access.viewer(db, principal)
            offset = 0
            while True:
                page = list(
                    db.scalars(proxy.list_query(view, filters, now).offset(offset).limit(1000))
                )
                if not page:
                    break
                for r in proxy_outs(db, view, page, now):
                    yield [
                        r.code, r.item.name, r.resident_name, r.resident_phone, r.town.name,
                        r.village.name, r.grid.name, r.status_name, LIGHT_ZH.get(r.light or "", ""),
                        "是" if r.overdue else "否", local_text(r.created_at),
                        r.worker.name if r.worker else "", local_text(r.taken_at),
                        local_text(r.submitted_at), local_text(r.finished_at), local_text(r.due_at),
                        r.result or "",
                    ]  # fmt: skip
                offset += len(page)

    return csv_download(CSV_HEADER, rows(), filename=stamped("proxy-requests", now))


@router.get(
    "/proxy-requests/{request_id}", response_model=ProxyDetail,
    summary="Read a proxy request with its trail",
)  # fmt: skip
def read_proxy(
    request_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> ProxyDetail:
    """404 outside the caller's scope. The resident's data is whole for the resident, the worker
    who took it, operators and administrators; masked for everyone else."""
    access.require_reader(principal)
    now = clock.now()
    with database.session() as db:
        view = access.viewer(db, principal)
        return proxy_detail(
            db, view, access.get_proxy(db=db, view=view, request_id=request_id), now
        )


@router.post(
    "/proxy-requests/{request_id}/transitions", response_model=ProxyDetail,
    summary="Take a step: take, submit, complete, refuse, withdraw",
)  # fmt: skip
async def act_on_proxy(
    request_id: int, body: ProxyTransition, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> ProxyDetail:  # fmt: skip
    """接单 take (a grid worker of the grid), 递交 submit and 办结 complete (with `result`, the
    worker who took it), 不予办理 refuse (with a reason), 撤回 withdraw (the resident, whoever
    asked, or the worker). Send the `version` you read: a stale one is a 409."""
    now = clock.now()

    def write() -> ProxyDetail:
        with database.transaction() as db:
            view = access.viewer(db, principal)
            changed = proxy.transition(db=db, view=view, request_id=request_id, data=body, now=now)
            return proxy_detail(db, view, changed, now)

    return await database.run_write(write)
