"""A meeting session (会商) held in a room, and who took part. A room is no row of its own: it
is the org unit (district, town or village) whose room it is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

# How a party left: pressed 离开; its page's connection was lost; the session was closed.
LEFT_HOW = ("left", "dropped", "closed")


class RoomSession(Base):
    """One meeting in one room: who opened it, when, about what, whom it invited."""

    __tablename__ = "room_session"
    __table_args__ = (Index("ix_room_session_org_opened", "org_id", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    # The room's org path, so scope is the same subtree test as everywhere else.
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(100))
    opened_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The rooms (org unit ids) invited, and the events and warnings the meeting is about.
    invited_org_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    event_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warning_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)


class RoomParticipant(Base):
    """One party's time in a session: from joining to leaving (a page that joined)."""

    __tablename__ = "room_participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("room_session.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_how: Mapped[str | None] = mapped_column(String(16))
