"""Proxy requests (代办): domain functions.

A proxy request is asked for by a resident (themselves, with an account, or through a grid worker
or the hotline), taken by a grid worker of the resident's grid, submitted to the unit, and
finished (办结), refused or withdrawn; every step appends a hash-chained trail row. Its deadline
is the item's legal limit plus the working days allowed for collecting materials, on the Chinese
working calendar, with a reminder 24 h before. Who may read what is in `access.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.catalogue.access import Viewer, get_proxy, may_read, scope_clause
from fengqiao.catalogue.models import PROXY_OPEN_STATES, ProxyRequest, ProxyRequestLog, ServiceItem
from fengqiao.catalogue.schemas import ProxyCreate, ProxyTransition
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import FieldError, check_version, conflict, forbidden, invalid, invalid_fields
from fengqiao.events.models import EventSequence
from fengqiao.events.trail import GENESIS, row_hash, verify_rows
from fengqiao.org.models import OrgUnit
from fengqiao.sla.calendar import WorkCalendar
from fengqiao.sla.deadlines import Deadline, Policy, compute_deadline, light

PROXY_STATUS_ZH = {"requested": "待接单", "taken": "已接单", "submitted": "已递交", "done": "已办结",
                   "refused": "不予办理", "withdrawn": "已撤回"}  # fmt: skip
PROXY_ACTION_ZH = {"create": "提出代办", "take": "接单", "submit": "递交", "complete": "办结",
                   "refuse": "不予办理", "withdraw": "撤回", "remind": "到期提醒"}  # fmt: skip
CODE_PREFIX = "DB"  # 代办
SEQUENCE_PREFIX = "proxy"  # its counter's row in event_sequence
REMIND_BEFORE_HOURS = 24.0


@dataclass(frozen=True)
class Step:
    """One transition of a proxy request: from which states, to which, what it needs."""

    action: str
    sources: tuple[str, ...]
    target: str
    needs_note: bool = False
    needs_result: bool = False


TRANSITIONS: dict[str, Step] = {
    "take": Step("take", ("requested",), "taken"),
    "submit": Step("submit", ("taken",), "submitted"),
    "complete": Step("complete", ("submitted",), "done", needs_result=True),
    "refuse": Step("refuse", ("requested", "taken", "submitted"), "refused", needs_note=True),
    "withdraw": Step("withdraw", ("requested", "taken"), "withdrawn"),
}


def allowed_actions(view: Viewer, request: ProxyRequest) -> list[str]:
    """The steps the caller may take on the request now."""
    return [
        step.action
        for step in TRANSITIONS.values()
        if request.status in step.sources and _may(step.action, view, request)
    ]


def _may(action: str, view: Viewer, request: ProxyRequest) -> bool:
    principal = view.principal
    in_grid = request.grid_id in view.grids
    is_taker = request.worker_id == principal.user_id
    if action == "take":
        return view.is_worker and in_grid
    if action in ("submit", "complete"):
        return is_taker
    if action == "refuse":
        return (
            is_taker
            or (request.status == "requested" and view.is_worker and in_grid)
            or (principal.has_any("operator", "admin") and may_read(view, request))
        )
    if action == "withdraw":
        return principal.user_id in (request.resident_user_id, request.created_by) or is_taker
    return False


# --- proxy requests ------------------------------------------------------------------------------


def proxy_policy(item_limit_days: int, collect_days: int) -> Policy:
    """The request's limit: the item's legal limit plus the days to collect and hand in."""
    return Policy(
        limit=float(item_limit_days + collect_days),
        unit="working_days",
        remind_before_hours=REMIND_BEFORE_HOURS,
    )


def _next_code(db: Session, now: datetime) -> str:
    day = now.astimezone(LOCAL_TZ).strftime("%Y%m%d")
    sequences = cast(Table, EventSequence.__table__)
    dialect = db.get_bind().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(sequences)
    statement = (
        upsert.values(prefix=SEQUENCE_PREFIX, day=day, value=1)
        .on_conflict_do_update(
            index_elements=["prefix", "day"], set_={"value": sequences.c.value + 1}
        )
        .returning(sequences.c.value)
    )
    value = db.connection().execute(statement).scalar_one()
    return f"{CODE_PREFIX}{day}{value:04d}"


def append_trail(
    db: Session, request: ProxyRequest, *, at: datetime, actor_id: int | None, action: str,
    from_status: str | None, note: str = "", payload: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """Append one hash-chained row to the request's trail and move the head on the request."""
    seq = request.trail_seq + 1
    prev = request.trail_hash or GENESIS
    body = payload or {}
    digest = row_hash(
        prev_hash=prev, event_id=request.id, seq=seq, at=at, actor_id=actor_id, action=action,
        from_status=from_status, to_status=request.status, unit_id=None, note=note, payload=body,
    )  # fmt: skip
    db.add(
        ProxyRequestLog(
            request_id=request.id, seq=seq, at=at, actor_id=actor_id, action=action,
            from_status=from_status, to_status=request.status, note=note, payload=body,
            prev_hash=prev, hash=digest,
        )
    )  # fmt: skip
    request.trail_seq = seq
    request.trail_hash = digest


