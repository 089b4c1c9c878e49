"""Joint operations (联合行动): a planned action of several units with its people, place, time
window, results and the events it closed; and the operation's trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

OPERATION_STATUSES = ("planned", "done", "cancelled")
OPERATION_STATUS_ZH = {"planned": "计划中", "done": "已完成", "cancelled": "已取消"}
OPERATION_ACTIONS = ("plan", "link", "record", "cancel")
OPERATION_ACTION_ZH = {
    "plan": "制定计划",
    "link": "关联事件",
    "record": "登记结果",
    "cancel": "取消",
}


class JointOperation(Base):
    """One planned joint action in an area (the district or a town)."""

    __tablename__ = "joint_operation"
    __table_args__ = (Index("ix_joint_operation_org_starts", "org_path", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # LH-<year>-<serial>
    name: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    # The area's org path: staff scope is a prefix test (Principal.covers).
    org_path: Mapped[str] = mapped_column(String(255))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    unit_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # the other units taking part
    people: Mapped[int] = mapped_column(Integer)  # how many people are sent
    place: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    # An area instead of a point: a GeoJSON polygon (WGS-84).
    area: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    results: Mapped[str] = mapped_column(Text, default="")
    # [{"name": "取缔流动摊贩", "unit": "处", "value": 12}]
    quantities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class JointOperationEvent(Base):
    """An event the operation handled or closed (each event once per operation)."""

    __tablename__ = "joint_operation_event"

    operation_id: Mapped[int] = mapped_column(ForeignKey("joint_operation.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), primary_key=True, index=True)
    linked_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JointOperationLog(Base):
    """The operation's trail: planned, events linked, results recorded, cancelled."""

    __tablename__ = "joint_operation_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("joint_operation.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
