"""POST requests with photos as multipart (checked and stored like staff photos), several
media_url, a location given only as an address, CORS for configured origins, and keys that
never reach a log."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.events.models import Attachment, Event
from fengqiao.geo.models import LayerFeature
from fengqiao.logs import redact_query
from fengqiao.open311.models import Open311Request
from tests.events.conftest import World, jpeg
from tests.open311.conftest import BASE, App, event_of, spec_error


def _stored(db: Session) -> tuple[int, int, int]:
    count = lambda model: int(db.scalar(select(func.count()).select_from(model)) or 0)  # noqa: E731
    return count(Event), count(Open311Request), count(Attachment)


def _form(app311: App, **more: Any) -> dict[str, str]:
    lat, lng = app311.world.grid_point
    form = {
        "api_key": app311.key,
        "service_code": app311.world.handler_category,
        "lat": str(lat),
        "long": str(lng),
        "description": "路边堆满建筑垃圾",
    }
    form.update(more)
    return {k: v for k, v in form.items() if v is not None}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_photo_posted_as_multipart_is_stored_like_staff_photos(
    app311: App, db: Session, fmt: str
) -> None:
    photo = jpeg("green")
    response = app311.api.post(
        f"{BASE}/requests.{fmt}",
        data=_form(app311),
        files={"media": ("photo.jpg", photo, "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    if fmt == "json":
        public_id = response.json()[0]["service_request_id"]
    else:
        public_id = response.text.split("<service_request_id>")[1].split("<")[0]
    event = event_of(db, public_id)
    (attachment,) = db.scalars(select(Attachment).where(Attachment.event_id == event.id)).all()
    assert (attachment.kind, attachment.mime) == ("report", "image/jpeg")
    assert attachment.bytes == len(photo)
    assert app311.api.app.state.photos.exists(attachment.sha256)  # type: ignore[attr-defined]


def test_files_that_are_refused_say_why_in_both_languages_and_store_nothing(
    app311: App, db: Session
) -> None:
    before = _stored(db)
    not_image = app311.api.post(
        f"{BASE}/requests.json",
        data=_form(app311),
        files={"media": ("photo.jpg", b"<html>not a photo</html>", "image/jpeg")},
    )
    description = spec_error(not_image, 400)
    assert "media[0]" in description and "不是 JPEG、PNG 或 WebP 图片" in description
    files = [("media", (f"{n}.jpg", jpeg(), "image/jpeg")) for n in range(10)]
    too_many = app311.api.post(f"{BASE}/requests.xml", data=_form(app311), files=files)
    description = spec_error(too_many, 400)
    assert "最多上传 9 张照片" in description and "Maximum" not in description.split(" / ")[1]
    # A refused class is refused before any photo is stored.
    hidden = app311.api.post(
        f"{BASE}/requests.json",
        data=_form(app311, service_code="0203"),
        files={"media": ("photo.jpg", jpeg("blue"), "image/jpeg")},
    )
    spec_error(hidden, 400)
    assert _stored(db) == before


def test_several_media_urls_are_accepted(app311: App, db: Session) -> None:
    urls = [f"https://photos.example.cn/a/{n}.jpg" for n in range(3)]
    response = app311.api.post(
        f"{BASE}/requests.json",
        content="&".join(
            [f"{k}={v}" for k, v in _form(app311).items()] + [f"media_url={u}" for u in urls]
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    stored = db.get(Open311Request, event_of(db, response.json()[0]["service_request_id"]).id)
    assert stored is not None and stored.media_urls == urls


def test_an_address_alone_is_placed_on_the_districts_places(
    app311: App, db: Session, world: World
) -> None:
    lat, lng = world.grid_point
    db.add(
        LayerFeature(
            kind="school", code="PLACE-0001", name="笛扬实验学校", lat=lat, lng=lng,
            grid_id=None, props={"address": "笛扬路 1 号"},
        )
    )  # fmt: skip
    db.flush()
    for fields in (
        {"address_string": "笛扬实验学校 东门"},
        {"address_id": "PLACE-0001", "address_string": None},
    ):
        posted = app311.file(lat=None, long=None, **fields)
        event = event_of(db, posted["service_request_id"])
        assert (event.lat, event.lng) == pytest.approx((lat, lng))
        stored = db.get(Open311Request, event.id)
        assert stored is not None
        assert stored.located_by == ("address_id" if "address_id" in fields else "address_string")
    (body,) = app311.api.get(f"{BASE}/requests/{posted['service_request_id']}.json").json()
    assert body["address_id"] == "PLACE-0001"


def test_an_address_that_cannot_be_placed_is_refused_and_stores_nothing(
    app311: App, db: Session
) -> None:
    before = _stored(db)
    for fmt in ("json", "xml"):
        response = app311.post(fmt, lat=None, long=None, address_string="火星基地 1 号")
        description = spec_error(response, 400)
        assert "cannot place" in description and "无法在辖区内定位" in description
    assert _stored(db) == before


def test_the_key_in_a_header_is_preferred_and_echoes_the_account_id(
    app311: App, api: TestClient
) -> None:
    form = _form(app311, api_key=None, account_id="acct-1")
    response = api.post(f"{BASE}/requests.json", data=form, headers={"X-Api-Key": app311.key})
    assert response.status_code == 200, response.text
    public_id = response.json()[0]["service_request_id"]
    (anonymous,) = api.get(f"{BASE}/requests/{public_id}.json").json()
    assert anonymous["account_id"] is None  # the public never reads a client's account id
    (own,) = api.get(f"{BASE}/requests/{public_id}.json", headers={"X-Api-Key": app311.key}).json()
    assert own["account_id"] == "acct-1"
    twice = api.post(f"{BASE}/requests.json", data=_form(app311), headers={"X-Api-Key": app311.key})
    assert "more than once" in spec_error(twice, 400)


def test_cors_only_for_configured_origins(bound: Any, seeded: Any, tmp_path: Any) -> None:
    settings = seeded.settings.model_copy(
        update={"data_dir": tmp_path, "open311_cors_origins": ["https://portal.example.cn"]}
    )
    with TestClient(create_app(settings, database=bound)) as client:
        allowed = {"Origin": "https://portal.example.cn"}
        response = client.get(f"{BASE}/services.json", headers=allowed)
        assert response.headers["access-control-allow-origin"] == "https://portal.example.cn"
        preflight = client.options(
            f"{BASE}/requests.json",
            headers={**allowed, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert "X-Api-Key" in preflight.headers["access-control-allow-headers"]
        other = client.get(f"{BASE}/services.json", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        outside = client.get("/healthz", headers=allowed)
        assert "access-control-allow-origin" not in outside.headers


def test_keys_in_query_strings_are_redacted_from_the_access_log() -> None:
    """What the `open311` client and FixMyStreet send in the query string (the access log
    writes `redact_query` of it; tests/ops/test_serve.py reads a served log end to end)."""
    posted = redact_query("jurisdiction_id=&api_key=fqk_0123456789ab_secret")
    polled = redact_query("start_date=2026-12-01&api_key=fqk_0123456789ab_secret&jurisdiction_id=k")
    for line in (posted, polled):
        assert "secret" not in line and "api_key=[redacted]" in line
