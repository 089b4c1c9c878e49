"""The administration API of the org tree: listing org units, adding and changing units."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.org.models import OrgUnit, Unit
from tests.auth.test_auth_api import assert_problem

Auth = Callable[[str], dict[str, str]]


def town(db: Session) -> OrgUnit:
    found = db.scalar(select(OrgUnit).where(OrgUnit.kind == "town").order_by(OrgUnit.code))
    assert found is not None
    return found


def test_grids_of_a_town_page_by_page(client: TestClient, auth: Auth, db: Session) -> None:
    params = {"kind": "grid", "within": town(db).code, "size": 10}
    first = client.get("/api/v1/org/units", params=params, headers=auth("admin")).json()
    assert first["total"] == 25 and len(first["items"]) == 10
    assert all(item["kind"] == "grid" and len(item["code"]) == 15 for item in first["items"])
    third = client.get(
        "/api/v1/org/units", params={**params, "page": 3}, headers=auth("admin")
    ).json()
    assert len(third["items"]) == 5
    codes = [i["code"] for i in first["items"]]
    assert codes == sorted(codes)


def test_org_units_filter_by_text_and_grid_type(
    client: TestClient, auth: Auth, db: Session
) -> None:
    grid = db.scalar(select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.code))
    assert grid is not None
    found = client.get("/api/v1/org/units", params={"q": grid.name}, headers=auth("admin")).json()
    assert grid.code in [i["code"] for i in found["items"]]
    by_code = client.get("/api/v1/org/units", params={"q": grid.code}, headers=auth("admin")).json()
    assert [i["code"] for i in by_code["items"]] == [grid.code]
    special = client.get(
        "/api/v1/org/units", params={"grid_type": "market"}, headers=auth("admin")
    ).json()
    assert all(i["grid_type"] == "market" for i in special["items"])
    assert_problem(
        client.get("/api/v1/org/units", params={"kind": "street"}, headers=auth("admin")),
        422,
        "invalid-input",
    )


def test_org_units_stay_in_scope(client: TestClient, auth: Auth) -> None:
    mine = client.get(
        "/api/v1/org/units", params={"kind": "grid"}, headers=auth("demo_grid_worker")
    ).json()
    assert mine["total"] == 1
    assert_problem(
        client.get("/api/v1/org/units", params={"within": "330603"}, headers=auth("demo_operator")),
        403,
        "forbidden",
    )


def test_admin_adds_a_unit_with_a_generated_code(
    client: TestClient, auth: Auth, db: Session
) -> None:
    body = {
        "name": "柯桥街道<b>城管</b>驿站",
        "unit_type": "law_enforcement_squadron",
        "category": "agency",
        "platform": "enforcement",
        "org_code": town(db).code,
        "duty_phone": "0575-81234567",
    }
    response = client.post("/api/v1/units", json=body, headers=auth("admin"))
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["code"].startswith("U" + town(db).code) and made["name"] == body["name"]
    assert made["org"]["code"] == town(db).code and made["active"] is True
    listed = client.get(
        "/api/v1/units", params={"org": town(db).code, "size": 500}, headers=auth("admin")
    ).json()
    assert made["id"] in [u["id"] for u in listed["items"]]
    again = client.post("/api/v1/units", json={**body, "code": made["code"]}, headers=auth("admin"))
    assert_problem(again, 409, "duplicate-code")


def test_adding_a_unit_checks_every_field(client: TestClient, auth: Auth, db: Session) -> None:
    good = {
        "name": "新单位",
        "unit_type": "police_station",
        "category": "agency",
        "org_code": town(db).code,
    }
    cases = [
        ({"category": "club"}, "category"),
        ({"platform": "sports"}, "platform"),
        ({"unit_type": "Police Station"}, "unit_type"),
        ({"duty_phone": "call me"}, "duty_phone"),
        ({"org_code": "330603999"}, "org_code"),
    ]
    for change, field in cases:
        response = client.post("/api/v1/units", json={**good, **change}, headers=auth("admin"))
        body = assert_problem(response, 422, "invalid-input")
        assert [e["field"] for e in body["errors"]] == [field], body
        assert body["errors"][0]["reason_zh"]
    grid = db.scalar(select(OrgUnit.code).where(OrgUnit.kind == "grid").limit(1))
    assert grid is not None
    assert_problem(
        client.post("/api/v1/units", json={**good, "org_code": grid}, headers=auth("admin")),
        422,
        "invalid-input",
    )
    assert_problem(
        client.post("/api/v1/units", json=good, headers=auth("demo_operator")), 403, "forbidden"
    )


def test_admin_changes_and_retires_a_unit(client: TestClient, auth: Auth, db: Session) -> None:
    unit = db.scalar(select(Unit).where(Unit.category == "agency").order_by(Unit.code))
    assert unit is not None
    response = client.patch(
        f"/api/v1/units/{unit.id}",
        json={"duty_phone": "0575-80000000", "phone": None, "active": False},
        headers=auth("admin"),
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["duty_phone"] == "0575-80000000" and changed["phone"] is None
    assert changed["active"] is False and changed["name"] == unit.name
    assert_problem(
        client.patch(f"/api/v1/units/{unit.id}", json={"name": None}, headers=auth("admin")),
        422,
        "invalid-input",
    )
    assert_problem(
        client.patch(f"/api/v1/units/{unit.id}", json={"code": "X"}, headers=auth("admin")),
        422,
        "invalid-input",
    )
    assert_problem(
        client.patch("/api/v1/units/999999", json={"name": "x"}, headers=auth("admin")),
        404,
        "not-found",
    )


def test_a_town_admin_may_not_change_district_departments(
    client: TestClient, auth: Auth, db: Session
) -> None:
    department = db.scalar(select(Unit).where(Unit.category == "district_department").limit(1))
    assert department is not None
    response = client.patch(
        f"/api/v1/units/{department.id}", json={"name": "x"}, headers=auth("demo_operator")
    )
    assert_problem(response, 403, "forbidden")
