"""A report looked up by its code without signing in (the TV set-top box, /tv): what it may show.

A code is the only key, and codes are not secret (a town prefix, a day and a sequence), so the
answer carries only what is already public about any report: its class, its public status and
its public steps in the fixed words of `events.public` (a dispatch names the unit, a merge the
code it joined) with their times. Never the description, the address, the point, photos, the
reporter, staff names, notes (not even a rejection's reason: the reporter reads that signed in),
hashes or deadlines. A report of a class the public surface hides (the security classes of
Open311's `open311_hidden_majors`) answers exactly as a code that does not exist. The code must be
complete: no prefix search, no wildcard; the route is rate-limited per address (`lookup` rule).
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import LOCAL_TZ
from fengqiao.events.models import Event, EventLog
from fengqiao.events.public import (
    PUBLIC_STATUS_OF_STATE,
    PUBLIC_STATUS_ZH,
    public_step,
    public_words,
)
from fengqiao.events.trail import of_event
from fengqiao.org.models import Unit

# town prefix (3) + local day yyyymmdd (8) + sequence (4, more on a day past 9,999 reports)
CODE_PATTERN = re.compile(r"([0-9]{3})-?([0-9]{8})-?([0-9]{4,7})")
CODE_MAX_CHARS = 32  # what the route reads at most, before it looks at the characters


def normalise_code(text: str) -> str | None:
    """`001202612050007` or `001-20261205-0007` → `001-20261205-0007`; None when it is not a
    complete code (too short, too long, other characters)."""
    match = CODE_PATTERN.fullmatch(text.strip())
    if match is None or len(text.strip().replace("-", "")) > 18:
        return None
    return "-".join(match.groups())


def local_text(at: datetime) -> str:
    """A time as a resident reads it: local (Asia/Shanghai), to the minute."""
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


class PublicStepOut(BaseModel):
    """One public step of a report: when, which kind (`events.public` keys) and its words."""

    at: datetime
    at_text: str = Field(description="The time in Asia/Shanghai, as a set-top box shows it.")
    key: str = Field(description="The step's key in events.public (accepted, dispatched, …).")
    words: str = Field(description="What a resident reads, in Chinese.")


class PublicReportOut(BaseModel):
    """A report as anyone holding its code may see it: nothing personal, nothing internal."""

    code: str
    category: str = Field(description="The report's class (小类), in Chinese.")
    status: str = Field(description="The public status key (submitted, in_progress, fixed, …).")
    status_zh: str
    closed: bool
    reported_at: datetime
    reported_text: str
    steps: list[PublicStepOut]


def public_report(db: Session, *, code: str, hidden: frozenset[str]) -> PublicReportOut | None:
    """The public view of the report with this (normalised) code; None when there is none or
    its class is hidden (the two cannot be told apart)."""
    event = db.scalar(select(Event).where(Event.code == code))
    if event is None or event.category_code in hidden:
        return None
    rows = list(db.scalars(select(EventLog).where(*of_event(event)).order_by(EventLog.seq)))
    unit_ids = {row.unit_id for row in rows if row.unit_id is not None}
    units = (
        {
            unit_id: name
            for unit_id, name in db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))
        }
        if unit_ids
        else {}
    )
    steps: list[PublicStepOut] = []
    for row in rows:
        step = public_step(row.action, row.to_status)
        if step is None:
            continue
        words = public_words(
            step, unit_name=units.get(row.unit_id, "") if row.unit_id else "", payload=row.payload
        )
        steps.append(
            PublicStepOut(at=row.at, at_text=local_text(row.at), key=step.key, words=words)
        )
    status = PUBLIC_STATUS_OF_STATE.get(event.status, "in_progress")
    return PublicReportOut(
        code=event.code,
        category=event.category_name,
        status=status,
        status_zh=PUBLIC_STATUS_ZH.get(event.status, "处理中"),
        closed=status in ("fixed", "closed_unfixed"),
        reported_at=event.created_at,
        reported_text=local_text(event.created_at),
        steps=steps,
    )
