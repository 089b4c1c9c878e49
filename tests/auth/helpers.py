"""Apps over the test's rolled-back transaction with settings of the test's own."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from fengqiao.app import create_app
from fengqiao.clock import Clock
from tests.conftest import BoundDatabase, Seeded

# High enough that rate limits never decide a test that is about something else.
NO_RATE_LIMITS: dict[str, Any] = {
    "rate_limit_login": "10000/minute",
    "rate_limit_public": "10000/minute",
    "rate_limit_open311_post": "10000/minute",
    "rate_limit_iot": "10000/minute",
    "rate_limit_lookup": "10000/minute",
}


def app_client(
    bound: BoundDatabase,
    seeded: Seeded,
    *,
    clock: Clock | None = None,
    peer: tuple[str, int] = ("testclient", 50000),
    **settings: Any,
) -> TestClient:
    """A client of a new app instance on the bound database with these settings."""
    values = NO_RATE_LIMITS | settings
    app = create_app(seeded.settings.model_copy(update=values), database=bound, clock=clock)
    return TestClient(app, client=peer)


def api_login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def web_login(client: TestClient, username: str, password: str) -> Any:
    """Submit the login form as a browser does: the form's token must match its cookie."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token[1]},
        follow_redirects=False,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
