"""The service catalogue (最多跑一次) and residents' proxy requests (代办) with their trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

LEVELS = ("village", "town", "district", "online")
SERVICE_LEVEL_ZH = {"village": "村（社区）代办点", "town": "镇（街道）便民服务中心",
                    "district": "区行政服务中心", "online": "网上办（浙里办）"}  # fmt: skip
# A proxy request still waits for someone in these states; the partial index below holds only
# them (queries repeat the text literally so SQLite uses it).
PROXY_OPEN_STATES = ("requested", "taken", "submitted")
PROXY_OPEN_SQL = f"status IN ({', '.join(repr(s) for s in PROXY_OPEN_STATES)})"
PROXY_REMINDER_PENDING_SQL = f"{PROXY_OPEN_SQL} AND reminded_at IS NULL"


class ServiceItem(Base):
    """One item of the catalogue: where it can be done, what to bring, how long, what it costs."""

    __tablename__ = "service_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    # Where it can be handled: the village service point (代办点), the town's service centre
    # (便民服务中心), the district's administrative service centre, or online (浙里办).
    at_village: Mapped[bool] = mapped_column(Boolean, default=False)
    at_town: Mapped[bool] = mapped_column(Boolean, default=False)
    at_district: Mapped[bool] = mapped_column(Boolean, default=False)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    materials: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The legal time limit in working days; 0 means done on the spot (即办件).
    time_limit_days: Mapped[int] = mapped_column(Integer)
    fee: Mapped[str] = mapped_column(String(64), default="免费")
    unit_type: Mapped[str] = mapped_column(String(48))
    unit_name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    proxy_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Category, materials, description and tags as one text: the second column of the search
    # index (the name is the first, and ranks before it). Written by the service on every save.
    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProxyRequest(Base):
    """A resident's request that a grid worker handle a service item for them (代办)."""

    __tablename__ = "proxy_request"
    __table_args__ = (
        Index("ix_proxy_request_grid_created", "grid_id", "created_at"),
        Index("ix_proxy_request_village_created", "village_id", "created_at"),
        Index("ix_proxy_request_town_created", "town_id", "created_at"),
        Index("ix_proxy_request_resident_created", "resident_user_id", "created_at"),
        Index("ix_proxy_request_created", "created_at", "id"),
        Index(
            "ix_proxy_request_reminder_pending",
            "remind_at",
            sqlite_where=text(PROXY_REMINDER_PENDING_SQL),
            postgresql_where=text(PROXY_REMINDER_PENDING_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"), index=True)
    # The item as it was when asked for: editing the catalogue never rewrites a request.
    item_name: Mapped[str] = mapped_column(String(100))
    time_limit_days: Mapped[int] = mapped_column(Integer)
    resident_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resident_name: Mapped[str] = mapped_column(String(64))
    resident_phone: Mapped[str] = mapped_column(String(32))
    resident_id_number: Mapped[str | None] = mapped_column(String(18))
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    address: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    yellow_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    trail_seq: Mapped[int] = mapped_column(Integer, default=0)
    trail_hash: Mapped[str] = mapped_column(String(64), default="")


class ProxyRequestLog(Base):
    """One step of a proxy request's trail; rows are only ever inserted (triggers refuse the rest).

    Chained with the same SHA-256 rule as the event trail (events/trail.py `row_hash`).
    """

    __tablename__ = "proxy_request_log"
    __table_args__ = (UniqueConstraint("request_id", "seq", name="uq_proxy_request_log_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("proxy_request.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
