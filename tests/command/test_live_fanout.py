"""Live streams that scale (issue 21, item 5): one listener per process wakes the open streams
(LISTEN/NOTIFY on PostgreSQL, Redis pub/sub when configured, in memory on SQLite) instead of each
stream polling; a dropped listener reconnects and misses nothing; a drain ends every stream with
a reconnect frame; and a stream resumes on another instance from its Last-Event-ID.

These tests commit for real (a notification is delivered on commit only), so they run on a
database of their own, seeded once per backend."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from fengqiao import drain, fanout
from fengqiao.app import create_app
from fengqiao.auth.models import User, UserRole
from fengqiao.auth.security import issue_token
from fengqiao.auth.sessions import revoke_user_tokens
from fengqiao.command import live
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.notify import views as inbox_views
from fengqiao.notify.channels import Message
from fengqiao.notify.models import Notification
from fengqiao.notify.plugins.app import AppChannel
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.models import Outbox
from tests.conftest import BACKENDS, TEST_KEY, _new_empty, make_settings
from tests.events.conftest import make_world

LIVE = "/api/v1/live/stream"
INBOX = "/api/v1/me/notifications/stream"
REDIS_URL = "redis://127.0.0.1:6379/15"
WAIT = 10.0


@dataclass
class World:
    backend: str
    url: str
    settings: Settings
    tmp: Path
    users: dict[str, int]
    grid_point: tuple[float, float]
    category: str


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    empty_templates: dict[str, str],
) -> Iterator[World]:
    """The small demo district on a database of this module, plus an operator of another town."""
    from fengqiao.demo.seed import seed

    tmp = tmp_path_factory.mktemp(f"fanout-{request.param}")
    url = _new_empty(request.param, tmp, request, empty_templates)
    settings = make_settings(url, tmp, rules_check_seconds=0)
    database = Database(url)
    seed(db=database, scale="small", password=settings.demo_password)
    with database.transaction() as db:
        places = make_world(db)
        operator = db.scalars(select(User).where(User.username == "demo_operator")).one()
        town = db.get(OrgUnit, operator.home_org_id)
        assert town is not None and town.kind == "town" and town.parent_id is not None
        district = db.get(OrgUnit, town.parent_id)
        assert district is not None
        # The small district has one town: a second one, with its own command room.
        second = OrgUnit(code=town.code[:6] + "999", name="另一街道", kind="town",
                         parent_id=district.id, path="")  # fmt: skip
        db.add(second)
        db.flush()
        second.path = f"{district.path}{second.id}/"
        other = User(username="other_town_operator", name="另一街道坐席", home_org_id=second.id)
        db.add(other)
        db.flush()
        db.add(UserRole(user_id=other.id, role="operator"))
    with database.session() as db:
        users = {u.username: u.id for u in db.scalars(select(User))}
    database.dispose()
    yield World(
        request.param, url, settings, tmp, users, places.grid_point, places.handler_category
    )
    fanout.stop_listeners()  # their database is dropped next


def _headers(world: World, username: str, last_event_id: str | None = None) -> dict[str, str]:
    token = issue_token(user_id=world.users[username], key=TEST_KEY, minutes=60)
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return headers


class Reader:
    """One open stream read in a thread of its own: its frames as they come."""

    def __init__(self, client: TestClient, path: str, headers: dict[str, str]) -> None:
        self.frames: queue.Queue[dict[str, Any]] = queue.Queue()
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.status = 0
        self.thread = threading.Thread(target=self._run, args=(client, path, headers), daemon=True)
        self.thread.start()
        assert self.opened.wait(WAIT), "the stream did not open"

    def _run(self, client: TestClient, path: str, headers: dict[str, str]) -> None:
        try:
            with client.stream("GET", path, headers=headers) as response:
                self.status = response.status_code
                current: dict[str, Any] = {}
                for raw in response.iter_lines():
                    line = raw.rstrip("\r")
                    if line == "":
                        if "retry" in current and not self.opened.is_set():
                            self.opened.set()
                        if current:
                            self.frames.put(current)
                        current = {}
                    elif line.startswith("retry: "):
                        current["retry"] = int(line.removeprefix("retry: "))
                    elif line.startswith("id: "):
                        current["id"] = line.removeprefix("id: ")
                    elif line.startswith("event: "):
                        current["event"] = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        current["data"] = orjson.loads(line.removeprefix("data: "))
        finally:
            self.opened.set()
            self.ended.set()

    def next(self, event: str, timeout: float = WAIT) -> dict[str, Any]:
        """The next frame of kind `event` (others skipped), or fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {event} frame within {timeout} s"
            try:
                frame = self.frames.get(timeout=left)
            except queue.Empty:
                continue
            if frame.get("event") == event:
                return frame

    def none(self, event: str, within: float) -> None:
        """No frame of kind `event` comes within `within` seconds."""
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self.frames.get(timeout=left)
            except queue.Empty:
                return
            assert frame.get("event") != event, f"an unexpected {event}: {frame}"


