"""What happens to each alarm: refused into the quarantine, recorded in the inbox, filed as a
new IoT event, folded into the open one, or closing it on recovery.

`AlarmProcessor.process` takes a batch of received messages inside the caller's transaction;
the MQTT subscriber and the HTTP webhook both call it, so both channels behave the same. Folding
is one counter update per event per batch (Core executemany), not a trail row per alarm: the
trail gets a row for the first repeat and every `iot_trail_every` alarms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fengqiao.auth.service import load_principal
from fengqiao.config import Settings
from fengqiao.errors import Problem
from fengqiao.events.filing import create_event
from fengqiao.events.models import Event
from fengqiao.events.schemas import EventCreate
from fengqiao.events.steps import recover_event
from fengqiao.events.trail import append_log, buffered_trail
from fengqiao.events.workflow import OPEN
from fengqiao.geo.service import GridLocator
from fengqiao.iot.models import Device, IotFold, IotInbox, IotQuarantine
from fengqiao.iot.rules import (
    Alarm,
    FloodGate,
    Refusal,
    Verdict,
    evaluate,
    parse_payload,
    readings_zh,
)
from fengqiao.iot.service import load_rules
from fengqiao.scope import Principal
from fengqiao.taxonomy.snapshot import RulesCache

OUTCOME_ZH = {
    "filed": "新立事件", "folded": "并入已有事件", "normal": "读数正常", "recovered": "恢复并结案",
    "recovery": "恢复（未自动结案）", "quarantined": "已隔离", "duplicate": "重复投递，已忽略",
}  # fmt: skip
PAYLOAD_KEEP = 2000  # characters of a refused payload kept in the quarantine


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
        readings = readings_zh(alarm.readings)
        try:
            place = self.locator.locate(device.lng, device.lat)
            data = EventCreate(
                source="iot",
                category=verdict.category_code,
                title=f"{what}：{device.name}"[:200],
                description=(
                    f"物联设备 {device.name}（{device.code}）告警：{what}"
                    + (f"（{rule.describe_zh()}）" if rule else "")
                    + (f"。读数：{readings}" if readings else "")
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
            to_status=event.status, unit_id=device.unit_id, note=f"{what}：{device.code}",
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
        codes: dict[int, str] = {}  # event id → its code, for the answer
        for key in [k for k in folds if k[0] == device.id]:
            fold = folds[key]
            codes[fold.event_id] = fold.event_code
            payload = {"device": device.code, "alarms": fold.count, "readings": alarm.readings,
                       "device_at": alarm.at, "rule_id": fold.rule_id}  # fmt: skip
            if fold.auto_close:
                self._write_folds(db, {key: fold}, now)
                event = recover_event(
                    db=db, event_id=fold.event_id, now=now, payload=payload,
                    note=f"设备 {device.code} 报告恢复正常，系统自动结案（共 {fold.count} 次告警）",
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
                    note=f"设备 {device.code} 报告恢复正常；该类事件须人工核查后结案",
                    payload=payload,
                )  # fmt: skip
        if closed:
            return Outcome(
                "recovered", event_id=closed[0], event_code=codes[closed[0]], closed=closed
            )
        if kept:
            return Outcome("recovery", event_id=kept[0], event_code=codes[kept[0]])
        return Outcome("recovery")

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
            select(
                Event.id,
                Event.status,
                Event.trail_seq,
                Event.trail_hash,
                Event.created_at,
                Event.district_id,
            )
            .where(Event.id.in_(sorted(owed)))
            .with_for_update()
        ).all()
        moved = []
        with buffered_trail(db):
            for head in heads:
                fold = owed[head.id]
                event = _event_head(head)
                append_log(
                    db, event, at=now, actor_id=None, action="iot_repeat",
                    from_status=head.status, to_status=head.status, unit_id=None,
                    note=f"同一设备重复告警，累计 {fold.count} 次",
                    payload={"alarms": fold.count, "readings": fold.readings},
                    update_event=False,
                )  # fmt: skip
                moved.append({"head_event": event.id, "seq": event.trail_seq,
                              "digest": event.trail_hash})  # fmt: skip
        db.connection().execute(STATEMENTS.trail_head, moved)


def _event_head(head: Any) -> Event:
    """A detached Event holding just what `append_log` chains to (no ORM load, no flush)."""
    event: Event = Event.__mapper__.class_manager.new_instance()
    event.__dict__.update(
        id=head.id, status=head.status, trail_seq=head.trail_seq, trail_hash=head.trail_hash,
        created_at=head.created_at, district_id=head.district_id,
    )  # fmt: skip
    return event


def _filing_refused(detail: str, detail_zh: str) -> Outcome:
    return Outcome("quarantined", "filing_refused", detail[:400], detail_zh[:400])


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


def outcome_counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    counted: Counter[str] = Counter()
    for outcome in outcomes:
        counted[outcome.status] += 1
        if outcome.reason:
            counted[f"quarantined_{outcome.reason}"] += 1
    return dict(counted)
