"""The annual assessment's inputs from the other mechanisms of issue 20, read through their
contract functions (docs/mechanisms-annual.md lists them): supervision round scores,
rectification rates and self-assessments (inspections), campaign progress (campaigns),
meetings held and decisions done on time (meetings). An input not wired into this module yet
is None, and every report names it as not wired (它不计分, never a made-up number)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fengqiao.assessment.annual import Inputs
from fengqiao.campaigns.service import town_progress


def gather(db: Session, *, year: int) -> Inputs:
    """The year's inputs per town (each contract returns only the towns that have data)."""
    return Inputs(campaigns=town_progress(db=db, year=year))
