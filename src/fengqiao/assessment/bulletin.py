"""The daily bulletin (每日通报): one local day's figures of an area, issued each morning by the
`bulletin` job as an official document (公文) of the district and of every town, each numbered
per year by its issuing unit (文号), kept in the `bulletin` table and sent to subscribers; a day
not issued yet is built on request as an unnumbered draft. Exports: `bulletin_export.py`.

The content is a plain JSON document (`build`), so a stored day exports the same numbers however
often and in whichever format it is asked for.

Overdue events are one definition (`overdue_during`): an event of the area that was past its
deadline at some moment of the period, i.e. its deadline fell before the cutoff and it was
still open after the period began (open now, or closed late after the period's start). The
超期清单 lists exactly these and the totals' overdue figures count them, so the month's overdue
total always equals the list's. (Before, the month's figure was the rollups' cohort counter,
events *filed* this month that ever went overdue, while the list held the events *still open*
past their deadline whenever filed: the two counted different events.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    TextClause,
    and_,
    case,
    func,
    inspect,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from fengqiao.analytics.query import Scope, aggregate
from fengqiao.analytics.service import history_start
from fengqiao.assessment import service
from fengqiao.assessment.bulletin_document import (
    chinese_date,
    chinese_time,
    document_number,
    fallback_issuer,
    narrative,
    short_name,
    top_and_bottom,
)
from fengqiao.assessment.bulletin_export import DOCUMENT, FORMATS, export, font_missing
from fengqiao.assessment.bulletin_scopes import (
    REGION_OF,
    REGION_WORD,
    district_scope,
    issuing_scopes,
    reader_scope,
    scope_path,
)
from fengqiao.assessment.models import Bulletin, BulletinSequence, BulletinSubscription
from fengqiao.auth.models import User
from fengqiao.campaigns.section import bulletin_section
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.errors import invalid
from fengqiao.events.models import Event, is_open
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.outbox.service import Draft, Person, drafts_for, enqueue
from fengqiao.supervision.models import ORDER_KIND_ZH, SupervisionOrder
from fengqiao.taxonomy.models import Category
from fengqiao.warnings.models import WARNING_KIND_SHORT_ZH

__all__ = ["DOCUMENT", "FORMATS", "export", "font_missing"]

CHANNELS = ("app", "sms", "email")
FLOW_KEYS = ("new", "done", "done_on_time")
FORMAT = 2  # the content's shape; stored bulletins of shape 1 are read through `normalised`
log = logging.getLogger(__name__)


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ).astimezone(UTC)


def _local_text(at: datetime | None) -> str:
    if at is None:
        return ""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


# --- overdue events: one definition for the totals and the list ------------------------------


def _loose(condition: ColumnElement[bool] | TextClause, dialect: str) -> ColumnElement[bool]:
    """`condition`, marked for SQLite's planner as matching most rows. Without statistics it
    took the event list's (status, id) and (town_id, due_at, id) indexes for these queries and
    sorted or filtered every open or closed event of the district; likelihood() keeps the
    condition literal, so the partial indexes of open events still match it."""
    if dialect == "sqlite":
        # SQLite wants the probability as a constant, not a bound parameter.
        return cast(ColumnElement[bool], func.likelihood(condition, literal_column("0.9")))
    return cast(ColumnElement[bool], condition)


def overdue_open(cutoff: datetime, dialect: str = "postgresql") -> ColumnElement[bool]:
    """Open events whose deadline passed before `cutoff`: the partial index ix_event_open_due
    holds exactly the open events' deadlines (the open-states text repeats its WHERE)."""
    return and_(_loose(is_open(), dialect), Event.due_at < cutoff)


_AREA_COLUMN = {"town": Event.town_id, "village": Event.village_id, "grid": Event.grid_id}


