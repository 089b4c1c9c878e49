"""A town's staff see their town's tasks and none of another town's; an owner sees their own."""

# ruff: noqa: F811  (the fixtures are imported from tests.scope_world by name)
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.tasks.service import create_task
from tests.scope_world import Towns, api, clock, towns  # noqa: F401  (fixtures)


def test_lists_and_reads_keep_to_the_town_and_the_owners(
    api: TestClient, auth: Any, db: Session, towns: Towns, clock: FixedClock
) -> None:
    def task(org_id: int, unit: int) -> str:
        made = create_task(
            db=db, kind="rectification", source_type="inspection", source_id=1, title="台账不全",
            detail="补齐工作台账", org_id=org_id, owner_unit_id=unit, owner_user_id=None, limit=3,
            limit_unit="calendar_days", evidence_required=True, actor_id=None, now=clock.now(),
        )  # fmt: skip
        db.commit()
        return made.code

    home = task(towns.home_town, towns.home_squadron)
    other = task(towns.other_town, towns.other_squadron)
    for caller, mine, theirs in (("demo_operator", home, other), ("ky_operator", other, home),
                                 ("demo_handler", home, other), ("ky_handler", other, home)):  # fmt: skip
        listed = api.get("/api/v1/tasks", params={"size": 100}, headers=auth(caller))
        assert listed.status_code == 200, listed.text
        codes = {t["code"] for t in listed.json()["items"]}
        assert mine in codes and theirs not in codes, caller
        assert api.get(f"/api/v1/tasks/{theirs}", headers=auth(caller)).status_code == 404
        assert api.get(f"/api/v1/tasks/{mine}", headers=auth(caller)).status_code == 200
    refused = api.post(f"/api/v1/tasks/{other}/progress", json={"note": "越权", "version": 1},
                       headers=auth("demo_operator"))  # fmt: skip
    assert refused.status_code == 404
    district = api.get("/api/v1/tasks", params={"size": 100},
                       headers=auth("demo_district_operator")).json()  # fmt: skip
    assert {home, other} <= {t["code"] for t in district["items"]}
