"""Leaflet campaigns (宣传折页): a run of printed leaflets for an area, the households of each
grid a grid worker reached (once per household per campaign), and the coverage per grid against
the households the org tree counts. They flush, never commit."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fengqiao.auth.models import GridAssignment
from fengqiao.errors import Problem, conflict, invalid, not_found
from fengqiao.notices.models import LeafletCampaign, LeafletDelivery, Notice
from fengqiao.notices.schemas import CampaignIn, DeliveryIn
from fengqiao.notices.service import area_in_scope, names, out_of_scope
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal, in_scope

CAMPAIGN_ROLES = ("operator", "admin")
DELIVERY_ROLES = ("grid_worker", "grid_leader", "operator", "admin")
READER_ROLES = ("grid_worker", "grid_leader", "operator", "leader", "admin")
_SPACE = re.compile(r"\s+")


def household_key(text: str) -> str:
    """The door as a key: full-width forms folded (ＮＦＫＣ), spaces dropped, case folded, so
    "3幢 201室" and "３幢201室" are one household."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def create_campaign(*, db: Session, principal: Principal, data: CampaignIn,
                    now: datetime) -> LeafletCampaign:  # fmt: skip
    """A run of leaflets for an area in scope, named by itself or after its notice."""
    principal.require_role(*CAMPAIGN_ROLES)
    unit = area_in_scope(db, principal, data.org_id, "org_id")
    name = data.name.strip() if data.name else None
    if data.notice_id is not None:
        notice = db.get(Notice, data.notice_id)
        if notice is None or not principal.covers(notice.org_path):
            raise invalid("notice_id", f"no notice {data.notice_id} in your area",
                          f"本辖区没有编号为 {data.notice_id} 的通知")  # fmt: skip
        name = name or notice.title
    assert name is not None  # the schema asks for a name or a notice
    campaign = LeafletCampaign(
        org_id=unit.id, org_path=unit.path, name=name, notice_id=data.notice_id,
        copies=data.copies, created_by=principal.user_id, created_at=now,
    )  # fmt: skip
    db.add(campaign)
    db.flush()
    return campaign


def _campaign_scope(principal: Principal) -> Any:
    # A grid worker hands out the town's or the district's leaflets in their own grids: a
    # campaign reaches the caller when its area is above, at or below their area.
    return in_scope(principal, LeafletCampaign.org_path, with_ancestors=True)


def get_campaign(db: Session, principal: Principal, campaign_id: int) -> LeafletCampaign:
    principal.require_role(*READER_ROLES)
    campaign = db.get(LeafletCampaign, campaign_id)
    if campaign is None or not (
        principal.covers(campaign.org_path) or principal.home_path.startswith(campaign.org_path)
    ):
        raise not_found("leaflet campaign", "宣传折页发放")
    return campaign


def _prefix(principal: Principal, campaign: LeafletCampaign) -> str:
    """The grids a caller counts for a campaign: the smaller of its area and theirs."""
    a, b = campaign.org_path, principal.home_path
    return a if a.startswith(b) else b


