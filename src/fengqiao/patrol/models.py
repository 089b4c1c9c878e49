"""Positions sent by grid workers' phones, and the patrols they walk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime

# A worker has at most one open patrol; its partial unique index holds only open ones.
PATROL_OPEN_SQL = "ended_at IS NULL"


class Patrol(Base):
    """One patrol (巡查) from start to stop, with totals kept up to date as positions arrive.

    `home_path` is the worker's home org path when the patrol started: lists are scoped on it
    without a join. `last_*` is the last good point, from which the next batch's distance is
    measured (see patrol/tracks.py).
    """

    __tablename__ = "patrol"
    __table_args__ = (
        Index("ix_patrol_user_started", "user_id", "started_at"),
        Index("ix_patrol_started", "started_at"),
        Index(
            "ix_patrol_open_user",
            "user_id",
            unique=True,
            sqlite_where=text(PATROL_OPEN_SQL),
            postgresql_where=text(PATROL_OPEN_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    home_path: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=0)
    grids: Mapped[list[int]] = mapped_column(JSON, default=list)
    first_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_lng: Mapped[float | None] = mapped_column(Float)


class Position(Base):
    """One GPS fix of a worker, stored in WGS-84 with the grid it lies in.

    (user_id, at) is unique: a phone that resends a batch after a lost response stores nothing
    twice. The same index answers "the latest position of each worker" and "a worker's day";
    the index on `at` finds the workers seen in a recent window (the one-map's live layer).
    """

    __tablename__ = "position"
    __table_args__ = (
        Index("ix_position_user_at", "user_id", "at", unique=True),
        Index("ix_position_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float)  # metres
    speed: Mapped[float | None] = mapped_column(Float)  # metres per second
    patrol_id: Mapped[int | None] = mapped_column(ForeignKey("patrol.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # The grid's district (org/districts.py); the worker's home district off every grid.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
