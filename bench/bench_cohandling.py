"""Does co-handling (联合执法, issue 20) slow the event center? Filing an event and a transition
(dispatch + sign) measured on the code before the change and after it, in the same session,
rounds alternating, next to the bare limit (one raw sqlite3 insert in its own transaction).

    .venv/bin/python bench/bench_cohandling.py --base /tmp/base/src [--events 300] [--rounds 3]
                                               [--smoke]

`--base` is the `src` folder of a checkout of the commit before the change (e.g.
`git worktree add --detach /tmp/base d98d9ae`); without it only this checkout is measured.
Each round runs each side in a subprocess of its own, the two taking turns going first
(PYTHONPATH puts that side's `fengqiao` first): a fresh SQLite file, migrated by that side's
migrations, the small demo district, then `events` events filed through `filing.create_event` as the town's operator (hotline), each then
dispatched (to the proposed unit) and signed through `steps.transition`, one transaction per
step as the API does. Then, on this side only, half as many more events get a joint dispatch
(one assisting unit) and the assisting unit's `sign_part`, measured apart. Prints the medians per side, the ratios after/before, and the
bare limit. `--smoke`: 20 events, one round.
"""

from __future__ import annotations

import argparse
import json
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def measure(events: int) -> dict[str, Any]:
    """One side's figures, in this process (whichever `fengqiao` is first on the path)."""
    from sqlalchemy import select

    from fengqiao.auth.models import User, UserRole
    from fengqiao.auth.service import load_principal
    from fengqiao.db import Database
    from fengqiao.demo.seed import seed
    from fengqiao.events import filing, steps
    from fengqiao.events.schemas import EventCreate, TransitionIn
    from fengqiao.geo.service import GridLocator
    from fengqiao.migrate import upgrade
    from fengqiao.org.models import OrgUnit, Unit
    from fengqiao.taxonomy.snapshot import load_rules

    folder = tempfile.mkdtemp(prefix="fq-cohandle-")
    url = f"sqlite:///{folder}/bench.db"
    upgrade(url)
    database = Database(url)
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    seed(db=database, scale="small", password="pw", now=now)
    with database.session() as db:
        users = {
            u.username: u.id for u in db.scalars(select(User).where(User.username.like("demo_%")))
        }
        rules = load_rules(db)
        locator = GridLocator(0)
        locator.refresh(db)
        worker = db.get(User, users["demo_grid_worker"])
        grid = db.get(OrgUnit, worker.home_org_id)  # type: ignore[union-attr]
        town_id = int(grid.path.strip("/").split("/")[1])  # type: ignore[union-attr]
        import shapely

        point = shapely.from_geojson(json.dumps(grid.geometry)).representative_point()  # type: ignore[union-attr]
        handler_unit = db.get(User, users["demo_handler"]).unit_id  # type: ignore[union-attr]
        helper = db.execute(
            select(User.id, User.unit_id)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Unit, Unit.id == User.unit_id)
            .where(UserRole.role == "handler", Unit.org_unit_id == town_id,
                   User.unit_id != handler_unit)
            .order_by(User.id)
        ).first()  # fmt: skip
        operator = load_principal(db=db, user_id=users["demo_operator"])
        handler = load_principal(db=db, user_id=users["demo_handler"])
        assert operator is not None and handler is not None and grid is not None
        village_id = grid.parent_id or 0
        assistant = load_principal(db=db, user_id=helper.id) if helper else None
    category = next(
        code for code, c in sorted(rules.categories.items())
        if c.default_level == 2 and filing.route(
            rules, category_code=code, level=2, place_ids=(village_id, town_id)
        ).unit_id == handler_unit
    )  # fmt: skip
    place = locator.locate(point.x, point.y)

    def file(i: int) -> int:
        data = EventCreate(source="hotline", category=category, lat=point.y, lng=point.x,
                           description=f"压测事件 {i}")  # fmt: skip
        with database.transaction() as db:
            event, _ = filing.create_event(db=db, rules=rules, place=place, principal=operator,
                                           data=data, now=now + timedelta(seconds=i))  # fmt: skip
            return event.id

    def step(event_id: int, who: Any, action: str, **fields: Any) -> None:
        with database.transaction() as db:
            from fengqiao.events.models import Event

            version = db.scalar(select(Event.version).where(Event.id == event_id))
            data = TransitionIn.model_validate({"action": action, "version": version, **fields})
            steps.transition(db=db, rules=rules, principal=who, event_id=event_id, data=data,
                             now=now + timedelta(hours=1))  # fmt: skip

    filed, moved, joint, part = [], [], [], []
    ids = []
    for i in range(events):
        started = time.perf_counter()
        ids.append(file(i))
        filed.append(time.perf_counter() - started)
    for event_id in ids:
        step(event_id, operator, "accept")
    for event_id in ids:  # the transition both sides take: dispatch to the proposal, then sign
        started = time.perf_counter()
        step(event_id, operator, "dispatch")
        step(event_id, handler, "sign")
        moved.append(time.perf_counter() - started)
    if assistant is not None and helper is not None and "add_assist" in steps.HANDLERS:
        # This side only: a joint dispatch (one assisting unit) and that unit's signature.
        more = [file(events + i) for i in range(events // 2)]
        for event_id in more:
            step(event_id, operator, "accept")
        for event_id in more:
            started = time.perf_counter()
            step(event_id, operator, "dispatch", assist_unit_ids=[helper.unit_id])
            step(event_id, handler, "sign")
            joint.append(time.perf_counter() - started)
            started = time.perf_counter()
            step(event_id, assistant, "sign_part")
            part.append(time.perf_counter() - started)
    database.dispose()
    bare = bare_limit(Path(folder) / "bare.db", events)
    shutil.rmtree(folder, ignore_errors=True)
    ms = lambda xs: round(statistics.median(xs) * 1000, 3) if xs else None  # noqa: E731
    return {"file_ms": ms(filed), "dispatch_sign_ms": ms(moved), "joint_dispatch_sign_ms": ms(joint),
            "sign_part_ms": ms(part), "bare_insert_ms": bare}  # fmt: skip


def bare_limit(path: Path, rows: int) -> float:
    """Median of one raw sqlite3 insert in its own transaction (WAL, synchronous NORMAL)."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE bench_row (id INTEGER PRIMARY KEY, at TEXT, payload TEXT)")
    samples = []
    for i in range(rows):
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO bench_row (at, payload) VALUES (?, ?)",
                           (datetime.now(UTC).isoformat(), f"row {i}"))  # fmt: skip
        connection.execute("COMMIT")
        samples.append(time.perf_counter() - started)
    connection.close()
    return round(statistics.median(samples) * 1000, 3)


def side(src: Path, events: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(src), FENGQIAO_LOG_LEVEL="warning")
    out = subprocess.run(
        [sys.executable, __file__, "--one", "--events", str(events)],
        env=env, check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="src folder of the commit before the change")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.events, args.rounds = 20, 1
        if not args.one:
            print("# smoke mode: 20 events, one round; the figures mean nothing")
    if args.one:
        print(json.dumps(measure(args.events)))
        return
    after_src = ROOT / "src"
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for number in range(args.rounds):
        # The order alternates, so neither side always runs second (after the other's writes).
        if args.base is not None and number % 2 == 0:
            runs["before"].append(side(args.base, args.events))
        runs["after"].append(side(after_src, args.events))
        if args.base is not None and number % 2 == 1:
            runs["before"].append(side(args.base, args.events))
    keys = (
        "file_ms",
        "dispatch_sign_ms",
        "joint_dispatch_sign_ms",
        "sign_part_ms",
        "bare_insert_ms",
    )
    summary: dict[str, dict[str, float | None]] = {}
    for name, rows in runs.items():
        summary[name] = {
            k: round(statistics.median(v), 3) if (v := [r[k] for r in rows if r[k] is not None]) else None
            for k in keys
        }  # fmt: skip
    print(f"events per round: {args.events}, rounds: {args.rounds}")
    for name, figures in summary.items():
        if runs[name]:
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    if runs["before"]:
        for k in ("file_ms", "dispatch_sign_ms"):
            before, after = summary["before"][k], summary["after"][k]
            # Each round's pair ran back to back, under the same load: the median of their
            # ratios is steadier on a shared machine than the ratio of the two medians.
            paired = [a[k] / b[k] for b, a in zip(runs["before"], runs["after"], strict=True)]
            if before and after:
                print(f"ratio {k}: {after / before:.3f} of medians, "
                      f"{statistics.median(paired):.3f} median of the rounds' ratios "
                      f"({', '.join(f'{r:.2f}' for r in paired)}) (target <= 1.10)")  # fmt: skip


if __name__ == "__main__":
    main()
