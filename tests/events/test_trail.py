"""The trail: hash chain checks, append-only storage, and `fengqiao audit verify`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fengqiao.clock import LOCAL_TZ
from fengqiao.events.trail import GENESIS, _canonical_time, row_hash, verify_rows

from .conftest import Desk


def _chain(n: int, event_id: int = 7) -> list[dict[str, Any]]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        row: dict[str, Any] = {
            "seq": seq, "at": datetime(2026, 12, 1, 1, seq, tzinfo=UTC), "actor_id": 3,
            "action": f"step{seq}", "from_status": None if seq == 1 else "a", "to_status": "a",
            "unit_id": None, "note": "", "payload": {"n": seq, "中文": "是"},
        }  # fmt: skip
        row["prev_hash"] = prev
        row["hash"] = prev = row_hash(prev_hash=prev, event_id=event_id, **{
            k: row[k] for k in ("seq", "at", "actor_id", "action", "from_status", "to_status",
                                "unit_id", "note", "payload")})  # fmt: skip
        rows.append(row)
    return rows


def test_an_intact_chain_verifies() -> None:
    rows = _chain(4)
    assert verify_rows(7, rows, (4, rows[-1]["hash"])) is None


def test_each_kind_of_tampering_is_found() -> None:
    rows = _chain(4)
    altered = [dict(r) for r in rows]
    altered[1]["note"] = "改过"
    assert "row 2 was altered" in (verify_rows(7, altered) or "")
    assert "row 2 is missing" in (verify_rows(7, [rows[0], rows[2], rows[3]]) or "")
    swapped = [rows[0], rows[2], rows[1], rows[3]]
    assert verify_rows(7, swapped) is not None
    assert "ends at row 3" in (verify_rows(7, rows[:3], (4, rows[-1]["hash"])) or "")
    assert verify_rows(8, rows) is not None  # rows moved to another event


def test_the_database_refuses_to_change_or_delete_trail_rows(desk: Desk, db: Session) -> None:
    event = desk.file()
    for statement in (
        f"UPDATE event_log SET note = 'x' WHERE event_id = {event['id']}",
        f"DELETE FROM event_log WHERE event_id = {event['id']}",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(statement))


def test_audit_verify_reports_the_first_broken_link(
    fresh_db: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    from typer.testing import CliRunner

    from fengqiao.cli import app
    from fengqiao.config import get_settings
    from fengqiao.demo.seed import seed

    seed(db=fresh_db, scale="small", password="pw-for-audit-test")
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", fresh_db.url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        _file_three(fresh_db)
        ok = runner.invoke(app, ["audit", "verify"])
        assert ok.exit_code == 0, ok.output
        assert "all 3 event trails verify" in ok.output
        with fresh_db.engine.begin() as conn:
            if fresh_db.is_sqlite:
                conn.execute(text("DROP TRIGGER event_log_no_update"))
            else:
                conn.execute(text("ALTER TABLE event_log DISABLE TRIGGER event_log_append_only"))
            conn.execute(text("UPDATE event_log SET note = 'rewritten' WHERE seq = 1 AND event_id = "
                              "(SELECT MAX(id) FROM event)"))  # fmt: skip
        broken = runner.invoke(app, ["audit", "verify"])
        assert broken.exit_code == 1
        assert "row 1 was altered" in broken.output
    finally:
        get_settings.cache_clear()


def _file_three(database: Any) -> None:
    """File three events through the service, as a grid worker would."""
    from sqlalchemy import select

    from fengqiao.auth.models import User
    from fengqiao.auth.service import load_principal
    from fengqiao.events.filing import create_event
    from fengqiao.events.schemas import EventCreate
    from fengqiao.geo.service import GridLocator
    from fengqiao.taxonomy.snapshot import load_rules

    locator = GridLocator(0)
    with database.transaction() as db:
        locator.refresh(db)
        rules = load_rules(db)
        worker = db.scalar(select(User.id).where(User.username == "demo_grid_worker"))
        principal = load_principal(db=db, user_id=worker)
        assert principal is not None
        index = locator.snapshot.index
        grid_id = int(principal.home_path.strip("/").split("/")[-1])
        geometry = index.geometries[list(index.grid_ids).index(grid_id)]
        point = geometry.representative_point()
        place = locator.locate(point.x, point.y)
        category = sorted(rules.categories)[0]
        for _ in range(3):
            create_event(
                db=db, rules=rules, place=place, principal=principal,
                data=EventCreate(source="grid_worker", category=category, lat=point.y, lng=point.x),
                now=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
            )  # fmt: skip


@given(st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)))
def test_the_hashed_time_text_never_changes(at: datetime) -> None:
    """Stored chains hash this text: it must stay `%Y-%m-%dT%H:%M:%S.%fZ` in UTC forever."""
    assert _canonical_time(at) == at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert _canonical_time(at.astimezone(LOCAL_TZ)) == _canonical_time(at)
