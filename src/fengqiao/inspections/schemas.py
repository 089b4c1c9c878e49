"""The inspections' request and answer bodies; every request field bounded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from fengqiao.bounds import PatchModel, RequestModel

RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Result = Literal["met", "partly", "not_met"]
MEMBERS_MAX = 30
TOWNS_MAX = 100
ITEMS_MAX = 120  # as many as a standard version holds
DEADLINE_DAYS_MAX = 90


class GroupIn(RequestModel):
    name: str = Field(min_length=1, max_length=50, pattern=r"\S")
    member_ids: list[RowId] = Field(default_factory=list, max_length=MEMBERS_MAX)
    town_ids: list[RowId] = Field(default_factory=list, max_length=TOWNS_MAX)


class GroupPatch(PatchModel):
    """Rename a group, or set its members or towns (the whole list); left out, kept."""

    name: str | None = Field(None, min_length=1, max_length=50, pattern=r"\S")
    member_ids: list[RowId] | None = Field(None, max_length=MEMBERS_MAX)
    town_ids: list[RowId] | None = Field(None, max_length=TOWNS_MAX)
    version: int = Field(ge=1, le=2**31 - 1)


class ItemScoreIn(RequestModel):
    item_id: RowId
    result: Result
    note: str | None = Field(None, max_length=500)
    owner_unit_id: RowId | None = Field(
        None, description="Who rectifies a failed item (a unit of the town); else the town."
    )
    deadline_days: int | None = Field(
        None, ge=1, le=DEADLINE_DAYS_MAX, description="Working days to rectify (default 10)."
    )


class RoundIn(RequestModel):
    group_id: RowId
    town_id: RowId
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    held_on: date | None = Field(None, description="The day of the visit (default: today).")
    note: str | None = Field(None, max_length=1000)
    scores: list[ItemScoreIn] = Field(max_length=ITEMS_MAX, description="Every item, once.")


class SelfItemIn(RequestModel):
    item_id: RowId
    result: Result
    note: str | None = Field(None, max_length=500)
    evidence: str | None = Field(None, max_length=500, description="What the town shows.")


class SelfAssessmentIn(RequestModel):
    town_id: RowId
    year: int = Field(ge=2000, le=2100)
    scores: list[SelfItemIn] = Field(max_length=ITEMS_MAX)
    submit: bool = Field(False, description="Submit at once (a submitted one is final).")


class PersonOut(BaseModel):
    id: int
    name: str


class PlaceOut(BaseModel):
    id: int
    name: str


class TownOut(BaseModel):
    id: int
    name: str
    code: str  # the org code the unit list filters by


class GroupOut(BaseModel):
    id: int
    name: str
    position: int
    version: int
    members: list[PersonOut]
    towns: list[TownOut]


class RoundItemOut(BaseModel):
    item_id: int
    aspect: str
    aspect_name: str
    text: str
    weight: float
    evidence: str
    result: str
    result_name: str
    score: float
    note: str | None
    rectification: dict[str, Any] | None = None


class RoundOut(BaseModel):
    id: int
    group: PlaceOut
    town: PlaceOut
    standard_version: dict[str, Any]
    month: str
    held_on: date
    score: float
    note: str | None
    created_by: PersonOut | None
    created_at: datetime
    failed: int
    rectifications_open: int
    items: list[RoundItemOut] = []
    trail: list[dict[str, Any]] = []


class MissingOut(BaseModel):
    month: str
    towns: list[dict[str, Any]]


class SelfAssessmentOut(BaseModel):
    id: int
    town: PlaceOut
    year: int
    standard_version: dict[str, Any]
    score: float
    status: str
    status_name: str
    version: int
    created_by: PersonOut | None
    submitted_by: PersonOut | None
    submitted_at: datetime | None
    items: list[dict[str, Any]] = []


class TownSummaryOut(BaseModel):
    town: PlaceOut
    group: PlaceOut | None
    rounds: int
    round_score: float | None
    rectifications: int
    rectifications_open: int
    rectification_rate: float | None
    self_assessment: float | None


class RectificationOut(BaseModel):
    code: str
    title: str
    town: PlaceOut | None
    round_id: int | None
    status: str
    light: str | None
    due_at: datetime
    done_at: datetime | None
    evidence_required: bool
