"""The event list's 市 and 区 filters and columns at city and province scope: a filter narrows
to the towns below the city or district, a city or district outside the caller's subtree is a
403 (another city's district, the city above a district operator), an id of another kind a 422,
and each row and CSV line names its city and district."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.config import Settings
from fengqiao.org.importer import import_tree
from fengqiao.org.models import OrgUnit
from fengqiao.org.service import GRIDS_COUNTER, bump_counter
from tests.province.world import Auth, World, feature, rect

KQ, YC = "330603", "330602"


def listed(api: TestClient, auth: Auth, user: str, **params: Any) -> Any:
    return api.get("/api/v1/events", params={"size": 100, **params}, headers=auth(user))


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_province_filters_by_city_and_district(api: TestClient, auth: Auth, world: World) -> None:
    kq, yc = world.events[KQ]["id"], world.events[YC]["id"]
    district = world.districts
    assert ids(listed(api, auth, "zj_leader", district=district[YC])) == {yc}
    assert ids(listed(api, auth, "zj_leader", district=district[KQ])) == {kq}
    assert ids(listed(api, auth, "zj_leader", district=f"{district[KQ]},{district[YC]}")) == {
        kq,
        yc,
    }
    assert ids(listed(api, auth, "zj_leader", city=world.city)) == {kq, yc}
    # Both filters: an event must lie in each.
    assert ids(listed(api, auth, "zj_leader", city=world.city, district=district[YC])) == {yc}
    # With the town filter beside it: the same AND.
    both = listed(api, auth, "zj_leader", district=district[YC], town=world.towns[KQ])
    assert ids(both) == set()
    # The city operator filters to one of its districts.
    assert ids(listed(api, auth, "sx_operator", district=district[KQ])) == {kq}


def test_rows_name_their_city_and_district(api: TestClient, auth: Auth, world: World) -> None:
    response = listed(api, auth, "zj_leader")
    assert response.status_code == 200, response.text
    rows = {item["id"]: item for item in response.json()["items"]}
    yc = rows[world.events[YC]["id"]]
    assert yc["district"] == {"id": world.districts[YC], "code": YC, "name": "越城区"}
    assert yc["city"] == {"id": world.city, "code": "330600", "name": "绍兴市"}
    kq = rows[world.events[KQ]["id"]]
    assert kq["district"]["code"] == KQ and kq["city"]["code"] == "330600"
    # One event's page carries them too.
    page = api.get(f"/api/v1/events/{world.events[YC]['id']}", headers=auth("zj_leader"))
    assert page.json()["district"]["name"] == "越城区" and page.json()["city"]["name"] == "绍兴市"


def test_filters_outside_the_scope_are_refused(
    db: Session, settings: Settings, api: TestClient, auth: Auth, world: World
) -> None:
    # Another city with a district of its own, beside 绍兴市.
    import_tree(
        db=db,
        settings=settings,
        data={"type": "FeatureCollection", "features": [
            feature("330100", "杭州市"), feature("330106", "西湖区"),
            feature("330106001", "北山街道", area_type="urban"),
            feature("330106001001", "北山社区", village_type="community"),
            feature("330106001001001", "北山社区第1网格", rect(119.0, 29.0, 119.02, 29.02),
                    households=100, population=250),
        ]},
    )  # fmt: skip
    bump_counter(db=db, name=GRIDS_COUNTER)
    db.commit()
    units = {u.code: u.id for u in db.scalars(select(OrgUnit).where(OrgUnit.kind != "grid"))}
    xihu, hangzhou = units["330106"], units["330100"]
    # The province may name it (no events there yet).
    assert ids(listed(api, auth, "zj_leader", district=xihu)) == set()
    assert ids(listed(api, auth, "zj_leader", city=hangzhou)) == set()
    for user, params in (
        ("sx_operator", {"district": xihu}),  # another city's district
        ("sx_operator", {"city": hangzhou}),  # another city
        ("sx_operator", {"district": f"{world.districts[KQ]},{xihu}"}),  # one of them outside
        ("kq_operator", {"district": world.districts[YC]}),  # the district beside
        ("kq_operator", {"city": world.city}),  # the city above
    ):
        response = listed(api, auth, user, **params)
        assert response.status_code == 403, (user, params, response.text)
        body = response.json()
        assert "管辖范围" in body["detail_zh"] and "scope" in body["detail"]
        export = api.get("/api/v1/events/export.csv", params=params, headers=auth(user))
        assert export.status_code == 403, (user, params)
    for params, field in (
        ({"district": world.towns[KQ]}, "district"),  # a town is no district
        ({"city": world.districts[KQ]}, "city"),  # a district is no city
        ({"district": "999999999"}, "district"),  # no such unit
        ({"city": "杭州"}, "city"),  # not an id
    ):
        response = listed(api, auth, "zj_leader", **params)
        assert response.status_code == 422, (params, response.text)
        error = response.json()["errors"][0]
        assert error["field"] == field and error["reason_zh"] and error["field_zh"] != field


def test_csv_export_has_city_and_district_columns(
    api: TestClient, auth: Auth, world: World
) -> None:
    response = api.get(
        "/api/v1/events/export.csv",
        params={"district": world.districts[YC]},
        headers=auth("zj_leader"),
    )
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    column = {name: index for index, name in enumerate(rows[0])}
    assert column["市"] < column["区（县）"] < column["镇街"]
    assert [r[0] for r in rows[1:]] == [world.events[YC]["code"]]
    line = rows[1]
    assert (line[column["市"]], line[column["区（县）"]], line[column["镇街"]]) == (
        "绍兴市",
        "越城区",
        "府山街道",
    )
