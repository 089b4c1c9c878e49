"""The app through Debian's PgBouncer in transaction mode (FENGQIAO_DATABASE_PGBOUNCER=true): a
whole flow works with no server-side prepared statements, and PgBouncer restarted while a filing
is in flight gives that request a clean 503 problem+json with nothing stored, and the next one
succeeds.

PostgreSQL only (PgBouncer speaks PostgreSQL's protocol); run once, not per backend.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fengqiao.analytics.charts import CHARTS
from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.auth.security import issue_token
from fengqiao.db import Database
from fengqiao.demo.seed import seed
from tests.conftest import POSTGRES_URL, TEST_KEY, _new_empty, make_settings
from tests.events.conftest import Desk, make_world
from tests.replica.clusters import Bouncer, wait_until, workspace

pytestmark = pytest.mark.xdist_group("replica")

MARK = "连接池重启测试"


@dataclass
class Behind:
    """A seeded database of the test PostgreSQL and a PgBouncer in front of it."""

    url: str  # direct
    bouncer: Bouncer

    @property
    def name(self) -> str:
        return str(make_url(self.url).database)

    def direct(self) -> psycopg.Connection[Any]:
        target = make_url(self.url)
        return psycopg.connect(
            host=target.host, port=target.port or 5432, user=target.username or "postgres",
            dbname=self.name, autocommit=True,
        )  # fmt: skip

    def count(self, query: str, *params: Any) -> int:
        """A `SELECT count(*)` on a direct connection (not through PgBouncer)."""
        with self.direct() as connection:
            row = connection.execute(query, params).fetchone()
            return int(row[0]) if row else 0

    def marked(self) -> int:
        return self.count("SELECT count(*) FROM event WHERE description LIKE %s", f"{MARK}%")

    def backends(self, condition: str) -> int:
        """This database's other server processes matching `condition`."""
        return self.count(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            f" AND {condition}",
            self.name,
        )


@pytest.fixture
def behind(
    request: pytest.FixtureRequest, tmp_path: Path, empty_templates: dict[str, str]
) -> Iterator[Behind]:
    if os.environ.get("FENGQIAO_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("FENGQIAO_TEST_SKIP_POSTGRES=1")
    url = _new_empty("postgresql", tmp_path, request, empty_templates)
    database = Database(url)
    seed(db=database, scale="small", password="demo-pass-for-tests")
    database.dispose()
    target = make_url(POSTGRES_URL)
    root = workspace("fq-pgbouncer-")
    bouncer = Bouncer(root, target.host or "127.0.0.1", target.port or 5432)
    bouncer.start()
    try:
        yield Behind(url, bouncer)
    finally:
        bouncer.kill()
        shutil.rmtree(root, ignore_errors=True)
        request.getfixturevalue("postgres").drop(url)


def through(behind: Behind, tmp_path: Path, *, pgbouncer: bool = True) -> TestClient:
    settings = make_settings(
        behind.bouncer.url(behind.name),
        tmp_path,
        database_pgbouncer=pgbouncer,
        read_cache_seconds=0,
        rules_check_seconds=0,
    )
    return TestClient(create_app(settings))


def desk_of(client: TestClient) -> Desk:
    app: Any = client.app
    with Session(app.state.db.engine) as db:
        world = make_world(db)
        ids = {u.username: u.id for u in db.scalars(select(User))}

    def auth(username: str) -> dict[str, str]:
        token = issue_token(user_id=ids[username], key=TEST_KEY, minutes=60)
        return {"Authorization": f"Bearer {token}"}

    return Desk(client, auth, world)


def test_a_whole_flow_runs_through_pgbouncer_in_transaction_mode(
    behind: Behind, tmp_path: Path
) -> None:
    with through(behind, tmp_path) as client:
        app: Any = client.app
        engine = app.state.db.engine
        assert engine.url.port == behind.bouncer.port
        with engine.connect() as connection:  # the server behind it is the test PostgreSQL
            assert connection.exec_driver_sql("SELECT inet_server_port()").scalar() == (
                make_url(POSTGRES_URL).port or 5432
            )
        desk = desk_of(client)
        headers = desk.auth("demo_operator")

        def flow(n: int) -> int:
            event = desk.file(description=f"{MARK}：流程 {n}")
            event = desk.act(event, "demo_operator", "accept")
            event = desk.act(event, "demo_operator", "dispatch")
            assert event["status"] == "dispatched", event
            listed = client.get("/api/v1/events?size=100", headers=headers)
            assert listed.status_code == 200, listed.text
            assert event["id"] in {item["id"] for item in listed.json()["items"]}
            chart = client.get(
                f"/api/v1/analytics/charts/{CHARTS[n % len(CHARTS)].name}",
                headers=desk.auth("demo_district_leader"),
            )
            assert chart.status_code == 200, chart.text
            return int(event["id"])

        # Side by side and well past psycopg's prepare threshold (5 runs of one statement):
        # the transactions of one client connection land on different server connections.
        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(flow, range(16)))
        assert len(set(ids)) == 16

        def listing(n: int) -> int:
            return client.get(f"/api/v1/events/{ids[n % 16]}", headers=headers).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(listing, range(400))) == {200}
    assert behind.marked() == 16


