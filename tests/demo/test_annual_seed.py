"""The demo's annual assessment: last year closed with its benchmark towns confirmed and every
department evaluated by a leader of the area that holds it; this year open; deterministic and
done once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from fengqiao.assessment.annual_models import AnnualScheme, BenchmarkList, UnitEvaluation
from fengqiao.auth.models import User
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.demo.annual import seed_annual
from fengqiao.demo.events import seed_events
from fengqiao.demo.seed import seed
from fengqiao.org.models import Unit

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_the_demo_seeds_last_years_closed_assessment(fresh_db: Database) -> None:
    seed(db=fresh_db, scale="small", password="pw")
    seed_events(db=fresh_db, count=600, until=NOW)
    settings = Settings(database_url=fresh_db.url, secret_key="k")
    report = seed_annual(database=fresh_db, now=NOW, settings=settings)
    assert report.schemes == 2 and report.benchmarks == 1
    with fresh_db.session() as db:
        last, this = db.get(AnnualScheme, 2025), db.get(AnnualScheme, 2026)
        assert last is not None and last.status == "closed" and last.closed_at is not None
        assert this is not None and this.status == "open"
        listed = db.get(BenchmarkList, 2025)
        assert listed is not None and len(listed.town_ids) == 1 and listed.confirmed_by
        judged = db.execute(
            select(Unit.org_unit_id, User.home_org_id)
            .join(UnitEvaluation, UnitEvaluation.unit_id == Unit.id)
            .join(User, User.id == UnitEvaluation.entered_by)
            .where(UnitEvaluation.year == 2025)
        ).all()
        assert len(judged) == report.evaluations - sum(
            1 for _ in db.scalars(select(UnitEvaluation.unit_id).where(UnitEvaluation.year == 2026))
        )
        assert judged and all(unit_area == home for unit_area, home in judged)
    again = seed_annual(database=fresh_db, now=NOW, settings=settings)
    assert again.schemes == 0
