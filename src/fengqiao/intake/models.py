"""Business modules, the extra questions of each class, and checklist runs (河长 patrols)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime


class IntakeModule(Base):
    """A business module (民情通, 食安通, 智慧安监, 河长通): a preset over the one event center —
    the classes it offers, its search words and an optional field checklist."""

    __tablename__ = "intake_module"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"code", "text", "category", "hint"}]: a failed item files an event of `category`.
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    checklist_title: Mapped[str] = mapped_column(String(64), default="")
    # What a checklist run is about (河道(河段)), and the class question it answers (`river`).
    subject_label: Mapped[str] = mapped_column(String(32), default="")
    subject_question: Mapped[str | None] = mapped_column(String(32))


class IntakeQuestion(Base):
    """One extra question of a class, asked in the app and served as an Open311 attribute."""

    __tablename__ = "intake_question"
    __table_args__ = (
        UniqueConstraint("category_code", "code", name="uq_intake_question_category_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    code: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
    datatype: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(200))
    values: Mapped[list[list[str]]] = mapped_column(JSON, default=list)  # [[key, name], ...]


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
