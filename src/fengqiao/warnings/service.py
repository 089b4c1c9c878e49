"""Early warnings: run the detectors on stored events, store each new condition once, push it to
the towns and units concerned, let them acknowledge it, and list what a caller may see."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, column, func, or_, select, text, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fengqiao.config import Settings
from fengqiao.db import Database, UTCDateTime
from fengqiao.errors import Problem, not_found
from fengqiao.events.escalation import local_text
from fengqiao.events.filing import route
from fengqiao.events.models import OPEN_STATES_SQL, Event, is_open
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.org.service import ancestor_of_kind
from fengqiao.outbox.service import Directory, Person, drafts_for, enqueue
from fengqiao.scope import Principal, in_scope
from fengqiao.taxonomy.snapshot import Rules, load_rules
from fengqiao.warnings import detectors, wording
from fengqiao.warnings.detectors import Finding, Seen
from fengqiao.warnings.models import WARNING_KIND_ZH, EarlyWarning, WarningScan

# Spikes are judged over the last day and the last three days.
SPIKE_WINDOWS = (timedelta(days=1), timedelta(days=3))
# Each run looks again at least this far back, so a run at the same moment finds the same
# conditions (and the dedupe keeps them single) and a late run finds what it missed.
MIN_LOOKBACK = timedelta(days=1)
SCAN_NAME = "detectors"
READERS = frozenset({"operator", "leader", "admin"})
UNIT_READERS = frozenset({"handler", "unit_leader"})
# How many related events a warning keeps (its count says how many there were).
RELATED_KEPT = 100
_WARNING = cast(Table, EarlyWarning.__table__)


@dataclass(frozen=True)
class WarningRules:
    """The thresholds of the four rules (FENGQIAO_WARNING_* settings)."""

    spike_p: float = 1e-6
    spike_min: int = 5
    spike_weeks: int = 8
    stability_classes: tuple[str, ...] = ("03", "0103")
    cluster_min: int = 3
    cluster_days: float = 7.0
    repeat_min: int = 3
    repeat_radius_m: float = 50.0
    repeat_days: float = 30.0
    backlog_overdue: int = 5
    catch_up_days: float = 14.0
    interval_minutes: float = 60.0
    remind_days: float = 1.0
    climb_days: float = 3.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WarningRules:
        return cls(
            spike_p=settings.warning_spike_p, spike_min=settings.warning_spike_min,
            spike_weeks=settings.warning_spike_weeks,
            stability_classes=tuple(settings.warning_stability_classes),
            cluster_min=settings.warning_cluster_min, cluster_days=settings.warning_cluster_days,
            repeat_min=settings.warning_repeat_min,
            repeat_radius_m=settings.warning_repeat_radius_m,
            repeat_days=settings.warning_repeat_days,
            backlog_overdue=settings.warning_backlog_overdue,
            catch_up_days=settings.warning_catch_up_days,
            interval_minutes=settings.warning_interval_minutes,
            remind_days=settings.warning_remind_days, climb_days=settings.warning_climb_days,
        )  # fmt: skip

    def is_stability(self, code: str) -> bool:
        return any(
            code == c or (len(c) == 2 and code.startswith(c)) for c in self.stability_classes
        )


# --- running the detectors ---------------------------------------------------------------------


def run_detectors(*, database: Database, now: datetime, rules: WarningRules) -> dict[str, int]:
    """One run of the job: find in a read session, then store in one short write transaction
    (SQLite holds its write lock only while warnings are written). Counts of new warnings by
    kind; nothing when the last run is more recent than `interval_minutes`."""
    with database.session() as db:
        scanned = scanned_until(db)
        if scanned is not None and now < scanned + timedelta(minutes=rules.interval_minutes):
            return {}
        findings = find(db=db, now=now, rules=rules, scanned=scanned)
    with database.transaction() as db:
        return record(db=db, findings=findings, now=now, rules=rules)


def scanned_until(db: Session) -> datetime | None:
    """How far the last run looked (None before the first run)."""
    return db.scalar(select(WarningScan.scanned_until).where(WarningScan.name == SCAN_NAME))


def find(
    *, db: Session, now: datetime, rules: WarningRules, scanned: datetime | None
) -> list[Finding]:
    """Every condition in the events up to `now`, from where the last run stopped (at least a
    day back, at most `catch_up_days`)."""
    since = min(scanned or now, now - MIN_LOOKBACK)
    since = max(since, now - timedelta(days=rules.catch_up_days))
    findings = _spikes(db, since, now, rules)
    stability = [e for e in _seen(db, since - timedelta(days=rules.cluster_days), now)
                 if rules.is_stability(e.category_code)]  # fmt: skip
    findings += detectors.clusters(
        stability, since=since, days=rules.cluster_days, minimum=rules.cluster_min
    )
    findings += detectors.repeats(
        _seen(db, since - timedelta(days=rules.repeat_days), now), since=since,
        days=rules.repeat_days, radius_m=rules.repeat_radius_m, minimum=rules.repeat_min,
    )  # fmt: skip
    findings += detectors.backlogs(_loads(db, now), now=now, minimum=rules.backlog_overdue)
    return findings


def record(
    *, db: Session, findings: list[Finding], now: datetime, rules: WarningRules
) -> dict[str, int]:
    """Store and push the findings no stored warning already covers, and move the watermark.
    The watermark row is locked first, so a second worker waits and then sees these warnings.
    Flushes, never commits."""
    scan = _claim_scan(db, now)
    counts = _store(db, findings, now=now, rules=rules)
    scan.scanned_until = max(scan.scanned_until, now)
    db.flush()
    return counts


def _claim_scan(db: Session, now: datetime) -> WarningScan:
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.execute(
        insert(WarningScan)
        .values(name=SCAN_NAME, scanned_until=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    scan = db.get(WarningScan, SCAN_NAME, with_for_update=True, populate_existing=True)
    assert scan is not None
    return scan


def _counts(db: Session, start: datetime, end: datetime) -> Counter[detectors.Key]:
    """Events per (village, minor class) and (village, major class) filed in [start, end)."""
    counts: Counter[detectors.Key] = Counter()
    rows = db.execute(
        select(Event.village_id, Event.category_code, Event.major_code, func.count())
        .where(Event.created_at >= start, Event.created_at < end)
        .group_by(Event.village_id, Event.category_code, Event.major_code)
    )
    for village, code, major, n in rows:
        counts[(village, code)] += n
        counts[(village, major)] += n
    return counts


def _spikes(db: Session, since: datetime, now: datetime, rules: WarningRules) -> list[Finding]:
    """Spikes in windows ending at now and at each whole day before it back to `since`, each
    against the `spike_weeks` weeks before it."""
    towns = dict(db.execute(select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.kind == "village")).all())  # fmt: skip
    # Each village's district (its town's parent): the "rest" a spike is scaled by stays in
    # the village's own district when a city or province shares the database.
    town_district = dict(db.execute(select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.kind == "town")).all())  # fmt: skip
    districts = {village: town_district.get(town) for village, town in towns.items() if town}
    ends = [now]
    while ends[-1] - timedelta(days=1) > since:
        ends.append(ends[-1] - timedelta(days=1))
    out: list[Finding] = []
    for end in ends:
        for window in SPIKE_WINDOWS:
            start = end - window
            out += detectors.spikes(
                current=_counts(db, start, end),
                baseline=_counts(db, start - timedelta(weeks=rules.spike_weeks), start),
                window_start=start, window_end=end, towns=towns, p=rules.spike_p,
                minimum=rules.spike_min, districts=districts,
            )  # fmt: skip
    # The strongest first: of overlapping windows of one condition, the stored one says most.
    return sorted(out, key=lambda f: (f.window_end, -f.score))


def _seen(db: Session, start: datetime, end: datetime) -> list[Seen]:
    rows = db.execute(
        select(Event.id, Event.created_at, Event.category_code, Event.village_id, Event.town_id,
               Event.lat, Event.lng)
        .where(Event.created_at >= start, Event.created_at < end)
    )  # fmt: skip
    return [Seen(*row) for row in rows]


def _open_overdue(db: Session, now: datetime) -> list[tuple[int, int | None, datetime]]:
    """(id, owner unit, deadline) of the open events past their deadline, most overdue first,
    read through the open-deadline partial index. SQLite is told to (INDEXED BY): with the event
    list's sort index on status beside it, its planner walks every open event by status instead."""
    if db.get_bind().dialect.name != "sqlite":
        statement = (
            select(Event.id, Event.owner_unit_id, Event.due_at)
            .where(is_open(), Event.due_at < now)
            .order_by(Event.due_at, Event.id)
        )
        return [(r[0], r[1], r[2]) for r in db.execute(statement) if r[2] is not None]
    due = column("due_at", UTCDateTime())
    statement = (
        select(column("id"), column("owner_unit_id"), due)
        .select_from(text("event INDEXED BY ix_event_open_due"))
        .where(text(OPEN_STATES_SQL), due < now)
        .order_by(due, column("id"))
    )
    rows: list[Any] = list(db.execute(statement))
    return [(int(r[0]), r[1], r[2]) for r in rows]


