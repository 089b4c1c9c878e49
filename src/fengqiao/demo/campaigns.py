"""The demo's campaigns (专项整治): 文明城市创建 with the seed article's figures as its targets,
and a few others, defined through the same domain function as the API when the district is
seeded; once the year's events are filed, `fill_campaigns` tags them, records the demolished
areas and the parking spaces removed (seeded random), and counts the closings into the rollup,
so the dashboard is alive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.auth.service import load_principal
from fengqiao.campaigns.models import (
    Campaign,
    CampaignCursor,
    CampaignEvent,
    CampaignMeasure,
    CampaignQuantity,
)
from fengqiao.campaigns.progress import local_day
from fengqiao.campaigns.schemas import CampaignIn
from fengqiao.campaigns.service import create_campaign, untag_event
from fengqiao.campaigns.tagging import CURSOR, backfill, count_closed
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal

# (name, description, days before today it began, days after today it ends, the demo town's
# only?, measures: (name, unit, classes, target, default quantity or None)).
CIVILISED_CITY = "文明城市创建专项整治"
CAMPAIGNS = (
    (CIVILISED_CITY,
     "依托“四个平台”开展文明城市创建，整治小餐饮店、占道经营、流动摊贩、蜂窝煤炉和违法建筑，"
     "清理僵尸车、取消非法车位。", 120, 45, False, (
         ("整治小餐饮店", "家", ("0501",), 340, None),
         ("整治占道经营", "起", ("0701",), 3000, None),
         ("取缔流动摊贩", "处", ("0702",), 400, None),
         ("处理蜂窝煤炉", "只", ("0404",), 200, None),
         ("拆除违法建筑", "处", ("0801",), 23, None),
         ("拆除违建面积", "m²", ("0801",), 32034, None),
         ("清理僵尸车", "辆", ("0705",), 1561, None),
         ("取消非法车位", "个", ("0705",), 112, 0.0),
     )),
    ("五水共治河道整治", "河道水体污染和渣土泥浆偷倒专项整治。", 200, 160, False, (
        ("整治河道污染", "处", ("0901",), 260, None),
        ("查处渣土泥浆", "起", ("0803",), 40, None),
    )),
    ("出租房屋消防安全整治", "出租房屋消防隐患、消防通道堵塞和电动自行车违规充电整治。", 60, 30,
     False, (
        ("整改出租房消防隐患", "处", ("0406",), 500, None),
        ("清理消防通道", "处", ("0405",), 300, None),
        ("纠正违规充电", "起", ("0407",), 400, None),
     )),
    ("背街小巷环境整治", "本街道背街小巷乱堆乱放、违规广告整治。", 90, 20, True, (
        ("清理乱堆乱放", "处", ("0703",), 150, None),
        ("拆除违规广告", "个", ("0704",), 80, None),
    )),
)  # fmt: skip
AREA_M2 = (60.0, 2400.0)  # a demolished illegal building's area, m² (uniform)
UNTAG_REASON = "非本次文明城市创建整治内容，移出统计"
ARTICLE_SHARE = (0.92, 1.05)  # how far 文明城市创建 gets towards each target by today
# How far the other campaigns get towards the share of their targets their days gone call for.
PERIOD_SHARE = (0.8, 1.1)
OTHER_UNTAG_REASON = "非本次专项整治内容，移出统计"


@dataclass
class CampaignsReport:
    campaigns: int = 0
    tagged: int = 0
    counted: int = 0


def seed_campaigns(*, db: Session, now: datetime) -> CampaignsReport:
    """Define the demo's campaigns (the district operator's, and one of the demo town)."""
    users = {u.username: u for u in db.scalars(select(User).where(
        User.username.in_(("demo_district_operator", "demo_operator"))))}  # fmt: skip
    if len(users) < 2:
        return CampaignsReport()
    today = local_day(now)
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
    made = 0
    for name, text, began, ends, town_only, measures in CAMPAIGNS:
        user = users["demo_operator" if town_only else "demo_district_operator"]
        principal = load_principal(db=db, user_id=user.id)
        assert principal is not None
        org_id = principal.home_org_id if town_only else district.id
        classes = list(dict.fromkeys(c for m in measures for c in m[2]))
        start = today - timedelta(days=began)
        if name == CIVILISED_CITY and date(today.year, 9, 1) < today:
            start = date(today.year, 9, 1)  # the article: "自9月份以来"
        data = CampaignIn.model_validate({
            "name": name, "description": text, "org_id": org_id, "classes": classes,
            "start_date": str(start),
            "end_date": str(today + timedelta(days=ends)),
            "measures": [{"name": n, "unit": u, "classes": list(c), "target": t,
                          "default_quantity": d} for n, u, c, t, d in measures],
        })  # fmt: skip
        create_campaign(db=db, principal=principal, data=data, now=now)
        made += 1
    return CampaignsReport(campaigns=made)


def fill_campaigns(*, database: Database, seed: int = 20171018) -> CampaignsReport:
    """Tag the filed events to the demo's campaigns, record demolished areas and parking spaces
    removed, and count the closings (the `campaigns` job's work, done at once)."""
    rng = np.random.default_rng(seed)
    report = CampaignsReport()
    with database.transaction() as db:
        campaigns = list(db.scalars(select(Campaign).order_by(Campaign.id)))
        report.campaigns = len(campaigns)
        if not campaigns:
            return report
        for campaign in campaigns:
            report.tagged += backfill(db, campaign=campaign, now=campaign.created_at)
        last = db.scalar(select(func.max(Event.id))) or 0
        cursor = db.get(CampaignCursor, CURSOR)
        if cursor is None:
            db.add(CampaignCursor(name=CURSOR, last_event_id=last))
        else:
            cursor.last_event_id = max(cursor.last_event_id, last)
        _near_the_article(db, rng)
        _entered_quantities(db, rng)
    while True:
        with database.transaction() as db:
            counted = count_closed(db, batch=20000)
        report.counted += counted
        if counted < 20000:
            break
    return report


def _near_the_article(db: Session, rng: np.random.Generator) -> None:
    """Each demo campaign counts a share of its classes' closings, as an operator keeps only the
    campaign's own work: 文明城市创建 lands near the article's figure by today (92-105 % of each
    target), the others near where their period says they should be by now (80-110 % of the
    target's share of the days gone). The other closed events are removed from the campaign by
    hand, with a reason. Too few closings (a small demo): all are kept."""
    for campaign in db.scalars(select(Campaign).order_by(Campaign.id)):
        operator = load_principal(db=db, user_id=campaign.created_by)
        assert operator is not None
        if campaign.name == CIVILISED_CITY:
            share, reason = float(rng.uniform(*ARTICLE_SHARE)), UNTAG_REASON
        else:
            today = campaign.created_at.astimezone(LOCAL_TZ).date()
            days = max((campaign.end_date - campaign.start_date).days, 1)
            gone = min(max((today - campaign.start_date).days, 0), days) / days
            share, reason = gone * float(rng.uniform(*PERIOD_SHARE)), OTHER_UNTAG_REASON
        _keep_a_share(db, rng, operator, campaign, share, reason)
    db.flush()


def _keep_a_share(
    db: Session,
    rng: np.random.Generator,
    operator: Principal,
    campaign: Campaign,
    share: float,
    reason: str,
) -> None:
    """Keep about `share` of each count measure's target among its closed events; untag the rest."""
    for measure in db.scalars(select(CampaignMeasure).where(
            CampaignMeasure.campaign_id == campaign.id,
            CampaignMeasure.unit != "m²", CampaignMeasure.default_quantity != 0)):  # fmt: skip
        tags = list(db.scalars(
            select(CampaignEvent)
            .join(Event, Event.id == CampaignEvent.event_id)
            .where(CampaignEvent.campaign_id == campaign.id, CampaignEvent.removed_at.is_(None),
                   Event.category_code.in_(measure.classes), Event.status == "closed")
            .order_by(CampaignEvent.event_id)
        ))  # fmt: skip
        keep = round(measure.target * share)
        if len(tags) <= keep:
            continue
        kept = set(rng.choice(len(tags), size=keep, replace=False).tolist())
        ids = [t.event_id for t in tags]
        found = db.execute(select(Event.id, Event.code).where(Event.id.in_(ids)))
        codes = {event_id: code for event_id, code in found}
        for index, tag in enumerate(tags):
            if index not in kept:
                untag_event(db=db, principal=operator, campaign=campaign,
                            code=codes[tag.event_id], reason=reason,
                            now=campaign.created_at)  # fmt: skip


def _entered_quantities(db: Session, rng: np.random.Generator) -> None:
    """The quantities a handler would enter at closing: each demolition's area in m², and a
    parking space removed for some of the zombie cars."""
    rows = []
    for measure in db.scalars(select(CampaignMeasure).where(CampaignMeasure.unit.in_(("m²", "个")),
                                                            CampaignMeasure.default_quantity == 0)):  # fmt: skip
        closed = db.execute(
            select(Event.id, Event.closed_at)
            .join(CampaignEvent, CampaignEvent.event_id == Event.id)
            .where(CampaignEvent.campaign_id == measure.campaign_id,
                   CampaignEvent.removed_at.is_(None),
                   Event.category_code.in_(measure.classes), Event.status == "closed")
            .order_by(Event.id)
        ).all()  # fmt: skip
        # Aimed at the target (ARTICLE_SHARE of it): the areas scaled to it (each at most
        # half again the usual largest), the parking spaces removed by that many cars.
        aim = measure.target * rng.uniform(*ARTICLE_SHARE)
        areas = rng.uniform(*AREA_M2, size=len(closed))
        scale = min(1.5, aim / float(areas.sum())) if len(closed) else 1.0
        spaces = set(rng.choice(len(closed), size=min(len(closed), round(aim)),
                                replace=False).tolist())  # fmt: skip
        for index, (event_id, closed_at) in enumerate(closed):
            if measure.unit == "m²":
                quantity = float(round(areas[index] * scale))
            elif index in spaces:
                quantity = 1.0
            else:
                continue
            rows.append({"campaign_id": measure.campaign_id, "event_id": event_id,
                         "measure_id": measure.id, "quantity": quantity, "entered_by": None,
                         "entered_at": closed_at})  # fmt: skip
    if rows:
        db.execute(insert(CampaignQuantity), rows)
