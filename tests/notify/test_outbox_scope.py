"""The outbox list and resend keep to the caller's scope (issue 15: a town operator saw the
whole district's SMS rows, other towns' mobile numbers included, and could resend them)."""

# ruff: noqa: F811  (the fixtures are imported from tests.scope_world by name)
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.outbox.models import Outbox
from tests.scope_world import Towns, api, clock, towns  # noqa: F401  (fixtures)


def _outbox(api: TestClient, auth: Any, user: str) -> list[dict[str, Any]]:
    response = api.get("/api/v1/outbox", params={"limit": 500}, headers=auth(user))
    assert response.status_code == 200, response.text
    return list(response.json())


def test_town_operator_sees_only_their_towns_messages(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    mine = _outbox(api, auth, "demo_operator")
    home_event = towns.events[towns.home_town]["id"]
    other_event = towns.events[towns.other_town]["id"]
    assert any(row["event_id"] == home_event for row in mine)
    assert not any(row["event_id"] == other_event for row in mine)
    # The other town's operator's mobile number never reaches this operator.
    assert not any(row["recipient"] == "13900000001" for row in mine)
    theirs = _outbox(api, auth, "ky_operator")
    assert any(row["recipient"] == "13900000001" for row in theirs)
    assert not any(row["event_id"] == home_event for row in theirs)
    # The district's operator sees both towns.
    everything = {row["event_id"] for row in _outbox(api, auth, "demo_district_operator")}
    assert {home_event, other_event} <= everything


def test_town_operator_cannot_resend_another_towns_message(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    other_event = towns.events[towns.other_town]["id"]
    message = db.scalars(
        select(Outbox).where(Outbox.event_id == other_event).order_by(Outbox.id)
    ).first()
    assert message is not None
    attempts = message.attempts
    response = api.post(f"/api/v1/outbox/{message.id}/resend", headers=auth("demo_operator"))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    db.expire_all()
    assert db.get(Outbox, message.id).attempts == attempts  # type: ignore[union-attr]
    # Its own town's operator may.
    response = api.post(f"/api/v1/outbox/{message.id}/resend", headers=auth("ky_operator"))
    assert response.status_code in (200, 409), response.text


def test_message_without_event_belongs_to_its_recipients_home(
    api: TestClient, auth: Any, towns: Towns, db: Session, clock: Any
) -> None:
    """A message tied to no event (a bulletin, say) is in the scope of its recipient's home."""
    ky = towns.user_ids["ky_leader"]
    db.add(
        Outbox(
            channel="sms", recipient="13900000002", user_id=ky, template="bulletin", payload={},
            dedupe_key="test:bulletin:ky", event_id=None, status="pending", attempts=0,
            next_attempt_at=clock.now(), created_at=clock.now(),
        )
    )  # fmt: skip
    db.commit()
    assert not any(r["recipient"] == "13900000002" for r in _outbox(api, auth, "demo_operator"))
    assert any(r["recipient"] == "13900000002" for r in _outbox(api, auth, "ky_operator"))
