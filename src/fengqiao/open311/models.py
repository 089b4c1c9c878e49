"""Open311 requests (the resident's personal data, kept apart from the event) and refusal counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime


class Open311Request(Base):
    """One event filed through Open311: its token, and what the resident told us about
    themselves. Personal fields are stored for staff and never returned by the Open311 API.

    `created_at` repeats the event's: `GET requests` walks this narrow table by time (a small
    index) instead of the big event table's created index, then reads the events by key.
    """

    __tablename__ = "open311_request"
    __table_args__ = (Index("ix_open311_request_created", "created_at", "event_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    service_code: Mapped[str] = mapped_column(String(16))
    api_key_prefix: Mapped[str] = mapped_column(String(16))
    media_url: Mapped[str | None] = mapped_column(String(2000))
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64))
    # Personal data of the resident (never in an Open311 response).
    email: Mapped[str | None] = mapped_column(String(200))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    device_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(200))
    address_id: Mapped[str | None] = mapped_column(String(200))
    address_string: Mapped[str | None] = mapped_column(Text)
    # The id handed out (NULL: filed before migration 0031, its id is the event's code).
    public_id: Mapped[str | None] = mapped_column(String(24), unique=True)
    media_urls: Mapped[list[str] | None] = mapped_column(JSON)
    # Fields and attribute answers the service's definition does not know: kept, not refused.
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    located_by: Mapped[str | None] = mapped_column(String(16))  # lat_long|address_string|address_id


class Open311Refusal(Base):
    """How many Open311 calls were refused for one reason on one local day."""

    __tablename__ = "open311_refusal"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # yyyy-mm-dd, Asia/Shanghai
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
