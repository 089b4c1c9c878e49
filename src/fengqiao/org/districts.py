"""The district of a row: the id of the org unit's ancestor of kind "district".

Every big table (events, trail rows, positions, the outbox, the rollup day tables) carries
`district_id` so that a distributed PostgreSQL (Citus, distribution column `district_id`) can
take the schema as it is. The tree is ".../<district>/<town>/<village>/<grid>/", so a unit's
district follows from its kind and path alone: no walk up the parents.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.org.models import OrgUnit

# How far below its district a unit of each kind sits; kinds above the district have none.
DEPTH_BELOW_DISTRICT = {"district": 0, "town": 1, "village": 2, "grid": 3}
_CACHE = "fengqiao_district_of"


def district_from_path(*, kind: str, path: str) -> int | None:
    """The district id of a unit of `kind` at `path` ("/.../<district id>/.../"), or None."""
    depth = DEPTH_BELOW_DISTRICT.get(kind)
    ids = [part for part in path.split("/") if part]
    if depth is None or len(ids) <= depth:
        return None
    return int(ids[-1 - depth])


def district_ids(db: Session, org_ids: Iterable[int | None]) -> dict[int, int | None]:
    """The district of each org unit (None above a district or unknown), read once per session."""
    cache: dict[int, int | None] = db.info.setdefault(_CACHE, {})
    wanted = {i for i in org_ids if i is not None and i > 0} - cache.keys()
    if wanted:
        with db.no_autoflush:
            rows = db.execute(
                select(OrgUnit.id, OrgUnit.kind, OrgUnit.path).where(OrgUnit.id.in_(wanted))
            ).all()
        for row in rows:
            cache[row.id] = district_from_path(kind=row.kind, path=row.path)
        for missing in wanted - {row.id for row in rows}:
            cache[missing] = None
    return cache


def district_of(db: Session, org_id: int | None) -> int | None:
    """The district of one org unit (None above a district or unknown)."""
    if org_id is None or org_id <= 0:
        return None
    return district_ids(db, [org_id]).get(org_id)
