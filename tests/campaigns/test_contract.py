"""The campaigns' contract for the other parts of issue 20: `town_progress` (annual
assessment) and `gaps` (the meetings' agenda), computed from the progress rollup that the
tagging job fills from events filed and closed through the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.campaigns import models as m
from fengqiao.campaigns.schemas import CampaignIn, QuantitiesIn
from fengqiao.campaigns.service import create_campaign, gaps, set_quantities, town_progress
from fengqiao.campaigns.tagging import run
from fengqiao.clock import FixedClock
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from tests.campaigns.conftest import principal
from tests.events.conftest import START, Desk, World

TODAY = date(2026, 12, 1)  # the local day of tests.events.conftest.START


def clear_campaigns(db: Session) -> None:
    """Only a test's own campaigns count (the demo seeds campaigns of its own)."""
    for table in (m.CampaignProgress, m.CampaignQuantity, m.CampaignEvent, m.CampaignLog,
                  m.CampaignMeasure, m.Campaign):  # fmt: skip
        db.execute(delete(table))
    db.commit()


def home_town(db: Session, world: World, user: str = "demo_grid_worker") -> OrgUnit:
    user_row = db.get(User, world.ids[user])
    assert user_row is not None
    home = db.get(OrgUnit, user_row.home_org_id)
    assert home is not None
    town = db.get(OrgUnit, int(home.path.strip("/").split("/")[1]))
    assert town is not None and town.kind == "town"
    return town


def closed_event(desk: Desk, **fields: Any) -> dict[str, Any]:
    """File a level-1 event and close it as the grid worker does (self-handled, photo)."""
    event = desk.act(desk.file(level=1, **fields), "demo_grid_worker", "self_handle")
    photo = desk.photo(event, "demo_grid_worker", kind="after")
    return desk.act(desk.get(event), "demo_grid_worker", "close", attachment_ids=[photo])


def district_campaign(db: Session, code: str, *, target: float, days: int = 30,
                      unit: str = "起") -> m.Campaign:  # fmt: skip
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
    data = CampaignIn.model_validate({
        "name": "合同测试整治", "org_id": district.id, "classes": [code],
        "start_date": str(TODAY - timedelta(days=days // 2)),
        "end_date": str(TODAY + timedelta(days=days - days // 2 - 1)),
        "measures": [{"name": "整治", "unit": unit, "classes": [code], "target": target}],
    })  # fmt: skip
    campaign = create_campaign(db=db, principal=principal(db, "admin"), data=data,
                               now=START)  # fmt: skip
    db.commit()
    return campaign


def test_town_progress_and_gaps_come_from_the_closings_of_tagged_events(
    db: Session, bound: Any, desk: Desk, world: World, clock: FixedClock
) -> None:
    clear_campaigns(db)
    town = home_town(db, world)
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
    towns = list(db.scalars(select(OrgUnit.id).where(OrgUnit.parent_id == district.id,
                                                     OrgUnit.kind == "town")))  # fmt: skip
    campaign = district_campaign(db, world.handler_category, target=4.0 * len(towns))
    closed_event(desk)
    closed_event(desk)
    desk.file(level=1)  # tagged, still open: counts nothing
    closed_event(desk, category=world.other_category)  # another class: not tagged
    run(bound, now=clock.now())

    tags = db.scalars(select(m.CampaignEvent).where(m.CampaignEvent.campaign_id == campaign.id))
    assert sorted(t.counted for t in tags) == [False, True, True]
    progress = town_progress(db=db, year=TODAY.year)
    assert set(progress) == set(towns)  # every covered town has a share of 4
    assert progress[town.id] == 0.5  # 2 of its 4
    assert all(progress[t] == 0.0 for t in towns if t != town.id)
    assert town_progress(db=db, year=TODAY.year + 3) == {}

    # Day 16 of 30: 4 × 16/30 ≈ 2.13 expected of each town, so the worker's town (2) lags a little
    # and the district (2 of 4 × towns) lags much.
    (gap,) = gaps(db=db, area_path=town.path, as_of=clock.now())
    assert (gap.campaign_id, gap.measure_name, gap.unit) == (campaign.id, "整治", "起")
    assert gap.target == 4.0 and gap.done == 2.0
    assert abs(gap.expected_by_now - 4.0 * 16 / 30) < 1e-9
    (whole,) = gaps(db=db, area_path=district.path, as_of=clock.now())
    assert whole.target == 4.0 * len(towns) and whole.done == 2.0
    # Once the period is over nothing is running: no gaps.
    assert gaps(db=db, area_path=district.path, as_of=clock.now() + timedelta(days=40)) == []


def test_a_closing_counts_once_and_an_entered_quantity_replaces_the_default(
    db: Session, bound: Any, desk: Desk, world: World, clock: FixedClock
) -> None:
    clear_campaigns(db)
    campaign = district_campaign(db, world.handler_category, target=10)
    closed_event(desk)
    run(bound, now=clock.now())
    run(bound, now=clock.now())  # a second round adds nothing
    cells = db.execute(select(m.CampaignProgress.day, m.CampaignProgress.done).where(
        m.CampaignProgress.campaign_id == campaign.id)).all()  # fmt: skip
    assert cells == [(TODAY, 1.0)]
    # An operator corrects the closing to 3: the rollup moves by the difference, once.
    measure = db.scalars(select(m.CampaignMeasure).where(
        m.CampaignMeasure.campaign_id == campaign.id)).one()  # fmt: skip
    code = db.scalars(select(Event.code).join(
        m.CampaignEvent, m.CampaignEvent.event_id == Event.id)).one()  # fmt: skip
    set_quantities(db=db, principal=principal(db, "demo_operator"), campaign=campaign, code=code,
                   data=QuantitiesIn.model_validate({"quantities": [
                       {"measure_id": measure.id, "quantity": 3}]}), now=clock.now())  # fmt: skip
    db.commit()
    run(bound, now=clock.now())
    assert db.execute(select(m.CampaignProgress.day, m.CampaignProgress.done).where(
        m.CampaignProgress.campaign_id == campaign.id)).all() == [(TODAY, 3.0)]  # fmt: skip