def in_area(scope: Scope, dialect: str = "postgresql") -> ColumnElement[bool]:
    """Events of the bulletin's area (the district's bulletin: all of them)."""
    column = _AREA_COLUMN.get(scope.level)
    if column is None:  # above the town: everything, or its towns when it shares the database
        towns = scope.town_filter(Event.town_id)
        return true() if towns is None else towns
    return _loose(column == scope.org_id, dialect)


def overdue_during(
    scope: Scope, start: datetime, cutoff: datetime, dialect: str = "postgresql"
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The area's events overdue at some moment of [start, cutoff), as two disjoint parts: the
    open ones past their deadline (read through ix_event_open_due, or ix_event_open_town_due),
    and those closed after their deadline and after `start` (through ix_event_closed_at)."""
    still_open = and_(overdue_open(cutoff, dialect), in_area(scope, dialect))
    # The area's column as an expression: the period's closings are the few rows to read, not
    # the area's whole history along an index led by the area.
    column = _AREA_COLUMN.get(scope.level)
    area = in_area(scope) if column is None else (column + 0) == scope.org_id
    closed_late = and_(
        _loose(Event.status == "closed", dialect), Event.closed_at > start,
        Event.closed_at > Event.due_at, Event.due_at < cutoff, area,
    )  # fmt: skip
    return still_open, closed_late


def _dialect(db: Session) -> str:
    return db.get_bind().dialect.name


def _count(db: Session, condition: ColumnElement[bool]) -> int:
    return db.scalar(select(func.count()).select_from(Event).where(condition)) or 0


def overdue_counts(db: Session, scope: Scope, start: datetime, cutoff: datetime) -> dict[str, int]:
    """How many events were overdue in the period, and how many of them were still open at
    `cutoff` (an event closed after the cutoff was open then)."""
    still_open, closed_late = overdue_during(scope, start, cutoff, _dialect(db))
    now_open = _count(db, still_open)
    late = _count(db, closed_late)
    open_then = _count(db, and_(closed_late, Event.closed_at > cutoff))
    return {"overdue": now_open + late, "overdue_open": now_open + open_then}


def _totals(
    db: Session, scope: Scope, start: date, end: date, cutoff: datetime | None = None
) -> dict[str, Any]:
    """Filed, closed and closed on time (the rollups) of local days start..end, and, given the
    cutoff, the events overdue in that time (the same definition as the 超期清单)."""
    result = aggregate(db, scope=scope, start=start, end=end, counters=FLOW_KEYS)
    totals: dict[str, Any] = {key: result.total(key) for key in FLOW_KEYS}
    totals["on_time_rate"] = totals["done_on_time"] / totals["done"] if totals["done"] else None
    if cutoff is not None:
        totals.update(overdue_counts(db, scope, _utc(start), cutoff))
    return totals


def _overdue_list(
    db: Session, scope: Scope, start: datetime, cutoff: datetime, limit: int
) -> dict[str, Any]:
    """The 超期清单: the events overdue in [start, cutoff), those still open at the cutoff
    first, most overdue first; `total` counts them all."""
    counts = overdue_counts(db, scope, start, cutoff)
    still_open, closed_late = overdue_during(scope, start, cutoff, _dialect(db))
    columns = (Event.code, Event.title, Event.description, Event.town_id, Event.owner_unit_id,
               Event.due_at, Event.category_code, Event.closed_at)  # fmt: skip
    rows = list(
        db.execute(select(*columns).where(still_open).order_by(Event.due_at, Event.id).limit(limit))
    )
    if len(rows) < limit:
        open_then = case((Event.closed_at > cutoff, 0), else_=1)
        rows += db.execute(
            select(*columns)
            .where(closed_late)
            .order_by(open_then, Event.due_at, Event.id)
            .limit(limit - len(rows))
        ).all()
    towns = _town_names(db, scope, {r.town_id for r in rows})
    units = _names(db, Unit, {r.owner_unit_id for r in rows if r.owner_unit_id})
    classes = _names(db, Category, {r.category_code for r in rows}, key="code", name="name_zh")
    items = []
    for r in rows:
        closed = r.closed_at is not None and _aware(r.closed_at) <= cutoff
        until = _aware(r.closed_at) if closed else cutoff
        items.append(
            {
                "code": r.code,
                "description": _brief(r.description) or r.title,
                "town": towns.get(r.town_id, ""),
                "category": classes.get(r.category_code, r.category_code),
                "unit": units.get(r.owner_unit_id, "") if r.owner_unit_id else "",
                "due_at": _local_text(r.due_at),
                "closed_at": _local_text(r.closed_at) if closed else "",
                "status": "超期后办结" if closed else "超期未办结",
                "overdue_hours": round((until - _aware(r.due_at)).total_seconds() / 3600, 1),
            }
        )
    return {"total": counts["overdue"], "open": counts["overdue_open"], "items": items}


def _brief(text: str | None, length: int = 40) -> str:
    """An event's description shortened for a list line."""
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _names(
    db: Session, model: Any, ids: set[Any], *, key: str = "id", name: str = "name"
) -> dict[Any, str]:
    if not ids:
        return {}
    column = getattr(model, key)
    return {
        k: v for k, v in db.execute(select(column, getattr(model, name)).where(column.in_(ids)))
    }


def _town_names(db: Session, scope: Scope, ids: set[int]) -> dict[int, str]:
    """Towns by name; above the district with their district's (a province's town names repeat
    from one county to the next): 柯桥区·柯桥街道."""
    if scope.level not in ("city", "province") or not ids:
        return _names(db, OrgUnit, ids)
    district = aliased(OrgUnit)
    rows = db.execute(
        select(OrgUnit.id, district.name, OrgUnit.name)
        .join(district, district.id == OrgUnit.parent_id)
        .where(OrgUnit.id.in_(ids))
    )
    return {town: f"{above}·{name}" for town, above, name in rows}


def _ranking(rows: list[service.Row], limit: int | None = None) -> list[dict[str, Any]]:
    ranked = service.sort_rows(rows, "-score")[:limit]
    return [
        {
            "rank": r.rank,
            "name": r.name,
            "area": r.area,
            "new": r.counts["new"],
            "closure_rate": r.values["closure_rate"],
            "on_time_rate": r.values["on_time_rate"],
            "rework_rate": r.values["rework_rate"],
            "overdue": r.counts["overdue"],
            "score": r.score,
            "grade": r.grade,
        }
        for r in ranked
    ]


def _orders(db: Session, cutoff: datetime, limit: int, scope: Scope) -> dict[str, Any]:
    """Supervision orders about the area's events still waiting for the unit's reply."""
    waiting = and_(
        SupervisionOrder.status == "open", SupervisionOrder.issued_at < cutoff, in_area(scope)
    )
    total = (
        db.scalar(
            select(func.count())
            .select_from(SupervisionOrder)
            .join(Event, Event.id == SupervisionOrder.event_id)
            .where(waiting)
        )
        or 0
    )
    rows = db.execute(
        select(
            SupervisionOrder.code, SupervisionOrder.kind, SupervisionOrder.unit_id,
            SupervisionOrder.town_id, SupervisionOrder.due_at, Event.code.label("event_code"),
        ).join(Event, Event.id == SupervisionOrder.event_id).where(waiting)
        .order_by(SupervisionOrder.due_at, SupervisionOrder.id).limit(limit)
    ).all()  # fmt: skip
    units = _names(db, Unit, {r.unit_id for r in rows})
    towns = _town_names(db, scope, {r.town_id for r in rows})
    items = [
        {
            "code": r.code,
            "event_code": r.event_code,
            "kind": ORDER_KIND_ZH.get(r.kind, r.kind),
            "unit": units.get(r.unit_id, ""),
            "town": towns.get(r.town_id, ""),
            "due_at": _local_text(r.due_at),
            "late": _aware(r.due_at) < cutoff,
        }
        for r in rows
    ]
    return {"total": total, "items": items}


def _warnings(db: Session, day: date, limit: int, scope: Scope) -> dict[str, Any]:
    """The early warnings raised that day, when the warnings module and its table exist."""
    try:
        from fengqiao.warnings.models import EarlyWarning
    except ImportError:
        return {"available": False, "total": 0, "items": []}
    if not inspect(db.connection()).has_table(EarlyWarning.__tablename__):
        return {"available": False, "total": 0, "items": []}
    that_day = and_(
        EarlyWarning.created_at >= _utc(day), EarlyWarning.created_at < _utc(day + timedelta(1))
    )
    if scope.level == "town":
        that_day = and_(that_day, EarlyWarning.town_id == scope.org_id)
    elif scope.level == "village":
        that_day = and_(that_day, EarlyWarning.village_id == scope.org_id)
    elif scope.level not in REGION_OF:
        return {"available": True, "total": 0, "items": []}  # warnings name no grid
    elif scope.towns is not None:  # its towns' warnings and its own (a district's, say)
        that_day = and_(that_day, or_(EarlyWarning.town_id.in_(scope.towns), and_(
            EarlyWarning.town_id.is_(None),
            EarlyWarning.org_path.startswith(scope_path(db, scope), autoescape=True))))  # fmt: skip
    total = db.scalar(select(func.count()).select_from(EarlyWarning).where(that_day)) or 0
    rows = db.execute(
        select(EarlyWarning.kind, EarlyWarning.message, EarlyWarning.town_id,
               EarlyWarning.created_at, EarlyWarning.status)
        .where(that_day).order_by(EarlyWarning.created_at, EarlyWarning.id).limit(limit)
    ).all()  # fmt: skip
    towns = _town_names(db, scope, {r.town_id for r in rows if r.town_id})
    items = [
        {
            "kind": WARNING_KIND_SHORT_ZH.get(r.kind, r.kind),
            "message": r.message,
            "town": towns.get(r.town_id, "") if r.town_id else "",
            "at": _local_text(r.created_at),
            "acknowledged": r.status != "open",
        }
        for r in rows
    ]
    return {"available": True, "total": total, "items": items}


def issuer(db: Session, scope: Scope) -> str:
    """The issuing unit (发文单位): the area's command centre as the org tree names it (a unit
    of type command_center), else the area's name with 综合信息指挥中心 / 综合信息指挥室."""
    named = db.scalar(
        select(Unit.name)
        .where(
            Unit.org_unit_id == scope.org_id,
            Unit.unit_type == "command_center",
            Unit.active.is_(True),
        )
        .order_by(Unit.id)
        .limit(1)
    )
    return named or fallback_issuer(scope.name, scope.level)


def build(
    db: Session, *, day: date, now: datetime, settings: Settings, scope: Scope | None = None
) -> dict[str, Any]:
    """The bulletin of local day `day` for an area (default: the district) as a JSON document,
    from the state at `now`: a town's bulletin holds only that town's figures and events. It
    is a draft (no 文号) until `issue` numbers it."""
    scope = scope or district_scope(db)
    weights = service.Weights.from_settings(settings)
    month_start = day.replace(day=1)
    limit = settings.bulletin_list_max
    # Lists are as of the end of the day, or now for a day not over yet.
    cutoff = min(now, _utc(day + timedelta(days=1)))
    # The areas one level down are ranked: the district's towns, a town's villages.
    region = REGION_OF.get(scope.level, "village")
    towns = service.assess(db, scope=scope, level=region, start=month_start, end=day,
                           weights=weights) if scope.level != "grid" else None  # fmt: skip
    units = service.assess(db, scope=scope, level="unit", start=month_start, end=day,
                           weights=weights)  # fmt: skip
    region_rows = _ranking(towns.rows) if towns else []
    unit_rows = _ranking(units.rows)
    # The district ranks its towns; a town (or below) its responsible units.
    ranked, subject = (
        (region_rows, REGION_WORD[region]) if scope.level in REGION_OF else (unit_rows, "责任单位")
    )
    totals = {
        "day": _totals(db, scope, day, day, cutoff),
        "month": _totals(db, scope, month_start, day, cutoff),
        "previous_day": _totals(db, scope, day - timedelta(days=1), day - timedelta(days=1)),
        "week": _totals(db, scope, day - timedelta(days=6), day),
        "previous_week": _totals(db, scope, day - timedelta(days=13), day - timedelta(days=7)),
    }
    as_of = _local_text(cutoff)
    story = narrative(
        area=scope.name, day=day, totals=totals, as_of=chinese_time(cutoff.astimezone(LOCAL_TZ)),
        min_base=settings.analytics_min_base, history_start=history_start(db, scope),
    )  # fmt: skip
    return {
        "format": FORMAT,
        "day": day.isoformat(),
        "district": scope.name,  # the area's name (the district's, or a town's …)
        "generated_at": now.astimezone(UTC).isoformat(),
        "as_of": as_of,
        "month_start": month_start.isoformat(),
        "document": {
            "issuer": issuer(db, scope),
            "number": None,
            "title": f"{scope.name}每日通报",
            "day_zh": chinese_date(day),
            "issued_on": chinese_date(now.astimezone(LOCAL_TZ).date()),
            "as_of": chinese_time(cutoff.astimezone(LOCAL_TZ)),
        },
        "narrative": story,
        "totals": totals,
        "region_word": REGION_WORD[region],
        "towns": region_rows[:limit],
        "units": unit_rows[:limit],
        "top_bottom": {"subject": subject, **top_and_bottom(ranked)},
        "overdue": _overdue_list(db, scope, _utc(month_start), cutoff, limit),
        "orders": _orders(db, cutoff, limit, scope),
        "warnings": _warnings(db, day, limit, scope),
        "campaigns": bulletin_section(db=db, org_id=scope.org_id, as_of=cutoff),
        "scope": {"level": scope.level, "id": scope.org_id},
    }


def normalised(content: dict[str, Any]) -> dict[str, Any]:
    """A stored bulletin in the current shape: one made before document numbers (shape 1) has
    no document heading, narrative or top five and calls its overdue list `red_list`."""
    if content.get("format") == FORMAT:
        return content
    day = date.fromisoformat(content["day"])
    red = content.get("red_list", {"total": 0, "items": []})
    return {
        **content,
        "format": FORMAT,
        "document": {
            "issuer": fallback_issuer(content["district"], "district"),
            "number": None,
            "title": f"{content['district']}每日通报",
            "day_zh": chinese_date(day),
            "issued_on": chinese_date(
                datetime.fromisoformat(content["generated_at"]).astimezone(LOCAL_TZ).date()
            ),
            "as_of": content["as_of"],
        },
        "narrative": "",
        "totals": {
            span: {"overdue_open": red["total"], **figures}
            for span, figures in content["totals"].items()
        },
        "region_word": "镇街",
        "top_bottom": {"subject": "镇街", **top_and_bottom(content.get("towns", []))},
        "overdue": {
            "total": red["total"],
            "open": red["total"],
            "items": [
                {"closed_at": "", "status": "超期未办结", "description": item["title"], **item}
                for item in red["items"]
            ],
        },
    }


# --- issuing: the document number --------------------------------------------------------------


def next_serial(db: Session, *, org_id: int, year: int) -> int:
    """The area's next serial of `year` (1 for its first bulletin of the year). The counter row
    stays locked until the caller's transaction ends, so two issuers queue on it; a rolled-back
    issue gives its number back, so issued numbers have no gaps."""
    sequences = cast(Table, BulletinSequence.__table__)
    upsert = (
        postgresql.insert(sequences)
        if db.get_bind().dialect.name == "postgresql"
        else sqlite.insert(sequences)
    )
    statement = (
        upsert.values(org_id=org_id, year=year, value=1)
        .on_conflict_do_update(
            index_elements=["org_id", "year"], set_={"value": sequences.c.value + 1}
        )
        .returning(sequences.c.value)
    )
    return int(db.execute(statement).scalar_one())


def issue(
    db: Session, *, scope: Scope, day: date, content: dict[str, Any], now: datetime,
    settings: Settings,
) -> Bulletin:  # fmt: skip
    """Store an area's bulletin of `day` with the next 文号 of its issuing unit for the year of
    `now`, in the caller's transaction (an IntegrityError if that day is issued already)."""
    year = now.astimezone(LOCAL_TZ).year
    serial = next_serial(db, org_id=scope.org_id, year=year)
    number = document_number(
        settings.bulletin_number_prefix, short=short_name(scope.name, scope.level), year=year,
        serial=serial,
    )  # fmt: skip
    content = {**content, "document": {**content["document"], "number": number}}
    row = Bulletin(org_id=scope.org_id, day=day, generated_at=now, content=content, recipients=0,
                   year=year, serial=serial, number=number)  # fmt: skip
    db.add(row)
    db.flush()
    return row


def content_for(
    db: Session, *, day: date, now: datetime, settings: Settings, scope: Scope | None = None
) -> tuple[dict[str, Any], Bulletin | None]:
    """The area's issued bulletin of `day` (default: the district's), or a draft built now
    (not stored, no 文号) when none was issued: today's, a village's, a day before the first."""
    scope = scope or district_scope(db)
    stored = db.get(Bulletin, (scope.org_id, day))
    if stored is not None:
        return normalised(stored.content), stored
    return build(db, day=day, now=now, settings=settings, scope=scope), None


# --- subscriptions -----------------------------------------------------------------------------

SUBSCRIBERS = ("leader", "operator", "admin")


def check_channels(channels: list[str]) -> list[str]:
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        raise invalid(
            "channels",
            f"one or more of {', '.join(CHANNELS)}",
            "应为 app、sms、email 中的一个或多个",
        )
    return list(dict.fromkeys(channels))


def subscribe(
    db: Session, *, user_id: int, channels: list[str], now: datetime
) -> BulletinSubscription:
    """Subscribe (or change the channels of) a user; the caller commits."""
    row = db.get(BulletinSubscription, user_id)
    if row is None:
        row = BulletinSubscription(user_id=user_id, channels=channels, created_at=now)
        db.add(row)
    else:
        row.channels = channels
    db.flush()
    return row


def unsubscribe(db: Session, *, user_id: int) -> bool:
    """Remove a subscription; False when there was none."""
    row = db.get(BulletinSubscription, user_id)
    if row is None:
        return False
    db.delete(row)
    db.flush()
    return True


# --- the job -----------------------------------------------------------------------------------


def due_days(db: Session, *, now: datetime, settings: Settings) -> list[date]:
    """Days whose bulletin is due and missing: yesterday once the local time has reached
    FENGQIAO_BULLETIN_HOUR, and the days after the district's last stored one a stopped worker
    missed (at most FENGQIAO_BULLETIN_CATCH_UP_DAYS)."""
    local = now.astimezone(LOCAL_TZ)
    today = local.date()
    due_from = datetime.combine(today, time(settings.bulletin_hour), tzinfo=LOCAL_TZ)
    newest = today - timedelta(days=1 if local >= due_from else 2)
    oldest = newest - timedelta(days=settings.bulletin_catch_up_days - 1)
    district = district_scope(db).org_id
    mine = Bulletin.org_id == district
    last = db.scalar(select(func.max(Bulletin.day)).where(mine))
    # A new installation starts with the newest due day, not a backlog of empty ones.
    oldest = newest if last is None else max(oldest, last + timedelta(days=1))
    stored = set(
        db.scalars(select(Bulletin.day).where(mine, Bulletin.day >= oldest, Bulletin.day <= newest))
    )
    days = []
    day = oldest
    while day <= newest:
        if day not in stored:
            days.append(day)
        day += timedelta(days=1)
    return days


def _message(content: dict[str, Any], settings: Settings) -> dict[str, Any]:
    day = content["totals"]["day"]
    rate = day["on_time_rate"]
    return {
        "date": content["day"], "district": content["district"], "new": day["new"],
        "done": day["done"], "on_time": "—" if rate is None else f"{rate * 100:.1f}%",
        "red": content["overdue"]["open"], "orders": content["orders"]["total"],
        "number": content["document"]["number"] or "",
        "path": f"/bulletins?day={content['day']}",
    }  # fmt: skip


def publish(db: Session, *, day: date, now: datetime, settings: Settings) -> Bulletin:
    """Issue the bulletins of `day` (the district's, then each town's, each with its 文号) and
    queue them to every active subscriber, in the caller's transaction; returns the
    district's."""
    issued: dict[int, Bulletin] = {}
    for scope in issuing_scopes(db):
        content = build(db, day=day, now=now, settings=settings, scope=scope)
        issued[scope.org_id] = issue(db, scope=scope, day=day, content=content, now=now,
                                     settings=settings)  # fmt: skip
    subscribers = db.execute(
        select(
            User.id, User.name, User.phone, User.email, User.home_org_id,
            BulletinSubscription.channels,
        )
        .join(BulletinSubscription, BulletinSubscription.user_id == User.id)
        .where(User.is_active.is_(True))
        .order_by(User.id)
    ).all()  # fmt: skip
    # Each subscriber is told their own area's figures: the district's staff the district's
    # bulletin, a town's staff their town's; staff of a village or grid their area's, built
    # once per area (not issued: only the district and the towns issue bulletins).
    payloads: dict[int, dict[str, Any]] = {}
    drafts: dict[int, list[Draft]] = {}
    for s in subscribers:
        if s.home_org_id not in payloads:
            row = issued.get(s.home_org_id)
            content = row.content if row is not None else build(
                db, day=day, now=now, settings=settings, scope=reader_scope(db, s.home_org_id)
            )  # fmt: skip
            payloads[s.home_org_id] = _message(content, settings)
        drafts.setdefault(s.home_org_id, []).extend(
            drafts_for(
                [Person(s.id, s.name, s.phone, s.email)], channels=s.channels,
                template="bulletin", payload=payloads[s.home_org_id],
                key=f"bulletin:{day.isoformat()}",
            )
        )  # fmt: skip
    district = issued[district_scope(db).org_id]
    for org_id, queued in drafts.items():
        sent = enqueue(db, queued, now=now)
        (issued.get(org_id) or district).recipients += sent
    db.flush()
    return district


@dataclass
class RunReport:
    made: int = 0
    messages: int = 0
    skipped: int = 0
    failed: int = 0


def make_due(*, database: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """The job: each missing due day in its own transaction (every issuing area's bulletin of
    the day, numbered, and the messages); a day another worker made at the same moment is
    skipped (its numbers roll back with it), and one failing day does not stop the others."""
    report = RunReport()
    with database.session() as db:
        # A database with no org tree yet (a fresh install) has no bulletin to make: quiet, not
        # a failure logged every minute until someone imports the district.
        if db.scalar(select(OrgUnit.id).where(OrgUnit.kind == "district").limit(1)) is None:
            return {"made": 0, "messages": 0, "skipped": 0, "failed": 0}
        days = due_days(db, now=now, settings=settings)
    for day in days:
        try:
            with database.transaction() as db:
                publish(db, day=day, now=now, settings=settings)
                report.made += 1
                report.messages += (
                    db.scalar(select(func.sum(Bulletin.recipients)).where(Bulletin.day == day)) or 0
                )
        except IntegrityError:
            report.skipped += 1  # another worker made it first
        except Exception:
            log.exception("bulletin of %s failed; the next run tries again", day)
            report.failed += 1
    return {"made": report.made, "messages": report.messages, "skipped": report.skipped,
            "failed": report.failed}  # fmt: skip
