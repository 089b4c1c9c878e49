"""Each user's in-app inbox (what the `app` channel delivers); the outbox is in fengqiao.outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime


class Notification(Base):
    """A message in a user's in-app inbox (what the `app` channel delivers)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(255), default="")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
