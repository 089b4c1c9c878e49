"""The device registry, the rules table, and what happens to each alarm: refused into the
quarantine, recorded in the inbox, filed as a new IoT event, folded into the open one, or closing
it on recovery.

`AlarmProcessor.process` takes a batch of received messages inside the caller's transaction;
the MQTT subscriber and the HTTP webhook both call it, so both channels behave the same. Folding
is one counter update per event per batch (Core executemany), not a trail row per alarm: the
trail gets a row for the first repeat and every `iot_trail_every` alarms after it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.auth.scope import Principal, in_scope
from fengqiao.auth.service import load_principal
from fengqiao.config import Settings
from fengqiao.errors import Problem, forbidden, invalid, not_found
from fengqiao.events.models import Event
from fengqiao.events.rules import RulesCache
from fengqiao.events.schemas import EventCreate
from fengqiao.events.service import append_log, buffered_trail, create_event, recover_event
from fengqiao.events.workflow import OPEN
from fengqiao.geo.models import LayerFeature
from fengqiao.geo.service import GridLocator
from fengqiao.iot.models import Device, IotFold, IotInbox, IotQuarantine, IotRule
from fengqiao.iot.rules import (
    REASONS,
    Alarm,
    FloodGate,
    Refusal,
    Rule,
    Verdict,
    check_rule,
    evaluate,
    parse_payload,
)
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.taxonomy.models import Category

DEVICE_KEY_PREFIX = "fqd_"
DEVICE_TYPES_ZH = {
    "water_quality": "水质传感器",
    "smoke_detector": "烟感探测器",
    "fire_alarm": "火灾报警器",
    "gas_detector": "可燃气体探测器",
    "manhole_cover": "智能井盖",
}
OUTCOME_ZH = {
    "filed": "新立事件", "folded": "并入已有事件", "normal": "读数正常", "recovered": "恢复并结案",
    "recovery": "恢复(未自动结案)", "quarantined": "已隔离", "duplicate": "重复投递,已忽略",
}  # fmt: skip
PAYLOAD_KEEP = 2000  # characters of a refused payload kept in the quarantine


# --- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceKey:
    """A freshly made device key: `key` is shown once; only `prefix` and `key_hash` are kept."""

    key: str
    prefix: str
    key_hash: str


def new_device_key() -> DeviceKey:
    prefix = secrets.token_hex(6)
    key = f"{DEVICE_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return DeviceKey(key=key, prefix=prefix, key_hash=hash_device_key(key))


def hash_device_key(key: str) -> str:
    # 256 random bits: a fast hash is enough (the pattern of auth.security.hash_api_key).
    return hashlib.sha256(key.encode()).hexdigest()


def device_for_key(db: Session, key: str | None) -> Device | None:
    """The device whose key this is (retired ones too: the caller tells them apart), or None."""
    if not key or not key.startswith(DEVICE_KEY_PREFIX):
        return None
    prefix, sep, _ = key[len(DEVICE_KEY_PREFIX) :].partition("_")
    if not sep:
        return None
    device = db.scalar(select(Device).where(Device.key_prefix == prefix))
    if device is None or not hmac.compare_digest(hash_device_key(key), device.key_hash):
        return None
    return device


# --- the registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceFields:
    """What a registration or an edit sets (None: leave as is / the default)."""

    name: str | None = None
    device_type: str | None = None
    lng: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str | None = None
    category: str | None = None
    unit_id: int | None = None
    reporter: str | None = None
    clear: frozenset[str] = frozenset()  # optional fields set to null on purpose


def _grid_path(db: Session, grid_id: int) -> str:
    return db.scalar(select(OrgUnit.path).where(OrgUnit.id == grid_id)) or ""


def _check_manager(db: Session, principal: Principal, grid_id: int) -> None:
    principal.require_role("admin", "operator")
    if not principal.covers(_grid_path(db, grid_id)):
        raise forbidden(
            "the device lies outside your area", "设备位置不在您的辖区内,请由属地人员登记"
        )


def _reporter_id(db: Session, username: str) -> int:
    row = db.execute(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.username == username, UserRole.role == "device", User.is_active.is_(True))
    ).first()
    if row is None:
        raise invalid(
            "reporter",
            f"no active device-role account {username!r}; create one "
            f"(fengqiao users create {username} --role device ...) or name another",
            f"不存在启用的设备账号 {username},请先创建设备角色账号或指定其他账号",
        )
    return int(row.id)


def _check_refs(db: Session, fields: DeviceFields) -> None:
    if fields.category is not None and db.get(Category, fields.category) is None:
        raise invalid("category", f"unknown class {fields.category!r}", "事件分类不存在")
    if fields.unit_id is not None and db.get(Unit, fields.unit_id) is None:
        raise invalid("unit_id", "unknown unit", "责任单位不存在")


def _feature_props(device: Device) -> dict[str, Any]:
    return {
        "device_type": device.device_type,
        "label_zh": DEVICE_TYPES_ZH.get(device.device_type, device.device_type),
        "status": "online" if device.status == "active" else "retired",
        "device_id": device.id,
    }


def _sync_feature(db: Session, device: Device) -> None:
    """Keep the device's point on the one-map's iot_device layer in step with the registry."""
    feature = db.get(LayerFeature, device.feature_id) if device.feature_id else None
    if feature is None:
        feature = db.scalar(select(LayerFeature).where(LayerFeature.code == device.code))
    if feature is None:
        feature = LayerFeature(kind="iot_device", code=device.code)
        db.add(feature)
    feature.kind = "iot_device"
    feature.name, feature.lng, feature.lat = device.name, device.lng, device.lat
    feature.grid_id = device.grid_id
    feature.props = _feature_props(device)
    db.flush()
    device.feature_id = feature.id


def register_device(
    *,
    db: Session,
    locator: GridLocator,
    principal: Principal,
    code: str,
    fields: DeviceFields,
    default_reporter: str,
    now: datetime,
) -> tuple[Device, str]:
    """Register a device; returns it and its key (shown once, only its hash is stored)."""
    if db.scalar(select(Device.id).where(Device.code == code)) is not None:
        raise Problem(
            409, "device-exists", "Device code taken", "设备编码已存在",
            f"a device {code} is registered already", f"设备 {code} 已登记",
        )  # fmt: skip
    if fields.name is None or fields.device_type is None:
        raise invalid("name", "name and device_type are required", "请填写设备名称和类型")
    if fields.lng is None or fields.lat is None:
        raise invalid("lat", "lng and lat are required", "请填写设备经纬度")
    _check_refs(db, fields)
    locator.refresh(db)
    place = locator.locate(fields.lng, fields.lat, fields.crs)
    _check_manager(db, principal, place.grid_id)
    key = new_device_key()
    device = Device(
        code=code, name=fields.name, device_type=fields.device_type, lng=place.lng,
        lat=place.lat, address=fields.address or "", grid_id=place.grid_id,
        category_code=fields.category, unit_id=fields.unit_id,
        reporter_id=_reporter_id(db, fields.reporter or default_reporter),
        key_prefix=key.prefix, key_hash=key.key_hash, status="active", created_at=now,
        updated_at=now,
    )  # fmt: skip
    db.add(device)
    db.flush()
    _sync_feature(db, device)
    db.flush()
    return device, key.key


def get_device(*, db: Session, principal: Principal, device_id: int) -> Device:
    """A device in the caller's area (404 otherwise)."""
    principal.require_role("admin", "operator", "leader")
    device = db.get(Device, device_id)
    if device is None or not principal.covers(_grid_path(db, device.grid_id)):
        raise not_found("device", "设备")
    return device