@pytest.fixture
def no_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams re-read only when woken: the safety re-check is an hour away."""
    for module in (live, inbox_views):
        monkeypatch.setattr(module, "SAFETY_SECONDS", 3600.0)
        monkeypatch.setattr(module, "LOCAL_SAFETY_SECONDS", 3600.0)
    monkeypatch.setattr(live, "RECHECK_SECONDS", 3600.0)


def end(readers: list[Reader]) -> None:
    """End the streams with a drain (before their app stops)."""
    drain.begin_drain()
    try:
        for reader in readers:
            assert reader.ended.wait(WAIT), "a stream went on after the drain"
    finally:
        drain.reset()


@pytest.fixture
def readers() -> Iterator[list[Reader]]:
    """Streams a test opens; a drain ends them all at its end."""
    opened: list[Reader] = []
    yield opened
    end(opened)


def _app(world: World, **overrides: Any) -> Iterator[TestClient]:
    settings = world.settings.model_copy(update=overrides)
    try:
        with TestClient(create_app(settings)) as client:
            yield client
    finally:
        fanout.configure(world.settings)  # the process sends by its database again


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    yield from _app(world)


@pytest.fixture
def redis_client(world: World) -> Iterator[TestClient]:
    yield from _app(world, stream_backend="redis", stream_redis_url=REDIS_URL)


def send_message(world: World, username: str, title: str) -> int:
    """Store a message for `username` as the worker's `app` channel does; its id."""
    database = Database(world.url)
    try:
        now = datetime.now(UTC)
        with database.transaction() as db:
            row = Outbox(
                channel="app", recipient=str(world.users[username]),
                user_id=world.users[username], template="test", payload={},
                dedupe_key=f"fanout-{time.monotonic_ns()}", status="sent",
                next_attempt_at=now, created_at=now,
            )  # fmt: skip
            db.add(row)
            db.flush()
            outbox_id = row.id
        AppChannel(settings=world.settings, database=database).send(
            Message(
                id=outbox_id,
                channel="app",
                recipient=str(world.users[username]),
                user_id=world.users[username],
                template="test",
                subject=title,
                text="内容",
                link="/events",
                event_id=None,
                path="/events",
            )
        )
        with database.session() as db:
            found = db.scalar(select(Notification.id).where(Notification.outbox_id == outbox_id))
        assert found is not None
        return found
    finally:
        database.dispose()


def newest_message(world: World, username: str) -> int:
    database = Database(world.url)
    try:
        with database.session() as db:
            newest = db.scalar(
                select(func.max(Notification.id)).where(
                    Notification.user_id == world.users[username]
                )
            )
        return newest or 0
    finally:
        database.dispose()


def test_a_message_reaches_its_users_streams_without_polling(
    world: World, client: TestClient, readers: list[Reader], no_polling: None
) -> None:
    shared = Reader(client, LIVE, _headers(world, "demo_grid_worker"))
    inbox = Reader(client, INBOX, _headers(world, "demo_grid_worker"))
    someone_else = Reader(client, INBOX, _headers(world, "demo_handler"))
    readers += [shared, inbox, someone_else]
    sent = send_message(world, "demo_grid_worker", "有新消息")
    frame = shared.next("notification")
    assert frame["data"]["id"] == sent and frame["data"]["title"] == "有新消息"
    assert frame["id"] == f"{sent}.0"
    assert inbox.next("notification")["data"]["id"] == sent
    someone_else.none("notification", within=1.0)


