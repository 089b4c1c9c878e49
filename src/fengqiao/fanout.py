"""Live changes fanned out to the open streams of a process: one listener per process instead of
every stream polling the database (docs/scaling.md).

Writers call `notify(db, topic)` inside their transaction; topics are `user:<id>` (a message
stored for that user) and `town:<id>` (an event of that town filed or moved, an alarm that
starts waiting, climbs or is taken). What happens at commit depends on the backend:

- PostgreSQL (`stream_backend` "postgres", the default there): the topics go out with
  `pg_notify` in the writing transaction itself, so they are delivered on commit and never for a
  rolled-back write. Each process holds one dedicated connection (`listen_database_url`: a
  direct one, since LISTEN cannot go through PgBouncer in transaction mode) that LISTENs and
  fans each notification out to the streams following its topics. After a dropped connection it
  reconnects and wakes every stream for a full re-check, so nothing sent meanwhile is missed.
- Redis (`stream_backend` "redis" or `stream_redis_url` set): published after commit to a
  pub/sub channel that one subscriber per process reads; the same re-check after a reconnect.
- memory (SQLite's default): published after commit to this process's own streams.

A stream `subscribe`s to its topics and reads the database only when woken (plus a slow safety
re-check of its own). Any layer may call `notify`; the module imports only wiring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
import redis
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, SessionTransaction

from fengqiao.config import Settings

log = logging.getLogger("fengqiao.fanout")

CHANNEL = "fengqiao_live"
EVERYTHING = "*"  # what a stream is woken with when it must re-check everything
# One NOTIFY payload must stay under PostgreSQL's 8,000 bytes: topics go out in chunks.
_PAYLOAD_BYTES = 7000
_PENDING = "fengqiao_fanout_pending"
# How long a listener waits on its connection before checking it is still alive (a silently
# dropped TCP connection delivers nothing and raises nothing).
LIVENESS_SECONDS = 20.0
RECONNECT_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
# How long a new stream waits for its process's listener to be listening before it goes on
# (it then relies on its safety re-check until the listener is up).
READY_SECONDS = 5.0

Backend = Literal["postgres", "redis", "memory"]


def user_topic(user_id: int) -> str:
    """The topic of a user's messages."""
    return f"user:{user_id}"


def town_topic(town_id: int) -> str:
    """The topic of a town's events and alarms (the situation panel and alarm dialogs)."""
    return f"town:{town_id}"


def resolve_backend(settings: Settings) -> Backend:
    """The backend `settings` ask for ("auto": Redis when its URL is set, else PostgreSQL on
    PostgreSQL, else memory)."""
    wanted = settings.stream_backend
    postgres = make_url(settings.database_url).get_backend_name() == "postgresql"
    if wanted == "auto":
        if settings.stream_redis_url:
            return "redis"
        return "postgres" if postgres else "memory"
    if wanted == "postgres" and not postgres and not settings.listen_database_url:
        raise ValueError("stream_backend 'postgres' needs a PostgreSQL database")
    if wanted == "redis" and not settings.stream_redis_url:
        raise ValueError("stream_backend 'redis' needs stream_redis_url")
    return wanted


# --- sending ------------------------------------------------------------------------------


@dataclass
class _Sender:
    """How this process sends: None = by the session's database (pg_notify on PostgreSQL, the
    memory hub on SQLite)."""

    backend: Backend | None = None
    redis_url: str = ""
    client: Any = None


_sender = _Sender()
_sender_guard = threading.Lock()


def configure(settings: Settings) -> None:
    """Send the way `settings` ask (the app and the worker call it at start)."""
    backend = resolve_backend(settings)
    with _sender_guard:
        # "auto" without Redis sends by each session's database (pg_notify or memory).
        chosen = backend == "redis" or settings.stream_backend != "auto"
        _sender.backend = backend if chosen else None
        if backend == "redis" and _sender.redis_url != settings.stream_redis_url:
            _sender.redis_url = settings.stream_redis_url
            _sender.client = redis.Redis.from_url(settings.stream_redis_url)


