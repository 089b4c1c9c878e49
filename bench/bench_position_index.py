"""What migration 0044's index on `position.at` costs a phone's batch: 100 positions stored
with one `executemany` in one `BEGIN IMMEDIATE` transaction, p50 and p95 of 300 batches, into
a SQLite `position` table of 230,000 rows (a Keqiao day's scale of history) with the unique
(user_id, at) index alone and with the index on `at` as well, twice each, alternating.

    python bench/bench_position_index.py [--rows 230000] [--batches 300] [--smoke]
"""

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time


def run(with_index: bool, folder: str, total: int, batches: int) -> tuple[float, float]:
    path = os.path.join(folder, f"p{int(with_index)}.db")
    if os.path.exists(path):
        os.remove(path)
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    c.execute(
        "CREATE TABLE position (id INTEGER PRIMARY KEY, user_id INT, at TEXT, lat REAL, lng REAL, accuracy REAL, speed REAL, patrol_id INT, grid_id INT)"
    )
    c.execute("CREATE UNIQUE INDEX ix_position_user_at ON position (user_id, at)")
    if with_index:
        c.execute("CREATE INDEX ix_position_at ON position (at)")
    rows = [
        (
            u,
            f"2026-11-{1 + i // 8000:02d}T{(i % 86400) // 3600:02d}:{(i % 3600) // 60:02d}:{i % 60:02d}.{u:06d}",
            30.0,
            120.5,
            5.0,
            1.0,
            None,
            1,
        )
        for i, u in ((i, random.randrange(6800)) for i in range(total))
    ]
    c.executemany(
        "INSERT OR IGNORE INTO position (user_id, at, lat, lng, accuracy, speed, patrol_id, grid_id) VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    c.commit()
    times = []
    for r in range(batches):
        u = random.randrange(6800)
        batch = [
            (u, f"2026-12-06T10:{r // 60:02d}:{r % 60:02d}.{k:06d}", 30.0, 120.5, 5.0, 1.0, None, 1)
            for k in range(100)
        ]
        t = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        c.executemany(
            "INSERT INTO position (user_id, at, lat, lng, accuracy, speed, patrol_id, grid_id) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            batch,
        )
        c.execute("COMMIT")
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=230_000)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="2,000 rows, 20 batches")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.batches = 2_000, 20
    with tempfile.TemporaryDirectory() as folder:
        for with_index in (False, True, False, True):
            p50, p95 = run(with_index, folder, args.rows, args.batches)
            label = "with ix_position_at" if with_index else "(user_id, at) only"
            print(f"100 positions in one transaction, {label}: p50 {p50:.3f} ms, p95 {p95:.3f} ms")


if __name__ == "__main__":
    main()
