"""IoT routes: the device webhook (public, authenticated by the device key), the registry for
administrators and operators, the rules, the quarantine, the counters and an event's fold."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.config import Settings
from fengqiao.deps import (
    AppClock,
    AppDatabase,
    AppSettings,
    CurrentPrincipal,
    DbSession,
)
from fengqiao.errors import (
    FieldError,
    Problem,
    invalid,
    not_found,
    problem_response,
    unauthorized,
)
from fengqiao.events.schemas import Ref
from fengqiao.events.service import get_event
from fengqiao.geo.deps import Locator
from fengqiao.iot import service
from fengqiao.iot.alarms import OUTCOME_ZH, AlarmProcessor, Outcome, Received, quarantine_one
from fengqiao.iot.models import Device, IotQuarantine, IotRule
from fengqiao.iot.rules import REASONS
from fengqiao.iot.schemas import (
    AlarmResult,
    DeviceCreated,
    DeviceIn,
    DeviceList,
    DeviceOut,
    DevicePatch,
    FoldOut,
    KeyOut,
    QuarantineList,
    QuarantineOut,
    RuleOut,
    RulePatch,
    StatsOut,
)
from fengqiao.iot.service import DeviceFields
from fengqiao.org.models import OrgUnit
from fengqiao.paging import Paging

public = APIRouter(tags=["iot"])
router = APIRouter(tags=["iot"])

# HTTP status of each refusal reason at the webhook.
REFUSAL_STATUS = {
    "too_large": 413, "flood": 429, "retired_device": 403, "unknown_device": 401,
    "bad_key": 401, "error": 500,
}  # fmt: skip


def _processor(request: Request) -> AlarmProcessor:
    """The app's alarm processor (its flood gate counts across requests), made on first use."""
    state = request.app.state
    processor: AlarmProcessor | None = getattr(state, "iot_processor", None)
    if processor is None:
        processor = state.iot_processor = AlarmProcessor(state.settings, locator=state.locator)
    return processor


def _refused(outcome: Outcome) -> JSONResponse:
    reason = outcome.reason or "error"
    title, title_zh = REASONS.get(reason, (reason, reason))
    problem = Problem(
        REFUSAL_STATUS.get(reason, 422), f"iot-{reason.replace('_', '-')}",
        title[:1].upper() + title[1:], title_zh, outcome.detail or title,
        outcome.detail_zh or title_zh,
        [FieldError("payload", outcome.detail or title, outcome.detail_zh or title_zh)],
        {"Retry-After": "1"} if reason == "flood" else None,
    )  # fmt: skip
    return problem_response(problem)