def _loads(db: Session, now: datetime) -> list[detectors.UnitLoad]:
    """Units with open overdue events (through the open-deadline partial index)."""
    # Rows, summed here: a GROUP BY (or any condition on the unit) leads SQLite to the owner
    # index, a scan of nearly every event, instead of the partial index of open deadlines.
    count: Counter[int] = Counter()
    oldest: dict[int, datetime] = {}
    for _id, unit, due_at in _open_overdue(db, now):
        if unit is not None and due_at is not None:
            count[unit] += 1
            oldest[unit] = min(due_at, oldest.get(unit, due_at))
    units = [(unit, n, oldest[unit]) for unit, n in count.items()]
    if not units:
        return []
    ids = [u for u, _, _ in units]
    open_counts = dict(
        db.execute(
            select(Event.owner_unit_id, func.count())
            .where(is_open(), Event.owner_unit_id.in_(ids))
            .group_by(Event.owner_unit_id)
        ).all()
    )
    places = {
        row.id: row
        for row in db.execute(
            select(Unit.id, Unit.org_unit_id, OrgUnit.path)
            .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
            .where(Unit.id.in_(ids))
        )
    }
    return [
        detectors.UnitLoad(
            unit_id=unit,
            org_id=places[unit].org_unit_id,
            town_id=ancestor_of_kind(db=db, path=places[unit].path, kind="town"),
            open_events=open_counts.get(unit, n),
            overdue=n,
            oldest_due=oldest,
        )
        for unit, n, oldest in units
        if unit in places
    ]