def test_redis_pub_sub_carries_a_message_to_the_stream(
    world: World, redis_client: TestClient, readers: list[Reader], no_polling: None
) -> None:
    listener = fanout.listener_for(
        world.settings.model_copy(update={"stream_backend": "redis", "stream_redis_url": REDIS_URL})
    )
    assert isinstance(listener, fanout.RedisListener)
    shared = Reader(redis_client, LIVE, _headers(world, "demo_grid_worker"))
    readers.append(shared)
    sent = send_message(world, "demo_grid_worker", "经Redis送达")
    assert shared.next("notification")["data"]["id"] == sent


def _file_alarm(client: TestClient, world: World) -> dict[str, Any]:
    lat, lng = world.grid_point
    body = {
        "source": "grid_worker", "category": world.category, "urgent": True,
        "description": "一键报警：有人落水", "lat": lat, "lng": lng, "address": "柯桥街道某路",
    }  # fmt: skip
    response = client.post("/api/v1/events", json=body, headers=_headers(world, "demo_grid_worker"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_an_alarm_reaches_every_room_of_its_area_and_no_other(
    world: World, client: TestClient, readers: list[Reader], no_polling: None
) -> None:
    rooms = [Reader(client, LIVE, _headers(world, "demo_operator")) for _ in range(3)]
    district = Reader(client, LIVE, _headers(world, "demo_district_operator"))
    elsewhere = Reader(client, LIVE, _headers(world, "other_town_operator"))
    readers += [*rooms, district, elsewhere]
    time.sleep(0.5)  # let each finish its first round (the alarms already waiting)
    alarm = _file_alarm(client, world)
    for reader in [*rooms, district]:
        assert reader.next("alarm")["data"]["id"] == alarm["id"]
    elsewhere.none("alarm", within=1.0)
    # Taking it (接警) tells every room of the area that it stopped waiting.
    taken = client.post(
        f"/api/v1/command/alarms/{alarm['id']}/ack", headers=_headers(world, "demo_operator")
    )
    assert taken.status_code == 200, taken.text
    for reader in [*rooms, district]:
        ack = reader.next("ack")["data"]
        assert ack["id"] == alarm["id"] and ack["acked"] is True


def _drop(world: World, listener: fanout.Listener) -> None:
    """Cut the listener's connection from the server's side."""
    if isinstance(listener, fanout.PostgresListener):
        database = Database(world.url)
        try:
            with database.engine.connect() as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.backend_pid}
                )
        finally:
            database.dispose()
    else:
        assert isinstance(listener, fanout.RedisListener)
        redis.Redis.from_url(REDIS_URL).execute_command("CLIENT", "KILL", "ID", listener.client_id)


@pytest.mark.parametrize("backend", ["postgres", "redis"])
def test_a_dropped_listener_reconnects_and_nothing_is_missed(
    world: World,
    readers: list[Reader],
    no_polling: None,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    if backend == "postgres" and world.backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's (SQLite's fan-out is in memory)")
    overrides: dict[str, Any] = {"stream_backend": backend}
    if backend == "redis":
        overrides["stream_redis_url"] = REDIS_URL
    settings = world.settings.model_copy(update=overrides)
    monkeypatch.setattr(fanout, "RECONNECT_SECONDS", (1.5,))
    for client in _app(world, **overrides):
        stream = Reader(client, LIVE, _headers(world, "demo_grid_worker"))
        readers.append(stream)
        listener = fanout.listener_for(settings)
        assert listener is not None and listener.ready.is_set()
        before = listener.connects
        _drop(world, listener)
        deadline = time.monotonic() + WAIT
        while listener.ready.is_set():  # it noticed the drop
            assert time.monotonic() < deadline, "the listener did not notice the drop"
            time.sleep(0.01)
        # Sent while nobody listens: no notification reaches this process...
        sent = send_message(world, "demo_grid_worker", "断线期间的消息")
        # ...but once it listens again every stream re-checks, and the message comes.
        assert stream.next("notification")["data"]["id"] == sent
        assert listener.connects == before + 1
        end(readers)


