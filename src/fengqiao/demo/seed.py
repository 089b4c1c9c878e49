"""The deterministic demo district behind `fengqiao seed`: Keqiao's 16 towns with synthetic
villages, grids, responsible units, people, points of interest and cameras. This module runs the
seed and writes its rows; the parts are planned in `boundaries.py`, `people.py` and `layers.py`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, insert, select, text, update

from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.basemap.models import BaseFeature
from fengqiao.cameras.models import Camera
from fengqiao.clock import Clock
from fengqiao.db import Database
from fengqiao.demo import campaigns as demo_campaigns
from fengqiao.demo import inspections as demo_inspections
from fengqiao.demo import meetings as demo_meetings
from fengqiao.demo import notices as demo_notices
from fengqiao.demo import patrols as demo_patrols
from fengqiao.demo import services as demo_services
from fengqiao.demo.boundaries import org_rows, plan_district
from fengqiao.demo.devices import seed_devices
from fengqiao.demo.landmarks import plan_landmarks
from fengqiao.demo.layers import plan_camera_statuses, plan_devices, plan_features, plan_patrols
from fengqiao.demo.people import plan_units, plan_users
from fengqiao.demo.plan import CREATED_AT, SCALES, Progress, Row
from fengqiao.demo.roads import plan_base_features
from fengqiao.geo.models import LayerFeature
from fengqiao.intake.service import import_intake
from fengqiao.org.models import ChangeCounter, OrgUnit, Unit
from fengqiao.taxonomy.service import import_taxonomy

BATCH_ROWS = 5000


@dataclass
class SeedReport:
    """What `seed` built and how long it took."""

    towns: int
    villages: int
    grids: int
    special_grids: int
    units: int
    users: int
    grid_workers: int
    agency_staff: int
    cameras: int
    pois: int
    seconds: float
    patrols: int = 0
    iot_devices: int = 0
    device_keys: dict[str, str] = field(default_factory=dict)  # type → "code key", shown once
    positions: int = 0
    service_items: int = 0
    proxy_requests: int = 0
    notices: int = 0
    campaigns: int = 0
    leaflet_deliveries: int = 0
    meetings: int = 0
    meeting_decisions: int = 0
    inspection_rounds: int = 0
    rectifications: int = 0
    # Photos the seeded rows point to, for the caller to write into the photo store.
    photos: tuple[bytes, ...] = ()


# (username, role, description): the accounts a demo visitor logs in with.
DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "系统管理员：维护组织架构、用户、事件分类与流转规则"),
    ("demo_grid_worker", "grid_worker", "柯桥街道一个网格的专职网格员：巡查、上报、自办、代办"),
    ("demo_grid_leader", "grid_leader", "同一网格的网格长：查看并督促本网格事件"),
    ("demo_operator", "operator", "柯桥街道综合信息指挥室坐席：受理、交办、核查、结案"),
    ("demo_district_operator", "operator", "区综合信息指挥中心坐席：全区受理、协调与督办"),
    ("demo_handler", "handler", "柯桥街道综合行政执法中队处置人员：签收、处置、反馈"),
    ("demo_leader", "leader", "柯桥街道分管领导：研判、督办、考核本街道"),
    ("demo_district_leader", "leader", "区领导：全区研判、督办、考核与通报"),
    ("demo_resident", "resident", "柯桥街道一个村（社区）的居民：随手拍上报、查看进度、评价"),
    ("demo_device", "device", "物联网设备接入账号：设备告警自动生成事件"),
)


def demo_accounts() -> list[tuple[str, str, str]]:
    """(username, role, description zh) of the named demo accounts, the same for both scales."""
    return list(DEMO_ACCOUNTS)


def seed(
    *,
    db: Database,
    scale: str,
    password: str,
    seed: int = 20171018,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> SeedReport:
    """Build the deterministic demo district into an empty, migrated database; today's patrols
    are relative to `now` (default: the clock)."""
    started = time.perf_counter()
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    with db.engine.connect() as conn:
        _refuse_non_empty(conn)
    report_progress: Progress = progress or (lambda stage, done, total: None)
    rng = np.random.default_rng(seed)
    spec = SCALES[scale]

    district = plan_district(spec, rng, report_progress)
    towns = district.children
    villages = [v for t in towns for v in t.children]
    grids = [g for v in villages for g in v.children]
    report_progress("people and places", 0, 3)
    units, unit_ids = plan_units(district, rng)
    users, roles, assignments, agency_staff = plan_users(spec, district, unit_ids, rng, password)
    report_progress("people and places", 1, 3)
    features = plan_features(spec, grids, rng)
    features += plan_devices(spec, grids, rng, first_id=len(features) + 1)
    features += plan_landmarks(grids, seed, first_id=len(features) + 1)
    report_progress("people and places", 3, 3)
    patrols = plan_patrols(grids, users, assignments, rng, now or Clock().now())
    camera_rows = plan_camera_statuses(features, seed, now or Clock().now())

    tables: list[tuple[str, Any, list[Row]]] = [
        ("org units", OrgUnit, org_rows(district)),
        ("units", Unit, units),
        ("users", User, users),
        ("users", UserRole, roles),
        ("users", GridAssignment, assignments),
        ("map layers", LayerFeature, features),
        ("map layers", Camera, camera_rows),
        ("map layers", BaseFeature, plan_base_features(district)),
    ]
    with db.transaction() as session:
        conn = session.connection()
        _refuse_non_empty(conn)
        stage_rows = Counter[str]()
        for stage, _, rows in tables:
            stage_rows[stage] += len(rows)
        stage_done = Counter[str]()
        for stage, model, rows in tables:
            for batch_rows in _insert(conn, model, rows):
                stage_done[stage] += batch_rows
                report_progress(stage, stage_done[stage], stage_rows[stage])
        _finish(conn)
        report_progress("patrols", 0, len(patrols.positions))
        demo_patrols.insert_plan(conn, patrols)
        report_progress("patrols", len(patrols.positions), len(patrols.positions))
        # The shipped classes, routing rules and SLA policies: the event center needs them.
        import_taxonomy(db=session)
        # The service catalogue (最多跑一次) and the demo town's proxy requests (代办).
        services = demo_services.seed_services(
            db=session, now=now or Clock().now(), created_at=CREATED_AT, seed=seed
        )
        # The business modules (民情通, 食安通, 智慧安监, 河长通) and the classes' extra questions.
        import_intake(db=session)
        # The IoT registry: the map's sensors as devices, and the shipped alarm rules.
        devices = seed_devices(db=session, features=features, users=users, created_at=CREATED_AT)
        # Notices to residents and a leaflet campaign with some households reached (宣传).
        notices = demo_notices.seed_notices(db=session, now=now or Clock().now())
        # Campaigns (专项整治): 文明城市创建 with the article's targets and a few others.
        campaigns = demo_campaigns.seed_campaigns(db=session, now=now or Clock().now())
        # A year of analysis meetings (研判会商) with their decisions as tracked tasks.
        meetings = demo_meetings.seed_meetings(db=session, now=now or Clock().now(), seed=seed)
        # The standard, five supervision groups, a year of rounds with rectifications (督查整改).
        inspections = demo_inspections.seed_inspections(
            db=session, now=now or Clock().now(), seed=seed
        )

    cameras = sum(1 for f in features if f["kind"] == "camera")
    return SeedReport(
        towns=len(towns),
        villages=len(villages),
        grids=len(grids),
        special_grids=sum(1 for g in grids if g.grid_type != "residential"),
        units=len(units),
        users=len(users),
        grid_workers=len(assignments),
        agency_staff=agency_staff,
        cameras=cameras,
        pois=len(features) - cameras,
        seconds=round(time.perf_counter() - started, 3),
        patrols=len(patrols.patrols),
        positions=len(patrols.positions),
        service_items=services.items,
        proxy_requests=services.requests,
        iot_devices=devices.count,
        device_keys=devices.keys,
        notices=notices.notices,
        leaflet_deliveries=notices.deliveries,
        campaigns=campaigns.campaigns,
        meetings=meetings.meetings,
        meeting_decisions=meetings.decisions,
        inspection_rounds=inspections.rounds,
        rectifications=inspections.rectifications,
        photos=inspections.photos,
    )


def _refuse_non_empty(conn: Connection) -> None:
    for model in (OrgUnit, Unit, User, LayerFeature):
        if conn.execute(select(func.count()).select_from(model)).scalar_one():
            raise ValueError(
                f"the demo seed needs an empty database, but table {model.__tablename__} "
                "already has rows"
            )


def _insert(conn: Connection, model: Any, rows: list[Row]) -> Iterator[int]:
    """Insert `rows`, yielding the size of each batch as it is written."""
    # Core executemany in large batches: the ORM's unit of work is ~2.5x slower per row.
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        conn.execute(insert(model), batch)
        yield len(batch)


def _finish(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Ids were given explicitly, which does not move PostgreSQL's sequences.
        for model in (OrgUnit, Unit, User, LayerFeature):
            name = model.__tablename__
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT MAX(id) FROM {name}))"
                )
            )
    counter = conn.execute(
        select(ChangeCounter.value).where(ChangeCounter.name == "grids")
    ).scalar_one_or_none()
    if counter is None:
        conn.execute(insert(ChangeCounter), [{"name": "grids", "value": 1}])
    else:
        conn.execute(
            update(ChangeCounter).where(ChangeCounter.name == "grids").values(value=counter + 1)
        )
