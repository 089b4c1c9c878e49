"""`app`: the in-app inbox. A message becomes a `notification` row of its user, which the web
app lists and streams (`/api/v1/me/notifications`, `/stream`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from fengqiao import fanout
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.notify.channels import ChannelError, Message
from fengqiao.notify.models import Notification

_TABLE = cast(Table, Notification.__table__)


class AppChannel:
    name = "app"

    def __init__(self, *, settings: Settings, database: Database) -> None:
        self.database = database
        insert = postgresql.insert if not database.is_sqlite else sqlite.insert
        # One row per outbox message: a resend after a crash cannot put it in the inbox twice.
        self.statement = insert(_TABLE).on_conflict_do_nothing(index_elements=["outbox_id"])

    def send(self, message: Message) -> None:
        if message.user_id is None:
            raise ChannelError("an in-app message needs a user", retry=False)
        with self.database.transaction() as db:
            db.connection().execute(
                self.statement,
                {
                    "user_id": message.user_id,
                    "outbox_id": message.id,
                    "title": message.subject,
                    "body": message.text,
                    # The path only: the inbox puts the public address in front when it is
                    # read (notify/views.py), so a changed address never strands a message.
                    "link": message.path or message.link,
                    "event_id": message.event_id,
                    "created_at": datetime.now(UTC),
                },
            )
            # The user's open live streams hear of it on commit (docs/scaling.md).
            fanout.notify(db, fanout.user_topic(message.user_id))

    def close(self) -> None:
        pass
