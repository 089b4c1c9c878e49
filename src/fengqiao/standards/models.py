"""The standard's versions, their items (aspect, text, weight, evidence) and their trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

# The eight aspects of the seed's 标准化建设, in the article's order.
ASPECTS = ("system", "platform", "command", "grid", "territorial", "service", "signage", "ledger")
ASPECT_ZH = {
    "system": "工作制度", "platform": "信息平台", "command": "指挥体系", "grid": "全科网格",
    "territorial": "属地管理", "service": "便民服务", "signage": "标识标牌", "ledger": "工作台账",
}  # fmt: skip
EVIDENCE = ("photo", "document", "none")
EVIDENCE_ZH = {"photo": "照片", "document": "文件资料", "none": "无需佐证"}
STANDARD_STATUSES = ("draft", "published", "superseded")
STANDARD_STATUS_ZH = {"draft": "草稿", "published": "现行", "superseded": "已废止"}
STANDARD_ACTIONS = ("create", "edit", "publish", "supersede")
STANDARD_ACTION_ZH = {
    "create": "起草",
    "edit": "修改",
    "publish": "发布",
    "supersede": "被新版本替代",
}


class StandardVersion(Base):
    """One version of the standard: drafted, then published (immutable from then on); a newer
    published version supersedes it."""

    __tablename__ = "standard_version"
    __table_args__ = (UniqueConstraint("number"), Index("ix_standard_version_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … in the order drafted
    title: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic lock of the draft
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StandardItem(Base):
    """One checklist item of a version: its aspect, text, weight (a version's sum to 100) and
    the evidence a town shows for it."""

    __tablename__ = "standard_item"
    __table_args__ = (Index("ix_standard_item_version", "version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("standard_version.id"))
    position: Mapped[int] = mapped_column(Integer)
    aspect: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(String(16))


class StandardLog(Base):
    """The standard's trail: who drafted, changed and published each version."""

    __tablename__ = "standard_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("standard_version.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