def notify(db: Session, topic: str) -> None:
    """Wake the open streams following `topic` when `db`'s transaction commits (nothing when it
    rolls back)."""
    db.info.setdefault(_PENDING, set()).add(topic)


def _payloads(topics: Iterable[str]) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for topic in sorted(topics):
        if current and size + len(topic) + 1 > _PAYLOAD_BYTES:
            chunks.append(",".join(current))
            current, size = [], 0
        current.append(topic)
        size += len(topic) + 1
    if current:
        chunks.append(",".join(current))
    return chunks


def _pg_notifies(session: Session) -> bool:
    if _sender.backend is not None and _sender.backend != "postgres":
        return False
    return session.get_bind().dialect.name == "postgresql"


@event.listens_for(Session, "before_commit")
def _send_in_transaction(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending or not _pg_notifies(session):
        return
    for payload in _payloads(pending):
        session.execute(select(func.pg_notify(CHANNEL, payload)))
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    if _sender.backend == "redis" and _sender.client is not None:
        try:
            for payload in _payloads(pending):
                _sender.client.publish(CHANNEL, payload)
        except redis.RedisError as error:  # the streams' safety re-check picks it up
            log.warning("could not publish %d live topics to Redis: %s", len(pending), error)
        return
    hub.publish(pending)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


# --- receiving ----------------------------------------------------------------------------


# How often each event loop's one timer looks for streams whose own wait is over (a heartbeat
# due, a safety re-check): streams wait on no timer of their own, so 5,000 idle streams cost one
# wake-up a second, not one timer and one task per stream and wait. A wait may end up to this late.
TICK_SECONDS = 1.0
_NEVER = float("inf")


class Subscription:
    """One open stream's interest: its topics, what woke it since it last looked, a drain.

    Small on purpose (thousands are open at once): slots, no event or task of its own; while the
    stream waits it holds one future, which `publish`, the drain or its loop's timer resolves."""

    __slots__ = ("_waiter", "_woken", "drained", "due", "fired", "loop", "own", "shared")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, own: tuple[str, ...], shared: frozenset[str]
    ) -> None:
        self.loop = loop
        self.own = own  # its own topics (its user's)
        self.shared = shared  # topics many streams follow (an area's towns): one shared set
        self.fired: set[str] = set()
        self.drained = False
        self.due = _NEVER  # loop time its current wait ends by itself
        self._waiter: asyncio.Future[None] | None = None
        self._woken = False

    @property
    def topics(self) -> frozenset[str]:
        """Every topic it follows."""
        return self.shared.union(self.own)

    def _wake(self, topics: Iterable[str]) -> None:
        self.fired.update(topics)
        self._resolve()

    def _resolve(self) -> None:
        self._woken = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _drain(self) -> None:
        self.drained = True
        self._resolve()

    def drain_soon(self) -> None:
        """End the stream for a drain: callable from any thread (a `drain.on_drain` listener)."""
        self.loop.call_soon_threadsafe(self._drain)

    async def wait(self, timeout: float) -> set[str]:
        """The topics that fired, once one does or about `timeout` seconds pass (then empty; the
        loop's timer ends the wait, up to `TICK_SECONDS` late)."""
        if not self._woken and timeout > 0:
            self.due = self.loop.time() + timeout
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
                self.due = _NEVER
        self._woken = False
        fired, self.fired = self.fired, set()
        return fired