@public.post(
    "/iot/alarms",
    status_code=202,
    response_model=AlarmResult,
    summary="A device sends an alarm or a recovery (authenticated by X-Device-Key)",
    responses={
        401: {"description": "Missing or wrong device key."},
        403: {"description": "The device is retired."},
        413: {"description": "Payload too large."},
        422: {"description": "Not JSON, wrong types, no readings, or no class (quarantined)."},
        429: {"description": "More alarms a second than the device may send (quarantined)."},
    },
)
async def post_alarm(
    request: Request,
    database: AppDatabase,
    clock: AppClock,
    settings: AppSettings,
    x_device_key: Annotated[str | None, Header(description="The device's key.")] = None,
) -> Any:
    """The same payload as MQTT (docs/iot.md): `{"readings": {...}}`, `alarm: true` or
    `recovered: true`. Refused messages are quarantined with their reason and answered with
    problem+json; accepted ones say whether they filed a new event, folded into the open one,
    were normal readings, or closed events on recovery."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.iot_payload_max_bytes * 4:
        raise Problem(413, "iot-too-large", "Payload too large", "消息体过大",
                      f"at most {settings.iot_payload_max_bytes} bytes", "消息体超过上限")  # fmt: skip
    body = await request.body()
    processor = _processor(request)
    now = clock.now()
    client = request.client.host if request.client else "?"

    def work() -> Outcome | None:
        with database.transaction() as db:
            device = service.device_for_key(db, x_device_key)
            message = Received(
                "http", f"http/{device.code if device else '?'}", body, now,
                device.code if device else None, "alarm",
            )  # fmt: skip
            if device is None:
                # Counted, but a client spraying wrong keys cannot fill the table: the flood
                # gate, keyed by the client's address, lets only so many rows through.
                if processor.flood.allow(f"bad_key:{client}", now.timestamp()):
                    quarantine_one(
                        db, message, reason="bad_key",
                        detail=f"missing or wrong X-Device-Key from {client}",
                        detail_zh="缺少或错误的设备密钥",
                    )  # fmt: skip
                return None
            return processor.process(db, [message], now=now)[0]

    outcome = await database.run_write(work)
    if outcome is None:
        raise unauthorized(
            "send the device's key in the X-Device-Key header", "请在 X-Device-Key 头中提供设备密钥"
        )
    if outcome.status == "quarantined":
        return _refused(outcome)
    return AlarmResult(
        result=outcome.status, result_name=OUTCOME_ZH.get(outcome.status, outcome.status),
        event_id=outcome.event_id, event_code=outcome.event_code,
        alarm_count=outcome.alarm_count, rule=outcome.rule, closed=outcome.closed,
    )  # fmt: skip


# --- the registry -------------------------------------------------------------------------


def device_outs(db: Session, devices: list[Device], settings: Settings) -> list[DeviceOut]:
    grid_ids = {d.grid_id for d in devices}
    grids = {
        row.id: row
        for row in db.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(grid_ids))
        )
    }
    reporter_ids = {d.reporter_id for d in devices}
    reporters = {
        row.id: row.username
        for row in db.execute(select(User.id, User.username).where(User.id.in_(reporter_ids)))
    }
    prefix = settings.mqtt_topic_prefix.rstrip("/")
    return [
        DeviceOut(
            id=d.id, code=d.code, name=d.name, device_type=d.device_type,
            device_type_name=service.DEVICE_TYPES_ZH.get(d.device_type, d.device_type),
            lng=d.lng, lat=d.lat, address=d.address,
            grid=Ref(id=d.grid_id, code=grids[d.grid_id].code, name=grids[d.grid_id].name),
            category_code=d.category_code, unit_id=d.unit_id,
            reporter=reporters.get(d.reporter_id, ""), status=d.status, key_prefix=d.key_prefix,
            topic=f"{prefix}/{d.code}/alarm", created_at=d.created_at, updated_at=d.updated_at,
            last_seen_at=d.last_seen_at,
        )
        for d in devices
    ]  # fmt: skip


def _fields(data: DeviceIn | DevicePatch) -> DeviceFields:
    sent = data.model_fields_set
    return DeviceFields(
        name=data.name, device_type=data.device_type, lng=data.lng, lat=data.lat, crs=data.crs,
        address=data.address, category=data.category, unit_id=data.unit_id,
        reporter=data.reporter,
        clear=frozenset(n for n in ("category", "unit_id") if n in sent and getattr(data, n) is None),
    )  # fmt: skip


@router.get("/iot/devices", response_model=DeviceList, summary="List IoT devices in your area")
def list_devices(
    principal: CurrentPrincipal,
    db: DbSession,
    settings: AppSettings,
    paging: Paging,
    device_type: Annotated[str | None, Query(description="e.g. water_quality.")] = None,
    status: Annotated[Literal["active", "retired"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=64, description="Part of code or name.")] = None,
) -> DeviceList:
    """Administrators, operators and leaders; by code."""
    rows, total = service.list_devices(
        db=db, principal=principal, filters=service.DeviceFilters(device_type, status, q),
        offset=paging.offset, limit=paging.size,
    )  # fmt: skip
    return DeviceList(
        items=device_outs(db, rows, settings), total=total, page=paging.page, size=paging.size
    )


@router.post(
    "/iot/devices",
    status_code=201,
    response_model=DeviceCreated,
    summary="Register a device (its key is in the answer, once)",
)
async def create_device(
    data: DeviceIn,
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
    locator: Locator,
) -> DeviceCreated:
    """Administrators anywhere, operators in their area. The point resolves to its grid; the
    device appears on the map's iot_device layer."""
    now = clock.now()

    def work() -> DeviceCreated:
        with database.transaction() as db:
            device, key = service.register_device(
                db=db, locator=locator, principal=principal, code=data.code,
                fields=_fields(data), default_reporter=settings.iot_reporter, now=now,
            )  # fmt: skip
            out = device_outs(db, [device], settings)[0]
        return DeviceCreated(**out.model_dump(), key=key)

    result: DeviceCreated = await database.run_write(work)
    return result


