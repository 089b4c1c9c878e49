"""The questions of analysis as the API asks them: whose area, which days, what to call things."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Scope
from fengqiao.auth.service import home_reach
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import forbidden, invalid, not_found
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal

ANALYSIS_ROLES = ("leader", "operator", "admin", "unit_leader")
SCOPE_KINDS = ("province", "city", "district", "town", "village", "grid")
# Longest range a chart is asked for (ten years): beyond it, a typo rather than a question.
MAX_DAYS = 3660
# Ids per statement when names are read in chunks (SQLite: well under its parameter limit).
ID_CHUNK = 900


def resolve_scope(db: Session, *, principal: Principal, org_id: int | None) -> Scope:
    """The area asked about (default: the caller's own), refused outside the caller's area.

    The one place analysis, assessment and bulletins turn a `scope` parameter into an area;
    callers check the caller's role first.
    """
    target = org_id if org_id is not None else principal.home_org_id
    row = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.path, OrgUnit.kind).where(OrgUnit.id == target)
    ).first()
    if row is None:
        raise not_found("area", "区域")
    if not principal.covers(row.path):
        raise forbidden(
            "outside your scope: you may only analyse your own area",
            "超出您的管辖范围：只能分析本辖区的数据",
        )
    if row.kind not in SCOPE_KINDS:
        raise invalid(
            "scope",
            "pick a province, city, district, town, village or grid",
            "请选择省、市、区、镇街、村社或网格",
        )
    return scope_of(db, org_id=row.id, kind=row.kind, name=row.name, path=row.path)


def scope_of(db: Session, *, org_id: int, kind: str, name: str, path: str) -> Scope:
    """The analysis area of an org unit: above the town, limited to its towns when it shares
    the database with other districts (`auth.service.home_reach`)."""
    towns = districts = None
    if kind in ("province", "city", "district"):
        _, reach = home_reach(db, path)
        if reach is not None:
            towns = tuple(sorted(reach))
            districts = (org_id,) if kind == "district" else districts_below(db, path)
    return Scope(level=kind, org_id=org_id, name=name, towns=towns, districts=districts)


def districts_below(db: Session, path: str) -> tuple[int, ...]:
    """The districts under an area above them (a city's, a province's), by id."""
    statement = select(OrgUnit.id).where(
        OrgUnit.kind == "district", OrgUnit.path.startswith(path, autoescape=True)
    )
    return tuple(sorted(db.scalars(statement)))


def history_start(db: Session, scope: Scope) -> date | None:
    """The local day of the area's first event (None: it has none): a base period that began
    before it holds only part of its days. One step down an index led by the area."""
    from fengqiao.events.models import Event

    column = {"town": Event.town_id, "village": Event.village_id, "grid": Event.grid_id}.get(
        scope.level
    )
    statement = select(func.min(Event.created_at))
    if column is not None:
        statement = statement.where(column == scope.org_id)
    towns = scope.town_filter(Event.town_id)
    if towns is not None:
        statement = statement.where(towns)
    first = db.scalar(statement)
    if first is None:
        return None
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return first.astimezone(LOCAL_TZ).date()


def today(now: datetime) -> date:
    return now.astimezone(LOCAL_TZ).date()


def parse_range(
    start: str | None,
    end: str | None,
    *,
    today: date,
    default_start: Callable[[date], date] = lambda last: last - timedelta(days=29),
    max_days: int = MAX_DAYS,
) -> tuple[date, date]:
    """The local days from..to (inclusive) of a request: `to` defaults to today, `from` to
    `default_start(to)` (the 30 days up to `to` unless said otherwise)."""
    last = parse_day(end, "to") if end else today
    first = parse_day(start, "from") if start else default_start(last)
    if first > last:
        raise invalid("from", "from must not be after to", "开始日期不能晚于结束日期")
    if (last - first).days >= max_days:
        years = round(max_days / 365)
        raise invalid("from", f"a range of at most {years} years", f"时间范围最长{years}年")
    return first, last


def parse_day(value: str, field: str = "date") -> date:
    """A local day from YYYY-MM-DD, or a 422 naming the field."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(
            field,
            f"not a date: {value!r}; use a real day written like 2026-11-27",
            f"日期格式有误：{value}，应为 2026-11-27 这样真实存在的日期",
        ) from None


def year_before(day: date) -> date:
    """The same day a year earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def comparison_ranges(start: date, end: date) -> dict[str, tuple[date, date]]:
    """同比 (the same days a year earlier) and 环比 (the as-long period just before)."""
    length = (end - start).days + 1
    return {
        "yoy": (year_before(start), year_before(end)),
        "mom": (start - timedelta(days=length), start - timedelta(days=1)),
    }


@dataclass
class Names:
    """What to call classes, places, units and people in a chart (loaded on demand)."""

    db: Session
    cache: dict[str, dict[object, str]] = field(default_factory=dict)

    def majors(self) -> dict[object, str]:
        from fengqiao.taxonomy.models import CategoryMajor

        return self._load("majors", select(CategoryMajor.code, CategoryMajor.name_zh))

    def categories(self) -> dict[object, str]:
        from fengqiao.taxonomy.models import Category

        return self._load("categories", select(Category.code, Category.name_zh))

    def orgs(self, ids: list[int]) -> dict[object, str]:
        return self._by_id(OrgUnit.id, OrgUnit.name, ids)

    def units(self, ids: list[int]) -> dict[object, str]:
        from fengqiao.org.models import Unit

        return self._by_id(Unit.id, Unit.name, ids)

    def users(self, ids: list[int]) -> dict[object, str]:
        from fengqiao.auth.models import User

        return self._by_id(User.id, User.name, ids)

    def _by_id(self, key: Any, name: Any, ids: list[int]) -> dict[object, str]:
        """Names of many ids: on PostgreSQL one array parameter (`= ANY`), not an IN list of
        thousands of parameters (a province's 28,000 units took seconds to compile and plan);
        on SQLite in chunks under its limit of bound parameters."""
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return {}
        if self.db.get_bind().dialect.name == "postgresql":
            array = bindparam("ids", wanted, type_=ARRAY(Integer))
            return {
                row[0]: row[1]
                for row in self.db.execute(select(key, name).where(key == any_(array)))
            }
        found: dict[object, str] = {}
        for at in range(0, len(wanted), ID_CHUNK):
            chunk = wanted[at : at + ID_CHUNK]
            found.update(
                {row[0]: row[1] for row in self.db.execute(select(key, name).where(key.in_(chunk)))}
            )
        return found

    def _load(self, key: str, statement: object) -> dict[object, str]:
        if key not in self.cache:
            self.cache[key] = {row[0]: row[1] for row in self.db.execute(statement)}  # type: ignore[call-overload]
        return self.cache[key]
