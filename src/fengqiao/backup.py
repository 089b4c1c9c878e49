"""`fengqiao backup DEST` and `fengqiao restore SRC`: a consistent copy of the database (SQLite's
online backup API, or pg_dump inside an exported snapshot) with the photos and a manifest (what,
when, schema revision, rows per table, SHA-256 of every file). Restore refuses a database that
holds rows unless forced, checks the checksums, and verifies the trail's hash chains.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Connection, func, inspect, select, table, text
from sqlalchemy.engine import make_url

from fengqiao.config import Settings
from fengqiao.db import Database, normalise_url

MANIFEST = "manifest.json"
SQLITE_FILE = "fengqiao.db"
PG_FILE = "fengqiao.dump"
PHOTOS = "photos"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why in Chinese and English."""


@dataclass
class Manifest:
    made_at: str
    backend: str
    revision: str | None
    tables: dict[str, int]
    photos: int
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    format: int = 1

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(
            json.dumps(self.__dict__, ensure_ascii=False, indent=1, sort_keys=True),
            encoding="utf-8",
        )

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        if not path.exists():
            raise BackupError(f"备份目录中没有 {MANIFEST} / no {MANIFEST} in {folder}")
        return cls(**json.loads(path.read_text(encoding="utf-8")))


@dataclass
class RestoreReport:
    tables: dict[str, int]
    photos: int
    trails_checked: int
    broken: str | None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _counts(connection: Connection) -> tuple[str | None, dict[str, int]]:
    names = sorted(inspect(connection).get_table_names())
    counts = {
        name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in names
        if name != "alembic_version" and not name.startswith("sqlite_")
    }
    revision = None
    if "alembic_version" in names:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return revision, counts


def _libpq_url(url: str) -> str:
    return normalise_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _check_pg_tools(connection: Connection, tool: str) -> None:
    """pg_dump/pg_restore must be at least the server's major version."""
    if shutil.which(tool) is None:
        raise BackupError(f"找不到 {tool} / {tool} not found: install postgresql-client")
    found = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)
    match = re.search(r"(\d+)\.", found.stdout)
    server = int(connection.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    if match is None or int(match.group(1)) < server:
        raise BackupError(
            f"{tool} 版本低于数据库服务器 / {found.stdout.strip()} is older than the server "
            f"(PostgreSQL {server}): install a matching postgresql-client"
        )


def backup(*, settings: Settings, dest: Path, now: datetime | None = None) -> Manifest:
    """Copy the database and the photos to `dest` (a new or empty folder) with a manifest."""
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"目标目录非空 / {dest} is not empty: back up into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        if database.is_sqlite:
            revision, counts = _backup_sqlite(database, dest / SQLITE_FILE)
        else:
            revision, counts = _backup_postgres(database, dest / PG_FILE)
    finally:
        database.dispose()
    # Photos after the database: a photo a row names was stored before the row, so none is
    # missing (a newer one may be there too, which harms nothing).
    photos = _copy_tree(settings.photo_dir(), dest / PHOTOS)
    manifest = Manifest(
        made_at=(now or datetime.now(UTC)).isoformat(),
        backend="sqlite" if database.is_sqlite else "postgresql",
        revision=revision,
        tables=counts,
        photos=photos,
    )
    manifest.files = {
        str(path.relative_to(dest)): _sha256(path)
        for path in sorted(dest.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    manifest.write(dest)
    return manifest


def _backup_sqlite(database: Database, target: Path) -> tuple[str | None, dict[str, int]]:
    # The online backup API copies a consistent snapshot while the app keeps writing.
    source = sqlite3.connect(make_url(database.url).database or "")
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    snapshot = Database(f"sqlite:///{target}")
    try:
        with snapshot.engine.connect() as connection:
            return _counts(connection)
    finally:
        snapshot.dispose()


def _backup_postgres(database: Database, target: Path) -> tuple[str | None, dict[str, int]]:
    # The counts and pg_dump read one exported snapshot, so the manifest describes the dump.
    with database.engine.connect() as connection:
        _check_pg_tools(connection, "pg_dump")
        connection.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        revision, counts = _counts(connection)
        subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
             f"--snapshot={snapshot}", "--file", str(target),
             "--dbname", _libpq_url(database.url)],
            check=True, capture_output=True,
        )  # fmt: skip
        connection.exec_driver_sql("COMMIT")
    return revision, counts


def _copy_tree(source: Path, target: Path) -> int:
    copied = 0
    if not source.exists():
        return 0
    for path in sorted(source.rglob("*")):
        if path.is_file():
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            copied += 1
    return copied


def restore(*, settings: Settings, src: Path, force: bool = False) -> RestoreReport:
    """Restore `src` into the configured database and photo folder; verify the trail."""
    from fengqiao.events.trail import verify_all

    manifest = Manifest.read(src)
    for name, expected in manifest.files.items():
        path = src / name
        if not path.is_file() or _sha256(path) != expected:
            raise BackupError(f"备份文件已损坏或缺失 / {name}: missing or checksum differs")
    database = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        backend = "sqlite" if database.is_sqlite else "postgresql"
        if backend != manifest.backend:
            raise BackupError(
                f"备份来自 {manifest.backend}，目标是 {backend} / the backup is of "
                f"{manifest.backend}, the database is {backend}"
            )
        with database.engine.connect() as connection:
            _, present = _counts(connection)
        holding = sum(present.values())
        if holding and not force:
            raise BackupError(
                f"目标数据库非空（{holding} 行），如确需覆盖请加 --force / the database holds "
                f"{holding} rows: pass --force to replace them"
            )
        if database.is_sqlite:
            database.dispose()
            _restore_sqlite(src / SQLITE_FILE, Path(make_url(database.url).database or ""))
        else:
            _restore_postgres(database, src / PG_FILE)
        photos = _copy_tree(src / PHOTOS, settings.photo_dir())
        with database.engine.connect() as connection:
            _, tables = _counts(connection)
        with database.session() as session:
            checked, broken = 0, None
            for done, link in verify_all(session):
                checked = done
                if link is not None:
                    broken = f"{link.event_code} (id {link.event_id}): {link.reason}"
                    break
        return RestoreReport(tables=tables, photos=photos, trails_checked=checked, broken=broken)
    finally:
        database.dispose()


def _restore_sqlite(backup_file: Path, target: Path) -> None:
    source = sqlite3.connect(backup_file)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)  # replaces every page of the target, WAL included
    finally:
        source.close()
        destination.close()


