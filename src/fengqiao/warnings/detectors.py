"""The four warning rules as pure functions of counts and events (docs/warnings.md states them).

- spike: a class in a village against its own baseline (the weeks before the window), scaled by
  the rest of the district's volume; alarm when P(X >= observed) under a Poisson law with that
  mean is below `p` and at least `minimum` events were seen;
- cluster: `minimum` stability events in one village within `days`;
- repeat: `minimum` events of one class within `radius_m` of one event, within `days`;
- backlog: a unit holding at least `minimum` open overdue events.

No database, no clock: the job (service.py) reads the counts and events and passes `now`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from fengqiao.geo.distance import EARTH_RADIUS_M, haversine_m

# A class never seen in the baseline counts as this many events over the whole baseline, so a
# first-ever pair of events is not a spike.
PRIOR_EVENTS = 1.0


@dataclass(frozen=True)
class Seen:
    """One event as the detectors see it."""

    id: int
    created_at: datetime
    category_code: str
    village_id: int
    town_id: int
    lat: float
    lng: float


@dataclass(frozen=True)
class Finding:
    """A condition worth a warning, before it is stored."""

    kind: str
    org_id: int  # the village, or the backlogged unit's org unit
    window_start: datetime
    window_end: datetime
    observed: int
    expected: float
    score: float
    category_code: str | None = None  # a minor code, or a two-digit major code
    village_id: int | None = None
    town_id: int | None = None
    unit_id: int | None = None
    lat: float | None = None
    lng: float | None = None
    p_value: float | None = None
    event_ids: tuple[int, ...] = field(default=())
    baseline: int | None = None  # a spike's count in the weeks before its window (unscaled)

    def overlaps(self, other: Finding) -> bool:
        """The same condition: same kind, place and class, with touching windows."""
        return (
            self.kind == other.kind
            and self.org_id == other.org_id
            and self.category_code == other.category_code
            and self.window_start <= other.window_end
            and other.window_start <= self.window_end
        )


def poisson_tail(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected), summed upward so tiny tails stay exact."""
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    if observed <= expected:  # the body of the law: 1 - P(X < observed) loses nothing here
        lower = sum(
            math.exp(-expected + k * math.log(expected) - math.lgamma(k + 1))
            for k in range(observed)
        )
        return max(0.0, 1.0 - lower)
    term = math.exp(-expected + observed * math.log(expected) - math.lgamma(observed + 1))
    total, k = 0.0, observed
    while term > total * 1e-16 and k < observed + 10_000:
        total += term
        k += 1
        term *= expected / k
    return min(1.0, total)


# --- spike -------------------------------------------------------------------------------------

Key = tuple[int, str]  # (village id, class code: minor "0901" or major "09")


def spikes(
    *,
    current: Counter[Key],
    baseline: Counter[Key],
    window_start: datetime,
    window_end: datetime,
    towns: dict[int, int | None],
    p: float,
    minimum: int,
    districts: Mapping[int, int | None] | None = None,
) -> list[Finding]:
    """Classes whose count in a village in the window is improbably high against the village's
    own baseline (the weeks before the window), scaled by how busy the rest of the district is
    in the window against those weeks (weekday, holiday and season move the whole district).
    A major class is reported only when none of its minor classes is, in that village: the
    minor one says more. `districts` (village → district) keeps each village's "rest" to its
    own district when several share the database (a province); without it, everything is one
    district."""
    owner = districts or {}
    village_now: Counter[int] = Counter()
    village_before: Counter[int] = Counter()
    for (village, code), n in current.items():
        if len(code) > 2:
            village_now[village] += n
    for (village, code), n in baseline.items():
        if len(code) > 2:
            village_before[village] += n
    all_now: Counter[int | None] = Counter()
    all_before: Counter[int | None] = Counter()
    for village, n in village_now.items():
        all_now[owner.get(village)] += n
    for village, n in village_before.items():
        all_before[owner.get(village)] += n
    found: dict[Key, Finding] = {}
    for key, observed in current.items():
        if observed < minimum:
            continue
        village, code = key
        district = owner.get(village)
        rest_now = all_now[district] - village_now[village]
        rest_before = all_before[district] - village_before[village]
        if rest_before <= 0:
            continue  # no history to judge against
        expected = (baseline.get(key, 0) + PRIOR_EVENTS) * rest_now / rest_before
        tail = poisson_tail(observed, expected)
        if tail < p:
            found[key] = Finding(
                kind="spike", org_id=village, village_id=village, town_id=towns.get(village),
                category_code=code, window_start=window_start, window_end=window_end,
                observed=observed, expected=round(expected, 3), p_value=tail,
                score=round(-math.log10(max(tail, 1e-300)), 2), baseline=baseline.get(key, 0),
            )  # fmt: skip
    minors = {(village, code[:2]) for village, code in found if len(code) > 2}
    return [f for key, f in found.items() if len(key[1]) > 2 or key not in minors]


# --- cluster -----------------------------------------------------------------------------------


