"""Fixtures of the residents' side: the app on a stopped clock (photos in tmp), the outbox
read back for a number's latest code, and sign-in by code through the API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.clock import FixedClock
from fengqiao.outbox.models import Outbox
from tests.events.conftest import START, World, make_world


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def make_app(bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any, **overrides: Any) -> Any:
    settings = seeded.settings.model_copy(
        update={"data_dir": tmp_path, "rules_check_seconds": 0, **overrides}
    )
    return create_app(settings, database=bound, clock=clock)


@pytest.fixture
def api(bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any) -> Iterator[TestClient]:
    """The app; a number may ask for many codes (the rate limits count real time, not the
    test's clock: tests/residents/test_sign_in.py checks the default limit on its own app)."""
    app = make_app(bound, seeded, clock, tmp_path, rate_limit_sms_phone="100/minute")
    with TestClient(app) as client:
        yield client


@pytest.fixture
def world(db: Session) -> World:
    return make_world(db)


def code_in_outbox(db: Session, phone: str) -> str:
    """The code of the newest sign-in SMS queued for `phone`, as the gateway would send it."""
    db.expire_all()
    row = db.scalars(
        select(Outbox)
        .where(Outbox.template == "sms_code", Outbox.recipient == phone)
        .order_by(Outbox.id.desc())
    ).first()
    assert row is not None, f"no code queued for {phone}"
    return str(row.payload["code"])


SignIn = Callable[..., dict[str, str]]


@pytest.fixture
def sign_in(api: TestClient, db: Session) -> SignIn:
    """Sign a number in by code through the API; bearer headers of the resident."""

    def run(phone: str) -> dict[str, str]:
        sent = api.post("/api/v1/auth/sms-code", json={"phone": phone})
        assert sent.status_code == 202, sent.text
        got = api.post(
            "/api/v1/auth/token", data={"phone": phone, "code": code_in_outbox(db, phone)}
        )
        assert got.status_code == 200, got.text
        return {"Authorization": f"Bearer {got.json()['access_token']}"}

    return run
