"""Tokens and browser sessions end when they should: at logout, at a password change, and when
an administrator changes what the account may do; on every instance at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.cookies import SESSION_COOKIE, csrf_token
from fengqiao.auth.models import User
from fengqiao.auth.sessions import end_session_token
from fengqiao.config import Settings
from fengqiao.org.models import OrgUnit
from tests.auth.helpers import api_login, app_client, bearer, web_login
from tests.conftest import TEST_KEY, BoundDatabase, Seeded

Auth = Callable[[str], dict[str, str]]
NEW_PASSWORD = "river-bend-lantern-42"


def _user_id(db: Session, username: str) -> int:
    found = db.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def _token(client: TestClient, username: str, password: str) -> str:
    response = api_login(client, username, password)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_a_token_stops_working_after_logout(client: TestClient, settings: Settings) -> None:
    token = _token(client, "demo_operator", settings.demo_password)
    other = _token(client, "demo_operator", settings.demo_password)  # another device
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    refused = client.get("/api/v1/users/me", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["detail_zh"]
    # Logging out ends that session only: the phone stays signed in.
    assert client.get("/api/v1/users/me", headers=bearer(other)).status_code == 200


def test_a_browser_session_stops_working_after_logout(
    client: TestClient, settings: Settings
) -> None:
    assert web_login(client, "demo_operator", settings.demo_password).status_code == 303
    cookie = client.cookies[SESSION_COOKIE]
    assert client.get("/map", follow_redirects=False).status_code == 200
    # The page's scripts log out through the API with the session cookie and its CSRF token.
    ended = client.post(
        "/api/v1/auth/logout", headers={"X-CSRF-Token": csrf_token(cookie, TEST_KEY)}
    )
    assert ended.status_code == 204
    client.cookies.set(SESSION_COOKIE, cookie)  # a copy of the cookie kept by an attacker
    page = client.get("/map", follow_redirects=False)
    assert page.status_code == 303 and "/login" in page.headers["location"]
    assert client.get("/api/v1/users/me").status_code == 401


def test_the_logout_button_ends_the_session_on_the_server(
    client: TestClient, settings: Settings
) -> None:
    assert web_login(client, "demo_operator", settings.demo_password).status_code == 303
    cookie = client.cookies[SESSION_COOKIE]
    ended = client.post(
        "/logout", data={"csrf_token": csrf_token(cookie, TEST_KEY)}, follow_redirects=False
    )
    assert ended.status_code == 303 and ended.headers["location"] == "/login?reason=logout"
    client.cookies.set(SESSION_COOKIE, cookie)  # a copy of the cookie kept by an attacker
    page = client.get("/map", follow_redirects=False)
    assert page.status_code == 303 and "/login" in page.headers["location"]


def test_an_admin_password_reset_ends_every_session_of_the_user(
    client: TestClient, auth: Auth, db: Session, settings: Settings
) -> None:
    token = _token(client, "demo_grid_worker", settings.demo_password)
    assert web_login(client, "demo_grid_worker", settings.demo_password).status_code == 303
    target = _user_id(db, "demo_grid_worker")
    changed = client.patch(
        f"/api/v1/users/{target}", json={"password": NEW_PASSWORD}, headers=auth("admin")
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 401
    assert client.get("/m/", follow_redirects=False).status_code == 303  # the browser too
    # The new password works at once, and its token is not caught by the reset.
    fresh = _token(client, "demo_grid_worker", NEW_PASSWORD)
    assert client.get("/api/v1/users/me", headers=bearer(fresh)).status_code == 200


def test_changing_ones_own_password_ends_the_other_sessions(
    client: TestClient, settings: Settings
) -> None:
    phone = _token(client, "demo_operator", settings.demo_password)
    desk = _token(client, "demo_operator", settings.demo_password)
    wrong = client.post(
        "/api/v1/users/me/password",
        json={"current_password": "not-the-password", "new_password": NEW_PASSWORD},
        headers=bearer(desk),
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"
    changed = client.post(
        "/api/v1/users/me/password",
        json={"current_password": settings.demo_password, "new_password": NEW_PASSWORD},
        headers=bearer(desk),
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/api/v1/users/me", headers=bearer(phone)).status_code == 401
    assert client.get("/api/v1/users/me", headers=bearer(desk)).status_code == 401
    renewed = changed.json()["access_token"]
    assert client.get("/api/v1/users/me", headers=bearer(renewed)).status_code == 200
    assert api_login(client, "demo_operator", settings.demo_password).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"roles": ["leader"]},
        {"home_org_code": None},  # filled in below: another town
        {"unit_code": None},
        {"is_active": False},
    ],
)
def test_role_scope_and_active_changes_end_sessions_on_every_instance_at_once(
    bound: BoundDatabase, seeded: Seeded, auth: Auth, db: Session, change: dict[str, Any]
) -> None:
    # Both instances would keep principals in memory for a minute: revocation must not wait.
    with (
        app_client(bound, seeded, principal_cache_seconds=60) as one,
        app_client(bound, seeded, principal_cache_seconds=60) as other,
    ):
        password = seeded.settings.demo_password
        token = _token(one, "demo_handler", password)
        me = one.get("/api/v1/users/me", headers=bearer(token))
        assert me.status_code == 200
        assert other.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
        target = _user_id(db, "demo_handler")
        if "home_org_code" in change:
            home = db.scalar(select(User.home_org_id).where(User.id == target))
            town = db.scalar(select(OrgUnit.code).where(OrgUnit.kind != "grid", OrgUnit.id != home))
            change = {"home_org_code": town}
        changed = other.patch(f"/api/v1/users/{target}", json=change, headers=auth("admin"))
        assert changed.status_code == 200, changed.text
        assert one.get("/api/v1/users/me", headers=bearer(token)).status_code == 401
        assert other.get("/api/v1/users/me", headers=bearer(token)).status_code == 401
        if change.get("is_active") is False:
            return
        # A new login on the instance that cached the old principal gets the new one.
        fresh = _token(one, "demo_handler", password)
        now = one.get("/api/v1/users/me", headers=bearer(fresh)).json()
        if "roles" in change:
            assert now["roles"] == ["leader"]
        if "home_org_code" in change:
            assert now["home"]["code"] == change["home_org_code"]


def test_a_logout_on_one_instance_is_refused_by_the_other(
    bound: BoundDatabase, seeded: Seeded
) -> None:
    with (
        app_client(bound, seeded, principal_cache_seconds=60) as one,
        app_client(bound, seeded, principal_cache_seconds=60) as other,
    ):
        token = _token(one, "demo_operator", seeded.settings.demo_password)
        assert other.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
        assert one.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
        assert other.get("/api/v1/users/me", headers=bearer(token)).status_code == 401


def test_a_name_or_phone_change_keeps_sessions(
    client: TestClient, auth: Auth, db: Session, settings: Settings
) -> None:
    token = _token(client, "demo_operator", settings.demo_password)
    target = _user_id(db, "demo_operator")
    changed = client.patch(
        f"/api/v1/users/{target}", json={"name": "改名", "phone": "13800000000"},
        headers=auth("admin"),
    )  # fmt: skip
    assert changed.status_code == 200
    assert client.get("/api/v1/users/me", headers=bearer(token)).json()["name"] == "改名"


def test_the_web_logout_helper_ends_the_cookie_session(
    client: TestClient, bound: BoundDatabase, settings: Settings
) -> None:
    """What the login form's logout calls with the cookie it clears (web/views.py)."""
    assert web_login(client, "demo_operator", settings.demo_password).status_code == 303
    cookie = client.cookies[SESSION_COOKIE]
    assert end_session_token(database=bound, token=cookie, key=TEST_KEY)
    assert not end_session_token(database=bound, token="not-a-token", key=TEST_KEY)
    page = client.get("/map", follow_redirects=False)
    assert page.status_code == 303 and "/login" in page.headers["location"]
