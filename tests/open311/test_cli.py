"""`fengqiao open311 stats` prints the refusal counts an operator reads on the server."""

from __future__ import annotations

from datetime import UTC, datetime

from typer.testing import CliRunner

from fengqiao.cli import app
from fengqiao.db import Database
from fengqiao.open311.service import count_refusal

runner = CliRunner()


def test_stats_prints_refusals_by_reason(cli_db: Database) -> None:
    result = runner.invoke(app, ["open311", "stats"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "0 requests filed" in result.output and "no refusals" in result.output
    now = datetime.now(UTC)
    with cli_db.transaction() as db:
        for reason in ("invalid_api_key", "invalid_api_key", "outside_district"):
            count_refusal(db=db, reason=reason, now=now)
    result = runner.invoke(app, ["open311", "stats", "--days", "1"], terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = {
        cells[0].strip(): cells[1].strip()
        for line in result.output.splitlines()
        if line.startswith("│") and (cells := line.split("│")[1:-1])[0].strip()
    }  # rows whose reason cell is empty continue a wrapped meaning
    assert rows == {"invalid_api_key": "2", "outside_district": "1"}
