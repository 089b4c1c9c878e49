"""The demo year's planted anomalies are all found by replaying the warnings job daily over it,
and the warnings that match nothing planted (chance in the random background) stay few."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.demo.anomalies import to_json
from fengqiao.demo.events import planted_anomalies, seed_events
from fengqiao.demo.seed import seed
from fengqiao.warnings.evaluate import replay, score, stored_warnings
from fengqiao.warnings.service import WarningRules

UNTIL = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
EVENTS = 4000


def test_the_planted_anomalies_are_found(fresh_db: Database) -> None:
    seed(db=fresh_db, scale="small", password="pw")
    report = seed_events(db=fresh_db, count=EVENTS, until=UNTIL)
    planted = to_json(report.planted)
    assert to_json(planted_anomalies(db=fresh_db, count=EVENTS, until=UNTIL)) == planted
    assert {a["kind"] for a in planted} == {"spike", "cluster", "repeat"} and len(planted) == 21
    # Daily at local midnight, from eight weeks in (the first baseline) to the end of the year.
    first = (UNTIL - timedelta(days=365 - 57)).astimezone(LOCAL_TZ).replace(hour=0, minute=0)
    last = UNTIL.astimezone(LOCAL_TZ).replace(hour=0, minute=0) + timedelta(days=1)
    replay(database=fresh_db, start=first, end=last, step=timedelta(days=1), rules=WarningRules())
    result = score(planted, stored_warnings(fresh_db))
    weeks = (last - first).days / 7
    rows = result.rows(weeks)
    print("(kind, planted, found, warnings, not planted, not planted per week):", rows)
    assert result.missed == []
    assert result.found == result.planted
    # Warnings no planted anomaly explains, per week of the replay (docs/warnings.md).
    per_week = {kind: rate for kind, *_, rate in rows}
    assert per_week.get("spike", 0.0) <= 0.1
    assert per_week.get("cluster", 0.0) <= 0.1
    assert per_week.get("repeat", 0.0) <= 0.1