def _resolve_grid(db: Session, view: Viewer, data: ProxyCreate) -> OrgUnit:
    """The resident's grid: given, or the creator's own; it must be one the creator may serve."""
    principal = view.principal
    grid: OrgUnit | None
    if data.grid_id is not None:
        grid = db.get(OrgUnit, data.grid_id)
        if grid is None or grid.kind != "grid":
            raise invalid("grid_id", "no such grid", "网格不存在")
    elif view.grids:
        grid = db.get(OrgUnit, min(view.grids))
    elif not principal.has_any("resident"):
        raise invalid("grid_id", "say which grid the resident lives in", "请选择群众所在网格")
    else:
        home = db.get(OrgUnit, principal.home_org_id)
        if home is not None and home.kind != "grid":
            # A village's residents are served by its first grid's workers (the 代办点) unless
            # they name their own grid.
            home = db.scalar(
                select(OrgUnit)
                .where(OrgUnit.kind == "grid", OrgUnit.path.startswith(home.path, autoescape=True))
                .order_by(OrgUnit.code)
                .limit(1)
            )
        grid = home
        if grid is None:
            raise invalid("grid_id", "say which grid the resident lives in", "请选择群众所在网格")
    assert grid is not None
    allowed = (
        grid.id in view.grids
        or (view.is_area and principal.has_any("operator", "admin") and principal.covers(grid.path))
        or (principal.has_any("resident") and principal.covers(grid.path))
    )
    if not allowed:
        raise forbidden(
            "you may only ask for proxy services in your own grids or area",
            "只能为本人网格或辖区内的群众提出代办",
        )
    return grid


# Who a request is for: a resident's own request takes these from the account. (An ID number is
# not on the account, so a resident may still give their own.)
RESIDENT_FROM_ACCOUNT = ("resident_name", "resident_phone")


