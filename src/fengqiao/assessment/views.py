"""Assessment (考核) and daily bulletins (每日通报): rankings, trends, CSV, the bulletin's exports
and subscriptions. Readers are operators, leaders and admins, each within their own area."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select

from fengqiao.analytics.service import parse_day, parse_range, resolve_scope, today
from fengqiao.assessment import bulletin, service
from fengqiao.assessment.bulletin_schemas import BulletinIssueOut
from fengqiao.assessment.models import Bulletin, BulletinSubscription
from fengqiao.assessment.schemas import (
    AssessmentOut,
    AssessmentRowOut,
    CapOut,
    PreviousOut,
    ScorePartOut,
    SubscriptionIn,
    SubscriptionOut,
    TrendOut,
    TrendPointOut,
)
from fengqiao.clock import LOCAL_TZ
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import invalid, not_found
from fengqiao.exports import csv_download

router = APIRouter(tags=["assessment"])
READERS = ("operator", "leader", "admin")
MAX_DAYS = 3 * 366
INDICATOR_NAMES = {key: name for key, name, _ in service.INDICATORS}

LevelQuery = Annotated[
    str,
    Query(
        description="town, village, unit (responsible units) or worker (grid workers); at a "
        "province or city also city or district."
    ),
]
FromQuery = Annotated[
    str | None, Query(alias="from", description="First local day (default: the 1st this month).")
]
ToQuery = Annotated[str | None, Query(alias="to", description="Last local day (default: today).")]
ScopeQuery = Annotated[
    int | None, Query(description="Org id of the area (default: the caller's own area).")
]
SortQuery = Annotated[
    str,
    Query(description="score, name, volume or an indicator; prefix - for descending."),
]


def _period(start: str | None, end: str | None, local_today: date) -> tuple[date, date]:
    """This month up to today unless said otherwise; at most three years."""
    return parse_range(
        start,
        end,
        today=local_today,
        default_start=lambda last: last.replace(day=1),
        max_days=MAX_DAYS,
    )


def _previous(row: service.Row | None) -> PreviousOut | None:
    if row is None:
        return None
    return PreviousOut(score=row.score, grade=row.grade, rank=row.rank, new=row.counts["new"])


def _row_out(row: service.Row, result: service.Assessment) -> AssessmentRowOut:
    return AssessmentRowOut(
        id=row.id, name=row.name, area=row.area, rank=row.rank, score=row.score, grade=row.grade,
        score_grade=row.raw_grade, caps=[CapOut(grade=g, reason=r) for g, r in row.caps],
        breakdown=[ScorePartOut(**part)
                   for part in service.breakdown(row, result.weights, result.best_volume)],
        previous=_previous(row.previous), volume=round(row.volume, 3), indicators=row.values,
        components=row.parts, counts=row.counts,
    )  # fmt: skip


def _assessed(
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
    level: LevelQuery = "town",
    start: FromQuery = None,
    end: ToQuery = None,
    scope: ScopeQuery = None,
    sort: SortQuery = "-score",
) -> service.Assessment:
    """The ranking a request asks for: the query parameters the list and its CSV share."""
    principal.require_role(*READERS)
    now = clock.now()
    first, last = _period(start, end, today(now))
    weights = service.Weights.from_settings(settings)
    with database.session() as db:
        area = resolve_scope(db, principal=principal, org_id=scope)
        result = service.assess_period(
            db, scope=area, level=level, start=first, end=last, weights=weights, now=now
        )
    result.rows = service.sort_rows(result.rows, sort)
    return result


Assessed = Annotated[service.Assessment, Depends(_assessed)]


@router.get("/assessment", response_model=AssessmentOut, summary="Assessment ranking (考核)")
def assessment(result: Assessed) -> AssessmentOut:
    """Indicators, composite score, grade and rank of every town, village, unit or grid worker
    of the area over a period (see docs/assessment.md for every formula), each beside itself
    in the same days of the month before; a period not yet over says so and is compared with
    those days as they stood at the same moment of that month."""
    period = result.period
    assert period is not None
    return AssessmentOut(
        level=result.level,
        scope={"level": result.scope.level, "id": result.scope.org_id, "name": result.scope.name},
        start=result.start, end=result.end, summed_start=result.summed_start,
        summed_end=result.summed_end, widened=result.widened, partial=period.partial,
        period_label=period.label, compare_start=period.compare_start,
        compare_end=period.compare_end, compare_as_of=period.compare_as_of,
        compare_label=period.compare_label, weights=result.weights.as_dict(),
        grade_floors=dict(service.GRADES), zero_patrol_cap=result.weights.zero_patrol_cap,
        best_volume=round(result.best_volume, 3), patrol_data=result.patrol_data,
        indicator_names=INDICATOR_NAMES, rows=[_row_out(r, result) for r in result.rows],
    )  # fmt: skip


def _cell(value: float | None, kind: str) -> str:
    if value is None:
        return ""
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "count":
        return str(int(value))
    return f"{value:.2f}"


@router.get("/assessment/export", summary="Assessment ranking as CSV")
def assessment_export(result: Assessed) -> Response:
    """The same table as UTF-8 CSV with Chinese headers (opens in Excel)."""
    header = (
        ["排名", service.RANK_LEVEL_ZH[result.level], "所属"]
        + [name for _, name, _ in service.INDICATORS]
        + ["综合得分", "等级"]
    )
    rows = (
        [row.rank or "", row.name, row.area]
        + [_cell(row.values.get(key), kind) for key, _, kind in service.INDICATORS]
        + ["" if row.score is None else f"{row.score:.1f}", row.grade or ""]
        for row in result.rows
    )
    name = f"assessment-{result.level}-{result.start:%Y%m%d}-{result.end:%Y%m%d}.csv"
    return csv_download(header, rows, filename=name)


@router.get("/assessment/trend", response_model=TrendOut, summary="Monthly scores of one row")
def assessment_trend(
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
    id: Annotated[int, Query(description="Id of the town, village, unit or grid worker.")],
    level: LevelQuery = "town",
    scope: ScopeQuery = None,
    end: ToQuery = None,
    months: Annotated[
        int | None, Query(ge=1, le=60, description="Default FENGQIAO_ASSESSMENT_TREND_MONTHS.")
    ] = None,
) -> TrendOut:
    """The row's score, grade and rank in each of the last months (each month ranked among its
    peers of that month in the same area)."""
    principal.require_role(*READERS)
    now = clock.now()
    until = parse_day(end, "to") if end else today(now)
    weights = service.Weights.from_settings(settings)
    with database.session() as db:
        area = resolve_scope(db, principal=principal, org_id=scope)
        points = service.trend(
            db, scope=area, level=level, entity_id=id, until=until,
            months=months or settings.assessment_trend_months, weights=weights, now=now,
        )  # fmt: skip
    named = next((p.row for p in reversed(points) if p.row is not None), None)
    if named is None:
        raise not_found(f"{level} {id} in this area", "该考核对象")
    return TrendOut(
        level=level,
        id=id,
        name=named.name,
        points=[
            TrendPointOut(
                month=p.month,
                start=p.start,
                end=p.end,
                peers=p.peers,
                score=p.row.score if p.row else None,
                grade=p.row.grade if p.row else None,
                rank=p.row.rank if p.row else None,
                indicators=p.row.values if p.row else {},
                partial=p.partial,
                label=p.label,
                compared=_previous(p.compared),
                compare_label=p.compare_label,
            )
            for p in points
        ],
    )


# --- bulletins ---------------------------------------------------------------------------------


def _links(day: date) -> dict[str, str]:
    return {fmt: f"/api/v1/bulletins/{day.isoformat()}.{fmt}" for fmt in bulletin.FORMATS}


@router.get("/bulletins", response_model=list[BulletinIssueOut], summary="Daily bulletins")
def bulletins(
    principal: CurrentPrincipal,
    database: AppDatabase,
    clock: AppClock,
    days: Annotated[int, Query(ge=1, le=366, description="How many days back from today.")] = 30,
) -> list[BulletinIssueOut]:
    """Today and the days before it, newest first, of the caller's own area (the district's,
    or a town's): a day the job has issued says when, to how many, and its 文号."""
    principal.require_role(*bulletin.SUBSCRIBERS)
    day_now = today(clock.now())
    first = day_now - timedelta(days=days - 1)
    with database.session() as db:
        area = resolve_scope(db, principal=principal, org_id=None)
        made = {
            row.day: row
            for row in db.scalars(
                select(Bulletin).where(Bulletin.org_id == area.org_id, Bulletin.day >= first)
            )
        }
    listed = []
    for offset in range(days):
        day = day_now - timedelta(days=offset)
        row = made.get(day)
        listed.append(
            BulletinIssueOut(
                day=day,
                generated_at=row.generated_at if row else None,
                recipients=row.recipients if row else 0,
                links=_links(day),
                number=row.number if row else None,
            )
        )
    return listed


