"""The demo district's Open311 requests: filed through the real path, once, and visible in
`requests` and `servicerequestupdates` at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from fengqiao.clock import FixedClock
from fengqiao.demo.open311 import REPORTS, seed_open311
from tests.open311.conftest import BASE


def test_the_demo_files_open311_requests_once(
    api: TestClient, bound: Any, clock: FixedClock
) -> None:
    now = clock.now()
    assert seed_open311(database=bound, now=now) == len(REPORTS)
    assert seed_open311(database=bound, now=now) == 0  # a second seed adds nothing
    listed = api.get(f"{BASE}/requests.json").json()
    assert sorted(r["description"] for r in listed) == sorted(text for text, _ in REPORTS)
    assert all(r["service_request_id"].startswith("R") for r in listed)
    window = {
        "start_date": (now - timedelta(days=1)).isoformat(),
        "end_date": now.isoformat(),
    }
    updates = api.get(f"{BASE}/servicerequestupdates.json", params=window).json()
    assert {u["service_request_id"] for u in updates} == {r["service_request_id"] for r in listed}
    assert {u["status"] for u in updates} == {"OPEN"}
