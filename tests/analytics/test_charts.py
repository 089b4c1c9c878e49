"""Every chart against a direct count over the events, for awkward ranges, on both backends.

The expectations below are computed from the `event` rows themselves (local days, states,
deadlines), not from the rollups' entries, so a mistake in either shows up as a difference.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics import chart_places
from fengqiao.analytics.charts import CHARTS
from fengqiao.analytics.rollups import apply_pending
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.escalation import EscalationPolicy
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.supervision.sweeper import sweep
from tests.conftest import BoundDatabase
from tests.events.conftest import Desk

Auth = Callable[[str], dict[str, str]]
OPEN = {"reported", "accepted", "dispatched", "signed", "handled", "self_handled", "suspended"}

# The awkward ranges of the issue: a month, New Year, a leap day alone, a holiday week (National
# Day 2027), an empty stretch, and a year spanning all of them.
RANGES = {
    "december": (date(2026, 12, 1), date(2026, 12, 31)),
    "new_year": (date(2026, 12, 30), date(2027, 1, 2)),
    "leap_day": (date(2028, 2, 29), date(2028, 2, 29)),
    "holiday_week": (date(2027, 10, 1), date(2027, 10, 7)),
    "empty": (date(2025, 3, 1), date(2025, 3, 31)),
    "year": (date(2026, 12, 1), date(2028, 3, 31)),
}
# When events are filed (local times), besides the random workload in December 2026.
MOMENTS = [
    datetime(2026, 12, 31, 23, 40, tzinfo=LOCAL_TZ),
    datetime(2027, 1, 1, 0, 20, tzinfo=LOCAL_TZ),
    datetime(2027, 10, 2, 10, 0, tzinfo=LOCAL_TZ),
    datetime(2027, 10, 5, 15, 0, tzinfo=LOCAL_TZ),
    datetime(2028, 2, 29, 8, 30, tzinfo=LOCAL_TZ),
    datetime(2028, 2, 29, 23, 59, tzinfo=LOCAL_TZ),
]


def local_day(at: datetime | None) -> date:
    assert at is not None
    return at.astimezone(LOCAL_TZ).date()


def walk(desk: Desk, event: dict[str, Any], rng: random.Random, clock: FixedClock) -> None:
    """Take a filed event (routed to demo_handler) down a random path."""
    path = rng.choice(["leave", "accept", "reject", "loop", "loop", "rework", "return"])
    if path == "reject":
        desk.act(event, "demo_operator", "reject", note="不属于受理范围")
    elif path == "accept":
        desk.act(event, "demo_operator", "accept")
    elif path == "return":
        event = desk.act(event, "demo_operator", "accept")
        event = desk.act(event, "demo_operator", "dispatch")
        desk.act(event, "demo_handler", "return", note="不属于本单位职责")
    elif path in ("loop", "rework"):
        event = desk.to_handled(event)
        clock.advance(timedelta(hours=rng.choice([2, 30, 100])))
        if path == "rework":
            event = desk.act(event, "demo_grid_worker", "verify", ok=False, note="仍有问题")
            photo = desk.photo(event, "demo_handler")
            event = desk.act(event, "demo_handler", "feedback", result="再次处置", attachment_ids=[photo])  # fmt: skip
        event = desk.verify_ok(event)
        if rng.random() < 0.7:
            desk.act(event, "demo_grid_worker", "rate", satisfaction=rng.randint(1, 5))


@pytest.fixture
def workload(desk: Desk, clock: FixedClock, bound: BoundDatabase, db: Session) -> dict[str, int]:
    """Events in December 2026 (random paths, time passing, the sweeper), at the moments above,
    and a few in another town filed by the district's command room."""
    rng = random.Random(11)
    world = desk.world
    for _ in range(18):
        event = desk.file(level=2, urgent=rng.random() < 0.1)
        walk(desk, event, rng, clock)
        clock.advance(timedelta(hours=rng.choice([2, 7, 20, 31])))
        if rng.random() < 0.5:
            sweep(bound, clock.now(), EscalationPolicy())
    for moment in MOMENTS:
        clock.set(moment)
        event = desk.file(level=2)
        walk(desk, event, rng, clock)
    clock.set(datetime(2027, 10, 3, 9, 0, tzinfo=LOCAL_TZ))
    desk.file(level=2, category=world.other_category)
    # Another town (imported), with calls filed by the district's command room.
    town_of_worker = db.scalar(
        select(OrgUnit.id).where(OrgUnit.name == "柯桥街道", OrgUnit.kind == "town")
    )
    west, south = 120.36, 29.96
    square = [[west, south], [west + 0.03, south], [west + 0.03, south + 0.03],
              [west, south + 0.03], [west, south]]  # fmt: skip
    features = [
        {"type": "Feature", "properties": {"code": code, "name": name, **props},
         "geometry": {"type": "Polygon", "coordinates": [square]}}
        for code, name, props in (
            ("330603009", "安昌街道", {"area_type": "rural"}),
            ("330603009001", "安昌村", {"village_type": "village"}),
            ("330603009001001", "安昌村第1网格", {"households": 120, "population": 360}),
        )
    ]  # fmt: skip
    imported = desk.api.post(
        "/api/v1/org/import",
        json={"type": "FeatureCollection", "features": features},
        headers=desk.auth("admin"),
    )
    assert imported.status_code in (200, 201), imported.text
    other_town = db.scalar(select(OrgUnit.id).where(OrgUnit.code == "330603009"))
    lat, lng = south + 0.015, west + 0.015
    clock.set(datetime(2026, 12, 10, 10, 0, tzinfo=LOCAL_TZ))
    for _ in range(3):
        desk.file("demo_district_operator", source="hotline", lat=lat, lng=lng, level=2)
    clock.set(datetime(2028, 3, 31, 12, 0, tzinfo=LOCAL_TZ))
    sweep(bound, clock.now(), EscalationPolicy())
    apply_pending(bound)  # the worker's round
    district = db.scalar(select(OrgUnit.id).where(OrgUnit.kind == "district"))
    assert district is not None and town_of_worker is not None and other_town is not None
    return {
        "district": district,
        "town": town_of_worker,
        "other_grid_town": other_town,
    }


