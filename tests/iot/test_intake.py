"""Several workers share the MQTT intake (issue 15, item 9): two real `fengqiao worker`
processes on PostgreSQL and a Mosquitto of the test's own; they do not knock each other off the
broker, and when the active one is killed (kill -9) while alarms flow, the other takes over and
no alarm is lost or counted twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fengqiao.db import Database
from fengqiao.iot.models import Device, IotFold, IotInbox

from ..conftest import make_settings
from .test_subscriber import _accepts, _free_port, publish, wait_for

ALARMS = 300


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A Mosquitto of the test's own on a free port, logging connections to a file."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    store = tmp_path / "mosquitto"
    store.mkdir()
    log = tmp_path / "mosquitto.log"
    stay = "user root\n" if os.geteuid() == 0 else ""
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {store}/\nmax_inflight_messages 1000\n"
        f"log_dest file {log}\nlog_type all\n{stay}"
    )
    process = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
    wait_for(lambda: _accepts(port), timeout=10)
    yield port, log
    process.terminate()
    process.wait(10)


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        fengqiao = Path(sys.executable).with_name("fengqiao")
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(fengqiao), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def says(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.mark.parametrize("fresh_db", ["postgresql"], indirect=True)
def test_two_workers_share_the_intake_and_a_kill_loses_and_doubles_nothing(
    fresh_db: Database, tmp_path: Path, broker: tuple[int, Path]
) -> None:
    from fengqiao.demo.seed import seed

    port, broker_log = broker
    settings = make_settings(fresh_db.url, tmp_path)
    seed(db=fresh_db, scale="small", password=settings.demo_password)
    with fresh_db.session() as db:
        water = db.scalars(
            select(Device).where(Device.device_type == "water_quality").order_by(Device.code)
        ).first()
    assert water is not None
    run = uuid.uuid4().hex[:10]
    client_id = f"fqtest-{run}"
    mqtt = settings.model_copy(update={
        "mqtt_url": f"mqtt://127.0.0.1:{port}", "mqtt_topic_prefix": f"fqtest/{run}/devices",
        "mqtt_client_id": client_id,
    })  # fmt: skip
    env = {
        **os.environ,
        "FENGQIAO_DATABASE_URL": fresh_db.url,
        "FENGQIAO_DATA_DIR": str(tmp_path),
        "FENGQIAO_SECRET_KEY": "test-key-for-worker-processes-0123456789",
        "FENGQIAO_MQTT_URL": mqtt.mqtt_url,
        "FENGQIAO_MQTT_TOPIC_PREFIX": mqtt.mqtt_topic_prefix,
        "FENGQIAO_MQTT_CLIENT_ID": client_id,
        "FENGQIAO_MQTT_RECONNECT_MAX_SECONDS": "1",
        "FENGQIAO_MQTT_HOLDER_CHECK_SECONDS": "0.5",
        "FENGQIAO_WORKER_POLL_SECONDS": "5",
        "FENGQIAO_LOG_LEVEL": "info",
    }
    first = Worker(env, tmp_path / "first.log")
    second: Worker | None = None
    try:
        wait_for(lambda: first.says("MQTT connected"), timeout=60)
        second = Worker(env, tmp_path / "second.log")
        wait_for(lambda: second is not None and second.says("worker on"), timeout=60)
        time.sleep(3)  # both at work: the second one waits for the intake (or fights for it)

        published = threading.Event()

        def flow() -> None:  # 300 alarms at about 40 a second, each with its id
            for n in range(ALARMS):
                publish(mqtt, [(f"{water.code}/alarm", {"readings": {"cod": 60}, "id": f"x{n}"})])
                time.sleep(0.025)
            published.set()

        publisher = threading.Thread(target=flow)
        publisher.start()
        wait_for(lambda: _folded(fresh_db, water.id) >= 80, timeout=60)
        takeovers = broker_log.read_text(errors="replace").count("already connected")
        first.process.send_signal(signal.SIGKILL)  # the active one, while alarms flow
        first.process.wait()
        publisher.join(120)
        assert published.is_set()
        wait_for(lambda: _folded(fresh_db, water.id) >= ALARMS, timeout=60)
        time.sleep(2)  # a doubled alarm would still arrive now
    finally:
        first.stop()
        if second is not None:
            second.stop()
    # No fight over the client id: the broker never closed one worker's connection for the other.
    assert takeovers == 0, broker_log.read_text(errors="replace")[-2000:]
    assert second.says("holds it")  # the second worker took the intake over
    with fresh_db.session() as db:
        folds = db.scalars(select(IotFold).where(IotFold.device_id == water.id)).all()
        inbox = db.scalar(
            select(func.count()).select_from(IotInbox).where(IotInbox.device_id == water.id)
        )
    assert [f.alarm_count for f in folds] == [ALARMS] and inbox == ALARMS


def _folded(database: Database, device_id: int) -> int:
    with database.session() as db:
        total: Any = db.scalar(
            select(func.coalesce(func.sum(IotFold.alarm_count), 0)).where(
                IotFold.device_id == device_id
            )
        )
    return int(total)
