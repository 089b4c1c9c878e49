"""The event center's fixtures, and a workload of events over New Year with its direct sums."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.rollups import apply_pending
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from tests.analytics.test_rollups import random_workload
from tests.conftest import BoundDatabase
from tests.events.conftest import Desk, api, clock, desk, world

__all__ = ["api", "clock", "desk", "world"]


def app_state(client: TestClient) -> Any:
    """The app's state behind a test client (its clock, settings)."""
    return cast(FastAPI, client.app).state


def local_day(at: datetime | None) -> date:
    assert at is not None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(LOCAL_TZ).date()


def direct_counts(events: list[Event], start: date, end: date, key: Callable[[Event], Any]):
    """Counters of the events filed in start..end, by `key`, straight from the event rows."""
    sums: dict[Any, dict[str, int]] = {}
    for e in events:
        if not start <= local_day(e.created_at) <= end:
            continue
        k = key(e)
        if k is None:
            continue
        c = sums.setdefault(k, dict.fromkeys(COUNTERS, 0))
        closed = e.status == "closed"
        c["new"] += 1
        c["accepted"] += e.accepted_at is not None
        c["dispatched"] += e.dispatched_at is not None
        c["handled"] += e.handled_at is not None or e.status in (
            "handled",
            "self_handled",
            "closed",
        )
        c["closed"] += closed
        c["closed_on_time"] += closed and (
            e.due_at is None or (e.closed_at is not None and e.closed_at <= e.due_at)
        )
        c["overdue"] += e.overdue_at is not None
        c["rejected"] += e.status == "rejected"
        c["voided"] += e.status == "voided"
        c["merged"] += e.status == "merged"
        c["returned_events"] += e.return_count > 0
        c["reworked_events"] += e.rework_count > 0
        if closed:
            assert e.closed_at is not None
            span = (e.closed_at - e.created_at).total_seconds() - (e.paused_seconds or 0)
            c["handle_seconds"] += max(0, round(span))
            if e.satisfaction:
                c["rated"] += 1
                c["satisfaction_sum"] += e.satisfaction
    return sums


COUNTERS = (
    "new", "accepted", "dispatched", "handled", "closed", "closed_on_time", "overdue",
    "rejected", "voided", "merged", "returned_events", "reworked_events", "handle_seconds",
    "rated", "satisfaction_sum",
)  # fmt: skip


def expected_indicators(c: dict[str, int]) -> dict[str, float | None]:
    """docs/assessment.md's formulas, written out again."""
    valid = c["new"] - c["rejected"] - c["voided"] - c["merged"]
    return {
        "new": c["new"],
        "handle_rate": c["handled"] / c["accepted"] if c["accepted"] else None,
        "closure_rate": c["closed"] / valid if valid else None,
        "on_time_rate": c["closed_on_time"] / c["closed"] if c["closed"] else None,
        "overdue": c["overdue"],
        "rework_rate": c["reworked_events"] / c["handled"] if c["handled"] else None,
        "return_rate": c["returned_events"] / c["dispatched"] if c["dispatched"] else None,
        "avg_handle_hours": c["handle_seconds"] / c["closed"] / 3600 if c["closed"] else None,
        "satisfaction": c["satisfaction_sum"] / c["rated"] if c["rated"] else None,
        "valid_rate": valid / c["new"] if c["new"] else None,
    }


# The workload starts here: its events straddle New Year's Day (a holiday).
WORKLOAD_START = datetime(2026, 12, 29, 9, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def workload(desk: Desk, clock: FixedClock, bound: BoundDatabase, db: Session) -> list[Event]:
    """Events filed from 29 December over New Year and taken down random paths."""
    clock.set(WORKLOAD_START)
    random_workload(desk, clock, bound, seed=11)
    # Fed back but not verified yet: handled without being closed.
    for _ in range(2):
        desk.to_handled(desk.file())
        clock.advance(timedelta(hours=5))
    apply_pending(bound)  # the worker's round: the steps reach the rollups
    db.expire_all()
    return list(db.scalars(select(Event)))


def add_town(db: Session, name: str = "安昌街道") -> OrgUnit:
    """A second town of the district with one village and one grid (no events)."""
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
    town = OrgUnit(code="330603099", name=name, kind="town", parent_id=district.id, path="")
    db.add(town)
    db.flush()
    town.path = f"{district.path}{town.id}/"
    village = OrgUnit(
        code="330603099001", name="安昌村", kind="village", parent_id=town.id, path=""
    )
    db.add(village)
    db.flush()
    village.path = f"{town.path}{village.id}/"
    grid = OrgUnit(code="330603099001001", name="安昌村第1网格", kind="grid", parent_id=village.id,
                   path="", households=120)  # fmt: skip
    db.add(grid)
    db.flush()
    grid.path = f"{village.path}{grid.id}/"
    db.commit()
    return town


def week_after(day: date) -> date:
    return day + timedelta(days=6)
