"""The `fengqiao` command as an administrator uses it, on a database of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fengqiao.cli import app
from fengqiao.cli_support import load_settings
from fengqiao.db import Database
from fengqiao.events.photos import PhotoStore
from fengqiao.org.models import OrgUnit
from fengqiao.tasks.models import TrackedTaskPhoto
from tests.org.factories import tree

runner = CliRunner()


def run(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_then_demo_logins(cli_db: Database) -> None:
    out = run("seed", "--scale", "small")
    assert "25 grids" in out
    again = runner.invoke(app, ["seed", "--scale", "small", "--if-empty"])
    assert again.exit_code == 0 and "not seeding" in again.output
    refused = runner.invoke(app, ["seed", "--scale", "small"])
    assert refused.exit_code == 1
    logins = run("users", "list", "--demo")
    assert "demo_grid_worker" in logins and "demo_operator" in logins and "admin" in logins
    # Printed whole on a narrow terminal, since they are typed into the login form.
    assert "demo_district_operator" in logins and "demo_district_leader" in logins
    assert "cli-demo-password" in logins
    # Residents: how the demo resident signs in by SMS code and where the code is read.
    assert "/r/" in logins and "var/worker.log" in logins
    # Every 佐证照片 the demo's rectifications point to is in the photo store, so it opens.
    store = PhotoStore(load_settings().photo_dir())
    with cli_db.session() as db:
        hashes = set(db.scalars(select(TrackedTaskPhoto.sha256)))
    assert hashes and all(store.exists(sha256) for sha256 in hashes)


def test_users_list_without_a_tree_says_so(cli_db: Database) -> None:
    result = runner.invoke(app, ["users", "list"])
    assert result.exit_code == 1 and "holds no org tree" in result.output


def test_org_import_export_round_trip(cli_db: Database, tmp_path: Path) -> None:
    source = tmp_path / "tree.geojson"
    source.write_text(json.dumps(tree(2, 2), ensure_ascii=False), encoding="utf-8")
    assert "7 created" in run("org", "import", str(source))
    out = tmp_path / "out.geojson"
    run("org", "export", "--out", str(out))
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert len(exported["features"]) == 7
    located = run("grids", "locate", "30.09", "120.41")
    assert "330603001001001" in located


def test_org_import_of_a_bad_file_writes_nothing(cli_db: Database, tmp_path: Path) -> None:
    data = tree(2, 2, households=999)
    source = tmp_path / "bad.geojson"
    source.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["org", "import", str(source)])
    assert result.exit_code == 1
    assert "导入被拒绝" in result.output and "exceed" in result.output
    (tmp_path / "junk.json").write_text("{not json", encoding="utf-8")
    assert runner.invoke(app, ["org", "import", str(tmp_path / "junk.json")]).exit_code == 1
    with cli_db.session() as session:
        assert session.scalar(select(func.count()).select_from(OrgUnit)) == 0


def test_users_and_api_keys(cli_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    run("seed", "--scale", "small")
    monkeypatch.setenv("FENGQIAO_NEW_PASSWORD", "a-new-password-1")
    run(
        "users",
        "create",
        "river_sensor_admin",
        "--name",
        "河长",
        "--role",
        "operator",
        "--home",
        "330603",
    )
    listed = run("users", "list", "--role", "operator")
    assert "river_sensor_admin" in listed
    key = run("apikeys", "create", "demo_device", "--name", "烟感").strip()
    assert key.startswith("fqk_")
    run("apikeys", "revoke", key[4:16])
    bad = runner.invoke(
        app, ["users", "create", "x", "--name", "x", "--role", "emperor", "--home", "330603"]
    )
    assert bad.exit_code == 1 and "角色无效" in bad.output
    run("users", "passwd", "demo_operator")


def test_grids_locate_outside(cli_db: Database) -> None:
    run("seed", "--scale", "small")
    result = runner.invoke(app, ["grids", "locate", "39.9", "116.4"])
    assert result.exit_code == 1 and "不在本辖区" in result.output
