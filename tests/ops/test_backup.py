"""`fengqiao backup` while the app writes, `fengqiao restore` into an empty database: the same
rows, the same trail hash chains, `audit verify` run and reported."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from fengqiao.cli import app as cli_app
from fengqiao.config import get_settings
from fengqiao.db import Database
from fengqiao.events.models import Event
from tests.events.conftest import make_world
from tests.ops.conftest import Copy

runner = CliRunner()


def use(monkeypatch: pytest.MonkeyPatch, url: str, data_dir: Path) -> None:
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(data_dir))
    get_settings.cache_clear()


def empty_target(copy: Copy, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if copy.database.is_sqlite:
        return f"sqlite:///{tmp_path / 'restored' / 'fengqiao.db'}"
    return str(request.getfixturevalue("postgres").create())


def test_a_backup_taken_while_events_are_filed_restores_whole(
    api: TestClient, copy: Copy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    with copy.database.session() as session:
        world = make_world(session)
    lat, lng = world.grid_point
    headers = copy.auth("demo_grid_worker")

    def file(n: int) -> None:
        body = {"source": "grid_worker", "category": world.handler_category, "lat": lat,
                "lng": lng, "description": f"井盖缺失 {n}"}  # fmt: skip
        assert api.post("/api/v1/events", json=body, headers=headers).status_code == 201

    for n in range(5):
        file(n)
    photos = copy.settings.photo_dir()
    photos.mkdir(parents=True, exist_ok=True)
    (photos / "ab").mkdir(exist_ok=True)
    (photos / "ab" / "abcdef.jpg").write_bytes(b"\xff\xd8 a photo")

    stop = threading.Event()
    filed: list[int] = []

    def writer() -> None:
        while not stop.is_set() and len(filed) < 200:
            file(100 + len(filed))
            filed.append(1)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        use(monkeypatch, copy.settings.database_url, copy.settings.data_dir)
        made = runner.invoke(cli_app, ["backup", str(tmp_path / "backup")])
    finally:
        stop.set()
        thread.join()
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["tables"]["event"] >= 5 and manifest["photos"] == 1
    assert manifest["revision"] and all(len(h) == 64 for h in manifest["files"].values())

    target = empty_target(copy, tmp_path, request)
    use(monkeypatch, target, tmp_path / "restored")
    restored = runner.invoke(cli_app, ["restore", str(tmp_path / "backup")])
    assert restored.exit_code == 0, restored.output
    assert f"event: {manifest['tables']['event']}" in restored.output
    assert "photos: 1" in restored.output
    assert f"audit verify: {manifest['tables']['event']} event trails, all verify" in (
        restored.output
    )
    assert (
        tmp_path / "restored" / "photos" / "ab" / "abcdef.jpg"
    ).read_bytes() == b"\xff\xd8 a photo"

    database = Database(target)
    try:
        with database.session() as session, copy.database.session() as source:
            chains = dict(session.execute(select(Event.id, Event.trail_hash)).all())
            original = dict(
                source.execute(
                    select(Event.id, Event.trail_hash).where(Event.id.in_(list(chains)))
                ).all()
            )  # fmt: skip
        assert len(chains) == manifest["tables"]["event"]
        assert chains == original
        from fengqiao.backup import _counts

        with database.engine.connect() as connection:
            assert _counts(connection)[1] == manifest["tables"]
    finally:
        database.dispose()

    # A database holding rows is not overwritten without --force.
    again = runner.invoke(cli_app, ["restore", str(tmp_path / "backup")])
    assert again.exit_code == 1 and "--force" in again.output
    forced = runner.invoke(cli_app, ["restore", str(tmp_path / "backup"), "--force"])
    assert forced.exit_code == 0, forced.output
    get_settings.cache_clear()


def test_a_damaged_backup_is_refused(
    copy: Copy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    use(monkeypatch, copy.settings.database_url, copy.settings.data_dir)
    assert runner.invoke(cli_app, ["backup", str(tmp_path / "b")]).exit_code == 0
    dump = next(p for p in (tmp_path / "b").iterdir() if p.name.startswith("fengqiao."))
    dump.write_bytes(dump.read_bytes()[:-10] + b"0123456789")
    use(monkeypatch, empty_target(copy, tmp_path, request), tmp_path / "restored")
    refused = runner.invoke(cli_app, ["restore", str(tmp_path / "b")])
    assert refused.exit_code == 1 and "checksum" in refused.output
    get_settings.cache_clear()
