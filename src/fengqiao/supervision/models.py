"""Supervision orders (督办单): a demand on a responsible unit about one event, with a reply due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

ORDER_KINDS = ("overdue", "leader", "important")
ORDER_STATUSES = ("open", "replied")
ORDER_KIND_ZH = {"overdue": "超期", "leader": "领导", "important": "重要事项"}
ORDER_STATUS_ZH = {"open": "待回复", "replied": "已回复"}


class SupervisionOrder(Base):
    __tablename__ = "supervision_order"
    __table_args__ = (
        Index("ix_supervision_order_town_issued", "town_id", "issued_at"),
        Index("ix_supervision_order_unit_status", "unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # DB- + the event code + n
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    # Denormalised from the event, so lists filter and scope without a join.
    town_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: system
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requirement: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default="open")
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
