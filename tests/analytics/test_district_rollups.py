"""The district-keyed rollups (migration 0043): kept like every rollup, and filled on upgrade
from their town-keyed twins, with the rollup queue's stored states given their district."""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlalchemy import select, text

from fengqiao.analytics.models import SPECS
from fengqiao.analytics.rollups import compare, stored
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.demo.events import default_until, seed_events
from fengqiao.demo.seed import seed
from fengqiao.events.changes import STATE_COLUMNS, decode_state, encode_state, state_of
from fengqiao.events.models import Event
from fengqiao.migrate import downgrade, upgrade
from fengqiao.org.models import OrgUnit

DISTRICT_TABLES = [spec for spec in SPECS if spec.by_district]


def test_an_upgrade_fills_the_district_rollups_from_the_town_ones(fresh_db: Database) -> None:
    seed(db=fresh_db, scale="small", password="district-rollups-pass")
    seed_events(db=fresh_db, count=400, until=default_until())
    with fresh_db.session() as session:
        event = session.scalars(select(Event).order_by(Event.id).limit(1)).one()
        district = session.get(OrgUnit, event.town_id).parent_id  # type: ignore[union-attr]
        assert event.district_id == district
        state = encode_state(state_of(event))
    with fresh_db.engine.begin() as connection:
        kept = {spec.name: stored(connection, spec) for spec in DISTRICT_TABLES}
        assert all(kept.values()), "the seed's rebuild fills every district table"
        assert compare(connection) == {}
        # A change the worker has not taken yet, queued with the state its rollups hold.
        connection.execute(
            text("INSERT INTO rollup_pending (event_id, before, queued_at) VALUES (:e, :b, :at)"),
            {"e": event.id, "b": state, "at": default_until() - timedelta(minutes=1)},
        )

    downgrade(fresh_db.url, "0042_regions")
    with fresh_db.engine.connect() as connection:
        before = connection.execute(text("SELECT before FROM rollup_pending")).scalar_one()
        assert len(orjson.loads(before)) == len(STATE_COLUMNS) - 1
    upgrade(fresh_db.url)

    with fresh_db.engine.connect() as connection:
        assert {spec.name: stored(connection, spec) for spec in DISTRICT_TABLES} == kept
        assert compare(connection) == {}
        before = connection.execute(text("SELECT before FROM rollup_pending")).scalar_one()
    assert decode_state(before).district_id == district
    assert decode_state(before).created_at.astimezone(LOCAL_TZ) == event.created_at.astimezone(
        LOCAL_TZ
    )
