"""Metrics as a scraper sees them: route templates, job timings, queues, who may read them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import insert

from fengqiao.app import create_app
from fengqiao.clock import FixedClock
from fengqiao.ops.middleware import OpsMiddleware
from fengqiao.outbox.models import Outbox
from fengqiao.worker import run_forever
from tests.events.conftest import START
from tests.ops.conftest import Copy


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_latency_is_counted_by_route_template_not_by_raw_path(api: TestClient, copy: Copy) -> None:
    labels = {"method": "GET", "route": "/api/v1/events/{event_id}", "status": "404"}
    before = sample("fengqiao_http_request_duration_seconds_count", **labels)
    for event_id in (999991, 999992, 999993):
        response = api.get(f"/api/v1/events/{event_id}", headers=copy.auth("demo_operator"))
        assert response.status_code == 404
    assert sample("fengqiao_http_request_duration_seconds_count", **labels) == before + 3


def test_metrics_need_the_token_and_show_the_outbox_backlog_by_channel(copy: Copy) -> None:
    settings = copy.settings.model_copy(update={"metrics_token": "scrape-token-0123"})
    app = create_app(settings, database=copy.database, clock=FixedClock(START))
    with copy.database.transaction() as session:
        due = START - timedelta(minutes=10)
        session.execute(
            insert(Outbox),
            [{"channel": "sms", "recipient": f"1380000000{i}", "template": "reminder",
              "payload": {}, "dedupe_key": f"ops-test-{i}", "status": "pending",
              "attempts": 0, "next_attempt_at": due, "created_at": due} for i in range(3)],
        )  # fmt: skip
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123"})
    assert scraped.status_code == 200
    lines = scraped.text.splitlines()
    assert 'fengqiao_outbox_backlog{channel="sms",status="pending"} 3.0' in lines
    assert 'fengqiao_outbox_oldest_due_seconds{channel="sms"} 600.0' in lines
    assert any(line.startswith("fengqiao_rollup_queue_depth ") for line in lines)


def test_without_a_token_metrics_are_not_public(api: TestClient) -> None:
    refused = api.get("/metrics")  # the test client is not the loopback address
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_the_worker_times_each_job_and_its_lag(copy: Copy) -> None:
    settings = copy.settings.model_copy(update={"worker_poll_seconds": 0.05})
    before = sample("fengqiao_job_duration_seconds_count", job="sla", outcome="ok")
    lag_before = sample("fengqiao_job_lag_seconds_count", job="sla")
    stop = threading.Event()
    rounds = []

    def on_round(counts: dict[str, dict[str, int]]) -> None:
        rounds.append(counts)
        if len(rounds) == 2:
            stop.set()

    run_forever(copy.database, settings, FixedClock(START), stop=stop, on_round=on_round)
    assert sample("fengqiao_job_duration_seconds_count", job="sla", outcome="ok") == before + 2
    assert sample("fengqiao_job_lag_seconds_count", job="sla") >= lag_before + 1


def _ops_app(copy: Copy, seen: list[float]) -> FastAPI:
    """A bare app behind the same middleware: a route that fails and a stream that reads the
    open-streams gauge while it is open."""
    bare = FastAPI()
    bare.state.db = copy.database
    bare.state.clock = FixedClock(START)

    @bare.get("/boom/{n}")
    def boom(n: int) -> None:
        raise RuntimeError(f"boom {n}")

    @bare.get("/tick")
    def tick() -> StreamingResponse:
        def frames() -> Iterator[str]:
            seen.append(sample("fengqiao_open_streams", route="/tick"))
            yield "data: 1\n\n"

        return StreamingResponse(frames(), media_type="text/event-stream")

    bare.add_middleware(OpsMiddleware, state=bare.state)
    return bare


def test_server_errors_and_open_streams_are_counted(copy: Copy) -> None:
    seen: list[float] = []
    labels = {"method": "GET", "route": "/boom/{n}", "status": "500"}
    before = sample("fengqiao_http_errors_total", **labels)
    with TestClient(_ops_app(copy, seen), raise_server_exceptions=False) as client:
        for n in (1, 2):
            assert client.get(f"/boom/{n}").status_code == 500
        assert client.get("/tick").text == "data: 1\n\n"
    # By the route's template, not the raw path; a stream counts while open, and not after.
    assert sample("fengqiao_http_errors_total", **labels) == before + 2
    assert seen == [1.0]
    assert sample("fengqiao_open_streams", route="/tick") == 0.0
