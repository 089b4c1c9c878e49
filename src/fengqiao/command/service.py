"""What the one-map shows about events: today's counts, the overdue list, urgent alarms, every
open event as a point with its light, and per-grid counts for colouring the grids.

All reads go through `event_scope`, so a town's operator sees the town and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, text, true
from sqlalchemy.orm import Session

from fengqiao.clock import LOCAL_TZ
from fengqiao.events.escalation import RUNG_ZH
from fengqiao.events.models import OPEN_STATES_SQL, Event
from fengqiao.events.scope import event_scope
from fengqiao.geo.areas import ancestors_at
from fengqiao.geo.distance import Box
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal

_OPEN = text(OPEN_STATES_SQL)


def local_midnight(now: datetime) -> datetime:
    """The start of today in Asia/Shanghai, as an aware datetime."""
    local = now.astimezone(LOCAL_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Fingerprint:
    """What changes when the situation does: cheap to read every few seconds."""

    newest_id: int
    open_count: int
    overdue_count: int
    closed_today: int


def fingerprint(db: Session, principal: Principal, now: datetime) -> Fingerprint:
    scope = event_scope(principal)
    midnight = local_midnight(now)
    newest = db.scalar(select(func.max(Event.id)).where(scope)) or 0
    open_count, overdue = db.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Event.due_at < now, 1), else_=0)), 0),
        ).where(scope, _OPEN)
    ).one()
    closed_today = db.scalar(
        select(func.count()).where(scope, Event.status == "closed", Event.closed_at >= midnight)
    )
    return Fingerprint(int(newest), int(open_count), int(overdue), int(closed_today or 0))


def situation(db: Session, principal: Principal, now: datetime) -> dict[str, Any]:
    """Today's counts, the most overdue open events and the urgent events of the last day."""
    scope = event_scope(principal)
    midnight = local_midnight(now)
    print_ = fingerprint(db, principal, now)
    new_today = db.scalar(select(func.count()).where(scope, Event.created_at >= midnight)) or 0
    urgent_open = db.scalar(select(func.count()).where(scope, _OPEN, Event.urgent.is_(True))) or 0
    names = dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "town")).all())
    overdue_rows = db.execute(
        select(
            Event.id, Event.code, Event.title, Event.category_name, Event.town_id, Event.due_at,
            Event.escalation_rung, Unit.name.label("unit"),
        )
        .outerjoin(Unit, Unit.id == Event.owner_unit_id)
        .where(scope, _OPEN, Event.due_at < now)
        .order_by(Event.due_at)
        .limit(20)
    ).all()  # fmt: skip
    alarm_rows = db.execute(
        select(
            Event.id, Event.code, Event.title, Event.category_name, Event.created_at, Event.lat,
            Event.lng, Event.status, Event.address, Event.town_id,
        )
        .where(scope, Event.urgent.is_(True), Event.created_at >= now - timedelta(hours=24))
        # Newest first by filing time: the (…, created_at, id) indexes give the last day in
        # order; by id alone SQLite walked the whole table when the day had few alarms.
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(20)
    ).all()  # fmt: skip
    return {
        "at": now,
        "today": {
            "new": int(new_today),
            "closed": print_.closed_today,
            "open": print_.open_count,
            "overdue": print_.overdue_count,
            "urgent_open": int(urgent_open),
        },
        "overdue": [
            {
                "id": r.id,
                "code": r.code,
                "title": r.title,
                "category_name": r.category_name,
                "town": names.get(r.town_id, ""),
                "unit": r.unit or "",
                "due_at": r.due_at,
                "rung": RUNG_ZH[r.escalation_rung],
            }
            for r in overdue_rows
        ],
        "alarms": [alarm_out(r._mapping, names) for r in alarm_rows],
        "newest_id": print_.newest_id,
    }


def alarm_out(row: Any, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row["id"], "code": row["code"], "title": row["title"],
        "category_name": row["category_name"], "created_at": row["created_at"],
        "lat": row["lat"], "lng": row["lng"], "status": row["status"],
        "address": row["address"], "town": names.get(row["town_id"], ""),
    }  # fmt: skip


def in_box(box: Box | None) -> ColumnElement[bool]:
    """Events inside `box` (south, north, west, east); everything when there is none."""
    if box is None:
        return true()
    south, north, west, east = box
    return Event.lat.between(south, north) & Event.lng.between(west, east)


