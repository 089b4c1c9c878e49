"""Open311 GeoReport v2 as a resident's app sees it: discovery, services, posting, reading back
in JSON and XML, statuses from our workflow, and the resident's personal data kept to us."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.models import Event, EventLog
from fengqiao.open311.models import Open311Request
from fengqiao.open311.render import iso
from fengqiao.org.models import Unit
from fengqiao.taxonomy.models import Category, CategoryMajor
from fengqiao.taxonomy.snapshot import load_rules
from tests.events.conftest import Auth, Desk, World
from tests.open311.conftest import BASE, PERSONAL, App, event_of, spec_error, xml


def _event(db: Session, code: str) -> Event:
    return event_of(db, code)


def test_discovery_names_the_endpoint_and_both_formats(api: TestClient) -> None:
    body = api.get(f"{BASE}/discovery.json").json()
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    root = xml(api.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    formats = [f.text for f in root.iterfind("endpoints/endpoint/formats/format")]
    assert formats == ["application/json", "text/xml"]


def test_services_are_the_active_minor_classes_grouped_by_major(
    api: TestClient, db: Session
) -> None:
    classes = {
        code: group
        for code, group in db.execute(
            select(Category.code, CategoryMajor.name_zh)
            .join(CategoryMajor, CategoryMajor.code == Category.major_code)
            .where(Category.active.is_(True), Category.major_code.not_in(["02", "03"]))
        )
    }  # 02 社会治安 and 03 信访维稳 are hidden by default (test_hidden.py)
    services = api.get(f"{BASE}/services.json").json()
    assert {s["service_code"]: s["group"] for s in services} == classes
    assert all(s["type"] == "realtime" and s["service_name"] for s in services)
    intakes = load_rules(db).intakes
    for s in services:
        asks = bool(intakes.get(s["service_code"]) and intakes[s["service_code"]].questions)
        assert s["metadata"] is asks, s
    root = xml(api.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    assert [e.findtext("service_code") for e in root.iterfind("service")] == [
        s["service_code"] for s in services
    ]
    assert {e.findtext("metadata") for e in root.iterfind("service")} <= {"true", "false"}


def test_a_service_definition_lists_the_class_questions(api: TestClient, db: Session) -> None:
    intakes = {c: i for c, i in load_rules(db).intakes.items() if i.questions}
    if not intakes:
        pytest.skip("no class asks extra questions yet (fengqiao.intake)")
    code, intake = sorted(intakes.items())[0]
    body = api.get(f"{BASE}/services/{code}.json").json()
    assert body["service_code"] == code
    assert [a["code"] for a in body["attributes"]] == [
        q.code for q in sorted(intake.questions, key=lambda q: q.order)
    ]
    for attribute, question in zip(
        body["attributes"], sorted(intake.questions, key=lambda q: q.order), strict=True
    ):
        assert attribute["datatype"] == question.datatype
        assert attribute["required"] is question.required
        assert attribute["variable"] is True
        assert [(v["key"], v["name"]) for v in attribute["values"]] == list(question.values)
    assert [a["order"] for a in body["attributes"]] == list(range(1, len(intake.questions) + 1))
    root = xml(api.get(f"{BASE}/services/{code}.xml"))
    assert root.tag == "service_definition"
    assert [a.findtext("code") for a in root.iterfind("attributes/attribute")] == [
        a["code"] for a in body["attributes"]
    ]
    assert root.findtext("attributes/attribute/order") == "1"
    spec_error(api.get(f"{BASE}/services/9999.json"), 404)
    spec_error(api.get(f"{BASE}/services/9999.xml"), 404)


def test_a_post_files_an_open311_event_by_the_keys_account(
    app311: App, db: Session, world: World
) -> None:
    posted = app311.file(**PERSONAL)
    assert posted["service_request_id"] and posted["token"]
    # The client's own account id is echoed (spec), never the resident's other data.
    assert posted["account_id"] == PERSONAL["account_id"] and "处置时限" in posted["service_notice"]
    event = _event(db, posted["service_request_id"])
    assert event.source == "open311"
    assert event.reporter_id == world.ids["demo_device"]
    assert event.category_code == world.handler_category
    assert event.address == "柯桥街道笛扬路 88 号"
    assert event.contact_phone == PERSONAL["phone"]  # staff may call back (masked to most)
    assert (event.lat, event.lng) == pytest.approx(world.grid_point)
    stored = db.get(Open311Request, event.id)
    assert stored is not None and stored.token == posted["token"]
    assert {k: getattr(stored, k) for k in PERSONAL} == PERSONAL
    assert stored.media_url == "https://photos.example.cn/a/1.jpg"
    # Staff read the event, not the Open311 row: the photo's link is its description's last line.
    assert event.description == (
        "人行道上有人占道经营，行人只能走机动车道\n附图：https://photos.example.cn/a/1.jpg"
    )
    trail = db.scalars(select(EventLog).where(EventLog.event_id == event.id)).all()
    assert [(t.action, t.payload["source"]) for t in trail] == [("report", "open311")]


def test_a_post_answers_in_xml_too(app311: App) -> None:
    root = xml(app311.post("xml"))
    assert root.tag == "service_requests"
    (request,) = root.iterfind("request")
    assert request.findtext("service_request_id") and request.findtext("token")


def test_a_token_resolves_to_its_request(app311: App, api: TestClient) -> None:
    posted = app311.file()
    body = api.get(f"{BASE}/tokens/{posted['token']}.json").json()
    assert body == [{"service_request_id": posted["service_request_id"], "token": posted["token"]}]
    (request,) = xml(api.get(f"{BASE}/tokens/{posted['token']}.xml")).iterfind("request")
    assert request.findtext("service_request_id") == posted["service_request_id"]
    spec_error(api.get(f"{BASE}/tokens/no-such-token.json"), 404)


def test_a_retry_with_the_same_idempotency_key_files_once(
    app311: App, api: TestClient, db: Session
) -> None:
    lat, lng = app311.world.grid_point
    form = {"api_key": app311.key, "service_code": app311.world.handler_category,
            "lat": str(lat), "long": str(lng)}  # fmt: skip
    headers = {"Idempotency-Key": "app-7-request-1"}
    first = api.post(f"{BASE}/requests.json", data=form, headers=headers).json()
    again = api.post(f"{BASE}/requests.json", data=form, headers=headers).json()
    assert first == again
    assert db.scalar(select(func.count()).select_from(Open311Request)) == 1


def test_personal_data_is_never_returned(app311: App, api: TestClient) -> None:
    posted = app311.file(**PERSONAL)
    code = posted["service_request_id"]
    bodies = [str({k: v for k, v in posted.items() if k != "account_id"})]
    for fmt in ("json", "xml"):
        for path in (
            f"requests.{fmt}",
            f"requests/{code}.{fmt}",
            f"requests.{fmt}?service_request_id={code}",
            f"tokens/{posted['token']}.{fmt}",
        ):
            response = api.get(f"{BASE}/{path}")
            assert response.status_code == 200, response.text
            assert code in response.text
            bodies.append(response.text)
    masked = PERSONAL["phone"][:3] + "****" + PERSONAL["phone"][-4:]
    for body in bodies:
        for value in [*PERSONAL.values(), masked]:  # account_id: only to the filing key
            assert value not in body


def test_a_request_reads_back_in_both_formats(app311: App, api: TestClient, db: Session) -> None:
    posted = app311.file()
    event = _event(db, posted["service_request_id"])
    public_id = posted["service_request_id"]
    # The public id is opaque: not the event's code (which counts the day's events).
    assert public_id != event.code and event.code[-4:] not in public_id[-4:]
    (body,) = api.get(f"{BASE}/requests/{public_id}.json").json()
    assert body["service_request_id"] == public_id
    # The event's code (a resident's receipt, the id of requests filed before) still resolves.
    assert api.get(f"{BASE}/requests/{event.code}.json").json() == [body]
    assert body["status"] == "open"
    assert body["status_notes"] == "已收到，待受理"
    assert body["description"] == "人行道上有人占道经营，行人只能走机动车道"  # without 附图
    assert body["service_code"] == event.category_code
    assert body["service_name"] == event.category_name
    assert body["requested_datetime"] == iso(event.created_at)
    assert body["requested_datetime"].endswith("+08:00")
    assert body["expected_datetime"] == iso(event.due_at)
    assert (body["lat"], body["long"]) == (event.lat, event.lng)
    assert body["media_url"] == "https://photos.example.cn/a/1.jpg"
    assert body["agency_responsible"] == ""
    assert body["service_notice"].startswith("已收到") and body["address_id"] is None
    (request,) = xml(api.get(f"{BASE}/requests/{public_id}.xml")).iterfind("request")
    assert {child.tag for child in request} == set(body)
    assert request.findtext("status") == "open"
    assert request.findtext("requested_datetime") == body["requested_datetime"]
    assert request.findtext("description") == body["description"]
    spec_error(api.get(f"{BASE}/requests/330603-20991231-0001.json"), 404)
    spec_error(api.get(f"{BASE}/requests/330603-20991231-0001.xml"), 404)


# Free text staff type on the trail: a third person's name, ID number and phone.
PRIVATE = "涉事人李四 身份证330621198001011234 电话13957500000"


def _public_bodies(api: TestClient, code: str) -> list[str]:
    """Everything Open311 says about one request, in both formats."""
    bodies = []
    for fmt in ("json", "xml"):
        for path in (f"requests/{code}.{fmt}", f"requests.{fmt}?service_request_id={code}",
                     f"requests.{fmt}"):  # fmt: skip
            response = api.get(f"{BASE}/{path}")
            assert response.status_code == 200, response.text
            assert code in response.text
            bodies.append(response.text)
    return bodies


def test_status_follows_the_workflow_in_public_words_only(
    app311: App, api: TestClient, auth: Auth, world: World, db: Session
) -> None:
    desk = Desk(api, auth, world)
    seen: list[str] = []

    def read(code: str) -> dict[str, Any]:
        seen.extend(_public_bodies(api, code))
        (body,) = api.get(f"{BASE}/requests/{code}.json").json()
        (request,) = xml(api.get(f"{BASE}/requests/{code}.xml")).iterfind("request")
        assert request.findtext("status_notes") == body["status_notes"]
        return dict(body)

    code = app311.file()["service_request_id"]
    ref = {"id": _event(db, code).id}
    event = desk.act(desk.get(ref), "demo_operator", "accept", note=f"受理:{PRIVATE}")
    assert read(code)["status_notes"] == "已受理"
    event = desk.act(event, "demo_operator", "dispatch", note=f"请联系{PRIVATE}")
    unit = db.get(Unit, world.handler_unit)
    assert unit is not None
    body = read(code)
    assert (body["status"], body["agency_responsible"]) == ("open", unit.name)
    assert body["status_notes"] == f"已派遣至{unit.name}"
    assert body["expected_datetime"] == iso(_event(db, code).due_at)
    event = desk.act(event, "demo_handler", "sign", note=PRIVATE)
    assert read(code)["status_notes"] == f"{unit.name}处置中"
    photo = desk.photo(event, "demo_handler")
    event = desk.act(event, "demo_handler", "feedback", result=f"已清理占道摊位,{PRIVATE}",
                     attachment_ids=[photo])  # fmt: skip
    assert read(code)["status_notes"] == "已处置，待核查"
    desk.verify_ok(event, note=PRIVATE)
    body = read(code)
    assert (body["status"], body["status_notes"]) == ("closed", "已办结")

    rejected = app311.file()["service_request_id"]
    desk.act(desk.get({"id": _event(db, rejected).id}), "demo_operator", "reject",
             note=f"非本辖区事项,{PRIVATE}")  # fmt: skip
    body = read(rejected)
    assert (body["status"], body["status_notes"]) == ("closed", "不予受理")

    closed = api.get(f"{BASE}/requests.json", params={"status": "closed"}).json()
    assert {r["service_request_id"] for r in closed} == {code, rejected}
    opened = api.get(f"{BASE}/requests.json", params={"status": "open"}).json()
    assert code not in {r["service_request_id"] for r in opened}
    # The trail holds the staff's text; not one Open311 answer carries any of it.
    assert db.scalars(select(EventLog.note).where(EventLog.note.contains(PRIVATE))).first()
    assert seen and all(PRIVATE not in text and "330621198001011234" not in text for text in seen)


def test_every_state_has_a_public_note_without_free_text() -> None:
    from fengqiao.events.workflow import STATES
    from fengqiao.open311.service import STATUS_NOTES, status_notes

    assert set(STATUS_NOTES) == STATES
    assert status_notes("merged", "") == "已合并至其他事件"
    assert status_notes("signed", "柯桥街道综合执法队") == "柯桥街道综合执法队处置中"
    assert status_notes("dispatched", "") == "已派遣"


def test_the_list_has_the_specs_filters_and_defaults(
    app311: App, api: TestClient, clock: FixedClock, world: World
) -> None:
    old = app311.file()["service_request_id"]
    clock.advance(timedelta(days=100))
    first = app311.file()["service_request_id"]
    clock.advance(timedelta(hours=1))
    second = app311.file(service_code=world.other_category)["service_request_id"]

    def codes(**params: str) -> list[str]:
        response = api.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert codes() == [second, first]  # newest first; the last 90 days only
    assert codes(service_code=world.other_category) == [second]
    assert codes(service_code=f"{world.handler_category},{world.other_category}") == [second, first]
    at_old = (clock.now() - timedelta(days=100, hours=1)).astimezone(LOCAL_TZ)
    assert codes(start_date=(at_old - timedelta(days=1)).isoformat(),
                 end_date=(at_old + timedelta(days=1)).isoformat()) == [old]  # fmt: skip
    assert codes(start_date=(at_old - timedelta(days=1)).date().isoformat()) == [old]
    assert codes(service_request_id=f"{old},{second}") == [second, old]  # overrides dates
    assert codes(page_size="1") == [second]
    assert codes(page_size="1", page="2") == [first]
    assert codes(page_size="1", page="3") == []  # past the end: empty, as clients page
    xml_codes = [r.findtext("service_request_id") for r in
                 xml(api.get(f"{BASE}/requests.xml")).iterfind("request")]  # fmt: skip
    assert xml_codes == [second, first]


def test_an_unencoded_plus_in_a_date_is_read_as_the_offset(
    app311: App, api: TestClient, clock: FixedClock
) -> None:
    code = app311.file()["service_request_id"]
    day = clock.now().astimezone(LOCAL_TZ).date().isoformat()
    response = api.get(f"{BASE}/requests.json?start_date={day}T00:00:00+08:00")
    assert [r["service_request_id"] for r in response.json()] == [code]


def test_attributes_become_the_events_answers(app311: App, db: Session, api: TestClient) -> None:
    rules = load_rules(db)
    asking = sorted((c, i) for c, i in rules.intakes.items() if i.questions)
    if not asking:
        pytest.skip("no class asks extra questions yet (fengqiao.intake)")
    code, intake = asking[0]
    fields: dict[str, Any] = {"service_code": code}
    expected: dict[str, Any] = {}
    for question in intake.questions:
        if question.datatype == "multivaluelist":
            keys = [k for k, _ in question.values[:2]]
            fields[f"attribute[{question.code}]"] = keys
            expected[question.code] = keys
        elif question.datatype == "singlevaluelist":
            fields[f"attribute[{question.code}]"] = question.values[0][0]
            expected[question.code] = question.values[0][0]
        elif question.datatype == "number":
            fields[f"attribute[{question.code}]"] = "3"
            expected[question.code] = 3.0
        elif question.datatype == "datetime":
            fields[f"attribute[{question.code}]"] = "2026-11-30T08:00:00+08:00"
            expected[question.code] = "2026-11-30T08:00:00+08:00"
        else:
            fields[f"attribute[{question.code}]"] = "两个摊位"
            expected[question.code] = "两个摊位"
    posted = app311.file(**fields)
    event = _event(db, posted["service_request_id"])
    (report,) = db.scalars(select(EventLog).where(EventLog.event_id == event.id)).all()
    assert report.payload["answers"] == expected
    required = [q for q in intake.questions if q.required]
    if required:
        missing = {k: v for k, v in fields.items() if k != f"attribute[{required[0].code}]"}
        description = spec_error(app311.post(**missing), 400)
        assert f"attribute[{required[0].code}]" in description
    # An answer to a question the class does not ask (FixMyStreet sends its own: title,
    # report_url, …) and an unknown field are kept in the request record, not refused.
    posted = app311.file(**fields, **{"attribute[no_such]": "x", "colour": "red"})
    event = _event(db, posted["service_request_id"])
    (report,) = db.scalars(select(EventLog).where(EventLog.event_id == event.id)).all()
    assert report.payload["answers"] == expected
    stored = db.get(Open311Request, event.id)
    assert stored is not None
    assert stored.extra == {"fields": {"colour": ["red"]}, "attributes": {"no_such": ["x"]}}
