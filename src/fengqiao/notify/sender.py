"""The outbox sender (run by the job `outbox`, notify/jobs.py): claim a due message, deliver
it, record what happened.

Each message is claimed, sent and recorded on its own, so a worker killed mid-run leaves at most
the messages it had in flight (one per lane, `outbox_parallel` lanes; one by default) to be sent
again, each with the same idempotency key so the gateway can drop the repeat. A claim is a short
transaction (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so several workers never claim one row) that
gives the row a fencing token (`claim_token`) and a lease of `outbox_lease_seconds` of wall-clock
time (`leased_until`), renewed every third of it while the gateway answers. A result is written
only `WHERE claim_token = <this claim's token>`: a worker that lost its lease (it froze, its
renewals stopped) writes nothing over the holder's result. Recording one result and claiming
the lane's next message share one transaction. Delivery itself runs outside any transaction.

A failed message is retried after `outbox_backoff_seconds`, doubling each attempt, and
dead-lettered after `outbox_max_attempts` attempts or a permanent refusal; a message claimed that
many times without any result (each claim ended by its worker dying) is dead-lettered too. A
time-bound message (a reminder, `expires_at` in its payload) claimed after its moment is not
sent but marked `expired` with the reason. Links are put on FENGQIAO_PUBLIC_BASE_URL here, when
a message is rendered (notify/templates.py), never when it is queued.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, text, update
from sqlalchemy.orm import Session

from fengqiao.clock import Clock
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.errors import Problem, not_found
from fengqiao.logs import bound_request
from fengqiao.notify.channels import Channel, ChannelError, Message
from fengqiao.notify.templates import path_of, render_for
from fengqiao.outbox.models import OUTBOX_PENDING_SQL, Outbox

log = logging.getLogger("fengqiao.outbox")
MAX_ROUNDS = 200  # a run sends at most MAX_ROUNDS × worker_batch messages, so it ends
# Messages a lane claims at once (one statement). Only the one being sent is at risk of a
# repeat after a kill; the others wait for the lease to end and go out once.
CLAIM_AHEAD = 8
_OUTBOX = cast(Table, Outbox.__table__)
COUNTS = ("sent", "retried", "dead", "fenced", "expired")


@dataclass(frozen=True)
class Claim:
    """A message leased to this worker: `token` fences every write of the claim."""

    message: Message
    attempts: int  # including this one
    token: str


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    error: str | None = None
    retry: bool = True


def idempotency_key(dedupe_key: str) -> str:
    """The key a channel passes on with every send of one message (the same on each repeat);
    derived from the dedupe key, so it says nothing about the recipient and cannot be guessed."""
    return hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]


def to_message(row: Any, base_url: str) -> Message:
    """An outbox row (ORM object or result row), rendered, its link on the configured public
    address (`base_url`). An in-app message's text leaves the link out: the inbox shows it as
    a button, and its row keeps only the path."""
    path = path_of(row.payload, base_url)
    subject, body, link = render_for(
        row.template, row.payload, base_url=base_url, with_link=row.channel != "app"
    )
    return Message(
        id=row.id,
        channel=row.channel,
        recipient=row.recipient,
        user_id=row.user_id,
        template=row.template,
        subject=subject,
        text=body,
        link=link,
        path=path,
        event_id=row.event_id,
        payload={**row.payload, "link": link},
        idempotency_key=idempotency_key(row.dedupe_key),
        request_id=row.request_id,
    )


def expired(payload: dict[str, Any], now: datetime) -> str | None:
    """Why a time-bound message (a reminder of a deadline) must not go out at `now`, or None.

    A queuer gives such a message `expires_at` (ISO 8601): "due soon" is false after it, and
    whatever happens after a deadline is said by its own message (the overdue order). The
    sender then drops it and records why, visible on the outbox page."""
    raw = payload.get("expires_at")
    if not raw:
        return None
    try:
        until = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    if until.tzinfo is None or until > now:
        return None
    return (
        f"已过期未发送：所提醒的时限（{payload.get('due') or raw}）在发出前已过；"
        f"expired: its moment ({raw}) passed before it could be sent"
    )


class Lease:
    """The wall-clock side of claims: when leases end, and a thread renewing the held ones.

    Leases run on wall-clock time (`lease_clock`), not on the job's `now`, which may be a replayed
    or simulated moment: they measure how long a live worker may take, not when a message is due.
    """

    def __init__(self, database: Database, settings: Settings, clock: Clock) -> None:
        self.database = database
        self.clock = clock
        self.length = timedelta(seconds=settings.outbox_lease_seconds)
        self.held: dict[int, str] = {}  # row id → token of the claims being sent now
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name="outbox-lease", daemon=True)

    def until(self) -> datetime:
        return self.clock.now() + self.length

    def now(self) -> datetime:
        return self.clock.now()

    def hold(self, claim: Claim) -> None:
        with self.lock:
            self.held[claim.message.id] = claim.token

    def release(self, claim: Claim) -> None:
        with self.lock:
            self.held.pop(claim.message.id, None)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _renew_loop(self) -> None:
        interval = self.length.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception:  # the database is away: the next renewal tries again
                log.exception("could not renew the outbox leases")

    def renew(self) -> None:
        """Move the held leases on (one statement per claim); a row whose claim another worker
        took over is left alone, and its result will not be written (see `record`)."""
        with self.lock:
            tokens = set(self.held.values())
        if not tokens:
            return
        until = self.until()
        with self.database.transaction() as db:
            connection = db.connection()
            for token in tokens:
                connection.execute(
                    update(_OUTBOX)
                    .where(_OUTBOX.c.claim_token == token, text(OUTBOX_PENDING_SQL))
                    .values(leased_until=until)
                )


@dataclass(frozen=True)
class Claimed:
    """What one claim took: the messages to send, and how many it settled without sending
    (`expired`: their moment had passed; `worn`: dead after too many claims)."""

    claims: list[Claim]
    expired: int = 0
    worn: int = 0


def claim(db: Session, now: datetime, lease: Lease, settings: Settings, limit: int) -> Claimed:
    """Up to `limit` messages due at `now` whose lease (if any) has ended, leased to this worker
    under one token, oldest first. One statement: UPDATE ... WHERE id IN (SELECT ... LIMIT n,
    on PostgreSQL FOR UPDATE SKIP LOCKED) RETURNING."""
    wall = lease.now()
    pick = (
        select(_OUTBOX.c.id)
        .where(
            text(OUTBOX_PENDING_SQL),
            _OUTBOX.c.next_attempt_at <= now,
            or_(_OUTBOX.c.leased_until.is_(None), _OUTBOX.c.leased_until <= wall),
        )
        .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name != "sqlite":
        pick = pick.with_for_update(skip_locked=True)
    token = uuid.uuid4().hex
    connection = db.connection()
    result = connection.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(pick.scalar_subquery()))
        .values(attempts=_OUTBOX.c.attempts + 1, claim_token=token, leased_until=lease.until())
        .returning(*_OUTBOX.c)
    )
    rows = list(result)
    rows.sort(key=lambda r: (r.next_attempt_at, r.id))
    # Claimed that many times and never a result: each worker holding it died while sending.
    worn = [r.id for r in rows if r.attempts > settings.outbox_max_attempts]
    if worn:
        connection.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_(worn))
            .values(status="dead", claim_token=None, leased_until=None,
                    error="no result after every attempt: the worker stopped while sending")
        )  # fmt: skip
    # A reminder whose moment has passed is not sent late: it is dropped, with the reason.
    stale = {r.id: why for r in rows if r.id not in worn and (why := expired(r.payload, now))}
    if stale:
        connection.execute(
            update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"))
            .values(status="expired", error=bindparam("why"), claim_token=None, leased_until=None),
            [{"row_id": row_id, "why": why} for row_id, why in stale.items()],
        )  # fmt: skip
    base_url = settings.public_base_url
    claims = [
        Claim(to_message(r, base_url), r.attempts, token)
        for r in rows
        if r.id not in worn and r.id not in stale
    ]
    return Claimed(claims, expired=len(stale), worn=len(worn))


def deliver(channels: dict[str, Channel], claim: Claim) -> Outcome:
    """Send one claimed message; its log lines carry the id of the request that queued it."""
    message = claim.message
    with bound_request(message.request_id):
        outcome = _send(channels, claim)
        log.info(
            "outbox message %s on %s: %s",
            message.id,
            message.channel,
            "sent" if outcome.error is None else f"failed ({outcome.error[:200]})",
        )
        return outcome


def _send(channels: dict[str, Channel], claim: Claim) -> Outcome:
    message = claim.message
    channel = channels.get(message.channel)
    if channel is None:
        return Outcome(claim, f"no channel plugin delivers {message.channel!r}", False)
    try:
        channel.send(message)
    except ChannelError as exc:
        return Outcome(claim, str(exc) or type(exc).__name__, exc.retry)
    except Exception as exc:  # a plugin bug or an unexpected failure: retry, keep the reason
        log.exception("channel %s failed on message %s", message.channel, message.id)
        return Outcome(claim, f"{type(exc).__name__}: {exc}", True)
    return Outcome(claim)


_HELD_BY_CLAIM = (_OUTBOX.c.id == bindparam("row_id")) & (
    _OUTBOX.c.claim_token == bindparam("token")
)
_UNCLAIM = {"claim_token": None, "leased_until": None}
# Built once: a worker writes one of these per message.
_RECORD = {
    "sent": update(_OUTBOX)
    .where(_HELD_BY_CLAIM)
    .values(status="sent", sent_at=bindparam("now"), error=None, **_UNCLAIM),
    "retried": update(_OUTBOX)
    .where(_HELD_BY_CLAIM)
    .values(error=bindparam("error"), next_attempt_at=bindparam("next_at"), **_UNCLAIM),
    "dead": update(_OUTBOX)
    .where(_HELD_BY_CLAIM)
    .values(status="dead", error=bindparam("error"), **_UNCLAIM),
}


def record(db: Session, outcome: Outcome, now: datetime, settings: Settings) -> str:
    """Write one result, fenced by the claim's token; which count it adds to."""
    claim = outcome.claim
    values: dict[str, Any] = {"row_id": claim.message.id, "token": claim.token}
    if outcome.error is None:
        kind = "sent"
        values["now"] = now
    elif outcome.retry and claim.attempts < settings.outbox_max_attempts:
        kind = "retried"
        wait = settings.outbox_backoff_seconds * 2 ** (claim.attempts - 1)
        values |= {"error": outcome.error[:2000], "next_at": now + timedelta(seconds=wait)}
    else:
        kind = "dead"
        values["error"] = outcome.error[:2000]
    result = db.connection().execute(_RECORD[kind], values)
    if result.rowcount == 0:  # the lease ended and another worker holds the message now
        log.warning("message %s: lease lost, its %s result not written", claim.message.id, kind)
        return "fenced"
    return kind


