"""A campaign, its measures, the events tagged to it, the quantities their closings recorded,
the progress rollup the dashboard reads, and the campaign's trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

CAMPAIGN_STATUSES = ("active", "ended")
CAMPAIGN_STATUS_ZH = {"active": "进行中", "ended": "已结束"}
# The units a measure counts in: every one but m² counts things, one per closed event by default.
MEASURE_UNITS = ("家", "起", "处", "只", "辆", "个", "m²")
COUNT_UNITS = frozenset(MEASURE_UNITS) - {"m²"}
MEASURE_UNIT_ZH = {unit: ("平方米" if unit == "m²" else unit) for unit in MEASURE_UNITS}
TAG_HOWS = ("auto", "hand")
TAG_HOW_ZH = {"auto": "自动", "hand": "人工"}
CAMPAIGN_ACTIONS = ("create", "edit", "end", "tag", "untag", "quantities")
CAMPAIGN_ACTION_ZH = {
    "create": "创建", "edit": "修改", "end": "结束", "tag": "人工纳入事件",
    "untag": "人工移出事件", "quantities": "填报数量",
}  # fmt: skip


class Campaign(Base):
    """A campaign over some classes of events in an area (the district or towns) and a period."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(2000), default="")
    # The unit the campaign belongs to (the district, or the one town of a town's campaign): its
    # path decides who may see and change it.
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    # The towns covered (org ids); the district's campaign lists every town it covers.
    town_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The category codes (小类) whose events the campaign takes in.
    classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignMeasure(Base):
    """One measure of a campaign (e.g. 拆除违建, 处): the classes it counts, its target."""

    __tablename__ = "campaign_measure"
    __table_args__ = (UniqueConstraint("campaign_id", "name", "unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(4))
    classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    target: Mapped[float] = mapped_column(Float)
    # {town org id (as text): its share of the target}; empty when the target is not split.
    town_targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What one closed event adds when nobody entered a quantity (1 for count units, else 0).
    default_quantity: Mapped[float] = mapped_column(Float, default=1.0)


class CampaignEvent(Base):
    """An event tagged to a campaign: automatically (class, area, period) or by hand.

    A tag removed by hand stays as a row with `removed_at`, so the automatic tagging never puts
    it back; `counted` says whether its closing's quantities are in the rollup."""

    __tablename__ = "campaign_event"
    __table_args__ = (
        UniqueConstraint("campaign_id", "event_id"),
        Index("ix_campaign_event_uncounted", "counted", "event_id"),
        Index("ix_campaign_event_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    how: Mapped[str] = mapped_column(String(8))
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tagged_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    counted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The local day of the closing the rollup counted it on (None while not counted).
    counted_day: Mapped[date | None] = mapped_column(Date)


class CampaignQuantity(Base):
    """What one tagged event's closing achieved for one measure (entered, or the default)."""

    __tablename__ = "campaign_quantity"
    __table_args__ = (UniqueConstraint("campaign_id", "event_id", "measure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("campaign_measure.id"))
    quantity: Mapped[float] = mapped_column(Float)
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CampaignProgress(Base):
    """The rollup: done per campaign, measure, town and local day of closing (incremental)."""

    __tablename__ = "campaign_progress"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "measure_id", "town_id", "day"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    measure_id: Mapped[int] = mapped_column(ForeignKey("campaign_measure.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    day: Mapped[date] = mapped_column(Date)
    done: Mapped[float] = mapped_column(Float, default=0.0)
    events: Mapped[int] = mapped_column(Integer, default=0)


class CampaignCursor(Base):
    """How far the tagging job has read the events (by id): one row, name 'events'."""

    __tablename__ = "campaign_cursor"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)


class CampaignLog(Base):
    """The campaign's trail: who created, changed, ended it, tagged or untagged an event."""

    __tablename__ = "campaign_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    note: Mapped[str | None] = mapped_column(String(500))
