"""Helpers of the camera registry tests: points inside the demo grids, CSV files, the API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.cameras.models import Camera
from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import OrgUnit

HEADER = "code,name,lng,lat,crs,stream_url,status,install_place"


def code(serial: int, type_code: str = "132", division: str = "330603") -> str:
    """A GB/T 28181 camera id in the demo district, like the seed's."""
    return f"{division}00" + "00" + type_code + f"{serial:07d}"


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


@dataclass
class Grids:
    mine: OrgUnit  # demo_grid_worker's grid
    other: OrgUnit  # a grid of another village

    @staticmethod
    def inside(grid: OrgUnit) -> tuple[float, float]:
        """(lat, lng) well inside a grid."""
        point = shapely.from_geojson(json.dumps(grid.geometry)).representative_point()
        return round(point.y, 7), round(point.x, 7)


@pytest.fixture
def grids(db: Session) -> Grids:
    worker_home = db.scalar(
        select(OrgUnit)
        .join(User, User.home_org_id == OrgUnit.id)
        .where(User.username == "demo_grid_worker")
    )
    assert worker_home is not None and worker_home.kind == "grid"
    other = db.scalar(
        select(OrgUnit)
        .where(OrgUnit.kind == "grid", OrgUnit.parent_id != worker_home.parent_id)
        .order_by(OrgUnit.code)
        .limit(1)
    )
    assert other is not None
    return Grids(worker_home, other)


def stored(db: Session, camera_code: str | None) -> tuple[LayerFeature, Camera] | None:
    """The feature and registry row of a camera, read fresh."""
    db.expire_all()
    row = db.execute(
        select(LayerFeature, Camera)
        .join(Camera, Camera.feature_id == LayerFeature.id)
        .where(LayerFeature.code == camera_code)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def import_csv(
    client: TestClient, headers: dict[str, str], text: str | bytes, **params: Any
) -> Any:
    body = text.encode() if isinstance(text, str) else text
    return client.post(
        "/api/v1/cameras/import",
        content=body,
        params=params,
        headers={**headers, "Content-Type": "text/csv"},
    )


def a_seeded_camera(db: Session) -> LayerFeature:
    camera = db.scalar(
        select(LayerFeature).where(LayerFeature.kind == "camera").order_by(LayerFeature.id)
    )
    assert camera is not None
    return camera
