"""考核: every indicator against the events themselves, scores, grades, ranks, scope, ranges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.assessment import service
from fengqiao.auth.models import GridAssignment, User
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.patrol.models import Patrol
from tests.assessment.conftest import add_town, app_state, direct_counts, expected_indicators

Auth = Callable[[str], dict[str, str]]
RATES = ("handle_rate", "closure_rate", "on_time_rate", "rework_rate", "return_rate",
         "avg_handle_hours", "satisfaction", "valid_rate")  # fmt: skip


def _get(api: TestClient, auth: Auth, user: str, path: str, **params: Any) -> Any:
    response = api.get("/api/v1" + path, params=params, headers=auth(user))
    assert response.status_code == 200, response.text
    return response.json()


def _check(rows: list[dict[str, Any]], expected: dict[Any, dict[str, int]]) -> None:
    got = {r["id"]: r for r in rows if r["counts"]["new"]}
    assert set(got) == set(expected)
    for key, counts in expected.items():
        row = got[key]
        assert row["counts"] == counts, key
        for name, value in expected_indicators(counts).items():
            if value is None:
                assert row["indicators"][name] is None, (key, name)
            else:
                assert row["indicators"][name] == pytest.approx(value), (key, name)


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-12-29", "2027-01-12"), ("2026-12-31", "2027-01-01"), ("2027-01-01", "2027-01-01"),
     ("2027-01-01", "2027-01-31")],
)  # fmt: skip
def test_town_and_unit_indicators_equal_a_direct_count_of_the_events(
    workload: list[Event], api: TestClient, auth: Auth, start: str, end: str
) -> None:
    """Towns and units are summed to the day, across New Year (a holiday) and a single day."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    towns = _get(
        api, auth, "demo_district_leader", "/assessment", level="town", **{"from": start, "to": end}
    )
    assert not towns["widened"]
    _check(towns["rows"], direct_counts(workload, first, last, lambda e: e.town_id))
    units = _get(
        api, auth, "demo_district_leader", "/assessment", level="unit", **{"from": start, "to": end}
    )
    _check(units["rows"], direct_counts(workload, first, last, lambda e: e.owner_unit_id))
    assert sum(r["counts"]["new"] for r in towns["rows"]) > 0 or first == last


def test_village_and_worker_indicators_equal_a_direct_count_over_the_months_summed(
    workload: list[Event], api: TestClient, auth: Auth, db: Session
) -> None:
    """Villages and workers of a town are kept by month: the answer says which days it covers,
    and its figures are those of the events filed on those days."""
    params = {"from": "2026-12-30", "to": "2027-01-05"}
    villages = _get(api, auth, "demo_leader", "/assessment", level="village", **params)
    assert villages["widened"]
    assert (villages["summed_start"], villages["summed_end"]) == ("2026-12-01", "2027-01-31")
    first, last = date(2026, 12, 1), date(2027, 1, 31)
    _check(villages["rows"], direct_counts(workload, first, last, lambda e: e.village_id))
    workers = _get(api, auth, "demo_leader", "/assessment", level="worker", **params)
    expected = direct_counts(
        workload, first, last, lambda e: e.reporter_id if e.source == "grid_worker" else None
    )
    assert expected
    _check(workers["rows"], expected)
    # Every grid worker of the town is listed, those who reported nothing too.
    assert len(workers["rows"]) > len(expected)
    # A village leader's own area is read exactly, to the day, from its events.
    village_id = next(r["id"] for r in villages["rows"] if r["counts"]["new"])
    exact = _get(api, auth, "demo_leader", "/assessment", level="worker", scope=village_id,
                 **{"from": "2027-01-01", "to": "2027-01-01"})  # fmt: skip
    assert not exact["widened"]
    one_day = direct_counts(
        [e for e in workload if e.village_id == village_id], date(2027, 1, 1), date(2027, 1, 1),
        lambda e: e.reporter_id if e.source == "grid_worker" else None,
    )  # fmt: skip
    _check(exact["rows"], one_day)


def test_patrol_coverage_is_assigned_grids_patrolled_over_assigned_grids(
    api: TestClient, auth: Auth, db: Session
) -> None:
    worker = db.scalars(select(User).where(User.username == "demo_grid_worker")).one()
    assigned = set(
        db.scalars(select(GridAssignment.grid_id).where(GridAssignment.user_id == worker.id))
    )
    assert assigned
    params = {"from": "2026-11-01", "to": "2026-11-30", "level": "worker"}
    before = _get(api, auth, "demo_leader", "/assessment", **params)
    if not before["patrol_data"]:
        assert all(r["indicators"]["patrol_coverage"] is None for r in before["rows"])
    walked = sorted(assigned)[:1]
    home = db.scalar(select(OrgUnit.path).where(OrgUnit.id == worker.home_org_id))
    db.add(Patrol(user_id=worker.id, home_path=home, grids=walked, points=3,
                  started_at=datetime(2026, 11, 10, 9, tzinfo=LOCAL_TZ),
                  ended_at=datetime(2026, 11, 10, 11, tzinfo=LOCAL_TZ)))  # fmt: skip
    db.commit()
    after = _get(api, auth, "demo_leader", "/assessment", **params)
    assert after["patrol_data"]
    row = next(r for r in after["rows"] if r["id"] == worker.id)
    walked_all = set(walked) | set(
        g for p in db.scalars(select(Patrol).where(
            Patrol.user_id == worker.id,
            Patrol.started_at >= datetime(2026, 11, 1, tzinfo=LOCAL_TZ),
            Patrol.started_at < datetime(2026, 12, 1, tzinfo=LOCAL_TZ))) for g in p.grids
    )  # fmt: skip
    assert row["indicators"]["patrol_coverage"] == pytest.approx(
        len(assigned & walked_all) / len(assigned)
    )
    units = _get(api, auth, "demo_leader", "/assessment", **{**params, "level": "unit"})
    assert all(r["indicators"]["patrol_coverage"] is None for r in units["rows"])


