"""The daily bulletins issued so far (one row per issuing area and local day), the counters
their document numbers (文号) come from, and who subscribes to them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime


class Bulletin(Base):
    """A day's bulletin of one area (the district or a town) as it was issued: its figures are
    kept, so every export of that day shows the same numbers, and the job knows the day is
    done. Its 文号 is the issuing area's `serial`-th of `year` (the year it was issued)."""

    __tablename__ = "bulletin"
    __table_args__ = (UniqueConstraint("org_id", "year", "serial"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the local day it reports on
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # messages queued for it
    # Bulletins stored before document numbers existed have none.
    year: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(64))  # e.g. 柯综指通〔2026〕37号


class BulletinSequence(Base):
    """The last serial an area issued in a year: incremented in the transaction that stores
    the bulletin, so numbers are unique and gap-free, and restart at 1 each year."""

    __tablename__ = "bulletin_sequence"

    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class BulletinSubscription(Base):
    """A leader who wants the bulletin each morning, and on which channels."""

    __tablename__ = "bulletin_subscription"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    channels: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
