"""Tracked tasks, their append-only trail and their evidence photos.

A task is anything someone must do by a deadline that is not an event: a meeting's decision, a
rectification item. It has the event's machinery: a deadline on the working calendar, a light,
one reminder, overdue marking, a trail, evidence photos and scope by its area's path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

TASK_KINDS = ("decision", "rectification")
TASK_KIND_ZH = {"decision": "会商决定事项", "rectification": "整改事项"}
TASK_STATUSES = ("open", "done", "cancelled")
TASK_STATUS_ZH = {"open": "未办结", "done": "已办结", "cancelled": "已撤销"}
TASK_ACTIONS = ("create", "photo", "progress", "remind", "overdue", "complete", "cancel")
TASK_ACTION_ZH = {
    "create": "交办", "photo": "上传佐证照片", "progress": "报告进展", "remind": "到期提醒",
    "overdue": "超期", "complete": "办结", "cancel": "撤销",
}  # fmt: skip
# Code prefixes: 决 for a decision, 改 for a rectification, as the paper registers number them.
CODE_PREFIX = {"decision": "JD", "rectification": "ZG"}

# Open tasks still owed a reminder, and open tasks not yet marked overdue: the sweeper's partial
# indexes hold only these rows, so a tick that finds nothing reads almost nothing.
TASK_REMINDER_PENDING_SQL = "status = 'open' AND reminded_at IS NULL"
TASK_OVERDUE_PENDING_SQL = "status = 'open' AND overdue_at IS NULL"


class TrackedTask(Base):
    __tablename__ = "tracked_task"
    __table_args__ = (
        Index("ix_tracked_task_source", "source_type", "source_id"),
        Index("ix_tracked_task_status_due", "status", "due_at"),
        Index(
            "ix_tracked_task_remind_pending", "remind_at",
            sqlite_where=text(TASK_REMINDER_PENDING_SQL),
            postgresql_where=text(TASK_REMINDER_PENDING_SQL),
        ),
        Index(
            "ix_tracked_task_overdue_pending", "due_at",
            sqlite_where=text(TASK_OVERDUE_PENDING_SQL),
            postgresql_where=text(TASK_OVERDUE_PENDING_SQL),
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    source_type: Mapped[str] = mapped_column(String(24))
    source_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    # The area's materialised path: scope is a prefix test, as for events and notices.
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    yellow_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="open")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    result: Mapped[str | None] = mapped_column(Text)
    evidence_required: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class TrackedTaskTrail(Base):
    """The task's trail: one row per step, never changed."""

    __tablename__ = "tracked_task_trail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tracked_task.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: system
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TrackedTaskPhoto(Base):
    """A checked evidence photo of a task (stored by content hash in the photo store)."""

    __tablename__ = "tracked_task_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tracked_task.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
