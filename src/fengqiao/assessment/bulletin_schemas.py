"""The bulletin list's rows with their document numbers (the other bulletin shapes are in
schemas.py)."""

from __future__ import annotations

from pydantic import Field

from fengqiao.assessment.schemas import BulletinDayOut


class BulletinIssueOut(BulletinDayOut):
    """A day of the caller's area: issued (with its 文号) or not yet."""

    number: str | None = Field(
        None, description="The document number (文号), e.g. 柯综指通〔2026〕37号; None: not issued."
    )
