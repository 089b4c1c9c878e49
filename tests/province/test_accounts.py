"""Accounts at a city or province: refused in a district-only deployment, allowed above it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.province.world import Auth, World

BODY = {"name": "市指挥中心坐席", "password": "long-enough-1", "roles": ["operator"]}


def test_city_account_in_a_district_only_deployment_is_refused(api: TestClient, auth: Auth) -> None:
    for code, word in (("330600", "city"), ("330000", "province")):
        response = api.post(
            "/api/v1/users",
            json=BODY | {"username": f"x_{code}", "home_org_code": code},
            headers=auth("admin"),
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        error = problem["errors"][0]
        assert error["field"] == "home_org_code"
        assert f"is a {word} code" in error["reason"] and "stops at the district" in error["reason"]
        assert "只导入到区一级" in error["reason_zh"]


def test_city_account_once_the_city_is_imported(api: TestClient, auth: Auth, world: World) -> None:
    new = BODY | {"username": "sx_new", "home_org_code": "330600"}
    # The district's administrator may not create an account above the district ...
    response = api.post("/api/v1/users", json=new, headers=auth("admin"))
    assert response.status_code == 403, response.text
    # ... the province's may, and the account sees the city.
    response = api.post("/api/v1/users", json=new, headers=auth("zj_admin"))
    assert response.status_code == 201, response.text
    # A code that is no unit at all is still refused as before.
    missing = api.post(
        "/api/v1/users",
        json=BODY | {"username": "sx_bad", "home_org_code": "330700"},
        headers=auth("zj_admin"),
    )
    assert missing.status_code == 422
    assert "no org unit" in missing.json()["errors"][0]["reason"]