def update_device(
    *,
    db: Session,
    locator: GridLocator,
    principal: Principal,
    device_id: int,
    fields: DeviceFields,
    now: datetime,
) -> Device:
    """Edit a device; moving it re-resolves its grid. Its map point follows."""
    device = get_device(db=db, principal=principal, device_id=device_id)
    _check_manager(db, principal, device.grid_id)
    _check_refs(db, fields)
    if fields.lng is not None or fields.lat is not None:
        locator.refresh(db)
        place = locator.locate(
            fields.lng if fields.lng is not None else device.lng,
            fields.lat if fields.lat is not None else device.lat,
            fields.crs,
        )
        _check_manager(db, principal, place.grid_id)
        device.lng, device.lat, device.grid_id = place.lng, place.lat, place.grid_id
    for name in ("name", "device_type", "address"):
        value = getattr(fields, name)
        if value is not None:
            setattr(device, name, value)
    if fields.category is not None or "category" in fields.clear:
        device.category_code = fields.category
    if fields.unit_id is not None or "unit_id" in fields.clear:
        device.unit_id = fields.unit_id
    if fields.reporter is not None:
        device.reporter_id = _reporter_id(db, fields.reporter)
    device.updated_at = now
    _sync_feature(db, device)
    db.flush()
    return device


def rotate_key(*, db: Session, principal: Principal, device_id: int, now: datetime) -> str:
    """A new key for the device; the old one stops working at once."""
    device = get_device(db=db, principal=principal, device_id=device_id)
    _check_manager(db, principal, device.grid_id)
    key = new_device_key()
    device.key_prefix, device.key_hash, device.updated_at = key.prefix, key.key_hash, now
    db.flush()
    return key.key


