"""The demo's analysis meetings (研判会商): a year of the regular meetings up to `now` (the
district's and each town's monthly, a few villages' quarterly) with minutes, attendees and
decisions as tracked tasks (some done on time, some late, some still open), a couple of meetings
missed, and the next month's scheduled, through the meetings' and tasks' own functions.
Deterministic: the choices come from a seeded generator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.demo import keqiao as kq
from fengqiao.meetings.agenda import draft_agenda
from fengqiao.meetings.models import Meeting, MeetingAttendee
from fengqiao.meetings.rules import RULES, looked_back, meeting_time, period_key, period_starts
from fengqiao.meetings.service import local_day, new_meeting, trail
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.sla.calendar import WorkCalendar
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import create_task, stored_calendar
from fengqiao.tasks.service import trail as task_trail

VILLAGES_PER_TOWN = 2  # "a few villages" meet in the demo (every village does in production)
# The meetings not held: (level, n-th org of that level, months ago); the demo town counts as
# the first town. Two towns' meetings and one village's (quarterly: of the three months, the one
# its meeting falls in), not every org's.
MISSED = {("town", 0, 3), ("town", 1, 7), ("village", 0, 5), ("village", 0, 6), ("village", 0, 7)}
RECENT = timedelta(days=35)  # decisions of meetings this recent get deadlines still ahead
DECISIONS = (
    ("整治农贸市场周边占道经营", "组织综合执法、市场监管联合整治，两周内清理占道摊位并建立长效管理"),
    ("排查老旧小区电动自行车违规充电", "逐幢排查楼道充电、飞线充电，建立隐患台账并督促整改"),
    ("清理僵尸车和非法设置的车位", "联合交警、街道对长期停放车辆逐一登记，依法清拖，取消非法车位"),
    ("汛前排查河道沿线隐患", "对辖区河道沿线护栏、排涝泵站开展一次全面检查，问题限期整改"),
    ("开展出租房屋消防安全专项检查", "重点检查群租房消防通道、灭火器配置，检查结果录入台账"),
    ("化解重复信访积案", "对本季度重复来访事项逐件明确包案领导，落实化解措施"),
    ("提升网格事件按期办结率", "对超期事件逐件分析原因，约谈相关责任单位，下月按期办结率不低于百分之九十五"),
    ("拆除违法搭建", "对巡查发现的违法搭建逐户告知，限期自行拆除，逾期依法拆除"),
)  # fmt: skip
# Each decision's owner: the first unit of the meeting's area of these types (a town's agencies
# and offices, the district's departments, a village's committee), by the decision's theme.
OWNER_TYPES: dict[str, tuple[str, ...]] = {
    "整治农贸市场周边占道经营": ("law_enforcement_squadron", "market_supervision_office",
                                 "law_enforcement_bureau", "market_supervision_bureau"),
    "排查老旧小区电动自行车违规充电": ("fire_rescue_station", "emergency_management_station",
                                       "emergency_management_bureau"),
    "清理僵尸车和非法设置的车位": ("traffic_police_squadron", "public_security_bureau",
                                   "transport_bureau"),
    "汛前排查河道沿线隐患": ("agriculture_office", "emergency_management_station",
                             "emergency_management_bureau", "ecology_bureau"),
    "开展出租房屋消防安全专项检查": ("fire_rescue_station", "police_station",
                                     "emergency_management_bureau", "public_security_bureau"),
    "化解重复信访积案": ("petition_office", "justice_office", "petition_bureau"),
    "提升网格事件按期办结率": ("comprehensive_governance_office", "command_center"),
    "拆除违法搭建": ("law_enforcement_squadron", "urban_construction_office",
                     "natural_resources_office", "law_enforcement_bureau",
                     "housing_construction_bureau"),
}  # fmt: skip
MINUTES = (
    "会议通报了{period}事件受理、交办、办结情况和预警信息，分析了高发区域和超期未办结事件原因，"
    "听取了上次会商决定事项落实情况，研究部署了下阶段重点工作。"
)


@dataclass
class MeetingsReport:
    meetings: int
    decisions: int


def _people(db: Session, org_id: int) -> list[int]:
    return list(db.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
        .where(User.home_org_id == org_id, UserRole.role.in_(("operator", "leader")))
        .order_by(User.id).distinct()
    ))  # fmt: skip


def _units(db: Session, org_id: int) -> list[tuple[int, str]]:
    return [(r.id, r.unit_type) for r in db.execute(
        select(Unit.id, Unit.unit_type).where(Unit.org_unit_id == org_id, Unit.active.is_(True))
        .order_by(Unit.id)
    )]  # fmt: skip


def owner_for(title: str, units: list[tuple[int, str]], fallback: int) -> int:
    """The unit of the decision's theme (by type), else the village committee, else any."""
    by_type: dict[str, int] = {}
    for unit_id, unit_type in units:
        by_type.setdefault(unit_type, unit_id)
    for unit_type in (*OWNER_TYPES.get(title, ()), "village_committee"):
        if unit_type in by_type:
            return by_type[unit_type]
    return units[fallback % len(units)][0]


