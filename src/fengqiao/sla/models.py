"""Deadline policies per level (and class) and the editable working-calendar override table."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base


class SlaPolicy(Base):
    """The time limit for events of a level (a class-specific row beats the level's default).

    `urgent` rows apply to events flagged urgent, whatever their class.
    """

    __tablename__ = "sla_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[int | None] = mapped_column(Integer)
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # A district's own limit (beats the shared rows of the same match); None: every district.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    limit_value: Mapped[float] = mapped_column(Float)
    limit_unit: Mapped[str] = mapped_column(String(16))
    remind_before_hours: Mapped[float | None] = mapped_column(Float)
    yellow_ratio: Mapped[float] = mapped_column(Float, default=0.8)


class CalendarOverride(Base):
    """A day the official calendar gets wrong or does not know yet: working or rest."""

    __tablename__ = "calendar_override"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100), default="")
