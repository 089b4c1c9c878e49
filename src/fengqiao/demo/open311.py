"""A few Open311 requests in the demo district, filed through the real path by `demo_device`,
so `/open311/v2/requests.json` and `servicerequestupdates.json` show something at once."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import orjson
import shapely
from sqlalchemy import func, select

from fengqiao.auth.models import User
from fengqiao.auth.service import load_principal
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.geo.service import GridLocator
from fengqiao.open311 import parsing, service
from fengqiao.open311.models import Open311Request
from fengqiao.org.models import OrgUnit
from fengqiao.taxonomy.snapshot import load_rules

# (what the resident wrote, where) of the demo requests; the classes are the first offered.
REPORTS = (
    ("人行道上有流动摊贩占道经营，行人只能走机动车道", "笛扬路与柯北大道路口"),
    ("小区门口垃圾堆放三天无人清理，气味很大", "安昌街道某小区东门"),
    ("河道里漂着大量塑料垃圾", "瓜渚湖沿岸步道"),
    ("夜间施工噪声扰民，已持续一周", "华舍街道新建工地"),
    ("路灯不亮，晚上经过很不安全", "齐贤街道村口"),
)


def seed_open311(*, database: Database, now: datetime, seed: int = 311) -> int:
    """File the demo requests (once: none if any Open311 request exists); how many were filed."""
    rng = random.Random(seed)
    with database.transaction() as db:
        if db.scalar(select(func.count()).select_from(Open311Request)):
            return 0
        user_id = db.scalar(select(User.id).where(User.username == "demo_device"))
        principal = load_principal(db=db, user_id=user_id) if user_id is not None else None
        if principal is None:
            return 0
        rules = load_rules(db)
        hidden = service.hidden_codes(rules, Settings().open311_hidden_majors)
        codes = sorted(
            code
            for code, ref in rules.categories.items()
            if ref.active
            and code not in hidden
            and not any(q.required for q in getattr(rules.intakes.get(code), "questions", ()))
        )
        locator = GridLocator(3600)
        locator.refresh(db)
        grids = db.scalars(select(OrgUnit.geometry).where(OrgUnit.kind == "grid").limit(200)).all()
        filed = 0
        for number, (text, address) in enumerate(REPORTS):
            geometry = rng.choice(list(grids))
            point = shapely.from_geojson(orjson.dumps(geometry)).representative_point()
            submission = parsing.read_submission(
                [("api_key", ""), ("service_code", codes[(number * 7) % len(codes)]),
                 ("lat", str(point.y)), ("long", str(point.x)), ("description", text),
                 ("address_string", address)]
            )  # fmt: skip
            service.submit(
                db=db, rules=rules, place=locator.locate(point.x, point.y), principal=principal,
                submission=submission, hidden=hidden, now=now - timedelta(hours=2 * number + 1),
            )  # fmt: skip
            filed += 1
    return filed
