"""The annual assessment's inputs from the other mechanisms of issue 20, read through their
contract functions (docs/mechanisms.md lists them): supervision round scores,
rectification rates and self-assessments (inspections), campaign progress (campaigns),
meetings held and decisions done on time (meetings). Each returns only the towns that have
data; a town missing from one is shown as having no data for that part, never as a 0."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fengqiao.assessment.annual import Inputs
from fengqiao.campaigns.service import town_progress
from fengqiao.inspections.service import rectification_rates, round_scores, self_assessments
from fengqiao.meetings.service import decisions_on_time, meetings_held


def gather(db: Session, *, year: int) -> Inputs:
    """The year's inputs per town."""
    return Inputs(
        rounds=round_scores(db=db, year=year),
        rectification=rectification_rates(db=db, year=year),
        campaigns=town_progress(db=db, year=year),
        meetings=meetings_held(db=db, year=year),
        decisions=decisions_on_time(db=db, year=year),
        self_assessment=self_assessments(db=db, year=year),
    )