def _restore_postgres(database: Database, dump: Path) -> None:
    with database.engine.connect() as connection:
        _check_pg_tools(connection, "pg_restore")
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
        connection.commit()
    database.dispose()
    done = subprocess.run(
        ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
         "--dbname", _libpq_url(database.url), str(dump)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise BackupError(f"pg_restore 失败 / pg_restore failed: {done.stderr.strip()[:2000]}")


def describe(report: RestoreReport) -> list[str]:
    """The lines `fengqiao restore` prints."""
    lines = [f"{name}: {rows}" for name, rows in report.tables.items() if rows]
    lines.append(f"photos: {report.photos}")
    verdict = "all verify" if report.broken is None else f"BROKEN at {report.broken}"
    lines.append(f"audit verify: {report.trails_checked} event trails, {verdict}")
    return lines


def backup_command(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder to write the backup to.")],
) -> None:
    """Back up the database (consistent while the app runs) and the photos to DEST."""
    from fengqiao.config import get_settings

    try:
        manifest = backup(settings=get_settings(), dest=dest)
    except BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    rows = sum(manifest.tables.values())
    typer.echo(
        f"backed up {manifest.backend} at {manifest.revision}: {rows} rows in "
        f"{len(manifest.tables)} tables, {manifest.photos} photos -> {dest}"
    )


def restore_command(
    src: Annotated[Path, typer.Argument(help="A folder written by `fengqiao backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that holds rows.")
    ] = False,
) -> None:
    """Restore SRC into the configured database and photo folder, then verify the trail."""
    from fengqiao.config import get_settings

    try:
        report = restore(settings=get_settings(), src=src, force=force)
    except BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"restored {src}:")
    for line in describe(report):
        typer.echo(f"  {line}")
    if report.broken is not None:
        raise typer.Exit(1)