def retire_device(*, db: Session, principal: Principal, device_id: int, now: datetime) -> Device:
    """Retire a device: its messages are quarantined as `retired_device`, its map point greys."""
    device = get_device(db=db, principal=principal, device_id=device_id)
    _check_manager(db, principal, device.grid_id)
    device.status, device.updated_at = "retired", now
    _sync_feature(db, device)
    db.flush()
    return device


@dataclass(frozen=True)
class DeviceFilters:
    device_type: str | None = None
    status: str | None = None
    q: str | None = None


def list_devices(
    *, db: Session, principal: Principal, filters: DeviceFilters, offset: int, limit: int
) -> tuple[list[Device], int]:
    """Devices in the caller's area, by code, and how many match."""
    principal.require_role("admin", "operator", "leader")
    query = (
        select(Device)
        .join(OrgUnit, OrgUnit.id == Device.grid_id)
        .where(in_scope(principal, OrgUnit.path))
    )
    if filters.device_type:
        query = query.where(Device.device_type == filters.device_type)
    if filters.status:
        query = query.where(Device.status == filters.status)
    if filters.q:
        pattern = f"%{filters.q}%"
        query = query.where(Device.code.like(pattern) | Device.name.like(pattern))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(db.scalars(query.order_by(Device.code).offset(offset).limit(limit)))
    return rows, total


# --- the rules table ----------------------------------------------------------------------


def load_rules(db: Session, *, active_only: bool = True) -> list[Rule]:
    query = select(IotRule).order_by(IotRule.position, IotRule.id)
    if active_only:
        query = query.where(IotRule.active.is_(True))
    return [_rule(r) for r in db.scalars(query)]


def _rule(r: IotRule) -> Rule:
    return Rule(
        id=r.id, position=r.position, device_type=r.device_type, reading=r.reading, op=r.op,
        threshold=r.threshold, threshold_high=r.threshold_high, category_code=r.category_code,
        auto_close=r.auto_close, name_zh=r.name_zh,
    )  # fmt: skip


def _rule_problem(errors: list[tuple[str, str, str]], index: int | None = None) -> Problem:
    where = "" if index is None else f"rules[{index}]."
    field_name, reason, reason_zh = errors[0]
    return invalid(where + field_name, reason, reason_zh)


def import_rules(*, db: Session, rules: Sequence[dict[str, Any]]) -> int:
    """Replace the rules table with `rules` (the shape of rules.json); all or nothing."""
    categories = set(db.scalars(select(Category.code)))
    rows = []
    for index, data in enumerate(rules):
        errors = check_rule(data)
        if data.get("category") not in categories:
            errors.append(("category", f"unknown class {data.get('category')!r}", "事件分类不存在"))
        for name in ("device_type", "reading", "name_zh"):
            if not isinstance(data.get(name), str) or not data[name]:
                errors.append((name, f"{name} is required", f"缺少 {name}"))
        if errors:
            raise _rule_problem(errors, index)
        rows.append(
            {
                "position": int(data.get("position", (index + 1) * 10)),
                "device_type": data["device_type"],
                "reading": data["reading"],
                "op": data["op"],
                "threshold": data.get("threshold"),
                "threshold_high": data.get("threshold_high"),
                "category_code": data["category"],
                "auto_close": bool(data.get("auto_close", False)),
                "name_zh": data["name_zh"],
                "active": bool(data.get("active", True)),
            }
        )
    db.execute(delete(IotRule))
    if rows:
        db.execute(insert(IotRule), rows)
    db.flush()
    return len(rows)


def update_rule(
    *, db: Session, principal: Principal, rule_id: int, changes: dict[str, Any]
) -> IotRule:
    """Edit one rule's threshold, class, auto-close or active flag (administrators)."""
    principal.require_role("admin")
    rule = db.get(IotRule, rule_id)
    if rule is None:
        raise not_found("rule", "规则")
    merged = {
        "op": rule.op, "threshold": rule.threshold, "threshold_high": rule.threshold_high,
        "category": rule.category_code,
    }  # fmt: skip
    merged.update(changes)
    errors = check_rule(merged)
    if "category" in changes and db.get(Category, changes["category"]) is None:
        errors.append(("category", f"unknown class {changes['category']!r}", "事件分类不存在"))
    if errors:
        raise _rule_problem(errors)
    for name, value in changes.items():
        setattr(rule, "category_code" if name == "category" else name, value)
    db.flush()
    return rule