def create_proxy(
    *, db: Session, view: Viewer, data: ProxyCreate, calendar: WorkCalendar, now: datetime,
    collect_days: int,
) -> ProxyRequest:  # fmt: skip
    """A new request in state `requested`, with its deadline and first trail row."""
    principal = view.principal
    is_staff = view.is_worker or principal.has_any("operator", "admin")
    if not is_staff and not principal.has_any("resident"):
        raise forbidden(
            "residents, grid workers and operators may ask for proxy services",
            "只有群众、网格员和指挥室坐席可以提出代办",
        )
    item = db.get(ServiceItem, data.item_id)
    if item is None or not item.is_active:
        raise invalid("item_id", "no such service item", "服务事项不存在或已下架")
    if not item.proxy_allowed:
        raise invalid(
            "item_id", "this item must be done by the resident in person, not by proxy",
            "该事项须本人到场办理，不能代办",
        )  # fmt: skip
    resident_user_id = data.resident_user_id
    name, phone = data.resident_name, data.resident_phone
    if not is_staff:  # a resident asking for themselves
        if resident_user_id not in (None, principal.user_id):
            raise forbidden("residents ask only for themselves", "群众只能为本人提出代办")
        # Who the request is for comes from the account alone: a resident who could send a
        # name or phone could file in someone else's name.
        sent = [f for f in RESIDENT_FROM_ACCOUNT if getattr(data, f) is not None]
        if sent:
            reason = "residents do not send this: it comes from their account"
            reason_zh = "群众本人申请时不填此项，以账号信息为准"
            raise invalid_fields([FieldError(f, reason, reason_zh) for f in sent])
        resident_user_id = principal.user_id
        me = db.get(User, principal.user_id)
        name = me.name if me else None
        phone = me.phone if me else None
    elif resident_user_id is not None:
        is_resident = db.scalar(
            select(UserRole.user_id).where(
                UserRole.user_id == resident_user_id, UserRole.role == "resident"
            )
        )
        if is_resident is None:
            raise invalid("resident_user_id", "no such resident account", "群众账号不存在")
    if not name:
        raise invalid("resident_name", "the resident's name is required", "请填写群众姓名")
    if not phone:
        raise invalid("resident_phone", "the resident's phone is required", "请填写群众联系电话")
    grid = _resolve_grid(db, view, data)
    ids = [int(p) for p in grid.path.strip("/").split("/")]
    if len(ids) < 4:
        raise invalid("grid_id", "not a grid of a village", "不是村（社区）下的网格")
    deadline = compute_deadline(
        start=now, policy=proxy_policy(item.time_limit_days, collect_days), calendar=calendar
    )
    request = ProxyRequest(
        code=_next_code(db, now), item_id=item.id, item_name=item.name,
        time_limit_days=item.time_limit_days, resident_user_id=resident_user_id,
        resident_name=name.strip(), resident_phone=phone.strip(),
        resident_id_number=data.resident_id_number, grid_id=grid.id, village_id=ids[-2],
        town_id=ids[-3], address=data.address.strip(), note=data.note.strip(),
        status="requested", created_by=principal.user_id, created_at=now, updated_at=now,
        due_at=deadline.due_at, yellow_at=deadline.yellow_at, remind_at=deadline.remind_at,
        version=1, trail_seq=0, trail_hash="",
    )  # fmt: skip
    db.add(request)
    db.flush()
    append_trail(
        db, request, at=now, actor_id=principal.user_id, action="create", from_status=None,
        note=request.note,
        payload={"item_code": item.code, "due_at": deadline.due_at.isoformat()},
    )  # fmt: skip
    db.flush()
    return request


def transition(
    *, db: Session, view: Viewer, request_id: int, data: ProxyTransition, now: datetime
) -> ProxyRequest:
    """Take one step, or refuse with why (403 who, 409 state or version, 422 missing note)."""
    step = TRANSITIONS[data.action]
    request = get_proxy(db=db, view=view, request_id=request_id, lock=True)
    if request.status not in step.sources:
        raise conflict(
            "illegal-transition", "Action not allowed in this state", "当前状态不能执行此操作",
            f"cannot {data.action} a proxy request that is {request.status}",
            f"代办事项当前状态为「{PROXY_STATUS_ZH[request.status]}」，不能执行「{PROXY_ACTION_ZH[data.action]}」",
        )  # fmt: skip
    if not _may(data.action, view, request):
        raise forbidden(
            f"you may not {data.action} this proxy request",
            f"您不能对该代办事项执行「{PROXY_ACTION_ZH[data.action]}」",
        )
    check_version(data.version, request.version, what="proxy request", what_zh="代办事项")
    note = data.note.strip()
    if step.needs_note and not note:
        raise invalid("note", "give the reason", "请填写理由")
    result = (data.result or "").strip()
    if step.needs_result and not result:
        raise invalid("result", "say what came of it (e.g. the card was issued)", "请填写办理结果")
    before = request.status
    request.status = step.target
    if data.action == "take":
        request.worker_id = view.principal.user_id
        request.taken_at = now
    elif data.action == "submit":
        request.submitted_at = now
    elif step.target in ("done", "refused", "withdrawn"):
        request.finished_at = now
        if result:
            request.result = result
        elif note:
            request.result = note
    request.version += 1
    request.updated_at = now
    payload: dict[str, Any] = {"result": result} if result else {}
    append_trail(
        db, request, at=now, actor_id=view.principal.user_id, action=data.action,
        from_status=before, note=note, payload=payload,
    )  # fmt: skip
    db.flush()
    return request


def trail(db: Session, request_id: int) -> list[ProxyRequestLog]:
    return list(
        db.scalars(
            select(ProxyRequestLog)
            .where(ProxyRequestLog.request_id == request_id)
            .order_by(ProxyRequestLog.seq)
        )
    )


