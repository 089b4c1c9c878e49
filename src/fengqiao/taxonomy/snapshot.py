"""What filing, routing and deadlines read on every event, held in memory per process.

Classes, routing rules, units, SLA policies and calendar overrides change rarely and are read on
every submission, so each instance keeps one snapshot and reloads it when the `rules` change
counter moved (checked at most every few seconds), like the grid index does for grids.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.org.models import OrgUnit, Unit
from fengqiao.org.service import GRIDS_COUNTER, RULES_COUNTER, bump_counter, read_counter
from fengqiao.sla.calendar import WorkCalendar
from fengqiao.sla.deadlines import Policy
from fengqiao.sla.models import CalendarOverride, SlaPolicy
from fengqiao.taxonomy.intakes import class_intakes
from fengqiao.taxonomy.models import Category, CategoryMajor, ClassOverride, RoutingRule
from fengqiao.taxonomy.questions import ClassIntake
from fengqiao.taxonomy.routing import Rule, UnitIndex, UnitRef, rules_sorted


@dataclass(frozen=True)
class CategoryRef:
    """A class as filing needs it."""

    code: str
    name_zh: str
    major_code: str
    major_name: str
    platform: str
    default_level: int
    active: bool
    feedback_photo_required: bool = True  # 反馈 needs a photo of the handling


@dataclass(frozen=True)
class PolicyRef:
    """An SLA policy row with its matching keys."""

    id: int
    level: int | None
    category_code: str | None
    urgent: bool
    policy: Policy
    district_id: int | None = None  # a district's own limit
    # A district's class override (`ClassOverride.limit_hours`): beats every other row of the
    # class in its district, whatever the level; its id is the override's id negated.
    override: bool = False


@dataclass
class Rules:
    """One consistent snapshot of everything filing, routing and deadlines read."""

    generation: tuple[int, int]
    categories: dict[str, CategoryRef]
    rules: list[Rule]
    units: UnitIndex
    policies: list[PolicyRef]
    calendar: WorkCalendar
    town_prefixes: dict[int, str]  # town org id → the prefix of its event codes
    # town org id → its district's org id and its materialised path: several districts may share
    # the database (a city or province tree), and each event is routed within its own district.
    town_districts: dict[int, int] = field(default_factory=dict)
    town_paths: dict[int, str] = field(default_factory=dict)
    # district org id → its own routing rules (by position), tried before the shared `rules`.
    district_rules: dict[int, list[Rule]] = field(default_factory=dict)
    # Extra questions and search words per class (business modules); absent: none.
    intakes: dict[str, ClassIntake] = field(default_factory=dict)
    # district org id → the classes it turned off for its events (`ClassOverride.enabled`).
    district_disabled: dict[int, frozenset[str]] = field(default_factory=dict)

    def district_of(self, town_id: int) -> int | None:
        """The district a town lies in (its parent; None for a town the snapshot does not know)."""
        return self.town_districts.get(town_id)

    def town_path(self, town_id: int) -> str:
        """A town's materialised path ("/district/town/", or deeper below a city and province);
        for a town the snapshot does not know, a path no home covers but the whole tree's."""
        return self.town_paths.get(town_id) or f"/{town_id}/"

    def category_in(self, code: str, *, town_id: int | None) -> CategoryRef | None:
        """The class as the events of `town_id` may use it: None when unknown, retired, or
        turned off by the town's district (a district cannot revive a retired class)."""
        category = self.categories.get(code)
        if category is None or not category.active:
            return None
        district = self.district_of(town_id) if town_id is not None else None
        if district is not None and code in self.district_disabled.get(district, ()):
            return None
        return category

    def grid_path(self, *, town_id: int, village_id: int, grid_id: int) -> str:
        """The materialised path of a grid from its town's stored path (`Principal.covers`)."""
        return f"{self.town_path(town_id)}{village_id}/{grid_id}/"

    def policy_for(
        self, *, level: int, category_code: str, urgent: bool, district_id: int | None = None
    ) -> PolicyRef | None:
        """The SLA policy of an event: class-specific beats level-wide; urgent beats both; a
        district's own row beats the shared row of the same match."""
        best: tuple[int, PolicyRef] | None = None
        for ref in self.policies:
            if ref.urgent != urgent:
                continue
            if ref.district_id is not None and ref.district_id != district_id:
                continue
            if ref.category_code is not None and ref.category_code != category_code:
                continue
            if ref.level is not None and ref.level != level:
                continue
            score = (ref.category_code is not None) * 4 + (ref.level is not None) * 2
            score += (ref.district_id is not None) + ref.override * 8
            if best is None or score > best[0]:
                best = (score, ref)
        if best is None and urgent:
            return self.policy_for(
                level=level, category_code=category_code, urgent=False, district_id=district_id
            )
        return best[1] if best else None


def _generation(db: Session) -> tuple[int, int]:
    # Org imports change towns and units that routing resolves to, so they count too.
    return read_counter(db=db, name=RULES_COUNTER), read_counter(db=db, name=GRIDS_COUNTER)