# --- alarms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message as it arrived: from MQTT (topic names the device and the kind) or HTTP."""

    channel: str  # mqtt / http
    topic: str
    payload: bytes
    received_at: datetime
    device_code: str | None
    kind: str | None  # alarm / recovery; None: the topic did not say (refused as bad_topic)
    redelivered: bool = False  # MQTT's dup flag: it may have been handled before


@dataclass
class Outcome:
    """What became of one message."""

    status: str  # filed / folded / normal / recovered / recovery / duplicate / quarantined
    reason: str | None = None
    detail: str = ""
    detail_zh: str = ""
    event_id: int | None = None
    event_code: str | None = None
    alarm_count: int | None = None
    rule: dict[str, Any] | None = None
    closed: list[int] = field(default_factory=list)


@dataclass
class _Fold:
    event_id: int
    event_code: str
    category_code: str
    rule_id: int | None
    auto_close: bool
    count_before: int  # as stored when the batch began (0 for a fold filed in this batch)
    count: int
    last_at: datetime
    readings: dict[str, Any] | None


@dataclass(frozen=True)
class _DeviceRow:
    id: int
    code: str
    name: str
    device_type: str
    lng: float
    lat: float
    address: str
    category_code: str | None
    unit_id: int | None
    reporter_id: int
    status: str


class _Statements:
    def __init__(self) -> None:
        inbox, fold = cast(Table, IotInbox.__table__), cast(Table, IotFold.__table__)
        events = cast(Table, Event.__table__)
        devices, quarantine = cast(Table, Device.__table__), cast(Table, IotQuarantine.__table__)
        self.insert_inbox = insert(inbox)
        self.insert_quarantine = insert(quarantine)
        self.insert_fold = insert(fold)
        self.add_alarms = (
            update(fold)
            .where(fold.c.event_id == bindparam("fold_event"))
            .values(
                alarm_count=fold.c.alarm_count + bindparam("added"),
                last_at=bindparam("last"),
                last_readings=bindparam("readings"),
            )
        )
        self.end_fold = (
            update(fold)
            .where(fold.c.event_id == bindparam("fold_event"))
            .values(status=bindparam("new_status"), recovered_at=bindparam("recovered"))
        )
        self.known_message = (
            select(inbox.c.id)
            .where(
                inbox.c.device_id == bindparam("device"), inbox.c.message_id == bindparam("message")
            )
            .limit(1)
        )
        self.trail_head = (
            update(events)
            .where(events.c.id == bindparam("head_event"))
            .values(trail_seq=bindparam("seq"), trail_hash=bindparam("digest"))
        )
        self.seen = (
            update(devices)
            .where(devices.c.id == bindparam("device"))
            .values(last_seen_at=bindparam("seen"))
        )
        self.devices = select(
            devices.c.id, devices.c.code, devices.c.name, devices.c.device_type, devices.c.lng,
            devices.c.lat, devices.c.address, devices.c.category_code, devices.c.unit_id,
            devices.c.reporter_id, devices.c.status,
        ).where(devices.c.code.in_(bindparam("codes", expanding=True)))  # fmt: skip
        self.open_folds = (
            select(
                fold.c.event_id, fold.c.device_id, fold.c.category_code, fold.c.rule_id,
                fold.c.auto_close, fold.c.alarm_count, fold.c.last_at, events.c.status,
                events.c.code,
            )
            .join(events, events.c.id == fold.c.event_id)
            .where(fold.c.status == "open", fold.c.device_id.in_(bindparam("ids", expanding=True)))
        )  # fmt: skip


STATEMENTS = _Statements()


def refusal_text(reason: str) -> tuple[str, str]:
    return REASONS.get(reason, (reason, reason))