def working_days_between(calendar: WorkCalendar, start: datetime, end: datetime) -> int:
    """The working days after `start`'s local day up to `end`'s."""
    day, last, count = local_day(start), local_day(end), 0
    while day < last:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


def limit_ahead(calendar: WorkCalendar, start: datetime, now: datetime, light: str) -> int:
    """A limit in working days from `start` whose deadline is still ahead at `now`: just ahead
    (yellow) or well ahead (green)."""
    spent = working_days_between(calendar, start, now)
    return spent + 1 if light == "yellow" else 3 * spent + 10


def seed_meetings(*, db: Session, now: datetime, seed: int = 20171018) -> MeetingsReport:
    """A year of regular meetings of the district, its towns and a few villages up to `now`."""
    rng = np.random.default_rng(seed)
    calendar = stored_calendar(db)
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).first()
    if district is None:
        return MeetingsReport(0, 0)
    towns = list(db.scalars(select(OrgUnit).where(OrgUnit.kind == "town").order_by(OrgUnit.code)))
    areas = [district, *towns]
    for town in towns:
        areas += list(db.scalars(
            select(OrgUnit).where(OrgUnit.parent_id == town.id, OrgUnit.kind == "village")
            .order_by(OrgUnit.code).limit(VILLAGES_PER_TOWN)
        ))  # fmt: skip
    today = local_day(now)
    first = date(today.year - 1, today.month, 1)
    last = today + timedelta(days=31)
    meetings = decisions = 0
    ranks: dict[str, int] = {}
    for area in areas:
        if area.kind == "town" and area.name == kq.DEMO_TOWN:
            rank = 0
        else:
            start = 1 if area.kind == "town" else 0  # the demo town is the first town
            rank = ranks[area.kind] = ranks.get(area.kind, start - 1) + 1
        rule = RULES[area.kind]
        people = _people(db, area.id) or _people(db, district.id)
        units = _units(db, area.id) or _units(db, town_id(area) or district.id)
        last_held: Meeting | None = None
        for year, month in period_starts(rule, first, last):
            when = meeting_time(rule, year, month, calendar)
            if local_day(when) > last:
                continue
            months_ago = (today.year - year) * 12 + today.month - month
            meeting = new_meeting(
                db=db, area=area, title=f"{area.name}{period_key(rule, year, month)}{rule.title}",
                scheduled_at=when, place=f"{area.name}综合信息指挥室", room_org_id=area.id,
                period=looked_back(rule, year, month), regular=True,
                period_key=period_key(rule, year, month), actor_id=None,
                now=min(now, when - timedelta(days=20)), draft=False,
            )  # fmt: skip
            meetings += 1
            for user_id in people:
                db.add(MeetingAttendee(meeting_id=meeting.id, user_id=user_id))
            if when + timedelta(hours=3) > now:
                continue  # still to come: the page drafts its agenda (earlier decisions first)
            if (area.kind, rank, months_ago) in MISSED:
                meeting.status, meeting.missed_at = "missed", meeting.missed_after
                trail(db, meeting, "missed", None, meeting.missed_after)
                continue
            decisions += _hold(db, meeting, people, units, rng, now, calendar)
            last_held = meeting
        if last_held is not None:
            # The latest held meeting's agenda as drafted the day before (earlier decisions
            # first); drafting every one would cost seconds at the scale of Keqiao.
            when = last_held.scheduled_at - timedelta(days=1)
            last_held.agenda = draft_agenda(db=db, meeting=last_held, now=when)
            last_held.agenda_drafted_at = when
    db.flush()
    return MeetingsReport(meetings, decisions)


