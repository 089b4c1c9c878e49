"""Request and response bodies of the supervision-order API (督办)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from fengqiao.events.schemas import Ref


class OrderIn(BaseModel):
    kind: Literal["leader", "important"] = Field(
        description="leader: 领导督办; important: 重要事项督办 (overdue orders are automatic)"
    )
    requirement: str = Field(min_length=1, max_length=2000)
    due_at: datetime | None = Field(
        None, description="Reply deadline; default: now + FENGQIAO_SUPERVISION_REPLY_HOURS."
    )


class ReplyIn(BaseModel):
    reply: str = Field(min_length=1, max_length=4000)


class OrderOut(BaseModel):
    id: int
    code: str
    event: Ref
    kind: str
    kind_name: str
    unit: Ref
    issued_by: Ref | None
    issued_at: datetime
    requirement: str
    due_at: datetime
    status: str
    status_name: str
    overdue: bool
    reply: str | None
    replied_by: Ref | None
    replied_at: datetime | None
    can_reply: bool = Field(False, description="Whether the caller may reply to it now.")


class OrderList(BaseModel):
    items: list[OrderOut]
    next_before: int | None = Field(description="Pass as `before` for the next page.")
