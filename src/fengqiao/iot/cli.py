"""`fengqiao iot …`: register and list devices, show or load the rules, count the alarms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fengqiao.cli_support import console, load_settings, open_database, problems_exit
from fengqiao.org.cli import system_principal

iot_app = typer.Typer(
    help="IoT devices, alarm rules and counters (物联感知).", no_args_is_help=True
)
devices_app = typer.Typer(help="The device registry.", no_args_is_help=True)
iot_app.add_typer(devices_app, name="devices")


@devices_app.command("add")
def devices_add(
    code: Annotated[str, typer.Argument(help="Device code: its MQTT topic level.")],
    name: Annotated[str, typer.Option(help="Display name, e.g. 某某河水质监测点.")],
    device_type: Annotated[str, typer.Option("--type", help="e.g. water_quality.")],
    lng: Annotated[float, typer.Option(help="Longitude (WGS-84 unless --crs).")],
    lat: Annotated[float, typer.Option(help="Latitude.")],
    crs: Annotated[str, typer.Option(help="wgs84, gcj02 or bd09.")] = "wgs84",
    address: Annotated[str, typer.Option(help="Address shown on its events.")] = "",
    category: Annotated[str | None, typer.Option(help="Class for `alarm: true`.")] = None,
    unit: Annotated[str | None, typer.Option(help="Code of the owning unit.")] = None,
    reporter: Annotated[
        str | None, typer.Option(help="Device-role account (default FENGQIAO_IOT_REPORTER).")
    ] = None,
) -> None:
    """Register a device and print its key (shown this once; only its hash is stored)."""
    from pydantic import ValidationError
    from sqlalchemy import select

    from fengqiao.clock import Clock
    from fengqiao.errors import from_pydantic, invalid
    from fengqiao.geo.service import GridLocator
    from fengqiao.iot.schemas import DeviceIn
    from fengqiao.iot.service import DeviceFields, register_device
    from fengqiao.org.models import Unit

    settings = load_settings()
    with problems_exit(), open_database().transaction() as session:
        unit_id = None
        if unit is not None:
            unit_id = session.scalar(select(Unit.id).where(Unit.code == unit))
            if unit_id is None:
                raise invalid("unit", f"no unit {unit}", f"不存在单位 {unit}")
        try:
            data = DeviceIn(code=code, name=name, device_type=device_type, lng=lng, lat=lat,
                            crs=crs, address=address, category=category, unit_id=unit_id,
                            reporter=reporter)  # fmt: skip
        except ValidationError as exc:
            raise from_pydantic(exc.errors()) from exc
        device, key = register_device(
            db=session, locator=GridLocator(0), principal=system_principal(session),
            code=data.code,
            fields=DeviceFields(name=data.name, device_type=data.device_type, lng=data.lng,
                                lat=data.lat, crs=data.crs, address=data.address,
                                category=data.category, unit_id=data.unit_id,
                                reporter=data.reporter),
            default_reporter=settings.iot_reporter, now=Clock().now(),
        )  # fmt: skip
        console.print(f"registered {device.code} (id {device.id}) in grid {device.grid_id}")
    console.print(key)


@devices_app.command("list")
def devices_list(
    device_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    status: Annotated[str | None, typer.Option(help="active or retired.")] = None,
) -> None:
    """The registered devices with their type, place, status and last message."""
    from rich.table import Table

    from fengqiao.iot.service import DeviceFilters, list_devices

    with open_database().session() as session:
        rows, total = list_devices(
            db=session, principal=system_principal(session),
            filters=DeviceFilters(device_type, status), offset=0, limit=100_000,
        )  # fmt: skip
        table = Table("code", "type", "name", "lng", "lat", "status", "last seen")
        for d in rows:
            seen = d.last_seen_at.isoformat(timespec="seconds") if d.last_seen_at else "-"
            table.add_row(d.code, d.device_type, d.name, f"{d.lng:.6f}", f"{d.lat:.6f}",
                          d.status, seen)  # fmt: skip
    console.print(table)
    console.print(f"{total} devices")


@iot_app.command("rules")
def iot_rules(
    import_file: Annotated[
        Path | None,
        typer.Option("--import", help="Replace the rules with this JSON file (rules.json shape)."),
    ] = None,
    shipped: Annotated[
        bool, typer.Option("--shipped", help="Replace the rules with the shipped rules.json.")
    ] = False,
) -> None:
    """Show the rules (readings → classes), or replace them from a file; all or nothing."""
    from fengqiao.iot.rules import rules_table, shipped_rules
    from fengqiao.iot.service import import_rules, load_rules

    database = open_database()
    if import_file is not None or shipped:
        rules = (
            json.loads(import_file.read_text(encoding="utf-8"))["rules"]
            if import_file is not None
            else shipped_rules()
        )
        with problems_exit(), database.transaction() as session:
            count = import_rules(db=session, rules=rules)
        console.print(f"{count} rules loaded")
    with database.session() as session:
        rows = rules_table(load_rules(session, active_only=False))
    # Plain lines, not a table: a narrow terminal must not break a condition in two.
    for row in rows:
        closes = "recovery closes" if row["auto_close"] else "people close"
        typer.echo(f"{row['position']:>5}  {row['device_type']:<15} {row['condition']:<22} "
                   f"→ {row['category']} {row['name_zh']} ({closes})")  # fmt: skip


@iot_app.command("stats")
def iot_stats(
    hours: Annotated[float | None, typer.Option(help="Only the last this many hours.")] = None,
) -> None:
    """Alarms by outcome, refusals by reason, open IoT events and devices, as JSON."""
    from datetime import timedelta

    from fengqiao.clock import Clock
    from fengqiao.iot.service import stats

    since = Clock().now() - timedelta(hours=hours) if hours else None
    with open_database().session() as session:
        counts = stats(session, since=since)
    console.print_json(json.dumps(counts, ensure_ascii=False))
