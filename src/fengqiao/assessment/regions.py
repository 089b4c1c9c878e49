"""Which region of a level a grid or town lies in, for rankings at any level of the tree.

A province ranks its cities, a city its districts, a district its towns, a town its villages: the
owner of a grid (or town) at a level is the unit of that level on its materialised path, found
by id, so the depth of the tree above the district does not matter.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.org.models import OrgUnit

# Region levels a scope of each kind ranks, one level down first.
REGIONS_IN = {
    "province": ("city", "district", "town", "village"),
    "city": ("district", "town", "village"),
    "district": ("town", "village"),
    "town": ("town", "village"),
}


def owner_in(path: str, places: set[int]) -> int | None:
    """The id on `path` that is one of `places` (the region it lies in), or None."""
    for part in path.strip("/").split("/"):
        if part and int(part) in places:
            return int(part)
    return None


def town_owners(db: Session, *, path: str, places: set[int]) -> dict[int, int]:
    """Each town below `path` → the region of `places` it lies in."""
    rows = db.execute(
        select(OrgUnit.id, OrgUnit.path).where(
            OrgUnit.kind == "town", OrgUnit.path.startswith(path, autoescape=True)
        )
    ).all()
    found = {town: owner_in(town_path, places) for town, town_path in rows}
    return {town: owner for town, owner in found.items() if owner is not None}


def regrouped(
    sums: dict[int, dict[str, int]], owners: dict[int, int], counters: Iterable[str]
) -> dict[int, dict[str, int]]:
    """Per-town sums added up per region."""
    names = tuple(counters)
    grouped: dict[int, dict[str, int]] = {}
    for town, counts in sums.items():
        owner = owners.get(town)
        if owner is None:
            continue
        target = grouped.setdefault(owner, dict.fromkeys(names, 0))
        for name in names:
            target[name] += counts.get(name, 0)
    return grouped
