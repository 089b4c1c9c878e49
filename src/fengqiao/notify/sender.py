"""The outbox sender (job `outbox`): claim due messages, deliver them, record what happened.

Never holds a write transaction while a gateway answers: a short transaction claims a batch
(on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several workers never claim one row) and moves
its `next_attempt_at` a lease ahead, so a worker that dies mid-send leaves the rows to be retried
later; delivery runs outside any transaction, several messages at a time; one short transaction
records the outcomes. A failed message is retried after `outbox_backoff_seconds`, doubling each
attempt, and dead-lettered after `outbox_max_attempts` attempts or a permanent refusal.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.errors import Problem, not_found
from fengqiao.jobs import JobContext, job
from fengqiao.notify.channels import Channel, ChannelError, Message
from fengqiao.notify.models import OUTBOX_PENDING_SQL, Outbox
from fengqiao.notify.templates import render

log = logging.getLogger("fengqiao.outbox")
LEASE = timedelta(seconds=120)
PARALLEL = 8  # messages in flight at once
MAX_ROUNDS = 200  # batches per run, so one run ends even while messages keep arriving
_OUTBOX = cast(Table, Outbox.__table__)


@dataclass(frozen=True)
class Outcome:
    id: int
    attempts: int  # before this attempt
    error: str | None = None
    retry: bool = True


def claim(database: Database, now: datetime, batch: int) -> list[tuple[Message, int]]:
    """Up to `batch` due messages, leased to this worker: (message, attempts so far)."""
    with database.transaction() as db:
        query = (
            select(Outbox)
            .where(text(OUTBOX_PENDING_SQL), Outbox.next_attempt_at <= now)
            .order_by(Outbox.next_attempt_at, Outbox.id)
            .limit(batch)
        )
        if not database.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = list(db.scalars(query))
        claimed = []
        for row in rows:
            row.next_attempt_at = now + LEASE
            claimed.append((to_message(row), row.attempts))
        return claimed


def to_message(row: Outbox) -> Message:
    subject, body = render(row.template, row.payload)
    return Message(
        id=row.id,
        channel=row.channel,
        recipient=row.recipient,
        user_id=row.user_id,
        template=row.template,
        subject=subject,
        text=body,
        link=str(row.payload.get("link", "")),
        event_id=row.event_id,
        payload=dict(row.payload),
    )


def deliver(channels: dict[str, Channel], message: Message, attempts: int) -> Outcome:
    channel = channels.get(message.channel)
    if channel is None:
        return Outcome(
            message.id, attempts, f"no channel plugin delivers {message.channel!r}", False
        )
    try:
        channel.send(message)
    except ChannelError as exc:
        return Outcome(message.id, attempts, str(exc) or type(exc).__name__, exc.retry)
    except Exception as exc:  # a plugin bug or an unexpected failure: retry, keep the reason
        log.exception("channel %s failed on message %s", message.channel, message.id)
        return Outcome(message.id, attempts, f"{type(exc).__name__}: {exc}", True)
    return Outcome(message.id, attempts)


def record(
    database: Database, outcomes: list[Outcome], now: datetime, settings: Settings
) -> dict[str, int]:
    sent, retried, dead = [], [], []
    for o in outcomes:
        attempts = o.attempts + 1
        if o.error is None:
            sent.append({"row_id": o.id, "attempts": attempts})
        elif o.retry and attempts < settings.outbox_max_attempts:
            wait = settings.outbox_backoff_seconds * 2 ** (attempts - 1)
            retried.append(
                {"row_id": o.id, "attempts": attempts, "error": o.error[:2000],
                 "next_at": now + timedelta(seconds=wait)}
            )  # fmt: skip
        else:
            dead.append({"row_id": o.id, "attempts": attempts, "error": o.error[:2000]})
    row = _OUTBOX.c.id == bindparam("row_id")
    with database.transaction() as db:
        connection = db.connection()
        if sent:
            connection.execute(
                update(_OUTBOX)
                .where(row)
                .values(status="sent", sent_at=now, attempts=bindparam("attempts"), error=None),
                sent,
            )
        if retried:
            connection.execute(
                update(_OUTBOX).where(row).values(
                    attempts=bindparam("attempts"), error=bindparam("error"),
                    next_attempt_at=bindparam("next_at"),
                ),
                retried,
            )  # fmt: skip
        if dead:
            connection.execute(
                update(_OUTBOX)
                .where(row)
                .values(status="dead", attempts=bindparam("attempts"), error=bindparam("error")),
                dead,
            )
    return {"sent": len(sent), "retried": len(retried), "dead": len(dead)}


def send_due(
    database: Database, channels: dict[str, Channel], now: datetime, settings: Settings
) -> dict[str, int]:
    """Deliver every message due at `now` (a run ends after MAX_ROUNDS batches)."""
    totals = {"sent": 0, "retried": 0, "dead": 0}
    with ThreadPoolExecutor(PARALLEL, thread_name_prefix="outbox") as pool:
        for _ in range(MAX_ROUNDS):
            claimed = claim(database, now, settings.worker_batch)
            if not claimed:
                break
            outcomes = list(pool.map(lambda item: deliver(channels, *item), claimed))
            for key, value in record(database, outcomes, now, settings).items():
                totals[key] += value
    return {k: v for k, v in totals.items() if v}


@job(
    "outbox",
    "Outbox sender: delivers queued messages (SMS, email, in-app) with retries and dead letters",
    needs_channels=True,
)
def outbox_job(ctx: JobContext) -> dict[str, int]:
    return send_due(ctx.database, ctx.channels, ctx.now, ctx.settings)


def resend(db: Session, outbox_id: int, now: datetime) -> Outbox:
    """Put a dead (or waiting) message back in line to go now, with fresh attempts."""
    row = db.get(Outbox, outbox_id, with_for_update=True)
    if row is None:
        raise not_found("message", "消息")
    if row.status == "sent":
        raise Problem(
            409, "already-sent", "Already sent", "已发送",
            f"message {row.id} was sent at {row.sent_at}; it is not sent twice",
            f"消息 {row.id} 已于 {row.sent_at} 发送,不会重复发送",
        )  # fmt: skip
    row.status, row.attempts, row.next_attempt_at, row.error = "pending", 0, now, None
    db.flush()
    return row
