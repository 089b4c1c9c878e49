"""The administration API of accounts: one user in detail, and changing a user."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.config import Settings
from fengqiao.org.models import OrgUnit, Unit
from tests.auth.test_auth_api import assert_problem

Auth = Callable[[str], dict[str, str]]


def user_id(db: Session, username: str) -> int:
    found = db.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def login(client: TestClient, username: str, password: str) -> int:
    form = {"username": username, "password": password}
    return client.post("/api/v1/auth/token", data=form).status_code


def test_user_detail_lists_grids_and_unit(client: TestClient, auth: Auth, db: Session) -> None:
    worker = client.get(
        f"/api/v1/users/{user_id(db, 'demo_grid_worker')}", headers=auth("admin")
    ).json()
    assert worker["username"] == "demo_grid_worker" and len(worker["grids"]) == 1
    assert worker["grids"][0]["kind"] == "grid"
    handler = client.get(
        f"/api/v1/users/{user_id(db, 'demo_handler')}", headers=auth("admin")
    ).json()
    assert handler["unit"] is not None and handler["unit"]["code"].startswith("U")
    assert_problem(client.get("/api/v1/users/999999", headers=auth("admin")), 404, "not-found")
    admin_id = user_id(db, "admin")
    assert_problem(
        client.get(f"/api/v1/users/{admin_id}", headers=auth("demo_operator")), 403, "forbidden"
    )


def test_admin_changes_roles_phone_grids_and_password(
    client: TestClient, auth: Auth, db: Session, settings: Settings
) -> None:
    target = user_id(db, "demo_grid_worker")
    before = client.get(f"/api/v1/users/{target}", headers=auth("admin")).json()
    other_grid = db.scalar(
        select(OrgUnit.code)
        .where(OrgUnit.kind == "grid", OrgUnit.code != before["grids"][0]["code"])
        .order_by(OrgUnit.code)
    )
    assert other_grid is not None
    response = client.patch(
        f"/api/v1/users/{target}",
        json={
            "name": "李<script>四",
            "phone": "13900001111",
            "roles": ["grid_worker", "grid_leader"],
            "grid_codes": [before["grids"][0]["code"], other_grid],
            "password": "a-new-password",
        },
        headers=auth("admin"),
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["name"] == "李<script>四" and after["phone"] == "13900001111"
    assert after["roles"] == ["grid_leader", "grid_worker"]
    assert sorted(g["code"] for g in after["grids"]) == sorted(
        [before["grids"][0]["code"], other_grid]
    )
    assert login(client, "demo_grid_worker", "a-new-password") == 200
    assert login(client, "demo_grid_worker", settings.demo_password) == 401


def test_admin_moves_a_user_and_sets_their_unit(
    client: TestClient, auth: Auth, db: Session
) -> None:
    target = user_id(db, "demo_handler")
    village = db.scalar(select(OrgUnit).where(OrgUnit.kind == "village").order_by(OrgUnit.code))
    unit = db.scalar(select(Unit).where(Unit.category == "village_committee").limit(1))
    assert village is not None and unit is not None
    moved = client.patch(
        f"/api/v1/users/{target}",
        json={"home_org_code": village.code, "unit_code": unit.code},
        headers=auth("admin"),
    ).json()
    assert moved["home"]["code"] == village.code and moved["unit"]["code"] == unit.code
    cleared = client.patch(
        f"/api/v1/users/{target}", json={"unit_code": None}, headers=auth("admin")
    ).json()
    assert cleared["unit"] is None and cleared["unit_id"] is None


def test_a_disabled_user_is_refused_at_once(
    client: TestClient, auth: Auth, db: Session, settings: Settings
) -> None:
    target = user_id(db, "demo_leader")
    response = client.patch(
        f"/api/v1/users/{target}", json={"is_active": False}, headers=auth("admin")
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert login(client, "demo_leader", settings.demo_password) == 401


def test_bad_changes_name_the_field_and_change_nothing(
    client: TestClient, auth: Auth, db: Session
) -> None:
    target = user_id(db, "demo_operator")
    cases = [
        ({"roles": ["mayor"]}, "roles"),
        ({"roles": []}, "roles"),
        ({"password": "short"}, "password"),
        ({"home_org_code": "330603999999"}, "home_org_code"),
        ({"unit_code": "U-nope"}, "unit_code"),
        ({"grid_codes": ["330603"]}, "grid_codes"),
        ({"name": None}, "name"),
        ({"username": "renamed"}, "username"),
    ]
    for change, field in cases:
        response = client.patch(f"/api/v1/users/{target}", json=change, headers=auth("admin"))
        body = assert_problem(response, 422, "invalid-input")
        assert [e["field"] for e in body["errors"]] == [field], body
    after = client.get(f"/api/v1/users/{target}", headers=auth("admin")).json()
    assert after["roles"] == ["operator"] and after["name"] != ""


def test_an_admin_cannot_lock_themselves_out(client: TestClient, auth: Auth, db: Session) -> None:
    me = user_id(db, "admin")
    for change, field in [({"is_active": False}, "is_active"), ({"roles": ["leader"]}, "roles")]:
        body = assert_problem(
            client.patch(f"/api/v1/users/{me}", json=change, headers=auth("admin")),
            422,
            "invalid-input",
        )
        assert body["errors"][0]["field"] == field


def test_only_admins_change_users(client: TestClient, auth: Auth, db: Session) -> None:
    target = user_id(db, "demo_grid_worker")
    response = client.patch(
        f"/api/v1/users/{target}", json={"name": "x"}, headers=auth("demo_operator")
    )
    assert_problem(response, 403, "forbidden")


def test_users_are_found_by_username_or_name(client: TestClient, auth: Auth, db: Session) -> None:
    by_username = client.get(
        "/api/v1/users", params={"q": "demo_grid_w"}, headers=auth("admin")
    ).json()
    assert [u["username"] for u in by_username["items"]] == ["demo_grid_worker"]
    name = db.scalar(select(User.name).where(User.username == "demo_operator"))
    assert name is not None
    by_name = client.get("/api/v1/users", params={"q": name}, headers=auth("admin")).json()
    assert "demo_operator" in [u["username"] for u in by_name["items"]]
    nobody = client.get("/api/v1/users", params={"q": "%"}, headers=auth("admin")).json()
    assert nobody["total"] == 0
