"""The bulletin's campaign section (专项整治进展): running campaigns over the bulletin's area with
each measure's target, done, rate and the lagging towns, in the JSON, HTML and XLSX."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from fengqiao.assessment import bulletin
from fengqiao.campaigns.tagging import run
from fengqiao.clock import FixedClock
from tests.campaigns.test_contract import (
    TODAY,
    clear_campaigns,
    closed_event,
    district_campaign,
    home_town,
)
from tests.events.conftest import Desk, World


def test_the_bulletin_shows_running_campaigns_and_the_lagging_towns(
    db: Session, bound: Any, desk: Desk, world: World, clock: FixedClock, settings: Any
) -> None:
    clear_campaigns(db)
    campaign = district_campaign(db, world.handler_category, target=2.0, unit="家")
    closed_event(desk)
    run(bound, now=clock.now())
    town = home_town(db, world)
    content = bulletin.build(db, day=TODAY, now=clock.now(), settings=settings)
    section = content["campaigns"]
    assert section["total"] == 1
    (row,) = section["items"]
    assert (row["campaign"], row["measure"], row["unit"]) == (campaign.name, "整治", "家")
    assert row["target"] == 2.0 and row["done"] == 1.0 and row["rate"] == 0.5
    # Day 16 of 30: 1 done is behind 2 × 16/30, so the worker's town (the small district's one
    # town) is named as lagging.
    assert row["lagging"].split("、") == [town.name]
    # A town's bulletin holds only that town's part.
    town_content = bulletin.build(db, day=TODAY, now=clock.now(), settings=settings,
                                  scope=bulletin.reader_scope(db, town.id))  # fmt: skip
    (mine,) = town_content["campaigns"]["items"]
    assert mine["done"] == 1.0 and mine["lagging"] == town.name
    html = bulletin.export(content, fmt="html", settings=settings).decode()
    assert "六、专项整治进展（进行中1项）" in html and "合同测试整治" in html and "50.0%" in html
    book = load_workbook(io.BytesIO(bulletin.export(content, fmt="xlsx", settings=settings)))
    sheet = book["专项整治"]
    assert [c.value for c in sheet[2]][:5] == ["合同测试整治", "整治", "2家", "1家", "50.0%"]
    # A bulletin stored before campaigns existed still renders.
    old = {k: v for k, v in content.items() if k != "campaigns"}
    assert "六、专项整治进展（进行中0项）" in bulletin.export(old, fmt="html",
                                                             settings=settings).decode()  # fmt: skip
