"""The campaigns' request and answer bodies; every request field bounded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from fengqiao.bounds import PatchModel, RequestModel

RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
ClassCode = Annotated[str, Field(min_length=1, max_length=16)]
Unit = Literal["家", "起", "处", "只", "辆", "个", "m²"]
Amount = Annotated[float, Field(ge=0, le=1e9)]
NAME_MAX = 100
MEASURE_NAME_MAX = 40
DESCRIPTION_MAX = 2000
MEASURES_MAX = 20
CLASSES_MAX = 50
TOWNS_MAX = 64
REASON_MAX = 500
PERIOD_DAYS_MAX = 732  # a campaign runs at most two years


class MeasureIn(RequestModel):
    name: str = Field(min_length=1, max_length=MEASURE_NAME_MAX, pattern=r"\S")
    unit: Unit
    classes: list[ClassCode] = Field(
        min_length=1, max_length=CLASSES_MAX, description="The campaign's classes it counts."
    )
    target: float = Field(gt=0, le=1e9)
    town_targets: dict[RowId, Amount] = Field(
        default_factory=dict, max_length=TOWNS_MAX, description="Town org id → its share."
    )
    default_quantity: Amount | None = Field(
        None, description="What a closing adds when nobody enters one (1 for count units, else 0)."
    )


class CampaignIn(RequestModel):
    name: str = Field(min_length=1, max_length=NAME_MAX, pattern=r"\S")
    description: str = Field("", max_length=DESCRIPTION_MAX)
    org_id: RowId = Field(description="The district or a town in the caller's scope.")
    town_ids: list[RowId] = Field(
        default_factory=list, max_length=TOWNS_MAX, description="The towns; empty: all of org."
    )
    classes: list[ClassCode] = Field(min_length=1, max_length=CLASSES_MAX)
    start_date: date
    end_date: date
    measures: list[MeasureIn] = Field(min_length=1, max_length=MEASURES_MAX)


class TargetIn(RequestModel):
    measure_id: RowId
    target: float = Field(gt=0, le=1e9)
    town_targets: dict[RowId, Amount] = Field(default_factory=dict, max_length=TOWNS_MAX)


class CampaignPatch(PatchModel):
    """Change a running campaign; a field left out is kept (null is refused)."""

    name: str | None = Field(None, min_length=1, max_length=NAME_MAX, pattern=r"\S")
    description: str | None = Field(None, max_length=DESCRIPTION_MAX)
    start_date: date | None = None
    end_date: date | None = None
    targets: list[TargetIn] | None = Field(None, max_length=MEASURES_MAX)
    version: int = Field(ge=1, le=2**31 - 1, description="The version read; a stale one is 409.")


class CampaignStep(RequestModel):
    version: int = Field(ge=1, le=2**31 - 1)


class TagIn(RequestModel):
    code: str = Field(min_length=1, max_length=32, description="The event's code.")
    reason: str = Field(min_length=1, max_length=REASON_MAX, pattern=r"\S")


class UntagIn(RequestModel):
    reason: str = Field(min_length=1, max_length=REASON_MAX, pattern=r"\S")


class QuantityIn(RequestModel):
    measure_id: RowId
    quantity: float = Field(ge=0, le=1e7)


class QuantitiesIn(RequestModel):
    quantities: list[QuantityIn] = Field(min_length=1, max_length=MEASURES_MAX)


class MeasureOut(BaseModel):
    id: int
    name: str
    unit: str
    unit_name: str
    classes: list[str]
    target: float
    town_targets: dict[str, float]
    default_quantity: float
    done: float
    expected_by_now: float


class TownOut(BaseModel):
    id: int
    name: str


class CampaignOut(BaseModel):
    id: int
    name: str
    description: str
    org_id: int
    org_name: str
    towns: list[TownOut]
    classes: list[str]
    class_names: list[str]
    start_date: date
    end_date: date
    status: str
    status_name: str
    version: int
    created_at: datetime
    ended_at: datetime | None = None
    measures: list[MeasureOut]
    progress: float = Field(description="Mean over the measures of done/target (0..1, capped).")
    can_end: bool = Field(
        default=False, description="Whether the caller may change or end it (its area covers it)."
    )


class TaggedEventOut(BaseModel):
    event_id: int
    code: str
    title: str
    town_id: int
    status: str
    how: str
    how_name: str
    tagged_at: datetime
    reason: str | None = None
    removed_at: datetime | None = None
    counted: bool
    quantities: dict[str, float] = Field(description="Measure id → quantity recorded.")


class SeriesPoint(BaseModel):
    day: date
    done: float
    expected: float


class MeasureSeries(BaseModel):
    measure_id: int
    name: str
    unit: str
    target: float
    done: float
    expected_by_now: float
    days: list[SeriesPoint]


class TownRow(BaseModel):
    town_id: int
    town_name: str
    measure_id: int
    target: float
    done: float
    expected_by_now: float


class DashboardOut(BaseModel):
    campaign: CampaignOut
    as_of: date
    measures: list[MeasureSeries]
    towns: list[TownRow]
    lagging: list[TownRow]
