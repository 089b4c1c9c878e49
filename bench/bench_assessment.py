"""Figures of the assessment (考核) with its like-for-like comparison (issue 17, item 5).

    .venv/bin/python bench/bench_assessment.py [--db var/bench-assessment.db] [--events 100000]
                                               [--runs 3] [--scale keqiao] [--smoke]

For each level (towns, units, villages, grid workers of the whole district) and two moments of
the last month the seed filled — its 5th and its 28th at 15:00 — the month to that day is
assessed two ways, median of `--runs`:

1. `assess` alone: the ranking read from the rollups;
2. `assess_period`: the same with each row beside itself in the same days of the month before,
   read as they stood at the same hour of that month (assessment/asof.py: one grouped query over
   the events filed in those days, the trail read only where an event's own columns cannot
   say), the first time in the hour (nothing kept);
3. the same again within the hour (the compared days' counters kept). The difference between
   1 and 2 is the cost of comparing like with like.

The district (`--events` events over the past year, as `make demo` seeds) is built once into
`--db` and reused. Prints one line per level and moment, with how many events the compared days
held. `--smoke`: a small district (one town, 300 events) in a temporary folder, one run (checks
the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, select  # noqa: E402

import fengqiao.models  # noqa: E402, F401  (every table, as the app and the worker load them)
from fengqiao.analytics.query import Scope  # noqa: E402
from fengqiao.assessment import asof, service  # noqa: E402
from fengqiao.clock import LOCAL_TZ  # noqa: E402
from fengqiao.db import Database  # noqa: E402
from fengqiao.events.models import Event  # noqa: E402
from fengqiao.org.models import OrgUnit  # noqa: E402

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))


def build(db_path: Path, events: int, env: dict[str, str], scale: str) -> None:
    if db_path.exists():
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"building {db_path} ({scale}, {events:,} events) ...", flush=True)
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [FENGQIAO, "seed", "--scale", scale, "--events", str(events)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip


def median(function, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-assessment.db")
    parser.add_argument("--scale", default="keqiao", choices=["keqiao", "small"])
    parser.add_argument(
        "--smoke", action="store_true", help="one town, 300 events, one run: checks it runs"
    )
    args = parser.parse_args()
    if not args.smoke:
        run(args)
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-assessment-") as tmp:
        args.db, args.scale, args.events, args.runs = Path(tmp) / "assessment.db", "small", 300, 1
        os.environ["FENGQIAO_DATA_DIR"] = tmp
        print("# smoke mode: one town, 300 events, one run; the figures below mean nothing")
        run(args)


def run(args: argparse.Namespace) -> None:
    url = f"sqlite:///{args.db.resolve()}"
    env = dict(os.environ, FENGQIAO_DATABASE_URL=url, FENGQIAO_DATA_DIR=str(args.db.parent))
    env.setdefault("FENGQIAO_SECRET_KEY", "bench-assessment-key-0123456789abcdef")
    build(args.db, args.events, env, args.scale)
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    database = Database(url)
    weights = service.Weights()
    with database.session() as db:
        district = db.scalar(select(OrgUnit.id).where(OrgUnit.kind == "district"))
        scope = Scope("district", district or 0)
        newest = db.scalar(select(func.max(Event.created_at)))
        events = db.scalar(select(func.count()).select_from(Event))
        print(f"# {events:,} events, the newest filed {newest}")
        if newest is None:
            return
        local = newest.astimezone(LOCAL_TZ)
        # The last month the seed filled whole up to its 28th (the month before the newest
        # event's when that one is not there yet).
        month = local.date().replace(day=1)
        if local.day < 28:
            month = (month - timedelta(days=1)).replace(day=1)
        for day in (5, 28):
            now = datetime(month.year, month.month, day, 15, 0, tzinfo=LOCAL_TZ)
            first, last = month, now.date()
            for level in ("town", "unit", "village", "worker"):
                asked = {"scope": scope, "level": level, "start": first, "end": last,
                         "weights": weights}  # fmt: skip
                alone, _ = median(
                    lambda a=asked: service.assess(db, **a, today=a["end"]), args.runs
                )

                def with_comparison(
                    a: dict = asked, at: datetime = now, cold: bool = True
                ) -> object:
                    if cold:
                        asof._kept.clear()  # the first page of the hour reads the days
                    return service.assess_period(db, **a, now=at)

                both, result = median(with_comparison, args.runs)
                again, _ = median(functools.partial(with_comparison, cold=False), args.runs)
                assert isinstance(result, service.Assessment) and result.period is not None
                compared = result.compared
                filed = sum(r.counts["new"] for r in compared.rows) if compared else 0
                print(
                    f"{first:%m-%d}..{last:%m-%d} {level:8s} {len(result.rows):5d} rows  "
                    f"assess {alone * 1000:6.0f} ms  with the comparison {both * 1000:6.0f} ms, "
                    f"again within the hour {again * 1000:6.0f} ms  "
                    f"({result.period.compare_label}: {filed:,} events)",
                    flush=True,
                )
    database.dispose()


if __name__ == "__main__":
    main()