class AlarmProcessor:
    """Turns batches of received messages into quarantine rows, inbox rows, new events, folds and
    recoveries. One per process (it holds the flood gate and the caches)."""

    def __init__(self, settings: Settings, *, locator: GridLocator | None = None) -> None:
        self.settings = settings
        self.locator = locator or GridLocator(settings.grid_index_check_seconds)
        self.event_rules = RulesCache(settings.rules_check_seconds)
        self.flood = FloodGate(settings.iot_flood_per_second, settings.iot_flood_burst)

    def process(self, db: Session, batch: Sequence[Received], *, now: datetime) -> list[Outcome]:
        """Handle `batch` in the caller's transaction; one outcome per message, in order."""
        self._principals: dict[int, Principal] = {}  # per batch: a disabled account is seen
        outcomes: list[Outcome | None] = [None] * len(batch)
        parsed: list[Alarm | None] = [None] * len(batch)
        quarantine: list[dict[str, Any]] = []
        floods: dict[str, dict[str, Any]] = {}
        max_bytes = self.settings.iot_payload_max_bytes

        def refuse(i: int, refusal: Refusal) -> None:
            message = batch[i]
            outcomes[i] = Outcome("quarantined", refusal.reason, refusal.detail, refusal.detail_zh)
            if refusal.reason == "flood" and message.device_code:
                row = floods.get(message.device_code)
                if row is not None:
                    row["count"] += 1
                    return
            row = {
                "at": message.received_at, "channel": message.channel,
                "topic": message.topic[:255], "device_code": (message.device_code or "")[:64] or None,
                "payload": message.payload[:PAYLOAD_KEEP].decode("utf-8", "replace"),
                "reason": refusal.reason, "detail": refusal.detail[:400],
                "detail_zh": refusal.detail_zh[:400], "count": 1,
            }  # fmt: skip
            quarantine.append(row)
            if refusal.reason == "flood" and message.device_code:
                floods[message.device_code] = row

        codes = set()
        for i, message in enumerate(batch):
            if message.device_code is None or message.kind is None:
                refuse(i, Refusal("bad_topic", f"topic {message.topic[:120]!r} is not "
                       f"{self.settings.mqtt_topic_prefix}/{{device}}/alarm|recovery",
                       f"主题 {message.topic[:120]} 格式不正确"))  # fmt: skip
                continue
            # The gate comes first: a device spraying garbage is one flood row per batch, not
            # a quarantine row per message.
            if not self.flood.allow(message.device_code, message.received_at.timestamp()):
                code = message.device_code
                refuse(i, Refusal(
                    "flood",
                    f"more than {self.settings.iot_flood_per_second:g} messages a second "
                    f"(bursts of {self.settings.iot_flood_burst:g}) from {code}",
                    f"设备 {code} 每秒消息超过 {self.settings.iot_flood_per_second:g} 条",
                ))  # fmt: skip
                continue
            result = parse_payload(
                message.payload, max_bytes=max_bytes, recovery=message.kind == "recovery"
            )
            if isinstance(result, Refusal):
                refuse(i, result)
                continue
            parsed[i] = result
            codes.add(message.device_code)
        connection = db.connection()
        devices = {
            row.code: _DeviceRow(*row)
            for row in (
                connection.execute(STATEMENTS.devices, {"codes": sorted(codes)}) if codes else []
            )
        }
        rules = load_rules(db) if codes else []
        folds: dict[tuple[int, str], _Fold] = {}
        ended: list[dict[str, Any]] = []
        if devices:
            for row in connection.execute(
                STATEMENTS.open_folds, {"ids": sorted(d.id for d in devices.values())}
            ):
                if row.status not in OPEN:  # a person finished the event: the next alarm files anew
                    ended.append({"fold_event": row.event_id, "new_status": "ended",
                                  "recovered": None})  # fmt: skip
                    continue
                folds[(row.device_id, row.category_code)] = _Fold(
                    row.event_id, row.code, row.category_code, row.rule_id, row.auto_close,
                    row.alarm_count, row.alarm_count, row.last_at, None,
                )  # fmt: skip
        if ended:
            connection.execute(STATEMENTS.end_fold, ended)
        inbox: list[dict[str, Any]] = []
        seen: dict[int, datetime] = {}
        batch_ids: set[tuple[int, str]] = set()
        for i, message in enumerate(batch):
            alarm = parsed[i]
            if alarm is None:
                continue
            device = devices.get(message.device_code or "")
            if device is None:
                refuse(i, Refusal("unknown_device", f"no device {message.device_code!r} is "
                       "registered", f"设备 {message.device_code} 未登记"))  # fmt: skip
                continue
            if device.status != "active":
                refuse(i, Refusal("retired_device", f"device {device.code} is retired",
                                  f"设备 {device.code} 已停用"))  # fmt: skip
                continue
            seen[device.id] = message.received_at
            if alarm.message_id is not None:
                key = (device.id, alarm.message_id)
                if key in batch_ids or (
                    (message.redelivered or message.channel == "http")
                    and connection.execute(
                        STATEMENTS.known_message,
                        {"device": device.id, "message": alarm.message_id},
                    ).first()
                ):
                    outcomes[i] = Outcome("duplicate")  # handled before: not counted again
                    continue
                batch_ids.add(key)
            if alarm.recovered:
                outcome = self._recover(db, device, folds, alarm, now)
                kind = "recovery"
            else:
                verdict = evaluate(
                    rules, device_type=device.device_type, alarm=alarm,
                    device_category=device.category_code,
                )  # fmt: skip
                if verdict.refusal is not None:
                    refuse(i, verdict.refusal)
                    continue
                if verdict.category_code is None:
                    outcome = Outcome("normal")
                else:
                    outcome = self._alarm(db, device, folds, verdict, alarm, message, now)
                    if outcome.status == "quarantined":
                        refuse(i, Refusal(outcome.reason or "error", outcome.detail,
                                          outcome.detail_zh))  # fmt: skip
                        continue
                kind = "alarm"
            outcomes[i] = outcome
            inbox.append({
                "received_at": message.received_at, "channel": message.channel,
                "topic": message.topic[:255], "device_id": device.id, "kind": kind,
                "message_id": alarm.message_id,
                "payload": message.payload.decode("utf-8", "replace"),
                "outcome": outcome.status, "rule_id": (outcome.rule or {}).get("id"),
                "event_id": outcome.event_id,
            })  # fmt: skip
        self._write_folds(db, folds, now)
        if inbox:
            connection.execute(STATEMENTS.insert_inbox, inbox)
        if quarantine:
            connection.execute(STATEMENTS.insert_quarantine, quarantine)
        if seen:
            connection.execute(
                STATEMENTS.seen, [{"device": d, "seen": at} for d, at in seen.items()]
            )
        db.flush()
        return [o if o is not None else Outcome("quarantined", "error") for o in outcomes]

    def _alarm(
        self,
        db: Session,
        device: _DeviceRow,
        folds: dict[tuple[int, str], _Fold],
        verdict: Verdict,
        alarm: Alarm,
        message: Received,
        now: datetime,
    ) -> Outcome:
        assert verdict.category_code is not None
        rule = verdict.rule.as_payload() if verdict.rule else None
        key = (device.id, verdict.category_code)
        fold = folds.get(key)
        if fold is None:
            filed = self._file(db, device, verdict, alarm, now)
            if isinstance(filed, Outcome):
                return filed
            fold = folds[key] = filed
            status = "folded" if filed.count_before else "filed"  # another process filed it
            return Outcome(status, event_id=fold.event_id, event_code=fold.event_code,
                           alarm_count=fold.count, rule=rule)  # fmt: skip
        fold.count += 1
        fold.last_at = max(fold.last_at, message.received_at)
        fold.readings = alarm.readings
        return Outcome("folded", event_id=fold.event_id, event_code=fold.event_code,
                       alarm_count=fold.count, rule=rule)  # fmt: skip

    def _file(
        self, db: Session, device: _DeviceRow, verdict: Verdict, alarm: Alarm, now: datetime
    ) -> _Fold | Outcome:
        """File a new IoT event for the device and class, with the rule on its trail."""
        assert verdict.category_code is not None
        rule = verdict.rule
        principal = self._principals.get(device.reporter_id)
        if principal is None:
            principal = load_principal(db=db, user_id=device.reporter_id)
            if principal is not None:
                self._principals[device.reporter_id] = principal
        if principal is None:
            return _filing_refused(f"the reporter account of {device.code} is disabled",
                                   f"设备 {device.code} 的上报账号已停用")  # fmt: skip
        if self.locator.needs_check():
            self.locator.refresh(db)
        what = rule.name_zh if rule else "设备告警"
        readings = "、".join(f"{k}={_reading_text(v)}" for k, v in alarm.readings.items())
        try:
            place = self.locator.locate(device.lng, device.lat)
            data = EventCreate(
                source="iot",
                category=verdict.category_code,
                title=f"{what}:{device.name}"[:200],
                description=(
                    f"物联设备 {device.name}({device.code})告警:{what}"
                    + (f"({rule.describe()})" if rule else "")
                    + (f"。读数:{readings}" if readings else "")
                )[:4000],
                lat=place.lat,
                lng=place.lng,
                address=(device.address or device.name)[:200],
            )
            with db.begin_nested():
                event, _ = create_event(
                    db=db, rules=self.event_rules.get(db), place=place, principal=principal,
                    data=data, now=now, duplicate_radius_m=0,
                )  # fmt: skip
                db.connection().execute(
                    STATEMENTS.insert_fold,
                    {
                        "event_id": event.id, "device_id": device.id,
                        "category_code": verdict.category_code,
                        "rule_id": rule.id if rule else None,
                        "auto_close": bool(rule and rule.auto_close), "alarm_count": 1,
                        "first_at": now, "last_at": now, "last_readings": alarm.readings,
                        "status": "open", "recovered_at": None,
                    },
                )  # fmt: skip
        except Problem as problem:
            return _filing_refused(problem.detail or problem.title, problem.detail_zh or
                                   problem.title_zh)  # fmt: skip
        except IntegrityError:
            # Another process filed this device's event of this class a moment ago: fold into it.
            row = (
                db.connection()
                .execute(
                    STATEMENTS.open_folds.where(
                        cast(Table, IotFold.__table__).c.category_code == verdict.category_code
                    ),
                    {"ids": [device.id]},
                )
                .first()
            )
            if row is None:
                raise
            return _Fold(row.event_id, row.code, row.category_code, row.rule_id, row.auto_close,
                         row.alarm_count, row.alarm_count + 1, now, alarm.readings)  # fmt: skip
        # `event` mirrors the row just filed (trail head included): chain to it with Core.
        append_log(
            db, event, at=now, actor_id=None, action="iot_alarm", from_status=event.status,
            to_status=event.status, unit_id=device.unit_id, note=f"{what}:{device.code}",
            payload={
                "device": {"id": device.id, "code": device.code, "type": device.device_type,
                           "unit_id": device.unit_id},
                "rule": rule.as_payload() if rule else None,
                "readings": alarm.readings, "device_at": alarm.at,
            },
            update_event=False,
        )  # fmt: skip
        db.connection().execute(
            STATEMENTS.trail_head,
            [{"head_event": event.id, "seq": event.trail_seq, "digest": event.trail_hash}],
        )
        return _Fold(event.id, event.code, verdict.category_code, rule.id if rule else None,
                     bool(rule and rule.auto_close), 0, 1, now, None)  # fmt: skip

    def _recover(
        self,
        db: Session,
        device: _DeviceRow,
        folds: dict[tuple[int, str], _Fold],
        alarm: Alarm,
        now: datetime,
    ) -> Outcome:
        """Close the device's open IoT events whose rule allows it; note the rest on their trail."""
        closed: list[int] = []
        kept: list[int] = []
        for key in [k for k in folds if k[0] == device.id]:
            fold = folds[key]
            payload = {"device": device.code, "alarms": fold.count, "readings": alarm.readings,
                       "device_at": alarm.at, "rule_id": fold.rule_id}  # fmt: skip
            if fold.auto_close:
                self._write_folds(db, {key: fold}, now)
                event = recover_event(
                    db=db, event_id=fold.event_id, now=now, payload=payload,
                    note=f"设备 {device.code} 报告恢复正常,系统自动结案(共 {fold.count} 次告警)",
                )  # fmt: skip
                if event is not None:
                    db.connection().execute(STATEMENTS.end_fold, {
                        "fold_event": fold.event_id, "new_status": "recovered",
                        "recovered": now})  # fmt: skip
                    del folds[key]
                    closed.append(fold.event_id)
                    continue
            kept.append(fold.event_id)
            event_row = db.scalar(
                select(Event)
                .where(Event.id == fold.event_id)
                .with_for_update()
                .execution_options(populate_existing=True)  # Core may have moved its trail
            )
            if event_row is not None:
                append_log(
                    db, event_row, at=now, actor_id=None, action="iot_recovery",
                    from_status=event_row.status, to_status=event_row.status, unit_id=None,
                    note=f"设备 {device.code} 报告恢复正常;该类事件须人工核查后结案",
                    payload=payload,
                )  # fmt: skip
        if closed:
            return Outcome("recovered", event_id=closed[0], closed=closed)
        return Outcome("recovery", event_id=kept[0] if kept else None)

    def _write_folds(self, db: Session, folds: dict[tuple[int, str], _Fold], now: datetime) -> None:
        """Store the batch's new alarm counts (one UPDATE per event) and the trail rows owed: the
        first repeat and every `iot_trail_every`-th alarm."""
        every = self.settings.iot_trail_every
        changed = [f for f in folds.values() if f.count > max(f.count_before, 1)]
        if not changed:
            return
        db.connection().execute(
            STATEMENTS.add_alarms,
            [
                {"fold_event": f.event_id, "added": f.count - max(f.count_before, 1),
                 "last": f.last_at, "readings": f.readings}
                for f in changed
            ],
        )  # fmt: skip
        owed = {
            f.event_id: f
            for f in changed
            if (max(f.count_before, 1) < 2 <= f.count)
            or f.count // every > max(f.count_before, 1) // every
        }
        for fold in changed:
            fold.count_before = fold.count
        if not owed:
            return
        # One locked read of the trail heads, the rows inserted in one statement, the heads
        # moved with one executemany (a thousand folded events cost three statements).
        db.flush()
        heads = db.execute(
            select(Event.id, Event.status, Event.trail_seq, Event.trail_hash)
            .where(Event.id.in_(sorted(owed)))
            .with_for_update()
        ).all()
        moved = []
        with buffered_trail(db):
            for head in heads:
                fold = owed[head.id]
                event = _event_head(head.id, head.status, head.trail_seq, head.trail_hash)
                append_log(
                    db, event, at=now, actor_id=None, action="iot_repeat",
                    from_status=head.status, to_status=head.status, unit_id=None,
                    note=f"同一设备重复告警,累计 {fold.count} 次",
                    payload={"alarms": fold.count, "readings": fold.readings},
                    update_event=False,
                )  # fmt: skip
                moved.append({"head_event": event.id, "seq": event.trail_seq,
                              "digest": event.trail_hash})  # fmt: skip
        db.connection().execute(STATEMENTS.trail_head, moved)


