"""Several steps in one request (受理并交办 from the map's event card): they land together, on
the version each leaves for the next, or none of them does."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .conftest import Auth, Desk


def chain(
    api: TestClient, auth: Auth, event: dict[str, Any], user: str, *steps: dict[str, Any],
    version: int | None = None, expect: int = 200,
) -> dict[str, Any]:  # fmt: skip
    response = api.post(
        f"/api/v1/events/{event['id']}/transitions/chain",
        json={"version": version or event["version"], "steps": list(steps)},
        headers=auth(user),
    )
    assert response.status_code == expect, response.text
    return dict(response.json())


def test_accept_and_dispatch_land_together(api: TestClient, auth: Auth, desk: Desk) -> None:
    event = desk.file()
    done = chain(api, auth, event, "demo_operator", {"action": "accept"}, {"action": "dispatch"})
    assert done["status"] == "dispatched"
    assert done["owner_unit"]["id"] == desk.world.handler_unit
    assert done["version"] == event["version"] + 2
    actions = [row["action"] for row in done["trail"]]
    assert actions[-2:] == ["accept", "dispatch"]
    # The trail rows carry the operator, as two steps taken one after the other.
    assert {row["actor"]["code"] for row in done["trail"][-2:]} == {"demo_operator"}


def test_a_refused_step_stores_none_of_the_chain(api: TestClient, auth: Auth, desk: Desk) -> None:
    event = desk.file(category=desk.world.other_category)
    # Dispatching elsewhere than proposed needs a reason: the second step is refused...
    problem = chain(
        api, auth, event, "demo_operator",
        {"action": "accept"}, {"action": "dispatch", "unit_id": desk.world.handler_unit},
        expect=422,
    )  # fmt: skip
    assert problem["step"] == 1
    assert problem["errors"][0]["field"].startswith("steps[1].")
    # ...and the accept before it is not stored either.
    after = desk.get(event)
    assert after["status"] == event["status"] == "reported"
    assert after["version"] == event["version"]


def test_a_stale_version_refuses_the_chain(api: TestClient, auth: Auth, desk: Desk) -> None:
    event = desk.file()
    desk.act(event, "demo_operator", "accept")
    chain(api, auth, event, "demo_operator", {"action": "dispatch"}, expect=409)


def test_the_chain_keeps_who_may_act(api: TestClient, auth: Auth, desk: Desk) -> None:
    event = desk.file()
    # The reporter sees the event but may not accept it; a handler of another unit does not see it.
    chain(api, auth, event, "demo_grid_worker", {"action": "accept"}, expect=403)
    chain(api, auth, event, "demo_handler", {"action": "accept"}, expect=404)
    assert desk.get(event)["status"] == "reported"


def test_the_chain_is_bounded(api: TestClient, auth: Auth, desk: Desk) -> None:
    event = desk.file()
    chain(api, auth, event, "demo_operator", *([{"action": "accept"}] * 4), expect=422)
    chain(api, auth, event, "demo_operator", expect=422)
