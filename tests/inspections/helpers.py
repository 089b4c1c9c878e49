"""Helpers of the inspections' tests: the demo town, its group, a clean month, a score sheet."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.inspections.models import InspectionRound, InspectionRoundItem
from fengqiao.org.models import OrgUnit
from fengqiao.standards.service import current, items_of

Auth = Any


def demo_town(db: Session) -> OrgUnit:
    """The town of demo_operator (the small district's one town)."""
    home = db.scalar(select(User.home_org_id).where(User.username == "demo_operator"))
    town = db.get(OrgUnit, home)
    assert town is not None and town.kind == "town"
    return town


def free_month(db: Session, town: OrgUnit, now: datetime) -> str:
    """The month of `now`, without a round of the town (the demo holds the rounds of the months
    before the day it ran, which may be later than the tests' clock)."""
    month = now.astimezone(LOCAL_TZ).strftime("%Y-%m")
    year, number = (int(p) for p in month.split("-"))
    ids = list(db.scalars(select(InspectionRound.id).where(
        InspectionRound.town_id == town.id, InspectionRound.year == year,
        InspectionRound.month == number,
    )))  # fmt: skip
    if ids:
        db.execute(delete(InspectionRoundItem).where(InspectionRoundItem.round_id.in_(ids)))
        db.execute(delete(InspectionRound).where(InspectionRound.id.in_(ids)))
        db.commit()
    return month


def sheet(db: Session, failed: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """Every item of the standard in force met, but those at the given positions."""
    version = current(db)
    assert version is not None
    failed = failed or {}
    return [{"item_id": i.id, "result": failed.get(n, "met"),
             **({"note": "问题说明"} if n in failed else {})}
            for n, i in enumerate(items_of(db, version.id))]  # fmt: skip


def group_of(api: TestClient, auth: Auth, town_id: int) -> dict[str, Any]:
    groups = api.get("/api/v1/inspections/groups", headers=auth("demo_operator")).json()
    return next(g for g in groups if any(t["id"] == town_id for t in g["towns"]))
