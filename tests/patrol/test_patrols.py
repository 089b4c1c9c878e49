"""Starting and stopping patrols, and the command room's list of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.org.models import OrgUnit
from tests.patrol.conftest import START, People, Phone, path_length, walk

PhoneFor = Callable[[str], Phone]


def expected_grids(db: Session, points: list[dict[str, Any]]) -> list[str]:
    """Codes of the grids the points lie in, in visiting order, by plain shapely tests."""
    grids = [
        (code, shapely.geometry.shape(geometry))
        for code, geometry in db.execute(
            select(OrgUnit.code, OrgUnit.geometry).where(OrgUnit.kind == "grid")
        )
    ]
    codes: list[str] = []
    for p in points:
        code = next(c for c, shape in grids if shape.covers(shapely.Point(p["lng"], p["lat"])))
        if code not in codes:
            codes.append(code)
    return codes


def test_a_patrol_from_start_to_stop(
    phone: PhoneFor, people: People, clock: FixedClock, db: Session
) -> None:
    worker = phone("demo_grid_worker")
    started = worker.start(expect=201)
    assert started["open"] and started["ended_at"] is None and started["points"] == 0
    assert worker.start(expect=200)["id"] == started["id"]  # a second tap returns the same one
    # 40 points 50 m apart heading north-east: long enough to leave the grid.
    points = walk(*people.inside(), START + timedelta(seconds=10), 40, step_m=50.0)
    clock.advance(timedelta(minutes=12))
    worker.send(points[:20])
    clock.advance(timedelta(minutes=10))
    worker.send(points[20:])
    clock.set(START + timedelta(minutes=25))
    closed = worker.stop()
    assert closed["id"] == started["id"] and not closed["open"]
    assert closed["ended_at"].startswith("2026-06-02T01:25:00")  # UTC
    assert closed["duration_s"] == 25 * 60
    assert closed["points"] == 40
    assert closed["distance_m"] == pytest.approx(path_length(points), abs=0.5)
    assert closed["distance_m"] == pytest.approx(39 * 50.0, rel=0.005)
    assert [g["code"] for g in closed["grids"]] == expected_grids(db, points)
    assert closed["grids"][0] == {
        "id": people.grid.id,
        "code": people.grid.code,
        "name": people.grid.name,
    }


def test_stopping_without_an_open_patrol_is_a_conflict(phone: PhoneFor) -> None:
    response = phone("demo_grid_worker").stop(expect=409)
    assert response["type"].endswith("/no-open-patrol") and response["title_zh"]


def test_points_of_a_late_batch_fall_to_the_patrol_just_stopped(
    phone: PhoneFor, people: People, clock: FixedClock
) -> None:
    worker = phone("demo_grid_worker")
    patrol = worker.start()
    points = walk(*people.inside(), START + timedelta(seconds=5), 10)
    clock.advance(timedelta(minutes=5))
    worker.send(points[:5])
    worker.stop()
    answer = worker.send(points[5:])  # the phone's last batch, after the stop
    assert answer["patrol_id"] is None
    again = worker.api.get(
        "/api/v1/patrols",
        params={"user_id": people.ids["demo_grid_worker"]},
        headers=worker.headers,
    ).json()["items"]
    mine = next(p for p in again if p["id"] == patrol["id"])
    assert mine["points"] == 10 and mine["distance_m"] == pytest.approx(
        path_length(points), abs=0.5
    )


@pytest.mark.parametrize("username", ["demo_operator", "demo_resident"])
def test_only_grid_workers_patrol(phone: PhoneFor, username: str) -> None:
    assert phone(username).start(expect=403)["type"].endswith("/forbidden")


def walked(phone: PhoneFor, people: People, clock: FixedClock) -> dict[str, int]:
    """The demo worker and the other village's worker each walk one patrol; their ids."""
    ids = {}
    for username, grid in (("demo_grid_worker", None), (people.other_worker, people.other_grid)):
        clock.set(START)
        worker = phone(username)
        ids[username] = worker.start()["id"]
        clock.set(START + timedelta(minutes=5))
        worker.send(walk(*people.inside(grid), START + timedelta(seconds=1), 8))
        worker.stop()
    return ids


def listed(api: TestClient, auth: Any, username: str, **params: Any) -> Any:
    response = api.get(
        "/api/v1/patrols", params={"date": "2026-06-02", **params}, headers=auth(username)
    )
    return response


def test_the_list_shows_the_patrols_of_the_callers_area(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    ids = walked(phone, people, clock)
    town = listed(api, auth, "demo_operator").json()
    assert {p["id"] for p in town["items"]} == set(ids.values()) and town["total"] == 2
    row = next(p for p in town["items"] if p["id"] == ids["demo_grid_worker"])
    assert row["user"] == {
        "id": people.ids["demo_grid_worker"],
        "name": people.names["demo_grid_worker"],
    }
    assert (
        row["points"] == 8
        and row["duration_s"] == 300
        and row["grids"][0]["code"] == people.grid.code
    )
    # A grid worker sees only their own; a grid leader their grid.
    own = listed(api, auth, "demo_grid_worker").json()
    assert [p["id"] for p in own["items"]] == [ids["demo_grid_worker"]]
    leader = listed(api, auth, "demo_grid_leader").json()
    assert [p["id"] for p in leader["items"]] == [ids["demo_grid_worker"]]
    # Filters: one worker, an org unit, another day, paging.
    one = listed(api, auth, "demo_operator", user_id=people.ids[people.other_worker]).json()
    assert [p["id"] for p in one["items"]] == [ids[people.other_worker]]
    by_org = listed(api, auth, "demo_operator", org=people.other_grid.code).json()
    assert [p["id"] for p in by_org["items"]] == [ids[people.other_worker]]
    assert listed(api, auth, "demo_operator", date="2026-06-01").json()["total"] == 0
    paged = listed(api, auth, "demo_operator", size=1, page=2).json()
    assert paged["total"] == 2 and len(paged["items"]) == 1 and paged["page"] == 2


def test_the_list_refuses_other_roles_and_other_areas(
    api: TestClient, auth: Any, people: People
) -> None:
    assert listed(api, auth, "demo_handler").status_code == 403
    outside = listed(api, auth, "demo_grid_leader", org=people.other_grid.code)
    assert outside.status_code == 403 and outside.json()["detail_zh"]
