"""Level wording names the real level: a district named …县 is 县级, a county-level city …市 is
市级, any other district 区级; the ladder's district rung, its top-rung refusal and the warning
climb's message say it so."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.events.escalation import RUNG_ZH, TOP_RUNG, rung_name
from fengqiao.events.models import Event
from fengqiao.notify.templates import render
from fengqiao.org.models import OrgUnit, area_word, level_words
from tests.province.world import Auth, World

YC = "330602"


def test_words_of_each_level() -> None:
    assert [area_word("district", n) for n in ("柯桥区", "新昌县", "诸暨市", "某某旗")] == [
        "区", "县", "县级市", "县",
    ]  # fmt: skip
    assert [level_words("district", n) for n in ("柯桥区", "新昌县", "诸暨市")] == [
        "区级", "县级", "市级",
    ]  # fmt: skip
    assert level_words("city", "绍兴市") == "市级" and level_words("province", "浙江省") == "省级"
    assert area_word("city", "绍兴市") == "市" and area_word("town", "柯桥街道") == "镇街"
    assert rung_name(TOP_RUNG, "新昌县") == "县级（县信访局/县综合信息指挥中心）"
    assert rung_name(TOP_RUNG, "诸暨市") == "市级（市信访局/市综合信息指挥中心）"
    assert rung_name(TOP_RUNG, "柯桥区") == "区级（区信访局/区综合信息指挥中心）"
    # Without a name: neutral words, never a district's level assumed.
    assert rung_name(TOP_RUNG) == RUNG_ZH[TOP_RUNG] and "区级" not in RUNG_ZH[TOP_RUNG]
    assert rung_name(1, "新昌县") == "镇街平台协调组"
    subject, text = render("warning_climb", {"level": "县级", "place": "某镇", "days": 3})
    assert "升级至县级指挥中心" in subject and "已升级至县级指挥中心" in text


def test_a_county_events_top_rung_says_county(
    db: Session, api: TestClient, auth: Auth, world: World, clock: FixedClock
) -> None:
    district = db.get(OrgUnit, world.districts[YC])
    assert district is not None
    district.name = "新昌县"
    db.commit()
    event = db.get(Event, world.events[YC]["id"])
    assert event is not None
    event.escalation_rung = TOP_RUNG
    db.commit()
    clock.advance(timedelta(minutes=1))
    url = f"/api/v1/events/{event.id}"
    seen = api.get(url, headers=auth("yc_operator")).json()
    for action in ("accept", "dispatch"):
        step = {"action": action, "version": seen["version"]}
        seen = api.post(url + "/transitions", json=step, headers=auth("yc_operator")).json()
    assert seen["status"] == "dispatched", seen
    assert seen["escalation_rung_name"] == "县级（县信访局/县综合信息指挥中心）"
    assert seen["district"]["name"] == "新昌县"
    body = {"action": "escalate", "version": seen["version"], "note": "再升"}
    refused = api.post(url + "/transitions", json=body, headers=auth("yc_operator"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail_zh"] == "事件已升级至县级，不能再升级"
