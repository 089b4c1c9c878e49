"""Who is where now: the live positions layer and the nearest workers on duty."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from fengqiao.auth.service import load_principal
from fengqiao.clock import FixedClock
from fengqiao.patrol import whereabouts
from tests.patrol.conftest import START, People, Phone, haversine

PhoneFor = Callable[[str], Phone]
MASKED = re.compile(r"^\d{3}\*+\d{4}$")


def point(lat: float, lng: float, minutes_ago: float) -> dict[str, Any]:
    return {"at": (START - timedelta(minutes=minutes_ago)).isoformat(), "lat": lat, "lng": lng}


def north_of(lat: float, lng: float, metres: float) -> tuple[float, float]:
    return round(lat + metres / 111_195.0, 7), lng


def on_duty(phone: PhoneFor, people: People, clock: FixedClock) -> dict[str, tuple[float, float]]:
    """The demo worker 100 m north of the grid's point (an older fix 20 min ago elsewhere), the
    grid leader 300 m north on an open patrol, the other village's worker seen 40 min ago."""
    lat, lng = people.inside()
    clock.set(START - timedelta(minutes=10))
    phone("demo_grid_leader").start()
    clock.set(START)
    worker = north_of(lat, lng, 100)
    leader = north_of(lat, lng, 300)
    phone("demo_grid_worker").send([point(lat, lng, 20), point(*worker, 2)])
    phone("demo_grid_leader").send([point(*leader, 1)])
    far = people.inside(people.other_grid)
    phone(people.other_worker).send([point(*far, 40)])
    return {"here": (lat, lng), "worker": worker, "leader": leader, "far": far}


