"""Fixtures of the warnings: events planted straight into the seeded small district, and a place
(village, grid, point) and the people the warnings should reach."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.events.filing import route
from fengqiao.events.models import Event
from fengqiao.geo.distance import EARTH_RADIUS_M
from fengqiao.org.models import OrgUnit
from fengqiao.taxonomy.snapshot import load_rules
from fengqiao.warnings.service import WarningRules

# A Tuesday morning; every test's events lie before it.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)
RULES = WarningRules(interval_minutes=0.0)
_numbers = itertools.count(1)


@dataclass
class Place:
    town_id: int
    village_id: int
    other_village_id: int
    grid_id: int
    lat: float
    lng: float
    reporter_id: int
    operators: set[int]  # the town's operators (home = the town)


@pytest.fixture
def place(db: Session) -> Place:
    worker = db.scalars(select(User).where(User.username == "demo_grid_worker")).one()
    grid = db.get(OrgUnit, worker.home_org_id)
    assert grid is not None and grid.parent_id is not None
    town_id = int(grid.path.strip("/").split("/")[1])
    other = db.scalars(
        select(OrgUnit.id)
        .where(OrgUnit.kind == "village", OrgUnit.id != grid.parent_id)
        .order_by(OrgUnit.id)
    ).first()
    assert other is not None
    point = shapely.from_geojson(__import__("json").dumps(grid.geometry)).representative_point()
    from fengqiao.auth.models import UserRole

    operators = set(
        db.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "operator", User.home_org_id == town_id)
        )
    )
    return Place(town_id, grid.parent_id, other, grid.id, point.y, point.x, worker.id, operators)


def moved(lat: float, lng: float, metres: float, bearing_deg: float = 0.0) -> tuple[float, float]:
    """The point `metres` away in direction `bearing_deg` (0 = north)."""
    angle = math.radians(bearing_deg)
    dlat = math.degrees(metres * math.cos(angle) / EARTH_RADIUS_M)
    dlng = math.degrees(metres * math.sin(angle) / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lng + dlng


AddEvent = Callable[..., Event]


@pytest.fixture
def add_event(db: Session, place: Place) -> AddEvent:
    """Store one event as filing would have left it (only the fields the warnings read matter)."""
    rules = load_rules(db)

    def add(
        category: str,
        created_at: datetime,
        *,
        village_id: int | None = None,
        lat: float | None = None,
        lng: float | None = None,
        status: str = "accepted",
        owner_unit_id: int | None = None,
        due_at: datetime | None = None,
    ) -> Event:
        cat = rules.categories[category]
        n = next(_numbers)
        event = Event(
            code=f"WT-{n:06d}", title=cat.name_zh, description="", category_code=category,
            category_name=cat.name_zh, major_code=cat.major_code, major_name=cat.major_name,
            platform=cat.platform, level=2, urgent=False, source="grid_worker",
            reporter_id=place.reporter_id, lat=lat if lat is not None else place.lat,
            lng=lng if lng is not None else place.lng, address="", grid_id=place.grid_id,
            village_id=village_id or place.village_id, town_id=place.town_id, status=status,
            owner_unit_id=owner_unit_id, routing_state="proposed", escalation_rung=0,
            created_at=created_at, updated_at=created_at, due_at=due_at, paused_seconds=0.0,
            rework_count=0, return_count=0, version=1, trail_seq=0, trail_hash="",
        )  # fmt: skip
        db.add(event)
        db.flush()
        return event

    return add


def routed_unit(db: Session, place: Place, category: str) -> int:
    rules = load_rules(db)
    proposal = route(
        rules,
        category_code=category,
        level=max(2, rules.categories[category].default_level),
        place_ids=(place.village_id, place.town_id),
    )
    assert proposal.unit_id is not None
    return proposal.unit_id


def hours_before(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


@pytest.fixture
def background(add_event: AddEvent, place: Place) -> None:
    """The rest of the district's ordinary days: one 政策咨询 a day in the other village for ten
    weeks, each 200 m from the last (a spike's expectation scales with the rest's volume)."""
    for day in range(70):
        lat, lng = moved(place.lat, place.lng, 200 * day, 90)
        add_event("1004", NOW - timedelta(days=day, hours=1), village_id=place.other_village_id,
                  lat=lat, lng=lng)  # fmt: skip
