"""The service catalogue (最多跑一次): domain functions.

Catalogue items are edited by administrators (one at a time or by import, updating in place by
code); proxy requests (代办) for them live in `proxy.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.catalogue.models import LEVELS, ServiceItem
from fengqiao.catalogue.schemas import ItemImport, ItemIn, ItemPatch
from fengqiao.errors import check_version, conflict, from_pydantic, invalid, not_found

ITEMS_FILE = Path(__file__).with_name("items.json")


# --- the catalogue -------------------------------------------------------------------------------


def levels_of(item: ServiceItem) -> list[str]:
    flags = (item.at_village, item.at_town, item.at_district, item.online)
    return [level for level, on in zip(LEVELS, flags, strict=True) if on]


def limit_text(days: int) -> str:
    return "即办" if days == 0 else f"{days} 个工作日"


def search_text(item: ServiceItem) -> str:
    """The second search column: everything but the name, one line each."""
    parts = [item.category, item.unit_name, *item.materials, *item.tags, item.description]
    return "\n".join(p for p in parts if p)


def _apply(item: ServiceItem, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "levels":
            chosen = set(value)
            item.at_village = "village" in chosen
            item.at_town = "town" in chosen
            item.at_district = "district" in chosen
            item.online = "online" in chosen
        elif key in ("materials", "tags"):
            setattr(item, key, [v.strip() for v in value if v.strip()])
        elif key in ("name", "category", "fee", "unit_name", "description") and isinstance(
            value, str
        ):
            setattr(item, key, value.strip())
        else:
            setattr(item, key, value)
    item.search_text = search_text(item)


def get_item(*, db: Session, item_id: int, include_inactive: bool = False) -> ServiceItem:
    item = db.get(ServiceItem, item_id)
    if item is None or (not item.is_active and not include_inactive):
        raise not_found("service item", "服务事项")
    return item


def create_item(*, db: Session, data: ItemIn, now: datetime) -> ServiceItem:
    """Add an item; a code already in the catalogue is a 409."""
    if db.scalar(select(ServiceItem.id).where(ServiceItem.code == data.code)) is not None:
        raise conflict(
            "duplicate-code", "Code already used", "事项编码已存在",
            f"an item with code {data.code} exists; edit it instead",
            f"编码为 {data.code} 的事项已存在，请直接修改",
        )  # fmt: skip
    item = ServiceItem(created_at=now, updated_at=now, version=1)
    _apply(item, data.model_dump())
    db.add(item)
    db.flush()
    return item


def update_item(*, db: Session, item_id: int, patch: ItemPatch, now: datetime) -> ServiceItem:
    """Change an item; a stale `version` is a 409 and changes nothing."""
    item = get_item(db=db, item_id=item_id, include_inactive=True)
    check_version(patch.version, item.version, what="item", what_zh="事项")
    values = patch.model_dump(exclude_unset=True, exclude={"version"})
    merged = item_in(item).model_dump() | {k: v for k, v in values.items() if v is not None}
    try:
        ItemIn.model_validate(merged)  # the same rules as a new item (blank names, lists)
    except ValidationError as exc:
        raise from_pydantic(exc.errors()) from exc
    _apply(item, {k: v for k, v in values.items() if v is not None})
    item.version += 1
    item.updated_at = now
    db.flush()
    return item


def deactivate_item(*, db: Session, item_id: int, now: datetime) -> ServiceItem:
    """Take an item off the public catalogue; its proxy requests keep pointing at it."""
    item = get_item(db=db, item_id=item_id, include_inactive=True)
    if item.is_active:
        item.is_active = False
        item.version += 1
        item.updated_at = now
        db.flush()
    return item


def item_in(item: ServiceItem) -> ItemIn:
    return ItemIn(
        code=item.code, name=item.name, category=item.category,
        levels=levels_of(item),
        materials=list(item.materials), time_limit_days=item.time_limit_days, fee=item.fee,
        unit_type=item.unit_type, unit_name=item.unit_name, description=item.description,
        tags=list(item.tags), proxy_allowed=item.proxy_allowed, is_active=item.is_active,
    )  # fmt: skip


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated


def load_items(source: Path | str | bytes | dict[str, Any] | None = None) -> ItemImport:
    """An import file (path, JSON text or parsed), validated whole; default: the shipped file."""
    try:
        if source is None:
            raw: Any = json.loads(ITEMS_FILE.read_text(encoding="utf-8"))
        elif isinstance(source, Path):
            raw = json.loads(source.read_text(encoding="utf-8"))
        elif isinstance(source, str | bytes):
            raw = json.loads(source)
        else:
            raw = source
    except (OSError, json.JSONDecodeError) as exc:
        raise invalid("file", f"cannot read the JSON: {exc}", "无法读取 JSON 文件") from exc
    try:
        return ItemImport.model_validate(raw)
    except ValidationError as exc:
        raise from_pydantic(exc.errors()) from exc


def import_items(*, db: Session, data: ItemImport, now: datetime) -> ImportResult:
    """Add new codes and update known ones in place; nothing is deleted. All or nothing: the
    caller's transaction rolls back on any refusal."""
    codes = [i.code for i in data.items]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise invalid(
            "items", f"codes appear more than once: {', '.join(duplicates)}",
            f"事项编码重复：{'、'.join(duplicates)}",
        )  # fmt: skip
    known = {i.code: i for i in db.scalars(select(ServiceItem).where(ServiceItem.code.in_(codes)))}
    result = ImportResult()
    for entry in data.items:
        item = known.get(entry.code)
        values = entry.model_dump()
        if item is None:
            item = ServiceItem(created_at=now, updated_at=now, version=1)
            _apply(item, values)
            db.add(item)
            result.created += 1
        elif item_in(item) != entry:
            _apply(item, values)
            item.version += 1
            item.updated_at = now
            result.updated += 1
    db.flush()
    return result


def categories(db: Session) -> list[str]:
    return list(
        db.scalars(
            select(ServiceItem.category)
            .where(ServiceItem.is_active.is_(True))
            .group_by(ServiceItem.category)
            .order_by(func.min(ServiceItem.code))
        )
    )
