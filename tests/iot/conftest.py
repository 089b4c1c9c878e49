"""Fixtures of the IoT tests: an app over the rolled-back seeded database (with settings of the
test's choosing), the demo devices, fresh keys for them, and a point inside a demo grid."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.iot.models import Device
from fengqiao.org.models import OrgUnit

Auth = Callable[[str], dict[str, str]]
MakeApi = Callable[..., Any]


@pytest.fixture
def make_api(bound: Any, seeded: Any) -> Iterator[MakeApi]:
    """`with make_api(iot_flood_burst=3) as api:` an app with these settings over the test's
    transaction."""

    @contextmanager
    def make(**overrides: Any) -> Iterator[TestClient]:
        settings = seeded.settings.model_copy(update=overrides)
        with TestClient(create_app(settings, database=bound)) as client:
            yield client

    yield make


@pytest.fixture
def api(make_api: MakeApi) -> Iterator[TestClient]:
    with make_api() as client:
        yield client


def device(db: Session, device_type: str, index: int = 0) -> Device:
    rows = db.scalars(
        select(Device).where(Device.device_type == device_type).order_by(Device.code)
    ).all()
    return rows[index]


def fresh_key(api: TestClient, auth: Auth, device_id: int) -> str:
    response = api.post(
        f"/api/v1/iot/devices/{device_id}/rotate-key", headers=auth("demo_district_operator")
    )
    assert response.status_code == 200, response.text
    key: str = response.json()["key"]
    return key


def send(api: TestClient, key: str | None, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-Device-Key"] = key
    return api.post("/api/v1/iot/alarms", content=raw, headers=headers)


def point_in_grid(db: Session, username: str = "demo_grid_worker") -> tuple[OrgUnit, float, float]:
    """(grid, lng, lat) of a point well inside the grid of a seeded worker."""
    user = db.scalar(select(User).where(User.username == username))
    assert user is not None
    grid = db.get(OrgUnit, user.home_org_id)
    assert grid is not None
    point = shapely.from_geojson(json.dumps(grid.geometry)).representative_point()
    return grid, round(point.x, 6), round(point.y, 6)
