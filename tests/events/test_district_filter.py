"""The hot reads name the district (the shard key, docs/scaling.md): a list whose rows all lie
in one district says `district_id = ?` when the caller's scope or the towns asked for name it,
and answers exactly as before; on PostgreSQL the plan applies it and reads the event table
alone, the event page's trail one partition with the district, the sweeper's idle probe no
table walk."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from fengqiao.events.models import Event
from fengqiao.events.queries import EventFilters, list_districts, page
from fengqiao.events.scope import scope_district
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.supervision.sweeper import anything_due

from .conftest import START, Desk

TOWN_DISTRICTS = {11: 1, 12: 1, 21: 2}


def _principal(roles: set[str], path: str, above: int = 0, unit: int | None = None) -> Principal:
    home = int(path.strip("/").split("/")[-1])
    return Principal(7, "u", "u", frozenset(roles), home, path, unit, above)


def test_the_district_comes_from_the_scope_or_the_towns_asked_for() -> None:
    town_operator = _principal({"operator"}, "/1/11/")
    district_leader = _principal({"leader"}, "/1/")
    province_operator = _principal({"operator"}, "/100/101/", above=2)
    in_province_tree = _principal({"operator"}, "/100/101/2/21/", above=2)
    handler = _principal({"handler"}, "/1/11/", unit=5)
    resident = _principal({"resident"}, "/1/")
    assert scope_district(town_operator) == 1
    assert scope_district(district_leader) == 1
    assert scope_district(in_province_tree) == 2
    for nobody in (province_operator, handler, resident):
        assert scope_district(nobody) is None
    everything = EventFilters()
    assert list_districts(everything, town_operator, TOWN_DISTRICTS) == [1]
    assert list_districts(everything, province_operator, TOWN_DISTRICTS) == []
    assert list_districts(EventFilters(town=[21]), province_operator, TOWN_DISTRICTS) == [2]
    assert list_districts(EventFilters(town=[21, 11]), province_operator, TOWN_DISTRICTS) == [1, 2]
    # A town the rules snapshot does not know (yet): no filter rather than a wrong one.
    assert list_districts(EventFilters(town=[21, 99]), province_operator, TOWN_DISTRICTS) == []
    # A unit's inbox follows the unit, not the caller's area; a handler's reads likewise.
    assert list_districts(EventFilters(task="inbox"), town_operator, TOWN_DISTRICTS) == []
    assert list_districts(everything, handler, TOWN_DISTRICTS) == []


@contextmanager
def _statements(connection: Any) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cursor: Any, sql: str, params: Any, *_rest: Any) -> None:
        if "SAVEPOINT" not in sql and not sql.startswith("EXPLAIN"):
            seen.append((sql, params))

    sa_event.listen(connection, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        sa_event.remove(connection, "before_cursor_execute", grab)


def _plan(db: Session, sql: str, params: Any) -> tuple[str, list[str]]:
    """The plan's text (every condition) and the relations it reads, on PostgreSQL."""
    raw = db.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar_one()
    plan = json.loads(raw) if isinstance(raw, str) else raw
    relations: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            relations.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return json.dumps(plan, ensure_ascii=False), relations


