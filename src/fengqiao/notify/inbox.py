"""Reading the in-app inbox: a message as its reader gets it, and the messages after a cursor
(for the inbox's own stream and the command room's shared live stream)."""

from __future__ import annotations

from sqlalchemy import select

from fengqiao.db import Database
from fengqiao.notify.models import Notification
from fengqiao.notify.schemas import NotificationOut
from fengqiao.notify.templates import absolute, path_of

NEWER_LIMIT = 100


def message_out(n: Notification, base_url: str) -> NotificationOut:
    """A message as its reader gets it: the stored path on the configured public address."""
    path = path_of({"link": n.link}, base_url)
    return NotificationOut(
        id=n.id, title=n.title, body=n.body, link=absolute(path, base_url), path=path,
        event_id=n.event_id, created_at=n.created_at, read_at=n.read_at,
    )  # fmt: skip


def newer_messages(
    database: Database, user_id: int, after: int, base_url: str
) -> list[NotificationOut]:
    """The user's messages after id `after`, oldest first, at most NEWER_LIMIT."""
    with database.session() as db:
        rows = db.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.id > after)
            .order_by(Notification.id)
            .limit(NEWER_LIMIT)
        )
        return [message_out(n, base_url) for n in rows]
