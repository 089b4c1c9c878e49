"""考核 that does not mislead: a period not yet over says so and is compared with the same days
of the month before as they stood at the same moment; 0 % patrol coverage never grades A; the
formula panel's parts add up to the score."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Scope, aggregate
from fengqiao.analytics.rollups import apply_pending
from fengqiao.assessment import periods, service
from fengqiao.assessment.asof import sums_as_of
from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.escalation import EscalationPolicy
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.patrol.models import Patrol
from fengqiao.supervision.sweeper import sweep
from tests.analytics.test_rollups import random_workload
from tests.conftest import BoundDatabase
from tests.events.conftest import Desk

Auth = Callable[[str], dict[str, str]]


def _at(month: int, day: int, hour: int = 10, year: int = 2027) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=LOCAL_TZ)


def _get(api: TestClient, auth: Auth, path: str, user: str = "demo_leader", **params: Any) -> Any:
    response = api.get("/api/v1" + path, params=params, headers=auth(user))
    assert response.status_code == 200, response.text
    return response.json()


def _no_patrols(db: Session) -> None:
    """The seed walks patrols on the day it runs: moved out of the way of the dates a test fixes
    (rolled back with the test)."""
    db.execute(update(Patrol).values(started_at=datetime(2000, 1, 3, tzinfo=LOCAL_TZ)))
    db.commit()


# --- the period's words and the period it is compared with ------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "now", "label", "compared", "as_of"),
    [
        # The 5th of a running month: the first five days of the month before, as at the 5th.
        (date(2027, 12, 1), date(2027, 12, 5), _at(12, 5, 15), "12月1日至5日，本月未结束",
         (date(2027, 11, 1), date(2027, 11, 5)), _at(11, 5, 15)),
        # The month asked whole while it runs: the same, only the days so far have figures.
        (date(2027, 12, 1), date(2027, 12, 31), _at(12, 5, 15), "12月1日至5日，本月未结束",
         (date(2027, 11, 1), date(2027, 11, 5)), _at(11, 5, 15)),
        # The 31st of March against February, cut at its last day.
        (date(2027, 3, 1), date(2027, 3, 31), _at(3, 31, 9), "3月1日至31日，本月未结束",
         (date(2027, 2, 1), date(2027, 2, 28)), _at(2, 28, 9)),
        # A span over New Year, still running.
        (date(2027, 12, 20), date(2028, 1, 3), _at(1, 3, 8, year=2028),
         "2027年12月20日至2028年1月3日，本期未结束", (date(2027, 11, 20), date(2027, 12, 3)),
         _at(12, 3, 8)),
        # Whole months over: as many whole months before, both read as they stand.
        (date(2027, 11, 1), date(2027, 11, 30), _at(12, 5, 15), "11月1日至30日",
         (date(2027, 10, 1), date(2027, 10, 31)), None),
        (date(2027, 1, 1), date(2027, 3, 31), _at(12, 5, 15), "1月1日至3月31日",
         (date(2026, 10, 1), date(2026, 12, 31)), None),
    ],
)  # fmt: skip
def test_a_period_says_whether_it_has_ended_and_what_it_is_compared_with(
    start: date,
    end: date,
    now: datetime,
    label: str,
    compared: tuple[date, date],
    as_of: datetime | None,
) -> None:
    period = periods.period_of(start, end, now)
    assert period.label == label
    assert period.partial == (as_of is not None)
    assert (period.compare_start, period.compare_end) == compared
    assert period.compare_as_of == as_of
    if as_of is not None:
        assert f"（截至{periods.moment_text(as_of)}）" in period.compare_label


def test_months_shift_to_the_same_day_or_the_months_last() -> None:
    assert periods.shift_month(date(2027, 3, 31), -1) == date(2027, 2, 28)
    assert periods.shift_month(date(2028, 3, 30), -1) == date(2028, 2, 29)
    assert periods.shift_month(date(2027, 1, 15), -1) == date(2026, 12, 15)
    assert periods.shift_month(date(2027, 1, 31), -3) == date(2026, 10, 31)


# --- as of a past moment = what the rollups held at that moment --------------------------------


def _move_on(desk: Desk, db: Session, clock: FixedClock) -> None:
    """After the moment: every event moves a step or two down its path (returns, reworks,
    re-dispatches with fresh deadlines, closings, ratings), and new events are filed."""
    db.expire_all()
    events = list(db.scalars(select(Event).order_by(Event.id)))
    for n, row in enumerate(events):
        event = desk.get({"id": row.id})
        status = event["status"]
        clock.advance(timedelta(minutes=20))
        if status == "reported":
            event = desk.act(event, "demo_operator", "accept" if n % 2 else "reject",
                             note="不属于受理范围")  # fmt: skip
        elif status == "accepted":
            event = desk.act(event, "demo_operator", "dispatch")
        elif status == "dispatched" and row.owner_unit_id == desk.world.handler_unit:
            if n % 2:
                desk.act(event, "demo_handler", "return", note="不属于本单位职责")
            else:
                desk.act(event, "demo_handler", "sign")
        elif status == "handled":
            if n % 2:
                event = desk.act(event, "demo_grid_worker", "verify", ok=False, note="仍有摊位")
            else:
                event = desk.verify_ok(event)
        elif (
            status == "closed"
            and not event.get("satisfaction")
            and event["source"] == "grid_worker"
        ):
            desk.act(event, "demo_grid_worker", "rate", satisfaction=4)
    desk.file()
    desk.file()


def test_counters_as_of_a_past_moment_equal_what_the_rollups_held_then(
    desk: Desk, clock: FixedClock, bound: BoundDatabase, db: Session
) -> None:
    clock.set(_at(11, 2, 9))
    random_workload(desk, clock, bound, seed=5)  # ends with the worker's round
    moment = clock.now()
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
    town = db.scalars(select(OrgUnit).where(OrgUnit.kind == "town")).first()
    assert town is not None
    scopes = [Scope("district", district.id), Scope("town", town.id)]
    groupings = [("town_id",), ("owner_unit_id",), ("reporter_id", "source"), ("village_id",)]
    first, last = date(2027, 11, 1), date(2027, 11, 30)
    then = {
        (scope, by): aggregate(db, scope=scope, start=first, end=last, by=by,
                               counters=service.COUNTERS).rows
        for scope in scopes for by in groupings
    }  # fmt: skip
    assert any(rows for rows in then.values())
    clock.advance(timedelta(hours=3))
    _move_on(desk, db, clock)
    clock.advance(timedelta(days=6))
    sweep(bound, clock.now(), EscalationPolicy())  # red lights after the moment
    _move_on(desk, db, clock)
    apply_pending(bound)
    db.expire_all()
    now_rows = aggregate(db, scope=scopes[0], start=first, end=last, by=("town_id",),
                         counters=service.COUNTERS).rows  # fmt: skip
    assert now_rows != then[(scopes[0], ("town_id",))]  # things did move on
    for (scope, by), rows in then.items():
        again = sums_as_of(db, scope=scope, start=first, end=last, cutoff=moment, by=by,
                           counters=service.COUNTERS)  # fmt: skip
        assert again.rows == rows, (scope, by)


# --- the API: a running month, like for like ----------------------------------------------------


def test_a_running_month_is_labelled_and_graded_against_the_same_days_before_at_the_same_age(
    desk: Desk, clock: FixedClock, bound: BoundDatabase, api: TestClient, auth: Auth, db: Session
) -> None:
    _no_patrols(db)
    clock.set(_at(11, 3))
    early = desk.file()  # closed on the 4th: before the moment
    late = desk.file()  # fed back on the 4th, closed on the 20th: after the moment
    waiting = desk.file()  # still waiting on the 5th
    clock.set(_at(11, 4))
    early = desk.verify_ok(desk.to_handled(early))
    late = desk.to_handled(late)
    clock.set(_at(11, 12))
    desk.file()  # after the 5th: outside the compared days
    desk.act(waiting, "demo_operator", "accept")
    clock.set(_at(11, 20))
    desk.verify_ok(late)
    clock.set(_at(12, 2))
    done = desk.file()
    desk.file()
    clock.set(_at(12, 3))
    desk.verify_ok(desk.to_handled(done))
    clock.set(_at(12, 5, 15))
    apply_pending(bound)

    data = _get(api, auth, "/assessment", level="town")
    assert data["partial"] is True
    assert data["period_label"] == "12月1日至5日，本月未结束"
    assert (data["compare_start"], data["compare_end"]) == ("2027-11-01", "2027-11-05")
    assert datetime.fromisoformat(data["compare_as_of"]) == _at(11, 5, 15)
    assert data["compare_label"] == "11月1日至5日（截至11月5日15:00）"
    (row,) = data["rows"]
    assert row["counts"]["new"] == 2
    # December: one of two closed, on time, nothing reworked; the town alone has the volume.
    assert row["score"] == service.composite(
        {"volume": 1.0, "closure": 0.5, "on_time": 1.0, "rework": 1.0}, service.Weights()
    )
    # November 1-5 as it stood on the 5th at 15:00: three filed, one closed (the second was
    # closed on the 20th, which the 5th did not know), two fed back, none reworked.
    previous = row["previous"]
    assert previous["new"] == 3
    as_then = service.composite(
        {"volume": 1.0, "closure": 1 / 3, "on_time": 1.0, "rework": 1.0}, service.Weights()
    )
    assert previous["score"] == as_then == 80.0 and previous["grade"] == "B"
    # Read as it stands now, November 1-5 would look better (two of three closed): not like
    # for like with five days in December.
    now_read = _get(api, auth, "/assessment", level="town", **{"from": "2027-11-01",
                                                               "to": "2027-11-05"})  # fmt: skip
    assert now_read["partial"] is False and now_read["compare_as_of"] is None
    assert now_read["rows"][0]["indicators"]["closure_rate"] == pytest.approx(2 / 3)
    assert now_read["rows"][0]["score"] != previous["score"]
    # The trend's running month says so and carries the same comparison.
    trend = _get(api, auth, "/assessment/trend", level="town", id=row["id"], months=3)
    *before, current = trend["points"]
    assert current["partial"] is True and current["label"] == "12月1日至5日，本月未结束"
    assert current["score"] == row["score"]
    assert current["compared"]["score"] == 80.0
    assert current["compare_label"] == data["compare_label"]
    assert all(not p["partial"] and p["compared"] is None for p in before)
    november = _get(api, auth, "/assessment", level="town", **{"from": "2027-11-01",
                                                               "to": "2027-11-30"})  # fmt: skip
    assert before[-1]["month"] == "2027-11"
    assert before[-1]["score"] == november["rows"][0]["score"]


# --- 0 % patrol coverage never grades A -----------------------------------------------------------


def _another_worker(db: Session, worker: User) -> int:
    other = db.scalar(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "grid_worker", User.id != worker.id)
        .order_by(User.id)
    )
    assert other is not None
    return other


def test_a_grid_worker_with_no_patrol_cannot_grade_a_and_the_row_says_why(
    desk: Desk, clock: FixedClock, bound: BoundDatabase, api: TestClient, auth: Auth, db: Session
) -> None:
    _no_patrols(db)
    worker = db.scalars(select(User).where(User.username == "demo_grid_worker")).one()
    assigned = sorted(
        db.scalars(select(GridAssignment.grid_id).where(GridAssignment.user_id == worker.id))
    )
    clock.set(_at(6, 1))
    for _ in range(2):
        event = desk.file()
        clock.advance(timedelta(hours=2))
        desk.verify_ok(desk.to_handled(event))
    # Somebody else patrolled in June, so the area has patrol data; this worker walked nothing.
    home = db.scalar(select(OrgUnit.path).where(OrgUnit.id == worker.home_org_id))
    db.add(Patrol(user_id=_another_worker(db, worker), home_path=home, grids=[assigned[0]],
                  points=3, started_at=_at(6, 3, 9), ended_at=_at(6, 3, 11)))  # fmt: skip
    db.commit()
    clock.set(_at(7, 10))
    apply_pending(bound)
    june = {"level": "worker", "from": "2027-06-01", "to": "2027-06-30"}
    rows = _get(api, auth, "/assessment", **june)["rows"]
    row = next(r for r in rows if r["id"] == worker.id)
    assert row["indicators"]["patrol_coverage"] == 0.0
    assert row["score"] == 100.0 and row["score_grade"] == "A"
    assert row["grade"] == "C"
    assert row["caps"] == [{"grade": "C", "reason": "巡查覆盖率为0%，等级不高于C"}]
    # One assigned grid walked: coverage above 0, the grade is the score's again.
    db.add(Patrol(user_id=worker.id, home_path=home, grids=[assigned[0]], points=3,
                  started_at=_at(6, 20, 9), ended_at=_at(6, 20, 11)))  # fmt: skip
    db.commit()
    walked = next(r for r in _get(api, auth, "/assessment", **june)["rows"] if r["id"] == worker.id)
    assert walked["indicators"]["patrol_coverage"] > 0
    assert walked["grade"] == "A" and walked["caps"] == []


def test_a_capped_grade_ranks_with_its_grade_and_the_cap_follows_the_setting() -> None:
    def row(name: str, score: float, coverage: float | None) -> service.Row:
        values: dict[str, float | None] = {"patrol_coverage": coverage}
        r = service.Row(1, name, "", {}, values, 0.0, score=score)
        r.raw_grade = service.grade(score)
        r.caps = service.caps_of(values, service.Weights())
        r.grade = service.capped(r.raw_grade, r.caps)
        return r

    idle, steady, weak = row("甲", 96.0, 0.0), row("乙", 80.0, 0.5), row("丙", 50.0, None)
    assert (idle.grade, steady.grade, weak.grade) == ("C", "B", "D")
    ranked = service.sort_rows([idle, weak, steady], "-score")
    assert [r.name for r in ranked] == ["乙", "甲", "丙"]
    assert service.capped("B", service.caps_of({"patrol_coverage": 0.0},
                                               service.Weights(zero_patrol_cap="D"))) == "D"  # fmt: skip
    assert service.caps_of({"patrol_coverage": 0.0}, service.Weights(zero_patrol_cap=None)) == []
    assert service.capped("E", [("C", "…")]) == "E"  # a cap never raises a grade


# --- the formula panel's numbers ----------------------------------------------------------------


def test_the_formula_breakdown_adds_up_to_each_rows_score(
    workload: list[Event], api: TestClient, auth: Auth
) -> None:
    params = {"from": "2026-12-29", "to": "2027-01-12"}
    seen = 0
    for level in ("unit", "worker", "village"):
        data = _get(api, auth, "/assessment", level=level, **params)
        weights = data["weights"]
        for row in data["rows"]:
            parts = {p["key"]: p for p in row["breakdown"]}
            assert list(parts) == list(service.COMPONENTS)
            assert all(p["name"] and p["basis"] for p in parts.values())
            if row["score"] is None:
                assert all(p["points"] is None for p in parts.values())
                continue
            seen += 1
            counted = [p for p in parts.values() if p["points"] is not None]
            assert round(sum(p["points"] for p in counted), 1) == row["score"]
            assert sum(p["share"] for p in counted) == pytest.approx(1.0)
            for part in parts.values():
                assert part["weight"] == weights[part["key"]]
                if part["points"] is None:
                    assert part["value"] is None and part["share"] is None
                else:
                    assert part["points"] == pytest.approx(
                        100 * part["share"] * part["value"], abs=0.1
                    )
            closure = parts["closure"]
            if closure["value"] is not None:
                assert closure["basis"].startswith(f"结案 {row['counts']['closed']} 件 ÷ 应办")
            if parts["volume"]["value"] is not None:
                assert "同级最高" in parts["volume"]["basis"]
    assert seen >= 3
