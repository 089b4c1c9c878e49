"""`fengqiao serve` as an operator runs it: JSON log lines with request ids, no credentials in
the access log, and /metrics adding up every uvicorn worker process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ops.conftest import Copy

SECRET = "fq-open311-key-must-not-be-logged"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(copy: Copy, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`fengqiao serve --workers 2` on the copy; yields its base URL and its stderr file."""
    if not copy.database.is_sqlite:
        pytest.skip("logging and metrics do not depend on the backend; one server run is enough")
    port = free_port()
    env = dict(os.environ)
    env.update(
        FENGQIAO_DATABASE_URL=copy.settings.database_url,
        FENGQIAO_DATA_DIR=str(tmp_path),
        FENGQIAO_SECRET_KEY=copy.settings.secret_key,
        FENGQIAO_LOG_FORMAT="json",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "serve.log"
    command = [str(Path(sys.executable).with_name("fengqiao")), "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base, log
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_keys_in_query_strings_never_reach_the_log_and_lines_carry_request_ids(
    served: tuple[str, Path],
) -> None:
    base, log = served
    sent_id = "trace-0123456789"
    response = httpx.get(
        f"{base}/open311/v2/requests.json",
        params={"api_key": SECRET, "status": "open"},
        headers={"X-Request-ID": sent_id, "Authorization": "Bearer " + SECRET},
        cookies={"fq_session": SECRET},
    )
    assert response.headers["X-Request-ID"] == sent_id
    made = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    time.sleep(0.5)  # the log line is written as the response ends
    text = log.read_text(encoding="utf-8")
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == sent_id]
    assert [(m["route"], m["query"]) for m in mine if m["event"] == "request"] == [
        ("/open311/v2/requests.{format}", "api_key=[redacted]&status=open")
    ]
    assert all(set(line) >= {"at", "level", "event"} for line in lines)


def test_metrics_add_up_the_worker_processes_and_are_not_public(
    served: tuple[str, Path],
) -> None:
    base, _ = served
    for _ in range(40):  # fresh connections: the kernel spreads them over both workers
        with httpx.Client() as client:
            assert client.get(f"{base}/api/v1/taxonomy/nope").status_code in (401, 404)
    scraped = httpx.get(f"{base}/metrics")
    assert scraped.status_code == 200
    counts = re.findall(
        r'fengqiao_http_request_duration_seconds_count\{method="GET",route="<unmatched>",'
        r'status="\d+"\} (\S+)|fengqiao_http_request_duration_seconds_count\{[^}]*'
        r'route="/api/v1/taxonomy/[^"]*"[^}]*\} (\S+)',
        scraped.text,
    )
    assert sum(float(a or b) for a, b in counts) >= 40
    assert "fengqiao_outbox_backlog" in scraped.text or "fengqiao_rollup_queue_depth" in (
        scraped.text
    )
    proxied = httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403
