"""The worker's MQTT subscriber and the `iot` job that prunes old inbox and quarantine rows.

The subscriber holds a persistent MQTT session (fixed client id, clean_session False) with a QoS 1
subscription to `{prefix}/+/+`, so the broker keeps alarms published while the worker is away
or reconnecting. It acknowledges an alarm (PUBACK) only after the transaction that recorded and
folded it committed: paho-mqtt's manual acknowledgements (aiomqtt 2.5 does not expose them, so
this module drives paho directly). A crash before the commit leaves the alarm with the broker,
which delivers it again.

Two threads: paho's network loop (reconnecting with backoff by itself) puts messages on a queue;
the folder takes up to `iot_batch` of them per transaction and acknowledges them after commit.

Several workers (PostgreSQL) share the intake through `MqttIntake`: the one holding a PostgreSQL
advisory lock runs the subscriber, the others wait to take over. Two subscribers with one client
id would knock each other off the broker in a loop; with different ids each would get every
alarm. One holder keeps the fixed client id, so whoever takes over inherits the persistent
session: the alarms queued for it and those delivered but not yet acknowledged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Connection, text

from fengqiao.clock import Clock
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.iot.alarms import AlarmProcessor, Received, outcome_counts, quarantine_one
from fengqiao.iot.rules import topic_parts
from fengqiao.iot.service import prune
from fengqiao.jobs import JobContext, job

log = logging.getLogger("fengqiao.iot")


@job("iot", "Forget inbox and quarantine rows older than iot_keep_days (the MQTT subscriber "
     "itself runs beside the jobs)")  # fmt: skip
def run_iot(context: JobContext) -> dict[str, int]:
    with context.database.transaction() as db:
        return prune(db, now=context.now, keep_days=context.settings.iot_keep_days)


@dataclass(frozen=True)
class _Incoming:
    generation: int  # which connection delivered it: acks go back on that connection only
    mid: int
    qos: int
    received: Received


def broker_address(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """(host, port, tls, username, password) of mqtt://[user:pass@]host[:port] or mqtts://."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"FENGQIAO_MQTT_URL must start with mqtt:// or mqtts://, not {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    port = parts.port or (8883 if tls else 1883)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname or "127.0.0.1", port, tls, user, password


