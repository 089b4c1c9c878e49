"""Every instance's grid index follows the stored grids through the change counter."""

from __future__ import annotations

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.config import Settings
from fengqiao.geo.service import GridLocator
from fengqiao.org.importer import import_tree
from fengqiao.org.models import OrgUnit
from fengqiao.org.service import GRIDS_COUNTER, bump_counter, read_counter


def outline(unit: OrgUnit) -> BaseGeometry:
    assert unit.geometry is not None
    return shape(unit.geometry)


def test_another_instance_rebuilds_after_a_grid_change(db: Session, settings: Settings) -> None:
    this_instance, other_instance = GridLocator(check_seconds=0), GridLocator(check_seconds=3600)
    this_instance.refresh(db)
    other_instance.refresh(db)
    grids = db.scalars(select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.code)).all()
    # Move the border between two neighbouring grids of one village: a point of the first
    # grid goes to the second.
    first, second = next(
        (a, b)
        for a in grids
        for b in grids
        if a.parent_id == b.parent_id and a.id < b.id and outline(a).touches(outline(b))
    )
    a_shape, b_shape = outline(first), outline(second)
    moved = a_shape.intersection(b_shape.buffer(0.002))
    probe = shapely.get_coordinates(moved.representative_point())[0]
    assert this_instance.locate(*probe).grid_code == first.code
    new_a, new_b = a_shape.difference(moved), b_shape.union(moved)
    before = read_counter(db=db, name=GRIDS_COUNTER)
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": u.code, "name": u.name, "households": u.households},
                "geometry": mapping(geom),
            }
            for u, geom in ((first, new_a), (second, new_b))
        ],
    }
    import_tree(db=db, data=collection, settings=settings)
    bump_counter(db=db, name=GRIDS_COUNTER)
    assert read_counter(db=db, name=GRIDS_COUNTER) == before + 1
    this_instance.refresh(db)
    assert this_instance.locate(*probe).grid_code == second.code
    # The other instance keeps its index until its next check is due, then follows.
    assert not other_instance.needs_check()
    assert other_instance.locate(*probe).grid_code == first.code
    other_instance.check_seconds = 0
    assert other_instance.needs_check()
    other_instance.refresh(db)
    assert other_instance.locate(*probe).grid_code == second.code