@router.get("/iot/devices/{device_id}", response_model=DeviceOut, summary="One device")
def read_device(
    device_id: int, principal: CurrentPrincipal, db: DbSession, settings: AppSettings
) -> DeviceOut:
    device = service.get_device(db=db, principal=principal, device_id=device_id)
    return device_outs(db, [device], settings)[0]


@router.patch("/iot/devices/{device_id}", response_model=DeviceOut, summary="Edit a device")
async def edit_device(
    device_id: int,
    data: DevicePatch,
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
    locator: Locator,
) -> DeviceOut:
    """Moving a device re-resolves its grid and moves its map point."""
    now = clock.now()

    def work() -> DeviceOut:
        with database.transaction() as db:
            device = service.update_device(
                db=db, locator=locator, principal=principal, device_id=device_id,
                fields=_fields(data), now=now,
            )  # fmt: skip
            return device_outs(db, [device], settings)[0]

    result: DeviceOut = await database.run_write(work)
    return result


@router.post(
    "/iot/devices/{device_id}/rotate-key",
    response_model=KeyOut,
    summary="Give a device a new key (the old one stops working)",
)
async def rotate_device_key(
    device_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> KeyOut:
    now = clock.now()

    def work() -> KeyOut:
        with database.transaction() as db:
            key = service.rotate_key(db=db, principal=principal, device_id=device_id, now=now)
        return KeyOut(device_id=device_id, key=key)

    result: KeyOut = await database.run_write(work)
    return result


@router.post(
    "/iot/devices/{device_id}/retire",
    response_model=DeviceOut,
    summary="Retire a device (its messages are quarantined from now on)",
)
async def retire_device(
    device_id: int,
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
) -> DeviceOut:
    now = clock.now()

    def work() -> DeviceOut:
        with database.transaction() as db:
            device = service.retire_device(db=db, principal=principal, device_id=device_id, now=now)
            return device_outs(db, [device], settings)[0]

    result: DeviceOut = await database.run_write(work)
    return result


@router.post(
    "/iot/devices/{device_id}/reactivate",
    response_model=DeviceCreated,
    summary="Bring a retired device back under its code, with a new key",
)
async def reactivate_device(
    device_id: int,
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
) -> DeviceCreated:
    """Administrators, operators in their area; 409 when the device is not retired. The key is
    new (shown this once); the one it had before retirement stays refused."""
    now = clock.now()

    def work() -> DeviceCreated:
        with database.transaction() as db:
            device, key = service.reactivate_device(
                db=db, principal=principal, device_id=device_id, now=now
            )
            out = device_outs(db, [device], settings)[0]
        return DeviceCreated(**out.model_dump(), key=key)

    result: DeviceCreated = await database.run_write(work)
    return result


# --- rules, quarantine, counters ----------------------------------------------------------


def _rule_out(rule: IotRule) -> RuleOut:
    condition = service._rule(rule).describe()
    return RuleOut(
        id=rule.id, position=rule.position, device_type=rule.device_type, reading=rule.reading,
        op=rule.op, threshold=rule.threshold, threshold_high=rule.threshold_high,
        category=rule.category_code, auto_close=rule.auto_close, name_zh=rule.name_zh,
        active=rule.active, condition=condition,
    )  # fmt: skip


@router.get("/iot/rules", response_model=list[RuleOut], summary="The rules: readings → classes")
def list_rules(principal: CurrentPrincipal, db: DbSession) -> list[RuleOut]:
    """In the order they are tried; the first that fires for a device's type wins."""
    principal.require_role("admin", "operator", "leader")
    return [
        _rule_out(r) for r in db.scalars(select(IotRule).order_by(IotRule.position, IotRule.id))
    ]


@router.patch("/iot/rules/{rule_id}", response_model=RuleOut, summary="Edit a rule's threshold")
async def edit_rule(
    rule_id: int, data: RulePatch, principal: CurrentPrincipal, database: AppDatabase
) -> RuleOut:
    """Administrators: threshold, range, class, auto-close, active. Applies to the next batch."""
    changes = data.model_dump(exclude_unset=True)
    for name in ("op", "category", "auto_close", "active", "name_zh"):
        if name in changes and changes[name] is None:
            raise invalid(name, "cannot be null", "不能为空")

    def work() -> RuleOut:
        with database.transaction() as db:
            rule = service.update_rule(db=db, principal=principal, rule_id=rule_id, changes=changes)
            return _rule_out(rule)

    result: RuleOut = await database.run_write(work)
    return result


def _quarantine_out(row: IotQuarantine) -> QuarantineOut:
    title, title_zh = REASONS.get(row.reason, (row.reason, row.reason))
    return QuarantineOut(
        id=row.id, at=row.at, channel=row.channel, topic=row.topic, device_code=row.device_code,
        payload=row.payload, reason=row.reason, reason_title=title, reason_title_zh=title_zh,
        detail=row.detail, detail_zh=row.detail_zh, count=row.count,
    )  # fmt: skip


@router.get(
    "/iot/quarantine", response_model=QuarantineList, summary="Refused messages, newest first"
)
def list_quarantine(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    reason: Annotated[str | None, Query(description=f"One of {', '.join(REASONS)}.")] = None,
    device: Annotated[str | None, Query(max_length=64, description="Device code.")] = None,
) -> QuarantineList:
    if reason is not None and reason not in REASONS:
        raise invalid("reason", f"use one of {', '.join(REASONS)}", "未知的隔离原因")
    rows, total = service.list_quarantine(
        db=db, principal=principal, filters=service.QuarantineFilters(reason, device),
        offset=paging.offset, limit=paging.size,
    )  # fmt: skip
    return QuarantineList(
        items=[_quarantine_out(r) for r in rows], total=total, page=paging.page, size=paging.size
    )


@router.get("/iot/stats", response_model=StatsOut, summary="Alarms by outcome, refusals by reason")
def iot_stats(principal: CurrentPrincipal, db: DbSession) -> StatsOut:
    """Within the caller's area: a device's alarms and refusals count where the device is;
    refusals that name no registered device count for the district's staff only."""
    principal.require_role("admin", "operator", "leader")
    return StatsOut(**service.stats(db, principal=principal))


@router.get(
    "/iot/events/{event_id}", response_model=FoldOut, summary="An IoT event's device and counter"
)
def event_fold(
    event_id: int, request: Request, principal: CurrentPrincipal, db: DbSession
) -> FoldOut:
    """How many alarms the event absorbed, the first and last, the last readings (404 for events
    that did not come from a device)."""
    get_event(db=db, principal=principal, event_id=event_id)
    fold = service.fold_of(db, event_id)
    if fold is None:
        raise not_found("IoT event", "物联感知事件")
    device = db.get(Device, fold.device_id)
    assert device is not None
    return FoldOut(
        event_id=fold.event_id, device=Ref(id=device.id, code=device.code, name=device.name),
        category_code=fold.category_code, rule_id=fold.rule_id, auto_close=fold.auto_close,
        alarm_count=fold.alarm_count, first_at=fold.first_at, last_at=fold.last_at,
        last_readings=fold.last_readings, status=fold.status, recovered_at=fold.recovered_at,
    )  # fmt: skip