def _subscription(row: BulletinSubscription | None) -> SubscriptionOut:
    if row is None:
        return SubscriptionOut(subscribed=False, channels=[], since=None)
    return SubscriptionOut(subscribed=True, channels=row.channels, since=row.created_at)


@router.get(
    "/bulletins/subscription", response_model=SubscriptionOut, summary="My bulletin subscription"
)
def my_subscription(principal: CurrentPrincipal, database: AppDatabase) -> SubscriptionOut:
    principal.require_role(*bulletin.SUBSCRIBERS)
    with database.session() as db:
        return _subscription(db.get(BulletinSubscription, principal.user_id))


@router.put(
    "/bulletins/subscription", response_model=SubscriptionOut, summary="Subscribe to bulletins"
)
def subscribe(
    body: SubscriptionIn,
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
) -> SubscriptionOut:
    """Receive each morning's bulletin on the channels given (or change them)."""
    principal.require_role(*bulletin.SUBSCRIBERS)
    channels = bulletin.check_channels(
        body.channels if body.channels is not None else settings.bulletin_channels
    )
    with database.transaction() as db:
        row = bulletin.subscribe(db, user_id=principal.user_id, channels=channels, now=clock.now())
        return _subscription(row)


@router.delete("/bulletins/subscription", status_code=204, summary="Unsubscribe from bulletins")
def unsubscribe(principal: CurrentPrincipal, database: AppDatabase) -> Response:
    principal.require_role(*bulletin.SUBSCRIBERS)
    with database.transaction() as db:
        bulletin.unsubscribe(db, user_id=principal.user_id)
    return Response(status_code=204)


