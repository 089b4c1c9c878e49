"""What became of an alarm: who took it (接警) and when, and whether it climbed to the district.

An alarm is an event (urgent, or filed by an IoT device); its row here is written the first time
someone acknowledges it or the worker climbs it, so filing an alarm writes nothing extra.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime


class AlarmState(Base):
    """One alarm's acknowledgement and climb (both also on the event's trail)."""

    __tablename__ = "alarm_state"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), primary_key=True)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    climbed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
