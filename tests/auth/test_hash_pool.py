"""Password hashing runs behind a bounded pool: concurrent logins wait their turn instead of
each taking argon2's 64 MiB at once, and one that waits too long is told to retry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fengqiao.auth import security
from fengqiao.auth.security import HashPool, hash_password
from tests.auth.helpers import api_login, app_client
from tests.auth.test_auth_api import assert_problem
from tests.conftest import BoundDatabase, Seeded


def test_at_most_k_hashes_run_at_once() -> None:
    pool = HashPool(size=2, wait_seconds=30)
    stored = hash_password("river-bend-lantern-42")
    start = threading.Barrier(8)

    def check(n: int) -> bool:
        start.wait()
        return pool.verify(stored, "river-bend-lantern-42" if n % 2 else "wrong")

    with ThreadPoolExecutor(8) as threads:
        results = list(threads.map(check, range(8)))
    assert results == [n % 2 == 1 for n in range(8)]
    assert pool.peak == 2


def test_a_login_that_waits_too_long_is_told_to_retry(bound: BoundDatabase, seeded: Seeded) -> None:
    with app_client(
        bound, seeded, password_hash_concurrency=1, password_hash_wait_seconds=0.2
    ) as client:
        with security.hash_pool.slot():  # another login holds the only slot
            busy = api_login(client, "demo_operator", seeded.settings.demo_password)
        body = assert_problem(busy, 503, "login-busy")
        assert busy.headers["Retry-After"] == "1" and body["title_zh"]
        assert api_login(client, "demo_operator", seeded.settings.demo_password).status_code == 200
