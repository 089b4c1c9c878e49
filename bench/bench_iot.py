"""Figures of IoT alarm intake: MQTT alarms folded into events by one worker's subscriber, end to
end, next to the bare limits measured in the same run.

    .venv/bin/python bench/bench_iot.py [--alarms 20000] [--devices 200] [--database URL]

1. End to end: a publisher sends `--alarms` QoS 1 alarms (each with its own `id`, readings that
   break the cod rule) spread over `--devices` water-quality sensors to a local Mosquitto; one
   `AlarmSubscriber` (the worker's) records and folds them. Timed from the first publish (live)
   or from the subscriber's connection (backlog: all N published while it was away) until its
   transactions have committed all N; then the database is counted: published N, recorded N
   (inbox rows), folded N (the open events' counters summed), quarantined 0.
2. Bare limits on the same broker and machine: a plain paho subscriber that only counts the same
   N messages (QoS 1, automatic acknowledgement); and raw sqlite3 `executemany` of N inbox-shaped
   rows in transactions of 500 (the subscriber's batch), with no broker at all.
3. The publisher alone (how fast the N alarms left it), so the first figure is read against the
   rate alarms arrived at.

The broker is a Mosquitto of the benchmark's own on a free port, configured as docs/iot.md tells
production to (max_queued_messages and max_inflight_messages raised, no persistence needed for
the measurement), so the shared broker on 1883 is not flooded. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import delete, func, insert, select

from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.demo.seed import seed
from fengqiao.geo.models import LayerFeature
from fengqiao.iot.jobs import AlarmSubscriber
from fengqiao.iot.models import Device, IotFold, IotInbox, IotQuarantine
from fengqiao.iot.service import new_device_key
from fengqiao.migrate import upgrade


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 1000000\nmax_inflight_messages 1000\n"
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def add_devices(database: Database, count: int) -> list[str]:
    """`count` more water-quality sensors in the demo grids (Core insert; keys unused)."""
    with database.transaction() as db:
        template = db.scalar(select(Device).where(Device.device_type == "water_quality"))
        assert template is not None
        grids = [g for g, in db.execute(select(LayerFeature.grid_id).where(
            LayerFeature.kind == "camera"))]  # fmt: skip
        now = datetime.now(UTC)
        rows: list[dict[str, object]] = []
        for i in range(count):
            key = new_device_key()
            rows.append({
                "code": f"BENCH-WQ-{i:05d}", "name": f"压测水质点{i}", "device_type": "water_quality",
                "lng": template.lng, "lat": template.lat, "address": "", "grid_id": grids[i % len(grids)] or template.grid_id,
                "category_code": "0901", "unit_id": None, "reporter_id": template.reporter_id,
                "key_prefix": key.prefix, "key_hash": key.key_hash, "status": "active",
                "feature_id": None, "created_at": now, "updated_at": now, "last_seen_at": None,
            })  # fmt: skip
        db.execute(insert(Device), rows)
    return [str(r["code"]) for r in rows]


def messages(codes: list[str], count: int) -> list[tuple[str, bytes]]:
    return [
        (codes[i % len(codes)], json.dumps({"readings": {"cod": 41.0 + i % 50}, "id": f"b{i}"}).encode())
        for i in range(count)
    ]  # fmt: skip


def publish_all(port: int, prefix: str, batch: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 as fast as the broker acknowledges; seconds taken."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    infos = [client.publish(f"{prefix}/{code}/alarm", body, qos=1) for code, body in batch]
    for info in infos:
        info.wait_for_publish(60)
    took = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return took


def bare_drain(port: int, batch: list[tuple[str, bytes]]) -> float:
    """Alarms/s a plain paho subscriber (count only, automatic acknowledgement) takes from a
    backlog of N queued for its persistent session."""
    prefix, client_id = f"bare/{uuid.uuid4().hex[:8]}", f"bench-bare-{uuid.uuid4().hex[:6]}"
    done, received = threading.Event(), [0]

    def on_message(*_args: Any) -> None:
        received[0] += 1
        if received[0] == len(batch):
            done.set()

    def connect(handler: Any) -> mqtt.Client:
        subscribed = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        client.on_message = handler
        client.on_subscribe = lambda *_a: subscribed.set()
        client.connect("127.0.0.1", port)
        client.loop_start()
        client.subscribe(f"{prefix}/+/+", qos=1)
        subscribed.wait(10)
        return client

    first = connect(lambda *_a: None)
    first.disconnect()
    first.loop_stop()
    publish_all(port, prefix, batch)
    started = time.perf_counter()
    client = connect(on_message)
    done.wait(300)
    took = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return len(batch) / took


def raw_sqlite(folder: Path, batch: list[tuple[str, bytes]], size: int) -> float:
    """Rows/s of raw sqlite3 executemany into an inbox-shaped table, `size` rows a transaction."""
    connection = sqlite3.connect(folder / "raw.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE inbox (id INTEGER PRIMARY KEY, received_at TEXT, channel TEXT, topic TEXT, "
        "device_id INTEGER, kind TEXT, message_id TEXT, payload TEXT, outcome TEXT, "
        "rule_id INTEGER, event_id INTEGER)"
    )
    connection.execute("CREATE INDEX ix1 ON inbox (received_at, id)")
    connection.execute("CREATE INDEX ix2 ON inbox (device_id, received_at)")
    connection.execute("CREATE INDEX ix3 ON inbox (device_id, message_id)")
    now = datetime.now(UTC).isoformat()
    rows = [(now, "mqtt", f"p/{code}/alarm", i % 200, "alarm", f"b{i}", body.decode(), "folded", 1, 1)
            for i, (code, body) in enumerate(batch)]  # fmt: skip
    started = time.perf_counter()
    for start in range(0, len(rows), size):
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT INTO inbox (received_at, channel, topic, device_id, kind, message_id, payload,"
            " outcome, rule_id, event_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows[start : start + size],
        )
        connection.execute("COMMIT")
    took = time.perf_counter() - started
    connection.close()
    return len(rows) / took


def wait_committed(subscriber: AlarmSubscriber, n: int, started: float) -> float:
    """Seconds from `started` until the subscriber's transactions have committed `n` alarms (its
    counter moves only after a commit; the database is counted once at the end, not polled, so
    the measurement does not compete with the worker), or until the last commit when nothing
    more came for 15 s (a broker that dropped some)."""
    last_count, last_at = -1, time.perf_counter()
    while subscriber.counts["committed"] < n:
        now = time.perf_counter()
        if subscriber.counts["committed"] != last_count:
            last_count, last_at = subscriber.counts["committed"], now
        elif now - last_at > 15:
            return last_at - started
        time.sleep(0.005)
    return time.perf_counter() - started


def end_to_end(
    database: Database, settings: Settings, port: int, batch: list[tuple[str, bytes]], *,
    backlog: bool,
) -> dict[str, float]:  # fmt: skip
    """Live: publish while the subscriber runs. Backlog: publish while it is away (the broker
    queues for its session), then time how fast it takes them."""
    with database.transaction() as db:  # each run starts from no IoT rows
        for model in (IotInbox, IotFold, IotQuarantine):
            db.execute(delete(model))
    publisher_took: list[float] = []

    def publish() -> None:
        publisher_took.append(publish_all(port, settings.mqtt_topic_prefix, batch))

    if backlog:
        first = AlarmSubscriber(database, settings).start()
        first.connected.wait(10)
        first.stop()
        publish()
    subscriber = AlarmSubscriber(database, settings).start()
    if not subscriber.connected.wait(10):
        raise RuntimeError("subscriber did not connect")
    started = time.perf_counter()
    publisher = None
    if not backlog:
        publisher = threading.Thread(target=publish)
        publisher.start()
    took = wait_committed(subscriber, len(batch), started)
    if publisher is not None:
        publisher.join()
    subscriber.stop()
    with database.session() as db:
        recorded = db.scalar(select(func.count()).select_from(IotInbox)) or 0
        folded = db.scalar(select(func.sum(IotFold.alarm_count))) or 0
        quarantined = db.scalar(select(func.count()).select_from(IotQuarantine)) or 0
        events = db.scalar(select(func.count()).select_from(IotFold)) or 0
    return {
        "rate": recorded / took, "seconds": took, "recorded": recorded, "folded": folded,
        "quarantined": quarantined, "events": events, "publish_seconds": publisher_took[0],
        "batches": subscriber.counts["batches"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alarms", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--database", default="", help="Default: a fresh SQLite file.")
    parser.add_argument(
        "--shared-broker",
        type=int,
        default=0,
        metavar="PORT",
        help="Also run live on this running local broker as configured (e.g. 1883: defaults "
        "max_inflight_messages 20, max_queued_messages 1000).",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="200 alarms over 10 devices: checks the script runs."
    )
    args = parser.parse_args()
    if args.smoke:
        args.alarms, args.devices = 200, 10
        print("# smoke mode: 200 alarms over 10 devices; the figures below mean nothing")
    folder = Path(tempfile.mkdtemp(prefix="bench-iot-"))
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    database = Database(url)
    seed(db=database, scale="small", password="bench-password")
    codes = add_devices(database, args.devices)
    batch = messages(codes, args.alarms)
    broker, port = start_broker(folder)
    try:
        settings = Settings(
            database_url=url, data_dir=folder, secret_key="bench", mqtt_url=f"mqtt://127.0.0.1:{port}",
            mqtt_topic_prefix=f"bench/{uuid.uuid4().hex[:8]}", mqtt_client_id=f"bench-{uuid.uuid4().hex[:6]}",
        )  # fmt: skip
        load = os.getloadavg()[0]
        live = end_to_end(database, settings, port, batch, backlog=False)
        drained = end_to_end(database, settings, port, batch, backlog=True)
        bare = bare_drain(port, batch)
        shared = None
        if args.shared_broker:
            on_shared = settings.model_copy(
                update={"mqtt_url": f"mqtt://127.0.0.1:{args.shared_broker}"}
            )
            shared = end_to_end(database, on_shared, args.shared_broker, batch, backlog=False)
    finally:
        broker.terminate()
        broker.wait(10)
    raw = raw_sqlite(folder, batch, settings.iot_batch)
    backend = database.engine.dialect.name
    n = args.alarms
    print(f"load average before the run: {load:.2f} on {os.cpu_count()} cores", flush=True)
    lost = 0
    runs = [("live", live), ("backlog", drained)]
    if shared is not None:
        runs.append((f"live on the broker at :{args.shared_broker}", shared))
    for name, result in runs:
        lost += n - int(result["recorded"])
        print(f"{name} ({backend}): {n} alarms over {args.devices} devices, "
              f"{result['recorded']:.0f} in {result['seconds']:.2f} s = "
              f"{result['rate']:,.0f} alarms/s; recorded "
              f"{result['recorded']:.0f}, folded {result['folded']:.0f} into "
              f"{result['events']:.0f} events, quarantined {result['quarantined']:.0f}, lost "
              f"{n - int(result['recorded'])}; {result['batches']:.0f} transactions; publisher "
              f"{n / result['publish_seconds']:,.0f}/s")  # fmt: skip
    print(f"bare paho subscriber (count only) taking the same backlog: {bare:,.0f} alarms/s; "
          f"fengqiao/bare = {drained['rate'] / bare:.2f}")  # fmt: skip
    print(f"raw sqlite3 executemany of inbox rows, {settings.iot_batch} a transaction: "
          f"{raw:,.0f} rows/s; fengqiao/raw = {drained['rate'] / raw:.2f}")  # fmt: skip
    database.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    if lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