class Oracle:
    """Counts straight from the event rows of a scope."""

    def __init__(self, db: Session, column: str | None, org_id: int) -> None:
        statement = select(Event)
        if column:
            statement = statement.where(getattr(Event, column) == org_id)
        self.events = list(db.scalars(statement))

    def filed(self, start: date, end: date) -> list[Event]:
        return [e for e in self.events if start <= local_day(e.created_at) <= end]

    def closed_in(self, start: date, end: date) -> list[Event]:
        return [
            e
            for e in self.events
            if e.status == "closed" and start <= local_day(e.closed_at) <= end
        ]


def seconds(e: Event) -> int:
    assert e.closed_at is not None
    return max(0, round((e.closed_at - e.created_at).total_seconds() - e.paused_seconds))


def on_time(e: Event) -> bool:
    return e.due_at is None or (e.closed_at is not None and e.closed_at <= e.due_at)


def chart(
    api: TestClient, auth: Auth, name: str, user: str, scope: int, start: date, end: date
) -> dict[str, Any]:
    response = api.get(
        f"/api/v1/analytics/charts/{name}",
        params={"scope": scope, "from": start.isoformat(), "to": end.isoformat()},
        headers=auth(user),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def axis(start: date, end: date) -> tuple[list[str], Callable[[date], str]]:
    if (end - start).days + 1 <= 92:
        return [d.strftime("%m-%d") for d in days(start, end)], lambda d: d.strftime("%m-%d")
    months = sorted({d.strftime("%Y-%m") for d in days(start, end)})
    return months, lambda d: d.strftime("%Y-%m")


def periods(start: date, end: date) -> list[str]:
    """The axis's periods as the CSV table writes them: days with their year."""
    if (end - start).days + 1 <= 92:
        return [d.isoformat() for d in days(start, end)]
    return axis(start, end)[0]


@pytest.mark.parametrize("who", ["district", "town"])
def test_every_chart_matches_a_direct_count_over_the_events(
    api: TestClient, auth: Auth, db: Session, workload: dict[str, int], who: str
) -> None:
    for range_name, (start, end) in RANGES.items():
        check_charts(api, auth, db, workload, who, range_name, start, end)


def check_charts(
    api: TestClient,
    auth: Auth,
    db: Session,
    workload: dict[str, int],
    who: str,
    range_name: str,
    start: date,
    end: date,
) -> None:
    user, column = (
        ("demo_district_leader", None) if who == "district" else ("demo_leader", "town_id")
    )
    scope = workload[who]
    oracle = Oracle(db, column, scope)
    filed, done = oracle.filed(start, end), oracle.closed_in(start, end)
    got = {c.name: chart(api, auth, c.name, user, scope, start, end) for c in CHARTS}
    if range_name == "empty":
        assert not filed and all(c["table"]["rows"] == [] or _all_zero(c) for c in got.values())
    labels, label = axis(start, end)

    # 1 new by filing day, closed by closing day
    c = got["daily_new_closed"]
    assert c["x"] == labels
    new_by = Counter(label(local_day(e.created_at)) for e in filed)
    done_by = Counter(label(local_day(e.closed_at)) for e in done)
    assert c["series"][0]["data"] == [new_by[x] for x in labels]
    assert c["series"][1]["data"] == [done_by[x] for x in labels]
    assert c["compare"]["current"] == {"new": len(filed), "done": len(done)}

    # 2 what became of the events filed in the range
    status = {d["name"]: d["value"] for d in got["handling_status"]["series"][0]["data"]}
    assert status["已结案"] == sum(e.status == "closed" for e in filed)
    assert status["超期未结"] == sum(e.status in OPEN and e.overdue_at is not None for e in filed)
    assert status["办理中"] == sum(e.status in OPEN and e.overdue_at is None for e in filed)
    assert status["不予受理"] == sum(e.status == "rejected" for e in filed)

    # 3-6 distributions of the filed events
    def distribution(name: str) -> dict[str, int]:
        return {d["key"]: d["value"] for d in got[name]["series"][0]["data"]}

    assert distribution("levels") == dict(Counter(e.level for e in filed))
    assert distribution("sources") == dict(Counter(e.source for e in filed))
    minor = Counter(e.category_code for e in filed)
    assert distribution("top_minor_classes") == dict(
        sorted(minor.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    )
    majors = got["major_classes"]
    assert sum(majors["series"][0]["data"]) == len(filed)
    assert sum(majors["series"][1]["data"]) == sum(e.status == "closed" for e in filed)
    platforms = got["platforms"]
    assert sum(platforms["series"][0]["data"]) == len(filed)

    # 7, 8, 15: whole months at district and town scope (the range actually summed is stated)
    heat = got["hour_weekday"]
    lo, hi = (
        date.fromisoformat(heat["effective"]["from"]),
        date.fromisoformat(heat["effective"]["to"]),
    )
    assert heat["effective"]["widened"] == ((lo, hi) != (start, end))
    cells = Counter(
        (e.created_at.astimezone(LOCAL_TZ).hour, e.created_at.astimezone(LOCAL_TZ).weekday())
        for e in oracle.filed(lo, hi)
    )
    assert {(h, d): v for h, d, v in heat["series"][0]["data"] if v} == dict(cells)
    grids = got["grid_map"]["grids"]
    assert {int(k): v for k, v in grids.items() if v} == dict(
        Counter(e.grid_id for e in oracle.filed(lo, hi))
    )
    workers = got["worker_activity"]
    by_worker = [e for e in oracle.filed(lo, hi) if e.source == "grid_worker"]
    months = sorted({local_day(e.created_at).strftime("%Y-%m") for e in by_worker})
    assert workers["table"]["rows"] == [
        [
            m,
            len(
                {e.reporter_id for e in by_worker if local_day(e.created_at).strftime("%Y-%m") == m}
            ),
            sum(local_day(e.created_at).strftime("%Y-%m") == m for e in by_worker),
            round(
                sum(local_day(e.created_at).strftime("%Y-%m") == m for e in by_worker)
                / len(
                    {
                        e.reporter_id
                        for e in by_worker
                        if local_day(e.created_at).strftime("%Y-%m") == m
                    }
                ),
                1,
            ),
        ]
        for m in months
    ]

    # 9 subdivisions ranked: towns of the district are exact, villages of a town whole months
    areas = got["areas_ranked"]
    child_column = "town_id" if who == "district" else "village_id"
    span = (start, end) if who == "district" else (lo, hi)
    by_area = Counter(getattr(e, child_column) for e in oracle.filed(*span))
    shown = dict(zip(areas["x"], areas["series"][1]["data"], strict=True))
    assert sum(shown.values()) == sum(by_area.values())

    # 10, 11: closings of the range
    handling = got["handling_time"]
    assert handling["summary"]["done"] == len(done)
    assert sum(handling["series"][0]["data"]) == len(done)
    if done:
        assert handling["summary"]["average_hours"] == round(
            sum(map(seconds, done)) / len(done) / 3600, 1
        )
    trend = got["on_time_trend"]
    ontime_by = Counter(label(local_day(e.closed_at)) for e in done if on_time(e))
    assert trend["series"][1]["data"] == [done_by[x] for x in labels]
    assert trend["table"]["rows"] == [
        [
            period,
            done_by[x],
            ontime_by[x],
            round(ontime_by[x] / done_by[x] * 100, 1) if done_by[x] else None,
        ]
        for x, period in zip(labels, periods(start, end), strict=True)
    ]

    # 12, 13: overdue and units
    overdue = got["overdue_by_place_unit"]
    assert sum(overdue["series"][0]["data"]) == sum(
        e.overdue_at is not None for e in oracle.filed(*span)
    )
    assert sum(overdue["units"]["data"]) == sum(
        e.overdue_at is not None and e.owner_unit_id is not None for e in filed
    )
    units = got["units_volume_time"]
    dispatched = Counter(
        e.owner_unit_id for e in filed if e.dispatched_at is not None and e.owner_unit_id
    )
    assert sorted(p["value"][0] for p in units["series"][0]["data"]) == sorted(dispatched.values())

    # 16: the same days a year before and the period just before
    changes = got["class_changes"]
    assert sum(changes["series"][0]["data"]) == len(filed)
    yoy_start, yoy_end = (date.fromisoformat(d) for d in changes["ranges"]["yoy"])
    assert sum(changes["series"][1]["data"]) == len(oracle.filed(yoy_start, yoy_end))
    mom_start, mom_end = (date.fromisoformat(d) for d in changes["ranges"]["mom"])
    assert (mom_end - mom_start) == (end - start) and mom_end == start - timedelta(days=1)
    assert sum(changes["series"][2]["data"]) == len(oracle.filed(mom_start, mom_end))

    # 17: returns and rework of the events filed in each period
    rework = got["return_rework"]
    rows = {r[0]: r for r in rework["table"]["rows"]}
    for x, period in zip(labels, periods(start, end), strict=True):
        mine = [e for e in filed if label(local_day(e.created_at)) == x]
        assert rows[period][1:3] == [
            sum(e.dispatched_at is not None for e in mine),
            sum(e.return_count > 0 for e in mine),
        ]
        assert rows[period][4:6] == [
            sum(e.status == "closed" for e in mine),
            sum(e.rework_count > 0 for e in mine),
        ]

    # 18: satisfaction and verification of the closed events filed in the range
    satisfaction = got["satisfaction_verification"]
    rated = [e.satisfaction for e in filed if e.status == "closed" and e.satisfaction]
    assert satisfaction["summary"]["rated"] == len(rated)
    assert satisfaction["summary"]["average"] == (
        round(sum(rated) / len(rated), 2) if rated else None
    )
    assert satisfaction["summary"]["failed"] == sum(e.rework_count for e in filed)


def _all_zero(body: dict[str, Any]) -> bool:
    numbers = [v for series in body.get("series", []) for v in _values(series.get("data", []))]
    return all(not v for v in numbers)


def _values(data: list[Any]) -> list[float]:
    out: list[float] = []
    for item in data:
        if isinstance(item, dict):
            value = item.get("value")
            out += (
                [v for v in value if isinstance(v, int | float)]
                if isinstance(value, list)
                else [value or 0]
            )
        elif isinstance(item, list):
            out.append(item[-1])
        elif item is not None:
            out.append(item)
    return out


def test_a_town_leader_sees_only_their_town(
    api: TestClient, auth: Auth, workload: dict[str, int]
) -> None:
    start, end = RANGES["december"]
    district = chart(
        api, auth, "daily_new_closed", "demo_district_leader", workload["district"], start, end
    )
    town = chart(api, auth, "daily_new_closed", "demo_leader", workload["town"], start, end)
    assert district["compare"]["current"]["new"] == town["compare"]["current"]["new"] + 3
    # The town leader's default scope is the town; the district or another town is refused.
    default = api.get("/api/v1/analytics/charts/sources", params={"from": "2026-12-01", "to": "2026-12-31"},
                      headers=auth("demo_leader"))  # fmt: skip
    assert default.json()["scope"]["id"] == workload["town"]
    for other in (workload["district"], workload["other_grid_town"]):
        refused = api.get(
            "/api/v1/analytics/charts/sources", params={"scope": other}, headers=auth("demo_leader")
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "管辖范围" in refused.json()["detail_zh"]


def test_a_village_is_summed_exactly_from_its_events(
    api: TestClient, auth: Auth, db: Session, workload: dict[str, int], desk: Desk
) -> None:
    grid = db.get(OrgUnit, db.scalar(select(Event.grid_id).order_by(Event.id).limit(1)))
    assert grid is not None and grid.parent_id is not None
    start, end = date(2026, 12, 5), date(2027, 1, 1)
    body = chart(api, auth, "hour_weekday", "demo_leader", grid.parent_id, start, end)
    assert body["effective"] == {"from": "2026-12-05", "to": "2027-01-01", "widened": False}
    filed = [e for e in Oracle(db, "village_id", grid.parent_id).filed(start, end)]
    assert sum(v for *_, v in body["series"][0]["data"]) == len(filed)


def test_the_chart_list_and_csv(api: TestClient, auth: Auth, workload: dict[str, int]) -> None:
    listed = api.get("/api/v1/analytics/charts", headers=auth("demo_leader")).json()
    assert [c["number"] for c in listed] == list(range(1, 19))
    assert {c["name"] for c in listed if c["time_axis"]} >= {
        "daily_new_closed",
        "on_time_trend",
        "class_changes",
    }
    response = api.get(
        "/api/v1/analytics/charts/daily_new_closed",
        params={"from": "2026-12-01", "to": "2026-12-03", "format": "csv"},
        headers=auth("demo_leader"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    # Days with their year: a spreadsheet never guesses which December.
    assert lines[0] == "时间,新增,办结" and [line.split(",")[0] for line in lines[1:]] == [
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-12-05", "to": "2026-12-01"}, "from"),
        ({"from": "1990-01-01", "to": "2026-12-01"}, "from"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_input_says_which_field_and_why(
    api: TestClient, auth: Auth, params: dict[str, str], field: str
) -> None:
    response = api.get(
        "/api/v1/analytics/charts/sources", params=params, headers=auth("demo_leader")
    )
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["errors"][0]["field"] == field and body["errors"][0]["reason_zh"]


def test_unknown_charts_and_roles(api: TestClient, auth: Auth) -> None:
    missing = api.get("/api/v1/analytics/charts/pie_of_everything", headers=auth("demo_leader"))
    assert missing.status_code == 404
    worker = api.get("/api/v1/analytics/charts/sources", headers=auth("demo_grid_worker"))
    assert worker.status_code == 403


def test_times_are_local_days() -> None:
    # 23:40 on 31 December in Shanghai is 15:40 UTC the same day; 00:20 on 1 January is 16:20
    # UTC on 31 December: the New Year range puts them on different local days.
    first, second = MOMENTS[0].astimezone(UTC), MOMENTS[1].astimezone(UTC)
    assert first.date() == second.date() == date(2026, 12, 31)
    assert local_day(first) != local_day(second)


def test_the_units_scatter_shows_the_busiest_units_and_says_how_many_there_are(
    api: TestClient, auth: Auth, db: Session, workload: dict[str, int], monkeypatch: Any
) -> None:
    start, end = RANGES["december"]

    def units() -> dict[str, Any]:
        return chart(api, auth, "units_volume_time", "demo_district_leader", workload["district"],
                     start, end)  # fmt: skip

    whole = units()
    points = whole["series"][0]["data"]
    assert points and whole["summary"] == {"units_shown": len(points), "units_total": len(points)}
    busiest = max(points, key=lambda p: p["value"][0])
    assert points[0] == busiest
    monkeypatch.setitem(chart_places.UNITS_SHOWN, "district", 1)
    assert units()["series"][0]["data"] == [busiest]
    monkeypatch.setitem(chart_places.UNITS_SHOWN, "district", 0)
    cut = units()
    assert cut["series"][0]["data"] == [] and cut["table"]["rows"] == []
    assert cut["summary"] == {"units_shown": 0, "units_total": len(points)}
