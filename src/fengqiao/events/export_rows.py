"""The event list's CSV export, row by row: every code in its Chinese words, every time with its
year, and the 市 and 区 of each event beside its town (empty in a district-only tree)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import LOCAL_TZ
from fengqiao.events import service
from fengqiao.events.models import Event
from fengqiao.events.sources import SOURCE_ZH
from fengqiao.events.workflow import STATUS_ZH
from fengqiao.org.models import PLATFORM_ZH, OrgUnit, Unit
from fengqiao.sla.deadlines import LIGHT_ZH
from fengqiao.taxonomy.models import EVENT_LEVEL_SHORT_ZH

CSV_COLUMNS = (
    ("code", "事件编号"), ("title", "标题"), ("description", "事件描述"),
    ("category_name", "小类"), ("major_name", "大类"), ("platform", "平台"), ("level", "等级"),
    ("urgent", "紧急"), ("source", "来源"), ("status", "状态"), ("light", "红黄绿灯"),
    ("city", "市"), ("district", "区（县）"), ("town", "镇街"), ("village", "村社"), ("grid", "网格"), ("address", "地址"),
    ("owner_unit", "责任单位"), ("created_at", "上报时间"), ("due_at", "处置时限"),
    ("handled_at", "反馈时间"), ("result", "处置结果"), ("closed_at", "结案时间"),
    ("rework_count", "返工次数"), ("return_count", "回退次数"), ("satisfaction", "满意度"),
)  # fmt: skip
HEADERS = [zh for _key, zh in CSV_COLUMNS]


def row(event: Event, names: dict[str, Any], now: datetime) -> list[Any]:
    """One event in words: every code as its Chinese name, every time with its year."""

    def local(at: datetime | None) -> str:
        return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if at else ""

    district = names["parent"].get(event.town_id, 0)
    city = names["parent"].get(district, 0)
    values = {
        "code": event.code, "title": event.title, "description": event.description,
        "category_name": event.category_name, "major_name": event.major_name,
        "platform": PLATFORM_ZH.get(event.platform, "其他"),
        "level": EVENT_LEVEL_SHORT_ZH.get(event.level, ""), "urgent": "是" if event.urgent else "否",
        "source": SOURCE_ZH.get(event.source, "其他"), "status": STATUS_ZH.get(event.status, ""),
        "light": LIGHT_ZH.get(service.light_of(event, now) or "", ""),
        "city": names["city"].get(city, ""), "district": names["district"].get(district, ""),
        "town": names["org"].get(event.town_id, ""), "village": names["org"].get(event.village_id, ""),
        "grid": names["org"].get(event.grid_id, ""), "address": event.address,
        "owner_unit": names["unit"].get(event.owner_unit_id or 0, ""),
        "created_at": local(event.created_at), "due_at": local(event.due_at),
        "handled_at": local(event.handled_at), "result": event.result or "",
        "closed_at": local(event.closed_at), "rework_count": event.rework_count,
        "return_count": event.return_count,
        "satisfaction": f"{event.satisfaction} 分" if event.satisfaction else "",
    }  # fmt: skip
    return [values[key] for key, _zh in CSV_COLUMNS]


def names(db: Session) -> dict[str, Any]:
    """Names of org units and units, read once per export instead of once per row, and the
    parent of each town and district (a town's district, a district's city)."""
    org: dict[int, str] = {}
    by_kind: dict[str, dict[int, str]] = {"city": {}, "district": {}}
    parent: dict[int, int] = {}
    for i, name, kind, parent_id in db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id)
    ):
        org[i] = name
        if kind in by_kind:
            by_kind[kind][i] = name
        if kind in ("town", "district") and parent_id is not None:
            parent[i] = parent_id
    return {
        "org": org, **by_kind, "parent": parent,
        "unit": {i: name for i, name in db.execute(select(Unit.id, Unit.name))},
    }  # fmt: skip
