"""A year of Keqiao's events for the demo and the benchmarks: `fengqiao seed --events N`.

The bulk path files each event the way the API does — the point resolves through the grid
index, routing rules propose the unit, the SLA policy and the working calendar give the
deadline, the trail rows are chained with the same `row_hash` — but plans whole batches in
memory and writes them with raw executemany (SQLite) or COPY (PostgreSQL), which is what makes
1.1 million events and their trails fit in minutes.

Rhythms (demo/rhythms.py): more events on working days and in working hours, a summer high and
the Spring Festival dip, class seasons (rivers in summer, stoves in winter) and a class mix by the
village's area type; about 99.6 % of the events old enough to be due are closed, a few percent
closed late, returned or reworked, and the newest events still open at every stage. A year of at
least 2,000 events also carries planted anomalies (demo/anomalies.py) for the early warnings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import func, insert, select, text

from fengqiao.analytics.rollups import rebuild as rebuild_rollups
from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.clock import LOCAL_TZ
from fengqiao.command.alarms import settle_history
from fengqiao.db import Database
from fengqiao.demo import jointops as demo_jointops
from fengqiao.demo import phrases, rhythms
from fengqiao.demo.anomalies import Background, PlantedAnomaly, PlantedEvent
from fengqiao.demo.anomalies import plan as plan_anomalies
from fengqiao.events.filing import deadline_for, route
from fengqiao.events.models import Event, EventSequence
from fengqiao.events.trail import GENESIS, row_hash
from fengqiao.geo.service import GridLocator
from fengqiao.org.models import OrgUnit
from fengqiao.partitions.jobs import maintain as maintain_partitions
from fengqiao.taxonomy.routing import Proposal
from fengqiao.taxonomy.snapshot import Rules, load_rules

Progress = Callable[[str, int, int], None]
BATCH = 20_000

SOURCES = ("grid_worker", "resident", "hotline", "iot", "video", "inspection")
SOURCE_WEIGHTS = (0.70, 0.10, 0.09, 0.04, 0.05, 0.02)


@dataclass
class EventSeedReport:
    events: int
    trail_rows: int
    open_events: int
    seconds: float
    planted: list[PlantedAnomaly] = field(default_factory=list)


@dataclass(frozen=True)
class _People:
    workers_by_grid: dict[int, list[int]]
    operator_by_town: dict[int, int]
    district_operator: int
    leader: int
    resident: int
    device: int
    handler_by_unit: dict[int, int]


def _people(conn: Any) -> _People:
    workers: dict[int, list[int]] = defaultdict(list)
    for user_id, grid_id in conn.execute(
        select(GridAssignment.user_id, GridAssignment.grid_id).order_by(GridAssignment.user_id)
    ):
        workers[grid_id].append(user_id)
    by_role: dict[str, list[tuple[int, int, int | None]]] = defaultdict(list)
    for user_id, role, home, unit in conn.execute(
        select(User.id, UserRole.role, User.home_org_id, User.unit_id)
        .join(UserRole, UserRole.user_id == User.id)
        .order_by(User.id)
    ):
        by_role[role].append((user_id, home, unit))
    kinds = dict(conn.execute(select(OrgUnit.id, OrgUnit.kind)).all())
    operators = {
        home: uid for uid, home, _ in reversed(by_role["operator"]) if kinds[home] == "town"
    }
    district_ops = [uid for uid, home, _ in by_role["operator"] if kinds[home] == "district"]
    handlers = {unit: uid for uid, _, unit in reversed(by_role["handler"]) if unit is not None}

    def first(role: str) -> int:
        if not by_role[role]:
            raise ValueError(f"the seeded district has no {role}; seed the district first")
        return by_role[role][0][0]

    return _People(
        workers_by_grid=dict(workers),
        operator_by_town=operators,
        district_operator=district_ops[0] if district_ops else first("operator"),
        leader=first("leader"),
        resident=first("resident"),
        device=first("device"),
        handler_by_unit=handlers,
    )


def seed_events(
    *,
    db: Database,
    count: int,
    until: datetime,
    seed: int = 20171018,
    progress: Progress | None = None,
) -> EventSeedReport:
    """Add `count` events spread over the year before `until` to a seeded, event-less district."""
    started = datetime.now(UTC)
    report: Progress = progress or (lambda stage, done, total: None)
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(Event)):
            raise ValueError("the database already holds events; seed events into an empty table")
        people = _people(session.connection())
    planner = _planner(db, until, seed, people)
    planted = plan_anomalies(planner.background, count=count, until=until, seed=seed)
    extra = [e for anomaly in planted for e in anomaly.events]
    # PostgreSQL: the months of the history get their partitions first, so the bulk rows go
    # straight to them, not through the default partition (fengqiao/partitions; SQLite: no-op).
    maintain_partitions(db, now=until - timedelta(days=400), ahead=15, retention=1200)
    writer = _Writer(db)
    totals = Counter[str]()
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        events, logs = planner.plan(size, first_id=done + 1, planted=extra[:size])
        extra = extra[size:]
        writer.write(events, logs)
        done += size
        totals["trail"] += len(logs)
        totals["open"] += sum(1 for e in events if e[_STATUS] not in _FINAL)
        report("events", done, count)
    writer.finish(planner.sequences)
    # The history's alarms were answered at the time: a fresh demo has none waiting for 接警.
    with db.transaction() as session:
        settle_history(session, until=until)
    # 联合执法: assisting parts on a share of the level-3/4 events, the towns' joint operations.
    report("joint", 0, 1)
    demo_jointops.seed_joint(db=db, until=until, seed=seed)
    report("joint", 1, 1)
    # The bulk path bypasses the per-event rollup upkeep: sum the rollups once at the end.
    report("rollups", 0, 1)
    rebuild_rollups(db)
    report("rollups", 1, 1)
    return EventSeedReport(
        events=count,
        trail_rows=totals["trail"],
        open_events=totals["open"],
        seconds=round((datetime.now(UTC) - started).total_seconds(), 1),
        planted=planted,
    )


def planted_anomalies(
    *, db: Database, count: int, until: datetime, seed: int = 20171018
) -> list[PlantedAnomaly]:
    """The anomalies `seed_events(count=count, until=until, seed=seed)` plants in this district
    (the same list its report carries), recomputed from the seeded district."""
    planner = _planner(db, until, seed, None)
    return plan_anomalies(planner.background, count=count, until=until, seed=seed)


def _planner(db: Database, until: datetime, seed: int, people: _People | None) -> _Planner:
    with db.session() as session:
        rules = load_rules(session)
        if not rules.categories or not rules.town_districts:
            raise ValueError("seed the district (with its taxonomy) before its events")
        locator = GridLocator(0)
        locator.refresh(session)
        places = {
            row.id: row
            for row in session.execute(
                select(OrgUnit.id, OrgUnit.households, OrgUnit.area_type, OrgUnit.name).where(
                    OrgUnit.kind.in_(("grid", "village"))
                )
            )
        }
    return _Planner(rules, people, locator, places, np.random.default_rng(seed), until)


_FINAL = frozenset({"closed", "rejected", "voided", "merged"})


class _Planner:
    """Plans batches of events and their trails in memory, deterministically."""

    def __init__(
        self,
        rules: Rules,
        people: _People | None,
        locator: GridLocator,
        places: dict[int, Any],
        rng: np.random.Generator,
        until: datetime,
    ) -> None:
        self.rules, self.rng, self.until = rules, rng, until
        self.people = people or _People({}, {}, 0, 0, 0, 0, {})
        self.index = locator.snapshot.index
        self.start = until - timedelta(days=365)
        codes = sorted(c for c, cat in rules.categories.items() if cat.active)
        self.codes = codes
        density = np.array([float(places[int(g)].households or 1) for g in self.index.grid_ids])
        self.village_names = {i: p.name for i, p in places.items() if p.name}
        self.accept_share = density / density.max()
        bounds = shapely.bounds(self.index.geometries)
        self.bounds = (
            float(bounds[:, 0].min()), float(bounds[:, 1].min()),
            float(bounds[:, 2].max()), float(bounds[:, 3].max()),
        )  # fmt: skip
        self.sequences: Counter[tuple[str, str]] = Counter()
        self.proposals: dict[tuple[str, int, int, int], Proposal] = {}
        self.local_start = self.start.astimezone(LOCAL_TZ).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        # The local days of the year up to today, weighted by the calendar; hours within a day
        # by whether it is a working day; classes by day and the village's area type.
        first, days = self.local_start.date(), 366
        day_weights = rhythms.day_weights(first, days, rules.calendar)
        self.day_p = day_weights / day_weights.sum()
        self.rest = rhythms.rest_days(first, days, rules.calendar)
        self.hour_p = rhythms.HOUR_WEIGHTS / rhythms.HOUR_WEIGHTS.sum()
        self.rest_hour_p = rhythms.REST_HOUR_WEIGHTS / rhythms.REST_HOUR_WEIGHTS.sum()
        names = [rules.categories[c].name_zh for c in codes]
        weights = rhythms.class_weights(codes, names, first, days)
        class_p = weights / weights.sum(axis=2, keepdims=True)
        self.class_cum = np.cumsum(class_p, axis=2)
        self.area = np.array(
            [
                rhythms.AREA_TYPES.index(places[int(v)].area_type or "rural")
                for v in self.index.village_ids
            ],
            dtype=np.int64,
        )
        self.background = Background(
            index=self.index, accept_share=self.accept_share, area_of_position=self.area,
            day_p=self.day_p, hour_p=self.hour_p, class_p=class_p, codes=codes, names=names,
            local_start=self.local_start,
        )  # fmt: skip

    def _points(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n points inside the district (lng, lat, position in the grid index), denser where
        grids hold more households; resolved by the same index the API uses."""
        min_lng, min_lat, max_lng, max_lat = self.bounds
        lngs, lats, found_all = [], [], []
        have = 0
        while have < n:
            m = int((n - have) * 3) + 100
            lng = self.rng.uniform(min_lng, max_lng, m)
            lat = self.rng.uniform(min_lat, max_lat, m)
            found = self.index.locate_many(lng, lat)
            keep = found >= 0
            keep &= self.rng.random(m) < self.accept_share[np.where(keep, found, 0)]
            lngs.append(lng[keep])
            lats.append(lat[keep])
            found_all.append(found[keep])
            have += int(keep.sum())
        return (
            np.concatenate(lngs)[:n],
            np.concatenate(lats)[:n],
            np.concatenate(found_all)[:n],
        )

    def plan(
        self, n: int, *, first_id: int, planted: list[PlantedEvent] | None = None
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """`n` events (the planted ones among them) with their trails, ids from `first_id`."""
        rng = self.rng
        planted = planted or []
        m = n - len(planted)
        lng, lat, position = self._points(m)
        day = rng.choice(len(self.day_p), size=m, p=self.day_p)
        hour = np.where(
            self.rest[day],
            rng.choice(24, size=m, p=self.rest_hour_p),
            rng.choice(24, size=m, p=self.hour_p),
        )
        seconds = rng.integers(0, 3600, size=m)
        cumulative = self.class_cum[day, self.area[position]]
        category = np.minimum(
            (cumulative < rng.random(m)[:, None]).sum(axis=1), len(self.codes) - 1
        )
        if planted:
            lng, lat, position, day, hour, seconds, category = (
                np.concatenate((a, np.array([getattr(e, name) for e in planted], dtype=a.dtype)))
                for a, name in (
                    (lng, "lng"), (lat, "lat"), (position, "position"), (day, "day"),
                    (hour, "hour"), (seconds, "second"), (category, "category"),
                )
            )  # fmt: skip
        order = np.lexsort((seconds, hour, day))  # ids follow filing time
        lng, lat, position, day, hour, seconds, category = (
            a[order] for a in (lng, lat, position, day, hour, seconds, category)
        )
        grid = self.index.grid_ids[position]
        village = self.index.village_ids[position]
        town = self.index.town_ids[position]
        source = rng.choice(len(SOURCES), size=n, p=SOURCE_WEIGHTS)
        fate = rng.random((n, 6))
        events: list[tuple[Any, ...]] = []
        logs: list[tuple[Any, ...]] = []
        for i in range(n):
            created = (
                self.local_start
                + timedelta(days=int(day[i]), hours=int(hour[i]), seconds=int(seconds[i]))
            ).astimezone(UTC)
            if created >= self.until:  # later today than now: the same hour a week earlier
                created -= timedelta(days=7)
            self._one(
                first_id + i, created, float(lng[i]), float(lat[i]),
                (int(grid[i]), int(village[i]), int(town[i])),
                self.codes[int(category[i])], SOURCES[int(source[i])], fate[i], events, logs,
            )  # fmt: skip
        return events, logs

    def _one(
        self,
        event_id: int,
        created: datetime,
        lng: float,
        lat: float,
        place: tuple[int, int, int],
        code: str,
        source: str,
        fate: np.ndarray,
        events: list[tuple[Any, ...]],
        logs: list[tuple[Any, ...]],
    ) -> None:
        grid_id, village_id, town_id = place
        rules, people = self.rules, self.people
        category = rules.categories[code]
        level = category.default_level
        if level > 1 and fate[0] < 0.08:
            level = min(4, level + 1)
        if source != "grid_worker" and level == 1:
            level = 2
        urgent = bool(fate[0] > 0.995)
        key = (code, level, village_id, town_id)
        proposal = self.proposals.get(key)
        if proposal is None:  # the same pure function as filing, memoised: rules do not change
            proposal = self.proposals[key] = route(
                rules, category_code=code, level=level, place_ids=(village_id, town_id)
            )
        policy_id, deadline = deadline_for(
            rules, level=level, category_code=code, urgent=urgent, start=created
        )
        workers = people.workers_by_grid.get(grid_id) or [people.resident]
        reporter = {
            "grid_worker": workers[int(fate[1] * len(workers)) % len(workers)],
            "resident": people.resident, "hotline": people.operator_by_town.get(town_id, people.district_operator),
            "iot": people.device, "video": people.device, "inspection": people.leader,
        }[source]  # fmt: skip
        operator = people.operator_by_town.get(town_id, people.district_operator)
        prefix = rules.town_prefixes.get(town_id, "000")
        local_day = created.astimezone(LOCAL_TZ).strftime("%Y%m%d")
        self.sequences[(prefix, local_day)] += 1
        event_code = f"{prefix}-{local_day}-{self.sequences[(prefix, local_day)]:04d}"
        trail = _Trail(event_id)
        trail.add(created, reporter, "report", None, "reported", None, "", {
            "source": source, "category": code, "level": level, "urgent": urgent,
            "grid_id": grid_id, "lat": lat, "lng": lng,
            "routing": {"rule_id": proposal.rule_id, "unit_id": proposal.unit_id, "reason": proposal.reason},
            "sla_policy_id": policy_id, "due_at": deadline.due_at.isoformat() if deadline else None,
            "photos": [],
        })  # fmt: skip
        row = {
            "status": "reported", "owner": None, "accepted": None, "dispatched": None,
            "signed": None, "handled": None, "closed": None, "returns": 0, "reworks": 0,
            "satisfaction": None, "result": None, "due": deadline, "start": created,
            # What the reporter wrote and where: a phrase of the class, a street of the village.
            "description": phrases.description(code, float(fate[4])),
            "address": phrases.address(self.village_names.get(village_id, ""), float(fate[3])),
        }  # fmt: skip
        now = self.until
        due_span = (deadline.due_at - created) if deadline else timedelta(days=3)
        t = created

        def step(minutes: float) -> datetime | None:
            nonlocal t
            t = t + timedelta(minutes=minutes)
            return t if t < now else None

        if level == 1 and source == "grid_worker":
            if (at := step(5 + 40 * fate[2])) is not None:
                trail.add(at, reporter, "self_handle", "reported", "self_handled", None, "", {})
                row.update(status="self_handled", accepted=at)
                if (at := step(30 + 200 * fate[3])) is not None:
                    trail.add(
                        at,
                        reporter,
                        "close",
                        "self_handled",
                        "closed",
                        None,
                        "",
                        {"attachment_ids": []},
                    )
                    row.update(status="closed", handled=at, closed=at, result="现场已处置")
        elif fate[2] < 0.01:
            if (at := step(10 + 50 * fate[3])) is not None:
                trail.add(
                    at, operator, "reject", "reported", "rejected", None, "不属于受理范围", {}
                )
                row.update(status="rejected", closed=at)
        elif (at := step(5 + 55 * fate[2])) is not None:
            trail.add(at, operator, "accept", "reported", "accepted", None, "", {
                "routing": {"rule_id": proposal.rule_id, "unit_id": proposal.unit_id, "reason": proposal.reason}})  # fmt: skip
            row.update(status="accepted", accepted=at)
            self._handle(row, trail, proposal.unit_id, operator, reporter, fate, step, due_span,
                         code, level, urgent)  # fmt: skip
        events.append(self._event_tuple(event_id, event_code, category, code, level, urgent, source, reporter,
                                        lat, lng, place, proposal, policy_id, row, trail, created))  # fmt: skip
        logs.extend(trail.rows)

    def _handle(self, row: dict[str, Any], trail: _Trail, unit: int | None, operator: int,
                reporter: int, fate: np.ndarray, step: Callable[[float], datetime | None],
                due_span: timedelta, code: str, level: int, urgent: bool) -> None:  # fmt: skip
        if unit is None:
            return
        handler = self.people.handler_by_unit.get(unit)
        if (at := step(5 + 25 * fate[3])) is None:
            return
        trail.add(at, operator, "dispatch", "accepted", "dispatched", unit, "", {})
        row.update(status="dispatched", owner=unit, dispatched=at)
        if fate[3] < 0.02:  # routed to the wrong unit: returned, then dispatched again
            if (at := step(60 + 120 * fate[4])) is None:
                return
            trail.add(
                at,
                handler,
                "return",
                "dispatched",
                "accepted",
                unit,
                "不属于本单位职责",
                {"return_count": 1},
            )
            row.update(status="accepted", owner=None, returns=1)
            if (at := step(10 + 30 * fate[4])) is None:
                return
            _, redo = deadline_for(
                self.rules, level=level, category_code=code, urgent=urgent, start=at
            )
            trail.add(at, operator, "dispatch", "accepted", "dispatched", unit, "重新交办",
                      {"redispatch": True, "due_at": redo.due_at.isoformat() if redo else None})  # fmt: skip
            row.update(
                status="dispatched", owner=unit, dispatched=at, due=redo or row["due"], start=at
            )
        if (at := step(20 + 200 * fate[4])) is None:
            return
        trail.add(at, handler, "sign", "dispatched", "signed", unit, "", {})
        row.update(status="signed", signed=at)
        # Most units finish well inside the limit; about 3 % overrun it, and one in a hundred
        # stalls for several times its limit (the overdue cases a command room chases).
        if fate[5] > 0.03:
            share = 0.2 + 0.7 * fate[5]
        elif fate[5] > 0.01:
            share = 1.05 + fate[5] * 10
        else:
            share = 2.0 + fate[5] * 300
        remaining = (row["due"].due_at - at) if row["due"] else due_span
        if (at := step(max(10.0, remaining.total_seconds() / 60 * share))) is None:
            return
        trail.add(at, handler, "feedback", "signed", "handled", unit, "", {"attachment_ids": []})
        row.update(status="handled", handled=at, result="已按要求处置完毕")
        if fate[1] < 0.03:  # the reporter finds it not done: rework
            if (at := step(60 + 600 * fate[2])) is None:
                return
            trail.add(at, reporter, "verify", "handled", "signed", unit, "现场核查未整改到位",
                      {"ok": False, "rework_count": 1})  # fmt: skip
            row.update(status="signed", reworks=1)
            if (at := step(120 + 600 * fate[3])) is None:
                return
            trail.add(
                at, handler, "feedback", "signed", "handled", unit, "", {"attachment_ids": []}
            )
            row.update(status="handled", handled=at)
        if (at := step(30 + 900 * fate[2])) is None:
            return
        trail.add(at, reporter, "verify", "handled", "closed", unit, "", {"ok": True})
        row.update(status="closed", closed=at)
        if fate[4] < 0.3:
            satisfaction = 5 if fate[5] > 0.15 else 4 if fate[5] > 0.05 else 3
            trail.add(at + timedelta(minutes=5), reporter, "rate", "closed", "closed", None, "",
                      {"satisfaction": satisfaction})  # fmt: skip
            row["satisfaction"] = satisfaction

    def _event_tuple(self, event_id: int, event_code: str, category: Any, code: str, level: int,
                     urgent: bool, source: str, reporter: int, lat: float, lng: float, place: tuple[int, int, int],
                     proposal: Any, policy_id: int | None, row: dict[str, Any], trail: _Trail,
                     created: datetime) -> tuple[Any, ...]:  # fmt: skip
        deadline = row["due"]
        last = trail.rows[-1]
        return (
            event_id, event_code, category.name_zh, row["description"], code, category.name_zh,
            category.major_code, category.major_name, category.platform, level, urgent, source,
            reporter, None, lat, lng, row["address"], *place, row["status"], row["owner"],
            proposal.unit_id, proposal.rule_id,
            "proposed" if proposal.unit_id is not None else "unrouted", 0, policy_id,
            row["start"] if deadline else None,
            deadline.due_at if deadline else None, deadline.yellow_at if deadline else None,
            deadline.remind_at if deadline else None, created, last[2], row["accepted"],
            row["dispatched"], row["signed"], row["handled"], row["closed"], 0.0, row["reworks"],
            row["returns"], row["satisfaction"], row["result"], len(trail.rows), trail.head,
            len(trail.rows), self.rules.town_districts.get(place[2]),
        )  # fmt: skip


EVENT_COLUMNS = (
    "id", "code", "title", "description", "category_code", "category_name", "major_code",
    "major_name", "platform", "level", "urgent", "source", "reporter_id", "contact_phone", "lat",
    "lng", "address", "grid_id", "village_id", "town_id", "status", "owner_unit_id",
    "proposed_unit_id", "routing_rule_id", "routing_state", "escalation_rung", "sla_policy_id",
    "sla_started_at", "due_at", "yellow_at", "remind_at", "created_at", "updated_at",
    "accepted_at", "dispatched_at", "signed_at", "handled_at", "closed_at", "paused_seconds",
    "rework_count", "return_count", "satisfaction", "result", "version", "trail_hash",
    "trail_seq", "district_id",
)  # fmt: skip
# A trail row as _Trail plans it, then the event's filing time and district (the writer adds them).
LOG_COLUMNS = (
    "event_id", "seq", "at", "actor_id", "action", "from_status", "to_status", "unit_id", "note",
    "payload", "prev_hash", "hash", "filed_at", "district_id",
)  # fmt: skip
_CREATED = EVENT_COLUMNS.index("created_at")
_DISTRICT = EVENT_COLUMNS.index("district_id")


_STATUS = EVENT_COLUMNS.index("status")


class _Trail:
    """The chained rows of one event, hashed exactly as the online path hashes them."""

    def __init__(self, event_id: int) -> None:
        self.event_id = event_id
        self.head = GENESIS
        self.rows: list[tuple[Any, ...]] = []

    def add(self, at: datetime, actor: int | None, action: str, from_status: str | None,
            to_status: str, unit: int | None, note: str, payload: dict[str, Any]) -> None:  # fmt: skip
        seq = len(self.rows) + 1
        digest = row_hash(
            prev_hash=self.head, event_id=self.event_id, seq=seq, at=at, actor_id=actor,
            action=action, from_status=from_status, to_status=to_status, unit_id=unit, note=note,
            payload=payload,
        )  # fmt: skip
        self.rows.append((self.event_id, seq, at, actor, action, from_status, to_status, unit,
                          note, orjson.dumps(payload).decode(), self.head, digest))  # fmt: skip
        self.head = digest


def _sqlite_time(at: datetime | None) -> str | None:
    # The text form SQLAlchemy's DateTime stores on SQLite (UTCDateTime writes UTC).
    if at is None:
        return None
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class _Writer:
    """Writes planned rows the fastest way each backend offers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, events: list[tuple[Any, ...]], logs: list[tuple[Any, ...]]) -> None:
        # Each trail row carries its event's filing time (the partition key) and district.
        owners = {row[0]: (row[_CREATED], row[_DISTRICT]) for row in events}
        logs = [(*row, *owners[row[0]]) for row in logs]
        if self.db.is_sqlite:
            self._sqlite(events, logs)
        else:
            self._postgres(events, logs)

    def _sqlite(self, events: list[tuple[Any, ...]], logs: list[tuple[Any, ...]]) -> None:
        times = {i for i, c in enumerate(EVENT_COLUMNS) if c.endswith("_at")}
        event_rows = [
            tuple(_sqlite_time(v) if i in times else v for i, v in enumerate(row)) for row in events
        ]
        log_rows = [
            (*r[:2], _sqlite_time(r[2]), *r[3:-2], _sqlite_time(r[-2]), r[-1]) for r in logs
        ]
        raw = self.db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(_insert_sql("event", EVENT_COLUMNS), event_rows)
            cursor.executemany(_insert_sql("event_log", LOG_COLUMNS), log_rows)
            cursor.execute("COMMIT")
        finally:
            raw.close()

    def _postgres(self, events: list[tuple[Any, ...]], logs: list[tuple[Any, ...]]) -> None:
        raw = self.db.engine.raw_connection()
        try:
            cursor: Any = raw.cursor()
            with cursor.copy(f"COPY event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for row in events:
                    copy.write_row(row)
            with cursor.copy(f"COPY event_log ({', '.join(LOG_COLUMNS)}) FROM STDIN") as copy:
                for row in logs:
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()

    def finish(self, sequences: Counter[tuple[str, str]]) -> None:
        """Code counters continue after the seeded ones; PostgreSQL's id sequences too."""
        with self.db.transaction() as session:
            conn = session.connection()
            rows = [{"prefix": p, "day": d, "value": v} for (p, d), v in sequences.items()]
            for start in range(0, len(rows), 5000):
                conn.execute(insert(EventSequence), rows[start : start + 5000])
            if conn.dialect.name == "postgresql":
                for table in ("event", "event_log"):
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table}), 1))"))  # fmt: skip
                conn.execute(text("ANALYZE event"))
                conn.execute(text("ANALYZE event_log"))
            else:
                conn.execute(text("ANALYZE"))


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def default_until() -> datetime:
    """The end of the seeded year: now, to the minute, so the newest events are still open."""
    return datetime.now(UTC).replace(second=0, microsecond=0)
