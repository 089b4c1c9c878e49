"""Routing (归口) as a pure evaluator: ordered rules, first match wins, then the rule's unit type
resolves to the unit of that type nearest the event (village, then town, then district).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A routing rule as the evaluator sees it; None in a match field means "any"."""

    id: int
    position: int
    category_code: str | None
    major_code: str | None
    town_id: int | None
    level: int | None
    unit_type: str | None
    unit_id: int | None
    # 联合执法: unit types that assist the lead (协办), resolved near the event as `unit_type` is.
    assist_unit_types: tuple[str, ...] = ()
    # A district's own rule: only its events, tried before every shared rule.
    district_id: int | None = None

    def matches(self, *, category_code: str, major_code: str, town_id: int, level: int) -> bool:
        return (
            (self.category_code is None or self.category_code == category_code)
            and (self.major_code is None or self.major_code == major_code)
            and (self.town_id is None or self.town_id == town_id)
            and (self.level is None or self.level == level)
        )


@dataclass(frozen=True)
class UnitRef:
    """A responsible unit as routing needs it."""

    id: int
    unit_type: str
    platform: str | None
    org_unit_id: int
    code: str = ""
    name: str = ""


@dataclass(frozen=True)
class Proposal:
    """The outcome of routing: the rule that fired and the unit it names (None: unrouted)."""

    rule_id: int | None
    unit_id: int | None
    reason: str
    # The assisting units the rule proposes (协办), each found near the event; the lead excluded.
    assist_unit_ids: tuple[int, ...] = ()


def first_match(
    rules: Sequence[Rule],
    *,
    category_code: str,
    major_code: str,
    town_id: int,
    level: int,
    district_rules: Mapping[int, Sequence[Rule]] | None = None,
    district_id: int | None = None,
) -> Rule | None:
    """The first rule that matches the event: the event's district's own rules first, then the
    shared ones (each sorted by position)."""
    own = (district_rules or {}).get(district_id or 0, ())
    for rule in (*own, *rules):
        if rule.matches(
            category_code=category_code, major_code=major_code, town_id=town_id, level=level
        ):
            return rule
    return None


class UnitIndex:
    """Units by (org unit, unit type), for resolving a rule's unit type near an event."""

    def __init__(self, units: Iterable[UnitRef]) -> None:
        self.by_id: dict[int, UnitRef] = {}
        self._by_place: dict[tuple[int, str], list[UnitRef]] = {}
        for unit in units:
            self.by_id[unit.id] = unit
            self._by_place.setdefault((unit.org_unit_id, unit.unit_type), []).append(unit)

    def nearest(self, unit_type: str, places: Sequence[int], platform: str) -> UnitRef | None:
        """The unit of `unit_type` at the first of `places` that has one; ties by platform."""
        for place in places:
            candidates = self._by_place.get((place, unit_type))
            if candidates:
                for unit in candidates:
                    if unit.platform == platform:
                        return unit
                return candidates[0]
        return None


def propose(
    rules: Sequence[Rule],
    units: UnitIndex,
    *,
    category_code: str,
    major_code: str,
    platform: str,
    level: int,
    village_id: int,
    town_id: int,
    district_id: int,
    district_rules: Mapping[int, Sequence[Rule]] | None = None,
) -> Proposal:
    """Route one event: the first matching rule and the unit it resolves to, or why none."""
    rule = first_match(
        rules, category_code=category_code, major_code=major_code, town_id=town_id, level=level,
        district_rules=district_rules, district_id=district_id,
    )  # fmt: skip
    if rule is None:
        return Proposal(None, None, "no routing rule matches this class, town and level")
    places = (village_id, town_id, district_id)
    if rule.unit_id is not None:
        if rule.unit_id not in units.by_id:
            return Proposal(rule.id, None, f"rule {rule.position} names an inactive unit")
        helpers = assisting(rule, units, lead=rule.unit_id, places=places, platform=platform)
        return Proposal(rule.id, rule.unit_id, f"rule {rule.position}", helpers)
    assert rule.unit_type is not None
    unit = units.nearest(rule.unit_type, places, platform)
    if unit is None:
        return Proposal(
            rule.id, None, f"rule {rule.position}: no {rule.unit_type} unit serves this place"
        )
    return Proposal(
        rule.id, unit.id, f"rule {rule.position}",
        assisting(rule, units, lead=unit.id, places=places, platform=platform),
    )  # fmt: skip


def assisting(
    rule: Rule, units: UnitIndex, *, lead: int, places: Sequence[int], platform: str
) -> tuple[int, ...]:
    """The units of the rule's assisting types nearest the event (a type no unit near the event
    has is left out, as is the lead itself), in the rule's order."""
    found: list[int] = []
    for unit_type in rule.assist_unit_types:
        unit = units.nearest(unit_type, places, platform)
        if unit is not None and unit.id != lead and unit.id not in found:
            found.append(unit.id)
    return tuple(found)


def rules_sorted(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: r.position)


def explain(proposal: Proposal, units: Mapping[int, UnitRef]) -> str:
    """A one-line account of a proposal for the trail."""
    if proposal.unit_id is None:
        return f"unrouted: {proposal.reason}"
    unit = units[proposal.unit_id]
    return f"{proposal.reason} → unit {unit.id} ({unit.unit_type})"
