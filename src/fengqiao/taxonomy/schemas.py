"""Request and response shapes of the taxonomy, routing-rule, SLA-policy and calendar API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class MajorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str
    platform: str


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    major_code: str
    name_zh: str
    name_en: str
    platform: str
    default_unit_type: str
    default_level: int
    filing_condition: str
    closing_condition: str
    national_code: str | None
    active: bool


class CategoryList(BaseModel):
    majors: list[MajorOut]
    categories: list[CategoryOut]


class CategoryPatch(BaseModel):
    """Fields an administrator may change; the code is stable."""

    model_config = ConfigDict(extra="forbid")

    name_zh: str | None = Field(None, min_length=1, max_length=64)
    name_en: str | None = Field(None, max_length=100)
    platform: str | None = None
    default_unit_type: str | None = Field(None, min_length=1, max_length=48)
    default_level: int | None = Field(None, ge=1, le=4)
    filing_condition: str | None = None
    closing_condition: str | None = None
    national_code: str | None = None
    active: bool | None = None


class CategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\d{4,6}$")
    major_code: str
    name_zh: str = Field(min_length=1, max_length=64)
    name_en: str = ""
    default_unit_type: str = Field(min_length=1, max_length=48)
    default_level: int = Field(ge=1, le=4)
    filing_condition: str = ""
    closing_condition: str = ""
    national_code: str | None = None


class RuleIn(BaseModel):
    """A routing rule; null match fields mean "any"; name a unit type or a unit."""

    model_config = ConfigDict(extra="forbid")

    position: int | None = None
    category_code: str | None = None
    major_code: str | None = None
    town_id: int | None = None
    level: int | None = Field(None, ge=1, le=4)
    unit_type: str | None = None
    unit_id: int | None = None
    note: str | None = None
    active: bool | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    category_code: str | None
    major_code: str | None
    town_id: int | None
    level: int | None
    unit_type: str | None
    unit_id: int | None
    note: str
    active: bool


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int | None = Field(None, ge=1, le=4)
    category_code: str | None = None
    urgent: bool | None = None
    limit_value: float | None = Field(None, ge=0)
    limit_unit: str | None = None
    remind_before_hours: float | None = Field(None, ge=0)
    yellow_ratio: float | None = Field(None, gt=0, le=1)


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    level: int | None
    category_code: str | None
    urgent: bool
    limit_value: float
    limit_unit: str
    remind_before_hours: float | None
    yellow_ratio: float


class CalendarDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_working: bool
    note: str = Field("", max_length=100)


class CalendarDayOut(BaseModel):
    day: date
    is_working: bool
    source: str = Field(description="override or official")
    note: str = ""
