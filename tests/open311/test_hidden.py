"""Classes the public surface never shows (FENGQIAO_OPEN311_HIDDEN_MAJORS, by default 02 社会治安
and 03 信访维稳: 黄赌毒线索, 特殊人群动态, 涉稳重点人员动态 …), and the services' changeset that
moves when a class changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.clock import FixedClock
from fengqiao.events.models import Event
from fengqiao.intake.service import set_questions, shipped
from fengqiao.open311.models import Open311Request
from fengqiao.open311.service import hidden_codes
from fengqiao.taxonomy.models import Category
from fengqiao.taxonomy.service import update_category
from fengqiao.taxonomy.snapshot import load_rules
from tests.open311.conftest import BASE, App, event_of, spec_error, xml

SENSITIVE = ("0203", "0204", "0301", "0302", "0303")


def _codes(api: TestClient, fmt: str = "json", **params: str) -> list[str]:
    response = api.get(f"{BASE}/requests.{fmt}", params=params)
    assert response.status_code == 200, response.text
    if fmt == "xml":
        return [r.findtext("service_request_id") or "" for r in xml(response).iterfind("request")]
    return [r["service_request_id"] for r in response.json()]


def test_the_default_hides_public_order_and_petitions(db: Session) -> None:
    rules = load_rules(db)
    hidden = hidden_codes(rules, ["02", "03"])
    assert set(SENSITIVE) <= hidden
    assert {rules.categories[c].major_code for c in hidden} == {"02", "03"}
    assert hidden_codes(rules, ["0105"]) == {"0105"}
    assert hidden_codes(rules, []) == frozenset()


def test_hidden_classes_are_not_services(api: TestClient) -> None:
    for fmt in ("json", "xml"):
        response = api.get(f"{BASE}/services.{fmt}")
        assert response.status_code == 200
        for code in SENSITIVE:
            assert f"{code}" not in (
                [s["service_code"] for s in response.json()]
                if fmt == "json"
                else [e.findtext("service_code") for e in xml(response).iterfind("service")]
            )
        for code in SENSITIVE:
            spec_error(api.get(f"{BASE}/services/{code}.{fmt}"), 404)
    assert any(s["service_code"] == "0101" for s in api.get(f"{BASE}/services.json").json())


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_post_to_a_hidden_class_is_an_unknown_service(app311: App, db: Session, fmt: str) -> None:
    before = db.scalar(select(func.count()).select_from(Open311Request))
    unknown = spec_error(app311.post(fmt, service_code="9999"), 400)
    for code in SENSITIVE:
        description = spec_error(app311.post(fmt, service_code=code), 400)
        # The same words as for a class that does not exist: nothing tells them apart.
        assert description == unknown.replace("9999", code)
    assert db.scalar(select(func.count()).select_from(Open311Request)) == before


def test_requests_in_hidden_classes_are_never_returned(
    app311: App, api: TestClient, db: Session
) -> None:
    shown = app311.file()
    hidden = app311.file()
    # Filed before the setting hid its class, or reclassified by staff into a hidden one.
    db.execute(
        update(Event)
        .where(Event.id == event_of(db, hidden["service_request_id"]).id)
        .values(category_code="0203", category_name="黄赌毒线索", major_code="02")
    )
    db.flush()
    code = hidden["service_request_id"]
    for fmt in ("json", "xml"):
        assert _codes(api, fmt) == [shown["service_request_id"]]
        assert _codes(api, fmt, service_request_id=code) == []
        assert _codes(api, fmt, service_code="0203") == []
        assert _codes(api, fmt, status="open") == [shown["service_request_id"]]
        spec_error(api.get(f"{BASE}/requests/{code}.{fmt}"), 404)
        spec_error(api.get(f"{BASE}/tokens/{hidden['token']}.{fmt}"), 404)
    (body,) = api.get(f"{BASE}/tokens/{shown['token']}.json").json()
    assert body["service_request_id"] == shown["service_request_id"]


@pytest.fixture
def open_api(bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any) -> Iterator[TestClient]:
    """The app with nothing hidden (FENGQIAO_OPEN311_HIDDEN_MAJORS=[])."""
    settings = seeded.settings.model_copy(
        update={"data_dir": tmp_path, "rules_check_seconds": 0, "open311_hidden_majors": []}
    )
    with TestClient(create_app(settings, database=bound, clock=clock)) as client:
        yield client


def test_the_setting_decides_what_is_hidden(open_api: TestClient) -> None:
    services = {s["service_code"] for s in open_api.get(f"{BASE}/services.json").json()}
    assert set(SENSITIVE) <= services
    assert open_api.get(f"{BASE}/services/0203.json").status_code == 200


def test_editing_a_class_moves_the_changeset(api: TestClient, db: Session) -> None:
    def changesets() -> tuple[str, str, str]:
        body = api.get(f"{BASE}/discovery.json").json()
        root = xml(api.get(f"{BASE}/discovery.xml"))
        assert root.findtext("changeset") == body["changeset"]
        (endpoint,) = body["endpoints"]
        return body["changeset"], endpoint["changeset"], root.findtext("changeset") or ""

    first = changesets()
    assert len(set(first)) == 1 and first[0].endswith("+08:00")
    newest = db.scalar(select(func.max(Category.updated_at)))
    assert datetime.fromisoformat(first[0]) == newest
    assert changesets() == first  # nothing changed, nothing moves
    update_category(db=db, code="0101", changes={"filing_condition": "写明纠纷双方与起因。"})
    db.flush()
    second = changesets()
    assert len(set(second)) == 1
    assert datetime.fromisoformat(second[0]) > datetime.fromisoformat(first[0])
    # Replacing a class's extra questions changes its service definition: it moves too.
    asking = sorted(shipped()["questions"])
    set_questions(db=db, category_code=asking[0], rows=shipped()["questions"][asking[0]])
    db.flush()
    (third, *_) = changesets()
    assert datetime.fromisoformat(third) > datetime.fromisoformat(second[0])