def clusters(
    events: Iterable[Seen], *, since: datetime, days: float, minimum: int
) -> list[Finding]:
    """Villages with `minimum` (stability) events within `days`, the span ending after `since`;
    overlapping spans of one village merge into one finding."""
    span = timedelta(days=days)
    by_village: dict[int, list[Seen]] = defaultdict(list)
    for event in sorted(events, key=lambda e: (e.created_at, e.id)):
        by_village[event.village_id].append(event)
    out: list[Finding] = []
    for village, seen in by_village.items():
        current: Finding | None = None
        first = 0
        for last, event in enumerate(seen):
            while seen[first].created_at <= event.created_at - span:
                first += 1
            group = seen[first : last + 1]
            if len(group) < minimum or event.created_at < since:
                continue
            finding = Finding(
                kind="cluster", org_id=village, village_id=village, town_id=event.town_id,
                window_start=group[0].created_at, window_end=event.created_at,
                observed=len(group), expected=float(minimum), score=len(group) / minimum,
                event_ids=tuple(e.id for e in group),
            )  # fmt: skip
            if current is not None and current.overlaps(finding):
                current = _merge(current, finding)
                out[-1] = current
            else:
                current = finding
                out.append(current)
    return out


def _merge(a: Finding, b: Finding) -> Finding:
    ids = tuple(sorted(set(a.event_ids) | set(b.event_ids)))
    observed = max(a.observed, b.observed, len(ids))
    return replace(
        a,
        window_start=min(a.window_start, b.window_start),
        window_end=max(a.window_end, b.window_end),
        observed=observed,
        score=observed / a.expected if a.expected else a.score,
        event_ids=ids,
    )


# --- repeat ------------------------------------------------------------------------------------


def repeats(
    events: Iterable[Seen], *, since: datetime, days: float, radius_m: float, minimum: int
) -> list[Finding]:
    """Places where `minimum` events of one class lie within `radius_m` of one of them within
    `days`, the last of them after `since`. One finding per place and class: anchors within
    `radius_m` of an earlier finding's anchor with an overlapping span join it."""
    span = timedelta(days=days)
    cell = math.degrees(radius_m / EARTH_RADIUS_M)  # latitude degrees per cell side
    by_class: dict[str, list[Seen]] = defaultdict(list)
    for event in events:
        by_class[event.category_code].append(event)
    out: list[Finding] = []
    for code in sorted(by_class):
        seen = sorted(by_class[code], key=lambda e: (e.created_at, e.id))
        lng_cell = cell / max(math.cos(math.radians(seen[0].lat)), 1e-6)
        cells: dict[tuple[int, int], list[Seen]] = defaultdict(list)
        for event in seen:
            cells[(int(event.lat // cell), int(event.lng // lng_cell))].append(event)
        found: list[Finding] = []
        # Only neighbourhoods holding an event since `since` can hold a new finding.
        recent = {
            (int(e.lat // cell) + dr, int(e.lng // lng_cell) + dc)
            for e in seen
            if e.created_at >= since
            for dr in (-1, 0, 1)
            for dc in (-1, 0, 1)
        }
        for anchor in seen:
            row, col = int(anchor.lat // cell), int(anchor.lng // lng_cell)
            if (row, col) not in recent:
                continue
            near = sorted(
                (
                    e
                    for dr in (-1, 0, 1)
                    for dc in (-1, 0, 1)
                    for e in cells.get((row + dr, col + dc), ())
                    if abs(e.created_at - anchor.created_at) < span
                    and haversine_m(anchor.lat, anchor.lng, e.lat, e.lng) <= radius_m
                ),
                key=lambda e: (e.created_at, e.id),
            )
            group = _densest(near, anchor, span)
            if len(group) < minimum or group[-1].created_at < since:
                continue
            finding = Finding(
                kind="repeat", org_id=anchor.village_id, village_id=anchor.village_id,
                town_id=anchor.town_id, category_code=code, lat=anchor.lat, lng=anchor.lng,
                window_start=group[0].created_at, window_end=group[-1].created_at,
                observed=len(group), expected=float(minimum), score=len(group) / minimum,
                event_ids=tuple(e.id for e in group),
            )  # fmt: skip
            for i, earlier in enumerate(found):
                if same_place(earlier, finding, radius_m) and earlier.overlaps(
                    replace(finding, org_id=earlier.org_id)
                ):
                    found[i] = _merge(earlier, finding)
                    break
            else:
                found.append(finding)
        out.extend(found)
    return out


def _densest(near: list[Seen], anchor: Seen, span: timedelta) -> list[Seen]:
    """The most events of `near` (sorted by time) in one span shorter than `span` that holds
    the anchor; the latest such span on ties."""
    best: list[Seen] = []
    first = 0
    for last, event in enumerate(near):
        while near[first].created_at <= event.created_at - span:
            first += 1
        group = near[first : last + 1]
        if anchor in group and len(group) >= len(best):
            best = group
    return best


def same_place(a: Finding, b: Finding, radius_m: float) -> bool:
    if None in (a.lat, a.lng, b.lat, b.lng):
        return False
    assert a.lat is not None and a.lng is not None and b.lat is not None and b.lng is not None
    return haversine_m(a.lat, a.lng, b.lat, b.lng) <= radius_m


# --- backlog -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitLoad:
    unit_id: int
    org_id: int
    town_id: int | None
    open_events: int
    overdue: int
    oldest_due: datetime


def backlogs(loads: Iterable[UnitLoad], *, now: datetime, minimum: int) -> list[Finding]:
    """Units holding at least `minimum` open overdue events; the window runs from the oldest
    missed deadline to now, so the same backlog stays one warning until it clears."""
    return [
        Finding(
            kind="backlog",
            org_id=load.org_id,
            town_id=load.town_id,
            unit_id=load.unit_id,
            window_start=load.oldest_due,
            window_end=now,
            observed=load.overdue,
            expected=float(minimum),
            score=round(load.overdue / minimum, 2),
        )
        for load in loads
        if load.overdue >= minimum
    ]