def test_grades_follow_the_thresholds() -> None:
    cases = [(100, "A"), (90, "A"), (89.9, "B"), (75, "B"), (74.9, "C"), (60, "C"), (59.9, "D"),
             (40, "D"), (39.9, "E"), (0, "E"), (None, None)]  # fmt: skip
    assert [service.grade(score) for score, _ in cases] == [g for _, g in cases]


def test_the_composite_is_the_weighted_mean_of_the_parts_that_exist() -> None:
    weights = service.Weights()
    parts = {"volume": 0.5, "closure": 1.0, "on_time": 0.8, "rework": 0.9}
    assert service.composite(parts, weights) == pytest.approx(
        (10 * 0.5 + 30 * 1.0 + 30 * 0.8 + 30 * 0.9), abs=0.05
    )
    # A row with nothing closed is judged on what it has.
    partial = {"volume": 1.0, "closure": 0.0, "on_time": None, "rework": None}
    assert service.composite(partial, weights) == pytest.approx(100 * 10 / 40)
    assert service.composite(dict.fromkeys(service.COMPONENTS), weights) is None
    only_closure = service.Weights(volume=0, closure=1, on_time=0, rework=0)
    assert service.composite(parts, only_closure) == 100.0


def test_weights_come_from_the_settings_and_bad_ones_are_refused() -> None:
    settings = Settings(secret_key="k", assessment_weights={"volume": 0, "closure": 50})
    weights = service.Weights.from_settings(settings)
    assert weights.as_dict() == {"volume": 0, "closure": 50, "on_time": 30, "rework": 30}
    with pytest.raises(ValueError, match="FENGQIAO_ASSESSMENT_WEIGHTS"):
        service.Weights.from_settings(Settings(secret_key="k", assessment_weights={"speed": 1}))


def test_weights_change_the_scores_the_api_gives(
    workload: list[Event], api: TestClient, auth: Auth
) -> None:
    params = {"from": "2026-12-29", "to": "2027-01-12", "level": "unit"}
    rows = _get(api, auth, "demo_district_leader", "/assessment", **params)["rows"]
    for row in rows:
        parts = row["components"]
        assert row["score"] == service.composite(parts, service.Weights())
        assert row["grade"] == service.grade(row["score"])
    app_state(api).settings = app_state(api).settings.model_copy(
        update={"assessment_weights": {"volume": 0, "closure": 100, "on_time": 0, "rework": 0}}
    )
    again = _get(api, auth, "demo_district_leader", "/assessment", **params)
    assert again["weights"]["closure"] == 100
    for row in again["rows"]:
        closure = row["indicators"]["closure_rate"]
        assert row["score"] == (None if closure is None else round(100 * closure, 1))


def test_ranks_follow_the_scores_and_any_column_sorts(
    workload: list[Event], api: TestClient, auth: Auth
) -> None:
    params = {"from": "2026-12-29", "to": "2027-01-12", "level": "worker"}
    rows = _get(api, auth, "demo_leader", "/assessment", **params)["rows"]
    scored = [r for r in rows if r["score"] is not None]
    assert [r["rank"] for r in scored] == list(range(1, len(scored) + 1))
    assert [r["score"] for r in scored] == sorted((r["score"] for r in scored), reverse=True)
    # Best peer by volume gets the whole volume part.
    assert max(r["components"]["volume"] or 0 for r in rows) == 1.0
    by_new = _get(api, auth, "demo_leader", "/assessment", sort="new", **params)["rows"]
    news = [r["indicators"]["new"] for r in by_new]
    assert news == sorted(news)
    by_closure = _get(api, auth, "demo_leader", "/assessment", sort="-closure_rate", **params)[
        "rows"
    ]
    values = [r["indicators"]["closure_rate"] for r in by_closure]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=True)
    assert values[len(present) :] == [None] * (len(values) - len(present))


