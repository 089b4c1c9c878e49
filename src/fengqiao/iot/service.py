"""The device registry and its keys, the rules table, and reading what came in: counters, the
quarantine, an event's fold, pruning. What happens to each alarm is in `iot.alarms`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, true
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.auth.security import NewApiKey, api_key_matches, api_key_prefix, new_api_key
from fengqiao.errors import Problem, forbidden, invalid, not_found
from fengqiao.events.scope import sees_whole_district
from fengqiao.geo.models import LayerFeature
from fengqiao.geo.service import GridLocator
from fengqiao.iot.models import Device, IotFold, IotInbox, IotQuarantine, IotRule
from fengqiao.iot.rules import (
    Rule,
    check_rule,
)
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal, in_scope
from fengqiao.taxonomy.models import Category

DEVICE_KEY_PREFIX = "fqd_"
DEVICE_TYPES_ZH = {
    "water_quality": "水质传感器",
    "smoke_detector": "烟感探测器",
    "fire_alarm": "火灾报警器",
    "gas_detector": "可燃气体探测器",
    "manhole_cover": "智能井盖",
}


# --- keys ---------------------------------------------------------------------------------


def new_device_key() -> NewApiKey:
    """A device key: an API key with the device tag; `key` is shown once, the hash kept."""
    return new_api_key(DEVICE_KEY_PREFIX)


def device_for_key(db: Session, key: str | None) -> Device | None:
    """The device whose key this is (retired ones too: the caller tells them apart), or None."""
    prefix = api_key_prefix(key, DEVICE_KEY_PREFIX) if key else None
    if prefix is None:
        return None
    device = db.scalar(select(Device).where(Device.key_prefix == prefix))
    if device is None or not api_key_matches(key or "", device.key_hash):
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
            "the device lies outside your area", "设备位置不在您的辖区内，请由属地人员登记"
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
            f"不存在启用的设备账号 {username}，请先创建设备角色账号或指定其他账号",
        )
    return int(row.id)


def _check_refs(db: Session, fields: DeviceFields) -> None:
    if fields.category is not None and db.get(Category, fields.category) is None:
        raise invalid("category", f"unknown class {fields.category!r}", "事件分类不存在")
    if fields.unit_id is not None and db.get(Unit, fields.unit_id) is None:
        raise invalid("unit_id", "unknown unit", "责任单位不存在")


def _check_unit_serves(db: Session, unit_id: int | None, grid_id: int) -> None:
    """The maintaining unit must serve the device's place: a unit of its village or town, or a
    district department (the same rule as dispatch)."""
    if unit_id is None:
        return
    org_id = db.scalar(select(Unit.org_unit_id).where(Unit.id == unit_id))
    above = [int(p) for p in _grid_path(db, grid_id).strip("/").split("/") if p][:-1]
    if org_id not in above:
        raise invalid(
            "unit_id",
            "the unit does not serve the device's place: choose a unit of its village or town, "
            "or a district department",
            "该单位不负责设备所在地，请选择设备所在村社、镇街的单位或区级部门",
        )


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
    _check_unit_serves(db, fields.unit_id, place.grid_id)
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
    _check_unit_serves(db, device.unit_id, device.grid_id)
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


def reactivate_device(
    *, db: Session, principal: Principal, device_id: int, now: datetime
) -> tuple[Device, str]:
    """Bring a retired device back under its code (and so its MQTT topic) with a new key: the
    key it had when retired stays dead, since it may have left with the old hardware."""
    device = get_device(db=db, principal=principal, device_id=device_id)
    _check_manager(db, principal, device.grid_id)
    if device.status != "retired":
        raise Problem(
            409, "device-active", "Device is not retired", "设备未停用",
            f"device {device.code} is active; only a retired device is reactivated",
            f"设备 {device.code} 在用，只有已停用的设备才能重新启用",
        )  # fmt: skip
    key = new_device_key()
    device.status, device.updated_at = "active", now
    device.key_prefix, device.key_hash = key.prefix, key.key_hash
    _sync_feature(db, device)
    db.flush()
    return device, key.key


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


# --- reading ------------------------------------------------------------------------------


def fold_of(db: Session, event_id: int) -> IotFold | None:
    return db.get(IotFold, event_id)


def _whole_district(principal: Principal | None) -> bool:
    """No principal (the CLI) or area staff homed at the district: nothing to filter."""
    return principal is None or sees_whole_district(principal)


def _devices_in_scope(principal: Principal) -> Any:
    """Ids of the devices whose grid lies in the caller's area."""
    return (
        select(Device.id)
        .join(OrgUnit, OrgUnit.id == Device.grid_id)
        .where(in_scope(principal, OrgUnit.path))
    )


def _quarantine_scope(principal: Principal | None) -> Any:
    """The refused messages the caller may see: those of devices in their area; a message
    whose code names no registered device (a wrong key, an unknown topic) belongs to no town,
    so only district-wide staff see it."""
    if _whole_district(principal):
        return true()
    assert principal is not None
    codes = select(Device.code).where(Device.id.in_(_devices_in_scope(principal)))
    return IotQuarantine.device_code.in_(codes)


def stats(
    db: Session, *, since: datetime | None = None, principal: Principal | None = None
) -> dict[str, Any]:
    """Counts of alarms by outcome, refusals by reason, open folds, devices by status; within
    the caller's area when a principal is given."""
    inbox = select(IotInbox.outcome, func.count()).group_by(IotInbox.outcome)
    refused = (
        select(IotQuarantine.reason, func.sum(IotQuarantine.count))
        .where(_quarantine_scope(principal))
        .group_by(IotQuarantine.reason)
    )
    folds = select(func.count(), func.coalesce(func.sum(IotFold.alarm_count), 0)).where(
        IotFold.status == "open"
    )
    devices_query = select(Device.status, func.count()).group_by(Device.status)
    if not _whole_district(principal):
        assert principal is not None
        mine = _devices_in_scope(principal)
        inbox = inbox.where(IotInbox.device_id.in_(mine))
        folds = folds.where(IotFold.device_id.in_(mine))
        devices_query = devices_query.where(Device.id.in_(mine))
    if since is not None:
        inbox = inbox.where(IotInbox.received_at >= since)
        refused = refused.where(IotQuarantine.at >= since)
    outcomes = {k: int(v) for k, v in db.execute(inbox).all()}
    reasons = {k: int(v or 0) for k, v in db.execute(refused).all()}
    open_folds = db.execute(folds).one()
    devices = {row[0]: row[1] for row in db.execute(devices_query)}
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
    """Refused messages of the caller's area, newest first (administrators and operators)."""
    principal.require_role("admin", "operator")
    query = select(IotQuarantine).where(_quarantine_scope(principal))
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
