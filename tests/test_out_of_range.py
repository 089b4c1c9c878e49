"""Numbers too large for the database are the caller's input error, never a server error."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.intake.models import ChecklistRun
from fengqiao.org.models import OrgUnit

BIG = 99999999999999999999999  # beyond 64 bits: passes pydantic's int, not SQLite's binding


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/public/services/{BIG}",
        f"/api/v1/events/{BIG}",
        f"/api/v1/events?grid={BIG}",
        f"/api/v1/proxy-requests/{BIG}",
        f"/api/v1/intake/checklists/{BIG}",
        f"/api/v1/iot/devices/{BIG}",
    ],
)
def test_a_huge_id_is_a_client_error(
    client: TestClient, auth: Callable[[str], dict[str, str]], path: str
) -> None:
    response = client.get(path, headers=auth("admin"))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_huge_id_in_a_body_is_refused_and_nothing_is_stored(
    client: TestClient, auth: Callable[[str], dict[str, str]], db: Session
) -> None:
    worker = db.scalars(select(User).where(User.username == "demo_grid_worker")).one()
    grid = db.get(OrgUnit, worker.home_org_id)
    assert grid is not None and grid.geometry is not None
    point = shapely.from_geojson(json.dumps(grid.geometry)).representative_point()
    items = [{"code": c, "ok": True} for c in
             ("water", "floating", "outfall", "bank", "muck", "signboard", "facilities")]  # fmt: skip
    body = {"module": "hezhang", "subject": "某河", "lat": point.y, "lng": point.x,
            "patrol_id": BIG, "items": items}  # fmt: skip
    response = client.post("/api/v1/intake/checklists", json=body, headers=auth("demo_grid_worker"))
    assert response.status_code == 422, response.text
    assert "超出范围" in response.json()["detail_zh"]
    assert db.scalar(select(func.count()).select_from(ChecklistRun)) == 0