def test_a_drain_ends_every_stream_with_a_reconnect_frame(
    world: World, client: TestClient, readers: list[Reader]
) -> None:
    room = Reader(client, LIVE, _headers(world, "demo_operator"))
    inbox = Reader(client, INBOX, _headers(world, "demo_grid_worker"))
    try:
        drain.begin_drain()
        for reader in (room, inbox):
            assert reader.ended.wait(WAIT), "the stream did not end"
            last = reader.next("reconnect", timeout=0.1)
            assert last["retry"] == 500
            assert reader.frames.empty(), "the reconnect frame is the last"
        # A stream opened while draining (the balancer still sent it here) ends at once.
        late = Reader(client, LIVE, _headers(world, "demo_operator"))
        assert late.ended.wait(WAIT)
        assert late.status == 200 and late.next("reconnect", timeout=0.1)["retry"] == 500
    finally:
        drain.reset()


def test_a_stream_resumes_on_another_instance(world: World, readers: list[Reader]) -> None:
    base = newest_message(world, "demo_grid_worker")
    first = send_message(world, "demo_grid_worker", "第一条")
    for one in _app(world):
        for other in _app(world):
            on_one = Reader(one, LIVE, _headers(world, "demo_grid_worker", f"{base}.0"))
            readers.append(on_one)
            seen = on_one.next("notification")
            assert seen["data"]["id"] == first and seen["id"] == f"{first}.0"
            second = send_message(world, "demo_grid_worker", "第二条")
            # The browser moves to the other instance (a drain, a balancer) with its cursor.
            on_other = Reader(other, LIVE, _headers(world, "demo_grid_worker", seen["id"]))
            readers.append(on_other)
            resumed = on_other.next("notification")
            assert resumed["data"]["id"] == second, "neither repeated nor skipped"
            assert resumed["id"] == f"{second}.0"
            end(readers)


def test_signing_out_ends_the_stream_at_once(
    world: World, client: TestClient, readers: list[Reader], no_polling: None
) -> None:
    stream = Reader(client, LIVE, _headers(world, "demo_leader"))
    readers.append(stream)
    database = Database(world.url)
    try:
        with database.transaction() as db:  # a password change ends every token of the user
            revoke_user_tokens(db=db, user_id=world.users["demo_leader"])
    finally:
        database.dispose()
    assert stream.ended.wait(WAIT), "the stream went on for a signed-out caller"


def test_notify_waits_for_commit(world: World) -> None:
    """A rolled-back write wakes nobody; a committed one wakes its topic's streams."""
    if world.backend != "sqlite":
        pytest.skip("the memory fan-out's commit hook (PostgreSQL's NOTIFY is transactional)")
    database = Database(world.url)
    woken: list[list[str]] = []
    original = fanout.hub.publish
    try:
        fanout.hub.publish = lambda topics: woken.append(sorted(topics))  # type: ignore[method-assign]
        with pytest.raises(RuntimeError), database.transaction() as db:
            fanout.notify(db, fanout.user_topic(1))
            raise RuntimeError("rolled back")
        assert woken == []
        with database.transaction() as db:
            fanout.notify(db, fanout.user_topic(1))
            fanout.notify(db, fanout.town_topic(2))
            fanout.notify(db, fanout.user_topic(1))
        assert woken == [["town:2", "user:1"]]
    finally:
        fanout.hub.publish = original  # type: ignore[method-assign]
        database.dispose()


def test_payloads_stay_under_postgres_limit() -> None:
    topics = {fanout.town_topic(n) for n in range(5000)}
    chunks = fanout._payloads(topics)
    assert len(chunks) > 1 and all(len(c) < 8000 for c in chunks)
    assert {t for c in chunks for t in c.split(",")} == topics
