"""Every list keeps to its scope: each GET route of the OpenAPI document without a path
parameter is called as a town operator, a town leader and a handler on the demo district split
into two towns (tests/scope_world.py), and every row returned must belong to the caller's town.

A route the test cannot judge row by row is listed in EXEMPT with the reason, so a new list
route fails here until someone decides how its rows are scoped.
"""

# ruff: noqa: F811  (the fixtures are imported from tests.scope_world by name)
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.events.models import Event
from fengqiao.iot.models import Device
from tests.scope_world import Towns, api, clock, towns  # noqa: F401  (fixtures)

CALLERS = ("demo_operator", "demo_leader", "demo_handler")
# Lists whose rows are judged: path -> extra query parameters.
JUDGED: dict[str, dict[str, Any]] = {
    "/api/v1/events": {"size": 200},
    "/api/v1/outbox": {"limit": 500},
    "/api/v1/iot/quarantine": {"size": 200},
    "/api/v1/iot/devices": {"size": 200},
    "/api/v1/cameras": {"size": 200},
    "/api/v1/users": {"size": 200},
    "/api/v1/units": {"size": 200},
    "/api/v1/org/units": {"size": 200},
    "/api/v1/patrols": {"size": 200},
    "/api/v1/supervision-orders": {},
    "/api/v1/warnings": {"size": 200},
    "/api/v1/proxy-requests": {"size": 100},
    "/api/v1/intake/checklists": {"size": 200},
    "/api/v1/tracks/geojson": {},
    "/api/v1/positions/latest": {},
    "/api/v1/command/alarms": {},
    "/api/v1/notices": {"size": 100},
    "/api/v1/leaflets/campaigns": {},
    "/api/v1/leaflets/grids": {},
    "/api/v1/event-parts": {"size": 200},
    "/api/v1/joint-operations": {"size": 200},
    "/api/v1/tasks": {"size": 100},
    "/api/v1/meetings": {"size": 100},
    "/api/v1/inspections": {"size": 100},
    "/api/v1/inspections/summary": {},
    "/api/v1/inspections/self-assessments": {},
    "/api/v1/rectifications": {"size": 100},
}
# Rows above the town (the district node, its departments) that town staff may look up.
ANCESTORS_ALLOWED = {"/api/v1/units", "/api/v1/org/units", "/api/v1/leaflets/campaigns"}
SAME_QUERY = "the same scoped query as its list, which is judged here"
PUBLIC_TAXONOMY = "the taxonomy and its rules are the same for all staff: no area's rows"
EXEMPT: dict[str, str] = {
    "/api/v1/standards": "the district's standard: the same versions for all staff, no area's rows",
    "/api/v1/standards/current": "the district's standard in force: one version, not a list",
    "/api/v1/inspections/groups": "the district's supervision groups: the same for all staff "
    "(tests/inspections/test_self_and_groups_api.py)",
    "/api/v1/inspections/missing": "towns by the same in_scope(org path) filter as "
    "/api/v1/inspections/summary, which is judged here",
    "/api/v1/basemap": "one setting, administrators only (tests/basemap/test_basemap_api.py)",
    "/api/v1/basemap/layers": "the district's tile layers, the same for all staff",
    "/api/v1/basemap/features": "roads and rivers meeting the box of the caller's area: shared "
    "geography, no area's records (tests/basemap/test_basemap_api.py)",
    "/healthz": "not a list",
    "/api/v1/campaigns": "the district's campaigns are shown to a town's callers cut to their "
    "own town (towns, targets, done): tests/campaigns/test_campaigns_api.py::"
    "test_town_callers_see_their_town_part_and_edit_and_end",
    "/api/v1/users/me": "the caller themselves",
    "/api/v1/me/patrol": "the caller's own patrol",
    "/api/v1/me/notifications": "the caller's own inbox (rows of user_id = the caller)",
    "/api/v1/me/notifications/stream": "the caller's own inbox as a stream",
    "/api/v1/resident/reports": "the caller's own reports (reporter = the caller), like the "
    "inbox: another resident's and staff's are judged absent in tests/events/test_resident_reports.py",
    "/api/v1/bulletins/subscription": "the caller's own subscription",
    "/api/v1/public/services": "the public service catalogue",
    "/api/v1/public/services/categories": "the public service catalogue",
    "/api/v1/public/reports": "the public map: every area's reports for anyone, rounded and "
    "without personal data (tests/publicmap/test_public_map_api.py)",
    "/api/v1/public/reports/meta": "the visible classes and the district's box, for anyone",
    "/api/v1/services/search": "the service catalogue (no area's rows)",
    "/api/v1/public/report-classes": PUBLIC_TAXONOMY + " (the residents' classes)",
    "/api/v1/public/reports/nearby": "public words of open reports near a point (no names, no "
    "text, no exact point): judged in tests/residents/test_reports.py",
    "/api/v1/search": "needs q; events and cameras within scope are judged in tests/search",
    "/api/v1/search/reverse": "one point's words, not a list (tests/search)",
    "/api/v1/categories": PUBLIC_TAXONOMY,
    "/api/v1/routing-rules": PUBLIC_TAXONOMY,
    "/api/v1/sla/policies": PUBLIC_TAXONOMY,
    "/api/v1/class-overrides": "a district's own class settings, the same for all its staff (no "
    "town's rows); the district scoping is tests/province/test_class_overrides.py",
    "/api/v1/sla/calendar": "the working calendar, the same for everyone",
    "/api/v1/intake/modules": PUBLIC_TAXONOMY,
    "/api/v1/intake/classes": PUBLIC_TAXONOMY,
    "/api/v1/iot/rules": PUBLIC_TAXONOMY,
    "/api/v1/analytics/charts": "the catalogue of chart names",
    "/api/v1/labels": "the UI words of every vocabulary, the same for everyone (no rows)",
    "/api/v1/calls/config": "the STUN/TURN servers of the settings, the caller's own credential",
    "/api/v1/rooms": "org units of the caller's subtree plus rooms whose open session invited "
    "them: judged in tests/rooms/test_rooms.py (a town sees its own rooms, not another's)",
    "/api/v1/rooms/sessions": "sessions of rooms in the caller's subtree: judged in "
    "tests/rooms/test_rooms.py (the town's list holds none of the district's)",
    "/api/v1/analytics/rollups": "queue depth of the rollups: a number, no rows",
    "/api/v1/grids/locate": "one point's grid (staff file events from the map of the district)",
    "/api/v1/grids/geojson": "grid outlines of the one-map: names and shapes only, no people",
    "/api/v1/org/tree": "the administrative tree's names, shown to all staff",
    "/api/v1/org/summary": "counts of the tree, shown to all staff",
    "/api/v1/org/export": "the administrative tree's shapes (administrators' export)",
    "/api/v1/events/export.csv": SAME_QUERY,
    "/api/v1/cameras/export.csv": SAME_QUERY,
    "/api/v1/supervision-orders/export": SAME_QUERY,
    "/api/v1/warnings/export": SAME_QUERY,
    "/api/v1/proxy-requests/export.csv": SAME_QUERY,
    "/api/v1/command/situation": "figures over event_scope (command.service): "
    "tests/command judge them per town",
    "/api/v1/command/events.geojson": "events over event_scope (command.service)",
    "/api/v1/command/grid-stats": "figures over event_scope (command.service)",
    "/api/v1/command/area-stats": "figures over event_scope per area of the caller's home: "
    "tests/province/test_map_layers.py judges a district's and a city's",
    "/api/v1/map/areas": "outlines of the org units under the caller's home (names and shapes "
    "only, like grids/geojson): tests/province/test_map_layers.py judges them",
    "/api/v1/live/stream": "a live stream over event_scope and the caller's own inbox: "
    "tests/command/test_live_scope.py judges it per town",
    "/api/v1/assessment": "rankings of the area resolve_scope allows (403 outside it)",
    "/api/v1/assessment/export": "rankings of the area resolve_scope allows",
    "/api/v1/assessment/trend": "one row of the area resolve_scope allows",
    "/api/v1/assessment/annual": "towns and departments whose org path the caller covers: a "
    "town's staff see their town and its agencies (tests/assessment/test_annual.py judges it)",
    "/api/v1/assessment/annual/export": "the same scoped rows as /assessment/annual",
    "/api/v1/assessment/annual/scheme": "the year's weights, the same for everyone",
    "/api/v1/assessment/benchmarks": "standings of the towns the caller covers and the names on "
    "the confirmed list (tests/assessment/test_annual.py judges it)",
    "/api/v1/bulletins": "days, no rows of an area; each day's content is the caller's area "
    "(tests/assessment/test_bulletin_scope.py)",
    "/api/v1/iot/stats": "counts, judged per town in tests/iot/test_scope_views.py",
    "/api/v1/open311/stats": "counts, judged per town in tests/open311/test_stats_scope.py",
    "/api/v1/positions/nearest": "needs a point; workers near it, through the same scope "
    "as positions/latest",
    "/api/v1/layers/cameras/nearest": "needs a point; cameras near it (map layer)",
    "/api/v1/ops/personal-data-access": "administrators only",
    "/api/v1/metrics": "administrators' view of the running system",
    "/api/v1/public/notices": "public: today's published notices of one area and those above it "
    "(tests/notices/test_notices_api.py)",
    "/api/v1/public/notices/places": "public: the names of towns and villages (the chooser)",
}


