"""The charts of places and units (研判 8, 9, 12 and 13): the map, the areas ranked one level
down, overdue by place and unit, and the units' volume against their handling time."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from sqlalchemy import select

from fengqiao.analytics.chart_base import CHILD_LEVEL, Question, _by_child, _by_one
from fengqiao.org.models import ORG_LEVEL_ZH, OrgUnit

# Areas whose map colours the areas one level down instead of every grid (a province's 85,000
# grids are neither readable on one map nor cheap to send).
MAP_BY_AREA = ("province", "city")


def grid_map(q: Question) -> dict[str, Any]:
    if q.scope.level in MAP_BY_AREA:
        return _area_map(q)
    # Rows (grid, new, overdue) used as they come: a district has thousands of grids, so no
    # dict per grid.
    rows = q.sum(("grid_id",), ("new", "overdue")).rows
    rows.sort(key=lambda row: (-row[1], row[0]))
    top = rows[:10]
    names = q.names.orgs([row[0] for row in top])
    top_names = [names.get(row[0], str(row[0])) for row in top]
    return {
        "kind": "map",
        "grids": {str(grid): new for grid, new, _ in rows},
        "max": rows[0][1] if rows else 0,
        "series": [
            {
                "name": "高发网格",
                "data": [
                    {"name": name, "value": row[1]}
                    for name, row in zip(top_names, top, strict=True)
                ],
            }
        ],
        "x": top_names,
        "table": (["网格ID", "新增", "超期"], [list(row) for row in rows]),
    }


def _area_map(q: Question) -> dict[str, Any]:
    """The map of a city or province: its districts or cities coloured by their new events
    (`areas`, every one of them, 0 where none), drawn on the outlines of `/map/areas`."""
    child = CHILD_LEVEL[q.scope.level]
    counts = _by_child(q, child, ("new", "overdue"))
    places = q.db.execute(
        select(OrgUnit.id, OrgUnit.name).where(
            OrgUnit.kind == child, OrgUnit.path.like(f"%/{q.scope.org_id}/%")
        )
    ).all()
    rows = [(p.id, p.name, *(counts.get(p.id, {}).get(c, 0) for c in ("new", "overdue")))
            for p in places]  # fmt: skip
    rows.sort(key=lambda row: (-row[2], row[1]))
    top = rows[:10]
    return {
        "kind": "map",
        "level": child,
        "areas": {str(row[0]): row[2] for row in rows},
        "grids": {},
        "max": rows[0][2] if rows else 0,
        "series": [{"name": "高发区域", "data": [{"name": r[1], "value": r[2]} for r in top]}],
        "x": [row[1] for row in top],
        "table": ([ORG_LEVEL_ZH[child], "新增", "超期"], [list(row[1:]) for row in rows]),
    }


def areas_ranked(q: Question) -> dict[str, Any]:
    child = CHILD_LEVEL[q.scope.level]
    rows = _by_child(q, child, ("new", "closed"))
    places = q.db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.households).where(
            OrgUnit.kind == child, OrgUnit.path.like(f"%/{q.scope.org_id}/%")
        )
    ).all()
    ranked = []
    for place in places:
        counts = rows.get(place.id, {"new": 0, "closed": 0})
        households = place.households or 0
        # Ranked on the exact rate (as a fraction, no float error), rounded only to be shown:
        # two places that both show 1.5 still come in their true order.
        exact = Fraction(counts["new"] * 1000, households) if households else Fraction(0)
        per_1000 = round(float(exact), 1) if households else None
        ranked.append({"id": place.id, "name": place.name, "households": households,
                       "new": counts["new"], "per_1000": per_1000, "exact": exact})  # fmt: skip
    ranked.sort(key=lambda r: (-r["exact"], -r["new"], r["name"]))
    return {
        "kind": "bar",
        "level": child,
        "x": [r["name"] for r in ranked],
        "series": [
            {"name": "每千户事件数", "data": [r["per_1000"] for r in ranked]},
            {"name": "新增", "data": [r["new"] for r in ranked]},
        ],
        "table": (
            [ORG_LEVEL_ZH[child], "户数", "新增", "每千户"],
            [[r["name"], r["households"], r["new"], r["per_1000"]] for r in ranked],
        ),
    }


def overdue_by_place_unit(q: Question) -> dict[str, Any]:
    child = CHILD_LEVEL[q.scope.level]
    places = _by_child(q, child, ("overdue",))
    units = _by_one(q.sum(("owner_unit_id",), ("overdue",)))
    place_rows = sorted(((k, v["overdue"]) for k, v in places.items() if v["overdue"]),
                        key=lambda kv: (-kv[1], kv[0]))  # fmt: skip
    unit_rows = sorted(((k, v["overdue"]) for k, v in units.items() if v["overdue"] and k),
                       key=lambda kv: (-kv[1], kv[0]))[:15]  # fmt: skip
    place_names = q.names.orgs([k for k, _ in place_rows])
    unit_names = q.names.units([k for k, _ in unit_rows])
    return {
        "kind": "bar",
        "x": [place_names.get(k, str(k)) for k, _ in place_rows],
        "series": [{"name": "超期件数", "data": [v for _, v in place_rows]}],
        "units": {
            "x": [unit_names.get(k, str(k)) for k, _ in unit_rows],
            "data": [v for _, v in unit_rows],
        },
        "table": (
            ["类别", "名称", "超期件数"],
            [[ORG_LEVEL_ZH[child], place_names.get(k, str(k)), v] for k, v in place_rows]
            + [["责任单位", unit_names.get(k, str(k)), v] for k, v in unit_rows],
        ),
    }


# The most units the scatter shows above the district (those with the most events dispatched):
# a district's several hundred (the demo 柯桥区 595) are all shown; a province's 36,000 points
# are unreadable, and naming them all cost more than every other chart together.
UNITS_SHOWN = {"province": 500, "city": 500}


def units_volume_time(q: Question) -> dict[str, Any]:
    # Rows (unit, dispatched, closed, handle_seconds) as they come: a province has tens of
    # thousands of units.
    rows = q.sum(("owner_unit_id",), ("dispatched", "closed", "handle_seconds")).rows
    units = [row for row in rows if row[0] and row[1]]
    units.sort(key=lambda row: (-row[1], row[0]))
    total = len(units)
    units = units[: UNITS_SHOWN.get(q.scope.level, total)]
    names = q.names.units([row[0] for row in units])
    points = []
    for unit, dispatched, closed, seconds in units:
        hours = round(seconds / closed / 3600, 1) if closed else None
        points.append({"name": names.get(unit, str(unit)), "value": [dispatched, hours]})
    return {
        "kind": "scatter",
        "series": [{"name": "责任单位", "data": points}],
        "summary": {"units_shown": len(points), "units_total": total},
        "table": (
            ["责任单位", "交办件数", "平均处置时长（小时）"],
            [[p["name"], *p["value"]] for p in points],
        ),
    }
