"""The annual target assessment (issue 20, item 6) and benchmark towns (item 5): the formula
on hand-computed numbers, the scheme's weights refused unless they sum to 100, departments
judged by the area that holds them (a town's leader never judges another town's agency),
the scope of what each reads, closing a year, and the confirmed list of benchmark towns."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.analytics.rollups import apply_pending
from fengqiao.assessment.annual import DEFAULT_WEIGHTS, Inputs, events_part, town_parts, weigh
from fengqiao.assessment.annual_models import AnnualLog, AnnualScheme, BenchmarkList
from fengqiao.auth.models import User, UserRole
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.org.models import OrgUnit, Unit
from tests.assessment.conftest import add_town
from tests.conftest import BoundDatabase
from tests.events.conftest import Desk, World

Auth = Any
TOWN_WEIGHTS = {"events": 40, "rounds": 20, "rectification": 10, "campaigns": 10,
                "meetings": 10, "decisions": 10}  # fmt: skip
DEPARTMENT_WEIGHTS = {"evaluation": 60, "events": 40}
BENCHMARK_WEIGHTS = {"self_assessment": 10, "rounds": 10, "effect": 50, "satisfaction": 30}


# --- the formula, by hand ------------------------------------------------------------------


def test_town_total_by_hand() -> None:
    """events (80 + 90 + 70) ÷ 3 = 80; rounds 90; rectification 80 %; campaigns 50 %; meetings
    10 of 12 = 83.3; decisions 75 %: (40×80 + 20×90 + 10×80 + 10×50 + 10×83.3 + 10×75) ÷ 100
    = 78.83 → 78.8, grade B; the points add up to the total."""
    inputs = Inputs(rounds={1: 90.0}, rectification={1: 0.8}, campaigns={1: 0.5},
                    meetings={1: (10, 12)}, decisions={1: 0.75}, self_assessment={1: 85.0})  # fmt: skip
    parts = town_parts(1, inputs, [80.0, 90.0, None, 70.0], DEFAULT_WEIGHTS)
    assert [p.score for p in parts] == [80.0, 90.0, 80.0, 50.0, 83.3, 75.0]
    total, formula = weigh(parts)
    assert total == 78.8
    assert [p.points for p in parts] == [32.0, 18.0, 8.0, 5.0, 8.3, 7.5]
    assert sum(p.points or 0 for p in parts) == pytest.approx(78.8)
    assert formula == (
        "总分 =（40 × 80 + 20 × 90 + 10 × 80 + 10 × 50 + 10 × 83.3 + 10 × 75）÷ 100 = 78.8"
    )
    assert parts[4].basis == "召开 10 次 ÷ 应开 12 次 × 100"
    assert parts[0].basis == "3个月综合得分平均：（80 + 90 + 70）÷ 3"


def test_the_months_counted_say_which_and_leave_a_running_month_apart() -> None:
    """December 6th: not "12个月" but eleven whole months and six days of December."""
    from datetime import date

    from fengqiao.assessment.annual import counted_words, months_of

    assert counted_words(months_of(2026, date(2026, 12, 6))) == "1月至11月及12月1日至6日"
    assert counted_words(months_of(2026, date(2026, 12, 31))) == "1月至12月"
    assert counted_words(months_of(2026, date(2026, 1, 31))) == "1月"
    assert counted_words(months_of(2026, date(2026, 1, 9))) == "1月1日至9日"
    assert counted_words(months_of(2026, date(2026, 2, 1))) == "1月及2月1日"


def test_parts_without_data_are_left_out_and_said_so() -> None:
    """No round score for the town and campaigns not wired: (40×80 + 10×80 + 10×83.3 + 10×75)
    ÷ 70 = 79.76 → 79.8, and the formula names what was left out."""
    inputs = Inputs(rounds={}, rectification={1: 0.8}, campaigns=None, meetings={1: (10, 12)},
                    decisions={1: 0.75})  # fmt: skip
    parts = town_parts(1, inputs, [80.0], DEFAULT_WEIGHTS)
    total, formula = weigh(parts)
    assert total == 79.8
    assert "÷ 70 = 79.8" in formula and "督查评分、专项整治进度无数据不计" in formula
    assert parts[3].basis == "该项数据来源尚未接入，不计"
    assert sum(p.points or 0 for p in parts) == pytest.approx(79.8)
    assert weigh([events_part(None, 40, "月度事件考核")]) == (None, "无可计分的考核项，暂无总分")


# --- the API on a small world ---------------------------------------------------------------


def _at(clock: FixedClock, year: int, month: int, day: int, hour: int) -> None:
    clock.set(datetime(year, month, day, hour, tzinfo=LOCAL_TZ))


@pytest.fixture
def year_of_events(desk: Desk, clock: FixedClock, bound: BoundDatabase, db: Session) -> None:
    """March: one event closed on time (composite 100). June: two events, one closed on time,
    one left reported (volume 1, closure 0.5, on time 1, no rework: 10 + 15 + 30 + 30 = 85)."""
    _at(clock, 2026, 3, 3, 9)
    desk.verify_ok(desk.to_handled(desk.file()))
    _at(clock, 2026, 6, 2, 9)
    desk.verify_ok(desk.to_handled(desk.file()))
    desk.file()
    apply_pending(bound)
    db.expire_all()


def _leader_of(db: Session, town: OrgUnit) -> str:
    user = User(username=f"ld{town.code}_1", name="安昌领导", home_org_id=town.id)
    db.add(user)
    db.flush()
    db.add(UserRole(user_id=user.id, role="leader"))
    db.commit()
    return user.username


def _scheme(api: TestClient, auth: Auth, *, user: str = "demo_district_leader", version: int = 0,
            expect: int = 200, **changes: Any) -> dict[str, Any]:  # fmt: skip
    body = {"year": 2026, "weights": TOWN_WEIGHTS, "department_weights": DEPARTMENT_WEIGHTS,
            "benchmark_weights": BENCHMARK_WEIGHTS, "benchmark_count": 1, "version": version,
            **changes}  # fmt: skip
    response = api.put("/api/v1/assessment/annual/scheme", json=body, headers=auth(user))
    assert response.status_code == expect, response.text
    return dict(response.json())


def _agency(db: Session, world: World) -> Unit:
    unit = db.get(Unit, world.handler_unit)
    assert unit is not None and unit.category == "agency"
    return unit


def test_town_and_agency_reports_by_hand(
    api: TestClient, auth: Auth, db: Session, world: World, year_of_events: None
) -> None:
    """The town, on a scheme weighing the events only: (100 + 85) ÷ 2 = 92.5. Its
    law-enforcement squadron: evaluated 80 by the town's leader, its events 100 in both
    months: (60 × 80 + 40 × 100) ÷ 100 = 88."""
    _scheme(api, auth, weights={key: 100 if key == "events" else 0 for key in TOWN_WEIGHTS})
    unit = _agency(db, world)
    put = api.put(f"/api/v1/assessment/annual/evaluations/{unit.id}",
                  json={"year": 2026, "score": 80, "note": "配合联合执法积极"},
                  headers=auth("demo_leader"))  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json()["total"] == 88.0
    answer = api.get("/api/v1/assessment/annual", params={"year": 2026},
                     headers=auth("demo_district_leader")).json()  # fmt: skip
    assert answer["months"] == 6 and answer["partial"] is True
    assert answer["counted"] == "1月至5月及6月1日至2日"
    assert answer["scheme"]["stored"] is True
    town = next(t for t in answer["towns"] if t["total"] is not None)
    events = town["parts"][0]
    assert (events["key"], events["score"], events["points"]) == ("events", 92.5, 92.5)
    assert events["basis"] == "2个月综合得分平均：（100 + 85）÷ 2"
    assert town["total"] == 92.5 and town["grade"] == "A" and town["rank"] == 1
    assert town["formula"] == "总分 =（100 × 92.5）÷ 100 = 92.5"
    agency = next(d for d in answer["departments"] if d["id"] == unit.id)
    assert [p["score"] for p in agency["parts"]] == [80.0, 100.0]
    assert [p["points"] for p in agency["parts"]] == [48.0, 40.0]
    assert agency["total"] == 88.0 and agency["rank"] == 1
    assert agency["formula"] == "总分 =（60 × 80 + 40 × 100）÷ 100 = 88"
    one = api.get(f"/api/v1/assessment/annual/departments/{unit.id}", params={"year": 2026},
                  headers=auth("demo_leader"))  # fmt: skip
    assert one.status_code == 200 and one.json()["can_evaluate"] is True
    csv = api.get("/api/v1/assessment/annual/export", params={"year": 2026},
                  headers=auth("demo_district_operator"))  # fmt: skip
    assert csv.status_code == 200 and "92.5" in csv.text and unit.name in csv.text
    xlsx = api.get("/api/v1/assessment/annual/export", params={"year": 2026, "format": "xlsx"},
                   headers=auth("demo_district_operator"))  # fmt: skip
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet["A1"].value == "类别"
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert ("镇街", town["name"]) in [(r[0], r[1]) for r in rows]
    assert next(r for r in rows if r[1] == unit.name)[4] == "88.0"


def test_weights_must_sum_to_100_and_nothing_is_stored(
    api: TestClient, auth: Auth, db: Session
) -> None:
    bad = {**TOWN_WEIGHTS, "events": 30}
    cases: tuple[tuple[str, dict[str, Any]], ...] = (
        ("weights", {"weights": bad}),
        ("weights.morale", {"weights": {**TOWN_WEIGHTS, "morale": 0}}),
        ("weights.decisions", {"weights": {k: v for k, v in TOWN_WEIGHTS.items()
                                           if k != "decisions"} | {"events": 50}}),
        ("department_weights", {"department_weights": {"evaluation": 60, "events": 60}}),
        ("benchmark_weights", {"benchmark_weights": {**BENCHMARK_WEIGHTS, "effect": 0}}),
    )  # fmt: skip
    for field, changes in cases:
        problem = _scheme(api, auth, expect=422, **changes)
        assert problem["errors"][0]["field"] == field, problem
        assert problem["title_zh"] == "输入有误" and problem["detail_zh"]
    assert db.scalar(select(func.count()).select_from(AnnualScheme)) == 0
    read = api.get("/api/v1/assessment/annual/scheme", params={"year": 2026},
                   headers=auth("demo_operator")).json()  # fmt: skip
    assert read["stored"] is False and read["weights"]["events"] == 40 and not read["can_edit"]
    # Town leaders do not set the scheme; a stale version is refused.
    _scheme(api, auth, user="demo_leader", expect=403)
    stored = _scheme(api, auth)
    assert stored["version"] == 1 and stored["can_edit"] is True
    _scheme(api, auth, version=0, expect=409)
    changed = _scheme(api, auth, version=1, weights={**TOWN_WEIGHTS, "events": 30, "rounds": 30})
    assert changed["weights"]["rounds"] == 30 and changed["version"] == 2


def test_a_town_leader_judges_only_the_agencies_of_their_town(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    unit = _agency(db, world)
    other = add_town(db)
    stranger = _leader_of(db, other)
    url = f"/api/v1/assessment/annual/evaluations/{unit.id}"
    body = {"year": 2026, "score": 70}
    for user in (stranger, "demo_district_leader"):
        refused = api.put(url, json=body, headers=auth(user))
        assert refused.status_code == 403, refused.text
        assert "派驻机构由所在镇街领导评价" in refused.json()["detail_zh"]
    assert api.put(url, json=body, headers=auth("demo_operator")).status_code == 403
    assert db.scalar(select(func.count()).select_from(AnnualLog)) == 0
    assert api.put(url, json=body, headers=auth("demo_leader")).status_code == 200
    # A second write must carry the version read.
    assert api.put(url, json=body, headers=auth("demo_leader")).status_code == 409
    # The stranger's town sees itself only: no other town, no agency of another town.
    theirs = api.get("/api/v1/assessment/annual", params={"year": 2026},
                     headers=auth(stranger)).json()  # fmt: skip
    assert [t["id"] for t in theirs["towns"]] == [other.id]
    assert all(d["area_id"] == other.id for d in theirs["departments"])
    hidden = api.get(f"/api/v1/assessment/annual/departments/{unit.id}", headers=auth(stranger))
    assert hidden.status_code == 404
    mine = api.get("/api/v1/assessment/annual", headers=auth("demo_operator")).json()
    assert other.id not in {t["id"] for t in mine["towns"]}
    assert {d["area_id"] for d in mine["departments"]} == {unit.org_unit_id}


def test_a_closed_year_changes_no_more(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    unit = _agency(db, world)
    stored = _scheme(api, auth)
    close = api.post("/api/v1/assessment/annual/scheme/close",
                     json={"year": 2026, "version": stored["version"]},
                     headers=auth("demo_district_leader"))  # fmt: skip
    assert close.status_code == 200 and close.json()["status"] == "closed"
    _scheme(api, auth, version=close.json()["version"], expect=409)
    late = api.put(f"/api/v1/assessment/annual/evaluations/{unit.id}",
                   json={"year": 2026, "score": 90}, headers=auth("demo_leader"))  # fmt: skip
    assert late.status_code == 409 and late.json()["type"].endswith("/year-closed")


def test_benchmark_towns_ranked_and_confirmed(
    api: TestClient, auth: Auth, db: Session, world: World, year_of_events: None
) -> None:
    """On a scheme weighing 工作成效明显 60 and 群众满意 40 (the standard's parts 0), the demo
    town: 92.5 (its events) and 100 (no ratings; both handled events passed verification at the
    first 核查): (60 × 92.5 + 40 × 100) ÷ 100 = 95.5. The other town, without events, scores 0
    each month (the monthly composite's volume part is 0 beside a town that reported) and ranks second."""
    other = add_town(db)
    _scheme(api, auth, benchmark_weights={"self_assessment": 0, "rounds": 0, "effect": 60,
                                          "satisfaction": 40})  # fmt: skip
    answer = api.get("/api/v1/assessment/benchmarks", params={"year": 2026},
                     headers=auth("demo_district_leader")).json()  # fmt: skip
    best, second = sorted(answer["standings"], key=lambda s: s["rank"])
    assert best["total"] == 95.5 and best["rank"] == 1
    assert (second["id"], second["total"], second["grade"]) == (other.id, 0.0, "E")
    scores = {p["key"]: p["score"] for p in best["parts"]}
    assert (scores["effect"], scores["satisfaction"]) == (92.5, 100.0)
    assert answer["proposed"] == [best["id"]] and answer["confirmed"] is None
    url = "/api/v1/assessment/benchmarks/confirm"
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
    for town_ids in ([district.id], [best["id"], other.id], [best["id"], best["id"]]):
        refused = api.post(url, json={"year": 2026, "town_ids": town_ids},
                           headers=auth("demo_district_leader"))  # fmt: skip
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "town_ids"
    assert api.post(url, json={"year": 2026, "town_ids": [best["id"]]},
                    headers=auth("demo_leader")).status_code == 403  # fmt: skip
    assert db.get(BenchmarkList, 2026) is None
    other_leader = _leader_of(db, other)
    early = api.get("/api/v1/assessment/benchmarks", params={"year": 2026},
                    headers=auth(other_leader)).json()  # fmt: skip
    assert [s["id"] for s in early["standings"]] == [other.id]
    assert early["proposed"] == [best["id"]] and early["proposed_names"] == [best["name"]]
    done = api.post(url, json={"year": 2026, "town_ids": [best["id"]], "note": "区委常委会审定"},
                    headers=auth("demo_district_leader"))  # fmt: skip
    assert done.status_code == 200, done.text
    listed = done.json()
    assert listed["confirmed"] == [best["id"]] and listed["confirmed_by"]
    assert listed["confirmed_at"] and listed["confirmed_standings"][0]["total"] == 95.5
    town_view = api.get("/api/v1/assessment/benchmarks", params={"year": 2026},
                        headers=auth(other_leader)).json()  # fmt: skip
    assert [s["id"] for s in town_view["standings"]] == [other.id]
    assert town_view["confirmed_names"] == [best["name"]]


def test_the_monthly_scores_are_the_assessment_pages(db: Session, year_of_events: None) -> None:
    """月度事件考核 reads the rollups itself (no patrols: they only cap grades), and gets for every
    town and unit of every month the score the 考核 page's ranking gives."""
    from fengqiao.analytics.query import Scope
    from fengqiao.assessment import annual, service
    from fengqiao.assessment.annual_service import root_of

    district = root_of(db)  # the district of a district-only database
    scope = Scope("district", district.id, district.name)
    weights = service.Weights()
    today = datetime(2026, 6, 2, tzinfo=LOCAL_TZ).date()
    got = annual.monthly(db, district=scope, year=2026, today=today, weights=weights)
    judged = set(annual.DEPARTMENT_CATEGORIES)
    assert len(got.months) == 6
    scored = 0
    for index, (first, last) in enumerate(got.months):
        for level, mine in (("town", got.towns), ("unit", got.units)):
            page = service.assess(db, scope=scope, level=level, start=first, end=last,
                                  weights=weights, today=today)  # fmt: skip
            for row in page.rows:
                if level == "unit" and db.get(Unit, row.id).category not in judged:  # type: ignore[union-attr]
                    continue  # scored among all units, kept for the departments only
                assert mine.get(row.id, [None] * 6)[index] == row.score, (level, first, row.name)
                scored += row.score is not None
    assert scored == 4  # the town and the squadron, in March and in June


def test_every_input_is_read_through_its_contract(api: TestClient, auth: Auth, db: Session) -> None:
    """Each town part's raw value is what the other mechanism's contract function gives for the
    town (the demo seeds rounds, rectifications, self-assessments, campaigns and meetings), the
    total is the weighted mean of the scores present, and nothing is missing."""
    from fengqiao.campaigns.service import town_progress
    from fengqiao.inspections.service import rectification_rates, round_scores, self_assessments
    from fengqiao.meetings.service import decisions_on_time, meetings_held

    year = 2026
    answer = api.get("/api/v1/assessment/annual", params={"year": year},
                     headers=auth("demo_district_leader")).json()  # fmt: skip
    assert answer["missing_inputs"] == []
    given = {
        "rounds": round_scores(db=db, year=year),
        "rectification": rectification_rates(db=db, year=year),
        "campaigns": town_progress(db=db, year=year),
        "decisions": decisions_on_time(db=db, year=year),
    }
    held = meetings_held(db=db, year=year)
    assert any(given.values()), "the demo world holds none of the inputs: the test would be vacuous"
    for town in answer["towns"]:
        parts = {p["key"]: p for p in town["parts"]}
        for key, values in given.items():
            assert parts[key]["raw"] == values.get(town["id"]), (key, town["name"])
        pair = held.get(town["id"])
        assert parts["meetings"]["raw"] == (pair[0] / pair[1] if pair and pair[1] else None)
        present = [p for p in town["parts"] if p["score"] is not None and p["weight"] > 0]
        if present:
            expected = sum(p["weight"] * p["score"] for p in present) / sum(
                p["weight"] for p in present
            )
            assert town["total"] == pytest.approx(round(expected, 1))
    standings = api.get("/api/v1/assessment/benchmarks", params={"year": year},
                        headers=auth("demo_district_leader")).json()["standings"]  # fmt: skip
    selfs = self_assessments(db=db, year=year)
    for town in standings:
        own = next(p for p in town["parts"] if p["key"] == "self_assessment")
        assert own["raw"] == selfs.get(town["id"])
