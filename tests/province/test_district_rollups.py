"""A district, a city and a province read the district-keyed rollups (migration 0043) where
they have what is asked, and get the same sums the town-keyed ones give, on both backends."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.charts import CHART_BY_NAME, draw
from fengqiao.analytics.query import Scope, aggregate
from fengqiao.analytics.rollups import apply_pending
from fengqiao.analytics.service import scope_of
from fengqiao.clock import FixedClock
from fengqiao.org.models import ORG_LEVEL_ZH, OrgUnit
from tests.province.world import Auth, World, file_event

QUESTIONS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    ((), ("new", "done", "closed", "open_overdue", "sat_5")),
    (("month",), ("new", "done")),
    (("day",), ("new", "done_on_time")),
    (("major_code",), ("new", "closed")),
    (("platform",), ("new", "closed_on_time")),
    (("category_code",), ("new",)),
    (("level",), ("new",)),
    (("source",), ("new",)),
    (("how",), ("new",)),
    (("owner_unit_id",), ("dispatched", "handle_seconds")),
    (("district",), ("new", "overdue")),
    (("city",), ("new",)),
]


def _scope(db: Session, org_id: int) -> Scope:
    unit = db.get(OrgUnit, org_id)
    assert unit is not None
    return scope_of(db, org_id=unit.id, kind=unit.kind, name=unit.name, path=unit.path)


def _by_town(db: Session, scope: Scope) -> Scope:
    """The same area read from the town-keyed tables only (its districts unknown)."""
    unit = db.get(OrgUnit, scope.org_id)
    assert unit is not None
    towns = db.scalars(
        select(OrgUnit.id).where(OrgUnit.kind == "town", OrgUnit.path.startswith(unit.path))
    ).all()
    return dataclasses.replace(scope, towns=tuple(sorted(towns)), districts=None)


def _ask(db: Session, scope: Scope, start: date, end: date, today: date) -> dict[Any, Any]:
    answers: dict[Any, Any] = {}
    for by, counters in QUESTIONS:
        result = aggregate(db, scope=scope, start=start, end=end, by=by, counters=counters,
                           today=today)  # fmt: skip
        answers[by] = (result.rows, result.start, result.end, result.sources)
    return answers


def test_areas_above_the_town_read_the_district_tables_and_agree(
    db: Session, bound: Any, clock: FixedClock, world: World, api: Any, auth: Auth
) -> None:
    for _ in range(3):  # events over two months, in both districts
        clock.advance(timedelta(days=19, hours=5))
        for district in world.districts:
            file_event(api, auth, world, district)
    apply_pending(bound)
    today = clock.now().date()
    ranges = [
        (today - timedelta(days=75), today),  # whole months and days at the start
        (today.replace(day=1), today),  # this month so far
        (today - timedelta(days=3), today - timedelta(days=1)),  # days only
    ]
    for org_id in (world.province, world.city, world.districts["330603"]):
        scope = _scope(db, org_id)
        assert scope.by_district
        town_scope = _by_town(db, scope)
        assert not town_scope.by_district
        for start, end in ranges:
            ours = _ask(db, scope, start, end, today)
            theirs = _ask(db, town_scope, start, end, today)
            for by in ours:
                rows, low, high, sources = ours[by]
                assert (rows, low, high) == theirs[by][:3], (org_id, start, by)
                assert not any("district" in s for s in theirs[by][3])
                if by in ((), ("month",), ("day",)):
                    assert all("district" in s for s in sources), (by, sources)
            if end == today:  # something was counted: not two empty answers compared
                assert ours[()][0][0][0] >= 2
        # Distinct reporters: counted per district (rollup_month_active), the same as counting
        # the reporter rows of the area's towns.
        for by in (("month",),):
            for where in ({}, {"source": "hotline"}, {"source": "resident"}):
                asked = dict(start=today - timedelta(days=75), end=today, by=by, where=where,
                             distinct="reporter_id", today=today)  # fmt: skip
                ours_active = aggregate(db, scope=scope, **asked)  # type: ignore[arg-type]
                theirs_active = aggregate(db, scope=town_scope, **asked)  # type: ignore[arg-type]
                assert ours_active.sources[0].endswith("month_active")
                assert "month_active" not in " ".join(theirs_active.sources)
                assert (ours_active.rows, ours_active.start, ours_active.end) == (
                    theirs_active.rows,
                    theirs_active.start,
                    theirs_active.end,
                ), (org_id, by, where)
                if where.get("source") != "resident":
                    assert ours_active.rows and ours_active.rows[-1][-1] >= 1
        # A whole-month question reads only district tables, whatever it groups by.
        whole = aggregate(db, scope=scope, start=today.replace(day=1), end=today,
                          by=("category_code",), today=today)  # fmt: skip
        assert whole.sources == ["month_district_class"]


def test_a_town_never_reads_a_district_table(
    db: Session, bound: Any, clock: FixedClock, world: World
) -> None:
    apply_pending(bound)
    today = clock.now().date()
    scope = _scope(db, world.towns["330603"])
    assert not scope.by_district
    for by, counters in QUESTIONS[:10]:
        result = aggregate(db, scope=scope, start=today - timedelta(days=40), end=today, by=by,
                           counters=counters, today=today)  # fmt: skip
        assert not any("district" in s for s in result.sources), (by, result.sources)


def test_the_map_of_a_province_or_city_colours_the_areas_one_level_down(
    db: Session, bound: Any, clock: FixedClock, world: World
) -> None:
    apply_pending(bound)
    today = clock.now().date()
    chart = CHART_BY_NAME["grid_map"]
    for org_id, level, expected in (
        (world.province, "city", {world.city: 2}),
        (world.city, "district", {world.districts["330603"]: 1, world.districts["330602"]: 1}),
    ):
        body = draw(chart, db=db, scope=_scope(db, org_id), start=today, end=today, today=today)
        assert body["level"] == level and body["grids"] == {}
        assert body["areas"] == {str(k): v for k, v in expected.items()}
        assert body["max"] == max(expected.values())
        assert body["table"]["columns"] == [ORG_LEVEL_ZH[level], "新增", "超期"]
        assert sorted(row[1] for row in body["table"]["rows"]) == sorted(expected.values())
    # A district keeps its grids.
    body = draw(chart, db=db, scope=_scope(db, world.districts["330603"]), start=today, end=today,
                today=today)  # fmt: skip
    assert "areas" not in body and sum(body["grids"].values()) == 1