def _event_head(event_id: int, status: str, seq: int, digest: str) -> Event:
    """A detached Event holding just what `append_log` chains to (no ORM load, no flush)."""
    event: Event = Event.__mapper__.class_manager.new_instance()
    event.__dict__.update(id=event_id, status=status, trail_seq=seq, trail_hash=digest)
    return event


def _filing_refused(detail: str, detail_zh: str) -> Outcome:
    return Outcome("quarantined", "filing_refused", detail[:400], detail_zh[:400])


def _reading_text(value: float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}"


def quarantine_one(
    db: Session, message: Received, *, reason: str, detail: str, detail_zh: str
) -> None:
    """Quarantine one message outside the batch path (a message whose handling failed)."""
    db.execute(
        insert(IotQuarantine),
        [{
            "at": message.received_at, "channel": message.channel, "topic": message.topic[:255],
            "device_code": (message.device_code or "")[:64] or None,
            "payload": message.payload[:PAYLOAD_KEEP].decode("utf-8", "replace"),
            "reason": reason, "detail": detail[:400], "detail_zh": detail_zh[:400], "count": 1,
        }],
    )  # fmt: skip


# --- reading ------------------------------------------------------------------------------


def fold_of(db: Session, event_id: int) -> IotFold | None:
    return db.get(IotFold, event_id)


