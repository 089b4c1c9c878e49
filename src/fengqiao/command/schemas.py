"""Response bodies of the command room's alarms (the one-map's other answers are built as JSON
bytes straight from the reads, see views.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Place(BaseModel):
    id: int
    name: str


class Reporter(BaseModel):
    name: str = Field(description="The person who raised it, or the device (name and code).")
    unit: str | None = Field(description="For a device: the unit that maintains it.")
    phone: str | None = Field(
        description="The number to call back: whole for operators and administrators, masked "
        "for other roles; a device's maintaining unit's duty phone."
    )
    tel: str | None = Field(description="A `tel:` link when the number is whole, else null.")
    user_id: int | None = Field(
        None, description="The reporting person's account (for a video call), null for a device."
    )


class AlarmOut(BaseModel):
    id: int = Field(description="The event's id.")
    code: str
    title: str
    category_name: str
    source: str
    urgent: bool
    status: str
    created_at: datetime
    lat: float
    lng: float
    address: str | None
    town: Place
    village: Place
    grid: Place
    reporter: Reporter
    climbed_at: datetime | None = Field(
        description="When it climbed to the district command room unanswered, or null."
    )


class AlarmList(BaseModel):
    items: list[AlarmOut] = Field(description="Waiting for 接警, the longest waiting first.")
    climb_minutes: float = Field(description="Minutes after which an untaken alarm climbs.")


class TakenOut(BaseModel):
    event_id: int
    acked_at: datetime
    acked_by: Place = Field(description="Who took it (user id and name).")
    climbed_at: datetime | None
    already: bool = Field(description="True when someone had taken it before this request.")