class Hub:
    """The process's open streams by topic; `publish` wakes them from any thread."""

    def __init__(self) -> None:
        self._by_topic: dict[str, set[Subscription]] = defaultdict(set)
        self._all: set[Subscription] = set()
        self._by_loop: dict[asyncio.AbstractEventLoop, set[Subscription]] = {}
        self._guard = threading.Lock()

    def add(self, sub: Subscription) -> None:
        """Follow `sub`'s topics (from its own event loop)."""
        with self._guard:
            self._all.add(sub)
            for topic in (*sub.own, *sub.shared):
                self._by_topic[topic].add(sub)
            on_loop = self._by_loop.get(sub.loop)
            if on_loop is None:
                self._by_loop[sub.loop] = on_loop = set()
                sub.loop.call_later(TICK_SECONDS, self._tick, sub.loop)
            on_loop.add(sub)

    def remove(self, sub: Subscription) -> None:
        with self._guard:
            self._all.discard(sub)
            for topic in (*sub.own, *sub.shared):
                subs = self._by_topic.get(topic)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._by_topic[topic]
            on_loop = self._by_loop.get(sub.loop)
            if on_loop is not None:
                on_loop.discard(sub)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop's one timer: end the waits that are over, all in this one pass."""
        now = loop.time()
        with self._guard:
            on_loop = self._by_loop.get(loop)
            if not on_loop:  # no stream left on this loop: the timer stops until the next one
                self._by_loop.pop(loop, None)
                return
            over = [sub for sub in on_loop if sub.due <= now]
        for sub in over:
            sub._resolve()
        loop.call_later(TICK_SECONDS, self._tick, loop)

    def count(self) -> int:
        with self._guard:
            return len(self._all)

    def publish(self, topics: Iterable[str]) -> None:
        """Wake the streams following any of `topics` (with the ones they follow)."""
        woken: dict[Subscription, list[str]] = defaultdict(list)
        with self._guard:
            for topic in topics:
                for sub in self._by_topic.get(topic, ()):
                    woken[sub].append(topic)
        self._deliver(woken)

    def wake_all(self) -> None:
        """Wake every stream for a full re-check (after a listener reconnects)."""
        with self._guard:
            woken = {sub: [EVERYTHING] for sub in self._all}
        self._deliver(woken)

    @staticmethod
    def _deliver(woken: dict[Subscription, list[str]]) -> None:
        # One hop per event loop, not per stream: thousands of streams share one loop.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Subscription, list[str]]]] = (
            defaultdict(list)
        )
        for sub, topics in woken.items():
            by_loop[sub.loop].append((sub, topics))
        for loop, batch in by_loop.items():

            def wake(batch: list[tuple[Subscription, list[str]]] = batch) -> None:
                for sub, topics in batch:
                    sub._wake(topics)

            with contextlib.suppress(RuntimeError):  # a closed loop: its streams are gone
                loop.call_soon_threadsafe(wake)


hub = Hub()


