"""Joint operations (联合行动): plan one in an area, link the events it handles, record its
results and quantities. Every write: authorise → version check → write → trail row → flush;
the caller commits. Depends on events (reads only) and org; events never imports this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import FieldError, Problem, check_version, conflict, invalid, not_found
from fengqiao.events.models import Event
from fengqiao.events.scope import event_scope
from fengqiao.jointops.models import JointOperation, JointOperationEvent, JointOperationLog
from fengqiao.jointops.schemas import CancelIn, LinkIn, OperationIn, ResultsIn
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal

WRITER_ROLES = ("operator", "admin")
READER_ROLES = ("operator", "leader", "admin")


# The areas an operation is planned for: a town, a district, or above it a city or the province
# (their operations take units from their districts).
AREA_KINDS = ("province", "city", "district", "town")


def _area(db: Session, principal: Principal, org_id: int) -> OrgUnit:
    """A town, district, city or province in the caller's scope (403 outside it)."""
    org = db.get(OrgUnit, org_id)
    if org is None or org.kind not in AREA_KINDS:
        raise invalid("org_id", "a joint operation is planned for a province, city, district or town",
                      "联合行动须指定省、市、区（县）或镇街")  # fmt: skip
    if not principal.covers(org.path):
        raise Problem(
            403, "out-of-scope", "Outside your area", "超出管辖范围",
            "this area lies outside your scope", "该区域不在您的管辖范围内",
        )  # fmt: skip
    return org


def _check_units(db: Session, org: OrgUnit, lead: int, others: Sequence[int]) -> None:
    """Every unit exists and works in the area: a unit of the town or of one of its villages, or
    a department of its district; an operation above the town takes any unit of its subtree."""
    if lead in others or len(set(others)) != len(others):
        raise invalid("unit_ids", "a unit is named twice (or is also the lead)",
                      "参与单位重复或与牵头单位相同")  # fmt: skip
    ids = [lead, *others]
    rows = {u.id: u for u in db.scalars(select(Unit).where(Unit.id.in_(ids), Unit.active))}
    # A town's district is its parent, whatever the depth of the tree above it.
    district = db.get(OrgUnit, org.parent_id) if org.kind == "town" and org.parent_id else None
    district_path = district.path if district is not None else None
    for index, unit_id in enumerate(ids):
        field = "lead_unit_id" if index == 0 else f"unit_ids[{index - 1}]"
        unit = rows.get(unit_id)
        if unit is None:
            raise invalid(field, "unknown or inactive unit", "单位不存在或已停用")
        home = db.get(OrgUnit, unit.org_unit_id)
        if org.kind == "town" and not (
            home is not None and (home.path.startswith(org.path) or home.path == district_path)
        ):
            raise invalid(field, f"{unit.name} does not work in this town",
                          f"{unit.name}不在本镇街，只能选择本镇街单位或区级部门")  # fmt: skip
        if org.kind != "town" and (home is None or not home.path.startswith(org.path)):
            raise invalid(field, f"{unit.name} does not work in {org.name}",
                          f"{unit.name}不在{org.name}，只能选择本辖区的单位")  # fmt: skip


def _events(
    db: Session, principal: Principal, operation: JointOperation, event_ids: Sequence[int]
) -> list[Event]:
    """The events to link: each one the caller may read and of the operation's town."""
    if not event_ids:
        return []
    wanted = sorted(set(event_ids))
    query = select(Event).where(Event.id.in_(wanted), event_scope(principal))
    if operation.town_id is not None:
        query = query.where(Event.town_id == operation.town_id)
    else:  # a district's, city's or province's: the events of its districts
        districts = select(OrgUnit.id).where(
            OrgUnit.kind == "district", OrgUnit.path.startswith(operation.org_path, autoescape=True)
        )
        query = query.where(Event.district_id.in_(districts))
    found = list(db.scalars(query))
    missing = sorted(set(wanted) - {e.id for e in found})
    if missing:
        raise invalid("event_ids", f"not events of this operation's area in your scope: {missing[:5]}",
                      "关联事件不存在，或不在本次行动的区域或您的管辖范围内")  # fmt: skip
    return found


def _log(db: Session, operation: JointOperation, principal: Principal, action: str, now: datetime,
         note: str = "", **payload: Any) -> None:  # fmt: skip
    db.add(JointOperationLog(operation_id=operation.id, at=now, actor_id=principal.user_id,
                             action=action, note=note, payload=payload))  # fmt: skip


