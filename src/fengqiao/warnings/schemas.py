"""What the warnings API takes and gives."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from fengqiao.bounds import RequestModel
from fengqiao.events.schemas import Ref


class AckIn(RequestModel):
    note: str = Field("", max_length=2000, description="What the town or unit will do (optional).")


class WarningStepOut(BaseModel):
    """One follow-up on a warning's history."""

    at: datetime
    step: str = Field(description="reminded, climbed (to the district) or lapsed.")
    step_name: str
    told: int = Field(description="How many people were told.")


class WarningOut(BaseModel):
    id: int
    kind: str = Field(description="spike, cluster, repeat or backlog.")
    kind_name: str
    place: Ref = Field(description="The village (or the backlogged unit's org unit).")
    town: Ref | None
    unit: Ref | None = Field(description="The unit concerned.")
    category_code: str | None = Field(description="Minor (4 digits) or major (2 digits) class.")
    category_name: str
    lat: float | None
    lng: float | None
    window_start: datetime
    window_end: datetime
    observed: int
    expected: float
    score: float
    p_value: float | None
    message: str = Field(description="The warning in plain Chinese, as pushed.")
    statistics: str = Field(
        description="A details line for analysts: a spike's expectation and tail probability, "
        "or the line a count crossed."
    )
    event_ids: list[int] = Field(description="The related events' ids (at most 100 kept).")
    events: list[Ref] = Field(
        description="The first related events the caller may read, by code (at most 20)."
    )
    event_count: int = Field(description="How many related events there were.")
    created_at: datetime
    status: str = Field(description="open or acknowledged.")
    status_name: str
    acknowledged_by: Ref | None
    acknowledged_at: datetime | None
    note: str | None
    pushed_to: int = Field(description="How many people the warning was pushed to.")
    level: str = Field(description="town, or district once it climbed.")
    level_name: str
    remind_at: datetime | None = Field(description="When it is reminded unless acknowledged.")
    climb_at: datetime | None = Field(description="When it climbs unless acknowledged.")
    reminded_at: datetime | None
    climbed_at: datetime | None
    history: list[WarningStepOut]
