"""The daily bulletins made so far (one row per local day) and who subscribes to them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime


class Bulletin(Base):
    """A day's bulletin as it was made: its figures are kept, so every export of that day shows
    the same numbers, and the job knows the day is done."""

    __tablename__ = "bulletin"

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the local day it reports on
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # messages queued for it


class BulletinSubscription(Base):
    """A leader who wants the bulletin each morning, and on which channels."""

    __tablename__ = "bulletin_subscription"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    channels: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
