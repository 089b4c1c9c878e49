"""The demo seed's patrols: today's walks relative to the seed time, a live layer with people on
it, and totals that agree with the stored points."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fengqiao.app import create_app
from fengqiao.auth.models import GridAssignment, User
from fengqiao.auth.security import issue_token
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.db import Database
from fengqiao.demo.seed import seed
from fengqiao.patrol import tracks
from fengqiao.patrol.models import Patrol, Position
from tests.conftest import TEST_KEY, make_settings

# 14:30 in Shanghai: the morning's patrols are over, the afternoon's are under way.
NOW = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)


def test_todays_patrols(fresh_db: Database) -> None:
    report = seed(db=fresh_db, scale="small", password="pw", now=NOW)
    with fresh_db.session() as db:
        patrols = list(db.scalars(select(Patrol).order_by(Patrol.id)))
        workers = db.scalar(select(func.count(func.distinct(GridAssignment.user_id))))
        demo = db.scalar(select(User.id).where(User.username == "demo_grid_worker"))
        positions = db.scalar(select(func.count()).select_from(Position))
        by_patrol: dict[int, list[tracks.TrackPoint]] = {}
        for row in db.execute(select(Position).order_by(Position.at)).scalars():
            by_patrol.setdefault(row.patrol_id or 0, []).append(
                tracks.TrackPoint(row.at, row.lat, row.lng, row.grid_id)
            )
        homes = dict(db.execute(select(GridAssignment.user_id, GridAssignment.grid_id)).all())
    assert workers == 100 and report.patrols == len(patrols) and report.positions == positions
    closed = [p for p in patrols if p.ended_at is not None]
    opened = [p for p in patrols if p.ended_at is None]
    assert len(closed) == 33 and len(opened) == 10
    assert len({p.user_id for p in patrols}) == 43  # nobody walks twice
    assert demo in {p.user_id for p in closed}
    today = NOW.astimezone(LOCAL_TZ).date()
    for patrol in patrols:
        assert patrol.started_at.astimezone(LOCAL_TZ).date() == today
        assert f"/{homes[patrol.user_id]}/" in patrol.home_path
        assert homes[patrol.user_id] in patrol.grids  # they walk in their own grid
        counted = tracks.summarise(by_patrol[patrol.id])
        assert patrol.points == counted.points and abs(patrol.distance_m - counted.distance_m) < 0.1
        assert 20 * 60 <= patrol.duration_s <= 61 * 60 or patrol.ended_at is None
    for patrol in closed:
        assert patrol.ended_at is not None and patrol.ended_at <= NOW
    for patrol in opened:
        assert patrol.last_at is not None and NOW - timedelta(minutes=5) <= patrol.last_at <= NOW


def test_the_seeded_live_layer_shows_people(fresh_db: Database, tmp_path: Path) -> None:
    seed(db=fresh_db, scale="small", password="pw", now=NOW)
    with fresh_db.session() as db:
        operator = db.scalar(select(User.id).where(User.username == "demo_district_operator"))
    assert operator is not None
    settings = make_settings(fresh_db.url, tmp_path)
    app = create_app(settings, database=fresh_db, clock=FixedClock(NOW))
    headers = {"Authorization": f"Bearer {issue_token(user_id=operator, key=TEST_KEY, minutes=5)}"}
    with TestClient(app) as client:
        live = client.get("/api/v1/positions/latest?minutes=5", headers=headers).json()
        tracks_today = client.get("/api/v1/tracks/geojson", headers=headers).json()
    on_patrol = Counter(f["properties"]["on_patrol"] for f in live["features"])
    assert on_patrol == {True: 10}
    assert len(tracks_today["features"]) == 43
