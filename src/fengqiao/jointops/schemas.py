"""The joint operations' request and answer bodies; every request field bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from fengqiao.bounds import RequestModel

RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
UNITS_MAX = 20
EVENTS_MAX = 200
QUANTITIES_MAX = 20
RING_MAX = 200  # corners of an area
WINDOW_DAYS_MAX = 31


class Quantity(RequestModel):
    """One counted result: 取缔流动摊贩 12 处."""

    name: str = Field(min_length=1, max_length=40, pattern=r"\S")
    unit: str = Field(min_length=1, max_length=8, pattern=r"\S", description="家, 起, 处, m²...")
    value: float = Field(ge=0, le=1e9)


Corner = Annotated[
    list[Annotated[float, Field(ge=-180, le=180)]], Field(min_length=2, max_length=2)
]


class OperationIn(RequestModel):
    """A planned joint action: who (a lead and other units, how many people), where (a point or
    an area of the caller's town or district), when."""

    name: str = Field(min_length=1, max_length=100, pattern=r"\S")
    org_id: RowId = Field(description="The area: the district or a town in the caller's scope.")
    lead_unit_id: RowId = Field(description="The unit that leads (牵头).")
    unit_ids: list[RowId] = Field(
        default_factory=list, max_length=UNITS_MAX, description="The other units taking part."
    )
    people: int = Field(ge=1, le=10_000, description="How many people are sent.")
    place: str = Field(min_length=1, max_length=200, pattern=r"\S")
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    area: list[Corner] | None = Field(
        None, min_length=3, max_length=RING_MAX, description="[[lng, lat], ...]: a polygon ring."
    )
    starts_at: datetime
    ends_at: datetime
    event_ids: list[RowId] = Field(default_factory=list, max_length=EVENTS_MAX)

    @model_validator(mode="after")
    def _check(self) -> OperationIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must come after starts_at")
        if (self.ends_at - self.starts_at).days > WINDOW_DAYS_MAX:
            raise ValueError(f"a joint operation lasts at most {WINDOW_DAYS_MAX} days")
        if (self.lat is None) != (self.lng is None):
            raise ValueError("give both lat and lng, or neither")
        return self


class ResultsIn(RequestModel):
    """The operation's results: what was done, counted, and the events it closed."""

    version: int = Field(ge=1, le=2**31 - 1, description="The version read; a stale one is 409.")
    results: str = Field(min_length=1, max_length=4000, pattern=r"\S")
    quantities: list[Quantity] = Field(default_factory=list, max_length=QUANTITIES_MAX)
    event_ids: list[RowId] = Field(default_factory=list, max_length=EVENTS_MAX)


class LinkIn(RequestModel):
    version: int = Field(ge=1, le=2**31 - 1)
    event_ids: list[RowId] = Field(min_length=1, max_length=EVENTS_MAX)


class CancelIn(RequestModel):
    version: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


class UnitRef(BaseModel):
    id: int
    name: str


class LinkedEvent(BaseModel):
    id: int
    code: str
    title: str
    status: str


class LogRow(BaseModel):
    at: datetime
    actor_id: int
    actor: str
    action: str
    note: str


class OperationOut(BaseModel):
    id: int
    code: str
    name: str
    org: UnitRef = Field(description="The area: the district or a town.")
    town_id: int | None
    lead_unit: UnitRef
    units: list[UnitRef]
    people: int
    place: str
    lat: float | None
    lng: float | None
    area: dict[str, Any] | None
    starts_at: datetime
    ends_at: datetime
    status: str
    results: str
    quantities: list[dict[str, Any]]
    events: list[LinkedEvent] = []
    events_closed: int = Field(0, description="Of the linked events, how many are closed.")
    version: int
    created_at: datetime
    done_at: datetime | None
    trail: list[LogRow] = []
