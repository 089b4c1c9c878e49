"""Sums above the town (grouped in SQL by the town's district or city), names of many ids, and
the province's warnings and bulletin one level down, on both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.analytics.query import aggregate
from fengqiao.analytics.rollups import apply_pending
from fengqiao.analytics.service import ID_CHUNK, Names, scope_of
from fengqiao.assessment import bulletin, service
from fengqiao.clock import FixedClock
from fengqiao.config import Settings
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.warnings.models import EarlyWarning
from tests.province.world import Auth, World

KQ, YC = "330603", "330602"


def _scope(db: Session, org_id: int) -> Any:
    unit = db.get(OrgUnit, org_id)
    assert unit is not None
    return scope_of(db, org_id=unit.id, kind=unit.kind, name=unit.name, path=unit.path)


def test_sums_by_district_and_city_match_the_events(
    db: Session, bound: Any, clock: FixedClock, world: World
) -> None:
    apply_pending(bound)
    day = clock.now().date()
    # The oracle: each event's district from its town's path.
    events = db.execute(select(Event.town_id, Event.category_code)).all()
    paths = dict(db.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.kind == "town")).all())
    expected: dict[int, int] = {}
    for town, _ in events:
        district = int(paths[town].strip("/").split("/")[2])
        expected[district] = expected.get(district, 0) + 1
    assert set(expected) == set(world.districts.values())
    for org_id in (world.province, world.city):
        scope = _scope(db, org_id)
        by_district = aggregate(db, scope=scope, start=day - timedelta(days=400), end=day,
                                by=("district",), today=day)  # fmt: skip
        assert {row[0]: row[1] for row in by_district.rows} == expected
        by_city = aggregate(db, scope=scope, start=day - timedelta(days=400), end=day,
                            by=("city",), today=day)  # fmt: skip
        assert by_city.rows == [(world.city, len(events))]
    # With another dimension beside it, and from the day tables (a range inside one month).
    scope = _scope(db, world.city)
    both = aggregate(db, scope=scope, start=day, end=day, by=("district", "major_code"), today=None)
    assert sum(row[-1] for row in both.rows) == len(events)
    assert {row[0] for row in both.rows} == set(expected)
    # A district scope has only itself.
    own = aggregate(db, scope=_scope(db, world.districts[YC]), start=day, end=day,
                    by=("district",))  # fmt: skip
    assert own.rows == [(world.districts[YC], expected[world.districts[YC]])]


def test_names_of_more_ids_than_one_statement_takes(db: Session, world: World) -> None:
    ids = list(db.scalars(select(OrgUnit.id)))
    missing = max(ids) + 1
    asked = ids + list(range(missing, missing + ID_CHUNK + 5))  # more than one chunk
    names = Names(db).orgs(asked)
    assert names == {row.id: row.name for row in db.execute(select(OrgUnit.id, OrgUnit.name))}
    assert Names(db).orgs([]) == {}
    assert db.scalar(select(func.count()).select_from(OrgUnit)) == len(names)


def test_the_province_s_bulletin_ranks_its_cities(
    db: Session, bound: Any, settings: Settings, clock: FixedClock, world: World
) -> None:
    apply_pending(bound)
    day = clock.now().date()
    now = clock.now() + timedelta(hours=1)
    province = bulletin.build(db, day=day, now=now, settings=settings,
                              scope=bulletin.reader_scope(db, world.province))  # fmt: skip
    assert province["region_word"] == "市"
    assert [row["name"] for row in province["towns"]] == ["绍兴市"]
    assert province["totals"]["day"]["new"] == db.scalar(select(func.count()).select_from(Event))


def test_the_province_sees_every_district_s_warnings(
    db: Session, api: TestClient, auth: Auth, clock: FixedClock, world: World
) -> None:
    for code in (KQ, YC):
        village = db.get(OrgUnit, world.villages[code])
        assert village is not None
        db.add(EarlyWarning(
            kind="spike", org_id=village.id, org_path=village.path, town_id=world.towns[code],
            village_id=village.id, window_start=clock.now() - timedelta(days=1),
            window_end=clock.now(), observed=5, expected=1.0, score=3.0,
            message=f"{village.name}事件激增", dedupe_key=f"test-{code}-spike",
            created_at=clock.now(),
        ))  # fmt: skip
    db.commit()
    names = {code: db.get(OrgUnit, world.villages[code]).name for code in (KQ, YC)}  # type: ignore[union-attr]

    def messages(user: str) -> set[str]:
        response = api.get("/api/v1/warnings", headers=auth(user))
        assert response.status_code == 200, response.text
        return {w["message"] for w in response.json()["items"]}

    both = {f"{names[KQ]}事件激增", f"{names[YC]}事件激增"}
    assert both <= messages("zj_leader")
    assert both <= messages("sx_leader")
    assert f"{names[KQ]}事件激增" not in messages("yc_leader")


def test_assessment_of_cities_and_districts_grouped_in_sql_matches_the_towns_added_up(
    db: Session, bound: Any, clock: FixedClock, world: World
) -> None:
    # Without `as_of` a city's or district's sums are grouped in SQL by the town's district or
    # city; with it (the events as they stood at a moment) its towns' sums are added up in
    # Python. A moment after every event: both must agree, and match the events.
    apply_pending(bound)
    day = clock.now().date()
    scope = _scope(db, world.province)
    later = clock.now() + timedelta(hours=1)
    for level in ("city", "district"):
        common = {"scope": scope, "level": level, "start": day, "end": day,
                  "weights": service.Weights()}  # fmt: skip
        grouped = service.assess(db, today=day, **common)
        added = service.assess(db, as_of=later, **common)
        counts = {row.name: row.counts["new"] for row in grouped.rows}
        assert counts == {row.name: row.counts["new"] for row in added.rows}
        assert sum(counts.values()) == db.scalar(select(func.count()).select_from(Event))
    districts = service.assess(db, scope=scope, level="district", start=day, end=day,
                               weights=service.Weights(), today=day)  # fmt: skip
    assert {row.name for row in districts.rows} == {"柯桥区", "越城区"}
    assert {row.area for row in districts.rows} == {"绍兴市"}
