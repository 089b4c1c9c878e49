"""Notices to residents, their trail, and leaflet campaigns with their door-to-door deliveries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

NOTICE_STATUSES = ("draft", "published", "withdrawn")
NOTICE_STATUS_ZH = {"draft": "草稿", "published": "已发布", "withdrawn": "已撤回"}
NOTICE_ACTIONS = ("create", "edit", "images", "publish", "withdraw")
NOTICE_ACTION_ZH = {
    "create": "起草", "edit": "修改", "images": "添加图片", "publish": "发布", "withdraw": "撤回",
}  # fmt: skip


class Notice(Base):
    """A notice to the residents of one area (the district, a town, a village or a grid)."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_status_valid", "status", "valid_from", "valid_to"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    # The area's org path: staff scope is a prefix test, residents see the path's ancestors.
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    # Checked images in the photo store: [{"sha256", "mime", "width", "height"}].
    images: Mapped[list[Any]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NoticeLog(Base):
    """The notice's trail: who drafted, changed, published and withdrew it, and when."""

    __tablename__ = "notice_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))


class LeafletCampaign(Base):
    """A run of printed leaflets (宣传折页) handed out in an area, with or without a notice."""

    __tablename__ = "leaflet_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(100))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"))
    copies: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeafletDelivery(Base):
    """One household of a grid reached by a campaign: once per household per campaign."""

    __tablename__ = "leaflet_delivery"
    __table_args__ = (
        UniqueConstraint("campaign_id", "grid_id", "household_key"),
        Index("ix_leaflet_delivery_grid", "grid_id", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("leaflet_campaign.id"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    grid_path: Mapped[str] = mapped_column(String(255), index=True)
    # The door as entered (shown), and its normalised form (the uniqueness key).
    household: Mapped[str] = mapped_column(String(100))
    household_key: Mapped[str] = mapped_column(String(100))
    copies: Mapped[int] = mapped_column(Integer, default=1)
    delivered_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime)