def test_a_town_leader_sees_only_their_town(
    api: TestClient, auth: Auth, db: Session, workload: list[Event]
) -> None:
    other = add_town(db)
    params = {"from": "2026-12-29", "to": "2027-01-12", "level": "town"}
    district = _get(api, auth, "demo_district_leader", "/assessment", **params)
    assert other.id in {r["id"] for r in district["rows"]}
    assert len(district["rows"]) == 2
    mine = _get(api, auth, "demo_leader", "/assessment", **params)
    leader = db.scalars(select(User).where(User.username == "demo_leader")).one()
    assert [r["id"] for r in mine["rows"]] == [leader.home_org_id]
    for path in ("/assessment", "/assessment/export"):
        refused = api.get(
            f"/api/v1{path}", params={**params, "scope": other.id}, headers=auth("demo_leader")
        )
        assert refused.status_code == 403
        assert refused.json()["detail_zh"].startswith("超出您的管辖范围")
    trend = api.get("/api/v1/assessment/trend", params={"level": "town", "id": other.id},
                    headers=auth("demo_leader"))  # fmt: skip
    assert trend.status_code == 404
    # Grid workers and handlers are not assessors.
    assert api.get("/api/v1/assessment", headers=auth("demo_grid_worker")).status_code == 403


@pytest.mark.parametrize(
    ("start", "end"),
    [("2028-02-29", "2028-02-29"), ("2026-10-01", "2026-10-07"), ("2030-01-01", "2030-01-31"),
     ("2026-12-31", "2027-01-01")],
)  # fmt: skip
def test_empty_ranges_leap_days_and_holiday_weeks_answer_without_errors(
    api: TestClient, auth: Auth, start: str, end: str
) -> None:
    for level in service.LEVELS:
        data = _get(api, auth, "demo_district_leader", "/assessment", level=level,
                    **{"from": start, "to": end})  # fmt: skip
        assert data["start"] == start and data["end"] == end
        for row in data["rows"]:
            assert row["counts"]["new"] == 0
            assert row["indicators"]["closure_rate"] is None
            # Nothing to judge but volume, and nobody has any: no score at all.
            assert row["score"] is None and row["grade"] is None and row["rank"] is None


def test_the_trend_gives_monthly_scores_equal_to_each_months_ranking(
    workload: list[Event], api: TestClient, auth: Auth
) -> None:
    units = _get(api, auth, "demo_leader", "/assessment", level="unit",
                 **{"from": "2027-01-01", "to": "2027-01-31"})["rows"]  # fmt: skip
    unit = units[0]
    trend = _get(api, auth, "demo_leader", "/assessment/trend", level="unit", id=unit["id"],
                 to="2027-01-31", months=12)  # fmt: skip
    assert [p["month"] for p in trend["points"]][-3:] == ["2026-11", "2026-12", "2027-01"]
    assert len(trend["points"]) == 12
    assert trend["points"][-1]["score"] == unit["score"]
    assert trend["points"][-1]["rank"] == unit["rank"]
    assert trend["points"][0]["score"] is None  # no events a year before
    december = _get(api, auth, "demo_leader", "/assessment", level="unit",
                    **{"from": "2026-12-01", "to": "2026-12-31"})["rows"]  # fmt: skip
    in_december = next((r for r in december if r["id"] == unit["id"]), None)
    assert trend["points"][-2]["score"] == (in_december["score"] if in_december else None)


def test_the_csv_export_has_the_ranking_in_chinese(
    workload: list[Event], api: TestClient, auth: Auth
) -> None:
    params = {"from": "2026-12-29", "to": "2027-01-12", "level": "town"}
    response = api.get("/api/v1/assessment/export", params=params, headers=auth("demo_leader"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:4] == ["排名", "镇街", "所属", "上报数"]
    town = _get(api, auth, "demo_leader", "/assessment", **params)["rows"][0]
    assert lines[1].split(",")[1] == town["name"]
    assert lines[1].split(",")[-1] == town["grade"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "2026-13-01"}, "from"), ({"to": "2027-02-29"}, "to"), ({"level": "county"}, "level"),
     ({"sort": "-colour"}, "sort"), ({"from": "2027-01-02", "to": "2027-01-01"}, "from"),
     ({"from": "2020-01-01", "to": "2026-01-01"}, "from")],
)  # fmt: skip
def test_bad_input_is_a_problem_naming_the_field_in_both_languages(
    api: TestClient, auth: Auth, params: dict[str, str], field: str
) -> None:
    response = api.get("/api/v1/assessment", params=params, headers=auth("demo_leader"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["field"] == field
    assert error["reason"] and any("\u4e00" <= ch <= "\u9fff" for ch in error["reason_zh"])


def test_units_and_villages_outside_a_village_scope_are_refused_as_levels(
    api: TestClient, auth: Auth, db: Session
) -> None:
    worker = db.scalars(select(User).where(User.username == "demo_grid_worker")).one()
    grid = db.get(OrgUnit, worker.home_org_id)
    assert grid is not None
    response = api.get("/api/v1/assessment", params={"level": "town", "scope": grid.parent_id},
                       headers=auth("demo_leader"))  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "level"
    ok = _get(api, auth, "demo_leader", "/assessment", level="worker", scope=grid.parent_id)
    assert ok["scope"]["level"] == "village"
