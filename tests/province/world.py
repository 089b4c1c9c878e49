"""The seeded small district under a city and province, with a second district beside it.

`city_world` imports 浙江省 (330000) and 绍兴市 (330600) above the seeded 柯桥区 (330603), which
re-roots its subtree, then imports 越城区 (330602) with one town, village and grid east of the
seeded grids, gives it copies of 柯桥区's district departments and town agencies, and adds
people: an operator and a leader at each district and at the city, a leader and an
administrator at the province. Everything happens in the
test's transaction and is rolled back after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.auth.models import User, UserRole
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.config import Settings
from fengqiao.events.filing import route
from fengqiao.org.importer import import_tree
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.org.service import GRIDS_COUNTER, bump_counter
from fengqiao.taxonomy.models import RoutingRule
from fengqiao.taxonomy.snapshot import RULES_COUNTER, load_rules

START = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)
Auth = Callable[[str], dict[str, str]]
# (username, role, home code)
PEOPLE = (
    ("kq_operator", "operator", "330603"),
    ("kq_leader", "leader", "330603"),
    ("yc_operator", "operator", "330602"),
    ("yc_leader", "leader", "330602"),
    ("sx_operator", "operator", "330600"),
    ("sx_leader", "leader", "330600"),
    ("zj_leader", "leader", "330000"),
    ("zj_admin", "admin", "330000"),
)


@dataclass
class World:
    """Ids of the tree after the import, and the events filed in it."""

    province: int
    city: int
    districts: dict[str, int]  # code -> id
    towns: dict[str, int]  # district code -> its (first) town
    villages: dict[str, int]  # district code -> a village with a grid
    points: dict[str, tuple[float, float]]  # district code -> (lat, lng) inside a grid
    category: str  # a class the district's own department handles
    department: dict[str, int]  # district code -> that department's unit id
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


def feature(code: str, name: str, geometry: Any = None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, "name": name, **props},
            "geometry": geometry}  # fmt: skip


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}  # fmt: skip


def build_world(db: Session, settings: Settings) -> World:
    """Import the city, the province and the second district; copy units; add people."""
    east = db.scalar(select(func.max(OrgUnit.max_lng)).where(OrgUnit.kind == "grid")) or 120.5
    south = db.scalar(select(func.min(OrgUnit.min_lat)).where(OrgUnit.kind == "grid")) or 30.0
    x0, y0 = east + 0.05, south
    report = import_tree(
        db=db,
        settings=settings,
        data={"type": "FeatureCollection", "features": [
            feature("330000", "浙江省"), feature("330600", "绍兴市"),
            feature("330602", "越城区"),
            feature("330602001", "府山街道", area_type="urban"),
            feature("330602001001", "府山社区", village_type="community"),
            feature("330602001001001", "府山社区第1网格", rect(x0, y0, x0 + 0.02, y0 + 0.02),
                    households=120, population=300),
        ]},
    )  # fmt: skip
    assert report.rerooted == ["330603"]
    by_code = {u.code: u for u in db.scalars(select(OrgUnit).where(OrgUnit.kind != "grid"))}
    kq_district, yc_district = by_code["330603"], by_code["330602"]
    kq_town = db.scalars(
        select(OrgUnit).where(OrgUnit.kind == "town", OrgUnit.parent_id == kq_district.id)
    ).first()
    assert kq_town is not None
    yc_town, yc_village = by_code["330602001"], by_code["330602001001"]
    # 越城区 gets copies of 柯桥区's departments and of its town's agencies.
    copies: dict[int, int] = {}
    for old, new in ((kq_district, yc_district), (kq_town, yc_town)):
        for unit in db.scalars(select(Unit).where(Unit.org_unit_id == old.id).order_by(Unit.id)):
            copy = Unit(
                code=unit.code.replace(kq_town.code, yc_town.code).replace("330603", "330602"),
                name="越城" + unit.name, unit_type=unit.unit_type, category=unit.category,
                platform=unit.platform, org_unit_id=new.id, phone=unit.phone, active=True,
            )  # fmt: skip
            db.add(copy)
            db.flush()
            copies[unit.id] = copy.id
    for username, role, code in PEOPLE:
        person = User(username=username, name=username, home_org_id=by_code[code].id,
                      is_active=True)  # fmt: skip
        db.add(person)
        db.flush()
        db.add(UserRole(user_id=person.id, role=role))
    bump_counter(db=db, name=GRIDS_COUNTER)
    bump_counter(db=db, name=RULES_COUNTER)
    db.flush()
    kq_grid = db.scalars(
        select(OrgUnit)
        .where(OrgUnit.kind == "grid", OrgUnit.path.startswith(kq_town.path))
        .order_by(OrgUnit.code)
    ).first()
    assert kq_grid is not None and kq_grid.parent_id is not None
    # The first rule: a class goes to a department of the district (a unit type that only the
    # districts have), resolved near the event: each district's own.
    department = db.scalars(
        select(Unit).where(Unit.org_unit_id == kq_district.id).order_by(Unit.id)
    ).first()
    assert department is not None
    rules = load_rules(db)
    category = next(code for code, ref in sorted(rules.categories.items()) if ref.active)
    first = db.scalar(select(func.min(RoutingRule.position))) or 0
    db.add(RoutingRule(position=first - 1, category_code=category, unit_type=department.unit_type,
                       note="province test", active=True))  # fmt: skip
    bump_counter(db=db, name=RULES_COUNTER)
    db.flush()
    rules = load_rules(db)
    assert route(rules, category_code=category, level=2,
                 place_ids=(kq_grid.parent_id, kq_town.id)).unit_id == department.id  # fmt: skip
    box = (kq_grid.min_lat, kq_grid.min_lng, kq_grid.max_lat, kq_grid.max_lng)
    lat0, lng0, lat1, lng1 = (float(v) for v in box if v is not None)
    kq_point = ((lat0 + lat1) / 2, (lng0 + lng1) / 2)
    return World(
        province=by_code["330000"].id, city=by_code["330600"].id,
        districts={"330603": kq_district.id, "330602": yc_district.id},
        towns={"330603": kq_town.id, "330602": yc_town.id},
        villages={"330603": kq_grid.parent_id, "330602": yc_village.id},
        points={"330603": kq_point, "330602": (y0 + 0.01, x0 + 0.01)},
        category=category,
        department={"330603": department.id, "330602": copies[department.id]},
    )  # fmt: skip


def file_event(api: TestClient, auth: Auth, world: World, district: str) -> dict[str, Any]:
    """A hotline event in `district`, filed by its district operator."""
    user = "kq_operator" if district == "330603" else "yc_operator"
    lat, lng = world.points[district]
    body = {
        "source": "hotline", "category": world.category, "description": "路边有人占道经营",
        "lat": lat, "lng": lng, "address": "某路", "contact_phone": "13700000000",
    }  # fmt: skip
    response = api.post("/api/v1/events", json=body, headers=auth(user))
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def api(bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any) -> Iterator[TestClient]:
    """The app over the rolled-back test transaction, on the fixed clock."""
    settings = seeded.settings.model_copy(
        update={"data_dir": tmp_path, "rules_check_seconds": 0, "grid_index_check_seconds": 0,
                "principal_cache_seconds": 0}
    )  # fmt: skip
    app = create_app(settings, database=bound, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def world(db: Session, settings: Settings, api: TestClient, auth: Auth) -> World:
    built = build_world(db, settings)
    db.commit()  # a savepoint of the test's outer transaction: the app's sessions see it
    for district in ("330603", "330602"):
        built.events[district] = file_event(api, auth, built, district)
    return built
