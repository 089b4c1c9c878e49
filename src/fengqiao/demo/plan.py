"""The demo seed's plan in memory, shared by its parts: the scales, the org tree before it
becomes rows, and the constants every part uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shapely.geometry import Polygon

from fengqiao.demo import keqiao as kq

Progress = Callable[[str, int, int], None]
Row = dict[str, Any]

# Every stored coordinate lies on this grid (6 decimals, about 0.1 m), so neighbouring polygons
# can share their vertices exactly.
GRID_SIZE = 1e-6
# A fixed timestamp keeps two seeds of the same input byte-identical.
CREATED_AT = datetime(2020, 1, 1, tzinfo=UTC)
LLOYD_ITERATIONS = 2
# (duty, role) of a grid's four workers, suffixed a-d in their usernames.
DUTIES = (
    ("leader", "grid_leader"),
    ("full_time", "grid_worker"),
    ("part_time", "grid_worker"),
    ("instructor", "grid_worker"),
)
SPECIAL_GRID_TYPES = ("market", "enterprise", "school")


@dataclass(frozen=True)
class Scale:
    """How much a seed builds: the towns, and how many villages, grids, cameras, POIs and staff."""

    towns: tuple[str, ...] | None  # None: all 16
    villages: int
    grids: int
    cameras: int
    pois: dict[str, int]
    staff_per_agency: tuple[int, int]  # alternating between agencies: 4.5 on average for (5, 4)
    operators: int = 2  # per town; the district has 3
    leaders: int = 2
    devices: tuple[int, int] = (3, 3)  # IoT: water-quality sensors, smoke detectors


SCALES: dict[str, Scale] = {
    "keqiao": Scale(
        towns=None,
        villages=340,
        grids=1700,
        cameras=30_000,
        pois={
            "hospital": 40,
            "school": 160,
            "emergency_resource": 300,
            "enterprise": 3000,
            "hydrant": 1000,
        },
        staff_per_agency=(5, 4),
        devices=(120, 280),
    ),
    "small": Scale(
        towns=(kq.DEMO_TOWN,),
        villages=5,
        grids=25,
        cameras=200,
        pois={"hospital": 1, "school": 5, "emergency_resource": 9, "enterprise": 25, "hydrant": 10},
        staff_per_agency=(4, 4),
    ),
}


@dataclass(eq=False)  # compared and hashed by identity
class Org:
    """One org unit of the plan, before it becomes a row."""

    code: str
    name: str
    kind: str
    parent: Org | None
    shape: Polygon
    area_type: str | None = None
    village_type: str | None = None
    grid_type: str | None = None
    households: int | None = None
    population: int | None = None
    id: int = 0
    children: list[Org] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"{self.parent.path if self.parent else '/'}{self.id}/"


def parent_of(node: Org) -> Org:
    """The node's parent; the district has none."""
    if node.parent is None:
        raise ValueError(f"{node.code} has no parent")
    return node.parent
