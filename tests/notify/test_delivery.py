"""Messages sent once under faults, in one process: each result recorded as it completes, the
lease renewed while a slow gateway answers, a result written only by the lease's holder, and the
message's idempotency key carried to every channel (issue 15, item 9)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fengqiao.clock import FixedClock
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.logs import bound_request, current_request_id
from fengqiao.notify.channels import ChannelError, Message, load_channels
from fengqiao.notify.sender import send_due
from fengqiao.outbox.models import Outbox
from fengqiao.outbox.service import Person, drafts_for, enqueue

from ..conftest import make_settings
from .test_outbox import PAYLOAD, _Smtp, gateway  # noqa: F401  (gateway is a fixture)

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def _queue(database: Database, count: int, key: str = "d") -> None:
    people = [Person(None, f"p{n}", phone=f"1380000{n:04d}") for n in range(count)]
    with database.transaction() as db:
        drafts = drafts_for(people, channels=("sms",), template="reminder", payload=PAYLOAD,
                            key=key)  # fmt: skip
        enqueue(db, drafts, now=NOW)


def _statuses(database: Database) -> Counter[str]:
    with database.session() as db:
        return Counter(db.scalars(select(Outbox.status)))


def _settings(database: Database, tmp_path: Path, **overrides: Any) -> Settings:
    return make_settings(database.url, tmp_path, **overrides)


class Killed(BaseException):
    """Stands for a kill -9 in the middle of a send: nothing after it runs."""


class Crashing:
    """Delivers messages until the `kill_at`-th, during which the worker 'dies'."""

    name = "crashing"

    def __init__(self, kill_at: int | None = None, delay: float = 0.0) -> None:
        self.kill_at = kill_at
        self.delay = delay
        self.delivered: Counter[int] = Counter()
        self.started = threading.Event()
        self.lock = threading.Lock()

    def send(self, message: Message) -> None:
        self.started.set()
        with self.lock:
            count = sum(self.delivered.values()) + 1
            self.delivered[message.id] += 1  # the gateway has it from here on
        if self.delay:
            time.sleep(self.delay)
        if self.kill_at is not None and count == self.kill_at:
            raise Killed

    def close(self) -> None:
        pass


def test_a_kill_mid_batch_resends_only_the_message_in_flight(
    fresh_db: Database, tmp_path: Path
) -> None:
    settings = _settings(fresh_db, tmp_path, outbox_lease_seconds=30.0)
    _queue(fresh_db, 20)
    lease_clock = FixedClock(datetime.now(UTC))
    channel = Crashing(kill_at=8)
    with pytest.raises(Killed):
        send_due(fresh_db, {"sms": channel}, NOW, settings, lease_clock=lease_clock)
    # The seven messages delivered before the one in flight are recorded as sent at once.
    assert _statuses(fresh_db) == {"sent": 7, "pending": 13}
    # Until the dead worker's lease ends, nobody touches its message; after it, one repeat.
    again = Crashing()
    assert send_due(fresh_db, {"sms": again}, NOW, settings, lease_clock=lease_clock) == {
        "sent": 12
    }
    lease_clock.advance(timedelta(seconds=31))
    assert send_due(fresh_db, {"sms": again}, NOW, settings, lease_clock=lease_clock) == {"sent": 1}
    total = channel.delivered + again.delivered
    assert len(total) == 20 and sum(total.values()) == 21  # one repeat: the message in flight
    assert _statuses(fresh_db) == {"sent": 20}


def test_a_gateway_slower_than_the_lease_gets_each_message_once(
    fresh_db: Database, tmp_path: Path
) -> None:
    # The lease is 0.4 s of real time; each message takes 0.6 s. A second worker, whose clock
    # reads ten minutes later, starts while the first is on its first message.
    settings = _settings(fresh_db, tmp_path, outbox_lease_seconds=0.4)
    _queue(fresh_db, 4)
    channel = Crashing(delay=0.6)
    results: list[dict[str, int]] = []

    def first() -> None:
        results.append(send_due(fresh_db, {"sms": channel}, NOW, settings))

    thread = threading.Thread(target=first)
    thread.start()
    assert channel.started.wait(10)
    time.sleep(0.5)  # past the first lease: only a renewal keeps the rows
    second = send_due(fresh_db, {"sms": channel}, NOW + timedelta(minutes=10), settings)
    thread.join(30)
    assert set(channel.delivered.values()) == {1} and len(channel.delivered) == 4
    assert sum(r.get("sent", 0) for r in [*results, second]) == 4
    assert _statuses(fresh_db) == {"sent": 4}


class Stale:
    """A worker that froze mid-send (a long GC pause, a suspended VM): it wakes after its lease
    ended and another worker already sent the message."""

    name = "stale"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.holding = threading.Event()

    def send(self, message: Message) -> None:
        self.holding.set()
        self.release.wait(30)
        raise ChannelError("gateway busy")

    def close(self) -> None:
        pass


def test_only_the_lease_holder_writes_the_result(fresh_db: Database, tmp_path: Path) -> None:
    settings = _settings(fresh_db, tmp_path, outbox_lease_seconds=30.0)
    _queue(fresh_db, 1)
    frozen_clock = FixedClock(datetime.now(UTC))  # its renewals never move the lease on
    stale = Stale()
    results: list[dict[str, int]] = []
    thread = threading.Thread(
        target=lambda: results.append(
            send_due(fresh_db, {"sms": stale}, NOW, settings, lease_clock=frozen_clock)
        )
    )
    thread.start()
    assert stale.holding.wait(10)
    later = FixedClock(datetime.now(UTC) + timedelta(seconds=31))
    fresh = Crashing()
    assert send_due(fresh_db, {"sms": fresh}, NOW, settings, lease_clock=later) == {"sent": 1}
    stale.release.set()
    thread.join(30)
    assert results == [{"fenced": 1}]  # its late 'busy, retry' is not written over 'sent'
    with fresh_db.session() as db:
        row = db.scalars(select(Outbox)).one()
    assert row.status == "sent" and row.error is None and row.attempts == 2


def test_every_send_carries_the_message_idempotency_key(
    fresh_db: Database,
    tmp_path: Path,
    gateway: tuple[str, list[Any]],  # noqa: F811
) -> None:
    url, seen = gateway
    settings = _settings(fresh_db, tmp_path, deliver_via={"sms": "sms"}, sms_gateway_url=url,
                         outbox_backoff_seconds=30.0)  # fmt: skip
    people = [Person(None, "a", phone="13800000001"), Person(None, "b", phone="13900000500")]
    with fresh_db.transaction() as db:
        enqueue(db, drafts_for(people, channels=("sms",), template="reminder", payload=PAYLOAD,
                               key="idem"), now=NOW)  # fmt: skip
    channels = load_channels(settings, fresh_db)
    try:
        send_due(fresh_db, channels, NOW, settings)
        send_due(fresh_db, channels, NOW + timedelta(minutes=5), settings)  # the 503 again
    finally:
        channels["sms"].close()
    keys: dict[str, list[str]] = {}
    for headers, body in seen:
        keys.setdefault(body["phone"], []).append(headers["Idempotency-Key"])
    assert len(keys["13900000500"]) == 2 and len(set(keys["13900000500"])) == 1
    assert keys["13800000001"][0] != keys["13900000500"][0]
    assert all(len(k[0]) >= 16 for k in keys.values())  # not a guessable row number


def test_an_email_sent_again_keeps_its_message_id(fresh_db: Database, tmp_path: Path) -> None:
    import socketserver
    from email import message_from_bytes, policy

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.mails = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = _settings(fresh_db, tmp_path, deliver_via={"email": "email"},
                             smtp_host="127.0.0.1", smtp_port=server.server_address[1],
                             smtp_from="fengqiao@example.org")  # fmt: skip
        with fresh_db.transaction() as db:
            enqueue(db, drafts_for([Person(None, "a", email="unit@example.org")],
                                   channels=("email",), template="reminder", payload=PAYLOAD,
                                   key="mid"), now=NOW)  # fmt: skip
        channels = load_channels(settings, fresh_db)
        try:
            assert send_due(fresh_db, channels, NOW, settings) == {"sent": 1}
            with fresh_db.transaction() as db:  # as if the result had never been written
                row = db.scalars(select(Outbox)).one()
                row.status, row.next_attempt_at = "pending", NOW
            assert send_due(fresh_db, channels, NOW, settings) == {"sent": 1}
        finally:
            channels["email"].close()
        first, second = (message_from_bytes(raw, policy=policy.default)
                         for raw in server.mails)  # type: ignore[attr-defined]  # fmt: skip
        assert first["Message-ID"] and first["Message-ID"] == second["Message-ID"]
        assert first["Message-ID"].endswith("@example.org>")
    finally:
        server.shutdown()
        server.server_close()


class _Witness:
    """A channel that notes which request id the worker's log lines carry while it sends."""

    name = "witness"

    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def send(self, message: Message) -> None:
        self.seen.append(current_request_id())


def test_the_worker_sends_under_the_id_of_the_request_that_queued(
    fresh_db: Database, tmp_path: Path
) -> None:
    settings = _settings(fresh_db, tmp_path)
    with bound_request("req-file-0001"), fresh_db.transaction() as db:
        enqueue(db, drafts_for([Person(None, "a", phone="13800000001")], channels=("sms",),
                               template="reminder", payload=PAYLOAD, key="rid"), now=NOW)  # fmt: skip
    _queue(fresh_db, 1, key="no-request")  # queued by a job, not a request
    with fresh_db.session() as db:
        assert sorted(db.scalars(select(Outbox.request_id)), key=str) == [None, "req-file-0001"]
    witness = _Witness()
    send_due(fresh_db, {"sms": witness}, NOW, settings)  # type: ignore[dict-item]
    assert sorted(witness.seen, key=str) == [None, "req-file-0001"]
    assert current_request_id() is None
