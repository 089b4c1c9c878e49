"""The demo's joint enforcement (联合执法): after a year of events is filed, a share of the
level-3 and level-4 events gets assisting units (协办) whose parts went as their event went (fed
back before the lead, a few waived, some late), and each town holds two joint operations (联合
行动) a month with the events they closed. Deterministic (seeded random), bulk-written.

The history's parts carry no trail rows of their own (the bulk trail is already chained and
closed by the time parts are added); every live part step is on the trail.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update

from fengqiao.auth.models import User, UserRole
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.events.models import Event, EventPart
from fengqiao.jointops.models import JointOperation, JointOperationEvent, JointOperationLog
from fengqiao.org.models import OrgUnit, Unit

SHARE = 0.3  # of the level-3/4 dispatched events, how many are joint
OPERATIONS_PER_MONTH = 2  # per town


@dataclass(frozen=True)
class Theme:
    """A kind of joint operation: the unit type that leads it, the types that join it and the
    results it counts (name, measure)."""

    name: str
    lead: str
    joins: tuple[str, ...]
    counts: tuple[tuple[str, str], ...]


THEMES: tuple[Theme, ...] = (
    Theme("占道经营联合整治", "law_enforcement_squadron",
          ("market_supervision_office", "traffic_police_squadron"),
          (("劝离占道经营", "起"), ("取缔流动摊贩", "处"))),
    Theme("流动摊贩联合取缔", "law_enforcement_squadron",
          ("market_supervision_office", "police_station"), (("取缔流动摊贩", "处"),)),
    Theme("违法建筑联合拆除", "law_enforcement_squadron",
          ("natural_resources_office", "urban_construction_office"), (("拆除违建", "处"),)),
    Theme("渣土运输联合执法", "traffic_police_squadron",
          ("law_enforcement_squadron", "ecology_station"), (("查处违规渣土车", "辆"),)),
    Theme("无证小餐饮联合整治", "market_supervision_office",
          ("law_enforcement_squadron", "fire_rescue_station"), (("整治小餐饮店", "家"),)),
    Theme("僵尸车联合清理", "traffic_police_squadron",
          ("police_station", "law_enforcement_squadron"), (("清理僵尸车", "辆"),)),
    Theme("出租房消防联合检查", "fire_rescue_station",
          ("police_station", "emergency_management_station"),
          (("检查出租房", "户"), ("整改消防隐患", "处"))),
)  # fmt: skip
# Working hours, Beijing time: a morning (09:00-12:00) or an afternoon (14:00-17:30) operation.
SHIFTS = ((9, 0, timedelta(hours=3)), (14, 0, timedelta(hours=3, minutes=30)))


@dataclass
class JointReport:
    parts: int
    operations: int


def _parts_for(
    event: Any, units: list[int], rng: np.random.Generator, until: datetime
) -> list[dict[str, Any]]:
    helpers = [u for u in units if u != event.owner_unit_id]
    if not helpers:
        return []
    picked = rng.choice(helpers, size=min(len(helpers), 1 + int(rng.random() < 0.3)), replace=False)
    rows = []
    for unit_id in picked.tolist():
        start = event.dispatched_at
        row: dict[str, Any] = {
            "event_id": event.id, "unit_id": unit_id, "role": "assist", "status": "dispatched",
            "town_id": event.town_id, "dispatched_at": start, "dispatched_by": None,
            "photo_ids": [], "sla_policy_id": event.sla_policy_id, "due_at": event.due_at,
            "yellow_at": event.yellow_at, "remind_at": event.remind_at, "version": 1,
            "reminded_at": None, "overdue_at": None, "signed_at": None, "fed_back_at": None,
            "result": None, "waived_at": None, "waive_reason": None,
        }  # fmt: skip
        if event.signed_at is not None or event.status in ("handled", "closed"):
            row.update(status="signed", signed_at=start + timedelta(minutes=20 + 40 * rng.random()))
        if event.handled_at is not None:
            span = max((event.handled_at - row["signed_at"]).total_seconds(), 60.0)
            if rng.random() < 0.05:
                row.update(status="waived", waived_at=event.handled_at - timedelta(minutes=5),
                           waive_reason="该单位职责已由主办单位一并处置")  # fmt: skip
            else:
                share = 0.4 + 0.5 * rng.random()
                fed = row["signed_at"] + timedelta(seconds=span * share)
                row.update(status="fed_back", result="已配合主办单位完成处置", fed_back_at=fed)
        finished = row["fed_back_at"] or event.closed_at or until
        if event.due_at is not None and finished > event.due_at and row["status"] != "waived":
            row["overdue_at"] = event.due_at
        if event.remind_at is not None and row["status"] != "waived":
            row["reminded_at"] = event.remind_at
        rows.append(row)
    return rows


def seed_joint(*, db: Database, until: datetime, seed: int = 20171018) -> JointReport:
    """Assisting parts on a share of the level-3/4 events, and the towns' joint operations."""
    rng = np.random.default_rng(seed + 20)
    with db.transaction() as session:
        units_at: dict[int, list[int]] = defaultdict(list)
        district_units: list[int] = []
        for unit_id, org_id, kind in session.execute(
            select(Unit.id, Unit.org_unit_id, OrgUnit.kind)
            .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
            .where(Unit.active, Unit.category != "coordination_group")
            .order_by(Unit.id)
        ):
            (district_units if kind == "district" else units_at[org_id]).append(unit_id)
        events = session.execute(
            select(Event.id, Event.town_id, Event.owner_unit_id, Event.status, Event.dispatched_at,
                   Event.signed_at, Event.handled_at, Event.closed_at, Event.due_at,
                   Event.yellow_at, Event.remind_at, Event.sla_policy_id)
            .where(Event.level >= 3, Event.dispatched_at.is_not(None),
                   Event.owner_unit_id.is_not(None))
            .order_by(Event.id)
        ).all()  # fmt: skip
        parts: list[dict[str, Any]] = []
        joint: dict[int, tuple[int, int]] = {}
        for event in events:
            if rng.random() >= SHARE:
                continue
            pool = units_at.get(event.town_id, []) + district_units[:6]
            made = _parts_for(event, pool, rng, until)
            if made:
                parts += made
                open_ = sum(1 for p in made if p["status"] in ("dispatched", "signed"))
                joint[event.id] = (len(made), open_)
        for start in range(0, len(parts), 5000):
            session.execute(insert(EventPart), parts[start : start + 5000])
        for event_id, (count, open_) in joint.items():
            session.execute(
                update(Event)
                .where(Event.id == event_id)
                .values(assist_count=count, assist_open=open_)
            )
        operations = _operations(session, rng, until, units_at)
    return JointReport(parts=len(parts), operations=operations)