def latest(api: TestClient, auth: Any, username: str, minutes: int = 30) -> dict[int, Any]:
    response = api.get(
        "/api/v1/positions/latest", params={"minutes": minutes}, headers=auth(username)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return {f["properties"]["user_id"]: f for f in body["features"]}


def test_the_live_layer_shows_each_workers_latest_position(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    spots = on_duty(phone, people, clock)
    ids = people.ids
    seen = latest(api, auth, "demo_operator")
    assert set(seen) == {ids["demo_grid_worker"], ids["demo_grid_leader"]}  # 40 min is too old
    mine = seen[ids["demo_grid_worker"]]
    assert mine["geometry"] == {
        "type": "Point",
        "coordinates": [spots["worker"][1], spots["worker"][0]],
    }
    props = mine["properties"]
    assert props["name"] == people.names["demo_grid_worker"]
    assert props["phone"] == people.phones["demo_grid_worker"]  # operators call workers
    assert props["at"] == (START - timedelta(minutes=2)).astimezone(UTC).isoformat()
    assert props["grid"] == people.grid.code and props["on_patrol"] is False
    assert seen[ids["demo_grid_leader"]]["properties"]["on_patrol"] is True
    assert ids[people.other_worker] in latest(api, auth, "demo_operator", minutes=60)


def test_phones_are_masked_for_roles_that_do_not_call(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    on_duty(phone, people, clock)
    worker = people.ids["demo_grid_worker"]
    assert (
        latest(api, auth, "demo_leader")[worker]["properties"]["phone"]
        == people.phones["demo_grid_worker"]
    )
    leader_view = latest(api, auth, "demo_grid_leader")
    assert set(leader_view) == {worker, people.ids["demo_grid_leader"]}
    assert MASKED.match(leader_view[worker]["properties"]["phone"])
    assert set(latest(api, auth, "demo_grid_worker")) == {worker}  # a worker sees only themselves
    assert api.get("/api/v1/positions/latest", headers=auth("demo_handler")).status_code == 403


def test_nearest_workers_on_duty_nearest_first(
    phone: PhoneFor, people: People, clock: FixedClock, api: TestClient, auth: Any
) -> None:
    spots = on_duty(phone, people, clock)
    lat, lng = spots["here"]

    def nearest(username: str, **params: Any) -> list[dict[str, Any]]:
        response = api.get(
            "/api/v1/positions/nearest", params={"lat": lat, "lng": lng, **params},
            headers=auth(username),
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return list(response.json())

    rows = nearest("demo_operator", limit=2)
    assert [r["user_id"] for r in rows] == [
        people.ids["demo_grid_worker"],
        people.ids["demo_grid_leader"],
    ]
    assert rows[0]["distance_m"] == pytest.approx(haversine(lat, lng, *spots["worker"]), abs=0.2)
    assert rows[1]["distance_m"] == pytest.approx(haversine(lat, lng, *spots["leader"]), abs=0.2)
    assert rows[0]["tel"] == "tel:" + str(people.phones["demo_grid_worker"])
    assert rows[0]["grid"]["code"] == people.grid.code and rows[1]["on_patrol"] is True
    # The other village's worker, kilometres away, is found once seen recently enough.
    assert len(nearest("demo_operator", limit=5)) == 2
    far = nearest("demo_operator", limit=5, minutes=60)
    assert [r["user_id"] for r in far][-1] == people.ids[people.other_worker]
    assert far[-1]["distance_m"] == pytest.approx(haversine(lat, lng, *spots["far"]), abs=0.5)
    # A grid leader sees masked numbers and no call link.
    masked = nearest("demo_grid_leader")
    assert masked and all(r["tel"] is None and MASKED.match(r["phone"]) for r in masked)
    bad = api.get(
        "/api/v1/positions/nearest", params={"lat": 95, "lng": lng}, headers=auth("demo_operator")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "lat"


def latest_with_sql(db: Session, user_id: int) -> tuple[list[Any], str, Any]:
    """The caller's live layer at START, with the SQL statement and parameters that read it."""
    principal = load_principal(db=db, user_id=user_id)
    assert principal is not None
    connection = db.connection()
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        found = whereabouts.latest_positions(db=db, principal=principal, now=START, minutes=30)
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in seen if "FROM position" in s)
    return list(found), statement, parameters


def test_the_latest_positions_query_reads_the_user_time_index(db: Session, people: People) -> None:
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    _found, statement, parameters = latest_with_sql(db, people.ids["demo_district_operator"])
    connection = db.connection()
    plan = " | ".join(
        str(row[-1])
        for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    )
    # Each worker's latest fix is one descending probe of the index, not a scan of positions,
    # asked only of the workers the index on `at` finds in the window.
    assert "INDEX ix_position_user_at (user_id=? AND at>? AND at<?)" in plan, plan
    assert "INDEX ix_position_at (at>? AND at<?)" in plan, plan
    assert "SCAN position" not in plan, plan


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def test_only_the_workers_seen_in_the_window_are_probed(
    db: Session, people: People, phone: PhoneFor, clock: FixedClock
) -> None:
    # A province's operator follows 340,000 workers, a few hundred on duty: the latest fix is
    # looked up for those seen in the window, not for every worker in scope (7 s at a province).
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("EXPLAIN ANALYZE's loop counts are PostgreSQL's (SQLite's plan: test above)")
    lat, lng = people.inside()
    phone("demo_grid_worker").send([point(lat, lng, 2)])
    phone(people.other_worker).send([point(*people.inside(people.other_grid), 5)])
    grid = db.execute(
        text("SELECT home_org_id FROM user_account WHERE username = 'demo_grid_worker'")
    ).scalar_one()
    db.execute(
        text(
            "INSERT INTO user_account (username, name, home_org_id, is_active, is_demo, created_at) "
            "SELECT 'many_' || n, '网格员' || n, :grid, true, false, now() "
            "FROM generate_series(1, 5000) AS n"
        ),
        {"grid": grid},
    )
    db.execute(
        text(
            "INSERT INTO user_role (user_id, role) SELECT id, 'grid_worker' FROM user_account "
            "WHERE username LIKE 'many\\_%'"
        )
    )
    db.commit()
    db.execute(text("ANALYZE"))
    found, statement, parameters = latest_with_sql(db, people.ids["demo_operator"])
    assert len(found) == 2
    connection = db.connection()
    plan = connection.exec_driver_sql(
        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
    ).scalar_one()
    nodes = list(_plan_nodes(plan[0]["Plan"]))
    # Two workers in the window: no step runs once per each of the 5,000 workers in scope (the
    # per-worker probe of the latest fix ran 5,000+ times before the index on `at`).
    loops = max(n["Actual Loops"] for n in nodes)
    assert loops < 50, "\n".join(
        f"{n['Node Type']} {n.get('Relation Name', '')} loops={n['Actual Loops']}" for n in nodes
    )