def anything_due(database: Database, now: datetime) -> bool:
    """Whether a message waits to be sent at `now`: one read of the pending index, so a sender
    polling every half second takes no write lock while the outbox is empty."""
    with database.session() as db:
        found = db.scalar(
            select(_OUTBOX.c.id)
            .where(text(OUTBOX_PENDING_SQL), _OUTBOX.c.next_attempt_at <= now)
            .limit(1)
        )
    return found is not None


def send_due(
    database: Database,
    channels: dict[str, Channel],
    now: datetime,
    settings: Settings,
    *,
    lease_clock: Clock | None = None,
) -> dict[str, int]:
    """Deliver every message due at `now` (a run ends after MAX_ROUNDS × worker_batch)."""
    totals = dict.fromkeys(COUNTS, 0)
    budget = [settings.worker_batch * MAX_ROUNDS]
    guard = threading.Lock()

    def lane(lease: Lease) -> None:
        queue: list[Claim] = []
        outcome: Outcome | None = None
        while True:
            settled = 0  # rows a claim took and settled without sending
            with database.transaction() as db:
                if outcome is not None:
                    kind = record(db, outcome, now, settings)
                    lease.release(outcome.claim)
                if not queue:
                    with guard:
                        take = min(CLAIM_AHEAD, budget[0])
                        budget[0] -= take
                    taken = claim(db, now, lease, settings, take) if take else Claimed([])
                    queue, settled = taken.claims, taken.expired + taken.worn
                    for claimed in queue:
                        lease.hold(claimed)
            with guard:
                if outcome is not None:
                    totals[kind] += 1
                if settled:
                    totals["expired"] += taken.expired
            outcome = None
            if not queue:
                if settled:
                    continue  # a claim of only stale rows: there may be more behind them
                return
            outcome = deliver(channels, queue.pop(0))

    lanes = max(1, settings.outbox_parallel)
    with Lease(database, settings, lease_clock or Clock()) as lease:
        with ThreadPoolExecutor(lanes, thread_name_prefix="outbox") as pool:
            futures = [pool.submit(lane, lease) for _ in range(lanes)]
        for future in futures:
            future.result()  # a lane's failure (the database gone) fails the run
    return {k: v for k, v in totals.items() if v}


def resend(db: Session, outbox_id: int, now: datetime) -> Outbox:
    """Put a dead (or waiting) message back in line to go now, with fresh attempts."""
    row = db.get(Outbox, outbox_id, with_for_update=True)
    if row is None:
        raise not_found("message", "消息")
    if row.status == "expired":
        raise Problem(
            409, "expired", "Its moment has passed", "提醒时限已过",
            f"message {row.id} reminds of a moment that has passed; it is not sent late",
            f"消息 {row.id} 所提醒的时限已过，不再补发",
        )  # fmt: skip
    if row.status == "sent":
        raise Problem(
            409, "already-sent", "Already sent", "已发送",
            f"message {row.id} was sent at {row.sent_at}; it is not sent twice",
            f"消息 {row.id} 已于 {row.sent_at} 发送，不会重复发送",
        )  # fmt: skip
    # A message being sent right now keeps its claim: that worker's result still counts.
    row.status, row.attempts, row.next_attempt_at, row.error = "pending", 0, now, None
    db.flush()
    return row
