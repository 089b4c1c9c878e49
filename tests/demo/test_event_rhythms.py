"""The demo year has the rhythms of a real one: working days and working hours busier, classes
in their seasons, a dip at the Spring Festival, a class mix that differs between urban
communities and rural villages, and the loop's outcomes (almost all closed, a few late,
returned or reworked, the newest still open)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.demo.events import seed_events
from fengqiao.demo.seed import seed
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.sla.calendar import WorkCalendar

UNTIL = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
EVENTS = 8000
# The State Council's Spring Festival holiday of 2026.
SPRING_FESTIVAL = (date(2026, 2, 15), date(2026, 2, 23))
STREET_ORDER = ("0701", "0702", "0704", "0705")  # 市容秩序 but 乱堆乱放, common everywhere
COUNTRYSIDE = ("0901", "0104", "0802")  # rivers, land and forest disputes, illegal land use


@pytest.fixture(scope="module")
def year(
    tmp_path_factory: pytest.TempPathFactory, empty_templates: dict[str, str]
) -> tuple[list[Event], dict[int, str]]:
    """One seeded year for the module, on SQLite: the rhythms are planned in memory the same way
    for both backends (test_event_seed.py checks the writing on both)."""
    target = tmp_path_factory.mktemp("rhythms") / "year.db"
    target.write_bytes(Path(make_url(empty_templates["sqlite"]).database or "").read_bytes())
    database = Database(f"sqlite:///{target}")
    try:
        seed(db=database, scale="small", password="pw")
        seed_events(db=database, count=EVENTS, until=UNTIL)
        with database.session() as db:
            events = list(db.scalars(select(Event)))
            areas = {
                row.id: row.area_type
                for row in db.execute(
                    select(OrgUnit.id, OrgUnit.area_type).where(OrgUnit.kind == "village")
                )
            }
    finally:
        database.dispose()
    return events, areas


def _local(event: Event) -> datetime:
    return event.created_at.astimezone(LOCAL_TZ)


def test_working_days_hours_and_the_spring_festival(
    year: tuple[list[Event], dict[int, str]],
) -> None:
    events, _ = year
    calendar = WorkCalendar()
    per_day = Counter(_local(e).date() for e in events)
    first = (UNTIL - timedelta(days=364)).astimezone(LOCAL_TZ).date()
    days = [first + timedelta(days=i) for i in range(364)]
    festival = [d for d in days if SPRING_FESTIVAL[0] <= d <= SPRING_FESTIVAL[1]]
    working = [per_day[d] for d in days if calendar.is_working_day(d)]
    resting = [per_day[d] for d in days if not calendar.is_working_day(d) and d not in festival]
    mean_working = sum(working) / len(working)
    assert 1.5 <= mean_working / (sum(resting) / len(resting)) <= 2.5
    assert sum(per_day[d] for d in festival) / len(festival) < 0.5 * mean_working
    hours = Counter(_local(e).hour for e in events)
    assert sum(hours[h] for h in range(8, 18)) / len(events) > 0.6
    assert sum(hours[h] for h in range(0, 6)) / len(events) < 0.05
    assert hours[10] > 8 * hours[3]


def test_classes_keep_their_seasons(year: tuple[list[Event], dict[int, str]]) -> None:
    events, _ = year
    by_season: Counter[tuple[str, str]] = Counter()
    for event in events:
        month = _local(event).month
        season = "winter" if month in (12, 1, 2) else "summer" if month in (6, 7, 8) else ""
        by_season[(event.category_code, season)] += 1
    # Coal-briquette stoves and gas in winter, rivers in summer.
    assert by_season[("0404", "winter")] > 2 * by_season[("0404", "summer")]
    assert by_season[("0901", "summer")] > 2 * by_season[("0901", "winter")]


def test_the_class_mix_differs_between_town_and_country(
    year: tuple[list[Event], dict[int, str]],
) -> None:
    events, areas = year
    assert set(areas.values()) == {"urban", "rural"}
    totals = Counter(areas[e.village_id] for e in events)
    street = Counter(areas[e.village_id] for e in events if e.category_code in STREET_ORDER)
    country = Counter(areas[e.village_id] for e in events if e.category_code in COUNTRYSIDE)
    assert street["urban"] / totals["urban"] > 2.5 * street["rural"] / totals["rural"]
    assert country["rural"] / totals["rural"] > 3 * country["urban"] / totals["urban"]
    # Stability classes are rare, which is what makes a cluster of them a warning.
    stability = sum(1 for e in events if e.major_code == "03" or e.category_code == "0103")
    assert stability / len(events) < 0.01


def test_the_loop_outcomes_are_kept(year: tuple[list[Event], dict[int, str]]) -> None:
    events, _ = year
    final = {"closed", "rejected", "voided", "merged"}
    due = [e for e in events if e.due_at is not None and e.due_at < UNTIL - timedelta(days=30)]
    closed = sum(1 for e in due if e.status in final)
    assert closed / len(due) >= 0.99
    assert any(e.return_count for e in events) and any(e.rework_count for e in events)
    late = [e for e in due if e.closed_at and e.due_at and e.closed_at > e.due_at]
    assert 0.01 < len(late) / len(due) < 0.08
    newest = sorted(events, key=lambda e: e.created_at)[-20:]
    assert sum(1 for e in newest if e.status not in final) >= 10
