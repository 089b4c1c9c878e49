"""Fixtures of the patrol API: an app on a stopped clock, the demo people, and a helper that
walks a worker along a known path through the API.

The clock stands months before any real "today", so the patrols the demo seed walked on the
day the session's database was seeded never mix with what a test sends.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.org.models import OrgUnit
from fengqiao.patrol.models import Patrol

# A Tuesday morning, long before the seed's real today.
START = datetime(2026, 6, 2, 9, 0, tzinfo=LOCAL_TZ)
METRES_PER_DEGREE_LAT = 111_195.0

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def api(bound: Any, seeded: Any, clock: FixedClock) -> Iterator[TestClient]:
    """The app over the rolled-back test transaction, on the fixed clock."""
    app = create_app(seeded.settings, database=bound, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The great-circle distance, written out here independently of the code under test."""
    radius = 6_371_008.8
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lng2 - lng1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * radius * math.atan2(math.sqrt(h), math.sqrt(1 - h))


@dataclass
class People:
    """Seeded users by role, and where the demo grid worker's grid is."""

    ids: dict[str, int]
    names: dict[str, str]
    phones: dict[str, str | None]
    grid: OrgUnit  # demo_grid_worker's grid
    other_worker: str  # a grid worker of another village in the same town
    other_grid: OrgUnit

    def inside(self, grid: OrgUnit | None = None) -> tuple[float, float]:
        """(lat, lng) of a point well inside a grid (default: the demo worker's)."""
        polygon = shapely.from_geojson(json.dumps((grid or self.grid).geometry))
        point = polygon.representative_point()
        return round(point.y, 6), round(point.x, 6)


@pytest.fixture
def people(db: Session) -> People:
    wanted = [
        "demo_grid_worker", "demo_grid_leader", "demo_operator", "demo_district_operator",
        "demo_leader", "demo_handler", "demo_resident",
    ]  # fmt: skip
    users = {u.username: u for u in db.scalars(select(User).where(User.username.in_(wanted)))}
    worker = users["demo_grid_worker"]
    grid = db.get(OrgUnit, worker.home_org_id)
    assert grid is not None and grid.kind == "grid"
    other_grid = db.scalars(
        select(OrgUnit)
        .where(OrgUnit.kind == "grid", OrgUnit.parent_id != grid.parent_id)
        .order_by(OrgUnit.code)
    ).first()
    assert other_grid is not None
    # A worker of that grid with no open patrol from the seed (their "b" full-timer or next).
    open_users = set(db.scalars(select(Patrol.user_id).where(Patrol.ended_at.is_(None))))
    other = db.scalars(
        select(User)
        .where(User.home_org_id == other_grid.id, User.id.not_in(open_users))
        .order_by(User.username)
    ).first()
    assert other is not None
    users[other.username] = other
    return People(
        ids={name: u.id for name, u in users.items()},
        names={name: u.name for name, u in users.items()},
        phones={name: u.phone for name, u in users.items()},
        grid=grid,
        other_worker=other.username,
        other_grid=other_grid,
    )


def walk(
    lat: float, lng: float, start: datetime, count: int, *, step_m: float = 25.0, every_s: int = 30
) -> list[dict[str, Any]]:
    """`count` points heading north-east from (lat, lng), `step_m` apart, every `every_s`."""
    points = []
    for k in range(count):
        north = east = k * step_m / math.sqrt(2)
        points.append(
            {
                "at": (start + timedelta(seconds=k * every_s)).isoformat(),
                "lat": round(lat + north / METRES_PER_DEGREE_LAT, 7),
                "lng": round(lng + east / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))), 7),
                "accuracy": 5.0,
                "speed": step_m / every_s,
            }
        )
    return points


def path_length(points: list[dict[str, Any]]) -> float:
    return sum(
        haversine(a["lat"], a["lng"], b["lat"], b["lng"]) for a, b in itertools.pairwise(points)
    )


class Phone:
    """A worker's phone talking to the API."""

    def __init__(self, api: TestClient, auth: Auth, username: str) -> None:
        self.api, self.headers = api, auth(username)

    def send(
        self, points: list[dict[str, Any]], *, expect: int = 200, **extra: Any
    ) -> dict[str, Any]:
        response = self.api.post(
            "/api/v1/me/positions", json={"points": points, **extra}, headers=self.headers
        )
        assert response.status_code == expect, response.text
        return dict(response.json())

    def start(self, expect: int = 201) -> dict[str, Any]:
        response = self.api.post("/api/v1/me/patrol/start", headers=self.headers)
        assert response.status_code == expect, response.text
        return dict(response.json())

    def stop(self, expect: int = 200) -> dict[str, Any]:
        response = self.api.post("/api/v1/me/patrol/stop", headers=self.headers)
        assert response.status_code == expect, response.text
        return dict(response.json())


@pytest.fixture
def phone(api: TestClient, auth: Auth) -> Callable[[str], Phone]:
    return lambda username: Phone(api, auth, username)
