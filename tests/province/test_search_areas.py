"""The search box at city and province scope: cities and districts are areas too (the caller's
own home and what is above it left out), and a result's place words name the city and district
above it, less the ones the caller sits in."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.province.world import Auth, World


def areas(api: TestClient, auth: Auth, user: str, q: str) -> dict[str, dict[str, Any]]:
    response = api.get("/api/v1/search", params={"q": q, "kind": "area"}, headers=auth(user))
    assert response.status_code == 200, response.text
    groups = response.json()["groups"]
    return {item["name"]: item for group in groups for item in group["items"]}


def test_cities_and_districts_are_found(api: TestClient, auth: Auth, world: World) -> None:
    found = areas(api, auth, "zj_leader", "越城")
    yc = found["越城区"]
    assert (yc["sub"], yc["sub_label"], yc["id"]) == ("district", "区", world.districts["330602"])
    assert yc["detail"] == "绍兴市"  # the province, the caller's home, left out
    city = areas(api, auth, "zj_leader", "绍兴")["绍兴市"]
    assert (city["sub"], city["sub_label"], city["detail"]) == ("city", "市", "")
    by_code = areas(api, auth, "zj_leader", "330603")
    assert by_code["柯桥区"]["sub"] == "district"
    # The caller's own home and what lies above it are where they already are: left out.
    assert "绍兴市" not in areas(api, auth, "sx_operator", "绍兴")
    assert "浙江省" not in areas(api, auth, "sx_operator", "浙江")
    assert "柯桥区" not in areas(api, auth, "kq_operator", "柯桥")


def test_place_words_name_what_the_caller_does_not_sit_in(
    api: TestClient, auth: Auth, world: World
) -> None:
    # The province's staff read the city and district above a town.
    assert areas(api, auth, "zj_leader", "府山街道")["府山街道"]["detail"] == "绍兴市 越城区"
    # The city's: the district alone.
    assert areas(api, auth, "sx_operator", "府山街道")["府山街道"]["detail"] == "越城区"
    # Another district's staff: that district (theirs and their city are left out).
    assert areas(api, auth, "kq_operator", "府山街道")["府山街道"]["detail"] == "越城区"
    # Their own district's village: the town alone, as before the tree grew.
    assert areas(api, auth, "yc_operator", "府山社区")["府山社区"]["detail"] == "府山街道"
    # An event's place words stay on its own line (code and address), found within scope.
    event = world.events["330602"]
    response = api.get("/api/v1/search", params={"q": event["code"]}, headers=auth("sx_operator"))
    items = [i for g in response.json()["groups"] if g["kind"] == "event" for i in g["items"]]
    assert [i["id"] for i in items] == [event["id"]]
