"""Figures of the annual target assessment (年度考核, issue 20, item 6).

    .venv/bin/python bench/bench_annual.py [--db var/bench-annual.db] [--events 100000]
                                           [--runs 5] [--scale keqiao] [--smoke]

The year the seed filled most of (the year before the newest event's when that one has fewer
than six months) is computed as the page computes it, median of `--runs`:

1. the whole year (`annual_year.compute`): every town's, department's and benchmark standing,
   i.e. the 12 monthly composite scores of the towns and of the units, the year's town rows,
   the other mechanisms' inputs, the scheme and the evaluations;
2. the bare limit in the same run: only the rollup reads that year needs (for each month the
   counters grouped by town and by unit, and the year's by town: 25 `aggregate` calls), with
   no scoring, no org or evaluation reads. The ratio is what the annual scoring adds.

The district (`--events` events over the past year, as `make demo` seeds, 16 towns) is built
once into `--db` and reused. `--smoke`: one town, 300 events, one run in a temporary folder
(checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, select  # noqa: E402

import fengqiao.models  # noqa: E402, F401  (every table, as the app and the worker load them)
from fengqiao.analytics.query import Scope, aggregate  # noqa: E402
from fengqiao.assessment import annual  # noqa: E402
from fengqiao.assessment.annual_year import compute  # noqa: E402
from fengqiao.assessment.service import COUNTERS  # noqa: E402
from fengqiao.auth.models import User  # noqa: E402
from fengqiao.auth.service import load_principal  # noqa: E402
from fengqiao.clock import LOCAL_TZ  # noqa: E402
from fengqiao.config import Settings  # noqa: E402
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


def timed(function: Callable[[], Any], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-annual.db")
    parser.add_argument("--scale", default="keqiao", choices=["keqiao", "small"])
    parser.add_argument(
        "--smoke", action="store_true", help="one town, 300 events, one run: checks it runs"
    )
    args = parser.parse_args()
    if not args.smoke:
        run(args)
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-annual-") as tmp:
        args.db, args.scale, args.events, args.runs = Path(tmp) / "annual.db", "small", 300, 1
        os.environ["FENGQIAO_DATA_DIR"] = tmp
        print("# smoke mode: one town, 300 events, one run; the figures below mean nothing")
        run(args)


def run(args: argparse.Namespace) -> None:
    url = f"sqlite:///{args.db.resolve()}"
    env = dict(os.environ, FENGQIAO_DATABASE_URL=url, FENGQIAO_DATA_DIR=str(args.db.parent))
    env.setdefault("FENGQIAO_SECRET_KEY", "bench-annual-key-0123456789abcdef")
    build(args.db, args.events, env, args.scale)
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    database = Database(url)
    settings = Settings(database_url=url, secret_key=env["FENGQIAO_SECRET_KEY"])
    with database.session() as db:
        newest = db.scalar(select(func.max(Event.created_at)))
        events = db.scalar(select(func.count()).select_from(Event))
        towns = db.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.kind == "town"))
        if newest is None:
            print("# no events")
            return
        local = newest.astimezone(LOCAL_TZ)
        year = local.year if local.month >= 6 else local.year - 1
        today = local.date()
        boss_id = db.scalar(select(User.id).where(User.username == "demo_district_leader"))
        assert boss_id is not None
        boss = load_principal(db=db, user_id=boss_id)
        assert boss is not None
        district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
        scope = Scope("district", district.id, district.name)
        print(f"# {events:,} events, {towns} towns, the newest filed {newest}; year {year}")

        def whole() -> Any:
            return compute(db, principal=boss, year=year, local_today=today, settings=settings)

        def bare() -> None:
            spans = annual.months_of(year, min(today, date(year, 12, 31)))
            for first, last in spans:
                for by in ("town_id", "owner_unit_id"):
                    aggregate(db, scope=scope, start=first, end=last, by=(by,),
                              counters=COUNTERS, today=today)  # fmt: skip
            aggregate(db, scope=scope, start=spans[0][0], end=spans[-1][1], by=("town_id",),
                      counters=COUNTERS, today=today)  # fmt: skip

        result = whole()  # warm the caches the page would have warm
        bare()
        full, full_times = timed(whole, args.runs)
        floor, floor_times = timed(bare, args.runs)
        print(
            f"annual report {year}: {len(result.towns)} towns, {len(result.departments)} "
            f"departments, {result.months} months  p50 {full * 1000:.0f} ms "
            f"(runs {', '.join(f'{t * 1000:.0f}' for t in full_times)})"
        )
        print(
            f"bare limit (25 rollup reads, no scoring): p50 {floor * 1000:.0f} ms "
            f"(runs {', '.join(f'{t * 1000:.0f}' for t in floor_times)}); "
            f"ratio {full / floor if floor else 0:.1f}"
        )
    database.dispose()


if __name__ == "__main__":
    main()
