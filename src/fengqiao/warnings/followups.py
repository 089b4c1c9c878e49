"""Follow-ups of an early warning nobody has acknowledged (签收): the people it went to are
reminded after `FENGQIAO_WARNING_REMIND_DAYS`, and after `FENGQIAO_WARNING_CLIMB_DAYS` it climbs
from the town to the district, whose operators and leaders are told.

The `warning_followups` job selects the stored due times (`remind_at <= now`,
`climb_at <= now`), never clock arithmetic; each follow-up is done once (its due time is cleared
in the transaction that queues its messages, and the messages carry dedupe keys). A due time
older than `FENGQIAO_WARNING_CATCH_UP_DAYS` has lapsed: it is recorded on the warning's history
and nothing is sent, so a worker started after a long stop, or after `fengqiao warnings replay`
has stored a year of warnings, does not send a burst of reminders about old news.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.db import Database
from fengqiao.org.models import level_words
from fengqiao.org.service import ancestor_of_kind
from fengqiao.outbox.service import Directory, Person, drafts_for, enqueue
from fengqiao.warnings.models import WARNING_KIND_ZH, EarlyWarning
from fengqiao.warnings.service import WarningRules

log = logging.getLogger("fengqiao.warnings")
CHANNELS = ("sms", "app")


def run_followups(
    *, database: Database, now: datetime, rules: WarningRules, batch: int = 500
) -> dict[str, int]:
    """One run of the job, in one transaction: how many warnings were reminded, climbed, and
    had a follow-up lapse."""
    with database.transaction() as db:
        return followups(db=db, now=now, rules=rules, batch=batch)


def followups(
    *, db: Session, now: datetime, rules: WarningRules, batch: int = 500
) -> dict[str, int]:
    """Remind and climb the open warnings whose moment has come. Flushes, never commits; one bad
    row is logged and skipped (its savepoint rolled back), the others go on."""
    counts = {"reminded": 0, "climbed": 0, "lapsed": 0}
    due = db.scalars(
        select(EarlyWarning)
        .where(
            EarlyWarning.status == "open",
            or_(EarlyWarning.remind_at <= now, EarlyWarning.climb_at <= now),
        )
        .order_by(EarlyWarning.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    people = Directory(db)
    for warning in due:
        try:
            with db.begin_nested():
                for step in _follow_up(db, people, warning, now=now, rules=rules):
                    counts[step] += 1
        except Exception:  # one warning's failure must not hold up the others
            log.exception("follow-up of warning %s failed", warning.id)
    db.flush()
    return counts


def _follow_up(
    db: Session, people: Directory, warning: EarlyWarning, *, now: datetime, rules: WarningRules
) -> list[str]:
    """The follow-ups due on one warning: what was done ("reminded", "climbed", "lapsed")."""
    horizon = now - timedelta(days=rules.catch_up_days)
    history = list(warning.history or [])
    done: list[str] = []
    lapsed = False
    payload = _payload(people, warning, now=now, rules=rules)
    if warning.remind_at is not None and warning.remind_at <= now:
        if warning.remind_at < horizon:
            lapsed = True
        else:
            told = _pushed(db, warning)
            drafts = drafts_for(told, channels=CHANNELS, template="warning_reminder",
                                payload=payload, key=f"warning-remind:{warning.id}")  # fmt: skip
            enqueue(db, drafts, now=now)
            warning.reminded_at = now
            history.append({"at": now.isoformat(), "step": "reminded", "told": _count(told)})
            done.append("reminded")
        warning.remind_at = None
    if warning.climb_at is not None and warning.climb_at <= now:
        if warning.climb_at < horizon:
            lapsed = True
        else:
            district = _district_of(db, warning.org_path)
            told = people.org_people(district, "operator") + people.org_people(district, "leader")
            # The district's level in its own words: 区级, 县级, or 市级 for a county-level city.
            level = level_words("district", people.org_names(district).get(district, ""))
            drafts = drafts_for(told, channels=CHANNELS, template="warning_climb",
                                payload={**payload, "level": level},
                                key=f"warning-climb:{warning.id}")  # fmt: skip
            enqueue(db, drafts, now=now)
            warning.level, warning.climbed_at = "district", now
            history.append({"at": now.isoformat(), "step": "climbed", "told": _count(told)})
            done.append("climbed")
        warning.climb_at = None
    if lapsed:
        history.append({"at": now.isoformat(), "step": "lapsed", "told": 0})
        done.append("lapsed")
    warning.history = history  # a new list: the JSON column sees the change
    db.flush()
    return done


def _payload(
    people: Directory, warning: EarlyWarning, *, now: datetime, rules: WarningRules
) -> dict[str, Any]:
    names = people.org_names(*(i for i in (warning.town_id, warning.org_id) if i))
    town = names.get(warning.town_id, "") if warning.town_id not in (None, warning.org_id) else ""
    return {
        "warning_id": warning.id,
        "kind": WARNING_KIND_ZH.get(warning.kind, ""),
        "place": town + names.get(warning.org_id, ""),
        "message": warning.message,
        "days": max(1, round((now - warning.created_at) / timedelta(days=1))),
        "path": f"/warnings?id={warning.id}",
    }


def _pushed(db: Session, warning: EarlyWarning) -> list[Person]:
    """The people the warning was pushed to, those still active."""
    ids = list(warning.pushed_to or [])
    if not ids:
        return []
    rows = db.execute(
        select(User.id, User.name, User.phone, User.email)
        .where(User.id.in_(ids), User.is_active.is_(True))
        .order_by(User.id)
    )
    return [Person(r.id, r.name, r.phone, r.email) for r in rows]


def _district_of(db: Session, path: str) -> int:
    """The district of a warning's place (the first unit of the path in a district-only tree)."""
    found = ancestor_of_kind(db=db, path=path, kind="district")
    return found if found is not None else int(path.strip("/").split("/")[0])


def _count(people: list[Person]) -> int:
    return len({p.user_id for p in people if p.user_id is not None})
