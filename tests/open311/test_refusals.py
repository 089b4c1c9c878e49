"""Bad Open311 input is refused in the spec's shape with a reason in English and Chinese, nothing
is stored, and every refusal is counted by reason for the operators."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fengqiao.auth.models import ApiKey
from fengqiao.auth.service import create_api_key
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.models import Event
from fengqiao.open311.models import Open311Request
from tests.events.conftest import Auth, World
from tests.open311.conftest import BASE, App, spec_error, xml


def _stored(db: Session) -> tuple[int, int]:
    events = db.scalar(select(func.count()).select_from(Event).where(Event.source == "open311"))
    return int(events or 0), int(db.scalar(select(func.count()).select_from(Open311Request)) or 0)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_posts_are_refused_and_store_nothing(
    app311: App, db: Session, world: World, fmt: str
) -> None:
    before = _stored(db)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"api_key": "fqk_wrongwrong12_secret"}, 403, "api_key 无效"),
        ({"api_key": None}, 403, "api_key"),
        (
            {"api_key": "fqk_wrongwrong12_secret", "lat": None, "colour": "red"},
            403,
            "invalid api_key",
        ),
        ({"service_code": "9999"}, 400, "service_code"),
        ({"service_code": None}, 400, "service_code"),
        ({"lat": None, "long": None, "address_string": None}, 400, "a location is required"),
        ({"lat": None, "long": None, "address_string": "火星基地 1 号"}, 400, "cannot place"),
        (
            {"lat": None, "long": None, "address_string": None, "address_id": "no-such-place"},
            400,
            "无法在辖区内定位",
        ),
        ({"long": None}, 400, "lat and long must both be"),
        ({"lat": "north"}, 400, "decimal degrees"),
        ({"lat": "95"}, 400, "lat"),
        ({"lat": "31.5", "long": "121.5"}, 400, "outside the district"),
        ({"lat": str(world.grid_point[1]), "long": str(world.grid_point[0])}, 400, "swapped"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"description": "x" * 4001}, 400, "description"),
        ({"description": "bad\x00byte"}, 400, "control characters"),
    ]
    for fields, code, words in cases:
        description = spec_error(app311.post(fmt, **fields), code)
        assert words in description, (fields, description)
    assert _stored(db) == before


def test_a_key_of_an_account_that_may_not_file_is_403(app311: App, db: Session) -> None:
    operator_key = create_api_key(db=db, username="demo_operator", name="wrong account").key
    db.flush()
    description = spec_error(app311.post(api_key=operator_key), 403)
    assert "'open311'" in description and "开放接口" in description  # the source's own words
    db.execute(update(ApiKey).where(ApiKey.key_hash != "").values(revoked_at=func.now()))
    db.flush()
    spec_error(app311.post(), 403)  # a revoked key


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start_date": "yesterday"}, "start_date must be an ISO-8601"),
        ({"end_date": "2026-13-01"}, "end_date must be an ISO-8601"),
        ({"start_date": "2026-11-20", "end_date": "2026-11-10"}, "after end_date"),
        ({"start_date": "2026-01-01", "end_date": "2026-11-01"}, "at most 90 days"),
        ({"status": "pending"}, "open or closed"),
        ({"page": "0"}, "page must be"),
        ({"page_size": "1001"}, "page_size must be"),
    ],
)
def test_bad_list_queries_are_refused(api: TestClient, params: dict[str, str], words: str) -> None:
    for fmt in ("json", "xml"):
        description = spec_error(api.get(f"{BASE}/requests.{fmt}", params=params), 400)
        assert words in description


def test_a_page_past_the_end_is_an_empty_list(app311: App, api: TestClient) -> None:
    app311.file()
    assert len(api.get(f"{BASE}/requests.json").json()) == 1
    assert api.get(f"{BASE}/requests.json", params={"page": "9"}).json() == []
    root = xml(api.get(f"{BASE}/requests.xml", params={"page": "9"}))
    assert root.tag == "service_requests" and list(root) == []


def test_unknown_paths_and_formats_are_spec_404s(api: TestClient) -> None:
    spec_error(api.get(f"{BASE}/services.html"), 404)
    spec_error(api.get(f"{BASE}/nothing.xml"), 404)
    spec_error(api.delete(f"{BASE}/requests.json"), 404)


def test_refusals_are_counted_by_reason_for_the_operators(
    app311: App, api: TestClient, auth: Auth, clock: FixedClock
) -> None:
    app311.file()
    app311.post(api_key="fqk_wrongwrong12_secret")
    app311.post(api_key="fqk_wrongwrong12_secret")
    app311.post(service_code="9999")
    app311.post(lat=None, long=None, address_string=None)
    api.get(f"{BASE}/requests.json", params={"start_date": "soon"})
    api.get(f"{BASE}/requests.json", params={"page": "0"})
    response = api.get("/api/v1/open311/stats", headers=auth("admin"))
    assert response.status_code == 200, response.text
    stats = response.json()
    assert (
        stats["since"] == (clock.now().astimezone(LOCAL_TZ) - timedelta(days=29)).date().isoformat()
    )
    assert stats["requests_filed"] == 1
    counts = {r["reason"]: r["count"] for r in stats["refusals"]}
    assert counts == {
        "invalid_api_key": 2,
        "unknown_service_code": 1,
        "missing_location": 1,
        "bad_date": 1,
        "bad_paging": 1,
    }
    assert all(" / " in r["meaning"] for r in stats["refusals"])
    day = clock.now().astimezone(LOCAL_TZ).date().isoformat()
    assert {(r["day"], r["reason"]) for r in stats["by_day"]} == {(day, k) for k in counts}
    assert api.get("/api/v1/open311/stats", headers=auth("demo_grid_worker")).status_code == 403
    assert api.get("/api/v1/open311/stats").status_code == 401


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_body_over_the_limit_is_refused_in_the_specs_shape_and_counted(
    api: TestClient, auth: Auth, db: Session, fmt: str
) -> None:
    before = _stored(db)
    big = urlencode({"service_code": "0701", "description": "x" * 70_000})
    response = api.post(
        f"{BASE}/requests.{fmt}", content=big,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert "表单请求最多" in spec_error(response, 413)
    assert _stored(db) == before
    stats = api.get("/api/v1/open311/stats", headers=auth("admin")).json()
    assert {r["reason"]: r["count"] for r in stats["refusals"]} == {"too_large": 1}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_post_that_is_not_a_form_says_so(app311: App, api: TestClient, fmt: str) -> None:
    lat, lng = app311.world.grid_point
    fields = {"api_key": app311.key, "service_code": app311.world.handler_category,
              "lat": str(lat), "long": str(lng)}  # fmt: skip
    url = f"{BASE}/requests.{fmt}"
    as_json = spec_error(api.post(url, json=fields), 400)
    assert "application/x-www-form-urlencoded" in as_json and "application/json" in as_json
    in_query = spec_error(api.post(url, params=fields), 400)
    assert "application/x-www-form-urlencoded" in in_query
    # Multipart is a form too.
    boundary = "fengqiao-test-boundary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    multipart = api.post(
        url,
        content=f"{parts}--{boundary}--\r\n".encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert multipart.status_code == 200, multipart.text


def test_the_api_key_may_come_in_the_query_string_once(app311: App, api: TestClient) -> None:
    lat, lng = app311.world.grid_point
    form = {"service_code": app311.world.handler_category, "lat": str(lat), "long": str(lng)}
    url = f"{BASE}/requests.json"
    response = api.post(url, params={"api_key": app311.key}, data=form)
    assert response.status_code == 200, response.text
    assert response.json()[0]["service_request_id"]
    twice = api.post(url, params={"api_key": app311.key}, data={**form, "api_key": app311.key})
    assert "api_key is given more than once" in spec_error(twice, 400)
    wrong = api.post(url, params={"api_key": "fqk_wrongwrong12_secret"}, data=form)
    assert "invalid api_key" in spec_error(wrong, 403)


@pytest.mark.parametrize("name", ["service_code", "lat", "description"])
def test_a_repeated_field_is_refused_by_name(
    app311: App, api: TestClient, db: Session, name: str
) -> None:
    before = _stored(db)
    lat, lng = app311.world.grid_point
    items = [("api_key", app311.key), ("service_code", app311.world.handler_category),
             ("lat", str(lat)), ("long", str(lng)), ("description", "占道经营")]  # fmt: skip
    value = dict(items)[name]
    body = urlencode([*items, (name, value if name != "service_code" else "0101")])
    response = api.post(
        f"{BASE}/requests.json",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert f"{name} is given more than once" in spec_error(response, 400)
    assert _stored(db) == before


def test_the_photo_line_must_fit_the_events_description(app311: App) -> None:
    url = "https://photos.example.cn/" + "a" * 100
    most = 4000 - 1 - len("附图：") - len(url)
    description = spec_error(app311.post(description="x" * (most + 1), media_url=url), 400)
    assert f"at most {most} characters" in description
    assert app311.post(description="x" * most, media_url=url).status_code == 200
