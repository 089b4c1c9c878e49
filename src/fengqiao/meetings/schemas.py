"""The meetings' request and answer bodies; every request field bounded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from fengqiao.bounds import PatchModel, RequestModel

RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
TITLE_MAX = 100
ITEM_MAX = 500
MINUTES_MAX = 20_000
ATTENDEES_MAX = 100
DECISIONS_MAX = 30
SECTIONS_MAX = 12
ITEMS_MAX = 50
LIMIT_DAYS_MAX = 365
Version = Field(ge=1, le=2**31 - 1, description="The version read; a stale one is 409.")
When = Annotated[AwareDatetime, Field(description="With its zone; stored in UTC.")]


def _check_when(value: datetime | None) -> None:
    if value is not None and not 2000 <= value.year <= 2100:
        raise ValueError("the year must lie between 2000 and 2100")


class MeetingIn(RequestModel):
    org_id: RowId = Field(description="The meeting's org: the district, a town or a village.")
    title: str = Field(min_length=1, max_length=TITLE_MAX, pattern=r"\S")
    scheduled_at: When
    place: str = Field("", max_length=100)
    attendee_ids: list[RowId] = Field(default_factory=list, max_length=ATTENDEES_MAX)
    room_id: RowId | None = Field(None, description="The org whose video meeting room is used.")
    period_start: date | None = Field(None, description="The period the agenda reviews.")
    period_end: date | None = None

    @model_validator(mode="after")
    def _check(self) -> MeetingIn:
        _check_when(self.scheduled_at)
        if (self.period_start is None) != (self.period_end is None):
            raise ValueError("give both period_start and period_end, or neither")
        if self.period_start and self.period_end:
            if self.period_end < self.period_start:
                raise ValueError("period_end is before period_start")
            if (self.period_end - self.period_start).days > 366:
                raise ValueError("a period is at most a year")
        return self


class MeetingPatch(PatchModel):
    title: str | None = Field(None, min_length=1, max_length=TITLE_MAX, pattern=r"\S")
    scheduled_at: When | None = None
    place: str | None = Field(None, max_length=100)
    attendee_ids: list[RowId] | None = Field(None, max_length=ATTENDEES_MAX)
    room_id: RowId | None = None
    version: int = Version

    @model_validator(mode="after")
    def _check(self) -> MeetingPatch:
        _check_when(self.scheduled_at)
        return self


class AgendaItemIn(RequestModel):
    text: str = Field(min_length=1, max_length=ITEM_MAX, pattern=r"\S")
    task: str | None = Field(None, max_length=32, pattern=r"^[A-Z]{2}\d{8,16}$")
    event: RowId | None = None
    warning: RowId | None = None


class AgendaSectionIn(RequestModel):
    key: str = Field(max_length=24, pattern=r"^[a-z_]+$")
    title: str = Field(min_length=1, max_length=60, pattern=r"\S")
    items: list[AgendaItemIn] = Field(default_factory=list, max_length=ITEMS_MAX)


class AgendaIn(RequestModel):
    sections: list[AgendaSectionIn] = Field(max_length=SECTIONS_MAX)
    version: int = Version


class DecisionIn(RequestModel):
    title: str = Field(min_length=1, max_length=200, pattern=r"\S", description="The decision.")
    detail: str = Field("", max_length=2000)
    owner_unit_id: RowId | None = None
    owner_user_id: RowId | None = None
    limit_days: int = Field(10, ge=1, le=LIMIT_DAYS_MAX, description="Working days to do it.")
    evidence_required: bool = False


class HoldIn(RequestModel):
    minutes_text: str = Field(min_length=1, max_length=MINUTES_MAX, pattern=r"\S")
    present_ids: list[RowId] = Field(default_factory=list, max_length=ATTENDEES_MAX)
    decisions: list[DecisionIn] = Field(default_factory=list, max_length=DECISIONS_MAX)
    version: int = Version


class DecisionsIn(RequestModel):
    decisions: list[DecisionIn] = Field(min_length=1, max_length=DECISIONS_MAX)
    version: int = Version


class CancelIn(RequestModel):
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")
    version: int = Version


class NamedOut(BaseModel):
    id: int
    name: str


class AttendeeOut(BaseModel):
    id: int
    name: str
    present: bool | None = None


class MeetingTrailOut(BaseModel):
    at: datetime
    action: str
    action_name: str
    actor: NamedOut | None = None
    note: str | None = None


class MeetingOut(BaseModel):
    id: int
    title: str
    level: str
    level_name: str
    org: NamedOut
    town: NamedOut | None = None
    scheduled_at: datetime
    place: str
    room: NamedOut | None = None
    room_link: str | None = None
    regular: bool
    period_start: date
    period_end: date
    status: str
    status_name: str
    held_at: datetime | None = None
    missed_at: datetime | None = None
    decisions_total: int = 0
    decisions_red: int = 0
    version: int
    can_write: bool = False
    minutes_text: str | None = None
    attendees: list[AttendeeOut] = []
    agenda: list[dict[str, Any]] = []
    agenda_stored: bool = False
    decisions: list[dict[str, Any]] = []
    trail: list[MeetingTrailOut] = []


class AgendaOut(BaseModel):
    sections: list[dict[str, Any]]
