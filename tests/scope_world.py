"""The seeded small district split into two towns, with events, messages and IoT traffic in
both, so a list that ignores scope shows the other town's rows.

The small demo has one town (柯桥街道). `split_district` creates a second, 柯岩街道, moves two of
the villages (with their grids, grid workers, cameras, devices and patrols) under it, gives it
copies of the town's units and three people of its own (operator, leader, squadron handler),
then files and dispatches one event in each town through the API. Everything happens in the
test's transaction and is rolled back after it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.auth.models import User, UserRole
from fengqiao.catalogue.models import ProxyRequest
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.filing import route
from fengqiao.iot.models import Device, IotInbox, IotQuarantine
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.org.service import GRIDS_COUNTER, bump_counter
from fengqiao.patrol.models import Patrol
from fengqiao.taxonomy.snapshot import RULES_COUNTER, load_rules

START = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)
OTHER_TOWN_CODE = "330603002"
OTHER_TOWN_NAME = "柯岩街道"
# The other town's people: (username, role, phone); the handler works in its squadron.
OTHER_PEOPLE = (
    ("ky_operator", "operator", "13900000001"),
    ("ky_leader", "leader", "13900000002"),
    ("ky_handler", "handler", "13900000003"),
)
Auth = Callable[[str], dict[str, str]]


@dataclass
class Towns:
    """Who and what is where after the split."""

    district_id: int
    home_town: int  # 柯桥街道: demo_operator, demo_leader, demo_handler
    other_town: int  # 柯岩街道: ky_operator, ky_leader, ky_handler
    home_point: tuple[float, float]  # (lat, lng) inside the home town
    other_point: tuple[float, float]
    category: str  # a class routed to each town's law-enforcement squadron
    home_squadron: int
    other_squadron: int
    village_committee: dict[int, int]  # town id -> a village committee unit in it
    district_unit: int  # a district department
    events: dict[int, dict[str, Any]] = field(default_factory=dict)  # town id -> dispatched event
    devices: dict[int, Device] = field(default_factory=dict)  # town id -> a device there
    user_ids: dict[str, int] = field(default_factory=dict)

    def town_of_org(self, db: Session, org_id: int) -> int | None:
        """The town an org unit lies in (None for the district itself)."""
        path = db.scalar(select(OrgUnit.path).where(OrgUnit.id == org_id)) or ""
        parts = [int(p) for p in path.strip("/").split("/") if p]
        return parts[1] if len(parts) > 1 else None


def inside(db: Session, org_id: int) -> tuple[float, float]:
    """(lat, lng) of a point inside an org unit."""
    geometry = db.scalar(select(OrgUnit.geometry).where(OrgUnit.id == org_id))
    point = shapely.from_geojson(json.dumps(geometry)).representative_point()
    return point.y, point.x


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def api(bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any) -> Iterator[TestClient]:
    """The app over the rolled-back test transaction, on the fixed clock."""
    settings = seeded.settings.model_copy(
        update={"data_dir": tmp_path, "rules_check_seconds": 0, "grid_index_check_seconds": 0}
    )
    app = create_app(settings, database=bound, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def split_district(db: Session) -> Towns:
    """Move two villages under a new town with its own units and people (see the module)."""
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
    home = db.scalars(select(OrgUnit).where(OrgUnit.kind == "town")).one()
    worker_home = db.scalar(
        select(OrgUnit.parent_id)
        .join(User, User.home_org_id == OrgUnit.id)
        .where(User.username == "demo_grid_worker")
    )
    villages = list(
        db.scalars(
            select(OrgUnit)
            .where(OrgUnit.parent_id == home.id, OrgUnit.id != worker_home)
            .order_by(OrgUnit.code.desc())
            .limit(2)
        )
    )
    other = OrgUnit(
        code=OTHER_TOWN_CODE, name=OTHER_TOWN_NAME, kind="town", parent_id=district.id,
        path="", area_type="urban", geometry=villages[0].geometry,
    )  # fmt: skip
    db.add(other)
    db.flush()
    other.path = f"{district.path}{other.id}/"
    for village in villages:
        old = village.path
        new = f"{other.path}{village.id}/"
        for node in db.scalars(select(OrgUnit).where(OrgUnit.path.startswith(old))):
            node.path = new + node.path[len(old) :]
        village.parent_id = other.id
        # Rows that keep their place denormalised follow the village.
        for patrol in db.scalars(select(Patrol).where(Patrol.home_path.startswith(old))):
            patrol.home_path = new + patrol.home_path[len(old) :]
        db.execute(
            update(ProxyRequest)
            .where(ProxyRequest.village_id == village.id)
            .values(town_id=other.id)
        )
    units: dict[int, int] = {}
    for unit in db.scalars(select(Unit).where(Unit.org_unit_id == home.id).order_by(Unit.id)):
        copy = Unit(
            code=unit.code.replace("U330603001", "U330603002"),
            name=unit.name.replace("柯桥街道", OTHER_TOWN_NAME), unit_type=unit.unit_type,
            category=unit.category, platform=unit.platform, org_unit_id=other.id,
            phone=unit.phone, duty_phone=unit.duty_phone, active=True,
        )  # fmt: skip
        db.add(copy)
        db.flush()
        units[unit.id] = copy.id
    handler = db.scalars(select(User).where(User.username == "demo_handler")).one()
    assert handler.unit_id is not None
    for username, role, phone in OTHER_PEOPLE:
        person = User(
            username=username, name=f"柯岩{role}", phone=phone, home_org_id=other.id,
            unit_id=units[handler.unit_id] if role == "handler" else None, is_active=True,
        )  # fmt: skip
        db.add(person)
        db.flush()
        db.add(UserRole(user_id=person.id, role=role))
    bump_counter(db=db, name=GRIDS_COUNTER)
    bump_counter(db=db, name=RULES_COUNTER)
    db.flush()

    rules = load_rules(db)
    some_grid = db.scalar(
        select(OrgUnit.id).where(OrgUnit.kind == "grid", OrgUnit.path.startswith(other.path))
    )
    assert some_grid is not None
    worker_grid = db.scalar(select(User.home_org_id).where(User.username == "demo_grid_worker"))
    assert worker_grid is not None
    category = next(
        code
        for code, ref in sorted(rules.categories.items())
        if route(rules, category_code=code, level=2, place_ids=(worker_home or 0, home.id)).unit_id
        == handler.unit_id
        and ref.active
    )
    committees = {
        town: db.scalars(
            select(Unit.id)
            .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
            .where(OrgUnit.kind == "village", OrgUnit.parent_id == town)
            .order_by(Unit.id)
        ).first()
        or 0
        for town in (home.id, other.id)
    }
    district_unit = db.scalars(
        select(Unit.id).where(Unit.org_unit_id == district.id).order_by(Unit.id)
    ).first()
    assert district_unit is not None
    towns = Towns(
        district_id=district.id, home_town=home.id, other_town=other.id,
        home_point=inside(db, worker_grid), other_point=inside(db, some_grid),
        category=category, home_squadron=handler.unit_id,
        other_squadron=units[handler.unit_id], village_committee=committees,
        district_unit=district_unit,
    )  # fmt: skip
    towns.user_ids = {
        u.username: u.id
        for u in db.scalars(
            select(User).where(User.username.like("demo_%") | User.username.like("ky_%"))
        )
    }
    for town in (home.id, other.id):
        device = db.scalars(
            select(Device)
            .join(OrgUnit, OrgUnit.id == Device.grid_id)
            .where(OrgUnit.path.startswith(f"{district.path}{town}/"))
            .order_by(Device.id)
        ).first()
        assert device is not None, f"no device in town {town}"
        towns.devices[town] = device
    return towns


def file_event(
    api: TestClient, auth: Auth, towns: Towns, town: int, *, dispatch: bool = True
) -> dict[str, Any]:
    """A hotline event in `town`, filed and accepted (and dispatched) by its operator."""
    user = "demo_operator" if town == towns.home_town else "ky_operator"
    lat, lng = towns.home_point if town == towns.home_town else towns.other_point
    body = {
        "source": "hotline", "category": towns.category, "description": "路边有人占道经营",
        "lat": lat, "lng": lng, "address": "某路", "contact_phone": "13700000000",
        "urgent": True,  # alerts the town's and the district's operators: outbox rows
    }  # fmt: skip
    response = api.post("/api/v1/events", json=body, headers=auth(user))
    assert response.status_code == 201, response.text
    event = dict(response.json())
    assert event["town"]["id"] == town, event["town"]
    for action in ("accept", "dispatch") if dispatch else ("accept",):
        response = api.post(
            f"/api/v1/events/{event['id']}/transitions",
            json={"action": action, "version": event["version"]},
            headers=auth(user),
        )
        assert response.status_code == 200, response.text
        event = dict(response.json())
    return event


def iot_traffic(db: Session, towns: Towns, now: datetime) -> None:
    """A refused message and an accepted alarm from a device in each town, and one refused
    message whose key matched no device (a district-wide row)."""
    for device in towns.devices.values():
        db.add(
            IotQuarantine(
                at=now, channel="http", topic=f"http/{device.code}", device_code=device.code,
                payload="{}", reason="bad_field", detail="bad", detail_zh="字段错误", count=1,
            )
        )  # fmt: skip
        db.add(
            IotInbox(
                received_at=now, channel="http", topic=f"http/{device.code}", device_id=device.id,
                kind="alarm", payload="{}", outcome="normal",
            )
        )  # fmt: skip
    db.add(
        IotQuarantine(
            at=now, channel="http", topic="http/?", device_code=None, payload="{}",
            reason="bad_key", detail="missing or wrong X-Device-Key", detail_zh="密钥错误",
            count=1,
        )
    )  # fmt: skip
    db.flush()


@pytest.fixture
def towns(db: Session, api: TestClient, auth: Auth, clock: FixedClock) -> Towns:
    """The split district with a dispatched event in each town and IoT traffic from both."""
    result = split_district(db)
    db.commit()  # the savepoint: the app's sessions see the split
    for town in (result.home_town, result.other_town):
        result.events[town] = file_event(api, auth, result, town)
    iot_traffic(db, result, clock.now())
    db.commit()
    return result
