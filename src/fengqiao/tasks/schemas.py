"""The tracked tasks' request and answer bodies; every request field bounded."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from fengqiao.bounds import RequestModel

NOTE_MAX = 2000
Version = Field(ge=1, le=2**31 - 1, description="The version read; a stale one is 409.")


class TaskProgressIn(RequestModel):
    note: str = Field(min_length=1, max_length=NOTE_MAX, pattern=r"\S")
    version: int = Version


class TaskCompleteIn(RequestModel):
    result: str = Field(min_length=1, max_length=NOTE_MAX, pattern=r"\S",
                        description="What was done.")  # fmt: skip
    version: int = Version


class TaskCancelIn(RequestModel):
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")
    version: int = Version


class NamedOut(BaseModel):
    id: int
    name: str


class TaskPhotoOut(BaseModel):
    id: int
    url: str
    width: int
    height: int
    taken_at: datetime | None = None
    uploaded_at: datetime
    uploaded_by: NamedOut


class TaskTrailOut(BaseModel):
    at: datetime
    action: str
    action_name: str
    actor: NamedOut | None = None
    note: str | None = None


class TaskOut(BaseModel):
    id: int
    code: str
    kind: str
    kind_name: str
    source_type: str
    source_id: int
    title: str
    detail: str
    town: NamedOut | None = None
    org: NamedOut
    owner_unit: NamedOut | None = None
    owner_user: NamedOut | None = None
    owner_name: str
    created_at: datetime
    due_at: datetime
    yellow_at: datetime
    remind_at: datetime | None = None
    reminded_at: datetime | None = None
    overdue_at: datetime | None = None
    status: str
    status_name: str
    light: str
    light_name: str
    done_at: datetime | None = None
    done_by: NamedOut | None = None
    result: str | None = None
    evidence_required: bool
    version: int
    can_act: bool = False
    photos: list[TaskPhotoOut] = []
    trail: list[TaskTrailOut] = []
