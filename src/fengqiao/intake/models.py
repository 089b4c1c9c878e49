"""Checklist runs (河长 patrols); the modules and class questions they use are in taxonomy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime


class ChecklistRun(Base):
    """One walk through a module's checklist at a place (a river chief's patrol of a reach):
    every item's outcome, and the events filed for the failed ones."""

    __tablename__ = "checklist_run"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_checklist_run_user_key"),
        Index("ix_checklist_run_grid_at", "grid_id", "at"),
        Index("ix_checklist_run_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    module_code: Mapped[str] = mapped_column(ForeignKey("intake_module.code"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    patrol_id: Mapped[int | None] = mapped_column(ForeignKey("patrol.id"))
    subject: Mapped[str] = mapped_column(String(100))  # e.g. the river reach walked
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    grid_path: Mapped[str] = mapped_column(String(255))  # for scoped lists
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # [{"code", "text", "ok", "note", "event_id"}] in checklist order
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
