"""A video call: who called whom, from which event, when it rang, was answered and ended, and how
it ended. Calls refused before ringing (out of scope, offline, busy) are not stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

# How a call ended: talked and hung up; refused by the callee; hung up by the caller while it
# rang; not answered in time; a side's connection was lost.
OUTCOMES = ("completed", "declined", "cancelled", "missed", "dropped")


class VideoCall(Base):
    """One call from the command room to a worker's or handler's phone."""

    __tablename__ = "video_call"
    __table_args__ = (Index("ix_video_call_event_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    callee_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))


# The words of each outcome: on the trail of a call that was not answered, and in the call window
# when a call ends (`answered_elsewhere` is no stored outcome: the callee's other pages stop).
CALL_OUTCOME_ZH = {
    "completed": "通话已结束", "declined": "对方已拒绝", "cancelled": "通话已取消",
    "missed": "无人接听", "dropped": "连接中断", "answered_elsewhere": "已在其他设备接听",
}  # fmt: skip
