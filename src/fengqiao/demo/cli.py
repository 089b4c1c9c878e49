"""`fengqiao seed`: build the demo district and, on request, a year of its events."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import TaskID
from sqlalchemy import func, select

from fengqiao.cli_support import console, err_console, load_settings, open_database, progress_bar
from fengqiao.db import Database
from fengqiao.events.photos import PhotoStore


def seed(
    scale: Annotated[
        str,
        typer.Option(
            help="keqiao (the full district), small (one town) or zhejiang (the province: "
            "11 cities, 90 districts, 85,000 grids)."
        ),
    ] = "keqiao",
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if data exists.")
    ] = False,
    random_seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 20171018,
    events: Annotated[
        int, typer.Option(help="Also file this many events over the past year (1100000: Keqiao).")
    ] = 0,
    jobs: Annotated[
        int,
        typer.Option(
            min=0,
            max=64,
            help="--scale zhejiang on PostgreSQL: worker processes filing the events "
            "(0: one per core).",
        ),
    ] = 0,
) -> None:
    """Build the deterministic demo district (towns, villages, grids, units, people, cameras)
    and, with --events, a year of its events with their trails."""
    from fengqiao.demo.seed import seed as run_seed
    from fengqiao.org.models import OrgUnit

    settings = load_settings()
    database = open_database()
    with database.session() as session:
        existing = session.scalar(select(func.count()).select_from(OrgUnit))
    if existing:
        if if_empty:
            console.print(f"database already holds {existing} org units; not seeding")
            if scale == "zhejiang":
                _province_events(database, events, random_seed, jobs)
            else:
                _seed_events(database, events, random_seed)
            return
        err_console.print("[red]数据库中已有数据，未生成演示数据 / the database is not empty[/red]")
        raise typer.Exit(1)
    if scale == "zhejiang":
        _seed_province(database, settings.demo_password, random_seed, events, jobs)
        return
    with progress_bar() as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        result = run_seed(
            db=database,
            scale=scale,
            password=settings.demo_password,
            seed=random_seed,
            progress=report,
        )
    console.print(
        f"seeded {scale}: {result.towns} towns, {result.villages} villages, {result.grids} grids "
        f"({result.special_grids} special), {result.grid_workers} grid workers, "
        f"{result.agency_staff} agency staff, {result.units} units, {result.users} users, "
        f"{result.cameras} cameras, {result.pois} POIs in {result.seconds:.1f} s"
    )
    console.print(
        f"service catalogue: {result.service_items} items, "
        f"{result.proxy_requests} proxy requests (代办)"
    )
    store = PhotoStore(settings.photo_dir())
    for photo in result.photos:  # the rectifications' 佐证照片 (the seed wrote their rows)
        store.save(photo, field="photos")
    if result.device_keys:  # shown once, so a visitor can try the webhook (docs/iot.md)
        console.print(f"{result.iot_devices} IoT devices; a key per type (not shown again):")
        for device_type, code_and_key in result.device_keys.items():
            console.print(f"  {device_type}: {code_and_key}", markup=False, soft_wrap=True)
    _seed_events(database, events, random_seed)


def _seed_province(
    database: Database, password: str, random_seed: int, events: int, jobs: int = 0
) -> None:
    """`--scale zhejiang`: the province's org tree, units and people, then `events` events."""
    from fengqiao.demo.zhejiang import seed_province

    with progress_bar() as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        result = seed_province(db=database, password=password, seed=random_seed, progress=report)
    console.print(
        f"seeded zhejiang: {result.cities} cities, {result.districts} districts, "
        f"{result.towns} towns, {result.villages} villages, {result.grids} grids, "
        f"{result.grid_workers} grid workers, {result.units} units, {result.users} users "
        f"in {result.seconds:.1f} s"
    )
    console.print("command-center logins (the demo password; town/district accounts as keqiao's):")
    for username, role, description in result.logins:
        console.print(f"  {username:<14} {role:<9} {description}", markup=False)
    _province_events(database, events, random_seed, jobs)


def _province_events(database: Database, events: int, random_seed: int, jobs: int = 0) -> None:
    """File `events` events over the province's districts unless it already holds events."""
    from fengqiao.demo.events import default_until
    from fengqiao.demo.zhejiang_events import seed_province_events
    from fengqiao.events.models import Event

    if events <= 0:
        return
    with database.session() as session:
        if session.scalar(select(Event.id).limit(1)) is not None:
            console.print("database already holds events; not seeding events")
            return
    with progress_bar() as progress:
        task = progress.add_task("events", total=events)
        filed = seed_province_events(
            db=database,
            count=events,
            until=default_until(),
            seed=random_seed,
            jobs=jobs or None,
            progress=lambda stage, done, total: progress.update(
                task, description=stage, completed=done, total=total
            ),
        )
    console.print(
        f"seeded {filed.events} events ({filed.open_events} open) with "
        f"{filed.trail_rows} trail rows in {filed.seconds:.1f} s ({filed.jobs} processes)"
    )


def _seed_events(database: Database, count: int, random_seed: int) -> None:
    """File `count` demo events unless the database already holds events."""
    from fengqiao.demo.events import default_until, seed_events
    from fengqiao.events.models import Event

    if count <= 0:
        return
    with database.session() as session:
        existing = session.scalar(select(func.count()).select_from(Event))
    if existing:
        console.print(f"database already holds {existing} events; not seeding events")
        return
    with progress_bar() as progress:
        task = progress.add_task("events", total=count)
        result = seed_events(
            db=database,
            count=count,
            until=default_until(),
            seed=random_seed,
            progress=lambda _stage, done, total: progress.update(task, completed=done, total=total),
        )
    console.print(
        f"seeded {result.events} events ({result.open_events} open) with "
        f"{result.trail_rows} trail rows in {result.seconds:.1f} s"
    )
    from fengqiao.demo.campaigns import fill_campaigns

    filled = fill_campaigns(database=database, seed=random_seed)
    console.print(
        f"campaigns: {filled.tagged} events tagged, {filled.counted} closings counted "
        f"in {filled.campaigns} campaigns"
    )
    # A few Open311 requests by demo_device (docs/open311.md), at the end of the history.
    from fengqiao.demo.open311 import seed_open311

    filed = seed_open311(database=database, now=default_until())
    if filed:
        console.print(f"seeded {filed} Open311 requests (/open311/v2/requests.json)")
    # Last year's annual assessment (closed, benchmark towns confirmed) and this year's scheme.
    from fengqiao.demo.annual import seed_annual

    annual = seed_annual(database=database, now=default_until(), settings=load_settings())
    if annual.schemes:
        console.print(
            f"seeded the annual assessment: {annual.evaluations} department evaluations, "
            f"{annual.benchmarks} benchmark towns confirmed for last year (/assessment/annual)"
        )
    if result.planted:
        from fengqiao.demo.anomalies import to_json

        path = load_settings().data_dir / "demo-anomalies.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(to_json(result.planted), ensure_ascii=False, indent=1))
        console.print(f"planted {len(result.planted)} anomalies for the warnings: {path}")
