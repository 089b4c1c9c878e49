"""The search box's statements use their indexes (SQLite's plans; the seeded small district):
events are read from the address index newest first, names that start with the query from a
plain index, and a camera-id prefix from the cameras' own text index, never a table scan."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.auth.service import load_principal
from fengqiao.search import service


def plans(db: Session, monkeypatch: pytest.MonkeyPatch, q: str, kind: str) -> list[str]:
    """The EXPLAIN QUERY PLAN lines of every statement one kind's search runs."""
    seen: list[str] = []
    run = service._run

    def explained(db: Session, statement: Any, params: dict[str, Any]) -> list[Any]:
        bound = statement.params(**params) if params else statement
        sql = bound.compile(dialect=db.get_bind().dialect, compile_kwargs={"literal_binds": True})
        rows = db.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
        seen.extend(str(row[-1]) for row in rows)
        return run(db, statement, params)

    monkeypatch.setattr(service, "_run", explained)
    user_id = db.scalar(select(User.id).where(User.username == "demo_district_operator"))
    principal = load_principal(db=db, user_id=user_id or 0)
    assert principal is not None
    service.search(db=db, principal=principal, q=q, kinds=(kind,))
    return seen


def test_search_plans_use_the_indexes(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's plans; PostgreSQL's indexes are the migration's pg_trgm ones")
    db.execute(text("ANALYZE"))
    events = plans(db, monkeypatch, "笛扬路", "event")
    assert any("event_fts VIRTUAL TABLE" in line for line in events), events
    assert not any(line.startswith("SCAN event") and "fts" not in line for line in events), events
    names = plans(db, monkeypatch, "柯", "place")
    assert any("ix_layer_feature_name_prefix" in line for line in names), names
    cameras = plans(db, monkeypatch, "3306030000", "camera")
    assert any("camera_fts VIRTUAL TABLE" in line for line in cameras), cameras
    assert not any("place_fts" in line for line in cameras), cameras
