"""Fixtures of Open311: the app on a stopped clock, an API key of the demo device account, a
point in the district, and a helper that posts a request as a resident's app would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.auth.service import create_api_key
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.models import Event
from fengqiao.open311.models import Open311Request
from tests.events.conftest import World, make_world

START = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)
BASE = "/open311/v2"
# What a resident tells the app about themselves: stored, never returned.
PERSONAL = {
    "email": "zhang.san@example.cn",
    "first_name": "三丰",
    "last_name": "张",
    "phone": "13857512345",
    "device_id": "device-7f3a9c",
    "account_id": "acct-5550123",
}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def api(bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any) -> Iterator[TestClient]:
    settings = seeded.settings.model_copy(update={"data_dir": tmp_path, "rules_check_seconds": 0})
    app = create_app(settings, database=bound, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def world(db: Session) -> World:
    return make_world(db)


@pytest.fixture
def api_key(db: Session) -> str:
    """A key of `demo_device` (role device, which may file Open311 requests)."""
    made = create_api_key(db=db, username="demo_device", name="open311 app")
    db.flush()
    return made.key


class App:
    """A resident's Open311 app: posts form-encoded requests with its key."""

    def __init__(self, api: TestClient, key: str, world: World) -> None:
        self.api, self.key, self.world = api, key, world

    def post(self, fmt: str = "json", **fields: Any) -> Response:
        lat, lng = self.world.grid_point
        form: dict[str, Any] = {
            "api_key": self.key,
            "service_code": self.world.handler_category,
            "lat": str(lat),
            "long": str(lng),
            "address_string": "柯桥街道笛扬路 88 号",
            "description": "人行道上有人占道经营，行人只能走机动车道",
            "media_url": "https://photos.example.cn/a/1.jpg",
        }
        form.update(fields)
        form = {k: v for k, v in form.items() if v is not None}
        return self.api.post(f"{BASE}/requests.{fmt}", data=form)

    def file(self, **fields: Any) -> dict[str, Any]:
        response = self.post(**fields)
        assert response.status_code == 200, response.text
        (posted,) = response.json()
        return dict(posted)


@pytest.fixture
def app311(api: TestClient, api_key: str, world: World) -> App:
    return App(api, api_key, world)


def event_of(db: Session, service_request_id: str) -> Event:
    """The event of a service_request_id (an opaque public id, or an old event code)."""
    by_public = select(Open311Request.event_id).where(
        Open311Request.public_id == service_request_id
    )
    event = db.scalars(
        select(Event).where(or_(Event.id.in_(by_public), Event.code == service_request_id))
    ).one()
    db.refresh(event)
    return event


def xml(response: Response) -> Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers
    root: Element = ElementTree.fromstring(response.content)
    return root


def spec_error(response: Response, code: int) -> str:
    """The description of the spec's error, checked in the path's format; English / Chinese."""
    assert response.status_code == code, response.text
    if response.headers["content-type"].startswith("text/xml"):
        root = xml(response)
        assert root.tag == "errors"
        (error,) = list(root)
        assert error.findtext("code") == str(code)
        description = error.findtext("description") or ""
    else:
        body = response.json()
        assert isinstance(body, list) and len(body) == 1 and body[0]["code"] == code
        description = str(body[0]["description"])
    english, _, chinese = description.partition(" / ")
    assert english and chinese, description
    return description
