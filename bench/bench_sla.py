"""Figures of the SLA sweeper at district scale: 1.1 M events stored, 100,000 of them open.

    .venv/bin/python bench/bench_sla.py [--big-db sqlite:///var/bench-events-1m.db] [--runs 30]
                                        [--smoke]

1. A tick that finds nothing due (`fengqiao.supervision.sweeper.sweep`, all three passes), p50 of
   `--runs` ticks, against the same three probes as raw sqlite3 queries (the limit).
2. A tick that finds 1,000 due reminders and writes their outbox rows and trail rows, p50 over
   5 rounds of 1,000 fresh events, against the limit: raw sqlite3 writing the same number of
   outbox rows and event updates with executemany in one transaction.

The 1.1 M database is the one bench/bench_events.py builds (`fengqiao seed --scale keqiao
--events 1100000`); this script works on a copy, migrated to the newest schema, in which
100,000 random closed events are reopened as `signed` by their proposed unit with deadlines
spread over the next ten days. Prints one line per figure. `--smoke`: instead of the 1.1 M file,
a small district (one town, 2,000 events) seeded in a temporary folder, 300 reopened events, 50
due per round, 2 rounds (checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fengqiao.models  # noqa: F401  (every table, as the app and the worker load them)
from fengqiao.db import Database
from fengqiao.events.escalation import EscalationPolicy
from fengqiao.supervision.sweeper import sweep

ROOT = Path(__file__).resolve().parent.parent
FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
OPEN = 100_000
DUE = 1_000
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Beijing, a Tuesday


def text_time(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def prepare(source: Path, target: Path, reopen: int = OPEN) -> None:
    """Copy, migrate, and reopen `reopen` events with deadlines ahead of NOW."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as connection:  # fold the WAL in so one file holds everything
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, target)
    url = f"sqlite:///{target}"
    subprocess.run(
        [FENGQIAO, "db", "upgrade"], env={**os.environ, "FENGQIAO_DATABASE_URL": url}, check=True,
        capture_output=True,
    )  # fmt: skip
    connection = sqlite3.connect(target, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("BEGIN IMMEDIATE")
    # Whatever the seed left open keeps its state but is done with (reminded, marked overdue).
    connection.execute(
        "UPDATE event SET reminded_at = ?, overdue_at = coalesce(overdue_at, ?) "
        "WHERE status IN ('reported','accepted','dispatched','signed','handled','self_handled',"
        "'suspended')",
        (text_time(NOW), text_time(NOW)),
    )
    ids = [
        row[0]
        for row in connection.execute(
            "SELECT id FROM event WHERE status = 'closed' AND level >= 2 "
            "AND proposed_unit_id IS NOT NULL ORDER BY random() LIMIT ?",
            (reopen,),
        )
    ]
    rows = []
    for index, event_id in enumerate(ids):
        due = NOW + timedelta(days=2) + timedelta(seconds=index * 8)  # spread over ~10 days
        rows.append((text_time(due), text_time(due - timedelta(hours=24)), event_id))
    connection.executemany(
        "UPDATE event SET status = 'signed', owner_unit_id = proposed_unit_id, closed_at = NULL, "
        "handled_at = NULL, due_at = ?, remind_at = ?, reminded_at = NULL, overdue_at = NULL, "
        "escalate_at = NULL WHERE id = ?",
        rows,
    )
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()


PROBES = [
    "SELECT id FROM event WHERE status IN ('reported', 'accepted', 'dispatched', 'signed', "
    "'handled', 'self_handled', 'suspended') AND reminded_at IS NULL AND level >= 2 "
    "AND remind_at <= ? AND status != 'suspended' ORDER BY remind_at LIMIT 500",
    "SELECT id FROM event WHERE status IN ('reported', 'accepted', 'dispatched', 'signed', "
    "'handled', 'self_handled', 'suspended') AND overdue_at IS NULL AND due_at <= ? "
    "AND status != 'suspended' ORDER BY due_at LIMIT 500",
    "SELECT id FROM event WHERE status IN ('reported', 'accepted', 'dispatched', 'signed', "
    "'handled', 'self_handled', 'suspended') AND escalate_at <= ? AND status != 'suspended' "
    "ORDER BY escalate_at LIMIT 500",
]


def idle_figures(path: Path, runs: int, reopened: int = OPEN) -> None:
    database = Database(f"sqlite:///{path}")
    policy = EscalationPolicy()
    counts = sweep(database, NOW, policy)
    assert counts == {}, counts
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        sweep(database, NOW, policy)
        samples.append(time.perf_counter() - start)
    database.dispose()
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    bare = []
    for _ in range(runs):
        start = time.perf_counter()
        for probe in PROBES:
            raw.execute(probe, (text_time(NOW),)).fetchall()
        bare.append(time.perf_counter() - start)
    events = raw.execute("SELECT count(*) FROM event").fetchone()[0]
    plans = [raw.execute(f"EXPLAIN QUERY PLAN {p}", (text_time(NOW),)).fetchall() for p in PROBES]
    raw.close()
    p50, limit = statistics.median(samples) * 1000, statistics.median(bare) * 1000
    print(
        f"sweeper tick, nothing due, {reopened:,} open of {events:,}: p50 {p50:.2f} ms "
        f"(target ≤ 20 ms); the three probes in raw sqlite3: p50 {limit:.3f} ms; "
        f"ratio {p50 / limit:.0f}x"
    )
    print("# probe plans: " + " | ".join(str(plan[0][-1]) for plan in plans))


def due_figures(path: Path, rounds: int, due: int = DUE) -> None:
    database = Database(f"sqlite:///{path}")
    policy = EscalationPolicy()
    raw = sqlite3.connect(path, isolation_level=None)
    samples, bare = [], []
    for round_ in range(rounds):
        at = NOW + timedelta(minutes=round_ + 1)
        ids = [
            row[0]
            for row in raw.execute(
                "SELECT id FROM event WHERE status = 'signed' AND reminded_at IS NULL "
                "AND remind_at > ? ORDER BY random() LIMIT ?",
                (text_time(at), due),
            )
        ]
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(
            "UPDATE event SET remind_at = ? WHERE id = ?", [(text_time(at), i) for i in ids]
        )
        raw.execute("COMMIT")
        before = raw.execute("SELECT count(*) FROM outbox").fetchone()[0]
        start = time.perf_counter()
        counts = sweep(database, at, policy)
        samples.append(time.perf_counter() - start)
        written = raw.execute("SELECT count(*) FROM outbox").fetchone()[0] - before
        assert counts == {"sent": due}, counts
        # The limit: the same number of outbox rows and event updates, nothing else.
        start = time.perf_counter()
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(
            "INSERT INTO outbox (channel, recipient, template, payload, dedupe_key, event_id, "
            "status, attempts, next_attempt_at, created_at) "
            "VALUES ('sms', '13800000000', 'reminder', '{}', ?, ?, 'pending', 0, ?, ?)",
            [(f"bare:{round_}:{n}", ids[n % len(ids)], text_time(at), text_time(at))
             for n in range(written)],
        )  # fmt: skip
        raw.executemany(
            "UPDATE event SET reminded_at = ?, version = version + 1 WHERE id = ?",
            [(text_time(at), i) for i in ids],
        )
        raw.execute("ROLLBACK")
        bare.append(time.perf_counter() - start)
    raw.close()
    database.dispose()
    p50, limit = statistics.median(samples), statistics.median(bare)
    print(
        f"sweeper tick, {due:,} reminders due ({written:,} outbox rows and {due:,} trail rows "
        f"each): p50 {p50:.3f} s over {rounds} rounds (target ≤ 1 s); limit, raw sqlite3 "
        f"executemany of the outbox rows and event updates: p50 {limit:.3f} s; "
        f"ratio {p50 / limit:.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--big-db", default=f"sqlite:///{ROOT / 'var' / 'bench-events-1m.db'}",
        help="The 1.1 M database bench/bench_events.py builds (only read; a copy is used).",
    )  # fmt: skip
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--smoke", action="store_true", help="a small seeded district: checks the script runs"
    )
    args = parser.parse_args()
    if not args.smoke:
        source = Path(args.big_db.removeprefix("sqlite:///"))
        if not source.exists():
            raise SystemExit(f"{source} is missing: run bench/bench_events.py first (it builds it)")
        run(source, ROOT / "var" / "bench-sla.db", args.runs, args.rounds, OPEN, DUE)
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-sla-") as tmp:
        source = Path(tmp) / "small.db"
        env = {**os.environ, "FENGQIAO_DATABASE_URL": f"sqlite:///{source}",
               "FENGQIAO_DATA_DIR": tmp}  # fmt: skip
        print("# smoke mode: one town, 2,000 events, 300 reopened, 50 due a round; "
              "the figures below mean nothing")  # fmt: skip
        subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run(
            [FENGQIAO, "seed", "--scale", "small", "--events", "2000"], env=env, check=True,
            capture_output=True,
        )  # fmt: skip
        run(source, Path(tmp) / "bench-sla.db", 3, 2, 300, 50)


def run(source: Path, target: Path, runs: int, rounds: int, reopen: int, due: int) -> None:
    start = time.perf_counter()
    prepare(source, target, reopen)
    print(f"# prepared {target} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    idle_figures(target, runs, reopen)
    due_figures(target, rounds, due)


if __name__ == "__main__":
    main()
