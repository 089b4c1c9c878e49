"""Open311's counters keep to the caller's scope (issue 15: they were district-wide)."""

# ruff: noqa: F811  (the fixtures are imported from tests.scope_world by name)
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fengqiao.open311.models import Open311Refusal, Open311Request
from tests.scope_world import Towns, api, clock, towns  # noqa: F401  (fixtures)


def test_requests_and_refusals_are_counted_within_scope(
    api: TestClient, auth: Any, towns: Towns, db: Session, clock: Any
) -> None:
    for town, event in towns.events.items():
        db.add(
            Open311Request(
                event_id=event["id"], token=f"tok{town}", created_at=clock.now(),
                service_code=event["category"], api_key_prefix="fq_test",
            )
        )  # fmt: skip
    db.add(Open311Refusal(day=clock.now().date().isoformat(), reason="bad_api_key", count=7))
    db.commit()

    def stats(user: str) -> dict[str, Any]:
        response = api.get("/api/v1/open311/stats", headers=auth(user))
        assert response.status_code == 200, response.text
        return dict(response.json())

    district, home, other = (
        stats("demo_district_operator"),
        stats("demo_operator"),
        stats("ky_operator"),
    )
    assert (district["requests_filed"], home["requests_filed"], other["requests_filed"]) == (
        2,
        1,
        1,
    )
    # Refused calls name no place: only the district's staff see them.
    assert sum(r["count"] for r in district["refusals"]) >= 7
    assert home["refusals"] == [] and home["by_day"] == []
