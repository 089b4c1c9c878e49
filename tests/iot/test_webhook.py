"""Alarms by HTTP: filed as IoT events with the rule on the trail, repeats folded into a counter,
recovery closing when the rule allows it, and every kind of bad input refused, quarantined and
counted while good alarms keep flowing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.events.models import Event, EventLog, RollupPending
from fengqiao.events.trail import verify_rows
from fengqiao.iot.models import IotFold, IotInbox, IotQuarantine

from .conftest import Auth, MakeApi, device, fresh_key, send


def _trail(db: Session, event_id: int) -> list[EventLog]:
    return list(
        db.scalars(select(EventLog).where(EventLog.event_id == event_id).order_by(EventLog.seq))
    )


def _event(db: Session, event_id: int) -> Event:
    db.expire_all()
    event = db.get(Event, event_id)
    assert event is not None
    return event


def test_an_alarm_files_an_iot_event_with_the_rule_on_its_trail(
    api: TestClient, auth: Auth, db: Session
) -> None:
    sensor = device(db, "water_quality")
    key = fresh_key(api, auth, sensor.id)
    response = send(
        api, key, {"readings": {"cod": 58.5, "ph": 7.2}, "at": "2026-11-29T20:00:00+08:00"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["result"] == "filed" and body["alarm_count"] == 1
    assert body["rule"]["condition"] == "cod > 40" and body["rule"]["category"] == "0901"
    event = _event(db, body["event_id"])
    assert (event.source, event.category_code, event.status) == ("iot", "0901", "reported")
    assert event.code == body["event_code"] and event.grid_id == sensor.grid_id
    assert event.reporter_id == sensor.reporter_id
    assert (event.lat, event.lng) == (sensor.lat, sensor.lng)
    assert "化学需氧量超标" in event.title and sensor.code in event.description
    rows = _trail(db, event.id)
    assert [r.action for r in rows] == ["report", "iot_alarm"]
    assert rows[1].payload["rule"]["condition"] == "cod > 40"
    assert rows[1].payload["readings"] == {"cod": 58.5, "ph": 7.2}
    assert rows[1].payload["device"]["code"] == sensor.code
    assert (
        verify_rows(event.id, [r.__dict__ for r in rows], (event.trail_seq, event.trail_hash))
        is None
    )
    # Analytics hear of it like any other filing.
    assert db.scalar(select(func.count()).select_from(RollupPending).where(
        RollupPending.event_id == event.id)) == 1  # fmt: skip
    # The event shows its device and counter.
    fold = api.get(f"/api/v1/iot/events/{event.id}", headers=auth("demo_operator")).json()
    assert fold["device"]["code"] == sensor.code and fold["alarm_count"] == 1


def test_repeats_fold_into_the_open_event_with_a_counter(
    make_api: MakeApi, auth: Auth, db: Session
) -> None:
    with make_api(iot_trail_every=5) as api:
        sensor = device(db, "water_quality", 1)
        key = fresh_key(api, auth, sensor.id)
        first = send(api, key, {"readings": {"cod": 45}}).json()
        results = [send(api, key, {"readings": {"cod": 45 + i}}).json() for i in range(1, 12)]
        assert {r["result"] for r in results} == {"folded"}
        assert {r["event_id"] for r in results} == {first["event_id"]}
        assert [r["alarm_count"] for r in results] == list(range(2, 13))
        # Another class from the same device is its own event.
        ph = send(api, key, {"readings": {"ph": 3.1}}).json()
        assert ph["result"] == "folded" and ph["event_id"] == first["event_id"]  # same class 0901
        normal = send(api, key, {"readings": {"cod": 10, "ph": 7}}).json()
        assert normal["result"] == "normal" and normal["event_id"] is None
        fold = db.get(IotFold, first["event_id"])
        db.refresh(fold)
        assert fold is not None and fold.alarm_count == 13
        assert fold.last_readings == {"ph": 3.1}
        # A trail row for the first repeat and every fifth alarm, not one per alarm.
        repeats = [r.payload["alarms"] for r in _trail(db, first["event_id"])
                   if r.action == "iot_repeat"]  # fmt: skip
        assert repeats == [2, 5, 10]
        assert (
            db.scalar(select(func.count()).select_from(Event).where(Event.source == "iot")) or 0
        ) >= 1
        outcomes = dict(
            db.execute(select(IotInbox.outcome, func.count()).where(
                IotInbox.device_id == sensor.id).group_by(IotInbox.outcome)).all()
        )  # fmt: skip
        assert outcomes == {"filed": 1, "folded": 12, "normal": 1}


def test_recovery_closes_when_the_rule_allows_it(api: TestClient, auth: Auth, db: Session) -> None:
    sensor = device(db, "water_quality", 2)
    key = fresh_key(api, auth, sensor.id)
    filed = send(api, key, {"readings": {"ammonia_n": 3.4}}).json()
    send(api, key, {"readings": {"ammonia_n": 3.6}})
    recovered = send(api, key, {"recovered": True, "readings": {"ammonia_n": 0.8}})
    assert recovered.status_code == 202
    assert recovered.json()["result"] == "recovered"
    assert recovered.json()["closed"] == [filed["event_id"]]
    # The answer names the closed event by its code too, not only its id.
    assert recovered.json()["event_id"] == filed["event_id"]
    assert recovered.json()["event_code"] == filed["event_code"] is not None
    event = _event(db, filed["event_id"])
    assert event.status == "closed" and event.closed_at is not None
    last = _trail(db, event.id)[-1]
    assert (last.action, last.actor_id, last.from_status, last.to_status) == (
        "recover", None, "reported", "closed")  # fmt: skip
    assert last.payload["alarms"] == 2
    fold = db.get(IotFold, event.id)
    db.refresh(fold)
    assert fold is not None and fold.status == "recovered" and fold.alarm_count == 2
    # The next alarm starts a new event.
    again = send(api, key, {"readings": {"ammonia_n": 5}}).json()
    assert again["result"] == "filed" and again["event_id"] != event.id
    # A person cannot take the system's step.
    refused = api.post(
        f"/api/v1/events/{again['event_id']}/transitions",
        json={"action": "recover", "version": 1},
        headers=auth("demo_operator"),
    )
    assert refused.status_code == 403, refused.text


def test_smoke_recovery_leaves_the_event_to_people(
    api: TestClient, auth: Auth, db: Session
) -> None:
    detector = device(db, "smoke_detector")
    key = fresh_key(api, auth, detector.id)
    filed = send(api, key, {"readings": {"smoke": True}}).json()
    assert filed["result"] == "filed" and filed["rule"]["category"] == "0406"
    kept = send(api, key, {"recovered": True}).json()
    assert kept["result"] == "recovery" and kept["closed"] == []
    assert (kept["event_id"], kept["event_code"]) == (filed["event_id"], filed["event_code"])
    event = _event(db, filed["event_id"])
    assert event.status == "reported"
    assert _trail(db, event.id)[-1].action == "iot_recovery"
    # Still open, so the next smoke alarm folds into it.
    assert send(api, key, {"readings": {"smoke": True}}).json()["event_id"] == event.id


def test_an_event_finished_by_people_is_not_folded_into(
    api: TestClient, auth: Auth, db: Session
) -> None:
    detector = device(db, "smoke_detector", 1)
    key = fresh_key(api, auth, detector.id)
    filed = send(api, key, {"readings": {"smoke": True}}).json()
    rejected = api.post(
        f"/api/v1/events/{filed['event_id']}/transitions",
        json={"action": "reject", "version": 1, "note": "误报,现场无烟"},
        headers=auth("demo_operator"),
    )
    assert rejected.status_code == 200, rejected.text
    again = send(api, key, {"readings": {"smoke": True}}).json()
    assert again["result"] == "filed" and again["event_id"] != filed["event_id"]
    old = db.get(IotFold, filed["event_id"])
    db.refresh(old)
    assert old is not None and old.status == "ended"


def test_a_device_time_without_a_utc_offset_is_refused_and_counted(
    api: TestClient, auth: Auth, db: Session
) -> None:
    sensor = device(db, "water_quality")
    key = fresh_key(api, auth, sensor.id)
    naive = send(api, key, {"readings": {"cod": 58.5}, "at": "2026-11-29T20:00:00"})
    assert naive.status_code == 422
    problem = naive.json()
    assert problem["type"].endswith("iot-bad-field")
    assert "UTC offset" in problem["detail"] and "时区" in problem["detail_zh"]
    stats = api.get("/api/v1/iot/stats", headers=auth("demo_operator")).json()
    assert stats["reasons"] == {"bad_field": 1} and stats["outcomes"] == {}
    listed = api.get("/api/v1/iot/quarantine?reason=bad_field", headers=auth("demo_operator"))
    assert listed.json()["items"][0]["device_code"] == sensor.code
    # With an offset (or Z) it is filed.
    for at in ("2026-11-29T20:00:00+08:00", "2026-11-29T12:00:00Z"):
        assert send(api, key, {"readings": {"cod": 58.5}, "at": at}).status_code == 202


def test_bad_input_is_refused_quarantined_and_counted(
    make_api: MakeApi, auth: Auth, db: Session
) -> None:
    with make_api(iot_flood_burst=5, iot_flood_per_second=0.01) as api:
        sensor = device(db, "water_quality")
        key = fresh_key(api, auth, sensor.id)
        cases: list[tuple[Any, str | None, int, str]] = [
            (b"cod=55", key, 422, "not_json"),
            ([55], key, 422, "not_object"),
            ({"readings": {"cod": "55"}}, key, 422, "bad_reading"),
            ({"readings": {"smoke": 1}}, key, 202, ""),  # not a water reading: normal
            ({}, key, 422, "no_readings"),
            ({"readings": {"cod": 55}}, "fqd_000000000000_wrong", 401, "bad_key"),
            ({"readings": {"cod": 55}}, None, 401, "bad_key"),
        ]
        for body, used_key, status, reason in cases:
            response = send(api, used_key, body)
            assert response.status_code == status, (body, response.text)
            if status >= 400:
                assert response.headers["content-type"].startswith("application/problem+json")
                problem = response.json()
                assert problem["detail"] and problem["detail_zh"]
                if reason != "bad_key":
                    assert problem["type"].endswith("iot-" + reason.replace("_", "-"))
        # The gate allowed 5 at once: the normal reading and the four refused ones above, so
        # the next message of this device is a flood.
        flood = send(api, key, {"readings": {"cod": 55}})
        assert flood.status_code == 429 and flood.headers["retry-after"] == "1"
        assert flood.json()["type"].endswith("iot-flood")
        other = device(db, "water_quality", 1)
        other_key = fresh_key(api, auth, other.id)
        big = send(api, other_key, b'{"readings": {"cod": 1}, "pad": "' + b"x" * 5000 + b'"}')
        assert big.status_code == 413 and big.json()["type"].endswith("iot-too-large")
        # Refusals by an unknown key name no place: only district staff count them.
        stats = api.get("/api/v1/iot/stats", headers=auth("demo_district_operator")).json()
        assert stats["reasons"]["not_json"] == 1 and stats["reasons"]["bad_reading"] == 1
        # Wrong keys are counted too (at most the flood gate's rate per client address).
        assert stats["reasons"]["bad_key"] == 2
        assert stats["reasons"]["flood"] >= 1
        listed = api.get(
            "/api/v1/iot/quarantine?reason=not_json", headers=auth("demo_operator")
        ).json()
        assert listed["total"] == 1
        row = listed["items"][0]
        assert row["payload"] == "cod=55" and row["device_code"] == sensor.code
        assert row["reason_title_zh"] == "消息体不是合法的 JSON"
        assert (
            api.get("/api/v1/iot/quarantine", headers=auth("demo_grid_worker")).status_code == 403
        )
        assert (
            api.get("/api/v1/iot/quarantine?reason=nope", headers=auth("demo_operator")).status_code
            == 422
        )
        # Nothing refused became an event; other devices are unaffected by the flood.
        assert (db.scalar(select(func.count()).select_from(IotQuarantine)) or 0) >= 6
        assert send(api, other_key, {"readings": {"cod": 99}}).json()["result"] == "filed"


def test_rules_are_data_an_administrator_edits(api: TestClient, auth: Auth, db: Session) -> None:
    rules = api.get("/api/v1/iot/rules", headers=auth("demo_operator")).json()
    cod = next(r for r in rules if r["reading"] == "cod")
    assert (cod["op"], cod["threshold"], cod["category"]) == (">", 40, "0901")
    sensor = device(db, "water_quality")
    key = fresh_key(api, auth, sensor.id)
    assert send(api, key, {"readings": {"cod": 35}}).json()["result"] == "normal"
    assert (
        api.patch(f"/api/v1/iot/rules/{cod['id']}", json={"threshold": 30},
                  headers=auth("demo_operator")).status_code == 403
    )  # fmt: skip
    edited = api.patch(
        f"/api/v1/iot/rules/{cod['id']}", json={"threshold": 30}, headers=auth("admin")
    )
    assert edited.status_code == 200 and edited.json()["condition"] == "cod > 30"
    assert send(api, key, {"readings": {"cod": 35}}).json()["result"] == "filed"
    bad = api.patch(f"/api/v1/iot/rules/{cod['id']}", json={"op": "outside"}, headers=auth("admin"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "threshold_high"
    unknown = api.patch(
        f"/api/v1/iot/rules/{cod['id']}", json={"category": "9999"}, headers=auth("admin")
    )
    assert unknown.status_code == 422


def test_a_retry_with_the_same_id_is_not_counted_twice(
    api: TestClient, auth: Auth, db: Session
) -> None:
    sensor = device(db, "water_quality")
    key = fresh_key(api, auth, sensor.id)
    first = send(api, key, {"readings": {"cod": 50}, "id": "2026-11-29T20:00:00-0001"}).json()
    retry = send(api, key, {"readings": {"cod": 50}, "id": "2026-11-29T20:00:00-0001"})
    assert retry.status_code == 202 and retry.json()["result"] == "duplicate"
    other = send(api, key, {"readings": {"cod": 51}, "id": "2026-11-29T20:00:05-0002"}).json()
    assert other["result"] == "folded" and other["alarm_count"] == 2
    fold = db.get(IotFold, first["event_id"])
    db.refresh(fold)
    assert fold is not None and fold.alarm_count == 2
    assert db.scalar(select(func.count()).select_from(IotInbox)) == 2


def test_rollups_stay_right_through_filing_folding_and_recovery(
    api: TestClient, auth: Auth, db: Session, bound: Any
) -> None:
    from fengqiao.analytics.rollups import apply_pending, compare

    sensor = device(db, "water_quality")
    key = fresh_key(api, auth, sensor.id)
    for value in (45, 46, 47):
        send(api, key, {"readings": {"cod": value}})
    assert send(api, key, {"recovered": True}).json()["result"] == "recovered"
    send(api, key, {"readings": {"do": 1.0}})  # a new event after the recovery
    apply_pending(bound)  # the worker's rollups round
    assert compare(db.connection()) == {}
