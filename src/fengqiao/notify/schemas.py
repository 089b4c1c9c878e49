"""Response bodies of the in-app inbox and the outbox API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NotificationOut(BaseModel):
    id: int
    title: str
    body: str
    link: str = Field(description="The page it is about, on the server's public address.")
    path: str = Field(description='The same page as a path on this server ("/events/12").')
    event_id: int | None
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationOut]
    unread: int
    next_before: int | None


class OutboxOut(BaseModel):
    id: int
    channel: str
    recipient: str
    user_id: int | None
    template: str
    event_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    error: str | None
