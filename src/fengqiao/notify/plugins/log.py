"""`log`: writes each message to the log instead of sending it (development's SMS and email)."""

from __future__ import annotations

import logging

from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.notify.channels import Message

log = logging.getLogger("fengqiao.outbox")


class LogChannel:
    name = "log"

    def __init__(self, *, settings: Settings, database: Database) -> None:
        pass

    def send(self, message: Message) -> None:
        log.info("[%s → %s] %s", message.channel, message.recipient, message.text)

    def close(self) -> None:
        pass
