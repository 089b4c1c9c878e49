"""Supervision groups with their members and towns, the monthly rounds scored against the
standard, the towns' self-assessments, and the trail of all of them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

RESULTS = ("met", "partly", "not_met")
RESULT_ZH = {"met": "达标", "partly": "部分达标", "not_met": "未达标"}
# The share of an item's weight each result earns.
RESULT_FACTOR = {"met": 1.0, "partly": 0.5, "not_met": 0.0}
SELF_STATUSES = ("draft", "submitted")
SELF_STATUS_ZH = {"draft": "草稿", "submitted": "已提交"}
SUBJECTS = ("group", "round", "self_assessment")
LOG_ACTION_ZH = {
    "create": "新建", "edit": "修改", "members": "调整成员", "towns": "调整联系镇街",
    "score": "评分", "submit": "提交", "rectify": "下发整改",
}  # fmt: skip


class InspectionGroup(Base):
    """A supervision group (专项督查组) of the district: members who inspect, towns it covers."""

    __tablename__ = "inspection_group"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InspectionGroupMember(Base):
    """A user who inspects with the group."""

    __tablename__ = "inspection_group_member"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("inspection_group.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)


class InspectionGroupTown(Base):
    """A town assigned to a group: each town to exactly one group at a time (unique town)."""

    __tablename__ = "inspection_group_town"
    __table_args__ = (UniqueConstraint("town_id"), Index("ix_inspection_group_town_group",
                                                         "group_id"))  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("inspection_group.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InspectionRound(Base):
    """One month's supervision round of one town by its group, scored item by item against the
    standard version in force."""

    __tablename__ = "inspection_round"
    __table_args__ = (
        UniqueConstraint("town_id", "year", "month"),
        Index("ix_inspection_round_year", "year", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("inspection_group.id"), index=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    town_path: Mapped[str] = mapped_column(String(255), index=True)
    standard_version_id: Mapped[int] = mapped_column(ForeignKey("standard_version.id"))
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    held_on: Mapped[date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Float)  # 0..100
    note: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InspectionRoundItem(Base):
    """A round's result for one item; an item not fully met becomes a rectification (a tracked
    task of kind 'rectification')."""

    __tablename__ = "inspection_round_item"
    __table_args__ = (UniqueConstraint("round_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("inspection_round.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("standard_item.id"))
    result: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(500))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tracked_task.id"), index=True)


class SelfAssessment(Base):
    """A town's own assessment of a year against the standard version in force."""

    __tablename__ = "self_assessment"
    __table_args__ = (UniqueConstraint("town_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    town_path: Mapped[str] = mapped_column(String(255), index=True)
    standard_version_id: Mapped[int] = mapped_column(ForeignKey("standard_version.id"))
    year: Mapped[int] = mapped_column(Integer, index=True)
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SelfAssessmentItem(Base):
    """The town's own result for one item, with its note and evidence (what it shows)."""

    __tablename__ = "self_assessment_item"
    __table_args__ = (UniqueConstraint("assessment_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("self_assessment.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("standard_item.id"))
    result: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(500))
    evidence: Mapped[str | None] = mapped_column(String(500))


class InspectionLog(Base):
    """The trail of groups, rounds and self-assessments: who did what, when."""

    __tablename__ = "inspection_log"
    __table_args__ = (Index("ix_inspection_log_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