def _link(db: Session, principal: Principal, operation: JointOperation, events: Sequence[Event],
          now: datetime) -> list[int]:  # fmt: skip
    have = set(
        db.scalars(
            select(JointOperationEvent.event_id).where(
                JointOperationEvent.operation_id == operation.id
            )
        )
    )
    added = [e.id for e in events if e.id not in have]
    for event_id in added:
        db.add(JointOperationEvent(operation_id=operation.id, event_id=event_id,
                                   linked_by=principal.user_id, linked_at=now))  # fmt: skip
    return added


def _code(db: Session, year: int) -> str:
    """LH-<year>-<serial>: one more than the year's highest (zero-padded, so text order works)."""
    prefix = f"LH-{year}-"
    last = db.scalar(
        select(JointOperation.code)
        .where(JointOperation.code.startswith(prefix, autoescape=True))
        .order_by(JointOperation.code.desc())
        .limit(1)
    )
    serial = int(last.removeprefix(prefix)) if last and last.removeprefix(prefix).isdigit() else 0
    return f"{prefix}{serial + 1:04d}"


def plan_operation(
    *, db: Session, principal: Principal, data: OperationIn, now: datetime
) -> JointOperation:
    """Plan a joint operation in the caller's district or town, with the events it takes on."""
    principal.require_role(*WRITER_ROLES)
    org = _area(db, principal, data.org_id)
    _check_units(db, org, data.lead_unit_id, data.unit_ids)
    area = None
    if data.area is not None:
        ring = [list(corner) for corner in data.area]
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        area = {"type": "Polygon", "coordinates": [ring]}
    if data.lat is None and area is None and not data.place.strip():
        raise invalid("place", "say where", "请填写行动地点")
    operation = JointOperation(
        code=_code(db, now.year), name=data.name.strip(), org_id=org.id, org_path=org.path,
        town_id=org.id if org.kind == "town" else None, lead_unit_id=data.lead_unit_id,
        unit_ids=list(data.unit_ids), people=data.people, place=data.place.strip(), lat=data.lat,
        lng=data.lng, area=area, starts_at=data.starts_at, ends_at=data.ends_at,
        status="planned", results="", quantities=[], created_by=principal.user_id,
        created_at=now, version=1,
    )  # fmt: skip
    db.add(operation)
    db.flush()
    linked = _link(db, principal, operation, _events(db, principal, operation, data.event_ids), now)
    _log(db, operation, principal, "plan", now, events=linked)
    db.flush()
    return operation


def get_operation(*, db: Session, principal: Principal, operation_id: int,
                  lock: bool = False) -> JointOperation:  # fmt: skip
    """An operation of the caller's area; 404 for none or one outside it."""
    principal.require_role(*READER_ROLES)
    query = select(JointOperation).where(JointOperation.id == operation_id)
    if lock:
        query = query.with_for_update()
    operation = db.scalar(query)
    if operation is None or not principal.covers(operation.org_path):
        raise not_found("joint operation", "联合行动")
    return operation


def _open(operation: JointOperation) -> None:
    if operation.status != "planned":
        raise conflict(
            "operation-finished", "The operation is finished", "联合行动已结束",
            f"the operation is {operation.status}", "该联合行动已完成或已取消",
        )  # fmt: skip


def link_events(*, db: Session, principal: Principal, operation: JointOperation, data: LinkIn,
                now: datetime) -> JointOperation:  # fmt: skip
    """Link more events to a planned operation."""
    principal.require_role(*WRITER_ROLES)
    check_version(data.version, operation.version, what="joint operation", what_zh="联合行动")
    _open(operation)
    linked = _link(db, principal, operation, _events(db, principal, operation, data.event_ids), now)
    operation.version += 1
    _log(db, operation, principal, "link", now, events=linked)
    db.flush()
    return operation


