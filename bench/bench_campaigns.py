"""The campaign dashboard over a year of Keqiao (issue 20, item 2): p50 ≤ 150 ms from rollups.

    .venv/bin/python bench/bench_campaigns.py [--db var/bench-campaigns.db] [--events 1100000]
                                              [--runs 20] [--smoke]

The district (`--events` events over the past year, as `fengqiao seed --scale keqiao --events N`
files them, with the demo's 4 campaigns tagged and counted) is built once into `--db` and
reused; 16 more campaigns (3 classes each, periods of 3 to 12 months, 2 measures each) are then
defined through `create_campaign` and their closings counted by the `campaigns` job's code, so
20 campaigns stand over the year. For each campaign the dashboard (`reads.dashboard`: the
campaign, its measures, per measure the cumulative days with the expected line, per town and
measure, the lagging towns) is read `--runs` times as an operator of the district would; the p50
over all reads is printed beside the bare limit — the dashboard's two rollup queries (by measure
and day, by measure and town) in raw sqlite3, nothing else — and the ratio. `--smoke`: one
town, 400 events, 2 runs in a temporary folder (checks the script runs; its figures mean
nothing).

`--direct`: when filing 1.1 M events takes too long on the machine at hand, the district is
seeded without events and the 20 campaigns' rollup is written directly at the size a year of
Keqiao fills (a year of 1.1 M events over 42 classes and 16 towns puts about 4.5 closings of a
class in a town on each day, so every (campaign, measure, town, day) cell of a period holds
some: the rollup is dense); the dashboard reads exactly what it reads over real closings.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import func, select  # noqa: E402

import fengqiao.models  # noqa: E402, F401  (every table, as the app and the worker load them)
from fengqiao.auth.models import User  # noqa: E402
from fengqiao.auth.service import load_principal  # noqa: E402
from fengqiao.campaigns import reads  # noqa: E402
from fengqiao.campaigns.models import Campaign, CampaignEvent, CampaignProgress  # noqa: E402
from fengqiao.campaigns.progress import local_day  # noqa: E402
from fengqiao.campaigns.schemas import CampaignIn  # noqa: E402
from fengqiao.campaigns.service import create_campaign  # noqa: E402
from fengqiao.campaigns.tagging import run as run_job  # noqa: E402
from fengqiao.db import Database  # noqa: E402
from fengqiao.events.models import Event  # noqa: E402
from fengqiao.org.models import OrgUnit  # noqa: E402
from fengqiao.taxonomy.models import Category  # noqa: E402

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))
CAMPAIGNS = 20
UNITS = ("处", "起", "家", "个", "只", "辆")


def build(db_path: Path, events: int, env: dict[str, str], scale: str) -> None:
    if db_path.exists():
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"building {db_path} ({scale}, {events:,} events) ...", flush=True)
    started = time.perf_counter()
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [FENGQIAO, "seed", "--scale", scale, "--events", str(events)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    print(f"# seeded in {time.perf_counter() - started:.0f} s", flush=True)


def more_campaigns(database: Database) -> None:
    """Define campaigns until there are 20, then count their closings as the job does."""
    with database.transaction() as db:
        have = db.scalar(select(func.count()).select_from(Campaign)) or 0
        if have >= CAMPAIGNS:
            return
        user = db.scalars(select(User).where(User.username == "demo_district_operator")).one()
        principal = load_principal(db=db, user_id=user.id)
        assert principal is not None
        district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
        newest = db.scalar(select(func.max(Event.created_at))) or datetime.now(UTC)
        today = local_day(newest)
        codes = list(db.scalars(select(Category.code).order_by(Category.code)))
        for index in range(CAMPAIGNS - have):
            classes = [codes[(3 * index + k) % len(codes)] for k in range(3)]
            months = 3 + index % 10
            data = CampaignIn.model_validate({
                "name": f"基准专项整治{index + 1:02d}", "org_id": district.id, "classes": classes,
                "start_date": str(today - timedelta(days=30 * months - 20)),
                "end_date": str(today + timedelta(days=20)),
                "measures": [
                    {"name": "整治", "unit": UNITS[index % 6], "classes": classes[:2],
                     "target": 1000},
                    {"name": "复查", "unit": UNITS[(index + 1) % 6], "classes": classes[2:],
                     "target": 500},
                ],
            })  # fmt: skip
            create_campaign(db=db, principal=principal, data=data, now=newest)
    started = time.perf_counter()
    report = run_job(database, now=newest, batch=20000)
    print(f"# 16 campaigns counted in {time.perf_counter() - started:.0f} s: {report}", flush=True)


def direct_rollups(database: Database) -> None:
    """Dense rollup cells for every campaign, measure, town and day of its period up to today."""
    import random

    from sqlalchemy import insert

    from fengqiao.campaigns.models import CampaignMeasure

    rng = random.Random(20171018)
    with database.transaction() as db:
        if db.scalar(select(func.count()).select_from(CampaignProgress)):
            return
        today = local_day(datetime.now(UTC))
        rows: list[dict[str, object]] = []
        for campaign in db.scalars(select(Campaign)):
            measures = db.scalars(select(CampaignMeasure).where(
                CampaignMeasure.campaign_id == campaign.id)).all()  # fmt: skip
            day = campaign.start_date
            while day <= min(today, campaign.end_date):
                for measure in measures:
                    for town in campaign.town_ids:
                        done = rng.randint(1, 9) * (1 if measure.unit != "m²" else 300)
                        rows.append({"campaign_id": campaign.id, "measure_id": measure.id,
                                     "town_id": town, "day": day, "done": float(done),
                                     "events": done})  # fmt: skip
                day += timedelta(days=1)
        for start in range(0, len(rows), 50_000):
            db.execute(insert(CampaignProgress), rows[start : start + 50_000])
    print(f"# wrote {len(rows):,} rollup cells directly", flush=True)


def bare(path: Path, campaign_id: int, towns: list[int]) -> None:
    """The dashboard's two rollup queries and nothing else, in raw sqlite3."""
    marks = ",".join("?" * len(towns))
    with sqlite3.connect(path) as conn:
        conn.execute(
            "SELECT measure_id, day, sum(done) FROM campaign_progress WHERE campaign_id = ? "
            f"AND town_id IN ({marks}) GROUP BY measure_id, day", (campaign_id, *towns)
        ).fetchall()  # fmt: skip
        conn.execute(
            "SELECT measure_id, town_id, sum(done) FROM campaign_progress WHERE campaign_id = ? "
            f"AND town_id IN ({marks}) GROUP BY measure_id, town_id", (campaign_id, *towns)
        ).fetchall()  # fmt: skip


