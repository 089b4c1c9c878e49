"""The `fengqiao` command: each domain's sub-commands assembled, and `serve`.

Every sub-app lives beside its domain (`org/cli.py`, `auth/cli.py`, …) or, when it reads
several domains, in a top-level module (`db_cli.py`, `jobs_cli.py`, `audit_cli.py`,
`docs_cli.py`); what they share is in `cli_support.py`.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from fengqiao.analytics.cli import analytics_app
from fengqiao.assessment.cli import bulletin
from fengqiao.audit_cli import audit_app
from fengqiao.auth.cli import build_users_app, keys_app
from fengqiao.backup import backup_command, restore_command
from fengqiao.cameras.cli import cameras_app
from fengqiao.catalogue.cli import services_app
from fengqiao.cli_support import load_settings
from fengqiao.db_cli import db_app
from fengqiao.demo.cli import seed
from fengqiao.docs_cli import docs_app
from fengqiao.geo.cli import grids_app
from fengqiao.intake.cli import intake_app
from fengqiao.iot.cli import iot_app
from fengqiao.jobs_cli import jobs_app, worker
from fengqiao.open311.cli import open311_app
from fengqiao.ops.cli import ops_app
from fengqiao.org.cli import org_app
from fengqiao.taxonomy.cli import taxonomy_app
from fengqiao.warnings.cli import warnings_app


def _demo_accounts() -> list[tuple[str, str, str]]:
    """The named demo accounts; `demo.seed` loads numpy and most domains, so only when asked."""
    from fengqiao.demo.seed import demo_accounts

    return demo_accounts()


app = typer.Typer(help="Fengqiao (枫桥) grid governance platform.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(build_users_app(demo_accounts=_demo_accounts), name="users")
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
# `fengqiao --help` lists the commands in this order.
app.command("backup")(backup_command)
app.command("restore")(restore_command)


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

    settings = load_settings()
    prepare_multiprocess(settings.metrics_dir or settings.data_dir / "metrics")
    if workers > 1:
        typer.echo(
            "note: video calls ring only pages served by the same process "
            "(docs/video.md, Calls and TURN); serve calls with --workers 1",
            err=True,
        )
    options = dict(
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        log_config=dict_config(fmt=settings.log_format, level=settings.log_level),
        access_log=False,  # ours (fengqiao.access) redacts credentials in query strings
        # The call signalling socket only sends; what a page sends it is read and dropped,
        # so a frame larger than this closes the socket instead of filling memory.
        ws_max_size=4096,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
    )
    # SIGTERM drains first (fengqiao.serving), each worker process its own streams.
    from fengqiao.serving import DrainingServer, run_workers

    config = uvicorn.Config("fengqiao.app:create_app", **options)  # type: ignore[arg-type]
    if workers > 1:
        run_workers(config, drain_seconds=settings.drain_seconds)
        return
    server = DrainingServer(config, drain_seconds=settings.drain_seconds)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it caught
        server.run()
    if not server.started:
        raise typer.Exit(3)  # uvicorn's STARTUP_FAILURE


app.command("seed")(seed)
app.command("worker")(worker)
app.command("bulletin")(bulletin)


if __name__ == "__main__":
    app()
