"""Positions carry their grid's district (migration 0040), on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.org.districts import district_of
from fengqiao.patrol.models import Position

from .conftest import START, People, Phone, walk


def test_recorded_positions_carry_their_grids_district(
    phone: Callable[[str], Phone], people: People, db: Session
) -> None:
    worker = phone("demo_grid_worker")
    points = walk(*people.inside(), START, 5, every_s=7)
    answer = worker.send(points)
    assert answer["stored"] == 5
    sent = [datetime.fromisoformat(point["at"]) for point in points]
    rows = db.execute(
        select(Position.grid_id, Position.district_id).where(
            Position.user_id == people.ids["demo_grid_worker"], Position.at.in_(sent)
        )
    ).all()
    assert len(rows) == 5
    for row in rows:
        assert row.grid_id is not None and row.district_id is not None
        assert row.district_id == district_of(db, row.grid_id)
