"""The command room's reads from the per-scope cache: the same answers as without it, 304 on a
matching ETag, one area's answer never handed to another, and a change in the next read."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.auth.models import User, UserRole
from fengqiao.clock import FixedClock
from fengqiao.readcache import Answer, ReadCache, make_answer
from tests.events.conftest import Desk

READS = (
    "/api/v1/command/situation",
    "/api/v1/command/events.geojson",
    "/api/v1/command/grid-stats",
    "/api/v1/events",
)


def ids(api: TestClient, headers: dict[str, str], path: str) -> set[int]:
    """The event ids a read shows (points, list rows, the panel's alarms), or for the grid
    counts the ids of the grids with open events."""
    response = api.get(path, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    if "grids" in body:
        return {int(grid) for grid, counts in body["grids"].items() if counts["open"]}
    if "features" in body:
        return {f["properties"]["id"] for f in body["features"]}
    if "items" in body:
        return {e["id"] for e in body["items"]}
    return {a["id"] for a in body["alarms"]}


@pytest.fixture
def uncached(bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any) -> Iterator[TestClient]:
    """A second app over the same data and clock, with the read caches off."""
    settings = seeded.settings.model_copy(
        update={"data_dir": tmp_path, "rules_check_seconds": 0, "read_cache_seconds": 0}
    )
    with TestClient(create_app(settings, database=bound, clock=clock)) as client:
        yield client


def _operator_of_village(db: Session, village_id: int, username: str) -> str:
    user = User(username=username, name="村级坐席", home_org_id=village_id)
    db.add(user)
    db.flush()
    db.add(UserRole(user_id=user.id, role="operator"))
    db.flush()
    return username


def test_cached_answers_equal_uncached_ones(
    api: TestClient, uncached: TestClient, auth: Any, desk: Desk, clock: FixedClock
) -> None:
    users = ("demo_operator", "demo_district_operator", "demo_district_leader")

    def same_everywhere() -> None:
        for user in users:
            for path in READS:
                cached = api.get(path, headers=auth(user))
                plain = uncached.get(path, headers=auth(user))
                assert cached.status_code == plain.status_code == 200, (user, path, cached.text)
                assert cached.json() == plain.json(), (user, path)

    same_everywhere()  # the caches now hold the empty district
    first = desk.file()
    desk.file(urgent=True, title="一键报警")
    same_everywhere()
    desk.act(desk.act(first, "demo_operator", "accept"), "demo_operator", "dispatch")
    same_everywhere()
    clock.advance(timedelta(days=20))  # no write: the lights turn red with time alone
    same_everywhere()


def test_a_matching_etag_gets_304_until_something_changes(
    api: TestClient, auth: Any, desk: Desk
) -> None:
    operator = auth("demo_operator")
    event_ = desk.file(urgent=True)  # the panel lists it among the alarms, with its status
    tags = {}
    for path in READS:
        first = api.get(path, headers=operator)
        assert first.status_code == 200 and first.headers["etag"], path
        assert first.headers["cache-control"] == "private, no-cache"
        again = api.get(path, headers=operator | {"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, path
        assert again.content == b"" and again.headers["etag"] == first.headers["etag"]
        tags[path] = first.headers["etag"]
    desk.act(event_, "demo_operator", "accept")
    for path in READS:
        changed = api.get(path, headers=operator | {"If-None-Match": tags[path]})
        if path.endswith("grid-stats"):  # accepting changes no grid's counts
            assert changed.status_code == 304, path
            continue
        assert changed.status_code == 200, path
        assert changed.headers["etag"] != tags[path]


def test_one_areas_answer_never_reaches_another(
    api: TestClient, auth: Any, desk: Desk, db: Session
) -> None:
    mine = desk.file(urgent=True)  # in demo_grid_worker's village
    lat, lng = desk.world.other_grid_point
    theirs = desk.file("demo_operator", source="hotline", urgent=True, lat=lat, lng=lng)
    assert mine["village"]["id"] != theirs["village"]["id"]
    village_a = _operator_of_village(db, mine["village"]["id"], "cache_op_a")
    village_b = _operator_of_village(db, theirs["village"]["id"], "cache_op_b")

    def shown(event_: dict[str, Any], path: str) -> int:
        return int(event_["grid"]["id"] if path.endswith("grid-stats") else event_["id"])

    # The town fills every cache first; then each village reads the same routes.
    for path in READS:
        both = {shown(mine, path), shown(theirs, path)}
        assert both <= ids(api, auth("demo_operator"), path), path
    for path in READS:
        assert ids(api, auth(village_a), path) == {shown(mine, path)}, path
        assert ids(api, auth(village_b), path) == {shown(theirs, path)}, path
        both = {shown(mine, path), shown(theirs, path)}
        assert both <= ids(api, auth("demo_operator"), path), path
    panel = api.get("/api/v1/command/situation", headers=auth(village_b)).json()
    assert panel["today"]["new"] == 1 and panel["today"]["urgent_open"] == 1


def test_a_filing_and_a_step_show_in_the_next_read(api: TestClient, auth: Any, desk: Desk) -> None:
    operator = auth("demo_operator")
    before = api.get("/api/v1/command/situation", headers=operator).json()
    layer = ids(api, operator, "/api/v1/command/events.geojson")
    filed = desk.file(urgent=True, title="一键报警")
    after = api.get("/api/v1/command/situation", headers=operator).json()
    assert after["today"]["new"] == before["today"]["new"] + 1
    assert after["alarms"][0]["id"] == filed["id"]
    assert ids(api, operator, "/api/v1/command/events.geojson") == layer | {filed["id"]}
    points = api.get("/api/v1/command/events.geojson", headers=operator).json()["features"]
    assert {f["properties"]["status"] for f in points if f["properties"]["id"] == filed["id"]} == {
        "reported"
    }
    desk.act(filed, "demo_operator", "accept")
    points = api.get("/api/v1/command/events.geojson", headers=operator).json()["features"]
    assert {f["properties"]["status"] for f in points if f["properties"]["id"] == filed["id"]} == {
        "accepted"
    }


def test_a_repeated_read_costs_one_query(
    api: TestClient, auth: Any, desk: Desk, bound: Any
) -> None:
    """While nothing changes, a screen's poll reads the change mark and nothing else."""
    desk.file()
    operator = auth("demo_district_operator")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if re.search(r"\bevent(_log)?\b", sql):  # what reads events, not who is signing in
            statements.append(sql)

    for path in READS:
        assert api.get(path, headers=operator).status_code == 200
        event.listen(bound.connection, "before_cursor_execute", count)
        try:
            statements.clear()
            assert api.get(path, headers=operator).status_code == 200
        finally:
            event.remove(bound.connection, "before_cursor_execute", count)
        assert len(statements) == 1 and "max(id) FROM event_log" in statements[0], statements


def test_a_refresh_serves_the_old_answer_only_while_nothing_changed() -> None:
    """Past its seconds, one caller reads again; callers meanwhile get the previous answer if
    the change mark is the same, and wait for a fresh read if it moved."""
    cache = ReadCache(5)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def answer(text: str, mark: int, at: datetime) -> Answer:
        return make_answer(text, text.encode(), media_type="text/plain", made_at=at, mark=mark)

    first = cache.get_or_make("k", 1, start, lambda: answer("one", 1, start))
    assert (
        cache.get_or_make("k", 1, start + timedelta(seconds=4), lambda: answer("x", 1, start))
        is first
    )
    later = start + timedelta(seconds=6)
    reading, release = threading.Event(), threading.Event()

    def slow() -> Answer:
        reading.set()
        release.wait(10)
        return answer("two", 1, later)

    with ThreadPoolExecutor(3) as pool:
        refresh = pool.submit(cache.get_or_make, "k", 1, later, slow)
        assert reading.wait(10)
        same_mark = pool.submit(cache.get_or_make, "k", 1, later, lambda: answer("y", 1, later))
        assert same_mark.result(10).body == b"one"  # not held up by the refresh
        moved = pool.submit(cache.get_or_make, "k", 2, later, lambda: answer("three", 2, later))
        time.sleep(0.2)
        assert not moved.done()  # a changed mark is never answered from before the change
        release.set()
        assert refresh.result(10).body == b"two"
        assert moved.result(10).body == b"three"
    assert cache.get_or_make("k", 2, later, lambda: answer("z", 2, later)).body == b"three"


def test_a_change_mark_read_under_way_never_answers_a_later_request() -> None:
    """A request that arrives while the mark is being read waits for the next read (which may
    see its writer's commit); everyone who arrived meanwhile shares that one read."""
    started, release = threading.Event(), threading.Event()
    reads: list[int] = []

    def read() -> int:
        reads.append(len(reads) + 1)
        if len(reads) == 1:
            started.set()
            release.wait(10)
        return len(reads)

    async def scenario() -> None:
        cache = ReadCache(5)
        first = asyncio.ensure_future(cache.mark("events", read))
        assert await asyncio.to_thread(started.wait, 10)
        later = [asyncio.ensure_future(cache.mark("events", read)) for _ in range(5)]
        await asyncio.sleep(0.05)
        release.set()
        assert await first == 1
        assert [await each for each in later] == [2] * 5
        assert await cache.mark("events", read) == 3

    asyncio.run(scenario())
    assert reads == [1, 2, 3]
