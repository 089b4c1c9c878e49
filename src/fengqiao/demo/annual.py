"""The demo's annual assessment: last year's scheme, every town leader's evaluation of the
agencies dispatched to their town (and the district's of its departments), the benchmark towns
confirmed by the district leader where the year's data gives enough towns a standing, and the
year closed; this year's scheme with the evaluations entered so far. Deterministic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.assessment import annual, annual_service
from fengqiao.assessment.annual_models import AnnualScheme
from fengqiao.assessment.annual_year import compute
from fengqiao.auth.models import User, UserRole
from fengqiao.auth.service import load_principal
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal


@dataclass
class AnnualReport:
    schemes: int
    evaluations: int
    benchmarks: int  # towns on last year's confirmed list (0: not enough data to confirm)


def _principal(db: Session, username: str) -> Principal | None:
    user_id = db.scalar(select(User.id).where(User.username == username))
    return None if user_id is None else load_principal(db=db, user_id=user_id)


def _evaluate(db: Session, *, year: int, share: float, rng: np.random.Generator,
              at: datetime) -> int:  # fmt: skip
    """Each area's first leader scores `share` of the departments it judges, 70-98."""
    units = db.execute(
        select(Unit.id, Unit.org_unit_id)
        .where(Unit.category.in_(tuple(annual.DEPARTMENT_CATEGORIES)))
        .order_by(Unit.id)
    ).all()
    first_leader: dict[int, int] = {}
    for user_id, home in db.execute(
        select(User.id, User.home_org_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "leader", User.is_active.is_(True))
        .order_by(User.id)
    ):
        first_leader.setdefault(home, user_id)
    leaders: dict[int, Principal | None] = {}
    made = 0
    for unit_id, org_id in units:
        score = round(float(rng.uniform(70, 98)) * 2) / 2
        if rng.random() >= share or org_id not in first_leader:
            continue
        if org_id not in leaders:
            leaders[org_id] = load_principal(db=db, user_id=first_leader[org_id])
        leader = leaders[org_id]
        if leader is None:
            continue
        annual_service.evaluate(db=db, principal=leader, year=year, unit_id=unit_id, score=score,
                                note=None, version=0, now=at)  # fmt: skip
        made += 1
    return made


def seed_annual(*, database: Database, now: datetime, settings: Settings,
                seed: int = 20171018) -> AnnualReport:  # fmt: skip
    """Last year's closed assessment and this year's open one (nothing if already there)."""
    rng = np.random.default_rng(seed)
    this_year = now.astimezone(LOCAL_TZ).year
    last_year = this_year - 1
    with database.session() as db:
        boss = _principal(db, "demo_district_leader")
        if boss is None or db.get(AnnualScheme, last_year) is not None:
            return AnnualReport(0, 0, 0)
        count = min(annual.DEFAULT_BENCHMARK_COUNT,
                    len(db.scalars(select(OrgUnit.id).where(OrgUnit.kind == "town")).all()))  # fmt: skip
    made = benchmarks = 0
    for year, share in ((last_year, 1.0), (this_year, 0.6)):
        at = min(now, datetime(year, 12, 28, 10, tzinfo=LOCAL_TZ)) - timedelta(minutes=5)
        with database.transaction() as db:
            annual_service.save_scheme(
                db=db, principal=boss, year=year, weights=annual.DEFAULT_WEIGHTS,
                department_weights=annual.DEFAULT_DEPARTMENT_WEIGHTS,
                benchmark_weights=annual.DEFAULT_BENCHMARK_WEIGHTS, benchmark_count=count,
                version=0, now=at,
            )  # fmt: skip
            made += _evaluate(db, year=year, share=share, rng=rng, at=at)
    with database.transaction() as db:
        result = compute(db, principal=boss, year=last_year,
                         local_today=now.astimezone(LOCAL_TZ).date(), settings=settings)  # fmt: skip
        ranked = sorted((r for r in result.benchmarks if r.total is not None and r.total > 0),
                        key=lambda r: r.rank or 0)  # fmt: skip
        at = min(now, datetime(last_year, 12, 30, 16, tzinfo=LOCAL_TZ))
        if len(ranked) >= count:
            annual_service.confirm_benchmarks(
                db=db, principal=boss, year=last_year, town_ids=[r.id for r in ranked[:count]],
                standings=result.benchmarks, count=count, note="经区委区政府研究审定", now=at,
            )  # fmt: skip
            benchmarks = count
        scheme = annual_service.get_scheme(db, last_year)
        assert scheme is not None
        annual_service.close_year(db=db, principal=boss, year=last_year, version=scheme.version,
                                  now=at + timedelta(minutes=30))  # fmt: skip
    return AnnualReport(2, made, benchmarks)