def event_points(
    db: Session, principal: Principal, now: datetime, *, limit: int = 50_000, box: Box | None = None
) -> dict[str, Any]:
    """Open events, and those closed today, as a GeoJSON FeatureCollection of points (only those
    in `box` when given), newest first, at most `limit` (then `truncated` is true). Properties
    are short keys (the layer of a whole district is thousands of points)."""
    midnight = local_midnight(now)
    columns = (
        Event.id, Event.code, Event.title, Event.category_name, Event.status, Event.urgent,
        Event.lat, Event.lng, Event.due_at, Event.yellow_at, Event.level,
    )  # fmt: skip
    scope = event_scope(principal) & in_box(box)
    # Two reads, each on its own index (the open events' partial indexes, closed_at), instead
    # of one OR that SQLite answered by walking the whole table (100,000 events: 4.3 s at p99
    # under 50 clients). Sorted here: an ORDER BY id made SQLite walk the table by id again.
    rows = [
        *db.execute(select(*columns).where(scope, _OPEN)),
        *db.execute(
            select(*columns).where(scope, Event.status == "closed", Event.closed_at >= midnight)
        ),
    ]
    rows.sort(key=lambda r: r.id, reverse=True)
    features = []
    for r in rows[:limit]:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(r.lng, 6), round(r.lat, 6)]},
                "properties": {
                    "id": r.id,
                    "code": r.code,
                    "title": r.title,
                    "cat": r.category_name,
                    "status": r.status,
                    "urgent": bool(r.urgent),
                    "level": r.level,
                    "light": _light(r.status, r.due_at, r.yellow_at, now),
                },
            }
        )
    return {"type": "FeatureCollection", "truncated": len(rows) > limit, "features": features}


def _light(status: str, due_at: datetime | None, yellow_at: datetime | None, now: datetime) -> str:
    if status == "closed":
        return "closed"
    if due_at is None or yellow_at is None:
        return "none"
    if due_at.tzinfo is None:  # SQLite returns naive UTC
        now = now.replace(tzinfo=None)
    if now >= due_at:
        return "red"
    return "yellow" if now >= yellow_at else "green"


def grid_stats(
    db: Session, principal: Principal, now: datetime, *, days: int, box: Box | None = None
) -> dict[str, Any]:
    """Per grid: open events, red and yellow ones among them, and events filed in `days` days
    (the density the grid layer is coloured by); only the events in `box` when given."""
    scope = event_scope(principal) & in_box(box)
    stats: dict[int, dict[str, int]] = {}
    for grid_id, open_count, red, yellow in db.execute(
        select(
            Event.grid_id,
            func.count(),
            func.sum(case((Event.due_at < now, 1), else_=0)),
            func.sum(case(((Event.yellow_at < now) & (Event.due_at >= now), 1), else_=0)),
        )
        .where(scope, _OPEN)
        .group_by(Event.grid_id)
    ):
        stats[grid_id] = {"open": open_count, "red": int(red or 0), "yellow": int(yellow or 0)}
    for grid_id, recent in db.execute(
        select(Event.grid_id, func.count())
        .where(scope, Event.created_at >= now - timedelta(days=days))
        .group_by(Event.grid_id)
    ):
        stats.setdefault(grid_id, {"open": 0, "red": 0, "yellow": 0})["recent"] = recent
    return {
        "days": days,
        "grids": {
            str(k): {"open": 0, "red": 0, "yellow": 0, "recent": 0} | v for k, v in stats.items()
        },
    }


def area_stats(
    db: Session, principal: Principal, now: datetime, *, kind: str, days: int
) -> dict[str, Any]:
    """The grid counts rolled up to the areas of `kind` (city, district or town) in the caller's
    area, keyed by org unit id: what a province's or city's map shows instead of thousands of
    points (one number per outline). Counted per town on the events' town index, then summed."""
    scope = event_scope(principal)
    towns = ancestors_at(db, principal.home_path, kind)
    areas: dict[int, dict[str, int]] = {}

    def area(town_id: int) -> dict[str, int] | None:
        unit_id = towns.get(town_id)
        if unit_id is None:
            return None
        return areas.setdefault(unit_id, {"open": 0, "red": 0, "yellow": 0, "recent": 0})

    for town_id, open_count, red, yellow in db.execute(
        select(
            Event.town_id,
            func.count(),
            func.sum(case((Event.due_at < now, 1), else_=0)),
            func.sum(case(((Event.yellow_at < now) & (Event.due_at >= now), 1), else_=0)),
        )
        .where(scope, _OPEN)
        .group_by(Event.town_id)
    ):
        counts = area(town_id)
        if counts is not None:
            counts["open"] += open_count
            counts["red"] += int(red or 0)
            counts["yellow"] += int(yellow or 0)
    for town_id, recent in db.execute(
        select(Event.town_id, func.count())
        .where(scope, Event.created_at >= now - timedelta(days=days))
        .group_by(Event.town_id)
    ):
        counts = area(town_id)
        if counts is not None:
            counts["recent"] += recent
    return {"kind": kind, "days": days, "areas": {str(k): v for k, v in areas.items()}}
