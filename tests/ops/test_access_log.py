"""The personal-data access log (DESIGN §13): who was served phones and ID numbers unmasked."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from fengqiao.ops.models import PersonalDataAccess
from tests.events.conftest import START, make_world
from tests.ops.conftest import Copy


def access_rows(copy: Copy) -> list[PersonalDataAccess]:
    with copy.database.session() as session:
        return list(session.scalars(select(PersonalDataAccess).order_by(PersonalDataAccess.id)))


def file_with_phone(api: TestClient, copy: Copy, description: str, phone: str) -> int:
    """A grid worker's report with a contact phone; its event id."""
    with copy.database.session() as session:
        world = make_world(session)
    lat, lng = world.grid_point
    filed = api.post(
        "/api/v1/events", headers=copy.auth("demo_grid_worker"),
        json={"source": "grid_worker", "category": world.handler_category, "lat": lat,
              "lng": lng, "description": description, "contact_phone": phone},
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    return int(filed.json()["id"])


def test_an_operator_listing_users_is_logged_in_one_row_naming_every_user(
    api: TestClient, copy: Copy
) -> None:
    response = api.get("/api/v1/users?size=50", headers=copy.auth("demo_operator"))
    assert response.status_code == 200
    shown = {u["id"] for u in response.json()["items"] if u["phone"] and "*" not in u["phone"]}
    assert len(shown) >= 2
    rows = access_rows(copy)
    assert len(rows) == 1
    row = rows[0]
    assert (row.username, row.subject_table, row.fields) == (
        "demo_operator",
        "user_account",
        "phone",
    )
    assert {int(i) for i in row.subject_ids.strip(",").split(",")} == shown
    assert row.subject_count == len(shown)
    assert row.request_id == response.headers["X-Request-ID"]
    assert (row.method, row.route) == ("GET", "/api/v1/users")
    assert row.at == START


def test_masked_views_write_nothing(api: TestClient, copy: Copy) -> None:
    response = api.get("/api/v1/users?size=50", headers=copy.auth("demo_grid_leader"))
    assert response.status_code == 200
    assert all("*" in u["phone"] for u in response.json()["items"] if u["phone"])
    assert access_rows(copy) == []


def test_an_events_contact_phone_shown_to_an_operator_is_logged(
    api: TestClient, copy: Copy
) -> None:
    event_id = file_with_phone(api, copy, "路灯不亮", "13800138000")
    # The grid worker who filed it sees it masked: nothing logged.
    assert [r for r in access_rows(copy) if r.subject_table == "event"] == []
    seen = api.get(f"/api/v1/events/{event_id}", headers=copy.auth("demo_operator"))
    assert seen.json()["contact_phone"] == "13800138000"
    rows = [r for r in access_rows(copy) if r.subject_table == "event"]
    assert [(r.username, r.subject_ids, r.fields) for r in rows] == [
        ("demo_operator", f",{event_id},", "contact_phone")
    ]


def test_a_cached_list_is_logged_like_a_fresh_one(api: TestClient, copy: Copy) -> None:
    event_id = file_with_phone(api, copy, "井盖缺失", "13800138001")
    views = [api.get("/api/v1/events?size=20", headers=copy.auth("demo_operator")) for _ in "ab"]
    for view in views:
        assert any(i["contact_phone"] == "13800138001" for i in view.json()["items"])
    # The second answer came from the read cache: it is logged all the same, under its own id.
    rows = [r for r in access_rows(copy) if r.subject_table == "event"]
    assert [r.request_id for r in rows] == [v.headers["X-Request-ID"] for v in views]
    assert all(f",{event_id}," in r.subject_ids and r.username == "demo_operator" for r in rows)


def test_administrators_read_the_log_and_nobody_else_does(api: TestClient, copy: Copy) -> None:
    listed = api.get("/api/v1/users?size=50", headers=copy.auth("demo_operator"))
    some_user = next(u["id"] for u in listed.json()["items"] if u["phone"])
    found = api.get(
        f"/api/v1/ops/personal-data-access?table=user_account&subject_id={some_user}",
        headers=copy.auth("admin"),
    )
    assert found.status_code == 200
    items = found.json()["items"]
    assert [(i["username"], i["request_id"]) for i in items] == [
        ("demo_operator", listed.headers["X-Request-ID"])
    ]
    assert some_user in items[0]["subject_ids"] and items[0]["fields"] == ["phone"]
    nobody = api.get(
        "/api/v1/ops/personal-data-access?subject_id=999999999", headers=copy.auth("admin")
    )
    assert nobody.json()["items"] == []
    refused = api.get("/api/v1/ops/personal-data-access", headers=copy.auth("demo_operator"))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