# --- storing and pushing -----------------------------------------------------------------------


def _known(db: Session, findings: list[Finding]) -> list[Finding]:
    """Stored warnings that could be the same condition as one of `findings`."""
    if not findings:
        return []
    earliest = min(f.window_start for f in findings)
    rows = db.scalars(select(EarlyWarning).where(EarlyWarning.window_end >= earliest))
    return [
        Finding(
            kind=w.kind,
            org_id=w.org_id,
            window_start=w.window_start,
            window_end=w.window_end,
            observed=w.observed,
            expected=w.expected,
            score=w.score,
            category_code=w.category_code,
            unit_id=w.unit_id,
            lat=w.lat,
            lng=w.lng,
        )
        for w in rows
    ]


def is_same(a: Finding, b: Finding, rules: WarningRules) -> bool:
    """One condition: a repeat is the same place (not the same village); a backlog the same unit."""
    if a.kind != b.kind:
        return False
    if a.kind == "repeat":
        return (
            a.category_code == b.category_code
            and detectors.same_place(a, b, rules.repeat_radius_m)
            and a.window_start <= b.window_end
            and b.window_start <= a.window_end
        )
    if a.kind == "backlog":
        return a.unit_id == b.unit_id and a.window_start <= b.window_end
    return a.overlaps(b)


