"""servicerequestupdates (the mySociety extension FixMyStreet polls), extensions=true, and what
FixMyStreet's Open311 sender posts (perllib/Open311.pm: the spec's fields, attribute[...] of its
own, several media_url, address_string, first_name/last_name/email/phone, jurisdiction_id and
api_key in the form; polling with start_date/end_date, jurisdiction_id and api_key in the query)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.events.public import PUBLIC_STEPS
from fengqiao.open311.models import Open311Request
from tests.events.conftest import Auth, Desk, World
from tests.open311.conftest import BASE, App, event_of, spec_error, xml


def _fixmystreet_post(app311: App, world: World, **more: Any) -> dict[str, Any]:
    """The form FixMyStreet's Open311 sender posts for a report (XML, as it does)."""
    lat, lng = world.grid_point
    form = [
        ("jurisdiction_id", "keqiao"),
        ("api_key", app311.key),
        ("service_code", world.handler_category),
        ("lat", str(lat)),
        ("long", str(lng)),
        ("address_string", "笛扬路 88 号"),
        ("email", "resident@example.cn"),
        ("first_name", "三"),
        ("last_name", "张"),
        ("phone", "13857512345"),
        ("description", "占道经营\n\n人行道被摊位占满\n\nSubmitted via FixMyStreet"),
        ("media_url", "https://fms.example.cn/photo/1.0.full.jpeg"),
        ("media_url", "https://fms.example.cn/photo/1.1.full.jpeg"),
        ("attribute[title]", "占道经营"),
        ("attribute[description]", "人行道被摊位占满"),
        ("attribute[report_url]", "https://fms.example.cn/report/1"),
        ("attribute[external_id]", "1"),
        ("attribute[closest_address]", "笛扬路"),
        ("attribute[easting]", "0"),
        ("attribute[northing]", "0"),
        ("attribute[fixmystreet_id]", "1"),
        ("account_id", "fms-user-1"),
        *more.items(),
    ]
    response = app311.api.post(
        f"{BASE}/requests.xml",
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    (request,) = xml(response).iterfind("request")
    return {child.tag: child.text for child in request}


def _poll(api: TestClient, clock: FixedClock, fmt: str = "xml", **params: str) -> Any:
    now = clock.now()
    query = {
        "jurisdiction_id": "keqiao",
        "api_key": "fqk_polling_is_public",
        "start_date": (now - timedelta(hours=2)).isoformat(),
        "end_date": (now + timedelta(hours=2)).isoformat(),
        **params,
    }
    response = api.get(f"{BASE}/servicerequestupdates.{fmt}", params=query)
    assert response.status_code == 200, response.text
    if fmt == "json":
        return response.json()
    root = xml(response)
    assert root.tag == "service_requests_updates"
    return [
        {child.tag: (child.text if len(child) == 0 else child) for child in update}
        for update in root.iterfind("request_update")
    ]


def test_fixmystreet_posts_are_filed_and_its_extras_kept(
    app311: App, world: World, db: Session
) -> None:
    posted = _fixmystreet_post(app311, world)
    assert posted["service_request_id"] and posted["service_request_id"].startswith("R")
    assert posted["account_id"] == "fms-user-1"
    event = event_of(db, str(posted["service_request_id"]))
    stored = db.get(Open311Request, event.id)
    assert stored is not None
    assert stored.media_urls == [
        "https://fms.example.cn/photo/1.0.full.jpeg",
        "https://fms.example.cn/photo/1.1.full.jpeg",
    ]
    # FixMyStreet's own attributes are not questions of the class: kept, not answers.
    assert stored.extra is not None
    assert stored.extra["attributes"]["report_url"] == ["https://fms.example.cn/report/1"]
    assert (stored.first_name, stored.last_name, stored.email) == (
        "三",
        "张",
        "resident@example.cn",
    )
    assert event.description.endswith("附图：https://fms.example.cn/photo/1.1.full.jpeg")
    (body,) = app311.api.get(f"{BASE}/requests/{posted['service_request_id']}.json").json()
    assert body["description"].endswith("Submitted via FixMyStreet")  # photo lines stripped
    assert body["media_url"] == "https://fms.example.cn/photo/1.0.full.jpeg"


def test_updates_tell_a_rejected_request_from_a_fixed_one(
    app311: App, api: TestClient, auth: Auth, world: World, db: Session, clock: FixedClock
) -> None:
    desk = Desk(api, auth, world)
    rejected = _fixmystreet_post(app311, world)["service_request_id"]
    assert rejected is not None
    event = desk.get({"id": event_of(db, rejected).id})
    desk.act(event, "demo_operator", "reject", note="不属于城市管理事项，已告知热线")
    for fmt in ("xml", "json"):
        found = [u for u in _poll(api, clock, fmt) if u["service_request_id"] == rejected]
        assert [u["status"] for u in found] == ["OPEN", "NOT_RESPONSIBLE"]
        assert [u["external_status_code"] for u in found] == ["submitted", "rejected"]
        last = found[-1]
        assert last["description"] == "不予受理：不属于城市管理事项，已告知热线"
        assert last["updated_datetime"].endswith("+08:00")
        assert last["update_id"] and last["update_id"] != found[0]["update_id"]
        assert "media_url" in last
    # Stable ids across polls: FixMyStreet records each update once.
    assert [u["update_id"] for u in _poll(api, clock)] == [
        u["update_id"] for u in _poll(api, clock)
    ]
    # Nothing from outside the window.
    later = (clock.now() + timedelta(days=1)).isoformat()
    assert _poll(api, clock, start_date=later, end_date=later) == []


def test_a_merged_request_says_duplicate_and_names_the_one_it_joined(
    app311: App, api: TestClient, auth: Auth, world: World, db: Session, clock: FixedClock
) -> None:
    desk = Desk(api, auth, world)
    first = app311.file()["service_request_id"]
    second = app311.file()["service_request_id"]
    target = desk.act(desk.get({"id": event_of(db, first).id}), "demo_operator", "accept")
    duplicate = desk.get({"id": event_of(db, second).id})
    desk.act(duplicate, "demo_operator", "merge", into=target["id"], note="同一摊位，内部备注")
    found = [u for u in _poll(api, clock, "json") if u["service_request_id"] == second]
    assert found[-1]["status"] == "DUPLICATE"
    assert found[-1]["extended_attributes"]["merged_into"] == first
    assert found[-1]["description"] == f"已合并至{first}"
    assert "内部备注" not in str(_poll(api, clock, "json"))
    # extensions=true: the public timeline with the extended status, on the list and one.
    for path in (f"requests/{second}.json?", f"requests.json?service_request_id={second}&"):
        (body,) = api.get(f"{BASE}/{path}extensions=true").json()
        extended = body["extended_attributes"]
        assert extended["extended_status"] == "DUPLICATE"
        assert extended["merged_into"] == first
        assert [s["step"] for s in extended["timeline"]] == ["submitted", "merged"]
        assert body["status"] == "closed"
    (body,) = api.get(f"{BASE}/requests/{second}.json").json()
    assert "extended_attributes" not in body
    (request,) = xml(api.get(f"{BASE}/requests/{first}.xml?extensions=true")).iterfind("request")
    steps = request.find("extended_attributes/timeline")
    assert steps is not None and [s.findtext("step") for s in steps] == ["submitted", "accepted"]


def test_updates_only_publish_public_steps(
    app311: App, api: TestClient, auth: Auth, world: World, db: Session, clock: FixedClock
) -> None:
    desk = Desk(api, auth, world)
    code = app311.file()["service_request_id"]
    event = desk.act(desk.get({"id": event_of(db, code).id}), "demo_operator", "accept")
    event = desk.act(event, "demo_operator", "dispatch")
    desk.act(event, "demo_handler", "sign", note="内部：联系人李四")
    found = [u for u in _poll(api, clock, "json") if u["service_request_id"] == code]
    keys = {step.key for step in PUBLIC_STEPS.values()}
    assert [u["external_status_code"] for u in found] == ["submitted", "accepted", "dispatched"]
    assert all(u["external_status_code"] in keys for u in found)
    assert found[-1]["status"] == "ACTION_SCHEDULED" and found[-1]["description"].startswith(
        "交办至"
    )
    assert "李四" not in str(found)


def test_update_windows_and_pages_are_bounded(
    api: TestClient, app311: App, clock: FixedClock
) -> None:
    for fmt in ("json", "xml"):
        description = spec_error(
            api.get(
                f"{BASE}/servicerequestupdates.{fmt}",
                params={"start_date": "2026-11-01", "end_date": "2026-11-20"},
            ),
            400,
        )
        assert "at most 7 days" in description and "7 天" in description
        spec_error(api.get(f"{BASE}/servicerequestupdates.{fmt}?page_size=5001"), 400)
        spec_error(api.get(f"{BASE}/servicerequestupdates.{fmt}?start_date=soon"), 400)
    app311.file()
    app311.file()
    assert len(_poll(api, clock, "json")) == 2
    assert len(_poll(api, clock, "json", page_size="1", page="2")) == 1
    assert _poll(api, clock, "json", page_size="1", page="3") == []


def test_repeated_query_parameters_are_refused_by_name(api: TestClient) -> None:
    for path in ("requests.json", "requests/R0000000000.xml", "servicerequestupdates.json"):
        description = spec_error(api.get(f"{BASE}/{path}?status=open&status=closed"), 400)
        assert "status" in description and "重复" in description
    # Several values go comma-separated in one parameter, as the spec says.
    assert api.get(f"{BASE}/requests.json?status=open,closed").status_code == 200


def test_a_configured_jurisdiction_is_checked(api: TestClient, app311: App, world: World) -> None:
    settings = api.app.state.settings  # type: ignore[attr-defined]
    api.app.state.settings = settings.model_copy(update={"open311_jurisdiction_id": "keqiao"})  # type: ignore[attr-defined]
    try:
        description = spec_error(app311.post(jurisdiction_id="shaoxing"), 400)
        assert "jurisdiction_id" in description and "不属于本辖区" in description
        spec_error(api.get(f"{BASE}/requests.xml?jurisdiction_id=shaoxing"), 400)
        assert app311.post(jurisdiction_id="keqiao").status_code == 200
        assert app311.post().status_code == 200  # none given: fine
    finally:
        api.app.state.settings = settings  # type: ignore[attr-defined]
