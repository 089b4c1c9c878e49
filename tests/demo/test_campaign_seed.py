"""The demo's campaigns: 文明城市创建 with the seed article's figures as its targets (and three
others), its events tagged and its closings counted once the year's events are filed, with the
demolished areas and removed parking spaces entered, so the dashboard is alive."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from fengqiao.campaigns.models import (
    Campaign,
    CampaignEvent,
    CampaignMeasure,
    CampaignProgress,
    CampaignQuantity,
)
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.demo.campaigns import CIVILISED_CITY, fill_campaigns
from fengqiao.demo.events import seed_events
from fengqiao.demo.seed import seed
from fengqiao.events.models import Event

UNTIL = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ARTICLE = {
    ("整治小餐饮店", "家"): 340, ("整治占道经营", "起"): 3000, ("取缔流动摊贩", "处"): 400,
    ("处理蜂窝煤炉", "只"): 200, ("拆除违法建筑", "处"): 23, ("拆除违建面积", "m²"): 32034,
    ("清理僵尸车", "辆"): 1561, ("取消非法车位", "个"): 112,
}  # fmt: skip


def test_the_civilised_city_campaign_has_the_articles_targets_and_live_figures(
    fresh_db: Database,
) -> None:
    report = seed(db=fresh_db, scale="small", password="pw", now=UNTIL)
    assert report.campaigns == 4
    seed_events(db=fresh_db, count=3000, until=UNTIL)
    filled = fill_campaigns(database=fresh_db)
    with fresh_db.session() as db:
        campaign = db.scalars(select(Campaign).where(Campaign.name == CIVILISED_CITY)).one()
        measures = list(db.scalars(select(CampaignMeasure).where(
            CampaignMeasure.campaign_id == campaign.id).order_by(CampaignMeasure.position)))  # fmt: skip
        assert {(m.name, m.unit): m.target for m in measures} == ARTICLE
        start = datetime.combine(campaign.start_date, time(0), LOCAL_TZ)
        end = datetime.combine(campaign.end_date + timedelta(days=1), time(0), LOCAL_TZ)
        in_period = (Event.created_at >= start, Event.created_at < end)
        tagged = db.scalar(select(func.count()).select_from(CampaignEvent).where(
            CampaignEvent.campaign_id == campaign.id)) or 0  # fmt: skip
        expected = db.scalar(select(func.count()).select_from(Event).where(
            Event.category_code.in_(campaign.classes), *in_period)) or 0  # fmt: skip
        assert tagged == expected > 0 and filled.tagged >= tagged

        def done(name: str) -> float:
            measure = next(m for m in measures if m.name == name)
            return float(db.scalar(select(func.sum(CampaignProgress.done)).where(
                CampaignProgress.measure_id == measure.id)) or 0)  # fmt: skip

        closed_stalls = db.scalar(select(func.count()).select_from(Event).where(
            Event.category_code == "0701", Event.status == "closed", *in_period)) or 0  # fmt: skip
        assert done("整治占道经营") == closed_stalls > 0
        area = next(m for m in measures if m.unit == "m²")
        entered = db.scalar(select(func.sum(CampaignQuantity.quantity)).where(
            CampaignQuantity.measure_id == area.id)) or 0  # fmt: skip
        demolished = db.scalar(select(func.count()).select_from(Event).where(
            Event.category_code == "0801", Event.status == "closed", *in_period)) or 0  # fmt: skip
        assert done("拆除违建面积") == entered and (demolished == 0 or entered >= 60 * demolished)
        assert done("取消非法车位") <= done("清理僵尸车")
        # The town's own campaign covers only the demo town.
        town_campaign = db.scalars(
            select(Campaign).where(Campaign.name == "背街小巷环境整治")
        ).one()
        assert len(town_campaign.town_ids) == 1


def test_the_civilised_city_campaign_lands_near_its_targets_not_beyond(
    fresh_db: Database,
) -> None:
    """More closings than the targets (here: targets of half the closings, as the full demo's
    year of events is to the article's figures): the campaign runs from September (the article's
    "自9月份以来") and counts 92-105 % of each target by today, the other closings removed from it
    by hand with a reason; the demolished area and the parking spaces aim at theirs too."""
    seed(db=fresh_db, scale="small", password="pw", now=UNTIL)
    seed_events(db=fresh_db, count=3000, until=UNTIL)
    with fresh_db.transaction() as db:
        campaign = db.scalars(select(Campaign).where(Campaign.name == CIVILISED_CITY)).one()
        assert campaign.start_date == date(2026, 9, 1)
        start = datetime.combine(campaign.start_date, time(0), LOCAL_TZ)
        end = datetime.combine(campaign.end_date + timedelta(days=1), time(0), LOCAL_TZ)
        measures = list(db.scalars(select(CampaignMeasure).where(
            CampaignMeasure.campaign_id == campaign.id)))  # fmt: skip
        for measure in measures:
            closed = db.scalar(select(func.count()).select_from(Event).where(
                Event.category_code.in_(measure.classes), Event.status == "closed",
                Event.created_at >= start, Event.created_at < end)) or 0  # fmt: skip
            half = max(1, closed // 2)
            measure.target = {"m²": 500.0 * half, "个": float(max(1, half // 2))}.get(
                measure.unit, float(half)
            )
        targets = {m.id: m.target for m in measures}
    fill_campaigns(database=fresh_db)
    with fresh_db.session() as db:
        for measure_id, target in targets.items():
            done = float(db.scalar(select(func.sum(CampaignProgress.done)).where(
                CampaignProgress.measure_id == measure_id)) or 0)  # fmt: skip
            assert 0.92 * target - 1 <= done <= 1.05 * target + 1, (measure_id, done, target)
        removed = list(
            db.scalars(
                select(CampaignEvent).where(
                    CampaignEvent.campaign_id == campaign.id, CampaignEvent.removed_at.is_not(None)
                )
            )
        )
        assert removed and all(t.removed_by == campaign.created_by for t in removed)


def test_the_other_campaigns_land_near_where_their_period_says(fresh_db: Database) -> None:
    """The demo's other campaigns (their targets here: a quarter of their classes' closings) count
    no more than their share of the days gone calls for, give or take (80-110 %), the rest
    removed by hand with a reason: no 1,815 % of a target on the dashboard or the bulletin."""
    seed(db=fresh_db, scale="small", password="pw", now=UNTIL)
    seed_events(db=fresh_db, count=3000, until=UNTIL)
    today = UNTIL.astimezone(LOCAL_TZ).date()
    expected: dict[int, float] = {}
    with fresh_db.transaction() as db:
        others = list(db.scalars(select(Campaign).where(Campaign.name != CIVILISED_CITY)))
        assert others
        for other in others:
            days = max((other.end_date - other.start_date).days, 1)
            gone = min(max((today - other.start_date).days, 0), days) / days
            for measure in db.scalars(select(CampaignMeasure).where(
                    CampaignMeasure.campaign_id == other.id, CampaignMeasure.unit != "m²")):  # fmt: skip
                closed = db.scalar(select(func.count()).select_from(Event).where(
                    Event.category_code.in_(measure.classes), Event.status == "closed",
                    Event.created_at >= datetime.combine(other.start_date, time(0), LOCAL_TZ),
                )) or 0  # fmt: skip
                measure.target = float(max(4, closed // 4))
                expected[measure.id] = gone * measure.target
    fill_campaigns(database=fresh_db)
    with fresh_db.session() as db:
        for measure_id, share in expected.items():
            done = float(db.scalar(select(func.sum(CampaignProgress.done)).where(
                CampaignProgress.measure_id == measure_id)) or 0)  # fmt: skip
            assert done <= 1.1 * share + 1, (measure_id, done, share)
        removed = db.scalar(select(func.count()).select_from(CampaignEvent).where(
            CampaignEvent.campaign_id.in_([o.id for o in others]),
            CampaignEvent.removed_at.is_not(None)))  # fmt: skip
        assert removed