class Listener(threading.Thread):
    """The process's one connection that receives the changes, reconnecting after a drop."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.ready = threading.Event()
        self.connects = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                self.listen()
                failures = 0
            except Exception as error:  # any drop: reconnect, never die
                self.ready.clear()
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning(
                    "live listener %s dropped (%s); again in %.1f s", self.name, error, delay
                )
                self.stopping.wait(delay)

    def connected(self) -> None:
        """Called once listening: every stream re-checks (a reconnect may have missed some)."""
        self.connects += 1
        self.ready.set()
        hub.wake_all()

    def listen(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()


class PostgresListener(Listener):
    """LISTEN on a dedicated autocommit connection."""

    def __init__(self, url: str) -> None:
        super().__init__("live-listener-postgres")
        parsed = make_url(url).set(drivername="postgresql")
        self.conninfo = parsed.render_as_string(hide_password=False)
        self.backend_pid: int | None = None

    def listen(self) -> None:
        with psycopg.connect(
            self.conninfo, autocommit=True, keepalives=1, keepalives_idle=10,
            keepalives_interval=5, keepalives_count=3, application_name="fengqiao-live",
        ) as conn:  # fmt: skip
            conn.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = conn.info.backend_pid
            self.connected()
            while not self.stopping.is_set():
                got = False
                for note in conn.notifies(timeout=LIVENESS_SECONDS):
                    got = True
                    hub.publish(note.payload.split(","))
                    if self.stopping.is_set():
                        return
                if not got:
                    conn.execute("SELECT 1")  # a dead connection raises here


class RedisListener(Listener):
    """SUBSCRIBE on Redis pub/sub."""

    def __init__(self, url: str) -> None:
        super().__init__("live-listener-redis")
        self.url = url
        self.client_id: int | None = None

    def listen(self) -> None:
        client = redis.Redis.from_url(self.url, socket_keepalive=True)
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(CHANNEL)
            deadline = time.monotonic() + READY_SECONDS
            while pubsub.get_message(timeout=0.5) is None:  # the subscribe confirmation
                if time.monotonic() > deadline:
                    raise redis.ConnectionError("no subscribe confirmation")
            connection = pubsub.connection
            if connection is not None:
                connection.send_command("CLIENT", "ID")
                self.client_id = int(connection.read_response())
            self.connected()
            quiet = 0.0
            while not self.stopping.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    quiet += 1.0
                    if quiet >= LIVENESS_SECONDS:
                        quiet = 0.0
                        pubsub.ping()
                    continue
                quiet = 0.0
                if message.get("type") == "message":
                    data = message["data"]
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    hub.publish(text.split(","))
        finally:
            pubsub.close()
            client.close()


_listeners: dict[tuple[str, str], Listener] = {}
_listeners_guard = threading.Lock()


def listener_for(settings: Settings) -> Listener | None:
    """This process's listener for `settings` (started on first use), None for memory."""
    backend = resolve_backend(settings)
    if backend == "memory":
        return None
    url = (
        settings.stream_redis_url
        if backend == "redis"
        else settings.listen_database_url or settings.database_url
    )
    with _listeners_guard:
        found = _listeners.get((backend, url))
        if found is None or not found.is_alive():
            found = PostgresListener(url) if backend == "postgres" else RedisListener(url)
            _listeners[(backend, url)] = found
            found.start()
        return found


def subscribe(topics: Iterable[str], shared: Iterable[str] = ()) -> Subscription:
    """Follow `topics` (the stream's own) and `shared` (those many streams follow alike: an
    area's towns, kept once for all of them) from the running event loop; `unsubscribe` when the
    stream ends. The caller should wait for `ready` (off the loop) before its first read."""
    own = tuple(sorted(set(topics)))
    sub = Subscription(asyncio.get_running_loop(), own, shared_topics(shared))
    hub.add(sub)
    return sub


# The topic sets of open streams, one object per distinct set: the thousands of screens of one
# command room follow the same towns and share one set (and its strings) instead of a copy each.
_TOPIC_SETS: dict[frozenset[str], frozenset[str]] = {}
_TOPIC_SETS_MAX = 4096


def shared_topics(topics: Iterable[str]) -> frozenset[str]:
    """`topics` as the one set every stream following the same ones holds."""
    wanted = frozenset(topics)
    found = _TOPIC_SETS.get(wanted)
    if found is None:
        if len(_TOPIC_SETS) >= _TOPIC_SETS_MAX:
            _TOPIC_SETS.clear()
        found = _TOPIC_SETS.setdefault(wanted, wanted)
    return found


def ready(settings: Settings, timeout: float = READY_SECONDS) -> bool:
    """Start this process's listener if need be and wait until it listens (blocking)."""
    listener = listener_for(settings)
    return listener is None or listener.ready.wait(timeout)


def unsubscribe(sub: Subscription) -> None:
    hub.remove(sub)


def stop_listeners() -> None:
    """Stop this process's listeners (tests whose database goes away); the next stream starts
    them again."""
    with _listeners_guard:
        stopping = list(_listeners.values())
        _listeners.clear()
    for listener in stopping:
        listener.stop()
