"""An operator of one town never sees another town's alarm: not on the live stream, not in the
dialog's list, and cannot take it; the district's command room sees both towns' alarms."""

# ruff: noqa: F811  (the fixtures are imported from tests.scope_world by name)
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.command.test_live import frames
from tests.scope_world import Towns, api, clock, file_event, towns  # noqa: F401  (fixtures)


def _alarm_ids(api: TestClient, auth: Any, user: str) -> list[int]:
    response = api.get("/api/v1/command/alarms", headers=auth(user))
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["items"]]


def test_the_live_stream_keeps_each_towns_alarms_to_that_town(
    api: TestClient, auth: Any, towns: Towns
) -> None:
    # Each town has an urgent hotline event waiting (tests/scope_world.py), home first; a later
    # one in the home town comes after the other town's.
    home = towns.events[towns.home_town]["id"]
    other = towns.events[towns.other_town]["id"]
    later = file_event(api, auth, towns, towns.home_town, dispatch=False)["id"]
    assert home < other < later
    # Alarms go out oldest first: a leaked one would come before (or between) the town's own.
    theirs = frames(api, auth("ky_operator"), 1)
    assert [(f["event"], f["data"]["id"]) for f in theirs] == [("alarm", other)]
    mine = frames(api, auth("demo_operator"), 2)
    assert [(f["event"], f["data"]["id"]) for f in mine] == [("alarm", home), ("alarm", later)]
    everyone = frames(api, auth("demo_district_operator"), 3)
    assert [f["data"]["id"] for f in everyone] == [home, other, later]
    # The dialog's list, and taking an alarm, keep to the town as well.
    assert _alarm_ids(api, auth, "ky_operator") == [other]
    assert _alarm_ids(api, auth, "demo_operator") == [home, later]
    refused = api.post(f"/api/v1/command/alarms/{home}/ack", headers=auth("ky_operator"))
    assert refused.status_code == 404
    assert _alarm_ids(api, auth, "demo_operator") == [home, later]