def _store(
    db: Session, findings: list[Finding], *, now: datetime, rules: WarningRules
) -> dict[str, int]:
    known = _known(db, findings)
    fresh: list[Finding] = []
    for finding in findings:
        if not any(is_same(finding, k, rules) for k in known):
            fresh.append(finding)
            known.append(finding)
    counts = {kind: 0 for kind in WARNING_KIND_ZH}
    if not fresh:
        return counts
    catalogue = load_rules(db)
    people = Directory(db)
    orgs = {
        row.id: row
        for row in db.execute(
            select(OrgUnit.id, OrgUnit.name, OrgUnit.path).where(
                OrgUnit.id.in_({i for f in fresh for i in (f.org_id, f.town_id) if i})
            )
        )
    }
    for finding in fresh:
        units = _units_concerned(db, finding, catalogue)
        told: list[Person] = []
        if finding.town_id is not None:
            told += people.org_people(finding.town_id, "operator")
        for unit in units:
            told += people.unit_leaders(unit)
        first_unit = people.unit(units[0]) if units else None
        unit_name = first_unit.name if first_unit else ""
        place = orgs[finding.org_id]
        town = orgs.get(finding.town_id) if finding.town_id else None
        where = (town.name if town and town.id != place.id else "") + place.name
        name = _category_name(catalogue, finding.category_code)
        related = _related(db, finding, now)
        text = wording.message(
            finding, where=where, category=name, unit=unit_name,
            classes=_class_names(db, related) if finding.kind == "cluster" else "",
            weeks=rules.spike_weeks,
            cluster_days=rules.cluster_days, radius_m=rules.repeat_radius_m,
            backlog_min=rules.backlog_overdue,
        )  # fmt: skip
        # A warning with no town (a district unit's backlog) is the district's from the start.
        level = "town" if finding.town_id is not None else "district"
        row = {
            "kind": finding.kind, "org_id": finding.org_id, "org_path": place.path,
            "town_id": finding.town_id, "village_id": finding.village_id,
            "unit_id": units[0] if units else None, "category_code": finding.category_code,
            "category_name": name, "lat": finding.lat, "lng": finding.lng,
            "window_start": finding.window_start, "window_end": finding.window_end,
            "observed": finding.observed, "expected": finding.expected, "score": finding.score,
            "message": text,
            "details": {"event_ids": related[:RELATED_KEPT], "event_count": len(related),
                        "p_value": finding.p_value, "baseline": finding.baseline,
                        "units": units},
            "dedupe_key": _dedupe_key(finding), "created_at": now,
            "pushed_to": sorted({p.user_id for p in told if p.user_id is not None}),
            "status": "open", "level": level,
            "remind_at": now + timedelta(days=rules.remind_days),
            "climb_at": now + timedelta(days=rules.climb_days) if level == "town" else None,
            "history": [],
        }  # fmt: skip
        warning_id = _insert(db, row)
        if warning_id is None:  # another worker stored this very condition first
            continue
        counts[finding.kind] += 1
        payload = {
            "warning_id": warning_id, "kind": WARNING_KIND_ZH[finding.kind], "place": where,
            "message": row["message"], "path": f"/warnings?id={warning_id}",
        }  # fmt: skip
        drafts = drafts_for(
            told, channels=("sms", "app"), template="warning", payload=payload,
            key=f"warning:{warning_id}",
        )  # fmt: skip
        enqueue(db, drafts, now=now)
    db.flush()
    return counts


def _insert(db: Session, row: dict[str, Any]) -> int | None:
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_WARNING).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return db.execute(statement.returning(_WARNING.c.id), [row]).scalar()


def _dedupe_key(finding: Finding) -> str:
    where = f"{finding.lat:.5f},{finding.lng:.5f}" if finding.lat is not None else ""
    return ":".join(
        str(part)
        for part in (finding.kind, finding.org_id, finding.unit_id or "",
                     finding.category_code or "", where, finding.window_start.isoformat())
    )  # fmt: skip


def _units_concerned(db: Session, finding: Finding, catalogue: Rules) -> list[int]:
    """The backlogged unit, or the units routing names for the class(es) at that place."""
    if finding.unit_id is not None:
        return [finding.unit_id]
    if finding.village_id is None or finding.town_id is None:
        return []
    codes: list[str] = []
    if finding.category_code and finding.category_code in catalogue.categories:
        codes = [finding.category_code]
    elif finding.event_ids:
        codes = list(
            dict.fromkeys(
                db.scalars(
                    select(Event.category_code)
                    .where(Event.id.in_(finding.event_ids))
                    .order_by(Event.id)
                )
            )
        )
    units: list[int] = []
    for code in codes:
        category = catalogue.categories.get(code)
        if category is None:
            continue
        proposal = route(
            catalogue, category_code=code, level=max(2, category.default_level),
            place_ids=(finding.village_id, finding.town_id),
        )  # fmt: skip
        if proposal.unit_id is not None and proposal.unit_id not in units:
            units.append(proposal.unit_id)
    return units