class AlarmSubscriber:
    """Subscribe to device alarms and fold them into events until `stop()`.

    The worker starts one beside its jobs when `mqtt_enabled`; tests and the benchmark start and
    stop their own. `counts` says what it did (received, committed, acked, batches, outcomes).
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        clock: Clock | None = None,
        processor: AlarmProcessor | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock or Clock()
        self.processor = processor or AlarmProcessor(settings)
        self.prefix = settings.mqtt_topic_prefix.rstrip("/")
        self.counts: Counter[str] = Counter()
        self.connected = threading.Event()
        self._queue: queue.Queue[_Incoming] = queue.Queue()
        self._generation = 0
        self._stop = threading.Event()
        self._folder: threading.Thread | None = None
        self._client = self._make_client()

    @property
    def broker(self) -> str:
        """host:port of the broker (never the credentials of the URL)."""
        return f"{self._host}:{self._port}"

    def _make_client(self) -> mqtt.Client:
        host, port, tls, user, password = broker_address(self.settings.mqtt_url)
        self._host, self._port = host, port
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.mqtt_client_id,
            clean_session=False,
            manual_ack=True,
        )
        if user is not None:
            client.username_pw_set(user, password)
        if tls:
            client.tls_set()
        client.reconnect_delay_set(1, max(1, int(self.settings.mqtt_reconnect_max_seconds)))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        return client

    # paho's network thread -------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                    _properties: Any = None) -> None:  # fmt: skip
        if reason.is_failure:
            log.warning("MQTT broker %s:%s refused the connection: %s", self._host, self._port,
                        reason)  # fmt: skip
            return
        self._generation += 1
        self.counts["connects"] += 1
        client.subscribe(f"{self.prefix}/+/+", qos=1)
        log.info("MQTT connected to %s:%s, subscribed to %s/+/+", self._host, self._port,
                 self.prefix)  # fmt: skip

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        self.counts["connect_failures"] += 1
        log.warning("cannot reach the MQTT broker at %s:%s; retrying", self._host, self._port)

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any,
                      _properties: Any = None) -> None:  # fmt: skip
        if any(getattr(r, "is_failure", False) for r in reasons):
            log.warning("the broker refused the subscription to %s/+/+: %s", self.prefix, reasons)
            return
        self.connected.set()  # subscribed: alarms published from now on reach this worker

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                       _properties: Any = None) -> None:  # fmt: skip
        self.connected.clear()
        if not self._stop.is_set():
            self.counts["disconnects"] += 1
            log.warning("MQTT connection to %s:%s lost (%s); reconnecting", self._host,
                        self._port, reason)  # fmt: skip

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        parts = topic_parts(message.topic, self.prefix)
        received = Received(
            channel="mqtt",
            topic=message.topic,
            payload=bytes(message.payload),
            received_at=self.clock.now(),
            device_code=parts[0] if parts else None,
            kind=parts[1] if parts else None,
            redelivered=bool(message.dup),
        )
        self.counts["received"] += 1
        self._queue.put(_Incoming(self._generation, message.mid, message.qos, received))

    # the folder thread -----------------------------------------------------------------------

    def start(self) -> AlarmSubscriber:
        """Connect (retrying in the background until the broker answers) and start folding."""
        self._stop.clear()
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        self._folder = threading.Thread(target=self._fold_loop, name="iot-folder", daemon=True)
        self._folder.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Fold and acknowledge what was received, then disconnect (the session stays)."""
        self._stop.set()
        if self._folder is not None:
            self._folder.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def __enter__(self) -> AlarmSubscriber:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _take(self) -> list[_Incoming]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        limit = self.settings.iot_batch
        while len(batch) < limit:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _fold_loop(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                if self._stop.is_set():
                    return
                continue
            try:
                self.handle([m.received for m in batch])
            except Exception:  # the database is gone: leave them unacknowledged for redelivery
                log.exception("could not record %d alarms; the broker will deliver them again",
                              len(batch))  # fmt: skip
                self.counts["unrecorded"] += len(batch)
                time.sleep(1.0)
                continue
            for incoming in batch:
                if incoming.qos > 0 and incoming.generation == self._generation:
                    self._client.ack(incoming.mid, incoming.qos)
                    self.counts["acked"] += 1

    def handle(self, batch: list[Received]) -> None:
        """Record and fold one batch in one transaction; if it fails, each message on its own,
        and a message that fails alone is quarantined as `error` (one bad message never blocks
        the rest)."""
        try:
            with self.database.transaction() as db:
                outcomes = self.processor.process(db, batch, now=self.clock.now())
        except Exception:
            if len(batch) == 1:
                raise
            log.exception("a batch of %d alarms failed; taking them one by one", len(batch))
            for one in batch:
                try:
                    self.handle([one])
                except Exception as exc:
                    with self.database.transaction() as db:
                        quarantine_one(
                            db, one, reason="error", detail=f"{type(exc).__name__}: {exc}",
                            detail_zh="处理该消息时发生错误，已隔离",
                        )  # fmt: skip
                    self.counts["quarantined_error"] += 1
            return
        self.counts["batches"] += 1
        self.counts["committed"] += len(batch)
        self.counts.update(outcome_counts(outcomes))


def intake_lock_key(settings: Settings) -> int:
    """The advisory lock of one intake: its client id and topics (another deployment on the same
    PostgreSQL server, with its own client id, has its own holder)."""
    name = f"fengqiao-mqtt-intake:{settings.mqtt_client_id}:{settings.mqtt_topic_prefix}"
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class MqttIntake:
    """The worker's MQTT intake: the subscriber, run by one worker at a time.

    On SQLite only one worker runs (its file lock), so the subscriber starts at once. On
    PostgreSQL a worker runs it while it holds a transaction-level advisory lock in a
    transaction it keeps open on a connection of its own (so it works through PgBouncer); a worker that dies (kill -9 included) closes that connection, PostgreSQL drops the
    lock, and a waiting worker takes it within `mqtt_holder_check_seconds`. The holder checks its
    lock's connection as often and stops subscribing when it is gone (the database restarted, a
    network partition), before another worker can take over.
    """

    def __init__(
        self, database: Database, settings: Settings, *, clock: Clock | None = None
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self.key = intake_lock_key(settings)
        self.holding = threading.Event()
        self.subscriber: AlarmSubscriber | None = None
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._connection: Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        host, port, _, _, _ = broker_address(settings.mqtt_url)
        self.broker = f"{host}:{port}"

    def start(self) -> MqttIntake:
        if self.database.is_sqlite:
            self._take()
            return self
        self._thread = threading.Thread(target=self._loop, name="mqtt-intake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self._give_up()

    def _take(self) -> None:
        self.subscriber = AlarmSubscriber(self.database, self.settings, clock=self.clock).start()
        self.holding.set()
        log.info("MQTT intake: %s holds it and subscribes", self.name)

    def _give_up(self) -> None:
        if self.subscriber is not None:
            self.subscriber.stop()
            self.subscriber = None
        self.holding.clear()
        if self._connection is not None:
            try:
                self._connection.invalidate()  # closes it for good: the lock goes with it
            except Exception:
                log.debug("closing the intake lock's connection failed", exc_info=True)
            self._connection = None

    def _loop(self) -> None:
        every = self.settings.mqtt_holder_check_seconds
        while not self._stop.is_set():
            try:
                if self._connection is None:
                    self._connection = self.database.engine.connect()
                if not self.holding.is_set():
                    # A transaction-level lock, in a transaction left open while holding: through
                    # PgBouncer in transaction mode only an open transaction keeps its server
                    # connection (a session-level lock would stay behind on a pooled server
                    # connection that other clients then share).
                    took = self._connection.scalar(
                        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self.key}
                    )
                    if took:
                        self._take()
                    else:
                        self._connection.rollback()
                else:
                    self._connection.scalar(text("SELECT 1"))
            except Exception:
                if self.holding.is_set():
                    log.warning("MQTT intake: lost the lock's database connection; stop "
                                "subscribing until it is back", exc_info=True)  # fmt: skip
                self._give_up()
            self._stop.wait(every)
