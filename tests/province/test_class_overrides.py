"""A district's own settings for a shared class (`/api/v1/class-overrides`): turned off, its
owner unit type, its time limit in hours, for that district's events only; written only by an
administrator covering the district; the taxonomy stays one."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.events.filing import deadline_for, route
from fengqiao.org.models import Unit
from fengqiao.taxonomy.models import Category, ClassOverride
from fengqiao.taxonomy.snapshot import load_rules
from tests.province.world import Auth, World, file_event

KQ, YC = "330603", "330602"
URL = "/api/v1/class-overrides"


def _agency(db: Session, world: World) -> Unit:
    """A unit of 越城区's town whose type differs from the shared rule's department."""
    department = db.get(Unit, world.department[YC])
    assert department is not None
    agency = db.scalars(
        select(Unit)
        .where(Unit.org_unit_id == world.towns[YC], Unit.unit_type != department.unit_type)
        .order_by(Unit.id)
    ).first()
    assert agency is not None
    return agency


def test_owner_type_and_hours_apply_to_the_districts_events_only(
    db: Session, api: TestClient, auth: Auth, world: World
) -> None:
    agency = _agency(db, world)
    body = {"district_id": world.districts[YC], "category_code": world.category,
            "unit_type": agency.unit_type, "limit_hours": 3, "note": "越城区自定"}  # fmt: skip
    # 柯桥区's administrator may not set 越城区's classes; the province's may.
    assert api.post(URL, json=body, headers=auth("admin")).status_code == 403
    assert api.post(URL, json=body, headers=auth("yc_operator")).status_code == 403
    created = api.post(URL, json=body, headers=auth("zj_admin"))
    assert created.status_code == 201, created.text
    out = created.json()
    assert (out["district_name"], out["enabled"], out["limit_hours"]) == ("越城区", True, 3)
    rules = load_rules(db)
    yc = route(rules, category_code=world.category, level=2,
               place_ids=(world.villages[YC], world.towns[YC]))  # fmt: skip
    kq = route(rules, category_code=world.category, level=2,
               place_ids=(world.villages[KQ], world.towns[KQ]))  # fmt: skip
    assert (yc.unit_id, yc.rule_id) == (agency.id, -out["id"])
    assert kq.unit_id == world.department[KQ]  # the shared rule, unchanged
    start = datetime(2026, 12, 2, 9, 0).astimezone()
    yc_id, yc_due = deadline_for(rules, level=2, category_code=world.category, urgent=False,
                                 start=start, town_id=world.towns[YC])  # fmt: skip
    kq_id, kq_due = deadline_for(rules, level=2, category_code=world.category, urgent=False,
                                 start=start, town_id=world.towns[KQ])  # fmt: skip
    assert (
        yc_id == -out["id"] and yc_due is not None and yc_due.due_at - start == timedelta(hours=3)
    )
    assert kq_id is not None and kq_id > 0 and kq_due is not None
    assert kq_due.due_at - start != timedelta(hours=3)
    # Filed through the API: 越城区's event proposes the agency and runs on 3 hours.
    filed = file_event(api, auth, world, YC)
    assert (filed["proposed_unit"] or filed["owner_unit"])["id"] == agency.id
    due = datetime.fromisoformat(filed["due_at"]) - datetime.fromisoformat(filed["created_at"])
    assert timedelta(hours=2, minutes=59) <= due <= timedelta(hours=3, minutes=1)
    other = file_event(api, auth, world, KQ)
    assert (other["proposed_unit"] or other["owner_unit"])["id"] == world.department[KQ]
    # Cleared: back to the shared owner and limit.
    patched = api.patch(f"{URL}/{out['id']}", json={"unit_type": None, "limit_hours": None},
                        headers=auth("zj_admin"))  # fmt: skip
    assert patched.status_code == 200, patched.text
    rules = load_rules(db)
    assert route(rules, category_code=world.category, level=2,
                 place_ids=(world.villages[YC], world.towns[YC])).unit_id == world.department[YC]  # fmt: skip
    assert deadline_for(rules, level=2, category_code=world.category, urgent=False,
                        start=start, town_id=world.towns[YC])[0] == kq_id  # fmt: skip


def test_a_class_turned_off_in_one_district_files_in_the_other(
    db: Session, api: TestClient, auth: Auth, world: World
) -> None:
    body = {"district_id": world.districts[YC], "category_code": world.category, "enabled": False}
    created = api.post(URL, json=body, headers=auth("zj_admin"))
    assert created.status_code == 201, created.text
    lat, lng = world.points[YC]
    event = {"source": "hotline", "category": world.category, "description": "路边有人占道经营",
             "lat": lat, "lng": lng, "address": "某路", "contact_phone": "13700000000"}  # fmt: skip
    refused = api.post("/api/v1/events", json=event, headers=auth("yc_operator"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "category"
    assert "本区县已停用" in refused.text
    file_event(api, auth, world, KQ)  # the shared class, still on in 柯桥区
    # Re-classing an event of 越城区 into it at acceptance is refused too.
    rules = load_rules(db)
    assert rules.category_in(world.category, town_id=world.towns[YC]) is None
    assert rules.category_in(world.category, town_id=world.towns[KQ]) is not None
    # Deleted: the class is back in 越城区.
    gone = api.delete(f"{URL}/{created.json()['id']}", headers=auth("zj_admin"))
    assert gone.status_code == 204
    assert api.post("/api/v1/events", json=event, headers=auth("yc_operator")).status_code == 201
    assert db.scalar(select(ClassOverride.id)) is None


def test_bad_overrides_are_refused_whole(
    db: Session, api: TestClient, auth: Auth, world: World
) -> None:
    good = {"district_id": world.districts[YC], "category_code": world.category}
    cases = [
        (good | {"district_id": world.towns[YC]}, 422, "district_id"),
        (good | {"category_code": "ZZ99"}, 422, "category_code"),
        (good | {"unit_type": "no_such_type"}, 422, "unit_type"),
        (good | {"limit_hours": 0}, 422, "limit_hours"),
        (good | {"limit_hours": 9000}, 422, "limit_hours"),
        (good | {"note": "长" * 201}, 422, "note"),
        (good | {"enabled": None}, 422, "enabled"),
        (good | {"colour": "red"}, 422, "colour"),
        ({"category_code": world.category}, 422, "district_id"),
    ]
    for body, status, field in cases:
        response = api.post(URL, json=body, headers=auth("zj_admin"))
        assert response.status_code == status, (body, response.text)
        assert response.json()["errors"][0]["field"] == field, response.text
    # A unit type only 柯桥区 has is not an owner 越城区 can use.
    only_kq = Unit(code="KQONLY", name="柯桥专属单位", unit_type="kq_only_type", category="department",
                   platform=None, org_unit_id=world.districts[KQ], phone="", active=True)  # fmt: skip
    db.add(only_kq)
    db.commit()
    response = api.post(URL, json=good | {"unit_type": "kq_only_type"}, headers=auth("zj_admin"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "unit_type"
    assert db.scalar(select(ClassOverride.id)) is None  # nothing stored
    assert api.post(URL, json=good, headers=auth("zj_admin")).status_code == 201
    assert api.post(URL, json=good, headers=auth("zj_admin")).status_code == 409
    created = db.scalars(select(ClassOverride)).one()
    moved = api.patch(f"{URL}/{created.id}", json={"district_id": world.districts[KQ]},
                      headers=auth("zj_admin"))  # fmt: skip
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "district_id"
    # The shared class itself is untouched by any of this.
    category = db.get(Category, world.category)
    assert category is not None and category.active


def test_list_is_scoped_to_the_callers_districts(api: TestClient, auth: Auth, world: World) -> None:
    for district in (YC, KQ):
        body = {"district_id": world.districts[district], "category_code": world.category,
                "limit_hours": 5}  # fmt: skip
        assert api.post(URL, json=body, headers=auth("zj_admin")).status_code == 201

    def seen(user: str) -> set[str]:
        response = api.get(URL, headers=auth(user))
        assert response.status_code == 200, response.text
        return {row["district_name"] for row in response.json()}

    assert seen("yc_operator") == {"越城区"}
    assert seen("kq_operator") == {"柯桥区"}
    assert seen("sx_leader") == seen("zj_admin") == {"越城区", "柯桥区"}
    # A grid worker of 柯桥区 (below the district) reads its own district's settings.
    assert seen("admin") == {"柯桥区"}
    assert api.delete(f"{URL}/1", headers=auth("kq_operator")).status_code == 403
