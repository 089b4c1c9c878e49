"""The demo's bulk inserts (events, trail rows, positions) and its rollup rebuild fill
district_id and the trail's filed_at, as the online paths do (migration 0040)."""

from __future__ import annotations

from sqlalchemy import text

from fengqiao.analytics.models import DAY_TABLES
from tests.conftest import KEQIAO_GROUP, Keqiao

pytestmark = KEQIAO_GROUP


def test_the_seeded_district_leaves_no_big_row_without_its_district(keqiao: Keqiao) -> None:
    with keqiao.database.engine.connect() as connection:
        for table in ("event", "event_log", "position", *DAY_TABLES):
            total, missing = connection.execute(
                text(f"SELECT count(*), count(*) - count(district_id) FROM {table}")
            ).one()
            assert total and missing == 0, (table, total, missing)
        # Each event's district is its town's parent; each trail row's, its event's.
        wrong = connection.execute(
            text(
                "SELECT count(*) FROM event e JOIN org_unit t ON t.id = e.town_id "
                "WHERE e.district_id <> t.parent_id"
            )
        ).scalar_one()
        strays = connection.execute(
            text(
                "SELECT count(*) FROM event_log l JOIN event e ON e.id = l.event_id "
                "WHERE l.district_id <> e.district_id OR l.filed_at <> e.created_at"
            )
        ).scalar_one()
        assert wrong == 0 and strays == 0