def record_results(*, db: Session, principal: Principal, operation: JointOperation,
                   data: ResultsIn, now: datetime) -> JointOperation:  # fmt: skip
    """The operation is done: its results, quantities and the events it closed."""
    principal.require_role(*WRITER_ROLES)
    check_version(data.version, operation.version, what="joint operation", what_zh="联合行动")
    _open(operation)
    if now < operation.starts_at:
        start = operation.starts_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        raise Problem(
            409, "operation-not-started", "The operation has not started", "联合行动尚未开始",
            f"results can be recorded once the operation starts ({start})",
            f"联合行动计划于{start}开始，开始后才能登记成效",
            [FieldError("starts_at", "the operation has not started yet", "行动尚未开始，不能登记成效")],
        )  # fmt: skip
    names = [q.name for q in data.quantities]
    if len(set(names)) != len(names):
        raise invalid("quantities", "a quantity is named twice", "成效数量名称重复")
    linked = _link(db, principal, operation, _events(db, principal, operation, data.event_ids), now)
    operation.results = data.results.strip()
    operation.quantities = [q.model_dump() for q in data.quantities]
    operation.status, operation.done_at, operation.done_by = "done", now, principal.user_id
    operation.version += 1
    _log(db, operation, principal, "record", now, events=linked, quantities=operation.quantities)
    db.flush()
    return operation


def cancel_operation(*, db: Session, principal: Principal, operation: JointOperation,
                     data: CancelIn, now: datetime) -> JointOperation:  # fmt: skip
    """Call off a planned operation, with the reason."""
    principal.require_role(*WRITER_ROLES)
    check_version(data.version, operation.version, what="joint operation", what_zh="联合行动")
    _open(operation)
    operation.status = "cancelled"
    operation.version += 1
    _log(db, operation, principal, "cancel", now, note=data.reason.strip())
    db.flush()
    return operation


def list_operations(*, db: Session, principal: Principal, status: str | None, town_id: int | None,
                    offset: int, limit: int) -> tuple[list[JointOperation], int]:  # fmt: skip
    """The operations of areas in the caller's scope, latest first."""
    principal.require_role(*READER_ROLES)
    where: list[ColumnElement[bool]] = [
        JointOperation.org_path.startswith(principal.home_path, autoescape=True)
    ]
    if status:
        where.append(JointOperation.status == status)
    if town_id is not None:
        where.append(JointOperation.town_id == town_id)
    total = db.scalar(select(func.count()).select_from(JointOperation).where(*where)) or 0
    rows = db.scalars(
        select(JointOperation).where(*where)
        .order_by(JointOperation.starts_at.desc(), JointOperation.id.desc())
        .offset(offset).limit(limit)
    ).all()  # fmt: skip
    return list(rows), total


def operation_out(
    db: Session, operation: JointOperation, *, detail: bool = False
) -> dict[str, Any]:
    """The operation as the API answers it (linked events and trail on the detail)."""
    unit_ids = [operation.lead_unit_id, *operation.unit_ids]
    names = {
        r.id: r.name for r in db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))
    }
    org = db.get(OrgUnit, operation.org_id)
    events = db.execute(
        select(Event.id, Event.code, Event.title, Event.status)
        .join(JointOperationEvent, JointOperationEvent.event_id == Event.id)
        .where(JointOperationEvent.operation_id == operation.id)
        .order_by(Event.id)
    ).all()
    out: dict[str, Any] = {
        "id": operation.id, "code": operation.code, "name": operation.name,
        "org": {"id": operation.org_id, "name": org.name if org else ""},
        "town_id": operation.town_id,
        "lead_unit": {"id": operation.lead_unit_id, "name": names.get(operation.lead_unit_id, "")},
        "units": [{"id": i, "name": names.get(i, "")} for i in operation.unit_ids],
        "people": operation.people, "place": operation.place, "lat": operation.lat,
        "lng": operation.lng, "area": operation.area, "starts_at": operation.starts_at,
        "ends_at": operation.ends_at, "status": operation.status, "results": operation.results,
        "quantities": operation.quantities, "version": operation.version,
        "created_at": operation.created_at, "done_at": operation.done_at,
        "events": [dict(e._mapping) for e in events] if detail else [],
        "events_closed": sum(1 for e in events if e.status == "closed"),
    }  # fmt: skip
    if detail:
        rows = db.execute(
            select(JointOperationLog, User.name)
            .join(User, User.id == JointOperationLog.actor_id)
            .where(JointOperationLog.operation_id == operation.id)
            .order_by(JointOperationLog.id)
        ).all()
        out["trail"] = [
            {"at": r.at, "actor_id": r.actor_id, "actor": name, "action": r.action, "note": r.note}
            for r, name in rows
        ]
    return out