def _list_routes(api: TestClient) -> set[str]:
    spec = api.app.openapi()  # type: ignore[attr-defined]
    return {path for path, ops in spec["paths"].items() if "get" in ops and "{" not in path}


def _rows(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    for key in ("items", "features", "rows"):
        if isinstance(body, dict) and key in body:
            return list(body[key])
    raise AssertionError(f"no rows in {str(body)[:200]}")


class Judge:
    """Which town a returned row belongs to (None: the district itself)."""

    def __init__(self, db: Session, towns: Towns) -> None:
        self.db, self.towns = db, towns

    def org(self, org_id: int) -> int | None:
        return self.towns.town_of_org(self.db, org_id)

    def user(self, user_id: int) -> int | None:
        home = self.db.scalar(select(User.home_org_id).where(User.id == user_id))
        assert home is not None
        return self.org(home)

    def event(self, event_id: int) -> int:
        town = self.db.scalar(select(Event.town_id).where(Event.id == event_id))
        assert town is not None
        return town

    def town_of(self, path: str, row: dict[str, Any]) -> int | None:
        props = row.get("properties", row)
        if path == "/api/v1/outbox":
            if row["event_id"] is not None:
                return self.event(row["event_id"])
            return self.user(row["user_id"]) if row["user_id"] is not None else None
        if path == "/api/v1/iot/quarantine":
            code = row["device_code"]
            if code is None:
                return None  # no device: the district's row
            grid = self.db.scalar(select(Device.grid_id).where(Device.code == code))
            assert grid is not None
            return self.org(grid)
        if path == "/api/v1/org/units":
            return self.org(row["id"])
        for key, resolve in (
            ("town", self.org), ("village", self.org), ("grid", self.org), ("org", self.org),
            ("home", self.org), ("event_id", self.event), ("user", self.user),
            ("user_id", self.user), ("grid_id", self.org), ("town_id", self.org),
        ):  # fmt: skip
            value = props.get(key)
            if isinstance(value, dict):
                value = value.get("id")
            if isinstance(value, int):
                return resolve(value)
        if isinstance(props.get("grids"), list) and props["grids"]:
            towns = {self.org(g["id"]) for g in props["grids"]}
            assert len(towns) == 1, row
            return towns.pop()
        raise AssertionError(f"{path}: cannot tell the area of row {str(row)[:300]}")


def test_every_list_route_is_judged_or_exempt(api: TestClient) -> None:
    unknown = sorted(_list_routes(api) - set(JUDGED) - set(EXEMPT))
    assert not unknown, f"new list routes: judge their rows here or exempt them with why: {unknown}"


def test_every_row_of_every_list_belongs_to_the_callers_town(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    judge = Judge(db, towns)
    seen_other: dict[str, int] = {}
    for path, params in sorted(JUDGED.items()):
        for caller in CALLERS:
            response = api.get(path, params=params, headers=auth(caller))
            if response.status_code in (403,):
                continue  # the role may not list these at all
            assert response.status_code == 200, (path, caller, response.text[:300])
            for row in _rows(response.json()):
                town = judge.town_of(path, row)
                allowed = {towns.home_town} | ({None} if path in ANCESTORS_ALLOWED else set())
                assert town in allowed, (path, caller, town, str(row)[:300])
        # The district's operator sees the other town's rows where there are any, so the
        # judged lists do hold data from both towns.
        district = api.get(path, params=params, headers=auth("demo_district_operator"))
        if district.status_code == 200:
            for row in _rows(district.json()):
                if judge.town_of(path, row) == towns.other_town:
                    seen_other[path] = seen_other.get(path, 0) + 1
    for path in ("/api/v1/events", "/api/v1/outbox", "/api/v1/iot/quarantine",
                 "/api/v1/iot/devices", "/api/v1/cameras", "/api/v1/users", "/api/v1/units"):  # fmt: skip
        assert seen_other.get(path), f"{path}: no row of the other town to leak"
