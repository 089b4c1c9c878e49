"""The worker's MQTT subscriber against the real Mosquitto broker (127.0.0.1:1883, and a broker
of the test's own for the restart): alarms filed and folded, bad messages quarantined while the
rest flow, alarms published while the worker is away or reconnecting delivered, nothing lost.

Each test uses its own topic prefix and client id, so parallel runs never see each other's
messages, and ends its persistent session on the broker."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.config import Settings
from fengqiao.events.models import Event, EventLog
from fengqiao.iot.jobs import AlarmSubscriber, broker_address
from fengqiao.iot.models import Device, IotFold, IotInbox, IotQuarantine

BROKER = "mqtt://127.0.0.1:1883"


def _settings(seeded: Any, url: str = BROKER, **overrides: Any) -> Settings:
    run = uuid.uuid4().hex[:10]
    values = {
        "mqtt_url": url,
        "mqtt_topic_prefix": f"fqtest/{run}/devices",
        "mqtt_client_id": f"fqtest-{run}",
        "mqtt_reconnect_max_seconds": 1.0,
    } | overrides
    settings: Settings = seeded.settings.model_copy(update=values)
    return settings


def publish(settings: Settings, messages: list[tuple[str, Any]]) -> None:
    """Publish (topic suffix, body) pairs at QoS 1 and wait until the broker has each one."""
    host, port, _, _, _ = broker_address(settings.mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.connect(host, port)
    client.loop_start()
    try:
        for suffix, body in messages:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            info = client.publish(f"{settings.mqtt_topic_prefix}/{suffix}", raw, qos=1)
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def end_session(settings: Settings) -> None:
    """Forget the subscriber's persistent session on the broker (a clean connect does)."""
    host, port, _, _, _ = broker_address(settings.mqtt_url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=settings.mqtt_client_id, clean_session=True
    )
    try:
        client.connect(host, port)
        client.disconnect()
    except OSError:
        pass


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def codes(db: Session) -> dict[str, list[str]]:
    rows = db.execute(select(Device.device_type, Device.code).order_by(Device.code)).all()
    by_type: dict[str, list[str]] = {}
    for device_type, code in rows:
        by_type.setdefault(device_type, []).append(code)
    return by_type


def _inbox(db: Session) -> dict[str, int]:
    return dict(
        db.execute(select(IotInbox.outcome, func.count()).group_by(IotInbox.outcome)).all()
    )  # fmt: skip


def _reasons(db: Session) -> dict[str, int]:
    rows = db.execute(
        select(IotQuarantine.reason, func.sum(IotQuarantine.count)).group_by(IotQuarantine.reason)
    ).all()
    return {reason: int(count) for reason, count in rows}


def test_alarms_are_filed_folded_and_bad_ones_quarantined(
    bound: Any, seeded: Any, db: Session, codes: dict[str, list[str]]
) -> None:
    settings = _settings(seeded)
    water, smoke = codes["water_quality"][0], codes["smoke_detector"][0]
    messages: list[tuple[str, Any]] = [
        (f"{water}/alarm", {"readings": {"cod": 55}}),
        (f"{water}/alarm", b"{not json"),
        (f"{water}/alarm", {"readings": {"cod": 61}}),
        ("NO-SUCH-DEVICE/alarm", {"readings": {"cod": 70}}),
        (f"{water}/alarm", {"readings": {"cod": "very high"}}),
        (f"{smoke}/alarm", {"readings": {"smoke": True}}),
        (f"{water}/status", {"readings": {"cod": 70}}),
        (f"{water}/alarm", [1, 2, 3]),
        (f"{water}/alarm", {"readings": {"cod": 12}}),
        (f"{water}/alarm", {"readings": {"cod": 66}}),
        (f"{water}/recovery", {}),
        (f"{smoke}/recovery", {"recovered": True}),
    ]
    subscriber = AlarmSubscriber(bound, settings).start()
    try:
        assert subscriber.connected.wait(10), "no connection to the broker on 127.0.0.1:1883"
        publish(settings, messages)
        wait_for(lambda: subscriber.counts["committed"] >= len(messages))
    finally:
        subscriber.stop()
        end_session(settings)
    assert subscriber.counts["received"] == subscriber.counts["acked"] == len(messages)
    assert _inbox(db) == {"filed": 2, "folded": 2, "normal": 1, "recovered": 1, "recovery": 1}
    assert _reasons(db) == {"not_json": 1, "unknown_device": 1, "bad_reading": 1,
                            "bad_topic": 1, "not_object": 1}  # fmt: skip
    bad_reading = db.scalar(select(IotQuarantine).where(IotQuarantine.reason == "bad_reading"))
    assert bad_reading is not None and "very high" in bad_reading.payload
    assert bad_reading.detail_zh.startswith("读数 cod")
    folds = {f.category_code: f for f in db.scalars(select(IotFold))}
    assert folds["0901"].alarm_count == 3 and folds["0901"].status == "recovered"
    assert folds["0406"].alarm_count == 1 and folds["0406"].status == "open"
    water_event = db.get(Event, folds["0901"].event_id)
    assert water_event is not None and water_event.status == "closed"
    actions = db.scalars(
        select(EventLog.action).where(EventLog.event_id == water_event.id).order_by(EventLog.seq)
    ).all()
    assert actions == ["report", "iot_alarm", "iot_repeat", "recover"]


