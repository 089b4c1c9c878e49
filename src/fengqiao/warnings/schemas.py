"""What the warnings API takes and gives."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from fengqiao.bounds import RequestModel
from fengqiao.events.schemas import Ref


class AckIn(RequestModel):
    note: str = Field("", max_length=2000, description="What the town or unit will do (optional).")


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
    message: str
    event_ids: list[int]
    created_at: datetime
    status: str = Field(description="open or acknowledged.")
    status_name: str
    acknowledged_by: Ref | None
    acknowledged_at: datetime | None
    note: str | None
    pushed_to: int = Field(description="How many people the warning was pushed to.")
