"""The demo's supervision (督查整改): the shipped standard, the district's five groups (members
from the district's operators and leaders, the towns shared out), a year of monthly rounds per
town scored item by item (each town with its own strength), their rectifications (most done on
time with a photo, some late, a few still open), and each town's self-assessments. Made through
the same domain functions as the API, deterministic (seeded random), dates relative to `now`."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import numpy as np
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.auth.service import load_principal
from fengqiao.clock import LOCAL_TZ
from fengqiao.demo.meetings import limit_ahead
from fengqiao.events.photos import PhotoLimits, inspect_photo
from fengqiao.inspections import groups, rounds, selfassess
from fengqiao.inspections.schemas import (
    DEADLINE_DAYS_MAX,
    GroupIn,
    ItemScoreIn,
    RoundIn,
    SelfAssessmentIn,
    SelfItemIn,
)
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.standards.default import ensure_default
from fengqiao.standards.service import items_of
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import add_photos, complete_task, stored_calendar

AHEAD_OPEN = 2  # last month's round leaves at least this many rectifications due still ahead
MONTHS = 12  # rounds of the twelve months before the current one (this month's is still due)


@dataclass
class InspectionsReport:
    groups: int
    rounds: int
    rectifications: int
    self_assessments: int
    # The evidence photos' bytes the rows point to: the caller writes them into the photo store
    # (the seed has only the database), so 佐证照片 open on the task pages.
    photos: tuple[bytes, ...] = ()


def _month_back(now: datetime, back: int) -> tuple[int, int]:
    local = now.astimezone(LOCAL_TZ)
    index = local.year * 12 + local.month - 1 - back
    return index // 12, index % 12 + 1


def _evidence_photo(rng: np.random.Generator) -> bytes:
    """A small photo of the fixed place (a checked JPEG, as a phone would send)."""
    buffer = io.BytesIO()
    shade = tuple(int(v) for v in rng.integers(60, 200, size=3))
    Image.new("RGB", (64, 48), shade).save(buffer, "JPEG")
    return buffer.getvalue()


def seed_inspections(*, db: Session, now: datetime, seed: int) -> InspectionsReport:
    """The standard, five groups, a year of rounds per town with rectifications, and the towns'
    self-assessments of last year and this year."""
    rng = np.random.default_rng(seed + 20)
    started = now - timedelta(days=400)
    standard = ensure_default(db=db, now=started)
    items = items_of(db, standard.id)
    towns = list(db.scalars(
        select(OrgUnit).where(OrgUnit.kind == "town", OrgUnit.valid_to.is_(None))
        .order_by(OrgUnit.code)
    ))  # fmt: skip
    district = db.scalars(select(OrgUnit).where(OrgUnit.parent_id.is_(None))).first()
    if district is None or not towns:
        return InspectionsReport(0, 0, 0, 0)
    staff = list(db.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
        .where(User.home_org_id == district.id, UserRole.role.in_(("leader", "operator")))
        .order_by(UserRole.role, User.id)
    ))  # fmt: skip
    demo_leader = db.scalar(select(User.id).where(User.username == "demo_district_leader"))
    demo_town = db.scalar(
        select(User.home_org_id).where(User.username == "demo_leader")
    )  # the demo town's leader's home: the demo town
    count = len(groups.DEFAULT_GROUPS)
    # The demo town goes to the first group, whose members include the demo district leader.
    ordered = sorted(towns, key=lambda t: (t.id != demo_town, t.code))
    others = [u for u in staff if u != demo_leader]
    made = []
    for n, name in enumerate(groups.DEFAULT_GROUPS):
        members = ([demo_leader] if n == 0 and demo_leader else []) + others[n::count]
        made.append(groups.create_group(
            db=db, principal=None, now=started,
            data=GroupIn(name=name, member_ids=members,
                         town_ids=[t.id for t in ordered[n::count]]),
        ))  # fmt: skip
    group_of = {t.id: made[i % count] for i, t in enumerate(ordered)}
    principals: dict[int, Principal | None] = {}

    def principal(user_id: int) -> Principal | None:
        if user_id not in principals:
            principals[user_id] = load_principal(db=db, user_id=user_id)
        return principals[user_id]

    strength = {t.id: float(rng.uniform(0.72, 0.95)) for t in towns}
    photo_bytes = _evidence_photo(rng)
    photo = inspect_photo(photo_bytes, field="photos", limits=PhotoLimits())
    calendar = stored_calendar(db)  # one for every round: it grows as it is asked
    held = done = 0
    rectifications = 0
    for town in ordered:
        group = group_of[town.id]
        member_ids = [m["id"] for m in groups.groups_out(db, [group])[0]["members"]]
        if not member_ids:
            continue
        for back in range(MONTHS, 0, -1):
            year, month = _month_back(now, back)
            day = int(rng.integers(6, 22))
            at = datetime.combine(
                datetime(year, month, day).date(), time(10, int(rng.integers(0, 59))), LOCAL_TZ
            )  # fmt: skip
            good = min(0.99, strength[town.id] + 0.01 * (MONTHS - back))  # better over the year
            results = []
            for _item in items:
                draw = float(rng.random())
                results.append(
                    "met"
                    if draw < good
                    else "partly"
                    if draw < good + (1 - good) / 2
                    else "not_met"
                )
            if back == 1:  # last month's round: a few rectifications still under way
                for index in [i for i, r in enumerate(results) if r == "met"][
                    : max(0, AHEAD_OPEN - sum(r != "met" for r in results))
                ]:
                    results[index] = "partly"
            scores, failed = [], 0
            for item, result in zip(items, results, strict=True):
                note = None if result == "met" else "督查发现未落实到位，请限期整改"
                days = None
                if back == 1 and result != "met":  # deadlines still ahead: yellow, green, ...
                    light = "yellow" if failed % 2 == 0 else "green"
                    days = min(DEADLINE_DAYS_MAX, limit_ahead(calendar, at, now, light))
                    failed += 1
                scores.append(
                    ItemScoreIn(item_id=item.id, result=result, note=note, deadline_days=days)
                )
            inspector = principal(member_ids[int(rng.integers(0, len(member_ids)))])
            if inspector is None:
                continue
            the_round = rounds.create_round(
                db=db, principal=inspector, now=at, notify=False, calendar=calendar,
                data=RoundIn(group_id=group.id, town_id=town.id, month=f"{year:04d}-{month:02d}",
                             held_on=at.date(), scores=scores),
            )  # fmt: skip
            held += 1
            tasks = db.scalars(select(TrackedTask).where(
                TrackedTask.source_type == "inspection", TrackedTask.source_id == the_round.id
            ))  # fmt: skip
            for task in tasks:
                rectifications += 1
                fate = float(rng.random())
                span = task.due_at - task.created_at
                finish = task.created_at + span * (
                    float(rng.uniform(0.2, 0.95)) if fate < 0.85 else float(rng.uniform(1.1, 1.8))
                )  # fmt: skip
                if fate >= 0.95 or finish >= now or task.owner_user_id is None:
                    continue  # still open: red once its due time passed
                if back == 1 and task.due_at > now:
                    continue  # last month's, due still ahead: under way (green or yellow)
                owner = principal(task.owner_user_id)
                if owner is None:
                    continue
                add_photos(db=db, task=task, actor=owner, photos=[photo], now=finish)
                complete_task(db=db, task=task, actor=owner, now=finish,
                              result="已按要求整改到位，附整改后照片")  # fmt: skip
                done += 1
    sheets = 0
    this_year = now.astimezone(LOCAL_TZ).year
    for town in ordered:
        writer = db.scalar(
            select(User.id).join(UserRole, UserRole.user_id == User.id)
            .where(User.home_org_id == town.id, UserRole.role == "operator").order_by(User.id)
        )  # fmt: skip
        author = principal(writer) if writer is not None else None
        if author is None:
            continue
        for year in (this_year - 1, this_year):
            good = min(0.99, strength[town.id] + 0.05)
            selfassess.save(
                db=db, principal=author, now=datetime(year, 11, 20, 10, tzinfo=LOCAL_TZ)
                if year < this_year else now - timedelta(days=3),
                data=SelfAssessmentIn(town_id=town.id, year=year, submit=True, scores=[
                    SelfItemIn(item_id=i.id, evidence="见台账" if i.evidence != "none" else None,
                               result="met" if rng.random() < good else "partly")
                    for i in items
                ]),
            )  # fmt: skip
            sheets += 1
    return InspectionsReport(len(made), held, rectifications, sheets, (photo_bytes,))
