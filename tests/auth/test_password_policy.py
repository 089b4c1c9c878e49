"""Passwords that a guesser tries first are refused wherever a password is set."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fengqiao.auth.models import User
from fengqiao.auth.passwords import PasswordPolicy
from fengqiao.cli import app as cli_app
from fengqiao.config import Settings
from fengqiao.db import Database
from tests.auth.helpers import api_login, bearer
from tests.auth.test_auth_api import assert_problem

Auth = Callable[[str], dict[str, str]]
# Each was accepted before the policy: common, all digits, blank, the username, too short.
# ("{user}" stands for the account's username.)
WEAK = ["password", "12345678", "        ", "{user}2026", "Kq7#vLp"]


def _refused_on_password(response: object) -> str:
    body = assert_problem(response, 422, "invalid-input")  # type: ignore[arg-type]
    assert [e["field"] for e in body["errors"]] == ["password"] or [
        e["field"] for e in body["errors"]
    ] == ["new_password"], body
    reason_zh = str(body["errors"][0]["reason_zh"])
    # A Chinese reason with no English words in it.
    assert reason_zh and not any("a" <= ch.lower() <= "z" for ch in reason_zh), reason_zh
    return reason_zh


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused_when_an_admin_creates_a_user(
    client: TestClient, auth: Auth, password: str
) -> None:
    town = client.get("/api/v1/users/me", headers=auth("demo_operator")).json()["home"]["code"]
    body = {
        "username": "new_operator", "name": "新操作员",
        "password": password.format(user="new_operator"),
        "roles": ["operator"], "home_org_code": town,
    }  # fmt: skip
    _refused_on_password(client.post("/api/v1/users", json=body, headers=auth("admin")))
    assert (
        api_login(client, "new_operator", password.format(user="new_operator")).status_code == 401
    )


def test_reasons_say_what_is_wrong(client: TestClient, auth: Auth) -> None:
    town = client.get("/api/v1/users/me", headers=auth("demo_operator")).json()["home"]["code"]
    body = {"username": "new_operator", "name": "新操作员", "roles": ["operator"],
            "home_org_code": town}  # fmt: skip
    short = client.post("/api/v1/users", json=body | {"password": "Kq7#vLp"}, headers=auth("admin"))
    assert "10" in _refused_on_password(short)
    like = client.post(
        "/api/v1/users", json=body | {"password": "new_operator2026"}, headers=auth("admin")
    )
    assert "用户名" in _refused_on_password(like)


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused_when_an_admin_resets_one(
    client: TestClient, auth: Auth, db: Session, settings: Settings, password: str
) -> None:
    target = db.scalar(select(User.id).where(User.username == "demo_operator"))
    response = client.patch(
        f"/api/v1/users/{target}",
        json={"password": password.format(user="demo_operator")},
        headers=auth("admin"),
    )
    _refused_on_password(response)
    assert api_login(client, "demo_operator", settings.demo_password).status_code == 200


def test_weak_passwords_are_refused_when_a_user_changes_their_own(
    client: TestClient, settings: Settings
) -> None:
    token = api_login(client, "demo_operator", settings.demo_password).json()["access_token"]
    for password in [*WEAK, "demo_operator-1"]:
        new = password.format(user="demo_operator")
        response = client.post(
            "/api/v1/users/me/password",
            json={"current_password": settings.demo_password, "new_password": new},
            headers=bearer(token),
        )
        _refused_on_password(response)
    assert api_login(client, "demo_operator", settings.demo_password).status_code == 200


def test_the_cli_refuses_a_weak_password(cli_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    assert runner.invoke(cli_app, ["seed", "--scale", "small"]).exit_code == 0
    monkeypatch.setenv("FENGQIAO_NEW_PASSWORD", "12345678")
    refused = runner.invoke(cli_app, ["users", "passwd", "demo_operator"])
    assert refused.exit_code != 0 and "password" in refused.output
    created = runner.invoke(
        cli_app,
        [
            "users",
            "create",
            "river_admin",
            "--name",
            "河长",
            "--role",
            "operator",
            "--home",
            "330603",
        ],
    )
    assert created.exit_code != 0
    with cli_db.session() as session:
        assert session.scalar(select(User.id).where(User.username == "river_admin")) is None


def test_the_demo_password_and_a_good_one_pass() -> None:
    policy = PasswordPolicy(min_length=10, min_score=3)
    demo_password = Settings.model_fields["demo_password"].default  # what `make demo` prints
    policy.check(demo_password, username="demo_operator", name="演示操作员")
    policy.check("correct horse battery", username="zhang_wei", name="张伟")