def _related(db: Session, finding: Finding, now: datetime) -> list[int]:
    """The events a warning is about, oldest first: a cluster's or a repeat's own, a spike's
    class in its village over its window, a backlog's open overdue events (most overdue first)."""
    if finding.event_ids:
        return list(finding.event_ids)
    if finding.kind == "spike" and finding.village_id is not None and finding.category_code:
        code = finding.category_code
        of_class = Event.category_code == code if len(code) > 2 else Event.major_code == code
        return list(
            db.scalars(
                select(Event.id)
                .where(
                    Event.created_at >= finding.window_start,
                    Event.created_at < finding.window_end,
                    Event.village_id == finding.village_id,
                    of_class,
                )
                .order_by(Event.created_at, Event.id)
            )
        )
    if finding.kind == "backlog" and finding.unit_id is not None:
        return [i for i, unit, _ in _open_overdue(db, now) if unit == finding.unit_id]
    return []


def _class_names(db: Session, event_ids: list[int]) -> str:
    """The classes of the events, in the order first seen ("群体性事件苗头、劳资纠纷")."""
    if not event_ids:
        return "涉稳类"
    names = db.scalars(
        select(Event.category_name).where(Event.id.in_(event_ids[:RELATED_KEPT])).order_by(Event.id)
    )
    return "、".join(dict.fromkeys(names))


def _category_name(catalogue: Rules, code: str | None) -> str:
    if code is None:
        return "涉稳类"
    if code in catalogue.categories:
        return catalogue.categories[code].name_zh
    for category in catalogue.categories.values():
        if category.major_code == code:
            return category.major_name
    return code


# --- acknowledging and reading -----------------------------------------------------------------


def may_read(principal: Principal, warning: EarlyWarning) -> bool:
    """The concerned unit's people, and staff whose area holds the place (the town or above)."""
    if (
        warning.unit_id is not None
        and principal.unit_id == warning.unit_id
        and principal.has_any(*UNIT_READERS)
    ):
        return True
    return principal.has_any(*READERS) and principal.covers(warning.org_path)


def warning_scope(principal: Principal) -> ColumnElement[bool]:
    """The same rule as `may_read`, as a WHERE clause."""
    clauses: list[ColumnElement[bool]] = []
    if principal.unit_id is not None and principal.has_any(*UNIT_READERS):
        clauses.append(EarlyWarning.unit_id == principal.unit_id)
    if principal.has_any(*READERS):
        clauses.append(in_scope(principal, EarlyWarning.org_path))
    return or_(*clauses) if clauses else EarlyWarning.id.is_(None)


def acknowledge(
    *, db: Session, warning_id: int, principal: Principal, note: str, now: datetime
) -> EarlyWarning:
    """The town or unit concerned (or anyone above it) says it has seen the warning, once:
    whoever may read a warning may acknowledge it (`may_read`)."""
    warning = db.get(EarlyWarning, warning_id, with_for_update=True)
    if warning is None or not may_read(principal, warning):
        raise not_found("warning", "预警")
    if warning.status != "open":
        raise Problem(
            409, "already-acknowledged", "Already acknowledged", "已签收",
            f"warning {warning.id} was acknowledged at {warning.acknowledged_at}",
            f"预警 {warning.id} 已于 {local_text(warning.acknowledged_at)} 签收",
        )  # fmt: skip
    warning.status, warning.acknowledged_by, warning.acknowledged_at = (
        "acknowledged",
        principal.user_id,
        now,
    )
    warning.note = note.strip() or None
    warning.remind_at = warning.climb_at = None  # signed for: no more follow-ups
    db.flush()
    return warning


@dataclass(frozen=True)
class WarningFilters:
    kind: str | None = None
    status: str | None = None
    town_id: int | None = None
    unit_id: int | None = None
    category: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def list_query(filters: WarningFilters, principal: Principal) -> Select[EarlyWarning]:
    """Warnings in the caller's scope matching the filters, newest first."""
    w = EarlyWarning
    conditions: list[ColumnElement[bool]] = [warning_scope(principal)]
    if filters.kind:
        conditions.append(w.kind == filters.kind)
    if filters.status:
        conditions.append(w.status == filters.status)
    if filters.town_id is not None:
        conditions.append(w.town_id == filters.town_id)
    if filters.unit_id is not None:
        conditions.append(w.unit_id == filters.unit_id)
    if filters.category:
        conditions.append(w.category_code == filters.category)
    if filters.created_from is not None:
        conditions.append(w.created_at >= filters.created_from)
    if filters.created_to is not None:
        conditions.append(w.created_at < filters.created_to)
    return select(w).where(true(), *conditions).order_by(w.created_at.desc(), w.id.desc())
