"""Analysis meetings (研判会商): one meeting of an org's command room, its attendees and trail.

A meeting's decisions are tracked tasks (`fengqiao.tasks`, kind 'decision', source 'meeting'),
so they have no table here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

MEETING_LEVELS = ("province", "city", "district", "town", "village")
MEETING_LEVEL_ZH = {
    "province": "省级", "city": "市级", "district": "区县级", "town": "镇街", "village": "村社",
}  # fmt: skip
MEETING_STATUSES = ("scheduled", "held", "missed", "cancelled")
MEETING_STATUS_ZH = {
    "scheduled": "待召开", "held": "已召开", "missed": "未按期召开", "cancelled": "已取消",
}  # fmt: skip
MEETING_ACTIONS = ("schedule", "create", "edit", "agenda", "hold", "decide", "missed", "cancel")
MEETING_ACTION_ZH = {
    "schedule": "按制度排期", "create": "安排会商", "edit": "修改", "agenda": "修改议程",
    "hold": "记录纪要", "decide": "形成决定事项", "missed": "未按期召开", "cancel": "取消",
}  # fmt: skip
# Scheduled meetings not yet held or flagged: the missed pass reads only these.
MISSED_PENDING_SQL = "status = 'scheduled'"


class Meeting(Base):
    __tablename__ = "meeting"
    __table_args__ = (
        UniqueConstraint("org_id", "period_key"),  # one regular meeting per org and period
        Index("ix_meeting_town_scheduled", "town_id", "scheduled_at"),
        Index(
            "ix_meeting_missed_pending", "missed_after",
            sqlite_where=text(MISSED_PENDING_SQL), postgresql_where=text(MISSED_PENDING_SQL),
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    level: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(100))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # When a meeting still not held counts as missed (scheduled_at + the grace of the rules).
    missed_after: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(100), default="")
    # The video meeting room (会商室) used: the org unit whose room it is; a link, no import.
    room_org_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # Regular meetings carry their period ("2026-12", "2026-Q4"); others none.
    regular: Mapped[bool] = mapped_column(Boolean, default=False)
    period_key: Mapped[str | None] = mapped_column(String(8))
    # The period the agenda looks back on (local days, inclusive).
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # [{"key", "title", "items": [{"text", "task"?, "link"?}]}]: drafted, then edited.
    agenda: Mapped[list[Any]] = mapped_column(JSON, default=list)
    agenda_drafted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minutes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: rules
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class MeetingAttendee(Base):
    """Someone asked to a meeting, and whether they were there."""

    __tablename__ = "meeting_attendee"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    present: Mapped[bool | None] = mapped_column(Boolean)  # None until the minutes say


class MeetingLog(Base):
    """The meeting's trail: scheduled, changed, held, flagged missed, cancelled."""

    __tablename__ = "meeting_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(500))
