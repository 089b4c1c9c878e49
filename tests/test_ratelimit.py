"""Rate limits on logins and the public doors: the (N+1)th request in a window is refused with
429 problem+json and Retry-After, counted by rule; shared through Redis when configured."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from prometheus_client import REGISTRY

from fengqiao.ratelimit import client_address
from tests.auth.helpers import api_login, app_client, web_login
from tests.auth.test_auth_api import assert_problem
from tests.conftest import BoundDatabase, Seeded
from tests.open311.conftest import spec_error

REDIS_URL = "redis://127.0.0.1:6379/0"


def refusals(rule: str) -> float:
    return REGISTRY.get_sample_value("fengqiao_rate_limit_refusals_total", {"rule": rule}) or 0.0


def assert_limited(response: Any) -> None:
    body = assert_problem(response, 429, "rate-limited")
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert body["title_zh"] == "请求过于频繁"


def test_the_login_limit_refuses_the_next_attempt_whatever_the_password(
    bound: BoundDatabase, seeded: Seeded
) -> None:
    before = refusals("login")
    with app_client(bound, seeded, rate_limit_login="3/minute") as client:
        for n in range(3):
            assert api_login(client, "demo_operator", f"guess-{n}").status_code == 401
        assert_limited(api_login(client, "demo_operator", seeded.settings.demo_password))
        # The login form is the same door; a person there gets the form again, in Chinese.
        form = web_login(client, "demo_operator", seeded.settings.demo_password)
        assert form.status_code == 303 and 0 < int(form.headers["Retry-After"]) <= 60
        assert form.headers["location"] == "/login?reason=limited"
        assert "登录尝试过于频繁" in client.get(form.headers["location"]).text
    assert refusals("login") == before + 2


def test_open311_posts_have_a_tighter_limit_than_its_reads(
    bound: BoundDatabase, seeded: Seeded
) -> None:
    before = refusals("open311_post")
    with app_client(
        bound, seeded, rate_limit_public="6/minute", rate_limit_open311_post="2/minute"
    ) as client:
        for _ in range(2):
            assert client.post("/open311/v2/requests.json", data={"x": "1"}).status_code != 429
        # Open311 clients get the spec's error shape in the path's format, with Retry-After.
        posted = client.post("/open311/v2/requests.json", data={"x": "1"})
        assert 0 < int(posted.headers["Retry-After"]) <= 60
        assert "请求过于频繁" in spec_error(posted, 429)
        for _ in range(6):
            assert client.get("/open311/v2/services.xml").status_code == 200
        listed = client.get("/open311/v2/services.xml")
        assert listed.headers["content-type"].startswith("text/xml")
        assert "too many requests" in spec_error(listed, 429)
        assert_limited(client.get("/api/v1/public/services/search"))  # elsewhere problem+json
    assert refusals("open311_post") == before + 1


def test_the_public_catalogue_and_the_iot_webhook_are_limited(
    bound: BoundDatabase, seeded: Seeded
) -> None:
    with app_client(
        bound, seeded, rate_limit_public="3/minute", rate_limit_iot="2/minute"
    ) as client:
        assert [client.get("/api/v1/public/services").status_code for _ in range(3)] == [200] * 3
        assert_limited(client.get("/api/v1/public/services/categories"))
        assert_limited(client.get("/services"))  # the page shares the catalogue's budget
        for _ in range(2):
            assert client.post("/api/v1/iot/alarms", json={}).status_code != 429
        assert_limited(client.post("/api/v1/iot/alarms", json={}))
        # Signed-in work is not on any public budget.
        assert client.get("/api/v1/users/me").status_code == 401


def test_each_address_has_its_own_budget(bound: BoundDatabase, seeded: Seeded) -> None:
    with (
        app_client(bound, seeded, peer=("10.0.0.5", 1), rate_limit_public="2/minute") as first,
        app_client(bound, seeded, peer=("10.0.0.5", 1), rate_limit_public="2/minute") as same,
    ):
        del same  # another app instance keeps its own in-memory counts; see the Redis test
        for _ in range(2):
            assert first.get("/api/v1/public/services").status_code == 200
        assert_limited(first.get("/api/v1/public/services"))


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    bound: BoundDatabase, seeded: Seeded
) -> None:
    def spoofed(n: int) -> dict[str, str]:
        return {"X-Forwarded-For": f"203.0.113.{n}"}

    limits: dict[str, Any] = {"rate_limit_public": "2/minute"}
    # Straight from the internet: a made-up X-Forwarded-For buys no fresh budget.
    with app_client(bound, seeded, peer=("198.51.100.7", 1), **limits) as direct:
        codes = [direct.get("/api/v1/public/services", headers=spoofed(n)).status_code
                 for n in range(3)]  # fmt: skip
        assert codes == [200, 200, 429]
    # Behind the configured proxy, each client it names is counted on its own...
    with app_client(
        bound, seeded, peer=("10.0.0.2", 1), trusted_proxies="10.0.0.0/24", **limits
    ) as proxied:
        for n in range(3):
            for _ in range(2):
                assert proxied.get("/api/v1/public/services", headers=spoofed(n)).status_code == 200
        # ...and a client cannot escape by prepending a spoofed address: the proxy appends the
        # real one, which is what counts.
        chain = {"X-Forwarded-For": "192.0.2.99, 203.0.113.1"}
        assert_limited(proxied.get("/api/v1/public/services", headers=chain))


def test_the_client_address_rules() -> None:
    trusted = ["10.0.0.0/8"]
    assert client_address("10.1.2.3", "203.0.113.9", trusted) == "203.0.113.9"
    assert client_address("10.1.2.3", "203.0.113.9, 10.4.4.4", trusted) == "203.0.113.9"
    assert client_address("198.51.100.1", "203.0.113.9", trusted) == "198.51.100.1"
    assert client_address("10.1.2.3", None, trusted) == "10.1.2.3"
    assert client_address("10.1.2.3", "garbage, 10.4.4.4", trusted) == "10.1.2.3"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"fq-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    server = redis.Redis.from_url(REDIS_URL)
    for key in server.scan_iter(f"{prefix}*"):
        server.delete(key)
    server.close()


def test_instances_share_counts_through_redis(
    bound: BoundDatabase, seeded: Seeded, redis_prefix: str
) -> None:
    shared: dict[str, Any] = {
        "redis_url": REDIS_URL,
        "rate_limit_key_prefix": redis_prefix,
        "rate_limit_login": "3/minute",
    }
    with (
        app_client(bound, seeded, **shared) as one,
        app_client(bound, seeded, **shared) as other,
    ):
        assert api_login(one, "demo_operator", "guess-1").status_code == 401
        assert api_login(other, "demo_operator", "guess-2").status_code == 401
        assert api_login(one, "demo_operator", "guess-3").status_code == 401
        assert_limited(api_login(other, "demo_operator", seeded.settings.demo_password))
    stored = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_prefix}*"))
    assert stored, "the counts live in Redis"
