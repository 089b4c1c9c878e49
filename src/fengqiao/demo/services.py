"""The demo's service catalogue and a few dozen proxy requests (代办) in every state, in the
demo town, made through the same domain functions as the API so their trails chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import GridAssignment, User
from fengqiao.auth.service import load_principal
from fengqiao.catalogue import access, proxy, service
from fengqiao.catalogue.models import ServiceItem
from fengqiao.catalogue.schemas import ProxyCreate, ProxyTransition
from fengqiao.demo import keqiao as kq
from fengqiao.org.models import OrgUnit
from fengqiao.taxonomy.snapshot import load_rules

# The end state of each planned request, and how many; 40 in all.
PLAN = (
    ("requested", 8), ("taken", 8), ("submitted", 8), ("done", 10), ("refused", 3),
    ("withdrawn", 3),
)  # fmt: skip
COLLECT_DAYS = 2  # the default of `proxy_collect_days`
STEPS = {
    "requested": (),
    "taken": ("take",),
    "submitted": ("take", "submit"),
    "done": ("take", "submit", "complete"),
    "refused": ("take", "refuse"),
    "withdrawn": ("withdraw",),
}
NOTES = ("老人行动不便，请网格员上门收件", "材料已备齐", "家属白天上班，请晚上联系", "",
         "需要复印件两份", "")  # fmt: skip
RESULTS = ("已办结，证件已送达本人", "审批通过，待遇次月起发放", "已办结，结果已电话告知",
           "已办结，材料原件已退还")  # fmt: skip
REFUSALS = ("经核查不符合申请条件", "群众已自行到镇便民服务中心办理")


@dataclass
class ServicesReport:
    items: int
    requests: int


def _id_number(rng: np.random.Generator) -> str:
    birth = datetime(1940, 1, 1) + timedelta(days=int(rng.integers(0, 365 * 60)))
    body = f"330621{birth:%Y%m%d}{int(rng.integers(0, 1000)):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def seed_services(*, db: Session, now: datetime, created_at: datetime, seed: int) -> ServicesReport:
    """Load the shipped catalogue and plan the demo town's proxy requests relative to `now`."""
    result = service.import_items(db=db, data=service.load_items(), now=created_at)
    rng = np.random.default_rng(seed + 12)  # its own stream: the rest of the seed is unchanged
    town = db.scalar(select(OrgUnit).where(OrgUnit.kind == "town", OrgUnit.name == kq.DEMO_TOWN))
    worker = db.scalar(select(User).where(User.username == "demo_grid_worker"))
    resident = db.scalar(select(User).where(User.username == "demo_resident"))
    if town is None or worker is None:
        return ServicesReport(result.total, 0)
    demo_grid = db.scalar(
        select(GridAssignment.grid_id).where(GridAssignment.user_id == worker.id).limit(1)
    )
    # Each grid's full-time worker (username suffix b) takes its requests.
    grids = list(
        db.execute(
            select(OrgUnit.id, User.id)
            .join(GridAssignment, GridAssignment.grid_id == OrgUnit.id)
            .join(User, User.id == GridAssignment.user_id)
            .where(
                OrgUnit.kind == "grid",
                OrgUnit.path.startswith(town.path),
                GridAssignment.duty == "full_time",
            )
            .order_by(OrgUnit.code)
        ).all()
    )
    items = list(
        db.scalars(
            select(ServiceItem)
            .where(ServiceItem.proxy_allowed.is_(True))
            .order_by(ServiceItem.code)
        )
    )
    calendar = load_rules(db).calendar
    count = 0
    for state, how_many in PLAN:
        for n in range(how_many):
            # A third of the requests sit in the demo worker's grid, two of each state asked by
            # the demo resident themselves; the rest spread over the town.
            if n % 3 == 0 or demo_grid is None:
                grid_id, taker_id = demo_grid or grids[0][0], worker.id
            else:
                grid_id, taker_id = grids[int(rng.integers(len(grids)))]
            by_resident = resident is not None and n < 2 and grid_id == demo_grid
            item = items[int(rng.integers(len(items)))]
            age_days = float(rng.uniform(0.2, 6.0) if state != "done" else rng.uniform(3, 40))
            started = now - timedelta(days=age_days)
            steps = STEPS[state]
            asker_id = resident.id if by_resident and resident else taker_id
            asker = load_principal(db=db, user_id=asker_id)
            taker = load_principal(db=db, user_id=taker_id)
            assert asker is not None and taker is not None
            surname = kq.SURNAMES[int(rng.integers(len(kq.SURNAMES)))]
            given = "".join(
                kq.GIVEN_NAME_CHARS[int(c)]
                for c in rng.integers(len(kq.GIVEN_NAME_CHARS), size=1 + int(rng.random() < 0.7))
            )
            data = ProxyCreate(
                item_id=item.id,
                resident_name=None if by_resident else surname + given,
                resident_phone=None if by_resident else f"13{int(rng.integers(10**8, 10**9))}",
                resident_id_number=_id_number(rng) if rng.random() < 0.5 else None,
                grid_id=grid_id,
                note=NOTES[int(rng.integers(len(NOTES)))],
            )
            request = proxy.create_proxy(
                db=db, view=access.viewer(db, asker), data=data, calendar=calendar, now=started,
                collect_days=COLLECT_DAYS,
            )  # fmt: skip
            # The steps fall between the request and now (or its due time, for most done ones).
            span = (now - started) * 0.9
            for index, action in enumerate(steps, start=1):
                at = started + span * index / (len(steps) + 1)
                if state == "done" and action == "complete" and rng.random() < 0.8:
                    at = min(at, request.due_at - timedelta(hours=2))
                actor = asker if action == "withdraw" else taker
                body = ProxyTransition(
                    action=action,
                    version=request.version,
                    note=REFUSALS[n % len(REFUSALS)] if action == "refuse" else "",
                    result=RESULTS[n % len(RESULTS)] if action == "complete" else None,
                )
                proxy.transition(
                    db=db, view=access.viewer(db, actor), request_id=request.id, data=body,
                    now=max(at, request.updated_at),
                )  # fmt: skip
            count += 1
    db.flush()
    return ServicesReport(result.total, count)
