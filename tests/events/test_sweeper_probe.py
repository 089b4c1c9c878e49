"""The sweeper's idle probe on PostgreSQL walks an index of each pass's own time column (the
reminders' `remind_at`, the red lights' `due_at`, the escalations' `escalate_at`) from its
start, never a filter over every open event (at 12 M events the EXISTS form it replaced
filtered 85,000 open events one by one: 60 ms a tick)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from fengqiao.supervision.sweeper import due_probe


def test_the_idle_probe_reads_each_pass_from_an_index_of_its_time(db: Session) -> None:
    connection = db.connection()
    if connection.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plans (a single district's SQLite table stays small)")
    sql = due_probe(datetime(2026, 12, 6, 8, 0, tzinfo=UTC)).compile(
        dialect=connection.dialect, compile_kwargs={"literal_binds": True}
    )
    # A small table is cheaper to scan; what is checked is that an index serves each pass.
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    plan = [str(row[0]).strip() for row in connection.exec_driver_sql(f"EXPLAIN {sql}")]
    for number, column in enumerate(("remind_at", "due_at", "escalate_at"), start=1):
        start = plan.index(f"InitPlan {number} (returns ${number - 1})")
        lines = plan[start : start + 4]
        assert lines[1].startswith("->  Limit"), (column, plan)
        assert lines[2].startswith("->  Index Scan using ix_event_"), (column, plan)
        assert lines[3].startswith(f"Index Cond: ({column} <="), (column, plan)
