"""Chart 9 (区域排名（每千户）) ranks on the exact rate and rounds only what it shows."""

from __future__ import annotations

import json
from collections.abc import Callable

import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fengqiao.analytics.rollups import apply_pending
from fengqiao.org.models import OrgUnit
from tests.conftest import BoundDatabase
from tests.events.conftest import START, Desk

Auth = Callable[[str], dict[str, str]]


def _point_in(db: Session, grid_id: int) -> tuple[float, float]:
    geometry = db.scalar(select(OrgUnit.geometry).where(OrgUnit.id == grid_id))
    point = shapely.from_geojson(json.dumps(geometry)).representative_point()
    return point.y, point.x


def test_places_that_tie_when_rounded_are_ranked_on_the_exact_rate(
    api: TestClient, auth: Auth, db: Session, bound: BoundDatabase, desk: Desk
) -> None:
    # Two villages of one town: 2 events over 1,333 households (1.5004 per 1,000) and 3 over
    # 2,001 (1.4993 per 1,000). Both show 1.5; rounded first, the tie went to the one with
    # more events, which has the lower rate.
    grids = db.execute(
        select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.path)
        .where(OrgUnit.kind == "grid")
        .order_by(OrgUnit.code)
    ).all()
    town_id = int(grids[0].path.strip("/").split("/")[1])
    villages: dict[int, int] = {}
    for grid in grids:
        if int(grid.path.strip("/").split("/")[1]) == town_id and grid.parent_id:
            villages.setdefault(grid.parent_id, grid.id)
    assert len(villages) >= 2
    (low, low_grid), (high, high_grid) = list(villages.items())[:2]
    db.execute(update(OrgUnit).where(OrgUnit.parent_id == town_id).values(households=0))
    db.execute(update(OrgUnit).where(OrgUnit.id == high).values(households=1333))
    db.execute(update(OrgUnit).where(OrgUnit.id == low).values(households=2001))
    db.flush()
    for village_grid, count in ((high_grid, 2), (low_grid, 3)):
        lat, lng = _point_in(db, village_grid)
        for _ in range(count):
            desk.file("demo_district_operator", source="hotline", lat=lat, lng=lng, level=2)
    apply_pending(bound)
    day = START.date().isoformat()
    response = api.get(
        "/api/v1/analytics/charts/areas_ranked",
        params={"scope": town_id, "from": day, "to": day},
        headers=auth("demo_district_leader"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    found = db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_([low, high])))
    names = {row.id: row.name for row in found}
    rows = body["table"]["rows"]
    assert rows[0] == [names[high], 1333, 2, 1.5]
    assert rows[1] == [names[low], 2001, 3, 1.5]
    assert body["x"][:2] == [names[high], names[low]]
    assert body["series"][0]["data"][:2] == [1.5, 1.5]
    assert body["series"][1]["data"][:2] == [2, 3]
