"""The IoT quarantine and counters keep to the caller's scope (issue 15: both were
district-wide for everyone)."""

# ruff: noqa: F811  (the fixtures are imported from tests.scope_world by name)
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.scope_world import Towns, api, clock, towns  # noqa: F401  (fixtures)


def _get(api: TestClient, auth: Any, path: str, user: str) -> Any:
    response = api.get(
        path, params={"size": 200} if "quarantine" in path else {}, headers=auth(user)
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_quarantine_lists_only_devices_of_the_callers_area(
    api: TestClient, auth: Any, towns: Towns
) -> None:
    home = towns.devices[towns.home_town].code
    other = towns.devices[towns.other_town].code
    mine = {
        row["device_code"]
        for row in _get(api, auth, "/api/v1/iot/quarantine", "demo_operator")["items"]
    }
    assert home in mine and other not in mine
    # A message whose key matched no device belongs to no town: the district's staff see it.
    assert None not in mine
    district = _get(api, auth, "/api/v1/iot/quarantine", "demo_district_operator")
    assert {home, other, None} <= {row["device_code"] for row in district["items"]}
    theirs = {
        row["device_code"]
        for row in _get(api, auth, "/api/v1/iot/quarantine", "ky_operator")["items"]
    }
    assert other in theirs and home not in theirs


def test_the_counters_count_only_the_callers_area(api: TestClient, auth: Any, towns: Towns) -> None:
    district = _get(api, auth, "/api/v1/iot/stats", "demo_district_operator")
    home = _get(api, auth, "/api/v1/iot/stats", "demo_operator")
    other = _get(api, auth, "/api/v1/iot/stats", "ky_leader")
    assert district["quarantined"] == home["quarantined"] + other["quarantined"] + 1
    assert home["quarantined"] >= 1 and other["quarantined"] >= 1
    assert district["accepted"] == home["accepted"] + other["accepted"]
    assert sum(district["devices"].values()) == sum(home["devices"].values()) + sum(
        other["devices"].values()
    )
    assert 0 < sum(home["devices"].values()) < sum(district["devices"].values())


def test_a_device_edit_keeps_to_scope_and_to_units_that_serve_it(
    api: TestClient, auth: Any, towns: Towns
) -> None:
    other = towns.devices[towns.other_town]
    home = towns.devices[towns.home_town]
    # Another town's device: not found for this town's operator, and unchanged.
    refused = api.patch(
        f"/api/v1/iot/devices/{other.id}", json={"name": "改名"}, headers=auth("demo_operator")
    )
    assert refused.status_code == 404
    assert (
        api.get(f"/api/v1/iot/devices/{other.id}", headers=auth("ky_operator")).json()["name"]
        == other.name
    )
    # Its own device cannot be given to the other town's squadron.
    response = api.patch(
        f"/api/v1/iot/devices/{home.id}",
        json={"unit_id": towns.other_squadron},
        headers=auth("demo_operator"),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "unit_id"
    ok = api.patch(
        f"/api/v1/iot/devices/{home.id}",
        json={"unit_id": towns.home_squadron},
        headers=auth("demo_operator"),
    )
    assert ok.status_code == 200 and ok.json()["unit_id"] == towns.home_squadron