@pytest.mark.parametrize("setting", [False, True])
def test_the_setting_keeps_prepared_statements_off_pgbouncers_shared_servers(
    behind: Behind, setting: bool
) -> None:
    """Without FENGQIAO_DATABASE_PGBOUNCER psycopg prepares a statement run five times on the
    server connection PgBouncer lent it; another client lent that server next prepares its own
    statement under the same name and fails. With it, nothing is prepared."""
    one, two = (Database(behind.bouncer.url(behind.name), pgbouncer=setting) for _ in "12")

    def run(database: Database, statement: str) -> None:
        for n in range(8):
            with database.engine.begin() as connection:  # a transaction: a server lent
                connection.execute(text(statement), {"n": n})

    try:
        run(one, "SELECT 1 + CAST(:n AS integer)")
        if setting:
            run(two, "SELECT 2 * CAST(:n AS integer)")
            with two.engine.begin() as connection:
                assert connection.scalar(text("SELECT count(*) FROM pg_prepared_statements")) == 0
        else:
            with pytest.raises(DBAPIError, match="prepared statement"):
                run(two, "SELECT 2 * CAST(:n AS integer)")
    finally:
        one.dispose()
        two.dispose()


def test_pgbouncer_restarted_mid_request_fails_it_cleanly_and_the_next_succeeds(
    behind: Behind, tmp_path: Path
) -> None:
    with through(behind, tmp_path) as client:
        desk = desk_of(client)
        desk.file(description=f"{MARK}：之前")  # the pool holds live connections
        assert behind.marked() == 1

        answer: dict[str, httpx.Response] = {}
        with behind.direct() as blocker:
            # Hold the event table, so the next filing waits inside its transaction.
            blocker.execute("BEGIN")
            blocker.execute("LOCK TABLE event IN ACCESS EXCLUSIVE MODE")
            lat, lng = desk.world.grid_point
            body = {
                "source": "grid_worker", "category": desk.world.handler_category,
                "description": f"{MARK}：进行中", "lat": lat, "lng": lng, "address": "柯桥街道某路",
            }  # fmt: skip
            headers = desk.auth("demo_grid_worker")
            filing = threading.Thread(
                target=lambda: answer.update(
                    r=client.post("/api/v1/events", json=body, headers=headers)
                )
            )
            filing.start()
            wait_until(
                lambda: behind.backends("wait_event_type = 'Lock'") > 0,
                what="the filing to wait for the table",
            )
            behind.bouncer.kill()  # every client and server connection closed
            behind.bouncer.start()
            filing.join(30)
            blocker.execute("ROLLBACK")
        assert not filing.is_alive()
        response = answer["r"]
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["retry-after"] == "1"
        problem = response.json()
        assert problem["type"].endswith("database-unavailable")
        assert problem["detail_zh"]

        # The server side of the cut connection ends without committing: nothing was stored.
        wait_until(
            lambda: behind.backends("state <> 'idle'") == 0, what="the cut transaction to end"
        )
        time.sleep(0.2)
        assert behind.marked() == 1

        # The next request gets a fresh connection (the pool's dead ones fail their ping).
        retried = desk.file(description=f"{MARK}：进行中")
        assert retried["id"]
        listed = client.get("/api/v1/events?size=100", headers=desk.auth("demo_operator"))
        assert listed.status_code == 200
        assert retried["id"] in {item["id"] for item in listed.json()["items"]}
    assert behind.marked() == 2