def test_alarms_sent_while_the_worker_is_away_arrive_when_it_returns(
    bound: Any, seeded: Any, db: Session, codes: dict[str, list[str]]
) -> None:
    settings = _settings(seeded)
    water = codes["water_quality"][1]
    first = AlarmSubscriber(bound, settings).start()
    try:
        assert first.connected.wait(10)
    finally:
        first.stop()  # the broker keeps the session: the subscription and what comes for it
    try:
        publish(settings, [(f"{water}/alarm", {"readings": {"cod": 50 + i}}) for i in range(30)])
        second = AlarmSubscriber(bound, settings).start()
        try:
            wait_for(lambda: second.counts["committed"] >= 30)
        finally:
            second.stop()
    finally:
        end_session(settings)
    assert first.counts["received"] == 0 and second.counts["received"] == 30
    fold = db.scalar(select(IotFold))
    assert fold is not None and fold.alarm_count == 30
    assert _inbox(db) == {"filed": 1, "folded": 29}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start (and restart) a Mosquitto of the test's own with persistence, on a free port; the
    shared broker on 1883 is never touched."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    store = tmp_path / "mosquitto"
    store.mkdir()
    config = tmp_path / "mosquitto.conf"
    # Run as root, Mosquitto drops to its own user, which cannot write into the test's folder.
    stay = "user root\n" if os.geteuid() == 0 else ""
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {store}/\nautosave_interval 1\n{stay}"
    )
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
        started.append(process)
        wait_for(lambda: _accepts(port), timeout=10)
        return process

    start.port = port  # type: ignore[attr-defined]
    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_a_broker_restart_loses_nothing(
    bound: Any, seeded: Any, db: Session, codes: dict[str, list[str]], own_broker: Any
) -> None:
    broker = own_broker()
    settings = _settings(seeded, url=f"mqtt://127.0.0.1:{own_broker.port}")
    water = codes["water_quality"][2]
    subscriber = AlarmSubscriber(bound, settings).start()
    try:
        assert subscriber.connected.wait(10)
        # Each alarm carries its id, so one the broker delivers again after the restart (its
        # acknowledgement was still on the way) is recognised and not counted twice.
        publish(settings, [(f"{water}/alarm", {"readings": {"cod": 41}, "id": f"a{i}"})
                           for i in range(10)])  # fmt: skip
        wait_for(lambda: subscriber.counts["committed"] >= 10)
        broker.terminate()  # a clean shutdown saves the sessions
        broker.wait(10)
        wait_for(lambda: not subscriber.connected.is_set(), timeout=10)
        own_broker()
        # Published before the worker is back: the broker queues them for its session.
        publish(settings, [(f"{water}/alarm", {"readings": {"cod": 42}, "id": f"b{i}"})
                           for i in range(10)])  # fmt: skip
        wait_for(lambda: subscriber.counts["filed"] + subscriber.counts["folded"] >= 20, timeout=30)
        publish(settings, [(f"{water}/alarm", {"readings": {"cod": 43}, "id": f"c{i}"})
                           for i in range(5)])  # fmt: skip
        wait_for(lambda: subscriber.counts["filed"] + subscriber.counts["folded"] >= 25)
    finally:
        subscriber.stop()
    assert subscriber.counts["connects"] == 2 and subscriber.counts["disconnects"] >= 1
    assert subscriber.counts["received"] == 25 + subscriber.counts["duplicate"]
    fold = db.scalar(select(IotFold))
    assert fold is not None and fold.alarm_count == 25
    assert db.scalar(select(func.count()).select_from(IotInbox)) == 25


def test_a_flooding_device_is_quarantined_and_the_others_flow(
    bound: Any, seeded: Any, db: Session, codes: dict[str, list[str]]
) -> None:
    settings = _settings(seeded, iot_flood_burst=5.0, iot_flood_per_second=0.01)
    noisy, quiet = codes["smoke_detector"][0], codes["smoke_detector"][1]
    messages: list[tuple[str, Any]] = [
        (f"{noisy}/alarm", {"readings": {"smoke": True}, "id": f"n{i}"}) for i in range(40)
    ] + [(f"{quiet}/alarm", {"readings": {"smoke": True}, "id": "q1"})]
    subscriber = AlarmSubscriber(bound, settings).start()
    try:
        assert subscriber.connected.wait(10)
        publish(settings, messages)
        wait_for(lambda: subscriber.counts["committed"] >= len(messages))
    finally:
        subscriber.stop()
        end_session(settings)
    assert subscriber.counts["disconnects"] == 0 and subscriber.counts["acked"] == 41
    assert _reasons(db) == {"flood": 35}
    flood = db.scalars(select(IotQuarantine).where(IotQuarantine.reason == "flood")).all()
    assert {f.device_code for f in flood} == {noisy}
    assert len(flood) < 35  # a row per device per batch, its count the messages it stands for
    assert "每秒消息超过" in flood[0].detail_zh
    # Two events: the quiet detector's, and the noisy one's with the five alarms let through.
    assert sorted(f.alarm_count for f in db.scalars(select(IotFold))) == [1, 5]
