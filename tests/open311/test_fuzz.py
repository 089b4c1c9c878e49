"""The Open311 surface fuzzed from its own OpenAPI description (/open311/v2/openapi.json) with
schemathesis: whatever a client sends, no server error; refusals keep the spec's shape.

POST requests carries a real key of the demo device account, so the fuzzer reaches filing
(class, place, attributes) instead of stopping at the key check (covered in test_refusals).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.schemas import OpenApiSchema

from fengqiao.app import create_app
from fengqiao.clock import FixedClock
from tests.open311.conftest import START


@pytest.fixture
def fuzzed_app(bound: Any, seeded: Any, tmp_path: Any) -> FastAPI:
    # Hundreds of requests from one address: the rate limits (tests/test_ratelimit.py) would
    # answer most of them before the surface under test.
    settings_ = seeded.settings.model_copy(
        update={"data_dir": tmp_path, "rate_limit_enabled": False}
    )
    return create_app(settings_, database=bound, clock=FixedClock(START))


@pytest.fixture
def open311_schema(fuzzed_app: FastAPI) -> OpenApiSchema:
    return schemathesis.openapi.from_asgi("/open311/v2/openapi.json", fuzzed_app)


def test_no_server_error(open311_schema: OpenApiSchema, api_key: str) -> None:
    """Every operation, positive and negative data: never a 5xx; errors in the spec's types."""
    operations = []
    for result in open311_schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert len(operations) == 8  # requests.{format} has GET and POST; servicerequestupdates
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=25,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def check(case: schemathesis.Case) -> None:
                if case.method == "POST" and isinstance(case.body, dict):
                    case.body["api_key"] = api_key
                response = case.call_and_validate(checks=[not_a_server_error])
                if response.status_code >= 400:
                    media = response.headers["content-type"][0].split(";")[0]
                    assert media in ("application/json", "text/xml"), (case, response.text)

            check()
