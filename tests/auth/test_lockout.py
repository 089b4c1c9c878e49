"""Guessing stops: after a few wrong passwords an account, and an address, is locked for a
while, even against the right password; the lock is stored, so every instance sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fengqiao.clock import FixedClock
from tests.auth.helpers import api_login, app_client, web_login
from tests.auth.test_auth_api import assert_problem
from tests.conftest import BoundDatabase, Seeded

START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
LOCK: dict[str, Any] = {"login_lockout_failures": 10, "login_lockout_seconds": 900}


def test_two_hundred_wrong_passwords_then_the_right_one_is_refused(
    bound: BoundDatabase, seeded: Seeded
) -> None:
    clock = FixedClock(START)
    with app_client(bound, seeded, clock=clock, **LOCK) as client:
        statuses = [
            api_login(client, "demo_operator", f"guess-{n}").status_code for n in range(200)
        ]
        assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
        right = api_login(client, "demo_operator", seeded.settings.demo_password)
        body = assert_problem(right, 429, "login-locked")
        assert 0 < int(right.headers["Retry-After"]) <= 900
        assert "分钟" in str(body["detail_zh"])
        # Still locked just before the lock ends; open once it has.
        clock.advance(timedelta(seconds=899))
        assert api_login(client, "demo_operator", seeded.settings.demo_password).status_code == 429
        clock.advance(timedelta(seconds=2))
        assert api_login(client, "demo_operator", seeded.settings.demo_password).status_code == 200


def test_a_success_resets_the_count(bound: BoundDatabase, seeded: Seeded) -> None:
    with app_client(bound, seeded, clock=FixedClock(START), **LOCK) as client:
        for _ in range(2):
            for n in range(9):
                assert api_login(client, "demo_operator", f"typo-{n}").status_code == 401
            assert (
                api_login(client, "demo_operator", seeded.settings.demo_password).status_code == 200
            )


def test_one_address_guessing_many_accounts_is_locked(bound: BoundDatabase, seeded: Seeded) -> None:
    settings = LOCK | {"login_lockout_address_failures": 20}
    with (
        app_client(
            bound, seeded, clock=FixedClock(START), peer=("10.9.8.7", 4000), **settings
        ) as guesser,
        app_client(
            bound, seeded, clock=FixedClock(START), peer=("10.1.1.1", 4000), **settings
        ) as colleague,
    ):
        users = ["demo_operator", "demo_leader", "demo_handler", "demo_grid_worker", "admin"]
        for n in range(20):
            assert api_login(guesser, users[n % len(users)], f"x-{n}").status_code == 401
        # Each account saw 4 failures, under its own limit; the address is what is locked.
        refused = api_login(guesser, "demo_resident", seeded.settings.demo_password)
        assert_problem(refused, 429, "login-locked")
        # Someone at another address is not locked out.
        assert (
            api_login(colleague, "demo_operator", seeded.settings.demo_password).status_code == 200
        )


def test_the_lock_holds_on_another_instance_and_on_the_login_form(
    bound: BoundDatabase, seeded: Seeded
) -> None:
    with (
        app_client(bound, seeded, clock=FixedClock(START), **LOCK) as one,
        app_client(bound, seeded, clock=FixedClock(START), **LOCK) as other,
    ):
        for n in range(10):
            assert api_login(one, "demo_leader", f"guess-{n}").status_code == 401
        assert_problem(api_login(other, "demo_leader", seeded.settings.demo_password), 429,
                       "login-locked")  # fmt: skip
        form = web_login(other, "demo_leader", seeded.settings.demo_password)
        assert form.status_code == 429 and "fq_session" not in form.headers.get("set-cookie", "")


def test_failures_on_the_login_form_count_too(bound: BoundDatabase, seeded: Seeded) -> None:
    with app_client(bound, seeded, clock=FixedClock(START), **LOCK) as client:
        for n in range(10):
            assert web_login(client, "demo_leader", f"guess-{n}").status_code == 401
        assert api_login(client, "demo_leader", seeded.settings.demo_password).status_code == 429
        # The form says so on the page, in Chinese, not as JSON.
        page = web_login(client, "demo_leader", seeded.settings.demo_password)
        assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
        assert "分钟" in page.text and int(page.headers["Retry-After"]) > 0


def test_an_unknown_username_is_counted_like_a_known_one(
    bound: BoundDatabase, seeded: Seeded
) -> None:
    with app_client(bound, seeded, clock=FixedClock(START), **LOCK) as client:
        statuses = [api_login(client, "no_such_user", f"g-{n}").status_code for n in range(11)]
        assert statuses == [401] * 10 + [429]