def stats(db: Session, *, since: datetime | None = None) -> dict[str, Any]:
    """Counts of alarms by outcome, refusals by reason, open folds, devices by status."""
    inbox = select(IotInbox.outcome, func.count()).group_by(IotInbox.outcome)
    refused = select(IotQuarantine.reason, func.sum(IotQuarantine.count)).group_by(
        IotQuarantine.reason
    )
    if since is not None:
        inbox = inbox.where(IotInbox.received_at >= since)
        refused = refused.where(IotQuarantine.at >= since)
    outcomes = {k: int(v) for k, v in db.execute(inbox).all()}
    reasons = {k: int(v or 0) for k, v in db.execute(refused).all()}
    open_folds = db.execute(
        select(func.count(), func.coalesce(func.sum(IotFold.alarm_count), 0)).where(
            IotFold.status == "open"
        )
    ).one()
    devices = {
        row[0]: row[1]
        for row in db.execute(select(Device.status, func.count()).group_by(Device.status))
    }
    return {
        "accepted": sum(outcomes.values()),
        "outcomes": outcomes,
        "quarantined": sum(reasons.values()),
        "reasons": reasons,
        "open_events": int(open_folds[0]),
        "open_event_alarms": int(open_folds[1]),
        "devices": {k: int(v) for k, v in devices.items()},
    }


