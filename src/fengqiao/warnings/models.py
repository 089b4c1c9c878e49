"""Early warnings (预警): one row per condition found, pushed, and acknowledged by its people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

WARNING_KINDS = ("spike", "cluster", "repeat", "backlog")
WARNING_STATUSES = ("open", "acknowledged")
WARNING_KIND_ZH = {
    "spike": "类案激增",
    "cluster": "涉稳聚集",
    "repeat": "同一地点重复",
    "backlog": "单位积压",
}
# The daily bulletin's table names the kinds in fewer characters.
WARNING_KIND_SHORT_ZH = {
    "spike": "突增",
    "cluster": "聚集",
    "repeat": "重复发生",
    "backlog": "积压",
}
WARNING_STATUS_ZH = {"open": "待签收", "acknowledged": "已签收"}
# Who a warning is with: the town first; unacknowledged, it climbs to the district.
WARNING_LEVELS = ("town", "district")
WARNING_LEVEL_ZH = {"town": "镇街", "district": "区县级"}
# What a warning's history records (beside its raising and its acknowledgement).
WARNING_STEP_ZH = {
    "reminded": "未签收提醒",
    "climbed": "升级至区县级",
    "lapsed": "已过跟进期限，不再提醒",
}


class EarlyWarning(Base):
    """A condition a detector found: where, which class, over which window, how far off."""

    __tablename__ = "warning"
    __table_args__ = (
        Index("ix_warning_created", "created_at", "id"),
        # The dedupe probe: is this condition (kind, place, class) already warned about?
        Index("ix_warning_condition", "kind", "org_id", "category_code", "window_end"),
        Index("ix_warning_town_created", "town_id", "created_at"),
        Index("ix_warning_unit_status", "unit_id", "status"),
        # The follow-up job's stored due times (cleared once done, or on acknowledgement).
        Index("ix_warning_remind_at", "remind_at"),
        Index("ix_warning_climb_at", "climb_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The place the warning is about (a village, or the backlogged unit's org unit) and its path,
    # so scope is the same subtree test as everywhere else.
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(255))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # The unit concerned: the backlogged unit, or the unit routing names for the class and place.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    category_code: Mapped[str | None] = mapped_column(String(8))
    category_name: Mapped[str] = mapped_column(String(64), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    observed: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pushed_to: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    # Follow-ups of an unacknowledged warning: when it is reminded and when it climbs (stored
    # due times the `warning_followups` job selects; None once done or acknowledged), which
    # level has it now, and what was done ({"at", "step", "told"} rows, oldest first).
    level: Mapped[str] = mapped_column(String(16), default="town", server_default="town")
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    climb_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    climbed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class WarningScan(Base):
    """How far the warnings job has looked: a late run starts from here and catches up."""

    __tablename__ = "warning_scan"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    scanned_until: Mapped[datetime] = mapped_column(UTCDateTime)
