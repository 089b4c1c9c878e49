"""The areas that issue and read daily bulletins, at every level of the tree.

The root of the tree (a district-only database's district, or the province) issues the
bulletin that subscriptions and the job follow; every province, city and district below it
and every town issue their own. An area above the town that shares the database with others
reads only its own towns' rows (`analytics.service.scope_of`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Scope
from fengqiao.analytics.service import scope_of
from fengqiao.errors import Problem
from fengqiao.org.models import ORG_LEVEL_ZH, OrgUnit

# The level each area ranks in its bulletin: one level down.
REGION_OF = {"province": "city", "city": "district", "district": "town"}
# What a bulletin calls the areas it ranks: a city's are districts, counties and county-level
# cities (建德市, 淳安县), officially "县（市、区）".
REGION_WORD = {**ORG_LEVEL_ZH, "district": "县（市、区）"}


def district_scope(db: Session) -> Scope:
    """The area the bulletin job reports on first: the root of the tree."""
    row = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.kind, OrgUnit.path)
        .where(OrgUnit.parent_id.is_(None), OrgUnit.kind.in_(("province", "city", "district")))
        .order_by(OrgUnit.id)
    ).first()
    if row is None:
        raise Problem(409, "no-district", "No district", "尚未导入区划", "import the org tree first",
                      "请先导入行政区划")  # fmt: skip
    return scope_of(db, org_id=row.id, kind=row.kind, name=row.name, path=row.path)


def issuing_scopes(db: Session) -> list[Scope]:
    """The areas that issue a bulletin each day: the root, the areas above the towns, the towns."""
    root = district_scope(db)
    above = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.kind, OrgUnit.path)
        .where(
            OrgUnit.kind.in_(("province", "city", "district")),
            OrgUnit.valid_to.is_(None),
            OrgUnit.id != root.org_id,
        )
        .order_by(OrgUnit.id)
    ).all()
    towns = db.execute(
        select(OrgUnit.id, OrgUnit.name)
        .where(OrgUnit.kind == "town", OrgUnit.valid_to.is_(None))
        .order_by(OrgUnit.id)
    ).all()
    return [
        root,
        *(scope_of(db, org_id=a.id, kind=a.kind, name=a.name, path=a.path) for a in above),
        *(Scope(level="town", org_id=t.id, name=t.name) for t in towns),
    ]


def reader_scope(db: Session, org_id: int) -> Scope:
    """The bulletin a person homed at `org_id` reads: their own area's."""
    row = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.kind, OrgUnit.path).where(OrgUnit.id == org_id)
    ).one()
    return scope_of(db, org_id=row.id, kind=row.kind, name=row.name, path=row.path)


def scope_path(db: Session, scope: Scope) -> str:
    """The materialised path of the scope's area."""
    return db.scalar(select(OrgUnit.path).where(OrgUnit.id == scope.org_id)) or "/"
