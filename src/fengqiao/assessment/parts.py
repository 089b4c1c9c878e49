"""The assisting units' parts (协办, events/parts.py) in a unit's assessment.

The rule: a unit's row counts the events it led (the rollups, by owner unit) plus, as parts,
every assisting part it had on the period's events — one part adds 1 to `new`, `accepted` and
`dispatched` (the unit received it), 1 to `handled` and `closed` once fed back (with the time
from its dispatch to its feedback in `handle_seconds`), 1 to `closed_on_time` when fed back by
its own due time, 1 to `overdue` when it ran late, and a waived part counts as `voided` (not
valid work). A region (town, village) counts each event once, as before: parts never touch the
rollups. Parts are read from `event_part` (a small share of events), by the period's cohort of
events filed in it, as the rollups' counters are; as of a past moment, only what had happened
by then counts.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import LOCAL_TZ
from fengqiao.events.models import Event, EventPart
from fengqiao.org.models import OrgUnit


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period's local days [start, end] as instants [from, to)."""
    first = datetime.combine(start, time.min, LOCAL_TZ)
    return first, datetime.combine(end, time.min, LOCAL_TZ) + timedelta(days=1)


def part_counts(
    db: Session, *, path: str, start: date, end: date, as_of: datetime | None = None
) -> dict[int, dict[str, int]]:
    """The counters each unit's assisting parts add, by unit id (see the module's rule)."""
    since, until = _bounds(start, end)
    query = (
        select(EventPart)
        .join(Event, Event.id == EventPart.event_id)
        .join(OrgUnit, OrgUnit.id == Event.grid_id)
        .where(
            Event.assist_count > 0,
            Event.created_at >= since,
            Event.created_at < until,
            OrgUnit.path.startswith(path, autoescape=True),
        )
    )
    counts: dict[int, dict[str, int]] = {}
    for part in db.scalars(query):
        if as_of is not None and part.dispatched_at > as_of:
            continue
        fed = part.fed_back_at if as_of is None or (part.fed_back_at or as_of) <= as_of else None
        waived = part.waived_at is not None and (as_of is None or part.waived_at <= as_of)
        # A part that ended with its event (voided, merged, rejected) is no valid work either.
        waived = waived or part.status == "ended"
        late = part.overdue_at is not None and (as_of is None or part.overdue_at <= as_of)
        row = counts.setdefault(part.unit_id, {})
        for name in ("new", "accepted", "dispatched"):
            row[name] = row.get(name, 0) + 1
        if fed is not None:
            row["handled"] = row.get("handled", 0) + 1
            row["closed"] = row.get("closed", 0) + 1
            seconds = int((fed - part.dispatched_at).total_seconds())
            row["handle_seconds"] = row.get("handle_seconds", 0) + max(seconds, 0)
            if part.due_at is None or fed <= part.due_at:
                row["closed_on_time"] = row.get("closed_on_time", 0) + 1
        if waived:
            row["voided"] = row.get("voided", 0) + 1
        if late:
            row["overdue"] = row.get("overdue", 0) + 1
    return counts


def with_parts(
    sums: dict[Any, dict[str, int]], parts: dict[int, dict[str, int]], counters: tuple[str, ...]
) -> dict[Any, dict[str, int]]:
    """The units' counters with their parts added (units that only assisted appear too)."""
    merged = {key: dict(values) for key, values in sums.items()}
    for unit_id, added in parts.items():
        row = merged.setdefault(unit_id, dict.fromkeys(counters, 0))
        for name, value in added.items():
            row[name] = row.get(name, 0) + value
    return merged
