"""The `fengqiao` command: serve, migrate, seed, import/export the tree, manage accounts."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.backup import backup_command, restore_command
from fengqiao.catalogue.cli import services_app
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings, get_settings
from fengqiao.db import Database
from fengqiao.errors import Problem
from fengqiao.intake.cli import intake_app
from fengqiao.iot.cli import iot_app
from fengqiao.open311.cli import open311_app
from fengqiao.ops.cli import ops_app
from fengqiao.scope import Principal

app = typer.Typer(help="Fengqiao (枫桥) grid governance platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
org_app = typer.Typer(help="The administrative tree.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for machines.", no_args_is_help=True)
grids_app = typer.Typer(help="Grid lookups.", no_args_is_help=True)
taxonomy_app = typer.Typer(help="Event classes, routing rules, SLA policies.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident event trail.", no_args_is_help=True)
docs_app = typer.Typer(help="Documentation generated from the code.", no_args_is_help=True)
jobs_app = typer.Typer(help="The worker's jobs, one at a time.", no_args_is_help=True)
analytics_app = typer.Typer(help="Rollups behind the charts (研判).", no_args_is_help=True)
warnings_app = typer.Typer(help="Early warnings (预警).", no_args_is_help=True)
cameras_app = typer.Typer(help="The camera registry (视频监控).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="apikeys")
app.add_typer(grids_app, name="grids")
app.add_typer(taxonomy_app, name="taxonomy")
app.add_typer(audit_app, name="audit")
app.add_typer(docs_app, name="docs")
app.add_typer(jobs_app, name="jobs")
app.add_typer(analytics_app, name="analytics")
app.add_typer(warnings_app, name="warnings")
app.add_typer(cameras_app, name="cameras")
app.add_typer(intake_app, name="intake")
app.add_typer(iot_app, name="iot")
app.add_typer(open311_app, name="open311")
app.add_typer(services_app, name="services")
app.add_typer(ops_app, name="ops")
app.command("backup")(backup_command)
app.command("restore")(restore_command)

console = Console()
err_console = Console(stderr=True)


def _settings() -> Settings:
    return get_settings()


def _database() -> Database:
    settings = _settings()
    return Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)


@contextmanager
def _problems_exit() -> Iterator[None]:
    """Print a refusal in both languages and exit 1 instead of a traceback."""
    try:
        yield
    except Problem as problem:
        err_console.print(f"[red]{problem.title_zh} / {problem.title}[/red]")
        err_console.print(f"{problem.detail_zh}\n{problem.detail}")
        for error in problem.errors:
            err_console.print(f"  - {error.field}: {error.reason_zh} / {error.reason}")
        raise typer.Exit(1) from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the web app and API (uvicorn with uvloop and httptools)."""
    import uvicorn

    from fengqiao.logs import dict_config
    from fengqiao.metrics import prepare_multiprocess

    settings = _settings()
    prepare_multiprocess(settings.metrics_dir or settings.data_dir / "metrics")
    uvicorn.run(
        "fengqiao.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        log_config=dict_config(fmt=settings.log_format, level=settings.log_level),
        access_log=False,  # ours (fengqiao.access) redacts credentials in query strings
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    from fengqiao.migrate import upgrade

    url = _settings().database_url
    upgrade(url, revision)
    console.print(f"database at {revision}: {_safe_url(url)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision and the newest one."""
    from fengqiao.migrate import current_revision, head_revision

    database = _database()
    console.print(f"current: {current_revision(database.engine)}  head: {head_revision()}")


def _safe_url(url: str) -> str:
    from fengqiao.db import normalise_url

    return normalise_url(url).render_as_string(hide_password=True)


@app.command()
def seed(
    scale: Annotated[
        str, typer.Option(help="keqiao (the full district) or small (one town).")
    ] = "keqiao",
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if data exists.")
    ] = False,
    random_seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 20171018,
    events: Annotated[
        int, typer.Option(help="Also file this many events over the past year (1100000: Keqiao).")
    ] = 0,
) -> None:
    """Build the deterministic demo district (towns, villages, grids, units, people, cameras)
    and, with --events, a year of its events with their trails."""
    from fengqiao.demo.seed import seed as run_seed
    from fengqiao.org.models import OrgUnit

    settings = _settings()
    database = _database()
    with database.session() as session:
        existing = session.scalar(select(func.count()).select_from(OrgUnit))
    if existing:
        if if_empty:
            console.print(f"database already holds {existing} org units; not seeding")
            _seed_events(database, events, random_seed)
            return
        err_console.print("[red]数据库中已有数据，未生成演示数据 / the database is not empty[/red]")
        raise typer.Exit(1)
    with _progress() as progress:
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
    if result.device_keys:  # shown once, so a visitor can try the webhook (docs/iot.md)
        console.print(f"{result.iot_devices} IoT devices; a key per type (not shown again):")
        for device_type, code_and_key in result.device_keys.items():
            console.print(f"  {device_type}: {code_and_key}", markup=False, soft_wrap=True)
    _seed_events(database, events, random_seed)


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
    with _progress() as progress:
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
    if result.planted:
        from fengqiao.demo.anomalies import to_json

        path = _settings().data_dir / "demo-anomalies.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(to_json(result.planted), ensure_ascii=False, indent=1))
        console.print(f"planted {len(result.planted)} anomalies for the warnings: {path}")


@org_app.command("import")
def org_import(
    file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection (or - for stdin).")],
    crs: Annotated[str | None, typer.Option(help="wgs84, cgcs2000, gcj02 or bd09.")] = None,
) -> None:
    """Import org units from GeoJSON: every feature is checked, and nothing is written if one is bad."""
    from fengqiao.org.importer import import_tree
    from fengqiao.org.service import GRIDS_COUNTER, bump_counter

    text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        err_console.print(f"[red]不是合法的 JSON / not valid JSON[/red]: {exc}")
        raise typer.Exit(1) from None
    with _problems_exit(), _database().transaction() as session:
        report = import_tree(db=session, data=data, settings=_settings(), crs=crs)
        bump_counter(db=session, name=GRIDS_COUNTER)
    kinds = ", ".join(f"{n} {k}" for k, n in report.by_kind.items())
    console.print(f"imported: {report.created} created, {report.updated} updated ({kinds})")


@org_app.command("export")
def org_export(
    out: Annotated[
        Path | None, typer.Option(help="File to write; default standard output.")
    ] = None,
    root: Annotated[str | None, typer.Option(help="Code of the subtree to export.")] = None,
) -> None:
    """Export the tree (or a subtree) as GeoJSON in the import format."""
    from fengqiao.org.importer import export_tree
    from fengqiao.org.models import OrgUnit

    with _database().session() as session:
        path = "/"
        if root:
            found = session.scalar(select(OrgUnit.path).where(OrgUnit.code == root))
            if found is None:
                err_console.print(f"[red]不存在编码 {root} / no org unit {root}[/red]")
                raise typer.Exit(1)
            path = found
        collection = export_tree(db=session, root_path=path)
    text = json.dumps(collection, ensure_ascii=False)
    if out:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {len(collection['features'])} features to {out}")
    else:
        sys.stdout.write(text + "\n")


@users_app.command("list")
def users_list(
    demo: Annotated[bool, typer.Option("--demo", help="Only the named demo accounts.")] = False,
    role: Annotated[str | None, typer.Option(help="Only users with this role.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
) -> None:
    """List users; `--demo` prints the demo logins and their password."""
    from fengqiao.auth.models import User
    from fengqiao.auth.security import verify_password
    from fengqiao.auth.service import list_users
    from fengqiao.demo.seed import demo_accounts
    from fengqiao.org.models import OrgUnit

    settings = _settings()
    with _database().session() as session:
        principal = _system_principal(session)
        if demo:
            accounts = demo_accounts()
            # Usernames are typed into the login form: never shortened, the description folds.
            table = Table(
                Column("用户名 username", no_wrap=True, min_width=max(len(a[0]) for a in accounts)),
                Column("角色 role", no_wrap=True),
                Column("所在 home", overflow="fold"),
                Column("说明", overflow="fold"),
            )
            users = {
                u.username: (u, home)
                for u, home in session.execute(
                    select(User, OrgUnit)
                    .join(OrgUnit, OrgUnit.id == User.home_org_id)
                    .where(User.username.in_([a[0] for a in accounts]))
                )
            }
            for username, account_role, description in accounts:
                if username in users:
                    table.add_row(username, account_role, users[username][1].name, description)
            console.print(table)
            admin = users.get("admin")
            if admin is not None and verify_password(
                admin[0].password_hash, settings.demo_password
            ):
                console.print(
                    f"所有演示账号的密码 / password of every demo account: [bold]{settings.demo_password}[/bold]"
                )
            else:
                console.print(
                    "演示账号的密码不是 FENGQIAO_DEMO_PASSWORD 的当前值 / the demo password differs from FENGQIAO_DEMO_PASSWORD (seeded with another value)"
                )
            return
        total, rows = list_users(db=session, principal=principal, role=role, limit=limit)
        table = Table("id", "username", "name", "roles", "home")
        for user, home in rows:
            table.add_row(
                str(user.id),
                user.username,
                user.name,
                ",".join(user.roles),
                f"{home.code} {home.name}",
            )
        console.print(table)
        console.print(f"{len(rows)} of {total}")


def _system_principal(session: Session) -> Principal:
    """The whole district, for commands run by the machine's operator."""
    from fengqiao.org.models import OrgUnit

    root = session.execute(
        select(OrgUnit.id, OrgUnit.path)
        .where(OrgUnit.parent_id.is_(None))
        .order_by(OrgUnit.id)
        .limit(1)
    ).first()
    if root is None:
        err_console.print(
            "[red]数据库为空 / the database holds no org tree yet (fengqiao seed or org import)[/red]"
        )
        raise typer.Exit(1)
    return Principal(0, "system", "system", frozenset({"admin"}), root.id, root.path)


@users_app.command("create")
def users_create(
    username: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[list[str], typer.Option(help="Role (repeatable).")],
    home: Annotated[str, typer.Option(help="Code of the home org unit (the user's scope).")],
    unit: Annotated[str | None, typer.Option(help="Code of the user's responsible unit.")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="Grid code served (repeatable).")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
) -> None:
    """Add a user; the password is asked for (or read from FENGQIAO_NEW_PASSWORD)."""
    import os

    from fengqiao.auth.service import create_user

    password = os.environ.get("FENGQIAO_NEW_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    with _problems_exit(), _database().transaction() as session:
        user = create_user(
            db=session, username=username, name=name, password=password, roles=role,
            home_org_code=home, unit_code=unit, grid_codes=grid or [], phone=phone,
        )  # fmt: skip
        console.print(f"created user {user.username} (id {user.id})")


@users_app.command("passwd")
def users_passwd(username: str) -> None:
    """Set a user's password (asked for, or read from FENGQIAO_NEW_PASSWORD)."""
    import os

    from fengqiao.auth.service import set_password

    password = os.environ.get("FENGQIAO_NEW_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    with _problems_exit(), _database().transaction() as session:
        set_password(db=session, username=username, password=password)
    console.print(f"password of {username} changed")


@keys_app.command("create")
def apikeys_create(
    username: str, name: Annotated[str, typer.Option(help="What the key is for.")] = "device"
) -> None:
    """Make an API key for USERNAME; the key is printed once and only its hash is kept."""
    from fengqiao.auth.service import create_api_key

    with _problems_exit(), _database().transaction() as session:
        made = create_api_key(db=session, username=username, name=name)
    console.print(made.key)


@keys_app.command("revoke")
def apikeys_revoke(prefix: str) -> None:
    """Revoke the API key with PREFIX (the part after `fqk_`)."""
    from fengqiao.auth.service import revoke_api_key

    with _problems_exit(), _database().transaction() as session:
        revoke_api_key(db=session, prefix=prefix)
    console.print(f"revoked {prefix}")


@grids_app.command("locate")
def grids_locate(
    lat: float,
    lng: float,
    crs: Annotated[str, typer.Option(help="wgs84, cgcs2000, gcj02 or bd09.")] = "wgs84",
) -> None:
    """Print the grid, village and town of a point."""
    from fengqiao.geo.service import GridLocator

    locator = GridLocator(check_seconds=0)
    with _problems_exit(), _database().session() as session:
        locator.refresh(session)
        place = locator.locate(lng, lat, crs.lower())
    console.print_json(json.dumps(place.as_dict(), ensure_ascii=False))


@cameras_app.command("import")
def cameras_import(
    file: Annotated[Path, typer.Argument(help="CSV file (UTF-8 or GB18030), or - for stdin.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report, write nothing.")
    ] = False,
) -> None:
    """Import cameras from CSV: good rows are created or updated by GB/T 28181 id, bad rows are
    listed with row, field and reason. Exit 2 when some rows were refused."""
    from fengqiao.cameras.importer import decode_csv, import_cameras
    from fengqiao.clock import Clock
    from fengqiao.geo.service import GridLocator

    data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    database = _database()
    with _problems_exit(), database.session(write=True) as session:
        locator = GridLocator(check_seconds=0)
        locator.refresh(session)
        report = import_cameras(
            db=session,
            text=decode_csv(data),
            locator=locator,
            principal=_system_principal(session),
            divisions=_settings().camera_divisions,
            now=Clock().now(),
            dry_run=dry_run,
        )
        if dry_run:
            session.rollback()
        else:
            session.commit()
    for error in report.errors:
        err_console.print(
            f"row {error.row} {error.code or '-'} {error.field}: {error.reason_zh} / {error.reason}",
            markup=False,
        )
    verb = "would import" if dry_run else "imported"
    console.print(
        f"{verb}: {report.rows} rows, {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.refused} refused"
    )
    if report.refused:
        raise typer.Exit(2)


@taxonomy_app.command("import")
def taxonomy_import(
    file: Annotated[
        Path | None, typer.Argument(help="categories JSON; default: the file shipped.")
    ] = None,
    replace_rules: Annotated[
        bool, typer.Option("--replace-rules", help="Replace the routing rules by the shipped ones.")
    ] = False,
) -> None:
    """Load the 10 major and 42 minor classes (update in place by code), and the shipped routing
    rules and SLA policies when there are none yet."""
    from fengqiao.taxonomy.service import import_taxonomy, load_file

    with _problems_exit(), _database().transaction() as session:
        data = load_file(file) if file else None
        report = import_taxonomy(db=session, categories=data, replace_rules=replace_rules)
    console.print(
        f"taxonomy: {report.majors} major classes, {report.categories} classes, "
        f"{report.rules} routing rules, {report.policies} SLA policies"
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the SHA-256 chain of every event's trail; exit 1 at the first broken link."""
    from fengqiao.events.models import Event
    from fengqiao.events.trail import verify_all

    database = _database()
    with database.session() as session, _progress() as progress:
        total = session.scalar(select(func.count()).select_from(Event)) or 0
        task = progress.add_task("trails", total=total)
        broken = None
        checked = 0
        for checked, link in verify_all(session):
            progress.update(task, completed=checked)
            if link is not None:
                broken = link
                break
    if broken is not None:
        err_console.print(
            f"[red]留痕链已断开 / broken trail[/red]: event {broken.event_code} "
            f"(id {broken.event_id}): {broken.reason}"
        )
        raise typer.Exit(1)
    console.print(f"all {checked} event trails verify")


@docs_app.command("workflow")
def docs_workflow() -> None:
    """Print the transition table of the closed loop as Markdown (docs/workflow.md holds it)."""
    from fengqiao.events.workflow import workflow_markdown

    sys.stdout.write(workflow_markdown())


def _parse_now(value: str | None) -> datetime:
    """An ISO time with its offset (`2026-12-01T09:00+08:00`); a bare one is Beijing time."""
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        err_console.print(
            f"[red]时间格式错误 / bad time[/red] {value!r}: use ISO 8601, e.g. 2026-12-01T09:00+08:00"
        )
        raise typer.Exit(2) from None
    return (at if at.tzinfo else at.replace(tzinfo=LOCAL_TZ)).astimezone(UTC)


@app.command()
def worker() -> None:
    """Run every job in rounds until stopped (SLA sweeper, outbox sender). On SQLite only one
    worker may run per database; on PostgreSQL run as many as you like."""
    import threading

    from fengqiao.clock import Clock
    from fengqiao.jobs.worker import (
        WorkerAlreadyRunning,
        install_signal_handlers,
        run_forever,
        single_worker,
    )
    from fengqiao.logs import configure as configure_logs
    from fengqiao.metrics import prepare_multiprocess

    settings = _settings()
    configure_logs(fmt=settings.log_format, level=settings.log_level)
    prepare_multiprocess(settings.metrics_dir or settings.data_dir / "metrics")
    database = _database()
    stop = threading.Event()
    install_signal_handlers(stop)
    try:
        with single_worker(database):
            console.print(f"worker on {_safe_url(settings.database_url)}; Ctrl-C stops it")
            subscriber = None
            if settings.mqtt_enabled:  # device alarms, beside the jobs (docs/iot.md)
                from fengqiao.iot.jobs import MqttIntake  # one worker holds it (PostgreSQL)

                subscriber = MqttIntake(database, settings).start()
                console.print(f"MQTT: {settings.mqtt_topic_prefix}/+/+ on {subscriber.broker}")
            try:
                run_forever(database, settings, Clock(), stop=stop)
            finally:
                if subscriber is not None:
                    subscriber.stop()
    except WorkerAlreadyRunning as exc:
        err_console.print(f"[red]另一个 worker 正在运行 / worker already running[/red]: {exc}")
        raise typer.Exit(1) from None
    except ValueError as exc:  # a channel plugin that is named but missing or misconfigured
        err_console.print(f"[red]配置错误 / configuration[/red]: {exc}")
        raise typer.Exit(1) from None


@jobs_app.command("list")
def jobs_list() -> None:
    """The jobs the worker runs, in order."""
    from fengqiao.jobs import jobs

    table = Table("name", "description")
    for job in jobs().values():
        table.add_row(job.name, job.description)
    console.print(table)


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="A job name from `fengqiao jobs list`.")],
    now: Annotated[
        str | None,
        typer.Option(help="Run as if it were this moment, e.g. 2026-12-01T09:00+08:00."),
    ] = None,
) -> None:
    """Run one job once and print what it did (replay any moment with --now)."""
    from fengqiao.jobs import jobs
    from fengqiao.jobs.worker import run_once

    if name not in jobs():
        err_console.print(f"[red]未知任务 / unknown job[/red] {name!r}; known: {', '.join(jobs())}")
        raise typer.Exit(2)
    at = _parse_now(now)
    try:
        counts = run_once(_database(), _settings(), at, names=[name])
    except ValueError as exc:
        err_console.print(f"[red]配置错误 / configuration[/red]: {exc}")
        raise typer.Exit(1) from None
    done = ", ".join(f"{k} {v}" for k, v in sorted(counts[name].items())) or "nothing due"
    console.print(f"{name} at {at.astimezone(LOCAL_TZ).isoformat()}: {done}")


@app.command()
def bulletin(
    date: Annotated[str, typer.Option("--date", help="Local day, e.g. 2026-11-27.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    format: Annotated[str, typer.Option("--format", help="html, pdf or xlsx.")] = "pdf",
) -> None:
    """Export a day's bulletin (每日通报): the stored one, or one built now if not made yet."""
    from fengqiao.analytics.service import parse_day
    from fengqiao.assessment import bulletin as bulletins
    from fengqiao.errors import invalid

    settings = _settings()
    now = datetime.now(UTC)
    with _problems_exit():
        day = parse_day(date, "date")
        if format not in bulletins.FORMATS:
            raise invalid("format", "one of html, pdf, xlsx", "格式应为 html、pdf 或 xlsx 之一")
        with _database().session() as session:
            content, stored = bulletins.content_for(session, day=day, now=now, settings=settings)
        data = bulletins.export(content, fmt=format, settings=settings)
    out.write_bytes(data)
    made = "stored" if stored is not None else "built now"
    console.print(f"bulletin {day} ({made}) as {format}: {out} ({len(data):,} bytes)")


if __name__ == "__main__":
    app()


@warnings_app.command("run")
def warnings_run(
    now: Annotated[
        str | None,
        typer.Option(help="Run as if it were this moment, e.g. 2026-12-01T09:00+08:00."),
    ] = None,
) -> None:
    """Look for early warnings now (or as at --now), whenever the last run was, and print how
    many new ones of each kind were stored and pushed."""
    from dataclasses import replace

    from fengqiao.warnings.service import WarningRules, run_detectors

    rules = replace(WarningRules.from_settings(_settings()), interval_minutes=0.0)
    counts = run_detectors(database=_database(), now=_parse_now(now), rules=rules)
    console.print(", ".join(f"{kind} {n}" for kind, n in counts.items()))


@warnings_app.command("replay")
def warnings_replay(
    start: Annotated[str, typer.Option("--from", help="First run, e.g. 2026-01-01T00:00+08:00.")],
    end: Annotated[str | None, typer.Option("--to", help="Last run (default: now).")] = None,
    step_hours: Annotated[float, typer.Option(help="Hours between runs.")] = 24.0,
    anomalies: Annotated[
        Path | None,
        typer.Option(help="Planted anomalies to score against (default: var/demo-anomalies.json)."),
    ] = None,
) -> None:
    """Run the warnings job at every step of a span, as a worker would have, then score the
    warnings against the demo's planted anomalies: recall and false alarms per week."""
    from datetime import timedelta

    from fengqiao.warnings.evaluate import replay, score, stored_warnings
    from fengqiao.warnings.service import WarningRules

    settings = _settings()
    database = _database()
    first, last = _parse_now(start), _parse_now(end)
    with _progress() as progress:
        task = progress.add_task("warnings", total=1)
        counts = replay(
            database=database, start=first, end=last, step=timedelta(hours=step_hours),
            rules=WarningRules.from_settings(settings),
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )  # fmt: skip
    console.print(f"new warnings: {dict(counts)}")
    path = anomalies or settings.data_dir / "demo-anomalies.json"
    if not path.exists():
        console.print(f"no planted anomalies at {path}: nothing to score")
        return
    result = score(json.loads(path.read_text(encoding="utf-8")), stored_warnings(database))
    weeks = max((last - first).total_seconds() / (7 * 86400), 1e-9)
    table = Table("kind", "planted", "found", "warnings", "not planted", "not planted / week")
    for row in result.rows(weeks):
        table.add_row(*(str(v) for v in row))
    console.print(table)
    for missed in result.missed:
        console.print(f"missed: {missed}")


@analytics_app.command("rebuild")
def analytics_rebuild() -> None:
    """Recompute every rollup from the events (after a bulk load or a restore)."""
    from fengqiao.analytics.rollups import rebuild

    started = time.perf_counter()
    report = rebuild(_database())
    console.print(
        f"rebuilt the rollups of {report.events} events in {time.perf_counter() - started:.1f} s"
    )
    for name, rows in report.rows.items():
        console.print(f"  rollup_{name}: {rows} rows")


@analytics_app.command("check")
def analytics_check() -> None:
    """Compare the stored rollups with a recomputation from the events; exit 1 on a difference."""
    from fengqiao.analytics.rollups import compare

    with _database().engine.connect() as connection:
        differences = compare(connection)
    if not differences:
        console.print("the rollups agree with the events")
        return
    for name, problems in differences.items():
        err_console.print(f"rollup_{name}: {len(problems)} rows differ, e.g. {problems[0]}")
    raise typer.Exit(1)


@analytics_app.command("status")
def analytics_status() -> None:
    """Rows of each rollup against the events (how much smaller each is)."""
    from sqlalchemy import func, select

    from fengqiao.analytics.rollups import row_counts
    from fengqiao.events.models import Event

    with _database().engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(Event)).scalar_one()
        counts = row_counts(connection)
    console.print(f"events: {events}")
    for name, rows in counts.items():
        ratio = f"{events / rows:.1f}x smaller" if rows else "empty"
        console.print(f"  rollup_{name}: {rows} rows ({ratio})")