@router.get("/bulletins/{day}.{fmt}", summary="A day's bulletin as HTML, PDF or XLSX")
def bulletin_file(
    day: str,
    fmt: str,
    principal: CurrentPrincipal,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
) -> Response:
    """The caller's area's bulletin: the district's staff get the district's, a town's staff
    their town's, each as issued (with its 文号) or, when not issued yet, a draft built now;
    staff below a town get their own area's draft, so no one is listed another area's
    events."""
    principal.require_role(*bulletin.SUBSCRIBERS)
    local_day = parse_day(day, "day")
    if fmt not in bulletin.FORMATS:
        raise invalid("format", "one of html, pdf, xlsx", "格式应为 html、pdf 或 xlsx 之一")
    now = clock.now()
    if local_day > now.astimezone(LOCAL_TZ).date():
        raise invalid("day", "no bulletin of a day to come", "不能查看未来日期的通报")
    with database.session() as db:
        # The caller's own area: a town's staff read their town's bulletin, never another's.
        area = resolve_scope(db, principal=principal, org_id=None)
        content, _stored = bulletin.content_for(
            db, day=local_day, now=now, settings=settings, scope=area
        )
    data = bulletin.export(content, fmt=fmt, settings=settings)
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        data,
        media_type=bulletin.FORMATS[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="bulletin-{day}.{fmt}"'},
    )