def _operations(session: Any, rng: np.random.Generator, until: datetime,
                units_at: dict[int, list[int]]) -> int:  # fmt: skip
    """Two joint operations a month in each town over the year, linked to events they closed."""
    towns = session.execute(
        select(OrgUnit.id, OrgUnit.path, OrgUnit.name)
        .where(OrgUnit.kind == "town")
        .order_by(OrgUnit.id)
    ).all()
    operators = dict(
        session.execute(
            select(User.home_org_id, User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "operator")
            .order_by(User.id.desc())
        ).all()
    )
    kinds = dict(session.execute(select(Unit.id, Unit.unit_type)).all())
    serial = 0
    per_year: dict[int, int] = defaultdict(int)
    for town in towns:
        units = units_at.get(town.id, [])
        creator = operators.get(town.id)
        of_type: dict[str, list[int]] = defaultdict(list)
        for unit_id in units:
            of_type[kinds[unit_id]].append(unit_id)
        themes = [t for t in THEMES if of_type.get(t.lead)]
        if len(units) < 2 or creator is None or not themes:
            continue
        for month in range(12):
            for n in range(OPERATIONS_PER_MONTH):
                day = (until - timedelta(days=30 * (12 - month) - 14 * n + 3)).astimezone(LOCAL_TZ)
                hour, minute, length = SHIFTS[int(rng.integers(len(SHIFTS)))]
                starts = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
                ends = starts + length
                theme = themes[int(rng.integers(len(themes)))]
                lead = of_type[theme.lead][0]
                joins = [of_type[t][0] for t in theme.joins if of_type.get(t)]
                if not joins:
                    joins = [u for u in units if u != lead][:1]
                done = ends + timedelta(minutes=30) <= until
                serial += 1
                per_year[starts.year] += 1
                counts = [
                    (name, measure, int(rng.integers(3, 40))) for name, measure in theme.counts
                ]
                operation = {
                    "code": f"LH-{starts.year}-{per_year[starts.year]:04d}",
                    "name": theme.name,
                    "org_id": town.id, "org_path": town.path, "town_id": town.id,
                    "lead_unit_id": lead, "unit_ids": joins,
                    "people": int(rng.integers(8, 60)), "place": f"{town.name}重点区域",
                    "lat": None, "lng": None, "area": None, "starts_at": starts.astimezone(UTC),
                    "ends_at": ends.astimezone(UTC),
                    "status": "done" if done else "planned",
                    "results": "，".join(f"{n}{v}{m}" for n, m, v in counts) if done else "",
                    "quantities": [{"name": n, "unit": m, "value": v}
                                   for n, m, v in counts] if done else [],
                    "created_by": creator, "created_at": (starts - timedelta(days=3)).astimezone(UTC),
                    "done_by": creator if done else None,
                    "done_at": (ends + timedelta(minutes=30)).astimezone(UTC) if done else None,
                    "version": 2 if done else 1,
                }  # fmt: skip
                starts = starts.astimezone(UTC)
                op_id = session.execute(
                    insert(JointOperation).values(**operation).returning(JointOperation.id)
                ).scalar_one()
                closed = session.scalars(
                    select(Event.id)
                    .where(Event.town_id == town.id, Event.status == "closed",
                           Event.closed_at >= starts, Event.closed_at < starts + timedelta(days=2))
                    .order_by(Event.id).limit(int(rng.integers(2, 7)))
                ).all() if done else []  # fmt: skip
                if closed:
                    session.execute(insert(JointOperationEvent), [
                        {"operation_id": op_id, "event_id": e, "linked_by": creator,
                         "linked_at": operation["done_at"]} for e in closed
                    ])  # fmt: skip
                logs = [{"operation_id": op_id, "at": operation["created_at"], "actor_id": creator,
                         "action": "plan", "note": "", "payload": {}}]  # fmt: skip
                if done:
                    logs.append({"operation_id": op_id, "at": operation["done_at"],
                                 "actor_id": creator, "action": "record", "note": "",
                                 "payload": {"events": list(closed)}})  # fmt: skip
                session.execute(insert(JointOperationLog), logs)
    return serial
