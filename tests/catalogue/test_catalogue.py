"""The service catalogue: Chinese search on both backends, the public API, admin editing and
import, and bad input refused without losing what was stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fengqiao.catalogue import search, service
from fengqiao.catalogue.models import ServiceItem
from fengqiao.catalogue.schemas import ItemIn, ItemPatch

Auth = Callable[[str], dict[str, str]]
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


def _names(db: Session, query: str, **kwargs: Any) -> list[str]:
    hits, _ = search.search(db, query, **kwargs)
    return [h.item.name for h in hits]


def test_the_seed_loads_the_shipped_catalogue(db: Session) -> None:
    shipped = service.load_items()
    assert 40 <= len(shipped.items) <= 80
    assert db.scalar(select(func.count()).select_from(ServiceItem)) == len(shipped.items)
    card = db.scalar(select(ServiceItem).where(ServiceItem.code == "SB-001"))
    assert card is not None and card.name == "社会保障卡申领"
    assert service.levels_of(card) == ["village", "town", "district", "online"]
    assert card.unit_name == "人力社保所" and card.fee == "免费" and "居民身份证" in card.materials


def test_three_character_queries_use_the_index_and_rank_names_first(db: Session) -> None:
    names = _names(db, "社保卡")
    assert search.mode_of(db, "社保卡") in ("fts", "trgm")
    # The three items named 社会保障卡… do not contain 社保卡 in the name; items whose
    # materials mention 社保卡 match too, and an item with 社保卡 in its name would lead.
    assert "社会保障卡补换" in names  # its tags say 社保卡
    name_hits = _names(db, "居住证")
    assert name_hits[0] == "居住证办理"
    # 居住证 also appears in other items' text (materials or description), after the name match.
    hits, _ = search.search(db, "养老保险")
    flags = [h.name_match for h in hits]
    assert flags == sorted(flags, reverse=True) and flags[0] and not flags[-1]


def test_short_queries_fall_back_to_like(db: Session) -> None:
    assert search.mode_of(db, "低保") in ("like", "trgm")
    names = _names(db, "低保")
    assert "最低生活保障申请" in names  # its tags say 低保
    assert any("医疗救助" in n for n in names)  # 低保 in the description
    # A one-character query works as well.
    assert "残疾人证办理" in _names(db, "残")


def test_every_term_must_match(db: Session) -> None:
    both = _names(db, "残疾人 补贴")
    assert both and all("残疾" in n or "补贴" in n for n in both)
    assert "残疾人证办理" not in both  # no 补贴 anywhere in it
    assert _names(db, "社保卡 不存在的词") == []


def test_full_width_separators_split_terms_like_ascii_ones(db: Session) -> None:
    ascii_names = _names(db, "医保,异地")
    assert len(ascii_names) == 2
    assert _names(db, "医保，异地") == ascii_names
    assert _names(db, "医保；异地") == _names(db, "医保;异地") == _names(db, "医保、异地")
    assert search.terms_of("医保，异地；备案") == ["医保", "异地", "备案"]


def test_a_query_of_separators_only_is_no_query(client: TestClient, db: Session) -> None:
    everything = _names(db, "", limit=500)
    assert search.mode_of(db, " , ， ") == "list"
    assert _names(db, " , ， ；、", limit=500) == everything
    body = client.get("/api/v1/public/services", params={"q": " , ， "}).json()
    assert body["total"] == len(everything) and body["mode"] == "list"


def test_filters_and_inactive_items(db: Session) -> None:
    online = _names(db, "", level="online", limit=500)
    assert "居民身份证申领与换领" not in online and "生育登记服务" in online
    proxy = _names(db, "", proxy_only=True, limit=500)
    assert "婚姻登记（结婚登记）" not in proxy
    item = db.scalar(select(ServiceItem).where(ServiceItem.code == "HJ-002"))
    assert item is not None
    service.deactivate_item(db=db, item_id=item.id, now=NOW)
    assert "居住证办理" not in _names(db, "居住证")
    assert "居住证办理" in _names(db, "居住证", include_inactive=True)


def test_edits_show_up_in_search(db: Session) -> None:
    item = service.create_item(
        db=db,
        data=ItemIn(
            code="ZZ-001", name="电动自行车上牌登记", category="公安交管", levels=["town"],
            materials=["购车发票", "车辆合格证"], time_limit_days=0, unit_type="traffic_police",
            unit_name="交警中队", tags=["电瓶车"],
        ),
        now=NOW,
    )  # fmt: skip
    assert _names(db, "电动自行车")[0] == "电动自行车上牌登记"
    assert "电动自行车上牌登记" in _names(db, "电瓶车")
    service.update_item(
        db=db, item_id=item.id, patch=ItemPatch(version=1, name="电动车挂牌服务"), now=NOW
    )
    assert "电动车挂牌服务" not in _names(db, "电动自行车")
    assert _names(db, "挂牌服务") == ["电动车挂牌服务"]
    db.delete(item)
    db.flush()
    assert _names(db, "挂牌服务") == []


def test_the_sqlite_index_follows_the_table(db: Session) -> None:
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("FTS5 is SQLite's")
    indexed = db.execute(
        text("SELECT count(*) FROM service_item_fts WHERE service_item_fts MATCH '\"社会保障\"'")
    ).scalar_one()
    assert indexed == db.scalar(
        select(func.count())
        .select_from(ServiceItem)
        .where((ServiceItem.name.like("%社会保障%")) | (ServiceItem.search_text.like("%社会保障%")))
    )


def test_postgresql_uses_trigram_indexes(db: Session) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    indexes = set(
        db.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'service_item'"))
    )
    assert {"ix_service_item_name_trgm", "ix_service_item_search_trgm"} <= indexes
    db.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        db.scalars(text("EXPLAIN SELECT id FROM service_item WHERE name ILIKE '%社保卡%'"))
    )
    assert "ix_service_item_name_trgm" in plan


# --- the API ------------------------------------------------------------------------------------


def test_the_public_catalogue_needs_no_login(client: TestClient) -> None:
    page = client.get("/api/v1/public/services", params={"q": "高龄津贴"})
    assert page.status_code == 200
    body = page.json()
    assert body["items"][0]["name"] == "高龄津贴申请" and body["items"][0]["name_match"]
    item = body["items"][0]
    assert item["time_limit_text"] == "10 个工作日" and item["unit_name"] == "民政办"
    assert "村（社区）代办点" in item["level_names"]
    one = client.get(f"/api/v1/public/services/{item['id']}")
    assert one.status_code == 200 and one.json()["materials"][0] == "居民身份证"
    assert client.get("/api/v1/public/services/999999").status_code == 404
    categories = client.get("/api/v1/public/services/categories").json()
    assert "社会保障" in categories and "社会救助" in categories
    listing = client.get("/api/v1/public/services", params={"size": 10, "page": 2}).json()
    assert listing["total"] >= 40 and len(listing["items"]) == 10


def test_bad_search_input_is_a_clear_problem(client: TestClient) -> None:
    response = client.get("/api/v1/public/services", params={"level": "province"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "level" and problem["errors"][0]["reason_zh"]
    too_long = client.get("/api/v1/public/services", params={"q": "长" * 101})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "q"


def test_the_page_is_public(client: TestClient) -> None:
    page = client.get("/services")
    assert page.status_code == 200 and "办事指南" in page.text


def _new_item(**overrides: Any) -> dict[str, Any]:
    body = {
        "code": "ZZ-100", "name": "农村生活垃圾清运预约", "category": "公用事业",
        "levels": ["village"], "materials": ["无"], "time_limit_days": 3,
        "unit_type": "village_committee", "unit_name": "村（居）民委员会",
    }  # fmt: skip
    body.update(overrides)
    return body


def test_admins_add_edit_and_withdraw_items(client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    created = client.post("/api/v1/services/items", json=_new_item(), headers=admin)
    assert created.status_code == 201, created.text
    item = created.json()
    again = client.post("/api/v1/services/items", json=_new_item(), headers=admin)
    assert again.status_code == 409 and again.json()["title_zh"] == "事项编码已存在"
    edited = client.patch(
        f"/api/v1/services/items/{item['id']}",
        json={"version": 1, "fee": "每次5元", "levels": ["village", "online"]},
        headers=admin,
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    assert edited.json()["levels"] == ["village", "online"]
    stale = client.patch(
        f"/api/v1/services/items/{item['id']}", json={"version": 1, "fee": "免费"}, headers=admin
    )
    assert stale.status_code == 409 and stale.json()["type"].endswith("stale-version")
    assert client.get(f"/api/v1/public/services/{item['id']}").json()["fee"] == "每次5元"
    withdrawn = client.delete(f"/api/v1/services/items/{item['id']}", headers=admin)
    assert withdrawn.status_code == 200 and withdrawn.json()["is_active"] is False
    assert client.get(f"/api/v1/public/services/{item['id']}").status_code == 404
    hidden = client.get(
        "/api/v1/services/search", params={"q": "垃圾清运", "include_inactive": True},
        headers=admin,
    )  # fmt: skip
    assert hidden.json()["total"] == 1


def test_only_admins_edit(client: TestClient, auth: Auth) -> None:
    for username in ("demo_operator", "demo_grid_worker", "demo_resident"):
        response = client.post("/api/v1/services/items", json=_new_item(), headers=auth(username))
        assert response.status_code == 403
    assert client.post("/api/v1/services/items", json=_new_item()).status_code == 401
    searched = client.get(
        "/api/v1/services/search", params={"q": "社保"}, headers=auth("demo_grid_worker")
    )
    assert searched.status_code == 200 and searched.json()["total"] > 0


def test_bad_items_are_refused_field_by_field(client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    response = client.post(
        "/api/v1/services/items",
        json=_new_item(levels=[], time_limit_days=-1, unit_type="人力社保所"),
        headers=admin,
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"levels", "time_limit_days", "unit_type"}
    blank = client.post("/api/v1/services/items", json=_new_item(name="   "), headers=admin)
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "name"


def test_an_import_is_all_or_nothing(client: TestClient, auth: Auth, db: Session) -> None:
    admin = auth("admin")
    before = db.scalar(select(func.count()).select_from(ServiceItem))
    card = client.get("/api/v1/public/services", params={"q": "社会保障卡申领"}).json()["items"][0]
    bad = {
        "version": 1,
        "items": [
            _new_item(code="ZZ-200"),
            {**card | {"time_limit_days": 3}, "id": 1},  # an unknown field
        ],
    }
    refused = client.post("/api/v1/services/items/import", json=bad, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].startswith("items.1")
    assert db.scalar(select(func.count()).select_from(ServiceItem)) == before
    entry = {k: card[k] for k in ItemIn.model_fields if k in card}
    good = {"version": 1, "items": [_new_item(code="ZZ-200"), entry | {"time_limit_days": 3}]}
    imported = client.post("/api/v1/services/items/import", json=good, headers=admin)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"created": 1, "updated": 1, "total": 2}
    assert client.get(f"/api/v1/public/services/{card['id']}").json()["time_limit_days"] == 3
    duplicate = {"version": 1, "items": [_new_item(code="ZZ-300"), _new_item(code="ZZ-300")]}
    refused = client.post("/api/v1/services/items/import", json=duplicate, headers=admin)
    assert refused.status_code == 422 and "ZZ-300" in refused.json()["detail"]
    # Importing the shipped file again changes nothing.
    shipped = service.load_items().model_dump()
    again = client.post("/api/v1/services/items/import", json=shipped, headers=admin).json()
    assert again["created"] == 0 and again["updated"] == 1  # the item edited above goes back
