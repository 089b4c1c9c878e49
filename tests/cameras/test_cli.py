"""`fengqiao cameras import FILE [--dry-run]` on a seeded database of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from sqlalchemy import func, select
from typer.testing import CliRunner

from fengqiao.cameras.models import Camera
from fengqiao.cli import app
from fengqiao.db import Database
from fengqiao.demo.seed import seed
from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import OrgUnit
from tests.cameras.conftest import code, csv_text

runner = CliRunner()


@pytest.fixture
def cli_db(cli_db: Database) -> Database:
    """The CLI's fresh database with the small demo district (its cameras) in it."""
    seed(db=cli_db, scale="small", password="cli-camera-password")
    return cli_db


def test_import_dry_run_then_for_real(cli_db: Database, tmp_path: Path) -> None:
    with cli_db.session() as session:
        geometry = session.scalar(select(OrgUnit.geometry).where(OrgUnit.kind == "grid").limit(1))
        before = session.scalar(select(func.count()).select_from(Camera)) or 0
    point = shapely.from_geojson(json.dumps(geometry)).representative_point()
    source = tmp_path / "cameras.csv"
    source.write_text(
        csv_text(
            f"{code(960001)},命令行导入,{point.x},{point.y},,rtsp://h/cli,online,",
            f"{code(960002, '118')},录像机,{point.x},{point.y},,rtsp://h/nvr,,",
        ),
        encoding="utf-8",
    )
    dry = runner.invoke(app, ["cameras", "import", str(source), "--dry-run"])
    assert dry.exit_code == 2, dry.output
    assert "would import: 2 rows, 1 created, 0 updated, 0 unchanged, 1 refused" in dry.output
    assert "row 3" in dry.output and "NVR" in dry.output
    with cli_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Camera)) == before
    real = runner.invoke(app, ["cameras", "import", str(source)])
    assert real.exit_code == 2 and "imported: 2 rows, 1 created" in real.output
    with cli_db.session() as session:
        assert session.scalar(select(func.count()).select_from(Camera)) == before + 1
        assert session.scalar(select(LayerFeature.name).where(LayerFeature.code == code(960001)))
    clean = tmp_path / "clean.csv"
    clean.write_text(csv_text(f"{code(960001)},命令行导入,{point.x},{point.y},,rtsp://h/cli,,"))
    again = runner.invoke(app, ["cameras", "import", str(clean)])
    assert again.exit_code == 0 and "1 unchanged, 0 refused" in again.output
    missing = tmp_path / "bad.csv"
    missing.write_text("name\nx\n")
    refused = runner.invoke(app, ["cameras", "import", str(missing)])
    assert refused.exit_code == 1 and "code" in refused.output