def list_campaigns(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """The campaigns reaching the caller's area, newest first, with what the caller's area did."""
    principal.require_role(*READER_ROLES)
    rows = list(db.scalars(
        select(LeafletCampaign).where(_campaign_scope(principal))
        .order_by(LeafletCampaign.id.desc()).limit(100)
    ))  # fmt: skip
    return [campaign_out(db, principal, c) for c in rows]


def campaign_out(db: Session, principal: Principal, campaign: LeafletCampaign) -> dict[str, Any]:
    prefix = _prefix(principal, campaign)
    unit = db.get(OrgUnit, campaign.org_id)
    assert unit is not None
    households = db.scalar(
        select(func.coalesce(func.sum(OrgUnit.households), 0)).where(
            OrgUnit.kind == "grid", OrgUnit.path.startswith(prefix, autoescape=True)
        )
    )
    delivered = db.scalar(
        select(func.count())
        .select_from(LeafletDelivery)
        .where(
            LeafletDelivery.campaign_id == campaign.id,
            LeafletDelivery.grid_path.startswith(prefix, autoescape=True),
        )
    )
    people = names(db, [campaign.created_by])
    return {
        "id": campaign.id, "org": {"id": unit.id, "name": unit.name, "kind": unit.kind},
        "name": campaign.name, "notice_id": campaign.notice_id, "copies": campaign.copies,
        "created_by": {"id": campaign.created_by, "name": people.get(campaign.created_by, "")},
        "created_at": campaign.created_at, "delivered": delivered or 0,
        "households": int(households or 0),
    }  # fmt: skip


def _grid_for(db: Session, principal: Principal, campaign: LeafletCampaign,
              grid_id: int) -> OrgUnit:  # fmt: skip
    """A grid of the campaign's area the caller works in (their area, or a grid they serve)."""
    grid = db.get(OrgUnit, grid_id)
    if grid is None or grid.kind != "grid":
        raise invalid("grid_id", f"no grid with id {grid_id}", f"网格 {grid_id} 不存在")
    if not grid.path.startswith(campaign.org_path):
        raise invalid("grid_id", "the grid is outside the campaign's area",
                      "该网格不在本次宣传折页的发放范围内")  # fmt: skip
    serves = db.scalar(select(GridAssignment.grid_id).where(
        GridAssignment.user_id == principal.user_id, GridAssignment.grid_id == grid.id
    ))  # fmt: skip
    if not principal.covers(grid.path) and serves is None:
        raise out_of_scope()
    return grid


def _twice(household: str) -> Problem:
    return conflict(
        "household-reached", "Household already reached", "该户已发放",
        f"{household} has had this campaign's leaflet already",
        f"{household} 已发放过本次宣传折页，每户只登记一次",
    )  # fmt: skip


def deliver(*, db: Session, principal: Principal, campaign: LeafletCampaign, data: DeliveryIn,
            now: datetime) -> LeafletDelivery:  # fmt: skip
    """Record one household reached; a second record of the same door is 409."""
    principal.require_role(*DELIVERY_ROLES)
    grid = _grid_for(db, principal, campaign, data.grid_id)
    household = _SPACE.sub(" ", data.household.strip())
    key = household_key(household)
    if not key:
        raise invalid("household", "empty", "请填写门牌或地址")
    exists = db.scalar(select(LeafletDelivery.id).where(
        LeafletDelivery.campaign_id == campaign.id, LeafletDelivery.grid_id == grid.id,
        LeafletDelivery.household_key == key,
    ))  # fmt: skip
    if exists is not None:
        raise _twice(household)
    row = LeafletDelivery(
        campaign_id=campaign.id, grid_id=grid.id, grid_path=grid.path, household=household,
        household_key=key, copies=data.copies, delivered_by=principal.user_id, delivered_at=now,
    )  # fmt: skip
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError as exc:  # the same door recorded at the same moment by someone else
        raise _twice(household) from exc
    return row


def deliveries(*, db: Session, principal: Principal, campaign: LeafletCampaign,
               grid_id: int | None, offset: int, limit: int
               ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """The households reached in the caller's part of the campaign's area, newest first."""
    where = [
        LeafletDelivery.campaign_id == campaign.id,
        LeafletDelivery.grid_path.startswith(_prefix(principal, campaign), autoescape=True),
    ]
    if grid_id is not None:
        where.append(LeafletDelivery.grid_id == grid_id)
    total = db.scalar(select(func.count()).select_from(LeafletDelivery).where(*where)) or 0
    rows = list(
        db.scalars(
            select(LeafletDelivery)
            .where(*where)
            .order_by(LeafletDelivery.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    return [delivery_out(db, r) for r in rows], total


def delivery_out(db: Session, row: LeafletDelivery) -> dict[str, Any]:
    grid = db.get(OrgUnit, row.grid_id)
    assert grid is not None
    people = names(db, [row.delivered_by])
    return {
        "id": row.id, "campaign_id": row.campaign_id,
        "grid": {"id": grid.id, "name": grid.name, "kind": grid.kind},
        "household": row.household, "copies": row.copies,
        "delivered_by": {"id": row.delivered_by, "name": people.get(row.delivered_by, "")},
        "delivered_at": row.delivered_at,
    }  # fmt: skip


def households(*, db: Session, principal: Principal, campaign: LeafletCampaign,
               grid_id: int) -> list[dict[str, Any]]:  # fmt: skip
    """The doors of a grid known from any campaign (to pick from), each marked when this
    campaign reached it."""
    grid = _grid_for(db, principal, campaign, grid_id)
    rows = db.execute(
        select(LeafletDelivery.household_key, func.min(LeafletDelivery.household),
               func.max(case((LeafletDelivery.campaign_id == campaign.id, 1), else_=0)))
        .where(LeafletDelivery.grid_id == grid.id)
        .group_by(LeafletDelivery.household_key).order_by(func.min(LeafletDelivery.household))
        .limit(500)
    ).all()  # fmt: skip
    return [{"household": r[1], "delivered": bool(r[2])} for r in rows]


def coverage(db: Session, principal: Principal, campaign: LeafletCampaign) -> dict[str, Any]:
    """Per grid of the caller's part of the campaign's area: households reached of the
    households the grid has, and the totals."""
    prefix = _prefix(principal, campaign)
    reached: dict[int, int] = dict(db.execute(
        select(LeafletDelivery.grid_id, func.count()).where(
            LeafletDelivery.campaign_id == campaign.id,
            LeafletDelivery.grid_path.startswith(prefix, autoescape=True),
        ).group_by(LeafletDelivery.grid_id)
    ).all())  # fmt: skip
    grids = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.households, OrgUnit.parent_id)
        .where(OrgUnit.kind == "grid", OrgUnit.path.startswith(prefix, autoescape=True),
               or_(OrgUnit.valid_to.is_(None), OrgUnit.id.in_(list(reached) or [0])))
        .order_by(OrgUnit.code)
    ).all()  # fmt: skip
    villages: dict[int, str] = dict(db.execute(
        select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_({g.parent_id for g in grids} or {0}))
    ).all())  # fmt: skip
    rows: list[dict[str, Any]] = []
    for g in grids:
        count, total = reached.get(g.id, 0), g.households or 0
        rows.append({
            "grid": {"id": g.id, "name": g.name, "kind": "grid"},
            "village": villages.get(g.parent_id, ""), "households": total, "reached": count,
            "rate": round(count / total, 4) if total else None,
        })  # fmt: skip
    # Grids reached first, then by code: the worked grids lead a district-wide list.
    rows.sort(key=lambda r: r["reached"] == 0)
    households = sum(r["households"] for r in rows)
    reached_all = sum(r["reached"] for r in rows)
    return {
        "campaign": {"id": campaign.id, "name": campaign.name, "copies": campaign.copies},
        "households": households, "reached": reached_all,
        "rate": round(reached_all / households, 4) if households else None, "grids": rows,
    }  # fmt: skip


def my_grids(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """The grids a grid worker records in: the grids they serve, else the grids of their area."""
    ids = list(db.scalars(
        select(GridAssignment.grid_id).where(GridAssignment.user_id == principal.user_id)
    ))  # fmt: skip
    query = select(OrgUnit.id, OrgUnit.name, OrgUnit.households).where(OrgUnit.kind == "grid")
    if ids:
        query = query.where(OrgUnit.id.in_(ids))
    else:
        query = query.where(in_scope(principal, OrgUnit.path)).limit(200)
    return [{"grid": {"id": r.id, "name": r.name, "kind": "grid"}, "households": r.households or 0}
            for r in db.execute(query.order_by(OrgUnit.code))]  # fmt: skip