def load_rules(db: Session) -> Rules:
    """Read a fresh snapshot."""
    generation = _generation(db)
    majors = {m.code: m for m in db.scalars(select(CategoryMajor))}
    categories = {
        c.code: CategoryRef(
            code=c.code,
            name_zh=c.name_zh,
            major_code=c.major_code,
            major_name=majors[c.major_code].name_zh,
            platform=c.platform,
            default_level=c.default_level,
            active=c.active,
            feedback_photo_required=c.feedback_photo_required,
        )
        for c in db.scalars(select(Category))
    }
    every = rules_sorted(
        Rule(
            id=r.id,
            position=r.position,
            category_code=r.category_code,
            major_code=r.major_code,
            town_id=r.town_id,
            level=r.level,
            unit_type=r.unit_type,
            unit_id=r.unit_id,
            assist_unit_types=tuple(r.assist_unit_types or ()),
            district_id=r.district_id,
        )
        for r in db.scalars(select(RoutingRule).where(RoutingRule.active.is_(True)))
    )
    overrides = list(db.scalars(select(ClassOverride).order_by(ClassOverride.id)))
    rules = [r for r in every if r.district_id is None]
    district_rules: dict[int, list[Rule]] = {}
    # A class override's owner type is the first of its district's own rules (before the rules
    # the district wrote itself, which may match the class too).
    for o in overrides:
        if o.unit_type is not None:
            district_rules.setdefault(o.district_id, []).append(
                Rule(
                    id=-o.id, position=-1, category_code=o.category_code, major_code=None,
                    town_id=None, level=None, unit_type=o.unit_type, unit_id=None,
                    district_id=o.district_id,
                )
            )  # fmt: skip
    for rule in every:
        if rule.district_id is not None:
            district_rules.setdefault(rule.district_id, []).append(rule)
    disabled: dict[int, set[str]] = {}
    for o in overrides:
        if not o.enabled:
            disabled.setdefault(o.district_id, set()).add(o.category_code)
    units = UnitIndex(
        UnitRef(
            id=u.id,
            unit_type=u.unit_type,
            platform=u.platform,
            org_unit_id=u.org_unit_id,
            code=u.code,
            name=u.name,
        )
        for u in db.scalars(select(Unit).where(Unit.active.is_(True)))
    )
    policies = [
        PolicyRef(
            id=p.id,
            level=p.level,
            category_code=p.category_code,
            urgent=p.urgent,
            policy=Policy(
                limit=p.limit_value,
                unit=p.limit_unit,  # type: ignore[arg-type]  # checked on write
                remind_before_hours=p.remind_before_hours,
                yellow_ratio=p.yellow_ratio,
            ),
            district_id=p.district_id,
        )
        for p in db.scalars(select(SlaPolicy).order_by(SlaPolicy.id))
    ]
    policies += [
        PolicyRef(
            id=-o.id, level=None, category_code=o.category_code, urgent=False,
            policy=Policy(limit=o.limit_hours, unit="hours",
                          remind_before_hours=min(24.0, o.limit_hours / 4), yellow_ratio=0.8),
            district_id=o.district_id, override=True,
        )
        for o in overrides
        if o.limit_hours is not None
    ]  # fmt: skip
    days = {o.day: o.is_working for o in db.scalars(select(CalendarOverride))}
    towns = db.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.parent_id, OrgUnit.path).where(
            OrgUnit.kind == "town"
        )
    ).all()
    return Rules(
        generation=generation,
        categories=categories,
        rules=rules,
        units=units,
        policies=policies,
        calendar=WorkCalendar(days),
        town_prefixes={t.id: t.code[-3:] for t in towns},
        town_districts={t.id: t.parent_id for t in towns if t.parent_id is not None},
        town_paths={t.id: t.path for t in towns},
        district_rules=district_rules,
        intakes=class_intakes(db),
        district_disabled={d: frozenset(codes) for d, codes in disabled.items()},
    )


class RulesCache:
    """The process's snapshot, reloaded when the stored `rules` counter moves."""

    def __init__(self, check_seconds: float) -> None:
        self.check_seconds = check_seconds
        self._rules: Rules | None = None
        self._checked_at = -math.inf
        self._lock = threading.Lock()

    def needs_check(self) -> bool:
        return self._rules is None or time.monotonic() - self._checked_at >= self.check_seconds

    def get(self, db: Session) -> Rules:
        """The snapshot, checked against the counter when it is due."""
        if not self.needs_check():
            assert self._rules is not None
            return self._rules
        with self._lock:
            current = self._rules
            if current is None or _generation(db) != current.generation:
                current = self._rules = load_rules(db)
            self._checked_at = time.monotonic()
            return current

    def invalidate(self) -> None:
        with self._lock:
            self._rules = None


def rules_changed(db: Session) -> None:
    """Tell every instance to reload its snapshot (call in the transaction that changed them)."""
    bump_counter(db=db, name=RULES_COUNTER)
