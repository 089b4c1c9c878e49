"""The device registry, the rules that turn readings into classes, the inbox of accepted alarms,
the folds (one open IoT event per device and class, with its alarm counter) and the quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

DEVICE_STATUSES = ("active", "retired")
FOLD_OPEN_SQL = "status = 'open'"


class Device(Base):
    """A registered sensor: where it is, who owns it, and the hash of its key (never the key)."""

    __tablename__ = "iot_device"
    __table_args__ = (Index("ix_iot_device_grid", "grid_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The code names the device in its MQTT topic: fengqiao/devices/{code}/alarm.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    device_type: Mapped[str] = mapped_column(String(32))
    lng: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(200), default="")
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    # The class its alarms are filed under when no rule names one (an explicit `alarm: true`).
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    # The unit that owns and maintains the device (shown on its alarms' trail rows).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    # The device-role account its events are filed under.
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Its point on the one-map's iot_device layer, kept in step by the registry.
    feature_id: Mapped[int | None] = mapped_column(ForeignKey("layer_feature.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IotRule(Base):
    """A reading of a device type compared with a threshold gives a class: data, not code."""

    __tablename__ = "iot_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    device_type: Mapped[str] = mapped_column(String(32))
    reading: Mapped[str] = mapped_column(String(32))
    op: Mapped[str] = mapped_column(String(8))
    threshold: Mapped[float | None] = mapped_column(Float)
    threshold_high: Mapped[float | None] = mapped_column(Float)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    # A recovery message closes the event by itself only when the rule allows it.
    auto_close: Mapped[bool] = mapped_column(Boolean, default=False)
    name_zh: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class IotInbox(Base):
    """Every accepted alarm, raw, written in the transaction that folds or files it."""

    __tablename__ = "iot_inbox"
    __table_args__ = (
        Index("ix_iot_inbox_received", "received_at", "id"),
        Index("ix_iot_inbox_device_received", "device_id", "received_at"),
        # Redeliveries (MQTT dup flag, HTTP retries) are recognised by the device's message id.
        Index("ix_iot_inbox_device_message", "device_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(8))  # mqtt / http
    topic: Mapped[str] = mapped_column(String(255))
    device_id: Mapped[int] = mapped_column(ForeignKey("iot_device.id"))
    kind: Mapped[str] = mapped_column(String(8))  # alarm / recovery
    message_id: Mapped[str | None] = mapped_column(String(64))  # the payload's `id`, if any
    payload: Mapped[str] = mapped_column(Text)
    # filed (a new event), folded (into the open one), normal (no rule fired), recovered
    outcome: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[int | None] = mapped_column(Integer)
    event_id: Mapped[int | None] = mapped_column(Integer)


class IotFold(Base):
    """The open IoT event of one device and class, and how many alarms it has absorbed."""

    __tablename__ = "iot_fold"
    __table_args__ = (
        # One open fold per device and class: two writers cannot both file a new event.
        Index(
            "uq_iot_fold_open",
            "device_id",
            "category_code",
            unique=True,
            sqlite_where=text(FOLD_OPEN_SQL),
            postgresql_where=text(FOLD_OPEN_SQL),
        ),
        Index("ix_iot_fold_device", "device_id", "status"),
    )

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("iot_device.id"))
    category_code: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[int | None] = mapped_column(Integer)
    auto_close: Mapped[bool] = mapped_column(Boolean, default=False)
    alarm_count: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_readings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open / recovered / ended
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IotQuarantine(Base):
    """A refused message: what came, from where, and why (English and Chinese)."""

    __tablename__ = "iot_quarantine"
    __table_args__ = (
        Index("ix_iot_quarantine_at", "at", "id"),
        Index("ix_iot_quarantine_reason_at", "reason", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str] = mapped_column(String(255))
    device_code: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # truncated
    reason: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(String(400))
    detail_zh: Mapped[str] = mapped_column(String(400))
    # Flood refusals of one device in one minute share a row: this many messages.
    count: Mapped[int] = mapped_column(Integer, default=1)
