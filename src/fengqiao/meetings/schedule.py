"""The regular meetings' job: the next occurrences created ahead by the rules (rules.py), and a
scheduled meeting whose time passed without minutes flagged missed, its org's operators and
leaders told (outbox). Stored times only: `missed_after <= now` through a partial index."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fengqiao.db import Database
from fengqiao.meetings.models import MISSED_PENDING_SQL, Meeting
from fengqiao.meetings.rules import (
    AHEAD,
    RULES,
    looked_back,
    meeting_time,
    period_key,
    period_starts,
)
from fengqiao.meetings.service import local_day, new_meeting, trail
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.service import Directory, drafts_for, enqueue
from fengqiao.tasks.service import local_text, stored_calendar

MISSED_DUE = text(MISSED_PENDING_SQL)


def schedule_regular(db: Session, now: datetime, *, since: datetime | None = None,
                     draft: bool = False) -> int:  # fmt: skip
    """Create the regular meetings the rules call for between `since` (default now) and
    now + AHEAD that do not exist yet; how many were made. Agendas are drafted when asked (the
    meeting page drafts one on first view otherwise)."""
    calendar = stored_calendar(db)
    first, last = local_day(since or now), local_day(now + AHEAD)
    areas = db.scalars(select(OrgUnit).where(OrgUnit.kind.in_(tuple(RULES)),
                                             OrgUnit.valid_to.is_(None)))  # fmt: skip
    existing: set[tuple[int, str | None]] = {
        (r[0], r[1]) for r in db.execute(
            select(Meeting.org_id, Meeting.period_key).where(Meeting.period_key.is_not(None)))
    }  # fmt: skip
    made = 0
    for area in areas:
        rule = RULES[area.kind]
        for year, month in period_starts(rule, first - timedelta(days=31), last):
            key = period_key(rule, year, month)
            when = meeting_time(rule, year, month, calendar)
            if (area.id, key) in existing or not first <= local_day(when) <= last:
                continue
            new_meeting(
                db=db, area=area, title=f"{area.name}{key}{rule.title}", scheduled_at=when,
                place=f"{area.name}综合信息指挥室", room_org_id=area.id,
                period=looked_back(rule, year, month), regular=True, period_key=key,
                actor_id=None, now=now, draft=draft,
            )  # fmt: skip
            existing.add((area.id, key))
            made += 1
    db.flush()
    return made


def flag_missed(db: Session, now: datetime, *, batch: int = 500) -> int:
    """Scheduled meetings past their grace without minutes: missed, the org's people told."""
    meetings = list(db.scalars(
        select(Meeting).where(MISSED_DUE, Meeting.missed_after <= now)
        .order_by(Meeting.missed_after).limit(batch)
    ))  # fmt: skip
    people = Directory(db)
    drafts = []
    for meeting in meetings:
        meeting.status, meeting.missed_at = "missed", now
        meeting.version += 1
        trail(db, meeting, "missed", None, now)
        told = people.org_people(meeting.org_id, "operator") + people.org_people(
            meeting.org_id, "leader"
        )
        drafts += drafts_for(
            told, channels=("sms", "app"), template="meeting_missed",
            payload={"title": meeting.title, "when": local_text(meeting.scheduled_at),
                     "path": f"/meetings/{meeting.id}"},
            key=f"meeting-missed:{meeting.id}",
        )  # fmt: skip
    enqueue(db, drafts, now=now)
    db.flush()
    return len(meetings)


def run(database: Database, now: datetime) -> dict[str, int]:
    """One tick of the job: schedule ahead, then flag what was missed."""
    counts = {"scheduled": 0, "missed": 0}
    with database.transaction() as db:
        counts["scheduled"] = schedule_regular(db, now)
    while True:
        with database.transaction() as db:
            flagged = flag_missed(db, now)
        counts["missed"] += flagged
        if not flagged:
            break
    return counts