def test_a_town_list_and_an_event_page_name_the_district(
    desk: Desk, api: TestClient, bound: Any, db: Session
) -> None:
    filed = [desk.file(description=f"井盖缺失第{n}处，请尽快处理") for n in range(3)]
    mine = desk.get(filed[0])
    town = mine["town"]["id"]
    district = db.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == town))
    assert district is not None
    headers = desk.auth("demo_operator")
    with _statements(bound.connection) as seen:
        answer = api.get(
            "/api/v1/events", params={"town": str(town), "size": "2", "count": "true"},
            headers=headers,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        listing = [s for s in seen if re.search(r"\bFROM event\s", s[0]) and "LIMIT" in s[0]]
        counting = [s for s in seen if re.search(r"count\(\*\).*\bFROM event\s", s[0], re.S)]
        seen.clear()
        assert api.get(f"/api/v1/events/{mine['id']}", headers=headers).status_code == 200
        trail = [s for s in seen if re.search(r"\bFROM event_log\s", s[0]) and "ORDER BY" in s[0]]
        row = [s for s in seen if re.search(r"\bFROM event\s+WHERE event.id = ", s[0])]
    assert listing and counting and trail and len(row) == 1  # found by its district at once
    for sql, _params in [*listing, *counting, *trail, *row]:
        assert "district_id" in sql.split("WHERE", 1)[1], sql
    body = answer.json()
    # The same answer as the list without the district: the filter only names the shard.
    principal = Principal(
        desk.world.ids["demo_operator"], "demo_operator", "", frozenset({"operator"}), district,
        f"/{district}/",
    )  # fmt: skip
    plain, _ = page(db, EventFilters(town=[town]), principal, START, size=2)
    assert [item["id"] for item in body["items"]] == [e.id for e in plain]
    assert body["total"] >= len(filed) and len(body["items"]) == 2
    if bound.is_sqlite:
        return
    for sql, params in listing:
        text, relations = _plan(db, sql, params)
        assert set(relations) == {"event"}, relations
        assert "district_id" in text, text
    text, relations = _plan(db, *trail[0])
    assert len(relations) == 1 and relations[0].startswith("event_log_p"), relations
    assert "district_id" in text


def test_the_idle_probe_reads_by_index(bound: Any, db: Session) -> None:
    if bound.is_sqlite:
        pytest.skip("the plan is PostgreSQL's")
    with _statements(bound.connection) as seen:
        anything_due(bound, START)
    assert len(seen) == 1
    text, relations = _plan(db, *seen[0])
    assert set(relations) <= {"event", "event_part"}
    # Each pass walks its partial index; a table read whole only while it is a few pages (the
    # test database's, costed under 50) where an index probe would cost more.
    for walk in re.finditer(r'"Node Type": "Seq Scan".*?"Total Cost": ([\d.]+)', text):
        assert float(walk[1]) < 50, text


def test_an_event_outside_the_callers_district_is_still_found_by_its_id(
    desk: Desk, api: TestClient, db: Session
) -> None:
    filed = desk.file(description="路灯不亮，夜间行人看不清路")
    town = desk.get(filed)["town"]["id"]
    # As if it lay in another district's rows (the province's shared database): the first
    # read, by the caller's district, misses; the read by id alone finds it, and the scope
    # rule (by town) still decides.
    db.execute(update(Event).where(Event.id == filed["id"]).values(district_id=town))
    db.flush()
    answer = api.get(f"/api/v1/events/{filed['id']}", headers=desk.auth("demo_operator"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == filed["id"]
    missing = api.get("/api/v1/events/987654321", headers=desk.auth("demo_operator"))
    assert missing.status_code == 404


def test_the_planner_is_told_a_town_names_its_district(bound: Any, db: Session) -> None:
    """Migration 0041: functional-dependency statistics over the event's area columns, so that
    `town_id = ? AND district_id = ?` is estimated as the town alone (measured on the province
    bench: the town's page walks ix_event_town_created, 0.06 ms, instead of intersecting two
    bitmaps and sorting, 0.8 ms)."""
    if bound.is_sqlite:
        pytest.skip("extended statistics are PostgreSQL's (migration 0041)")
    row = db.execute(
        text(
            "SELECT s.stxkind, array(SELECT a.attname FROM unnest(s.stxkeys) k JOIN pg_attribute a"
            " ON a.attrelid = s.stxrelid AND a.attnum = k ORDER BY a.attname)"
            " FROM pg_statistic_ext s WHERE s.stxname = 'st_event_district_area'"
            " AND s.stxrelid = 'event'::regclass"
        )
    ).one()
    assert list(row[0]) == ["f"]
    assert sorted(row[1]) == ["district_id", "grid_id", "town_id", "village_id"]