@dataclass(frozen=True)
class QuarantineFilters:
    reason: str | None = None
    device_code: str | None = None


def list_quarantine(
    *, db: Session, principal: Principal, filters: QuarantineFilters, offset: int, limit: int
) -> tuple[list[IotQuarantine], int]:
    """Refused messages, newest first (administrators and operators)."""
    principal.require_role("admin", "operator")
    query = select(IotQuarantine)
    if filters.reason:
        query = query.where(IotQuarantine.reason == filters.reason)
    if filters.device_code:
        query = query.where(IotQuarantine.device_code == filters.device_code)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(
        query.order_by(IotQuarantine.at.desc(), IotQuarantine.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), total


def prune(db: Session, *, now: datetime, keep_days: float) -> dict[str, int]:
    """Forget inbox and quarantine rows older than `keep_days` (the folds keep the counts)."""
    before = now - timedelta(days=keep_days)
    inbox = db.execute(delete(IotInbox).where(IotInbox.received_at < before))
    refused = db.execute(delete(IotQuarantine).where(IotQuarantine.at < before))
    return {
        "inbox_pruned": int(getattr(inbox, "rowcount", 0) or 0),
        "quarantine_pruned": int(getattr(refused, "rowcount", 0) or 0),
    }


def outcome_counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    counted: Counter[str] = Counter()
    for outcome in outcomes:
        counted[outcome.status] += 1
        if outcome.reason:
            counted[f"quarantined_{outcome.reason}"] += 1
    return dict(counted)
