"""The event taxonomy (major and minor classes), the ordered routing rules, and each class's
extra questions and the business modules offering classes, as rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from fengqiao.db import Base, UTCDateTime, utcnow

# An event's level (一级 to 四级): a class's default level, a routing rule's match, the event's own.
EVENT_LEVELS = (1, 2, 3, 4)
EVENT_LEVEL_ZH = {
    1: "一级（网格自办）",
    2: "二级（村社/单位）",
    3: "三级（镇街）",
    4: "四级（区县级）",
}
EVENT_LEVEL_SHORT_ZH = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


class CategoryMajor(Base):
    """A major class (大类), e.g. 矛盾纠纷, on one of the four platforms."""

    __tablename__ = "category_major"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(16))


class Category(Base):
    """A minor class (小类): the class an event is filed under."""

    __tablename__ = "category"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    major_code: Mapped[str] = mapped_column(ForeignKey("category_major.code"), index=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(16))
    default_unit_type: Mapped[str] = mapped_column(String(48))
    default_level: Mapped[int] = mapped_column(Integer)
    filing_condition: Mapped[str] = mapped_column(Text, default="")
    closing_condition: Mapped[str] = mapped_column(Text, default="")
    national_code: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # 反馈 needs at least one photo of the handling (a class whose work leaves nothing to
    # photograph, a consultation say, turns it off).
    feedback_photo_required: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingRule(Base):
    """One routing rule (归口): a match on class/major, town and level → a unit type or a unit.

    Null match fields mean "any"; rules are tried by ascending `position`, first match wins.
    """

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
    category_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    major_code: Mapped[str | None] = mapped_column(ForeignKey("category_major.code"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # A district's own rule (its override of the shared ones, tried by position like them).
    district_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    level: Mapped[int | None] = mapped_column(Integer)
    unit_type: Mapped[str | None] = mapped_column(String(48))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    # 联合执法: the unit types that assist the lead (协办), each resolved near the event as the
    # lead's type is; empty for a rule that names one unit.
    assist_unit_types: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class IntakeModule(Base):
    """A business module (民情通, 食安通, 智慧安监, 河长通): a preset over the one event center —
    the classes it offers, its search words and an optional field checklist."""

    __tablename__ = "intake_module"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"code", "text", "category", "hint"}]: a failed item files an event of `category`.
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    checklist_title: Mapped[str] = mapped_column(String(64), default="")
    # What a checklist run is about (河道(河段)), and the class question it answers (`river`).
    subject_label: Mapped[str] = mapped_column(String(32), default="")
    subject_question: Mapped[str | None] = mapped_column(String(32))


class IntakeQuestion(Base):
    """One extra question of a class, asked in the app and served as an Open311 attribute."""

    __tablename__ = "intake_question"
    __table_args__ = (
        UniqueConstraint("category_code", "code", name="uq_intake_question_category_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    code: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
    datatype: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(200))
    values: Mapped[list[list[str]]] = mapped_column(JSON, default=list)  # [[key, name], ...]


class ClassOverride(Base):
    """A district's own settings for a shared class, without copying the taxonomy: turned off
    for its events, its owner unit type, its time limit in hours. None: the shared setting.

    The snapshot (`taxonomy.snapshot.load_rules`) turns the owner type into the first of the
    district's own routing rules and the hours into the district's strongest SLA row for the
    class, so routing and deadlines read it through the same district mechanism."""

    __tablename__ = "class_override"
    __table_args__ = (UniqueConstraint("district_id", "category_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    unit_type: Mapped[str | None] = mapped_column(String(48))
    limit_hours: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
