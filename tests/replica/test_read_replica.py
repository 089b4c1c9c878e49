"""Reads that may lag go to a real streaming standby (FENGQIAO_READ_DATABASE_URL); writes and
read-your-own-write paths stay on the primary; a standby that lags or is down sends those reads
to the primary, counted by `fengqiao_read_fallbacks_total{reason}`, and is used again once back.

PostgreSQL only (a hot standby is PostgreSQL's); run once, not per backend.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from fengqiao.analytics.charts import CHARTS
from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.auth.security import issue_token
from fengqiao.db import Database, ReadDatabase
from tests.conftest import TEST_KEY, make_settings
from tests.events.conftest import World, make_world
from tests.replica.clusters import wait_until
from tests.replica.conftest import DATABASE, Replication

pytestmark = pytest.mark.xdist_group("replica")

EVENT_READ = re.compile(r"\bFROM event\b")


class Served:
    """The app on the primary with the standby as its read database, and which server ran
    each statement."""

    def __init__(self, client: TestClient, pair: Replication, world: World) -> None:
        self.client, self.pair, self.world = client, pair, world
        app: Any = client.app
        self.primary: Database = app.state.db
        self.read: ReadDatabase = app.state.read_db
        self.statements: dict[str, list[str]] = {"primary": [], "standby": []}
        for name, engine in (("primary", self.primary.engine), ("standby", self.read.engine)):
            event.listen(engine, "before_cursor_execute", self._recorder(name))
        with self.primary.session() as db:
            self.ids = {u.username: u.id for u in db.scalars(select(User))}

    def _recorder(self, name: str) -> Any:
        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            self.statements[name].append(statement)

        return record

    def headers(self, username: str) -> dict[str, str]:
        token = issue_token(user_id=self.ids[username], key=TEST_KEY, minutes=60)
        return {"Authorization": f"Bearer {token}"}

    def reset(self) -> None:
        for statements in self.statements.values():
            statements.clear()

    def read_events_on(self) -> set[str]:
        """The servers that read the event table since the last reset."""
        return {n for n, s in self.statements.items() if any(EVENT_READ.search(x) for x in s)}

    def listed_ids(self) -> set[int]:
        response = self.client.get(
            "/api/v1/events?size=500&sort=-created_at", headers=self.headers("demo_operator")
        )
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    def file(self) -> int:
        lat, lng = self.world.grid_point
        body = {
            "source": "grid_worker", "category": self.world.handler_category,
            "description": "副本测试：人行道上有人占道经营", "lat": lat, "lng": lng,
            "address": "柯桥街道某路",
        }  # fmt: skip
        response = self.client.post(
            "/api/v1/events", json=body, headers=self.headers("demo_grid_worker")
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


def fallbacks(reason: str) -> float:
    value = REGISTRY.get_sample_value("fengqiao_read_fallbacks_total", {"reason": reason})
    return value or 0.0


@contextmanager
def serve(replication: Replication, tmp_path: Path, cache_seconds: float) -> Iterator[Served]:
    settings = make_settings(
        replication.primary.url(DATABASE),
        tmp_path,
        read_database_url=replication.standby.url(DATABASE),
        read_max_lag_seconds=3600.0,
        read_cache_seconds=cache_seconds,
    )
    app = create_app(settings)
    with Session(app.state.db.engine) as db:
        world = make_world(db)
    try:
        with TestClient(app) as client:
            served = Served(client, replication, world)
            served.read.check_seconds = 0.0  # every read checks the lag afresh
            yield served
    finally:
        if not replication.standby.running():
            replication.standby.start()
        replication.standby.sql("SELECT pg_wal_replay_resume()")
        replication.wait_caught_up()


@pytest.fixture
def served(replication: Replication, tmp_path: Path) -> Iterator[Served]:
    """The app with its read cache off: every list reads the database."""
    with serve(replication, tmp_path, cache_seconds=0) as served:
        yield served


def test_the_read_database_is_the_standby(served: Served, replication: Replication) -> None:
    with served.read.engine.connect() as connection:
        port, standby = connection.exec_driver_sql(
            "SELECT inet_server_port(), pg_is_in_recovery()"
        ).one()
    assert (port, standby) == (replication.standby.port, True)
    with served.primary.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT inet_server_port()").scalar() == (
            replication.primary.port
        )


def test_lists_read_the_standby_and_your_own_write_reads_the_primary(
    served: Served, replication: Replication
) -> None:
    lagged = fallbacks("lag") + fallbacks("down")
    first = served.file()
    replication.wait_caught_up()
    served.reset()
    assert first in served.listed_ids()
    assert served.read_events_on() == {"standby"}

    # Replay paused: the standby holds the data as it was; the primary takes the filing.
    replication.standby.sql("SELECT pg_wal_replay_pause()")
    served.reset()
    filed = served.file()
    page = served.client.get(f"/api/v1/events/{filed}", headers=served.headers("demo_operator"))
    assert page.status_code == 200, page.text  # the event's page reads the primary
    assert filed not in served.listed_ids()  # the list, from the paused standby, lags

    replication.standby.sql("SELECT pg_wal_replay_resume()")
    replication.wait_caught_up()
    served.reset()
    assert filed in served.listed_ids()
    assert served.read_events_on() == {"standby"}
    assert fallbacks("lag") + fallbacks("down") == lagged  # max lag 3600 s: no fallback


def test_the_switched_views_read_the_standby(served: Served) -> None:
    chart = CHARTS[0].name
    before = fallbacks("lag") + fallbacks("down")
    for url, user in (
        ("/api/v1/events/export.csv", "demo_operator"),
        (f"/api/v1/analytics/charts/{chart}", "demo_district_leader"),
        ("/api/v1/layers/hospital", "demo_operator"),
        ("/api/v1/search?q=柯桥", "demo_operator"),
    ):
        served.reset()
        response = served.client.get(url, headers=served.headers(user))
        assert response.status_code == 200, (url, response.text)
        assert served.statements["standby"], url
    assert fallbacks("lag") + fallbacks("down") == before


def test_a_lagging_standby_sends_reads_to_the_primary_until_it_catches_up(
    served: Served, replication: Replication
) -> None:
    served.read.max_lag = 0.5
    replication.standby.sql("SELECT pg_wal_replay_pause()")
    filed = served.file()  # WAL the standby receives but does not replay
    wait_until(lambda: served.read.state() == "lag", what="the standby to lag over 0.5 s")
    assert served.read.lag is not None and served.read.lag > 0.5

    before = fallbacks("lag")
    served.reset()
    assert filed in served.listed_ids()  # 200, and fresh: the primary answered
    assert served.read_events_on() == {"primary"}
    assert fallbacks("lag") >= before + 1

    replication.standby.sql("SELECT pg_wal_replay_resume()")
    wait_until(lambda: served.read.state() is None, what="the standby to catch up")
    after = fallbacks("lag")
    served.reset()
    assert filed in served.listed_ids()
    assert served.read_events_on() == {"standby"}
    assert fallbacks("lag") == after


def test_a_standby_that_is_down_sends_reads_to_the_primary_until_it_is_back(
    served: Served, replication: Replication
) -> None:
    filed = served.file()
    replication.wait_caught_up()
    served.reset()
    assert filed in served.listed_ids()  # a pooled connection to the standby, about to die
    assert served.read_events_on() == {"standby"}

    replication.standby.stop()
    before = fallbacks("down")
    started = time.monotonic()
    served.reset()
    assert filed in served.listed_ids()  # 200 from the primary
    assert time.monotonic() - started < 5
    assert served.read_events_on() == {"primary"}
    assert fallbacks("down") >= before + 1
    assert served.read.state() == "down" and served.read.lag is None

    replication.standby.start()
    wait_until(lambda: served.read.state() is None, what="the standby to be back")
    after = fallbacks("down")
    served.reset()
    assert filed in served.listed_ids()
    assert served.read_events_on() == {"standby"}
    assert fallbacks("down") == after


def test_the_cached_list_takes_its_change_mark_from_the_standby(
    replication: Replication, tmp_path: Path
) -> None:
    """With the read cache on, the list's change mark is read where its rows are: a list made
    from the paused standby is not kept under the primary's newer mark, so it changes as soon
    as the standby has replayed the filing (not a cache period later)."""
    with serve(replication, tmp_path, cache_seconds=60) as served:
        replication.standby.sql("SELECT pg_wal_replay_pause()")
        filed = served.file()
        assert filed not in served.listed_ids()
        assert filed not in served.listed_ids()  # served from the cache
        replication.standby.sql("SELECT pg_wal_replay_resume()")
        replication.wait_caught_up()
        assert filed in served.listed_ids()
