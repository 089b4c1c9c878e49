"""Where an event can come from: one table of sources, each with its label, who may file from
it and whether it is staff's or a machine's (the filing checks and the UI read it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One source of events."""

    code: str
    name_zh: str
    roles: frozenset[str]  # a caller holding any of these roles may file from it
    staff: bool = False  # staff sources may also set the level and urgency, in their own area
    machine: bool = False  # no person fills the class's form: its required questions are not asked


# In the order the pages list them (the same as `schemas.Source`).
SOURCE_TABLE: tuple[Source, ...] = (
    Source("grid_worker", "网格员上报", frozenset({"grid_worker", "grid_leader"}), staff=True),
    Source("resident", "群众上报", frozenset({"resident"})),
    Source("hotline", "热线", frozenset({"operator"}), staff=True),
    Source("iot", "物联感知", frozenset({"device"}), machine=True),
    Source("video", "视频发现", frozenset({"operator", "device"}), staff=True),
    Source("inspection", "督查巡查", frozenset({"operator", "leader"}), staff=True),
    Source("open311", "开放接口", frozenset({"device", "resident"})),
)

SOURCES: dict[str, Source] = {s.code: s for s in SOURCE_TABLE}

# Derived views, for the callers that want one column of the table.
SOURCE_ROLES: dict[str, frozenset[str]] = {s.code: s.roles for s in SOURCE_TABLE}
STAFF_SOURCES = frozenset(s.code for s in SOURCE_TABLE if s.staff)
MACHINE_SOURCES = frozenset(s.code for s in SOURCE_TABLE if s.machine)
# The UI labels of the sources (served to the pages with the other label tables).
SOURCE_ZH: dict[str, str] = {s.code: s.name_zh for s in SOURCE_TABLE}
