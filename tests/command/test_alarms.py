"""Alarms that cannot be missed (issue 17, item 3): an urgent event waits for 接警 with who
raised it and how to call them back; taking it is on the trail and stops it waiting for everyone;
one nobody takes climbs to the district after the configured minutes (the worker's clock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.command.alarms import settle_history
from fengqiao.command.models import AlarmState
from fengqiao.notify.templates import render
from fengqiao.org.models import Unit
from fengqiao.outbox.models import Outbox
from fengqiao.worker import run_once
from tests.conftest import BoundDatabase, Seeded
from tests.events.conftest import START, Desk, World
from tests.iot.conftest import device, fresh_key, send


def waiting(api: TestClient, auth: Any, user: str) -> list[dict[str, Any]]:
    response = api.get("/api/v1/command/alarms", headers=auth(user))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def take(api: TestClient, auth: Any, event: dict[str, Any], user: str) -> Any:
    return api.post(f"/api/v1/command/alarms/{event['id']}/ack", headers=auth(user))


def trail_of(desk: Desk, event: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [row for row in desk.get(event)["trail"] if row["action"] == action]


def test_an_urgent_event_waits_with_its_reporter_phone_grid_and_place(
    api: TestClient, auth: Any, desk: Desk, world: World
) -> None:
    calm = desk.file()
    alarm = desk.file(urgent=True, title="一键报警", contact_phone="13812345678")
    items = waiting(api, auth, "demo_operator")
    assert [a["id"] for a in items] == [alarm["id"]], "an ordinary event is no alarm"
    shown = items[0]
    assert shown["title"] == "一键报警" and shown["category_name"] == alarm["category_name"]
    assert shown["address"] == "柯桥街道某路" and shown["created_at"].startswith("2026-12-01T01:00")
    assert shown["grid"] == {"id": alarm["grid"]["id"], "name": alarm["grid"]["name"]}
    assert shown["town"]["name"] == alarm["town"]["name"] and shown["village"]["name"]
    reporter = shown["reporter"]
    assert reporter["name"] and reporter["phone"] == "13812345678"
    assert reporter["tel"] == "tel:13812345678"
    assert reporter["user_id"] == world.ids["demo_grid_worker"]  # the dialog's 视频通话
    assert shown["climbed_at"] is None
    # A leader sees the alarm but not the whole number (masked: nothing to dial).
    led = waiting(api, auth, "demo_leader")[0]["reporter"]
    assert led["phone"] == "138****5678" and led["tel"] is None
    # The district's command room sees it as well; other roles have no alarm dialog.
    assert alarm["id"] in [a["id"] for a in waiting(api, auth, "demo_district_operator")]
    for user in ("demo_handler", "demo_grid_worker", "demo_resident"):
        assert api.get("/api/v1/command/alarms", headers=auth(user)).status_code == 403
    assert take(api, auth, calm, "demo_operator").status_code == 409


def test_taking_an_alarm_is_on_the_trail_and_stops_it_waiting_for_everyone(
    api: TestClient, auth: Any, desk: Desk, world: World, clock: FixedClock
) -> None:
    alarm = desk.file(urgent=True, title="一键报警")
    clock.advance(timedelta(seconds=40))
    taken = take(api, auth, alarm, "demo_operator")
    assert taken.status_code == 200, taken.text
    body = taken.json()
    assert body["already"] is False and body["acked_by"]["id"] == world.ids["demo_operator"]
    assert body["acked_at"].startswith("2026-12-01T01:00:40")
    for user in ("demo_operator", "demo_leader", "demo_district_operator"):
        assert alarm["id"] not in [a["id"] for a in waiting(api, auth, user)], user
    rows = trail_of(desk, alarm, "alarm_ack")
    assert len(rows) == 1 and rows[0]["actor"]["id"] == world.ids["demo_operator"]
    assert rows[0]["payload"]["waited_seconds"] == 40 and "40 秒" in rows[0]["note"]
    # Taken again by someone else: the first one stands, nothing more on the trail.
    again = take(api, auth, alarm, "demo_district_operator")
    assert again.status_code == 200 and again.json()["already"] is True
    assert again.json()["acked_by"]["id"] == world.ids["demo_operator"]
    assert len(trail_of(desk, alarm, "alarm_ack")) == 1
    # The event's version is untouched: a page holding it can still take the next step.
    accepted = desk.act(alarm, "demo_operator", "accept")
    assert accepted["status"] == "accepted"


def test_only_the_command_room_of_the_area_takes_an_alarm(
    api: TestClient, auth: Any, desk: Desk
) -> None:
    alarm = desk.file(urgent=True)
    for user in ("demo_handler", "demo_grid_worker"):
        refused = take(api, auth, alarm, user)
        assert refused.status_code == 403, user
        assert refused.headers["content-type"] == "application/problem+json"
    missing = api.post("/api/v1/command/alarms/999999999/ack", headers=auth("demo_operator"))
    assert missing.status_code == 404
    assert "事件" in missing.json()["detail_zh"] or "事件" in missing.json()["title_zh"]


def test_a_closed_alarm_stops_waiting(api: TestClient, auth: Any, desk: Desk) -> None:
    alarm = desk.file(urgent=True)
    desk.act(alarm, "demo_operator", "reject", note="误报")
    assert alarm["id"] not in [a["id"] for a in waiting(api, auth, "demo_operator")]


def test_an_unanswered_alarm_climbs_to_the_district_after_the_set_minutes(
    api: TestClient,
    auth: Any,
    desk: Desk,
    world: World,
    bound: BoundDatabase,
    seeded: Seeded,
    db: Session,
) -> None:
    assert seeded.settings.alarm_climb_minutes == 5
    alarm = desk.file(urgent=True, title="一键报警")
    early = run_once(bound, seeded.settings, START + timedelta(minutes=4), names=["alarms"])
    assert early["alarms"]["climbed"] == 0
    late = run_once(bound, seeded.settings, START + timedelta(minutes=5), names=["alarms"])
    assert late["alarms"] == {"climbed": 1, "failed": 0}
    climbs = trail_of(desk, alarm, "alarm_climb")
    assert len(climbs) == 1 and climbs[0]["actor"] is None
    assert "5 分钟内无人接警" in climbs[0]["note"] and "区指挥中心" in climbs[0]["note"]
    told = db.scalars(
        select(Outbox).where(Outbox.event_id == alarm["id"], Outbox.template == "alarm_climb")
    ).all()
    people = {row.user_id for row in told if row.channel == "app"}
    assert {world.ids["demo_district_operator"], world.ids["demo_district_leader"]} <= people
    assert world.ids["demo_operator"] not in people
    assert {row.channel for row in told} == {"app", "sms"}
    assert told[0].payload["rung"] == "区指挥中心"
    # Its own words: an alarm nobody took, not a deadline's escalation (no unit, no due date).
    subject, text = render("alarm_climb", told[0].payload)
    assert "无人接警" in subject and "区指挥中心" in subject and alarm["code"] in subject
    assert "5 分钟内无人接警" in text and "请立即接警处置" in text and "期限" not in text
    # Every dialog says it climbed; it climbs once; taking it still works and says so.
    shown = waiting(api, auth, "demo_district_operator")
    assert next(a for a in shown if a["id"] == alarm["id"])["climbed_at"]
    again = run_once(bound, seeded.settings, START + timedelta(minutes=30), names=["alarms"])
    assert again["alarms"]["climbed"] == 0
    taken = take(api, auth, alarm, "demo_district_operator")
    assert taken.status_code == 200 and taken.json()["climbed_at"]
    assert trail_of(desk, alarm, "alarm_ack")[0]["payload"]["climbed"] is True


def test_a_taken_alarm_never_climbs(
    api: TestClient, auth: Any, desk: Desk, bound: BoundDatabase, seeded: Seeded, db: Session
) -> None:
    alarm = desk.file(urgent=True)
    ordinary = desk.file()
    assert take(api, auth, alarm, "demo_operator").status_code == 200
    counts = run_once(bound, seeded.settings, START + timedelta(hours=1), names=["alarms"])
    assert counts["alarms"]["climbed"] == 0
    assert (
        trail_of(desk, alarm, "alarm_climb") == [] and trail_of(desk, ordinary, "alarm_climb") == []
    )
    state = db.get(AlarmState, alarm["id"])
    assert state is not None and state.climbed_at is None and state.acked_at is not None
    # A day later an alarm no longer waits, taken or not.
    late = desk.file(urgent=True)
    counts = run_once(bound, seeded.settings, START + timedelta(hours=25), names=["alarms"])
    assert counts["alarms"]["climbed"] == 0 and trail_of(desk, late, "alarm_climb") == []


def test_the_climb_minutes_are_a_setting(desk: Desk, bound: BoundDatabase, seeded: Seeded) -> None:
    alarm = desk.file(urgent=True)
    slow = seeded.settings.model_copy(update={"alarm_climb_minutes": 15})
    at_ten = run_once(bound, slow, START + timedelta(minutes=10), names=["alarms"])
    assert at_ten["alarms"]["climbed"] == 0
    at_fifteen = run_once(bound, slow, START + timedelta(minutes=15), names=["alarms"])
    assert at_fifteen["alarms"]["climbed"] == 1
    assert "15 分钟内无人接警" in trail_of(desk, alarm, "alarm_climb")[0]["note"]


def test_a_generated_history_has_no_alarm_waiting(
    api: TestClient, auth: Any, desk: Desk, world: World, db: Session
) -> None:
    past = desk.file(urgent=True)
    assert [a["id"] for a in waiting(api, auth, "demo_operator")] == [past["id"]]
    assert settle_history(db, until=START + timedelta(minutes=1)) == 1
    db.commit()
    assert waiting(api, auth, "demo_operator") == []
    state = db.get(AlarmState, past["id"])
    assert state is not None and state.acked_by == world.ids["demo_operator"]
    assert settle_history(db, until=START + timedelta(minutes=1)) == 0


def test_an_iot_alarm_names_its_device_and_the_unit_to_call_back(
    api: TestClient, auth: Any, db: Session, world: World
) -> None:
    sensor = device(db, "water_quality")
    unit = db.get(Unit, world.handler_unit)
    assert unit is not None
    unit.duty_phone, sensor.unit_id = "0575-84100000", unit.id
    db.commit()
    filed = send(api, fresh_key(api, auth, sensor.id), {"readings": {"cod": 58.5}}).json()
    assert filed["result"] == "filed"
    shown = next(a for a in waiting(api, auth, "demo_operator") if a["id"] == filed["event_id"])
    assert shown["source"] == "iot" and shown["urgent"] is False
    assert shown["reporter"] == {
        "name": f"{sensor.name}（{sensor.code}）", "unit": unit.name,
        "phone": "0575-84100000", "tel": "tel:057584100000",
        "user_id": None,  # a device has no account: no video call from the dialog
    }  # fmt: skip
    taken = take(api, auth, {"id": filed["event_id"]}, "demo_operator")
    assert taken.status_code == 200 and taken.json()["already"] is False
