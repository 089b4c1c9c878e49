"""Classes, routing rules, SLA policies and the calendar through the API, and their import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.errors import Problem
from fengqiao.taxonomy.models import Category
from fengqiao.taxonomy.service import import_taxonomy, load_file, shipped


def test_every_caller_lists_the_ten_major_and_42_minor_classes(
    client: TestClient, auth: Any
) -> None:
    body = client.get("/api/v1/categories", headers=auth("demo_resident")).json()
    assert len(body["majors"]) == 10 and len(body["categories"]) == 42
    first = body["categories"][0]
    assert first["code"] == "0101" and first["name_zh"] == "邻里纠纷"
    assert {"platform", "default_unit_type", "default_level", "filing_condition"} <= set(first)


def test_administrators_add_and_change_classes(client: TestClient, auth: Any) -> None:
    admin = auth("admin")
    new = {
        "code": "1005",
        "major_code": "10",
        "name_zh": "为老服务",
        "default_unit_type": "village_committee",
        "default_level": 2,
    }
    created = client.post("/api/v1/categories", json=new, headers=admin)
    assert created.status_code == 201 and created.json()["platform"] == "service"
    assert client.post("/api/v1/categories", json=new, headers=admin).status_code == 409
    bad = client.patch("/api/v1/categories/1005", json={"default_level": 7}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "default_level"
    assert (
        client.patch("/api/v1/categories/9999", json={"name_zh": "x"}, headers=admin).status_code
        == 404
    )
    assert (
        client.post("/api/v1/categories", json=new, headers=auth("demo_operator")).status_code
        == 403
    )


def test_routing_rules_are_checked_before_they_are_stored(client: TestClient, auth: Any) -> None:
    admin = auth("admin")
    rules = client.get("/api/v1/routing-rules", headers=admin).json()
    assert [r["position"] for r in rules] == sorted(r["position"] for r in rules)
    assert not any(r["category_code"] is None and r["major_code"] is None for r in rules)
    for body, field in (
        ({"position": 1, "category_code": "0101", "unit_type": "no_such_unit"}, "unit_type"),
        ({"position": 1, "category_code": "0101"}, "unit_type"),
        (
            {"position": 1, "category_code": "0101", "unit_type": "justice_office", "unit_id": 1},
            "unit_type",
        ),
        ({"position": 1, "category_code": "7777", "unit_type": "justice_office"}, "category_code"),
        ({"position": 1, "level": 9, "unit_type": "justice_office"}, "level"),
    ):
        response = client.post("/api/v1/routing-rules", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field
    clash = {"position": rules[0]["position"], "major_code": "01", "unit_type": "justice_office"}
    assert client.post("/api/v1/routing-rules", json=clash, headers=admin).status_code == 409
    ok = client.post(
        "/api/v1/routing-rules",
        json={"position": 1, "major_code": "01", "unit_type": "justice_office"},
        headers=admin,
    )
    assert ok.status_code == 201 and ok.json()["active"] is True


def test_policies_and_calendar_days(client: TestClient, auth: Any) -> None:
    admin = auth("admin")
    policies = client.get("/api/v1/sla/policies", headers=admin).json()
    assert {(p["level"], p["limit_unit"]) for p in policies} >= {
        (2, "working_days"),
        (1, "calendar_days"),
    }
    bad = client.post(
        "/api/v1/sla/policies",
        json={"level": 2, "limit_value": 1, "limit_unit": "fortnights"},
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "limit_unit"
    # Half a calendar day cannot be counted: refused when written, so no event's deadline (and
    # no page that computes one) ever meets it.
    level_1 = next(p for p in policies if p["level"] == 1 and p["limit_unit"] == "calendar_days")
    half = client.patch(
        f"/api/v1/sla/policies/{level_1['id']}", json={"limit_value": 0.5}, headers=admin
    )
    assert half.status_code == 422 and half.json()["errors"][0]["field"] == "limit_value"
    assert "整数天" in half.json()["errors"][0]["reason_zh"]
    assert client.get("/api/v1/intake/classes", headers=admin).status_code == 200
    days = client.get(
        "/api/v1/sla/calendar", params={"from": "2025-10-01", "days": 11}, headers=admin
    ).json()
    working = {d["day"]: d["is_working"] for d in days}
    assert working["2025-10-01"] is False and working["2025-10-11"] is True  # 调休上班 Saturday
    put = client.put(
        "/api/v1/sla/calendar/2025-10-09",
        json={"is_working": False, "note": "台风停工"},
        headers=admin,
    )
    assert put.status_code == 200
    again = client.get(
        "/api/v1/sla/calendar", params={"from": "2025-10-09", "days": 1}, headers=admin
    ).json()
    assert again == [
        {"day": "2025-10-09", "is_working": False, "source": "override", "note": "台风停工"}
    ]
    assert client.delete("/api/v1/sla/calendar/2025-10-09", headers=admin).status_code == 204
    assert client.delete("/api/v1/sla/calendar/2025-10-09", headers=admin).status_code == 404
    assert (
        client.put(
            "/api/v1/sla/calendar/2025-10-09",
            json={"is_working": True},
            headers=auth("demo_operator"),
        ).status_code
        == 403
    )


def test_importing_again_updates_classes_in_place(db: Session, tmp_path: Path) -> None:
    data = shipped("categories.json")
    data["categories"][0]["name_zh"] = "邻里矛盾纠纷"
    report = import_taxonomy(db=db, categories=data)
    assert (report.majors, report.categories) == (10, 42)
    assert db.scalar(select(Category.name_zh).where(Category.code == "0101")) == "邻里矛盾纠纷"
    broken = tmp_path / "bad.json"
    broken.write_text(json.dumps({"majors": []}), encoding="utf-8")
    with pytest.raises(Problem) as refused:
        load_file(broken)
    assert refused.value.errors[0].field == "file"
