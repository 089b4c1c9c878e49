"""`fengqiao iot …`: register and list devices, show and load the rules, count the alarms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fengqiao.auth.security import hash_api_key
from fengqiao.cli import app
from fengqiao.config import get_settings
from fengqiao.db import Database
from fengqiao.iot.models import Device, IotRule

runner = CliRunner()


@pytest.fixture
def cli_db(
    fresh_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", fresh_db.url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FENGQIAO_IOT_REPORTER", "demo_device")
    get_settings.cache_clear()
    assert runner.invoke(app, ["seed", "--scale", "small"]).exit_code == 0
    yield fresh_db
    get_settings.cache_clear()


def test_devices_add_list_rules_and_stats(cli_db: Database, tmp_path: Path) -> None:
    with cli_db.session() as db:
        template = db.scalar(select(Device).order_by(Device.id))
        assert template is not None
        lng, lat = template.lng, template.lat
    added = runner.invoke(
        app,
        ["iot", "devices", "add", "GAS-CLI-1", "--name", "某小区燃气探测器", "--type",
         "gas_detector", "--lng", str(lng), "--lat", str(lat), "--category", "0404"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    key = added.output.strip().splitlines()[-1]
    with cli_db.session() as db:
        device = db.scalar(select(Device).where(Device.code == "GAS-CLI-1"))
        assert device is not None and device.key_hash == hash_api_key(key)
    listed = runner.invoke(app, ["iot", "devices", "list", "--type", "gas_detector"])
    assert listed.exit_code == 0 and "GAS-CLI-1" in listed.output and "1 devices" in listed.output
    refused = runner.invoke(
        app,
        ["iot", "devices", "add", "bad/code", "--name", "x", "--type", "gas_detector",
         "--lng", str(lng), "--lat", str(lat)],
    )  # fmt: skip
    assert refused.exit_code == 1 and "code" in refused.output

    rules = runner.invoke(app, ["iot", "rules"])
    assert rules.exit_code == 0 and "gas_lel >= 10" in rules.output
    mine = tmp_path / "rules.json"
    mine.write_text(json.dumps({"rules": [
        {"device_type": "gas_detector", "reading": "gas_lel", "op": ">=", "threshold": 5,
         "category": "0404", "name_zh": "燃气泄漏"}]}), encoding="utf-8")  # fmt: skip
    loaded = runner.invoke(app, ["iot", "rules", "--import", str(mine)])
    assert loaded.exit_code == 0 and "1 rules loaded" in loaded.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"device_type": "x", "reading": "y", "op": "outside",
                                          "threshold": 9, "category": "0404", "name_zh": "z"}]}))  # fmt: skip
    refused_rules = runner.invoke(app, ["iot", "rules", "--import", str(bad)])
    assert refused_rules.exit_code == 1 and "threshold_high" in refused_rules.output
    with cli_db.session() as db:
        assert [r.threshold for r in db.scalars(select(IotRule))] == [5]  # all or nothing
    shipped = runner.invoke(app, ["iot", "rules", "--shipped"])
    assert shipped.exit_code == 0 and "11 rules loaded" in shipped.output

    stats = runner.invoke(app, ["iot", "stats"])
    assert stats.exit_code == 0, stats.output
    counts = json.loads(stats.output)
    assert counts["devices"] == {"active": 7} and counts["accepted"] == 0
