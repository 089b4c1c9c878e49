"""The event list's 市 and 区 filters: a city or district named by id, checked against the
caller's scope and translated to the towns below it, as the scope code filters (`area_clause`),
so that the list's town indexes serve the filter and no path prefix is matched per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from fengqiao.errors import forbidden, invalid
from fengqiao.events.models import Event
from fengqiao.events.queries import EventFilters
from fengqiao.events.schemas import Ref
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.taxonomy.snapshot import Rules

# The filter parameters above the town, the kind of org unit each names and its words.
AREA_FILTERS = (("city", "city", "市"), ("district", "district", "区（县）"))


def _towns_below(db: Session, paths: Iterable[str]) -> tuple[int, ...]:
    """The towns whose paths start with one of `paths` (one indexed prefix read per path)."""
    towns: set[int] = set()
    for path in sorted(set(paths)):
        towns.update(
            db.scalars(
                select(OrgUnit.id).where(
                    OrgUnit.path.startswith(path, autoescape=True), OrgUnit.kind == "town"
                )
            )
        )
    return tuple(sorted(towns))


def resolve_areas(db: Session, filters: EventFilters, principal: Principal) -> None:
    """Check the `city` and `district` filters and set `filters.area_towns` to the towns each
    names (one tuple per filter given; an event must lie in every one).

    An id that is no org unit of that kind is a 422 on its field; one outside the caller's
    subtree (a city operator naming another city's district) is a 403, with nothing read."""
    area_towns: list[tuple[int, ...]] = []
    for name, kind, words in AREA_FILTERS:
        ids = sorted(set(getattr(filters, name)))
        if not ids:
            continue
        rows = db.execute(
            select(OrgUnit.id, OrgUnit.kind, OrgUnit.path).where(OrgUnit.id.in_(ids))
        ).all()
        found = {row.id: row for row in rows if row.kind == kind}
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise invalid(
                name,
                f"no {kind} with id {', '.join(map(str, unknown[:5]))}",
                f"编号 {'、'.join(map(str, unknown[:5]))} 不是{words}",
            )
        outside = [i for i in ids if not principal.covers(found[i].path)]
        if outside:
            raise forbidden(
                f"{name} {', '.join(map(str, outside[:5]))} lies outside your scope",
                f"所选{words}不在您的管辖范围内，只能筛选本辖区的{words}",
            )
        area_towns.append(_towns_below(db, (found[i].path for i in ids)))
    filters.area_towns = tuple(area_towns)


def area_refs(
    db: Session, rules: Rules, events: Sequence[Event]
) -> dict[int, tuple[Ref | None, Ref | None]]:
    """Town id → (its city, its district) for the towns of these events, in one query (the
    district from the rules' town map; the city is the district's parent when it is a city)."""
    districts = {d for d in (rules.district_of(e.town_id) for e in events) if d is not None}
    if not districts:
        return {}
    city = aliased(OrgUnit)
    rows = db.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, city.id, city.code, city.name)
        .outerjoin(city, and_(city.id == OrgUnit.parent_id, city.kind == "city"))
        .where(OrgUnit.id.in_(sorted(districts)), OrgUnit.kind == "district")
    ).all()
    by_district = {
        row[0]: (
            Ref(id=row[3], code=row[4], name=row[5]) if row[3] is not None else None,
            Ref(id=row[0], code=row[1], name=row[2]),
        )
        for row in rows
    }
    out: dict[int, tuple[Ref | None, Ref | None]] = {}
    for event in events:
        district = rules.district_of(event.town_id)
        if district in by_district:
            out[event.town_id] = by_district[district]
    return out
