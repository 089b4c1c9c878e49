"""`fengqiao services …` on a fresh database: import, search, export, re-import, verify."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from fengqiao.catalogue.models import ServiceItem
from fengqiao.cli import app
from fengqiao.db import Database

runner = CliRunner()


def test_import_search_export_and_import_again(cli_db: Database, tmp_path: Path) -> None:
    first = runner.invoke(app, ["services", "import"])
    assert first.exit_code == 0, first.output
    assert "62 added, 0 updated" in first.output
    found = runner.invoke(app, ["services", "search", "居住证"])
    assert found.exit_code == 0 and "HJ-002" in found.output and "居住证办理" in found.output
    short = runner.invoke(app, ["services", "search", "低保"])
    assert "JZ-001" in short.output and ("(like)" in short.output or "(trgm)" in short.output)
    target = tmp_path / "items.json"
    assert runner.invoke(app, ["services", "export", str(target)]).exit_code == 0
    data = json.loads(target.read_text(encoding="utf-8"))
    assert len(data["items"]) == 62
    data["items"][0]["fee"] = "工本费10元"
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    again = runner.invoke(app, ["services", "import", str(target)])
    assert "0 added, 1 updated" in again.output
    assert (
        "工本费10元" in runner.invoke(app, ["services", "search", data["items"][0]["name"]]).output
    )
    assert "0 proxy request trails verified" in runner.invoke(app, ["services", "verify"]).output


def test_a_bad_file_is_refused_whole(cli_db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"version": 1, "items": [{"code": "X-1", "name": "只有名字"}]}), encoding="utf-8"
    )
    result = runner.invoke(app, ["services", "import", str(bad)])
    assert result.exit_code == 1
    assert "items.0.levels" in result.output and "缺少此项" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert runner.invoke(app, ["services", "import", str(broken)]).exit_code == 1
    with cli_db.session() as session:
        assert session.scalar(select(func.count()).select_from(ServiceItem)) == 0
