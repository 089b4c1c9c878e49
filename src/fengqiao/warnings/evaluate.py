"""Replaying the warnings job over a stored year and scoring it against the planted anomalies.

`fengqiao warnings replay` runs the job at every step of a span (as a worker would have), then
counts which planted anomalies a warning found (recall) and which warnings match no planted
anomaly (the background's hits, reported as false alarms per week).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from fengqiao.db import Database
from fengqiao.geo.distance import haversine_m
from fengqiao.warnings.models import EarlyWarning
from fengqiao.warnings.service import WarningRules, run_detectors

# A planted repeat's events lie within 20 m of its spot; a warning's anchor is one of them.
REPEAT_MATCH_M = 60.0


def replay(
    *,
    database: Database,
    start: datetime,
    end: datetime,
    step: timedelta,
    rules: WarningRules,
    progress: Callable[[int, int], None] | None = None,
) -> Counter[str]:
    """Run the detectors at start, start + step, ... up to end; new warnings by kind."""
    rules = replace(rules, interval_minutes=0.0)
    total = int((end - start) / step) + 1
    counts: Counter[str] = Counter()
    for i in range(total):
        counts.update(run_detectors(database=database, now=start + i * step, rules=rules))
        if progress is not None:
            progress(i + 1, total)
    return counts


def _overlaps(anomaly: Mapping[str, Any], warning: EarlyWarning) -> bool:
    start, end = (datetime.fromisoformat(anomaly[k]) for k in ("start", "end"))
    return warning.window_start <= end and warning.window_end >= start


def explains(anomaly: Mapping[str, Any], warning: EarlyWarning) -> bool:
    """Whether the planted `anomaly` explains `warning` of any kind: a planted cluster of five
    stability events is also a spike of the 信访维稳 class in its village."""
    if warning.kind == "backlog" or not _overlaps(anomaly, warning):
        return False
    if warning.village_id == anomaly["village_id"]:
        return True
    return matches(anomaly, warning)


def matches(anomaly: Mapping[str, Any], warning: EarlyWarning) -> bool:
    """Whether `warning` reports the planted `anomaly`: same kind, place and class, and a
    window that overlaps the planted events."""
    if warning.kind != anomaly["kind"] or not _overlaps(anomaly, warning):
        return False
    codes = set(anomaly["category_codes"])
    if anomaly["kind"] == "spike":
        code = warning.category_code or ""
        return warning.village_id == anomaly["village_id"] and (
            code in codes or any(c.startswith(code) for c in codes)
        )
    if anomaly["kind"] == "cluster":
        return warning.village_id == anomaly["village_id"]
    if anomaly["kind"] == "repeat":
        if warning.category_code not in codes or warning.lat is None or warning.lng is None:
            return False
        return (
            haversine_m(warning.lat, warning.lng, anomaly["lat"], anomaly["lng"]) <= REPEAT_MATCH_M
        )
    return False


@dataclass
class Score:
    planted: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    matched_warnings: Counter[str] = field(default_factory=Counter)
    missed: list[Mapping[str, Any]] = field(default_factory=list)

    def rows(self, weeks: float) -> list[tuple[str, int, int, int, int, float]]:
        """(kind, planted, found, warnings, warnings no planted anomaly explains, those per
        week)."""
        kinds = sorted(set(self.planted) | set(self.warnings))
        return [
            (
                kind,
                self.planted[kind],
                self.found[kind],
                self.warnings[kind],
                self.warnings[kind] - self.matched_warnings[kind],
                round((self.warnings[kind] - self.matched_warnings[kind]) / weeks, 2),
            )
            for kind in kinds
        ]


def score(anomalies: Iterable[Mapping[str, Any]], warnings: Iterable[EarlyWarning]) -> Score:
    stored = list(warnings)
    result = Score()
    matched: set[int] = set()
    for anomaly in anomalies:
        result.planted[anomaly["kind"]] += 1
        if any(matches(anomaly, w) for w in stored):
            result.found[anomaly["kind"]] += 1
        else:
            result.missed.append(anomaly)
        matched.update(w.id for w in stored if explains(anomaly, w))
    for warning in stored:
        result.warnings[warning.kind] += 1
        if warning.id in matched:
            result.matched_warnings[warning.kind] += 1
    return result


def stored_warnings(database: Database) -> list[EarlyWarning]:
    with database.session() as db:
        return list(db.scalars(select(EarlyWarning).order_by(EarlyWarning.id)))
