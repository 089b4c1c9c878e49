"""Campaigns over the API (issue 20, item 2): define one in scope, refusals that name the field
and store nothing, automatic and hand tagging, quantities at closing, the dashboard and its CSV
from the rollup, and the scope of town callers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.campaigns import models as m
from fengqiao.campaigns.tagging import run
from fengqiao.clock import FixedClock
from fengqiao.org.models import OrgUnit
from tests.campaigns.test_contract import TODAY, clear_campaigns, closed_event, home_town
from tests.events.conftest import Desk, World

Auth = Any


def body(db: Session, world: World, **fields: Any) -> dict[str, Any]:
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
    code = world.handler_category
    return {
        "name": "市容专项整治", "org_id": district.id, "classes": [code],
        "start_date": str(TODAY - timedelta(days=9)), "end_date": str(TODAY + timedelta(days=20)),
        "measures": [
            {"name": "拆除违建", "unit": "处", "classes": [code], "target": 30},
            {"name": "拆除面积", "unit": "m²", "classes": [code], "target": 3000},
        ],
        **fields,
    }  # fmt: skip


def post(api: TestClient, auth: Auth, data: dict[str, Any], *, user: str = "demo_district_operator",
         expect: int = 201) -> dict[str, Any]:  # fmt: skip
    response = api.post("/api/v1/campaigns", json=data, headers=auth(user))
    assert response.status_code == expect, response.text
    return dict(response.json())


def count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(m.Campaign)) or 0)


def test_bad_campaigns_are_refused_naming_the_field_and_nothing_is_stored(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    clear_campaigns(db)
    code = world.handler_category
    same_class = [{"name": "整治", "unit": "处", "classes": [code], "target": 1},
                  {"name": "清理", "unit": "处", "classes": [code], "target": 2}]  # fmt: skip
    same_name = [{"name": "整治", "unit": "处", "classes": [code], "target": 1},
                 {"name": "整治", "unit": "处", "classes": [code], "target": 2}]  # fmt: skip
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"measures": same_class}, "measures[1].classes", "overlapping-measures"),
        ({"measures": same_name}, "measures[1].name", "overlapping-measures"),
        ({"end_date": str(TODAY - timedelta(days=20))}, "end_date", "invalid-input"),
        ({"classes": [code, "9999"]}, "classes[1]", "invalid-input"),
        ({"measures": [{"name": "x", "unit": "吨", "classes": [code], "target": 1}]},
         "measures.0.unit", "invalid-input"),
        ({"measures": [{"name": "x", "unit": "处", "classes": [world.other_category],
                        "target": 1}]}, "measures[0].classes", "invalid-input"),
    ]  # fmt: skip
    for fields, field, slug in cases:
        problem = post(api, auth, body(db, world, **fields), expect=422)
        assert problem["type"].endswith(slug), problem
        assert problem["errors"][0]["field"] == field, problem
        assert problem["title_zh"] and problem["errors"][0]["reason_zh"]
    # A town operator may not define a campaign of the whole district.
    problem = post(api, auth, body(db, world), user="demo_operator", expect=403)
    assert problem["errors"][0]["field"] == "org_id"
    assert count(db) == 0


def test_a_campaign_round_tagging_quantities_and_dashboard(
    api: TestClient, auth: Auth, db: Session, bound: Any, desk: Desk, world: World,
    clock: FixedClock,
) -> None:  # fmt: skip
    clear_campaigns(db)
    before = closed_event(desk)  # filed before the campaign: tagged when it is defined
    campaign = post(api, auth, body(db, world))
    tagged = api.get(
        f"/api/v1/campaigns/{campaign['id']}/events", headers=auth("demo_district_operator")
    )
    assert [e["code"] for e in tagged.json()["items"]] == [before["code"]]
    later = closed_event(desk)
    open_one = desk.file(level=1)
    run(bound, now=clock.now())
    measures = {x["name"]: x["id"] for x in campaign["measures"]}
    # The handler enters the area of the demolition: 320 m² (and 1 处 stays the default).
    response = api.put(
        f"/api/v1/campaigns/{campaign['id']}/events/{later['code']}",
        json={"quantities": [{"measure_id": measures["拆除面积"], "quantity": 320}]},
        headers=auth("demo_district_operator"),
    )
    assert response.status_code == 200, response.text
    bad = api.put(f"/api/v1/campaigns/{campaign['id']}/events/{later['code']}",
                  json={"quantities": [{"measure_id": measures["拆除违建"], "quantity": 1.5}]},
                  headers=auth("demo_district_operator"))  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "quantities[0].quantity"
    # Hand removal takes back what was counted; the job never puts it back.
    removed = api.post(f"/api/v1/campaigns/{campaign['id']}/events/{before['code']}/remove",
                       json={"reason": "误纳入"}, headers=auth("demo_district_operator"))  # fmt: skip
    assert removed.status_code == 200, removed.text
    run(bound, now=clock.now())
    dash = api.get(
        f"/api/v1/campaigns/{campaign['id']}/dashboard", headers=auth("demo_district_operator")
    )
    assert dash.status_code == 200, dash.text
    data = dash.json()
    done = {s["name"]: s["done"] for s in data["measures"]}
    assert done == {"拆除违建": 1.0, "拆除面积": 320.0}
    series = data["measures"][0]["days"]
    assert series[0]["day"] == str(TODAY - timedelta(days=9)) and series[-1]["day"] == str(TODAY)
    assert series[-1]["done"] == 1.0 and abs(series[-1]["expected"] - 30 * 10 / 30) < 1e-9
    town = home_town(db, world)
    mine = [r for r in data["towns"] if r["town_id"] == town.id]
    assert {r["done"] for r in mine} == {1.0, 320.0}
    assert all(r["done"] < r["expected_by_now"] for r in data["lagging"])
    assert len(data["lagging"]) >= len(data["towns"]) - 2  # the other towns did nothing
    # Put back by hand, with a reason: counted again.
    again = api.post(f"/api/v1/campaigns/{campaign['id']}/events",
                     json={"code": before["code"], "reason": "核实后纳入"},
                     headers=auth("demo_district_operator"))  # fmt: skip
    assert again.status_code == 201 and again.json()["counted"] is True
    csv = api.get(f"/api/v1/campaigns/{campaign['id']}/dashboard.csv",
                  headers=auth("demo_district_operator"))  # fmt: skip
    assert csv.status_code == 200 and csv.text.startswith("\ufeff镇街,措施")
    assert (
        f"{town.name},拆除违建,处,{30 / len({r['town_id'] for r in data['towns']}):g},2,"
        in csv.text
    )
    assert open_one["code"] not in {r["code"] for r in tagged.json()["items"]}
    trail = db.scalars(select(m.CampaignLog.action).where(
        m.CampaignLog.campaign_id == campaign["id"]).order_by(m.CampaignLog.id)).all()  # fmt: skip
    assert trail == ["create", "quantities", "untag", "tag"]


def test_town_callers_see_their_town_part_and_edit_and_end(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    clear_campaigns(db)
    campaign = post(api, auth, body(db, world))
    town = home_town(db, world, "demo_operator")
    seen = api.get("/api/v1/campaigns", headers=auth("demo_operator")).json()
    assert [c["id"] for c in seen["items"]] == [campaign["id"]]
    assert [t["id"] for t in seen["items"][0]["towns"]] == [town.id]
    # A town's share of a count is whole.
    counted = seen["items"][0]["measures"][0]
    assert float(counted["target"]).is_integer()
    # Only the district may end its campaign: the town's page hides the button (can_end).
    assert campaign["can_end"] is True and seen["items"][0]["can_end"] is False
    refused = api.post(f"/api/v1/campaigns/{campaign['id']}/end", json={"version": 1},
                       headers=auth("demo_operator"))  # fmt: skip
    assert refused.status_code == 403
    # The town may not change the district's campaign; the district may.
    edit = {"name": "市容专项整治（二期）", "version": campaign["version"]}
    url = f"/api/v1/campaigns/{campaign['id']}"
    assert api.patch(url, json=edit, headers=auth("demo_operator")).status_code == 403
    changed = api.patch(url, json=edit, headers=auth("demo_district_operator"))
    assert changed.status_code == 200 and changed.json()["name"] == "市容专项整治（二期）"
    stale = api.post(url + "/end", json={"version": 1}, headers=auth("demo_district_operator"))
    assert stale.status_code == 409
    ended = api.post(url + "/end", json={"version": 2}, headers=auth("demo_district_operator"))
    assert ended.json()["status"] == "ended"
    # A town's own campaign: only its own town, invisible to other towns' callers.
    own = post(api, auth, body(db, world, org_id=town.id, name="镇街整治"),
               user="demo_operator")  # fmt: skip
    assert [t["id"] for t in own["towns"]] == [town.id] and own["can_end"] is True


def test_the_event_page_reads_its_campaigns_and_the_handler_enters_quantities(
    api: TestClient, auth: Auth, db: Session, bound: Any, desk: Desk, world: World,
    clock: FixedClock,
) -> None:  # fmt: skip
    clear_campaigns(db)
    campaign = post(api, auth, body(db, world))
    event = desk.to_handled(desk.file())  # the handler fed back: now the quantities
    run(bound, now=clock.now())
    tags = api.get(f"/api/v1/campaigns/event-tags/{event['id']}", headers=auth("demo_handler"))
    assert tags.status_code == 200, tags.text
    (item,) = tags.json()["items"]
    assert tags.json()["code"] == event["code"] and item["campaign_id"] == campaign["id"]
    assert [(m["name"], m["applies"], m["quantity"]) for m in item["measures"]] == [
        ("拆除违建", True, None), ("拆除面积", True, None)]  # fmt: skip
    area = item["measures"][1]["id"]
    put = api.put(f"/api/v1/campaigns/{campaign['id']}/events/{event['code']}",
                  json={"quantities": [{"measure_id": area, "quantity": 320}]},
                  headers=auth("demo_handler"))  # fmt: skip
    assert put.status_code == 200, put.text
    # A grid worker may not; another town's operator sees nothing of it.
    assert api.get(f"/api/v1/campaigns/event-tags/{event['id']}",
                   headers=auth("demo_grid_worker")).status_code == 403  # fmt: skip
    closed = desk.verify_ok(desk.get(event))
    assert closed["status"] == "closed"
    run(bound, now=clock.now())
    dash = api.get(f"/api/v1/campaigns/{campaign['id']}/dashboard",
                   headers=auth("demo_district_operator")).json()  # fmt: skip
    assert {s["name"]: s["done"] for s in dash["measures"]} == {
        "拆除违建": 1.0,
        "拆除面积": 320.0,
    }


def test_count_targets_split_into_whole_numbers_by_the_largest_remainder() -> None:
    """30 处 over 7 towns: 5, 5, 4, 4, 4, 4, 4 (adds up to 30); 3000 m² keeps its decimals."""
    from fengqiao.campaigns.rules import town_share

    towns = [11, 12, 13, 14, 15, 16, 17]
    shares = [town_share(30, {}, towns, t, unit="处") for t in towns]
    assert shares == [5, 5, 4, 4, 4, 4, 4] and sum(shares) == 30
    assert town_share(3000, {}, towns, 11, unit="m²") == 3000 / 7
    assert town_share(30, {}, towns, 99, unit="处") == 0.0
    assert town_share(30, {"11": 20, "12": 10}, towns, 12, unit="处") == 10
