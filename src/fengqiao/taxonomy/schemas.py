"""Request and response shapes of the taxonomy and routing-rule API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.bounds import PatchModel, RequestModel


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
    feedback_photo_required: bool = Field(
        description="反馈 needs at least one photo of the handling (kind after)."
    )


class CategoryList(BaseModel):
    majors: list[MajorOut]
    categories: list[CategoryOut]


class CategoryPatch(PatchModel):
    """Fields an administrator may change; the code is stable. Only `national_code` may be
    cleared with null."""

    model_config = ConfigDict(extra="forbid")
    clearable = frozenset({"national_code"})

    name_zh: str | None = Field(None, min_length=1, max_length=64)
    name_en: str | None = Field(None, max_length=100)
    platform: str | None = Field(None, max_length=32)
    default_unit_type: str | None = Field(None, min_length=1, max_length=48)
    default_level: int | None = Field(None, ge=1, le=4)
    filing_condition: str | None = Field(None, max_length=2000)
    closing_condition: str | None = Field(None, max_length=2000)
    national_code: str | None = Field(None, max_length=32)
    active: bool | None = None
    feedback_photo_required: bool | None = Field(
        None, description="Whether 反馈 needs at least one photo of the handling."
    )


class CategoryCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=6, pattern=r"^\d{4,6}$")
    major_code: str = Field(max_length=16)
    name_zh: str = Field(min_length=1, max_length=64)
    name_en: str = Field("", max_length=100)
    default_unit_type: str = Field(min_length=1, max_length=48)
    default_level: int = Field(ge=1, le=4)
    filing_condition: str = Field("", max_length=2000)
    closing_condition: str = Field("", max_length=2000)
    national_code: str | None = Field(None, max_length=32)
    feedback_photo_required: bool = Field(
        True, description="Whether 反馈 needs at least one photo of the handling."
    )


class RuleIn(PatchModel):
    """A routing rule; null match fields mean "any"; name a unit type or a unit. `position`,
    `note` and `active` may be left out but not set to null."""

    model_config = ConfigDict(extra="forbid")
    clearable = frozenset(
        {"category_code", "major_code", "town_id", "district_id", "level", "unit_type", "unit_id"}
    )

    position: int | None = Field(None, ge=0, le=1_000_000)
    category_code: str | None = Field(None, max_length=16)
    major_code: str | None = Field(None, max_length=16)
    town_id: int | None = None
    district_id: int | None = Field(
        None, description="A district's own rule: only its events, tried before shared rules."
    )
    level: int | None = Field(None, ge=1, le=4)
    unit_type: str | None = Field(None, max_length=48)
    unit_id: int | None = None
    assist_unit_types: list[Annotated[str, Field(min_length=1, max_length=48)]] | None = Field(
        None, max_length=8, description="联合执法: unit types that assist the lead (协办)."
    )
    note: str | None = Field(None, max_length=200)
    active: bool | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    category_code: str | None
    major_code: str | None
    town_id: int | None
    district_id: int | None = None
    level: int | None
    unit_type: str | None
    unit_id: int | None
    assist_unit_types: list[str] = []
    note: str
    active: bool


class ClassOverrideIn(PatchModel):
    """A district's own settings for a shared class: `enabled` false turns the class off for
    its events; `unit_type` and `limit_hours` (null: the shared setting) replace its owner unit
    type and its time limit there. `district_id` and `category_code` name the row on creation
    and cannot change."""

    model_config = ConfigDict(extra="forbid")
    clearable = frozenset({"unit_type", "limit_hours"})

    district_id: int | None = Field(None, ge=1, le=2**31 - 1)
    category_code: str | None = Field(None, min_length=1, max_length=16)
    enabled: bool | None = None
    unit_type: str | None = Field(None, min_length=1, max_length=48)
    limit_hours: float | None = Field(None, gt=0, le=8760)
    note: str | None = Field(None, max_length=200)


class ClassOverrideOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    district_id: int
    district_name: str = ""
    category_code: str
    category_name: str = ""
    enabled: bool
    unit_type: str | None
    limit_hours: float | None
    note: str
