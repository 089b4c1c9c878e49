"""Phones send positions: batches are stored once, fall to the open patrol, and a bad point
refuses the whole batch with the point named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.crs import wgs84_to_gcj02
from fengqiao.org.models import OrgUnit
from fengqiao.patrol.models import Patrol, Position
from tests.patrol.conftest import START, People, Phone, path_length, walk

PhoneFor = Callable[[str], Phone]


def stored(db: Session, user_id: int) -> list[Position]:
    return list(
        db.scalars(
            select(Position)
            .where(
                Position.user_id == user_id,
                Position.at.between(START - timedelta(days=8), START + timedelta(days=1)),
            )
            .order_by(Position.at)
        )
    )


def test_a_batch_is_stored_and_falls_to_the_open_patrol(
    phone: PhoneFor, people: People, db: Session, api: TestClient, auth: Any
) -> None:
    worker = phone("demo_grid_worker")
    patrol = worker.start()
    points = walk(*people.inside(), START, 10)
    answer = worker.send(points)
    assert answer == {"stored": 10, "duplicates": 0, "patrol_id": patrol["id"]}
    rows = stored(db, people.ids["demo_grid_worker"])
    assert [r.patrol_id for r in rows] == [patrol["id"]] * 10
    assert [r.grid_id for r in rows] == [people.grid.id] * 10
    mine = api.get("/api/v1/me/patrol", headers=auth("demo_grid_worker")).json()
    assert mine["open"]["id"] == patrol["id"] and mine["open"]["points"] == 10
    assert mine["open"]["distance_m"] == pytest.approx(path_length(points), abs=0.5)
    assert mine["open"]["duration_s"] == 9 * 30  # up to the last point while open
    assert [g["code"] for g in mine["open"]["grids"]] == [people.grid.code]
    assert mine["today"]["points"] == 10


def test_a_retried_batch_is_stored_once(
    phone: PhoneFor, people: People, db: Session, clock: FixedClock
) -> None:
    worker = phone("demo_grid_worker")
    patrol = worker.start()
    clock.advance(timedelta(minutes=10))
    points = walk(*people.inside(), START, 10)
    worker.send(points)
    assert worker.send(points) == {"stored": 0, "duplicates": 10, "patrol_id": patrol["id"]}
    more = walk(*people.inside(), START, 15)[5:]  # 5 already sent, 5 new
    assert worker.send(more) == {"stored": 5, "duplicates": 5, "patrol_id": patrol["id"]}
    # The same instant written with another offset is the same point.
    again = dict(points[0], at=START.astimezone(UTC).isoformat())
    assert worker.send([again])["duplicates"] == 1
    assert len(stored(db, people.ids["demo_grid_worker"])) == 15
    closed = worker.stop()
    assert closed["points"] == 15
    assert closed["distance_m"] == pytest.approx(
        path_length(walk(*people.inside(), START, 15)), abs=0.5
    )


def test_points_arriving_out_of_order_are_counted_as_one_path(
    phone: PhoneFor, people: People, db: Session, clock: FixedClock
) -> None:
    worker = phone("demo_grid_worker")
    patrol = worker.start()
    clock.advance(timedelta(minutes=10))
    points = walk(*people.inside(), START, 20)
    worker.send(points[10:])  # the later half first (the earlier batch was retried)
    worker.send(points[:10])
    row = db.get(Patrol, patrol["id"])
    assert row is not None
    db.refresh(row)
    assert row.points == 20
    assert row.distance_m == pytest.approx(path_length(points), abs=0.5)


def test_positions_without_an_open_patrol_are_kept_unattached(
    phone: PhoneFor, people: People, db: Session
) -> None:
    answer = phone("demo_grid_worker").send(walk(*people.inside(), START, 3))
    assert answer == {"stored": 3, "duplicates": 0, "patrol_id": None}
    assert {r.patrol_id for r in stored(db, people.ids["demo_grid_worker"])} == {None}


def test_gcj02_points_are_stored_in_wgs84(phone: PhoneFor, people: People, db: Session) -> None:
    lat, lng = people.inside()
    glng, glat = wgs84_to_gcj02(lng, lat)
    point = {"at": START.isoformat(), "lat": glat, "lng": glng}
    phone("demo_grid_worker").send([point], crs="gcj02")
    (row,) = stored(db, people.ids["demo_grid_worker"])
    assert (row.lat, row.lng) == (pytest.approx(lat, abs=1e-6), pytest.approx(lng, abs=1e-6))
    assert row.grid_id == people.grid.id


@pytest.mark.parametrize(
    ("field", "value", "reason_zh"),
    [
        ("lat", 95.0, "纬度"),
        ("lng", -200.0, "经度"),
        ("lat", "north", "数字"),
        ("at", (START + timedelta(minutes=10)).isoformat(), "晚于"),
        ("at", (START - timedelta(days=8)).isoformat(), "7 天"),
        ("at", "2026-06-02T09:00:00", "时区"),
        ("accuracy", -3, "负"),
    ],
)
def test_a_bad_point_refuses_the_whole_batch(
    phone: PhoneFor, people: People, db: Session, field: str, value: Any, reason_zh: str
) -> None:
    worker = phone("demo_grid_worker")
    worker.start()
    points = walk(*people.inside(), START, 6)
    points[3][field] = value
    response = worker.api.post(
        "/api/v1/me/positions", json={"points": points}, headers=worker.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert [e["field"] for e in body["errors"]] == [f"points[3].{field}"]
    assert body["errors"][0]["reason"] and reason_zh in body["errors"][0]["reason_zh"]
    assert "nothing was stored" in body["detail"] and "未保存" in body["detail_zh"]
    assert stored(db, people.ids["demo_grid_worker"]) == []
    patrol = db.scalars(
        select(Patrol).where(
            Patrol.user_id == people.ids["demo_grid_worker"], Patrol.ended_at.is_(None)
        )
    ).one()
    assert patrol.points == 0


def test_a_batch_holds_one_to_500_points(phone: PhoneFor, people: People, db: Session) -> None:
    worker = phone("demo_grid_worker")
    assert worker.send([], expect=422)["errors"][0]["field"] == "points"
    many = walk(*people.inside(), START - timedelta(hours=5), 501, step_m=1.0)
    assert worker.send(many, expect=422)["errors"][0]["field"] == "points"
    assert worker.send(many[:500])["stored"] == 500
    assert len(stored(db, people.ids["demo_grid_worker"])) == 500


@pytest.mark.parametrize("username", ["demo_operator", "demo_handler", "demo_resident"])
def test_only_grid_workers_send_positions(
    phone: PhoneFor, people: People, username: str, db: Session
) -> None:
    response = phone(username).send(walk(*people.inside(), START, 2), expect=403)
    assert response["type"].endswith("/forbidden") and response["detail_zh"]
    assert stored(db, people.ids[username]) == []


def test_grid_leaders_send_positions_too(phone: PhoneFor, people: People) -> None:
    assert phone("demo_grid_leader").send(walk(*people.inside(), START, 2))["stored"] == 2


@pytest.mark.parametrize("size", [10, 40])  # a phone's usual batch, and one big enough to vectorise
def test_each_point_is_placed_in_its_grid(
    phone: PhoneFor, people: People, db: Session, clock: FixedClock, size: int
) -> None:
    grids = [
        (grid_id, shapely.geometry.shape(geometry))
        for grid_id, geometry in db.execute(
            select(OrgUnit.id, OrgUnit.geometry).where(OrgUnit.kind == "grid")
        )
    ]
    points = walk(*people.inside(), START - timedelta(hours=1), 40, step_m=60.0)  # 2.3 km
    worker = phone("demo_grid_worker")
    for start in range(0, len(points), size):
        worker.send(points[start : start + size])
    expected = [
        next((g for g, shape in grids if shape.covers(shapely.Point(p["lng"], p["lat"]))), None)
        for p in points
    ]
    assert len(set(expected)) > 1  # the walk crosses into other grids
    assert [r.grid_id for r in stored(db, people.ids["demo_grid_worker"])] == expected