def verify_trail(db: Session, request: ProxyRequest) -> str | None:
    """Why the request's trail fails to chain (events/trail.py's rule), or None when it holds."""
    log = cast(Table, ProxyRequestLog.__table__)
    rows = [
        {**row, "unit_id": None}
        for row in db.execute(
            select(log).where(log.c.request_id == request.id).order_by(log.c.seq)
        ).mappings()
    ]
    return verify_rows(request.id, rows, (request.trail_seq, request.trail_hash))


def deadline_of(request: ProxyRequest) -> Deadline:
    return Deadline(due_at=request.due_at, yellow_at=request.yellow_at, remind_at=request.remind_at)


def light_of(request: ProxyRequest, now: datetime) -> str | None:
    if request.status not in PROXY_OPEN_STATES:
        return None
    return light(deadline=deadline_of(request), now=now)


def is_overdue(request: ProxyRequest, now: datetime) -> bool:
    if request.status in PROXY_OPEN_STATES:
        return now >= request.due_at
    return (
        request.status == "done"
        and request.finished_at is not None
        and (request.finished_at > request.due_at)
    )


# --- lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyFilters:
    status: str | None = None
    light: str | None = None
    mine: bool = False
    item_id: int | None = None
    town_id: int | None = None
    village_id: int | None = None
    grid_id: int | None = None
    query: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def list_query(view: Viewer, filters: ProxyFilters, now: datetime) -> Select[ProxyRequest]:
    """The caller's proxy requests under `filters`, newest first."""
    query = select(ProxyRequest).where(scope_clause(view))
    for column, value in (
        (ProxyRequest.item_id, filters.item_id),
        (ProxyRequest.town_id, filters.town_id),
        (ProxyRequest.village_id, filters.village_id),
        (ProxyRequest.grid_id, filters.grid_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.status == "open":
        query = query.where(ProxyRequest.status.in_(PROXY_OPEN_STATES))
    elif filters.status:
        query = query.where(ProxyRequest.status == filters.status)
    if filters.light:
        query = query.where(ProxyRequest.status.in_(PROXY_OPEN_STATES))
        if filters.light == "red":
            query = query.where(ProxyRequest.due_at <= now)
        elif filters.light == "yellow":
            query = query.where(ProxyRequest.yellow_at <= now, ProxyRequest.due_at > now)
        else:
            query = query.where(ProxyRequest.yellow_at > now)
    if filters.mine:
        query = query.where(ProxyRequest.worker_id == view.principal.user_id)
    if filters.query:
        like = "%" + filters.query.replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(
            or_(
                ProxyRequest.code.like(like, escape="\\"),
                ProxyRequest.item_name.like(like, escape="\\"),
            )
        )
    if filters.created_from is not None:
        query = query.where(ProxyRequest.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(ProxyRequest.created_at < filters.created_to)
    return query.order_by(ProxyRequest.created_at.desc(), ProxyRequest.id.desc())


def summary(db: Session, view: Viewer, now: datetime) -> dict[str, int]:
    """Open, overdue, yellow and done counts over everything the caller may read."""
    is_open = ProxyRequest.status.in_(PROXY_OPEN_STATES)
    row = db.execute(
        select(
            func.count().filter(is_open),
            func.count().filter(and_(is_open, ProxyRequest.due_at <= now)),
            func.count().filter(
                and_(is_open, ProxyRequest.yellow_at <= now, ProxyRequest.due_at > now)
            ),
            func.count().filter(ProxyRequest.status == "done"),
        ).where(scope_clause(view))
    ).one()
    return {"open": row[0], "overdue": row[1], "yellow": row[2], "done": row[3]}


def names(db: Session, org_ids: Iterable[int], user_ids: Iterable[int]) -> tuple[
    dict[int, str], dict[int, tuple[str, str]]
]:  # fmt: skip
    """Org unit names and (username, name) of users, for a page of requests."""
    org_set, user_set = set(org_ids), {u for u in user_ids if u}
    orgs = (
        dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(org_set))).all())
        if org_set
        else {}
    )
    users = (
        {
            r.id: (r.username, r.name)
            for r in db.execute(select(User.id, User.username, User.name).where(User.id.in_(user_set)))
        }
        if user_set
        else {}
    )  # fmt: skip
    return orgs, users


def ids_of(rows: Sequence[ProxyRequest]) -> tuple[set[int], set[int]]:
    org_ids = {i for r in rows for i in (r.grid_id, r.village_id, r.town_id)}
    user_ids = {i for r in rows for i in (r.created_by, r.worker_id) if i}
    return org_ids, user_ids
