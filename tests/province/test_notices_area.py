"""The residents' notices and the public map with several districts: a district's notice reaches its own people
and whoever chooses that district, never the district next door; nobody and nothing chosen
reads the root's (the province's), not "the first district's"."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import FixedClock
from fengqiao.notices.models import Notice
from fengqiao.org.models import OrgUnit
from tests.province.world import Auth, World

KQ, YC = "330603", "330602"
URL = "/api/v1/public/notices"


def _publish(db: Session, clock: FixedClock, org_id: int, title: str) -> None:
    org = db.get(OrgUnit, org_id)
    author = db.scalar(select(User.id).where(User.username == "zj_admin"))
    assert org is not None and author is not None
    today = clock.now().date()
    db.add(Notice(org_id=org.id, org_path=org.path, title=title, text="内容", images=[],
                  valid_from=today - timedelta(days=1), valid_to=today + timedelta(days=7),
                  status="published", version=1, created_by=author, created_at=clock.now(),
                  published_by=author, published_at=clock.now()))  # fmt: skip
    db.commit()


def _titles(api: TestClient, **kw: object) -> tuple[str, set[str]]:
    response = api.get(URL, **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["area"]["name"], {n["title"] for n in body["items"]}


def test_a_districts_notice_reaches_its_own_people_only(
    db: Session, api: TestClient, auth: Auth, clock: FixedClock, world: World
) -> None:
    _publish(db, clock, world.districts[YC], "越城区停水通知")
    _publish(db, clock, world.province, "全省防台通知")
    assert _titles(api, headers=auth("yc_operator")) == (
        "越城区",
        {"越城区停水通知", "全省防台通知"},
    )
    assert _titles(api, headers=auth("kq_operator")) == ("柯桥区", {"全省防台通知"})
    # Chosen: the district itself, or one of its villages.
    chosen = _titles(api, params={"village": world.districts[YC]})
    assert chosen == ("越城区", {"越城区停水通知", "全省防台通知"})
    assert _titles(api, params={"village": world.villages[YC]})[1] == chosen[1]
    # Nobody, nothing chosen: the root, the province.
    assert _titles(api) == ("浙江省", {"全省防台通知"})
    # A city is not a place to choose notices by.
    refused = api.get(URL, params={"village": world.city})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "village"


def test_the_public_maps_box_holds_every_district(
    db: Session, api: TestClient, world: World
) -> None:
    meta = api.get("/api/v1/public/reports/meta")
    assert meta.status_code == 200, meta.text
    west, south, east, north = meta.json()["bounds"]
    for lat, lng in world.points.values():  # a point inside a grid of each district
        assert west <= lng <= east and south <= lat <= north
