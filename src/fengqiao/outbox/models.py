"""The outbox table every outbound message passes through."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

# expired: a time-bound message (a reminder) whose moment passed before it could be sent; the
# sender drops it and says why in `error` (notify/sender.py).
OUTBOX_STATUSES = ("pending", "sent", "dead", "expired")
OUTBOX_STATUS_ZH = {
    "pending": "待发送",
    "sent": "已发送",
    "dead": "发送失败",
    "expired": "已过期未发",
}
# A row's channel: the kind of message a plugin delivers (see notify/channels.py).
CHANNEL_ZH = {"sms": "短信", "email": "邮件", "app": "站内消息", "log": "日志"}
# Rows the sender still has to try; its partial index holds only these.
OUTBOX_PENDING_SQL = "status = 'pending'"


class Outbox(Base):
    """One message to one recipient on one channel, written in the transaction that caused it.

    `dedupe_key` is unique: a second attempt to queue the same message (a reminder for the same
    deadline, say) is dropped by the database, so it can never be sent twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            sqlite_where=text(OUTBOX_PENDING_SQL),
            postgresql_where=text(OUTBOX_PENDING_SQL),
        ),
        Index("ix_outbox_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms, email, app, log
    recipient: Mapped[str] = mapped_column(String(255))  # phone, address or user id
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    template: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    # The event's district, else the recipient's home district (org/districts.py).
    district_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The claim being sent now: its fencing token and the wall-clock end of its lease
    # (notify/sender.py); both cleared when the result is written.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The request that queued it (logs.py): the worker logs the send under the same id.
    request_id: Mapped[str | None] = mapped_column(String(64))