def run(args: argparse.Namespace) -> None:
    url = f"sqlite:///{args.db.resolve()}"
    env = dict(os.environ, FENGQIAO_DATABASE_URL=url, FENGQIAO_DATA_DIR=str(args.db.parent))
    env.setdefault("FENGQIAO_SECRET_KEY", "bench-campaigns-key-0123456789abcdef")
    build(args.db, 0 if args.direct else args.events, env, args.scale)
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    database = Database(url)
    more_campaigns(database)
    if args.direct:
        direct_rollups(database)
    with database.session() as db:
        events = db.scalar(select(func.count()).select_from(Event)) or 0
        tags = db.scalar(select(func.count()).select_from(CampaignEvent)) or 0
        cells = db.scalar(select(func.count()).select_from(CampaignProgress)) or 0
        user = db.scalars(select(User).where(User.username == "demo_district_operator")).one()
        principal = load_principal(db=db, user_id=user.id)
        assert principal is not None
        campaigns = list(db.scalars(select(Campaign).order_by(Campaign.id)))
        newest = db.scalar(select(func.max(Event.created_at))) or datetime.now(UTC)
        print(f"# {events:,} events, {len(campaigns)} campaigns, {tags:,} tagged events, "
              f"{cells:,} rollup cells", flush=True)  # fmt: skip
        ours, limit = [], []
        for campaign in campaigns:
            towns = list(campaign.town_ids)
            for _ in range(args.runs):
                started = time.perf_counter()
                dash = reads.dashboard(db, principal, campaign, newest)
                ours.append(time.perf_counter() - started)
                started = time.perf_counter()
                bare(args.db, campaign.id, towns)
                limit.append(time.perf_counter() - started)
            assert dash["measures"]
    p50, p50_bare = statistics.median(ours), statistics.median(limit)
    p95 = sorted(ours)[int(0.95 * (len(ours) - 1))]
    print(f"dashboard p50 {p50 * 1000:.1f} ms (p95 {p95 * 1000:.1f} ms, {len(ours)} reads); "
          f"bare limit p50 {p50_bare * 1000:.1f} ms; ratio {p50 / p50_bare:.1f}×")  # fmt: skip
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-campaigns.db")
    parser.add_argument("--scale", default="keqiao", choices=["keqiao", "small"])
    parser.add_argument("--direct", action="store_true", help="write the rollup, file no events")
    parser.add_argument("--smoke", action="store_true", help="one town, 400 events, 2 runs")
    args = parser.parse_args()
    if not args.smoke:
        run(args)
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-campaigns-") as tmp:
        args.db, args.scale, args.events, args.runs = Path(tmp) / "campaigns.db", "small", 400, 2
        os.environ["FENGQIAO_DATA_DIR"] = tmp
        print("# smoke mode: one town, 400 events, 2 runs; the figures below mean nothing")
        run(args)


if __name__ == "__main__":
    main()
