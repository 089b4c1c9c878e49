"""The administrative tree (district → town → village → grid) and the responsible units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime, utcnow

ORG_KINDS = ("district", "town", "village", "grid")
CODE_LENGTH = {"district": 6, "town": 9, "village": 12, "grid": 15}
AREA_TYPES = ("urban", "rural")
VILLAGE_TYPES = ("village", "community")
GRID_TYPES = ("residential", "market", "enterprise", "school")
PLATFORMS = ("governance", "market", "enforcement", "service")


class OrgUnit(Base):
    """One node of the administrative tree; grids are its leaves."""

    __tablename__ = "org_unit"
    # Pattern ops let PostgreSQL answer `path LIKE '/1/5/%'` from the index under any collation.
    __table_args__ = (
        Index("ix_org_unit_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # "/1/5/77/": ids from the root; a subtree is every row whose path starts with a prefix.
    path: Mapped[str] = mapped_column(String(255))
    area_type: Mapped[str | None] = mapped_column(String(8))
    village_type: Mapped[str | None] = mapped_column(String(16))
    grid_type: Mapped[str | None] = mapped_column(String(16))
    households: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(Integer)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    min_lng: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lng: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Unit(Base):
    """A responsible unit (责任单位): agency, town office, village committee, district department."""

    __tablename__ = "unit"
    __table_args__ = (Index("ix_unit_org_type", "org_unit_id", "unit_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    unit_type: Mapped[str] = mapped_column(String(48), index=True)
    category: Mapped[str] = mapped_column(String(24))  # agency/town_office/village_committee/...
    platform: Mapped[str | None] = mapped_column(String(16))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    phone: Mapped[str | None] = mapped_column(String(32))
    duty_phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)


class ChangeCounter(Base):
    """Named counters that caches in every instance compare against (e.g. `grids`)."""

    __tablename__ = "change_counter"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
