"""The whole API fuzzed from its own /openapi.json with schemathesis (issue 15): as the district
administrator (on PostgreSQL) and as a town operator (on SQLite), valid and invalid data for
every operation, a few bounded examples each. No answer may be a server error, and every refusal is problem+json.

A 5xx is collected with the case and the innermost Fengqiao frame of its traceback, so one run
names them all. The live streams are left out (they never end), and so are the calls that end
the fuzzer's own session (logout, password change): they are tested in tests/auth.
"""

from __future__ import annotations

import contextlib
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from requests.structures import CaseInsensitiveDict
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from sqlalchemy import text
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.clock import FixedClock
from tests.events.conftest import START

EXAMPLES = 6  # per operation, generation mode and account
NEVER_ENDING = ("/stream",)
ENDS_OWN_SESSION = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/me/password"),
    ("POST", "/logout"),
}
# 5xx found in files other engineers own right now, kept out of pass/fail until they are fixed
# (each listed in the closing report with its input and traceback line).
OWNED_ELSEWHERE: set[tuple[str, str]] = set()


@pytest.fixture
def fuzzed_app(bound: Any, seeded: Any, tmp_path: Path) -> FastAPI:
    # The rate limits (tests/test_ratelimit.py) would answer most requests from one address.
    settings_ = seeded.settings.model_copy(
        update={"data_dir": tmp_path, "rules_check_seconds": 0, "rate_limit_enabled": False}
    )
    return create_app(settings_, database=bound, clock=FixedClock(START))


def _innermost_fengqiao_frame(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/fengqiao/" in f.filename]
    if not frames:
        return repr(error)
    frame = frames[-1]
    where = frame.filename.split("/src/")[-1]
    return f"{where}:{frame.lineno} {frame.line} -> {type(error).__name__}: {error}"[:400]


# Path parameters filled with objects that exist (in valid-data mode), so the fuzzer reaches past
# the 404 into the handlers: (path fragment, parameter) -> SQL for a real value.
REAL_OBJECTS = {
    ("/events/", "event_id"): "SELECT min(id) FROM event",
    ("/attachments/", "attachment_id"): "SELECT min(id) FROM attachment",
    ("/routing-rules/", "rule_id"): "SELECT min(id) FROM routing_rule",
    ("/iot/rules/", "rule_id"): "SELECT min(id) FROM iot_rule",
    ("/sla/policies/", "policy_id"): "SELECT min(id) FROM sla_policy",
    ("/units/", "unit_id"): "SELECT max(id) FROM unit",
    ("/users/", "user_id"): "SELECT id FROM user_account WHERE username = 'demo_grid_leader'",
    ("/tracks/", "user_id"): "SELECT id FROM user_account WHERE username = 'demo_grid_worker'",
    ("/categories/", "code"): "SELECT min(code) FROM category",
    ("/intake/classes/", "code"): "SELECT min(code) FROM category",
    ("/org/units/", "code"): "SELECT max(code) FROM org_unit",
    ("/cameras/", "code"): "SELECT min(code) FROM layer_feature WHERE kind = 'camera'",
    ("/services/items/", "item_id"): "SELECT min(id) FROM service_item",
    ("/public/services/", "item_id"): "SELECT min(id) FROM service_item",
    ("/iot/devices/", "device_id"): "SELECT min(id) FROM iot_device",
    ("/proxy-requests/", "request_id"): "SELECT min(id) FROM proxy_request",
    ("/supervision-orders/", "order_id"): "SELECT min(id) FROM supervision_order",
    ("/warnings/", "warning_id"): "SELECT min(id) FROM warning",
    ("/outbox/", "outbox_id"): "SELECT min(id) FROM outbox",
    ("/intake/checklists/", "run_id"): "SELECT min(id) FROM checklist_run",
}


@pytest.fixture
def real_objects(db: Session) -> dict[tuple[str, str], Any]:
    found = {}
    for key, sql in REAL_OBJECTS.items():
        value = db.execute(text(sql)).scalar()
        if value is not None:
            found[key] = value
    assert len(found) >= 10
    return found


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    failures: dict[tuple[str, str], str],
    statuses: Counter[int],
    real: dict[tuple[str, str], Any],
) -> None:
    """A few cases of one operation in one mode; the first failure of each is kept."""
    key = (operation.method.upper(), operation.path)
    fills = {name: value for (part, name), value in real.items() if part in operation.path}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        if key in failures:
            return
        case.headers = CaseInsensitiveDict({**dict(case.headers or {}), **headers})
        if mode is GenerationMode.POSITIVE and case.path_parameters:
            case.path_parameters = {
                name: fills.get(name, value) for name, value in case.path_parameters.items()
            }
        try:
            response = case.call()
        except Exception as error:  # the app raised through the transport
            failures[key] = f"{case.as_curl_command()}\n  {_innermost_fengqiao_frame(error)}"
            return
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures[key] = f"{case.as_curl_command()}\n  {response.text[:300]}"
        elif response.status_code >= 400 and not operation.path.startswith("/open311/"):
            media = response.headers.get("content-type", [""])[0].split(";")[0]
            if media != "application/problem+json":
                failures[key] = f"{case.as_curl_command()}\n  {media}: {response.text[:200]}"

    with contextlib.suppress(Unsatisfiable):  # no invalid data for an operation without input
        check()


# One account per backend (each run costs minutes, mostly in generating cases): the district
# administrator reaches every operation on PostgreSQL, whose types refuse more (integer ranges,
# text in number columns); a town operator reaches them through its scope on SQLite.
ACCOUNT = {"postgresql": "admin", "sqlite": "demo_operator"}


def test_no_server_error_anywhere(
    fuzzed_app: FastAPI, auth: Any, seeded: Any, real_objects: dict[tuple[str, str], Any]
) -> None:
    username = ACCOUNT[seeded.backend]
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    headers = auth(username)
    failures: dict[tuple[str, str], str] = {}
    statuses: Counter[int] = Counter()
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if operation.path.endswith(NEVER_ENDING) or key in ENDS_OWN_SESSION:
            continue
        operations.append(operation)
    assert len(operations) > 100

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, headers, failures, statuses, real_objects)

    # The fuzzer kept its session: most answers were not 401 (a lost token would hide 5xx).
    assert statuses[401] < sum(statuses.values()) / 4, statuses
    found = {k: v for k, v in failures.items() if k not in OWNED_ELSEWHERE}
    assert found == {}, "\n".join(f"{m} {p}: {v}" for (m, p), v in sorted(found.items()))
