"""`fengqiao worker` and `fengqiao jobs …`: run the scheduled jobs in rounds, or one at a time.

At the top layer: the worker runs every domain's jobs and, when enabled, the IoT MQTT intake.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fengqiao.cli_support import (
    console,
    err_console,
    load_settings,
    open_database,
    parse_now,
    safe_url,
)
from fengqiao.clock import LOCAL_TZ

jobs_app = typer.Typer(help="The worker's jobs, one at a time.", no_args_is_help=True)


def worker() -> None:
    """Run every job in rounds until stopped (SLA sweeper, outbox sender). On SQLite only one
    worker may run per database; on PostgreSQL run as many as you like."""
    import threading

    from fengqiao.clock import Clock
    from fengqiao.logs import configure as configure_logs
    from fengqiao.metrics import prepare_multiprocess
    from fengqiao.worker import (
        WorkerAlreadyRunning,
        install_signal_handlers,
        run_forever,
        single_worker,
    )

    settings = load_settings()
    configure_logs(fmt=settings.log_format, level=settings.log_level)
    prepare_multiprocess(settings.metrics_dir or settings.data_dir / "metrics")
    database = open_database()
    stop = threading.Event()
    install_signal_handlers(stop)
    try:
        with single_worker(database):
            console.print(f"worker on {safe_url(settings.database_url)}; Ctrl-C stops it")
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
    from fengqiao.worker import jobs

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
    from fengqiao.worker import jobs, run_once

    if name not in jobs():
        err_console.print(f"[red]未知任务 / unknown job[/red] {name!r}; known: {', '.join(jobs())}")
        raise typer.Exit(2)
    at = parse_now(now)
    try:
        counts = run_once(open_database(), load_settings(), at, names=[name])
    except ValueError as exc:
        err_console.print(f"[red]配置错误 / configuration[/red]: {exc}")
        raise typer.Exit(1) from None
    done = ", ".join(f"{k} {v}" for k, v in sorted(counts[name].items())) or "nothing due"
    console.print(f"{name} at {at.astimezone(LOCAL_TZ).isoformat()}: {done}")
