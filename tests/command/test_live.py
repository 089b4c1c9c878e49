"""The one live stream a browser's tabs share (GET /api/v1/live/stream): the alarms waiting in
the caller's area, the caller's messages, a cursor to resume from, and nothing of the command
room for anyone else."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.command import live
from fengqiao.command.live import parse_cursor
from fengqiao.errors import unauthorized
from fengqiao.notify.models import Notification
from tests.events.conftest import START, Desk

LIVE = "/api/v1/live/stream"


def frames(api: TestClient, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    """The first `count` frames of a live stream: {"id", "event", "data"} each."""
    got: list[dict[str, Any]] = []
    with api.stream("GET", LIVE, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        for line in _lines(response.iter_lines()):
            if line.startswith("id: "):
                current["id"] = line.removeprefix("id: ")
            elif line.startswith("event: "):
                current["event"] = line.removeprefix("event: ")
            elif line.startswith("data: "):
                current["data"] = json.loads(line.removeprefix("data: "))
                got.append(current)
                current = {}
                if len(got) == count:
                    break
    _wait_for_the_stream_to_end()
    return got


def _wait_for_the_stream_to_end(timeout: float = 10.0) -> None:
    """Closing the client's side does not stop the server's generator at once: it may still be
    reading (situation, messages) on the test's one shared connection, and a savepoint of ours
    taken meanwhile would be rolled back under us (PostgreSQL: `savepoint ... does not exist`).
    The open-streams gauge drops when the response has really ended."""
    deadline = time.monotonic() + timeout
    while REGISTRY.get_sample_value("fengqiao_open_streams", {"route": LIVE}):
        assert time.monotonic() < deadline, "the live stream did not end after its client left"
        time.sleep(0.02)


def _lines(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        yield line.rstrip("\r")


def test_a_fresh_stream_sends_every_waiting_alarm_and_a_resumed_one_only_new_ones(
    api: TestClient, auth: Any, desk: Desk
) -> None:
    desk.file()  # an ordinary event: no alarm
    first = desk.file(urgent=True, title="一键报警")
    [sent] = frames(api, auth("demo_operator"), 1)
    assert sent["event"] == "alarm" and sent["data"]["id"] == first["id"]
    data = sent["data"]
    assert data["title"] == "一键报警" and data["town"] == first["town"]["name"]
    assert data["climbed"] is False and data["urgent"] is True and data["source"] == "grid_worker"
    assert "phone" not in json.dumps(data), "no phone number travels on the stream"
    cursor = parse_cursor(sent["id"])
    assert cursor is not None and cursor[1] == first["id"]
    second = desk.file(urgent=True)
    headers = {**auth("demo_operator"), "Last-Event-ID": sent["id"]}
    [resumed] = frames(api, headers, 1)
    assert resumed["event"] == "alarm" and resumed["data"]["id"] == second["id"]


def _notify(db: Session, username: str, n: int) -> list[int]:
    user = db.scalars(select(User).where(User.username == username)).one()
    rows = [
        Notification(user_id=user.id, title=f"标题{i}", body=f"内容{i}", link="/events/1",
                     created_at=START + timedelta(minutes=i))
        for i in range(n)
    ]  # fmt: skip
    db.add_all(rows)
    db.commit()
    return [r.id for r in rows]


def test_messages_share_the_stream_and_a_grid_worker_gets_no_alarms(
    api: TestClient, auth: Any, desk: Desk, db: Session
) -> None:
    alarm = desk.file(urgent=True)  # in the grid worker's own grid
    ids = _notify(db, "demo_grid_worker", 2)
    headers = {**auth("demo_grid_worker"), "Last-Event-ID": f"{ids[0]}.0"}
    # An alarm would come before the messages of the same round: the first frame tells.
    [sent] = frames(api, headers, 1)
    assert sent["event"] == "notification", sent
    assert sent["data"]["id"] == ids[1] and sent["data"]["title"] == "标题1"
    assert sent["id"] == f"{ids[1]}.0"
    # The command room gets its alarm and its messages on the same one stream.
    mine = _notify(db, "demo_operator", 2)
    headers = {**auth("demo_operator"), "Last-Event-ID": f"{mine[0]}.0"}
    kinds = [(f["event"], f["data"]["id"]) for f in frames(api, headers, 2)]
    assert kinds == [("alarm", alarm["id"]), ("notification", mine[1])]


def test_the_cursor_reads_back() -> None:
    assert parse_cursor("12.345") == (12, 345)
    assert parse_cursor(None) is None and parse_cursor("12") is None
    assert parse_cursor("a.b") is None


def test_the_stream_ends_when_its_caller_is_signed_out(
    api: TestClient, auth: Any, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = desk.file(urgent=True)

    async def signed_out(*_args: Any) -> Any:
        raise unauthorized("token expired; log in again", "登录已过期，请重新登录")

    monkeypatch.setattr(live, "RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(live, "current_principal", signed_out)
    lines = []
    with api.stream("GET", LIVE, headers=auth("demo_operator")) as response:
        for line in response.iter_lines():
            assert not line.startswith(": keep-alive"), "the stream went on"
            if line.startswith("data: "):
                lines.append(line)
    # The round under way is sent, then the stream ends instead of going on for a stale caller.
    assert len(lines) == 1 and json.loads(lines[0].removeprefix("data: "))["id"] == alarm["id"]
