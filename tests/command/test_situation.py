"""The command room's API: today's situation, the event layer, grid counts, and the command room
told at once of an urgent event (its alarms and the live stream: test_alarms.py, test_live.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.outbox.models import Outbox
from tests.events.conftest import Desk, World


def situation(api: TestClient, auth: Any, user: str = "demo_operator") -> dict[str, Any]:
    response = api.get("/api/v1/command/situation", headers=auth(user))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_todays_counts_move_with_the_events(api: TestClient, auth: Any, desk: Desk) -> None:
    before = situation(api, auth)["today"]
    event = desk.file()
    desk.file(urgent=True, title="一键报警")
    after = situation(api, auth)
    assert after["today"]["new"] == before["new"] + 2
    assert after["today"]["open"] == before["open"] + 2
    assert after["today"]["urgent_open"] == before["urgent_open"] + 1
    assert after["alarms"][0]["title"] == "一键报警"
    desk.to_handled(event)
    fresh = desk.get(event)
    desk.verify_ok(fresh)
    closed = situation(api, auth)["today"]
    assert closed["closed"] == before["closed"] + 1
    assert closed["open"] == before["open"] + 1


def test_overdue_events_are_listed_most_overdue_first(
    api: TestClient, auth: Any, desk: Desk, clock: FixedClock
) -> None:
    first = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    clock.advance(timedelta(hours=1))
    desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    clock.advance(timedelta(days=20))
    panel = situation(api, auth)
    assert panel["today"]["overdue"] >= 2
    due = [row["due_at"] for row in panel["overdue"]]
    assert due == sorted(due)
    assert first["id"] in [row["id"] for row in panel["overdue"]]
    assert all(row["unit"] for row in panel["overdue"])


def test_the_event_layer_carries_each_events_light(
    api: TestClient, auth: Any, desk: Desk, clock: FixedClock
) -> None:
    late = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    clock.advance(timedelta(days=20))
    fresh = desk.file(urgent=True)
    response = api.get("/api/v1/command/events.geojson", headers=auth("demo_operator"))
    assert response.headers["content-type"] == "application/geo+json"
    props = {f["properties"]["id"]: f["properties"] for f in response.json()["features"]}
    assert props[late["id"]]["light"] == "red"
    assert props[fresh["id"]]["urgent"] is True
    assert props[fresh["id"]]["light"] in ("green", "yellow", "none")
    point = next(f for f in response.json()["features"] if f["properties"]["id"] == late["id"])
    assert point["geometry"]["coordinates"] == [round(late["lng"], 6), round(late["lat"], 6)]


def test_grid_counts_colour_the_grids(
    api: TestClient, auth: Any, desk: Desk, world: World, clock: FixedClock
) -> None:
    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    before = api.get("/api/v1/command/grid-stats", headers=auth("demo_operator")).json()
    mine = before["grids"][str(event["grid"]["id"])]
    assert mine["open"] >= 1 and mine["recent"] >= 1
    clock.advance(timedelta(days=20))
    after = api.get(
        "/api/v1/command/grid-stats", params={"days": 7}, headers=auth("demo_operator")
    ).json()
    assert after["grids"][str(event["grid"]["id"])]["red"] >= 1
    assert after["days"] == 7
    refused = api.get(
        "/api/v1/command/grid-stats", params={"days": 0}, headers=auth("demo_operator")
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "days"


def test_only_the_command_room_and_only_its_area(api: TestClient, auth: Any, desk: Desk) -> None:
    for user in ("demo_handler", "demo_grid_worker", "demo_resident"):
        response = api.get("/api/v1/command/situation", headers=auth(user))
        assert response.status_code == 403, user
        assert response.headers["content-type"] == "application/problem+json"
    event = desk.file()
    district = api.get("/api/v1/command/events.geojson", headers=auth("demo_district_leader"))
    assert event["id"] in [f["properties"]["id"] for f in district.json()["features"]]


def test_an_urgent_event_tells_the_command_room_at_once(
    desk: Desk, db: Session, world: World
) -> None:
    event = desk.file(urgent=True, title="一键报警", description="有人持械滋事")
    rows = db.scalars(select(Outbox).where(Outbox.event_id == event["id"])).all()
    assert {r.template for r in rows} == {"urgent"}
    assert {r.channel for r in rows} == {"app", "sms"}
    told = {r.user_id for r in rows if r.channel == "app"}
    assert world.ids["demo_operator"] in told
    assert world.ids["demo_district_operator"] in told
    assert world.ids["demo_handler"] not in told
    payload = rows[0].payload
    assert payload["reporter"] and payload["path"] == f"/events/{event['id']}"
    # An ordinary event tells nobody before it is dispatched.
    calm = desk.file()
    assert db.scalars(select(Outbox).where(Outbox.event_id == calm["id"])).all() == []
