"""The administrative tree (province → city → district → town → village → grid) and the units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime, utcnow

ORG_KINDS = ("province", "city", "district", "town", "village", "grid")
# The words of an org unit's level (its kind), as pages, charts and rankings show it.
ORG_LEVEL_ZH = {
    "province": "省",
    "city": "市",
    "district": "区",
    "town": "镇街",
    "village": "村社",
    "grid": "网格",
}


def area_word(kind: str, name: str) -> str:
    """The level word of one unit by its kind and name: a district named …县 is a 县, one named
    …市 a 县级市 (a county-level city), any other a 区; other kinds as `ORG_LEVEL_ZH`."""
    if kind == "district":
        if name.endswith(("县", "旗")):
            return "县"
        return "县级市" if name.endswith("市") else "区"
    return ORG_LEVEL_ZH.get(kind, "")


def level_words(kind: str, name: str) -> str:
    """ "市级", "区级", "县级" …: the level of a command center or leader homed at this unit, as
    the texts name it (a county-level city's is 市级, as it calls itself)."""
    if kind == "district":
        return {"县": "县级", "县级市": "市级"}.get(area_word(kind, name), "区级")
    return {"province": "省级", "city": "市级", "town": "镇街", "village": "村社"}.get(kind, "")


# GB/T 2260: province, city and district share 6 digits (330000, 330600, 330603); the suffix
# tells them apart (fengqiao.org.codes.kind_of_code).
CODE_LENGTH = {"province": 6, "city": 6, "district": 6, "town": 9, "village": 12, "grid": 15}
AREA_TYPES = ("urban", "rural")
AREA_TYPE_ZH = {"urban": "城市", "rural": "农村"}
VILLAGE_TYPES = ("village", "community")
GRID_TYPES = ("residential", "market", "enterprise", "school")
GRID_TYPE_ZH = {"residential": "住宅", "market": "市场", "enterprise": "企业园区", "school": "学校"}
PLATFORMS = ("governance", "market", "enforcement", "service")
PLATFORM_ZH = {
    "governance": "综治工作",
    "market": "市场监管",
    "enforcement": "综合执法",
    "service": "便民服务",
}

# The standard kinds of responsible unit of the four-platforms model (a unit's `unit_type`); a
# type not listed here is shown by its code.
UNIT_TYPE_ZH = {
    "law_enforcement_squadron": "综合行政执法中队",
    "market_supervision_office": "市场监督管理所",
    "police_station": "派出所",
    "justice_office": "司法所",
    "natural_resources_office": "自然资源所",
    "ecology_station": "生态环境监管站",
    "traffic_police_squadron": "交警中队",
    "fire_rescue_station": "消防救援站",
    "emergency_management_station": "应急管理站",
    "human_resources_office": "人力社保所",
    "tax_branch": "税务分局",
    "power_supply_office": "供电所",
    "comprehensive_governance_office": "综治办（平安办）",
    "petition_office": "信访办",
    "civil_affairs_office": "民政办",
    "urban_construction_office": "城建办",
    "agriculture_office": "农业农村办（河长办）",
    "platform_coordination_group": "平台协调组",
    "village_committee": "村（居）委会",
    "petition_bureau": "区信访局",
    "command_center": "综合信息指挥中心",
    "law_enforcement_bureau": "区综合行政执法局",
    "market_supervision_bureau": "区市场监督管理局",
    "public_security_bureau": "公安分局",
    "ecology_bureau": "区生态环境分局",
    "housing_construction_bureau": "区住房和城乡建设局",
    "civil_affairs_bureau": "区民政局",
    "human_resources_bureau": "区人力社会保障局",
    "emergency_management_bureau": "区应急管理局",
    "natural_resources_bureau": "区自然资源和规划分局",
    "transport_bureau": "区交通运输局",
}


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
