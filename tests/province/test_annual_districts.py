"""The annual assessment with several districts: one district at a time, its towns and
departments ranked among themselves; the caller's own district by default, a city or province
leader chooses among theirs; never "the first district" of the database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.org.models import OrgUnit
from tests.province.world import Auth, World

KQ, YC = "330603", "330602"
URL = "/api/v1/assessment/annual"


def _towns(db: Session, world: World, district: str) -> set[int]:
    path = db.scalar(select(OrgUnit.path).where(OrgUnit.id == world.districts[district]))
    assert path is not None
    return set(db.scalars(select(OrgUnit.id).where(OrgUnit.kind == "town",
                                                   OrgUnit.path.startswith(path))))  # fmt: skip


def test_each_district_is_assessed_on_its_own(
    db: Session, api: TestClient, auth: Auth, world: World
) -> None:
    towns = {code: _towns(db, world, code) for code in (KQ, YC)}
    assert towns[YC] == {world.towns[YC]} and world.towns[KQ] in towns[KQ]
    for user, code in (("kq_leader", KQ), ("yc_leader", YC)):
        body = api.get(URL, headers=auth(user))
        assert body.status_code == 200, body.text
        got = body.json()
        assert got["district"]["id"] == world.districts[code]
        assert {t["id"] for t in got["towns"]} == towns[code]
        assert sorted(t["rank"] or 0 for t in got["towns"] if t["rank"])[:1] in ([], [1])
        assert got["departments"], got
        assert world.department[code] in {d["id"] for d in got["departments"]}
        other = YC if code == KQ else KQ
        assert world.department[other] not in {d["id"] for d in got["departments"]}
        assert [d["id"] for d in got["districts"]] == [world.districts[code]]
    # A city leader: the first district of the city by default, either one by choice.
    city = api.get(URL, headers=auth("sx_leader")).json()
    assert {d["id"] for d in city["districts"]} == set(world.districts.values())
    assert city["district"]["id"] == world.districts[YC]  # 330602 sorts first
    chosen = api.get(URL, params={"district": world.districts[KQ]}, headers=auth("sx_leader"))
    assert chosen.status_code == 200 and {t["id"] for t in chosen.json()["towns"]} == towns[KQ]
    # A district leader may not read the neighbour; a town is not a district.
    assert api.get(URL, params={"district": world.districts[YC]},
                   headers=auth("kq_leader")).status_code == 403  # fmt: skip
    bad = api.get(URL, params={"district": world.towns[YC]}, headers=auth("sx_leader"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "district"
    # One town's report is computed among its own district's towns.
    one = api.get(f"{URL}/towns/{world.towns[YC]}", headers=auth("zj_leader"))
    assert one.status_code == 200 and one.json()["area_id"] == world.districts[YC]
    department = api.get(f"{URL}/departments/{world.department[YC]}", headers=auth("yc_leader"))
    assert department.status_code == 200, department.text
    assert api.get(f"{URL}/departments/{world.department[YC]}",
                   headers=auth("kq_leader")).status_code == 404  # fmt: skip
    # The benchmark standings likewise.
    marks = api.get("/api/v1/assessment/benchmarks", params={"district": world.districts[YC]},
                    headers=auth("sx_leader"))  # fmt: skip
    assert marks.status_code == 200, marks.text
    assert {s["id"] for s in marks.json()["standings"]} == towns[YC]
    # It names the district ranked and those the city leader may choose, as the annual list.
    assert marks.json()["district"]["id"] == world.districts[YC]
    assert {d["id"] for d in marks.json()["districts"]} == set(world.districts.values())
