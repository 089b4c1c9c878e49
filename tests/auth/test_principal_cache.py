"""Principals stay in memory until accounts change, on every instance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from fengqiao.app import create_app
from fengqiao.auth.service import PrincipalCache
from fengqiao.scope import Principal
from tests.conftest import BoundDatabase, Seeded

SOMEONE = Principal(
    user_id=1, username="u", name="U", roles=frozenset({"operator"}), home_org_id=1,
    home_path="/1/",
)  # fmt: skip


def test_entries_live_until_the_counter_moves() -> None:
    cache = PrincipalCache(check_seconds=3600)
    assert cache.needs_check()
    cache.refresh(7)
    assert not cache.needs_check()
    cache.put(("user", 1), SOMEONE)
    cache.refresh(7)
    assert cache.get(("user", 1)) == SOMEONE
    cache.refresh(8)
    assert cache.get(("user", 1)) is None


def test_zero_seconds_caches_nothing() -> None:
    cache = PrincipalCache(check_seconds=0)
    cache.put(("user", 1), SOMEONE)
    assert cache.get(("user", 1)) is None and not cache.needs_check()


def test_a_user_disabled_on_one_instance_is_refused_on_another(
    bound: BoundDatabase, seeded: Seeded, auth: Callable[[str], dict[str, str]], db: Any
) -> None:
    settings = seeded.settings.model_copy(update={"principal_cache_seconds": 0.2})
    with (
        TestClient(create_app(settings, database=bound)) as one,
        TestClient(create_app(settings, database=bound)) as other,
    ):
        handler = auth("demo_handler")
        me = one.get("/api/v1/users/me", headers=handler)
        assert me.status_code == 200
        user_id = me.json()["id"]
        # The other instance disables the handler; this one still holds the principal, but
        # the handler's tokens were revoked with the change, which every instance reads at once.
        changed = other.patch(
            f"/api/v1/users/{user_id}", json={"is_active": False}, headers=auth("admin")
        )
        assert changed.status_code == 200, changed.text
        refused = one.get("/api/v1/users/me", headers=handler)
        assert refused.status_code == 401
        assert refused.json()["detail_zh"] == "令牌无效"
