"""The annual target assessment (年度岗位目标责任制考核): each year's scheme (the weights of its
components), the towns' evaluations of their dispatched agencies (and the district's of its
departments), the trail of both, and the confirmed annual list of benchmark towns (标杆镇街)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

SCHEME_STATUSES = ("open", "closed")
SCHEME_STATUS_ZH = {"open": "可调整", "closed": "已封存"}
ANNUAL_ACTIONS = ("scheme", "close", "evaluate", "confirm")
ANNUAL_ACTION_ZH = {
    "scheme": "调整考核方案", "close": "封存年度考核", "evaluate": "录入评价",
    "confirm": "确认标杆镇街名单",
}  # fmt: skip


class AnnualScheme(Base):
    """A year's scheme: the weights (each set sums to 100) of the towns' components, of the
    departments' and of the benchmark towns' judgement, and how many benchmark towns there
    are. Editable until the year is closed; `version` guards concurrent edits."""

    __tablename__ = "annual_scheme"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    department_weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    benchmark_weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    benchmark_count: Mapped[int] = mapped_column(Integer, default=6)
    status: Mapped[str] = mapped_column(String(16), default="open")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UnitEvaluation(Base):
    """The evaluation score (0-100) a department earned in a year from the area that judges it:
    a dispatched agency (派驻机构) from its town's leader, a district department from the
    district's."""

    __tablename__ = "unit_evaluation"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(500))
    entered_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class BenchmarkList(Base):
    """The year's benchmark towns as the district confirmed them, with the standings they were
    chosen from (kept as they stood at the confirmation), who confirmed them and when."""

    __tablename__ = "benchmark_list"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    town_ids: Mapped[list[int]] = mapped_column(JSON)
    standings: Mapped[list[Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))
    confirmed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AnnualLog(Base):
    """The annual assessment's trail: scheme changes, closing, evaluations, confirmations."""

    __tablename__ = "annual_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    note: Mapped[str | None] = mapped_column(String(500))
