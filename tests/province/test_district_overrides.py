"""The taxonomy is shared by default; a district may override a routing rule or an SLA limit
for its own events, never another district's."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.events.filing import deadline_for, route
from fengqiao.org.models import Unit
from fengqiao.org.service import bump_counter
from fengqiao.sla.models import SlaPolicy
from fengqiao.taxonomy.snapshot import RULES_COUNTER, load_rules
from tests.province.world import Auth, World

KQ, YC = "330603", "330602"


def test_district_routing_rule_overrides_the_shared_one_for_its_events_only(
    db: Session, api: TestClient, auth: Auth, world: World
) -> None:
    agency = db.scalars(
        select(Unit).where(Unit.org_unit_id == world.towns[YC]).order_by(Unit.id)
    ).first()
    assert agency is not None
    body = {"position": 999_990, "category_code": world.category, "unit_type": agency.unit_type,
            "district_id": world.districts[YC], "note": "越城区自定"}  # fmt: skip
    # Another district's administrator may not write 越城区's rules; the province's may.
    assert api.post("/api/v1/routing-rules", json=body, headers=auth("admin")).status_code == 403
    created = api.post("/api/v1/routing-rules", json=body, headers=auth("zj_admin"))
    assert created.status_code == 201, created.text
    assert created.json()["district_id"] == world.districts[YC]
    bad = api.post("/api/v1/routing-rules", json=body | {"position": 999_991,
                   "district_id": world.towns[YC]}, headers=auth("zj_admin"))  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "district_id"
    rules = load_rules(db)
    yc = route(rules, category_code=world.category, level=2,
               place_ids=(world.villages[YC], world.towns[YC]))  # fmt: skip
    kq = route(rules, category_code=world.category, level=2,
               place_ids=(world.villages[KQ], world.towns[KQ]))  # fmt: skip
    # The district's own rule, tried before the shared rules whatever its position.
    assert yc.unit_id == agency.id
    assert kq.unit_id == world.department[KQ]  # the shared rule, unchanged


def test_district_sla_limit_beats_the_shared_one_for_its_events_only(
    db: Session, api: TestClient, auth: Auth, clock: FixedClock, world: World
) -> None:
    rules = load_rules(db)
    start = clock.now()
    shared = {code: deadline_for(rules, level=2, category_code=world.category, urgent=False,
                                 start=start, town_id=world.towns[code]) for code in (KQ, YC)}  # fmt: skip
    assert shared[KQ][1] is not None and shared[KQ][1].due_at == shared[YC][1].due_at  # type: ignore[union-attr]
    db.add(SlaPolicy(level=None, category_code=None, urgent=False, limit_value=1,
                     limit_unit="hours", district_id=world.districts[YC]))  # fmt: skip
    bump_counter(db=db, name=RULES_COUNTER)
    db.commit()
    body = {"category_code": world.category, "limit_value": 2, "limit_unit": "hours",
            "district_id": world.districts[YC]}  # fmt: skip
    # Through the API: only an administrator covering the district may set its limits.
    assert api.post("/api/v1/sla/policies", json=body, headers=auth("admin")).status_code == 403
    created = api.post("/api/v1/sla/policies", json=body, headers=auth("zj_admin"))
    assert created.status_code == 201, created.text
    assert created.json()["district_id"] == world.districts[YC]
    rules = load_rules(db)
    yc_policy, yc = deadline_for(rules, level=2, category_code=world.category, urgent=False,
                             start=start, town_id=world.towns[YC])  # fmt: skip
    kq_id, kq = deadline_for(rules, level=2, category_code=world.category, urgent=False,
                             start=start, town_id=world.towns[KQ])  # fmt: skip
    assert yc is not None and kq is not None
    assert yc_policy != shared[YC][0] and yc.due_at - start <= timedelta(hours=2)  # its own
    assert (kq_id, kq.due_at) == (shared[KQ][0], shared[KQ][1].due_at)  # type: ignore[union-attr]
