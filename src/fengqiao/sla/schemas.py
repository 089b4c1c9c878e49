"""Request and response shapes of the SLA-policy and working-calendar API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.bounds import PatchModel, RequestModel


class PolicyIn(PatchModel):
    """A deadline policy; null `level` or `category_code` means "any", a null
    `remind_before_hours` means no reminder; the other fields may not be null."""

    model_config = ConfigDict(extra="forbid")
    clearable = frozenset({"level", "category_code", "remind_before_hours", "district_id"})

    level: int | None = Field(None, ge=1, le=4)
    category_code: str | None = Field(None, max_length=16)
    urgent: bool | None = None
    limit_value: float | None = Field(None, ge=0, le=100_000)
    limit_unit: str | None = Field(None, max_length=16)
    remind_before_hours: float | None = Field(None, ge=0, le=100_000)
    yellow_ratio: float | None = Field(None, gt=0, le=1)
    district_id: int | None = Field(
        None, description="A district's own limit, for its events only (beats the shared row)."
    )


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
    district_id: int | None = None


class CalendarDayIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    is_working: bool
    note: str = Field("", max_length=100)


class CalendarDayOut(BaseModel):
    day: date
    is_working: bool
    source: str = Field(description="override or official")
    note: str = ""
