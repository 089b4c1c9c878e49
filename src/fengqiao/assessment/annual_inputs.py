"""The annual assessment's inputs from the other mechanisms of issue 20, read through their
contract functions (docs/mechanisms-annual.md lists them): supervision round scores,
rectification rates and self-assessments (inspections), campaign progress (campaigns),
meetings held and decisions done on time (meetings). An input whose package is not part of
this installation yet is None, and every report names it as not wired."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fengqiao.assessment.annual import Inputs


def gather(db: Session, *, year: int) -> Inputs:
    """The year's inputs per town (each contract returns only the towns that have data)."""
    return Inputs()
