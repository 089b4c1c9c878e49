"""The bulletin's campaign section (专项整治进展): the campaigns running on the bulletin's day
over its area, each measure's target, done and rate, and the towns lagging their share. Read
from the progress rollup; the assessment's bulletin calls this (campaigns never import it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.campaigns.models import Campaign
from fengqiao.campaigns.progress import done_by, local_day, measures_of, towns_for_area
from fengqiao.campaigns.rules import expected_fraction, town_share
from fengqiao.org.models import OrgUnit

LAGGING_MAX = 5  # towns named per measure


def bulletin_section(*, db: Session, org_id: int, as_of: datetime) -> dict[str, Any]:
    """{total, items: [{campaign, measure, unit, target, done, rate, expected, lagging}]}."""
    area = db.get(OrgUnit, org_id)
    if area is None:
        return {"total": 0, "items": []}
    today = local_day(as_of)
    running = list(db.scalars(
        select(Campaign)
        .where(Campaign.status == "active", Campaign.start_date <= today,
               Campaign.end_date >= today)
        .order_by(Campaign.start_date, Campaign.id)
    ))  # fmt: skip
    running = [c for c in running if towns_for_area(c, area.path)]
    ids = [c.id for c in running]
    measures = measures_of(db, ids)
    done = done_by(db, ids, until=today)
    names = dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(
        OrgUnit.id.in_({t for c in running for t in c.town_ids}))).all())  # fmt: skip
    items = []
    for campaign in running:
        towns = towns_for_area(campaign, area.path)
        fraction = expected_fraction(campaign.start_date, campaign.end_date, today)
        for measure in measures[campaign.id]:
            shares = {t: town_share(measure.target, measure.town_targets, campaign.town_ids, t,
                       unit=measure.unit)
                      for t in towns}  # fmt: skip
            target = sum(shares.values())
            achieved = sum(done.get((measure.id, t), 0.0) for t in towns)
            behind = sorted(
                (t for t in towns if shares[t] and done.get((measure.id, t), 0.0)
                 < shares[t] * fraction),
                key=lambda t: done.get((measure.id, t), 0.0) / shares[t],
            )  # fmt: skip
            items.append({
                "campaign": campaign.name, "measure": measure.name,
                "unit": "平方米" if measure.unit == "m²" else measure.unit,
                "target": target, "done": achieved,
                "rate": achieved / target if target else 0.0,
                "expected": target * fraction,
                "lagging": "、".join(names.get(t, "") for t in behind[:LAGGING_MAX])
                + ("等" if len(behind) > LAGGING_MAX else ""),
            })  # fmt: skip
    return {"total": len(running), "items": items}
