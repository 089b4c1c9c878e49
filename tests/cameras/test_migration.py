"""Migration 0011 gives the cameras stored before it a registry row (offline: never seen)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fengqiao.db import normalise_url
from fengqiao.migrate import downgrade, upgrade
from tests.conftest import BACKENDS


@pytest.mark.parametrize("backend", BACKENDS)
def test_cameras_stored_before_the_registry_get_a_row(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = request.getfixturevalue("postgres").create()
    upgrade(url, "0010_iot")
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO layer_feature (id, kind, code, name, lng, lat) VALUES "
                "(1, 'camera', '33060300001320000001', 'old camera', 120.5, 30.0), "
                "(2, 'hospital', NULL, 'a hospital', 120.5, 30.0)"
            )
        )
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT feature_id, status, last_seen_at FROM camera")).all()
    assert [tuple(r) for r in rows] == [(1, "offline", None)]
    downgrade(url, "0010_iot")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM layer_feature")).scalar_one() == 2
    engine.dispose()