def town_id(area: OrgUnit) -> int | None:
    parts = [int(p) for p in area.path.strip("/").split("/") if p]
    return parts[1] if len(parts) > 1 else None


def _hold(db: Session, meeting: Meeting, people: list[int], units: list[tuple[int, str]],
          rng: np.random.Generator, now: datetime, calendar: WorkCalendar) -> int:  # fmt: skip
    """The meeting held two hours after its time, with minutes and one to three decisions."""
    held = meeting.scheduled_at + timedelta(hours=2)
    chair = people[0] if people else None
    meeting.status, meeting.held_at, meeting.held_by = "held", held, chair
    meeting.minutes = MINUTES.format(
        period=f"{meeting.period_start:%Y年%m月%d日}至{meeting.period_end:%m月%d日}"
    )
    for row in db.scalars(select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id)):
        row.present = bool(rng.random() < 0.9)
    trail(db, meeting, "hold", chair, held)
    if not units:
        return 0
    count = int(rng.integers(1, 4))
    recent = now - held < RECENT
    for n in range(count):
        title, detail = DECISIONS[int(rng.integers(0, len(DECISIONS)))]
        limit = int(rng.choice((5, 10, 15)))
        if recent:  # the last month's decisions: some due soon (yellow), some later (green)
            limit = limit_ahead(calendar, held, now, "yellow" if n % 2 == 0 else "green")
        task = create_task(
            db=db, kind="decision", source_type="meeting", source_id=meeting.id, title=title,
            detail=detail, org_id=meeting.org_id,
            owner_unit_id=owner_for(title, units, meeting.id + n),
            owner_user_id=None, limit=limit, limit_unit="working_days",
            evidence_required=bool(rng.random() < 0.3), actor_id=chair, now=held,
            calendar=calendar, notify=False,
        )  # fmt: skip
        _outcome(db, task, rng, now)
        if task.status == "done":  # the demo has no photos: only open tasks ask for them
            task.evidence_required = False
    trail(db, meeting, "decide", chair, held)
    return count


def _outcome(db: Session, task: TrackedTask, rng: np.random.Generator, now: datetime) -> None:
    """Most decisions done on time, some late, the recent ones (and a few old ones) still open."""
    if task.remind_at is not None and task.remind_at <= now:
        task.reminded_at = task.remind_at
        task_trail(db, task, action="remind", actor_id=None, now=task.remind_at)
    roll = rng.random()
    late = roll < 0.2
    done_at = task.due_at + timedelta(days=int(rng.integers(1, 8))) if late else (
        task.due_at - timedelta(hours=int(rng.integers(2, 72))))  # fmt: skip
    if task.due_at <= now and (late or roll > 0.95):
        task.overdue_at = task.due_at
        task_trail(db, task, action="overdue", actor_id=None, now=task.due_at)
    recent = now - task.created_at < timedelta(days=35)
    if roll > 0.95 or done_at > now or (recent and rng.random() < 0.6):
        if task.due_at <= now and task.overdue_at is None:
            task.overdue_at = task.due_at
            task_trail(db, task, action="overdue", actor_id=None, now=task.due_at)
        return  # still open (the last month's decisions mostly are)
    task_trail(db, task, action="progress", actor_id=None, now=done_at - timedelta(hours=1),
               note="已召集相关单位部署落实")  # fmt: skip
    task.status, task.done_at, task.result = "done", done_at, "已按会商要求落实完毕"
    task.version += 1
    task_trail(db, task, action="complete", actor_id=None, now=done_at, note=task.result,
               payload={"on_time": done_at <= task.due_at})  # fmt: skip
