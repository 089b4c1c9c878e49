"""The demo district's responsible units and people: unit rows, accounts, roles and the grid
workers' assignments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from fengqiao.auth.security import hash_password
from fengqiao.demo import keqiao as kq
from fengqiao.demo.plan import CREATED_AT, DUTIES, Org, Row, Scale


def plan_units(district: Org, rng: np.random.Generator) -> tuple[list[Row], dict[str, int]]:
    """Unit rows, and unit ids by `<org code>:<unit_type>` (coordination groups: by platform)."""
    rows: list[Row] = []
    ids: dict[str, int] = {}
    phones = _unique_numbers(rng, 10**7)

    def add(org: Org, sequence: int, kind: kq.UnitKind, category: str, name: str) -> None:
        unit_id = len(rows) + 1
        key = kind.unit_type if category != "coordination_group" else f"group_{kind.platform}"
        ids[f"{org.code}:{key}"] = unit_id
        rows.append(
            {
                "id": unit_id,
                "code": f"U{org.code}{sequence:02d}",
                "name": name,
                "unit_type": kind.unit_type,
                "category": category,
                "platform": kind.platform,
                "org_unit_id": org.id,
                "phone": f"0575-8{next(phones):07d}",
                "duty_phone": f"0575-8{next(phones):07d}",
                "active": True,
            }
        )

    for sequence, kind in enumerate(kq.DISTRICT_DEPARTMENTS, start=1):
        add(district, sequence, kind, "district_department", kind.name)
    town_kinds = [(k, "agency") for k in kq.AGENCIES]
    town_kinds += [(k, "town_office") for k in kq.TOWN_OFFICES]
    town_kinds += [(k, "coordination_group") for k in kq.COORDINATION_GROUPS]
    for town in district.children:
        for sequence, (kind, category) in enumerate(town_kinds, start=1):
            add(town, sequence, kind, category, f"{town.name}{kind.name}")
    for town in district.children:
        for village in town.children:
            committee = kq.VILLAGE_COMMITTEE[village.village_type or "village"]
            kind = kq.UnitKind(committee, "village_committee", None)
            add(village, 1, kind, "village_committee", f"{village.name}{committee}")
    return rows, ids


def _unique_numbers(rng: np.random.Generator, upper: int) -> Iterator[int]:
    """Distinct random integers below `upper`, drawn in batches."""
    seen: set[int] = set()
    while True:
        for number in rng.integers(0, upper, size=1024).tolist():
            if number not in seen:
                seen.add(number)
                yield number


@dataclass
class _People:
    """Accumulates user, role and grid-assignment rows; named demo accounts take given slots."""

    rng: np.random.Generator
    password_hash: str
    renames: dict[str, str]
    users: list[Row] = field(default_factory=list)
    roles: list[Row] = field(default_factory=list)
    assignments: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._phones = _unique_numbers(self.rng, 10**9)

    def add(
        self,
        username: str,
        role: str,
        home: Org,
        *,
        unit_id: int | None = None,
        name: str | None = None,
        grid_duty: str | None = None,
        phone: bool = True,
        also: tuple[str, ...] = (),
    ) -> None:
        user_id = len(self.users) + 1
        self.users.append(
            {
                "id": user_id,
                "username": self.renames.get(username, username),
                "name": name or self._person_name(),
                "phone": f"13{next(self._phones):09d}" if phone else None,
                "password_hash": self.password_hash,
                "home_org_id": home.id,
                "unit_id": unit_id,
                "is_active": True,
                "is_demo": True,
                "created_at": CREATED_AT,
            }
        )
        self.roles.append({"user_id": user_id, "role": role})
        self.roles.extend({"user_id": user_id, "role": extra} for extra in also)
        if grid_duty is not None:
            self.assignments.append({"user_id": user_id, "grid_id": home.id, "duty": grid_duty})

    def _person_name(self) -> str:
        surname = kq.SURNAMES[int(self.rng.integers(len(kq.SURNAMES)))]
        size = 1 if self.rng.random() < 0.3 else 2
        chars = self.rng.integers(len(kq.GIVEN_NAME_CHARS), size=size).tolist()
        return surname + "".join(kq.GIVEN_NAME_CHARS[c] for c in chars)


# A unit's head also handles its events, and is told when they run overdue.
HEAD = ("unit_leader",)


def plan_users(
    spec: Scale,
    district: Org,
    unit_ids: dict[str, int],
    rng: np.random.Generator,
    password: str,
) -> tuple[list[Row], list[Row], list[Row], int]:
    """User, role and grid-assignment rows, and how many agency staff there are."""
    demo_town = next(t for t in district.children if t.name == kq.DEMO_TOWN)
    demo_village = demo_town.children[0]
    demo_grid = next(g for g in demo_village.children if g.grid_type == "residential")
    renames = {
        f"gw{demo_grid.code}a": "demo_grid_leader",
        f"gw{demo_grid.code}b": "demo_grid_worker",
        f"u{demo_town.code}01_1": "demo_handler",  # its law-enforcement squadron
        f"op{demo_town.code}_1": "demo_operator",
        f"ld{demo_town.code}_1": "demo_leader",
        f"op{district.code}_1": "demo_district_operator",
        f"ld{district.code}_1": "demo_district_leader",
    }
    # One argon2 hash for every demo account: hashing ~8,000 passwords one by one would take
    # minutes, and demo accounts share the password anyway.
    people = _People(rng, hash_password(password), renames)
    people.add("admin", "admin", district, name="系统管理员", phone=False)
    people.add("demo_resident", "resident", demo_village)
    people.add("demo_device", "device", district, name="物联网设备网关", phone=False)

    for org, count in [(district, 3), *((t, spec.operators) for t in district.children)]:
        for n in range(1, count + 1):
            people.add(f"op{org.code}_{n}", "operator", org)
        for n in range(1, (3 if org is district else spec.leaders) + 1):
            people.add(f"ld{org.code}_{n}", "leader", org)
    for sequence, kind in enumerate(kq.DISTRICT_DEPARTMENTS, start=1):
        unit_id = unit_ids[f"{district.code}:{kind.unit_type}"]
        people.add(
            f"u{district.code}{sequence:02d}_1", "handler", district, unit_id=unit_id, also=HEAD
        )

    agency_staff = 0
    for town_index, town in enumerate(district.children):
        for sequence, kind in enumerate(kq.AGENCIES, start=1):
            unit_id = unit_ids[f"{town.code}:{kind.unit_type}"]
            staff = spec.staff_per_agency[(town_index + sequence) % 2]
            for n in range(1, staff + 1):
                head = HEAD if n == staff else ()  # the last of the staff heads the unit
                people.add(
                    f"u{town.code}{sequence:02d}_{n}", "handler", town, unit_id=unit_id, also=head
                )
            agency_staff += staff
        single = [(k, k.unit_type) for k in kq.TOWN_OFFICES]
        single += [(k, f"group_{k.platform}") for k in kq.COORDINATION_GROUPS]
        for sequence, (_, key) in enumerate(single, start=len(kq.AGENCIES) + 1):
            unit_id = unit_ids[f"{town.code}:{key}"]
            people.add(f"u{town.code}{sequence:02d}_1", "handler", town, unit_id=unit_id, also=HEAD)

    # Each village committee has one member who signs and handles what routing sends it.
    for town in district.children:
        for village in town.children:
            unit_id = unit_ids[f"{village.code}:village_committee"]
            people.add(f"u{village.code}01_1", "handler", village, unit_id=unit_id, also=HEAD)

    for town in district.children:
        for village in town.children:
            for grid in village.children:
                for letter, (duty, role) in zip("abcd", DUTIES, strict=True):
                    people.add(f"gw{grid.code}{letter}", role, grid, grid_duty=duty)
    return people.users, people.roles, people.assignments, agency_staff
