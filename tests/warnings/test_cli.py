"""`fengqiao seed --events` writes the planted anomalies; `fengqiao warnings replay` finds them and
`fengqiao warnings run` runs the detectors once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from fengqiao.cli import app
from fengqiao.db import Database
from fengqiao.events.models import Event
from fengqiao.warnings.models import EarlyWarning

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_replay_and_run(cli_db: Database, tmp_path: Path) -> None:
    out = run("seed", "--scale", "small", "--events", "2500")
    assert "planted 21 anomalies" in out
    planted = json.loads((tmp_path / "demo-anomalies.json").read_text(encoding="utf-8"))
    assert len(planted) == 21 and {a["kind"] for a in planted} == {"spike", "cluster", "repeat"}
    with cli_db.session() as db:
        last = db.scalar(select(func.max(Event.created_at)))
    assert last is not None
    first = min(datetime.fromisoformat(a["start"]) for a in planted) - timedelta(days=1)
    out = run("warnings", "replay", "--from", first.isoformat(), "--to", last.isoformat())
    assert "missed" not in out
    rows = [line.split("│")[1:-1] for line in out.splitlines() if line.startswith("│")]
    table = {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}
    for kind in ("spike", "cluster", "repeat"):
        planted_n, found_n = table[kind][0], table[kind][1]
        assert planted_n == found_n != "0", (kind, table)
    with cli_db.session() as db:
        stored = db.scalar(select(func.count()).select_from(EarlyWarning))
    # The replay's last run was at `last`: a second look at that moment stores nothing new.
    out = run("warnings", "run", "--now", last.isoformat())
    assert out.split() == ["spike", "0,", "cluster", "0,", "repeat", "0,", "backlog", "0"]
    with cli_db.session() as db:
        assert db.scalar(select(func.count()).select_from(EarlyWarning)) == stored
