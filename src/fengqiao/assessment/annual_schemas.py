"""What the annual assessment's and the benchmark towns' APIs take and return; every request
field bounded (weights are maps of at most a handful of short keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from fengqiao.bounds import RequestModel

Key = Annotated[str, StringConstraints(max_length=32)]
Weight = Annotated[float, Field(ge=0, le=100)]
WeightMap = Annotated[dict[Key, Weight], Field(max_length=8)]
Year = Annotated[int, Field(ge=2000, le=2100)]
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class SchemeIn(RequestModel):
    """A year's scheme; each set of weights must name all its components and sum to 100."""

    year: Year
    weights: WeightMap = Field(
        description="Towns: events, rounds, rectification, campaigns, meetings, decisions."
    )
    department_weights: WeightMap = Field(description="Departments: evaluation, events.")
    benchmark_weights: WeightMap = Field(
        description="Benchmark towns: self_assessment, rounds, effect, satisfaction."
    )
    benchmark_count: int = Field(6, ge=1, le=30, description="How many benchmark towns.")
    version: int = Field(
        0, ge=0, le=2**31 - 1, description="The version read (0 for a year not stored yet)."
    )


class YearStep(RequestModel):
    year: Year
    version: int = Field(ge=1, le=2**31 - 1)


class EvaluationIn(RequestModel):
    """A department's evaluation of the year by the area that judges it."""

    year: Year
    score: float = Field(ge=0, le=100)
    note: str | None = Field(None, max_length=500)
    version: int = Field(0, ge=0, le=2**31 - 1, description="0 for a first evaluation.")


class BenchmarkConfirmIn(RequestModel):
    year: Year
    town_ids: list[RowId] = Field(max_length=30, description="The benchmark towns, best first.")
    note: str | None = Field(None, max_length=500)


class SchemeOut(BaseModel):
    year: int
    stored: bool = Field(description="False: no scheme stored yet, the defaults apply.")
    status: str = Field(description="open (editable) or closed.")
    status_name: str
    weights: dict[str, float]
    department_weights: dict[str, float]
    benchmark_weights: dict[str, float]
    benchmark_count: int
    names: dict[str, str] = Field(description="The Chinese name of every component.")
    version: int
    updated_by: str | None
    updated_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    can_edit: bool = Field(description="The caller may change the scheme (and close the year).")


class PartOut(BaseModel):
    key: str
    name: str
    raw: float | None = Field(description="The input as given (a rate 0-1 or a score 0-100).")
    basis: str = Field(description="What the raw value is made of, in Chinese.")
    score: float | None = Field(description="0-100; None: no data, not counted.")
    weight: float
    share: float | None = Field(description="The weight among the weights of the parts counted.")
    points: float | None = Field(description="What the part adds; the points add up to total.")


class ReportOut(BaseModel):
    kind: str = Field(description="town, agency (派驻机构) or district_department (区级部门).")
    id: int
    name: str
    area: str
    area_id: int
    total: float | None
    grade: str | None
    rank: int | None = Field(description="Among towns; a department among those of its area.")
    formula: str = Field(description="The total's formula in words and numbers.")
    parts: list[PartOut]
    evaluation_note: str | None = None
    evaluation_version: int = 0
    can_evaluate: bool = False


class DistrictOut(BaseModel):
    id: int
    name: str


class AnnualOut(BaseModel):
    district: DistrictOut | None = Field(None, description="The district assessed.")
    districts: list[DistrictOut] = Field(
        default_factory=list, description="The districts the caller may choose (`district`)."
    )
    year: int
    partial: bool = Field(description="True while the year runs.")
    months: int = Field(description="Months of the year counted so far (the last maybe in part).")
    counted: str = Field(default="", description="Which months and days are counted, in words.")
    missing_inputs: list[str] = Field(description="Inputs not wired in this installation.")
    scheme: SchemeOut
    towns: list[ReportOut]
    departments: list[ReportOut]


class BenchmarkOut(BaseModel):
    district: DistrictOut | None = Field(None, description="The district whose towns are ranked.")
    districts: list[DistrictOut] = Field(
        default_factory=list, description="The districts the caller may choose (`district`)."
    )
    year: int
    scheme: SchemeOut
    missing_inputs: list[str]
    standings: list[ReportOut]
    proposed: list[int] = Field(description="The best benchmark_count towns with a total.")
    proposed_names: list[str] = Field(
        default_factory=list, description="Their names (every reader sees the proposal)."
    )
    confirmed: list[int] | None = Field(description="The confirmed list; None: not yet.")
    confirmed_by: str | None
    confirmed_at: datetime | None
    confirmed_note: str | None
    confirmed_names: list[str]
    confirmed_standings: list[dict[str, object]] = Field(
        description="The standings as they stood when the list was confirmed."
    )
    can_confirm: bool
