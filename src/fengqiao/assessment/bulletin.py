"""The daily bulletin (每日通报): one local day's figures for the district, made each morning by
the `bulletin` job (kept in the `bulletin` table and sent to subscribers) or on request, and
exported as HTML, PDF (with an embedded Chinese font) and XLSX.

The content is a plain JSON document (`build`), so a stored day exports the same numbers however
often and in whichever format it is asked for.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import ColumnElement, and_, func, inspect, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Scope, aggregate
from fengqiao.assessment import service
from fengqiao.assessment.models import Bulletin, BulletinSubscription
from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.errors import Problem, invalid
from fengqiao.events.models import Event, is_open
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.outbox.service import Person, drafts_for, enqueue
from fengqiao.supervision.models import ORDER_KIND_ZH, SupervisionOrder
from fengqiao.taxonomy.models import Category
from fengqiao.warnings.models import WARNING_KIND_SHORT_ZH

# The bulletin document is standalone (downloaded, mailed, printed): its template lives here.
DOCUMENT = Path(__file__).parent / "templates" / "bulletin_doc.html"

FORMATS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHANNELS = ("app", "sms", "email")
TOTAL_KEYS = ("new", "done", "done_on_time", "overdue")
log = logging.getLogger(__name__)


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ).astimezone(UTC)


def _local_text(at: datetime | None) -> str:
    if at is None:
        return ""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def district_scope(db: Session) -> Scope:
    """The district the bulletin reports on (the root of the tree)."""
    row = db.execute(
        select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind == "district").order_by(OrgUnit.id)
    ).first()
    if row is None:
        raise Problem(409, "no-district", "No district", "尚未导入区划", "import the org tree first",
                      "请先导入行政区划")  # fmt: skip
    return Scope(level="district", org_id=row.id, name=row.name)


def _totals(db: Session, scope: Scope, start: date, end: date) -> dict[str, Any]:
    result = aggregate(db, scope=scope, start=start, end=end, counters=TOTAL_KEYS)
    totals: dict[str, Any] = {key: result.total(key) for key in TOTAL_KEYS}
    totals["on_time_rate"] = totals["done_on_time"] / totals["done"] if totals["done"] else None
    return totals


def _ranking(rows: list[service.Row], limit: int) -> list[dict[str, Any]]:
    ranked = service.sort_rows(rows, "-score")[:limit]
    return [
        {
            "rank": r.rank,
            "name": r.name,
            "area": r.area,
            "new": r.counts["new"],
            "closure_rate": r.values["closure_rate"],
            "on_time_rate": r.values["on_time_rate"],
            "rework_rate": r.values["rework_rate"],
            "overdue": r.counts["overdue"],
            "score": r.score,
            "grade": r.grade,
        }
        for r in ranked
    ]


def overdue_open(cutoff: datetime) -> ColumnElement[bool]:
    """Open events whose deadline passed before `cutoff`: the partial index ix_event_open_due
    holds exactly the open events' deadlines (the open-states text repeats its WHERE)."""
    return and_(is_open(), Event.due_at < cutoff)


_AREA_COLUMN = {"town": Event.town_id, "village": Event.village_id, "grid": Event.grid_id}


def in_area(scope: Scope) -> ColumnElement[bool]:
    """Events of the bulletin's area (the district's bulletin: all of them)."""
    column = _AREA_COLUMN.get(scope.level)
    return true() if column is None else column == scope.org_id


def _red_list(db: Session, cutoff: datetime, limit: int, scope: Scope) -> dict[str, Any]:
    """Open events of the area past their deadline at `cutoff`, most overdue first."""
    late = and_(overdue_open(cutoff), in_area(scope))
    total = db.scalar(select(func.count()).select_from(Event).where(late)) or 0
    rows = db.execute(
        select(
            Event.code, Event.title, Event.town_id, Event.owner_unit_id, Event.due_at,
            Event.category_code,
        ).where(late).order_by(Event.due_at, Event.id).limit(limit)
    ).all()  # fmt: skip
    towns = _names(db, OrgUnit, {r.town_id for r in rows})
    units = _names(db, Unit, {r.owner_unit_id for r in rows if r.owner_unit_id})
    classes = _names(db, Category, {r.category_code for r in rows}, key="code", name="name_zh")
    items = [
        {
            "code": r.code,
            "title": r.title,
            "town": towns.get(r.town_id, ""),
            "category": classes.get(r.category_code, r.category_code),
            "unit": units.get(r.owner_unit_id, "") if r.owner_unit_id else "",
            "due_at": _local_text(r.due_at),
            "overdue_hours": round((cutoff - _aware(r.due_at)).total_seconds() / 3600, 1),
        }
        for r in rows
    ]
    return {"total": total, "items": items}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _names(
    db: Session, model: Any, ids: set[Any], *, key: str = "id", name: str = "name"
) -> dict[Any, str]:
    if not ids:
        return {}
    column = getattr(model, key)
    return {
        k: v for k, v in db.execute(select(column, getattr(model, name)).where(column.in_(ids)))
    }


def _orders(db: Session, cutoff: datetime, limit: int, scope: Scope) -> dict[str, Any]:
    """Supervision orders about the area's events still waiting for the unit's reply."""
    waiting = and_(
        SupervisionOrder.status == "open", SupervisionOrder.issued_at < cutoff, in_area(scope)
    )
    total = (
        db.scalar(
            select(func.count())
            .select_from(SupervisionOrder)
            .join(Event, Event.id == SupervisionOrder.event_id)
            .where(waiting)
        )
        or 0
    )
    rows = db.execute(
        select(
            SupervisionOrder.code, SupervisionOrder.kind, SupervisionOrder.unit_id,
            SupervisionOrder.town_id, SupervisionOrder.due_at, Event.code.label("event_code"),
        ).join(Event, Event.id == SupervisionOrder.event_id).where(waiting)
        .order_by(SupervisionOrder.due_at, SupervisionOrder.id).limit(limit)
    ).all()  # fmt: skip
    units = _names(db, Unit, {r.unit_id for r in rows})
    towns = _names(db, OrgUnit, {r.town_id for r in rows})
    items = [
        {
            "code": r.code,
            "event_code": r.event_code,
            "kind": ORDER_KIND_ZH.get(r.kind, r.kind),
            "unit": units.get(r.unit_id, ""),
            "town": towns.get(r.town_id, ""),
            "due_at": _local_text(r.due_at),
            "late": _aware(r.due_at) < cutoff,
        }
        for r in rows
    ]
    return {"total": total, "items": items}


def _warnings(db: Session, day: date, limit: int, scope: Scope) -> dict[str, Any]:
    """The early warnings raised that day, when the warnings module and its table exist."""
    try:
        from fengqiao.warnings.models import EarlyWarning
    except ImportError:
        return {"available": False, "total": 0, "items": []}
    if not inspect(db.connection()).has_table(EarlyWarning.__tablename__):
        return {"available": False, "total": 0, "items": []}
    that_day = and_(
        EarlyWarning.created_at >= _utc(day), EarlyWarning.created_at < _utc(day + timedelta(1))
    )
    if scope.level == "town":
        that_day = and_(that_day, EarlyWarning.town_id == scope.org_id)
    elif scope.level == "village":
        that_day = and_(that_day, EarlyWarning.village_id == scope.org_id)
    elif scope.level != "district":
        return {"available": True, "total": 0, "items": []}  # warnings name no grid
    total = db.scalar(select(func.count()).select_from(EarlyWarning).where(that_day)) or 0
    rows = db.execute(
        select(EarlyWarning.kind, EarlyWarning.message, EarlyWarning.town_id,
               EarlyWarning.created_at, EarlyWarning.status)
        .where(that_day).order_by(EarlyWarning.created_at, EarlyWarning.id).limit(limit)
    ).all()  # fmt: skip
    towns = _names(db, OrgUnit, {r.town_id for r in rows if r.town_id})
    items = [
        {
            "kind": WARNING_KIND_SHORT_ZH.get(r.kind, r.kind),
            "message": r.message,
            "town": towns.get(r.town_id, "") if r.town_id else "",
            "at": _local_text(r.created_at),
            "acknowledged": r.status != "open",
        }
        for r in rows
    ]
    return {"available": True, "total": total, "items": items}


def build(
    db: Session, *, day: date, now: datetime, settings: Settings, scope: Scope | None = None
) -> dict[str, Any]:
    """The bulletin of local day `day` for an area (default: the district) as a JSON document,
    from the state at `now`: a town's bulletin holds only that town's figures and events."""
    scope = scope or district_scope(db)
    weights = service.Weights.from_settings(settings)
    month_start = day.replace(day=1)
    limit = settings.bulletin_list_max
    # Lists are as of the end of the day, or now for a day not over yet.
    cutoff = min(now, _utc(day + timedelta(days=1)))
    region = "town" if scope.level in ("district", "town") else "village"
    towns = service.assess(db, scope=scope, level=region, start=month_start, end=day,
                           weights=weights) if scope.level != "grid" else None  # fmt: skip
    units = service.assess(db, scope=scope, level="unit", start=month_start, end=day,
                           weights=weights)  # fmt: skip
    return {
        "day": day.isoformat(),
        "district": scope.name,
        "generated_at": now.astimezone(UTC).isoformat(),
        "as_of": _local_text(cutoff),
        "month_start": month_start.isoformat(),
        "totals": {
            "day": _totals(db, scope, day, day),
            "month": _totals(db, scope, month_start, day),
        },
        "towns": _ranking(towns.rows, limit) if towns else [],
        "units": _ranking(units.rows, limit),
        "red_list": _red_list(db, cutoff, limit, scope),
        "orders": _orders(db, cutoff, limit, scope),
        "warnings": _warnings(db, day, limit, scope),
        "scope": {"level": scope.level, "id": scope.org_id},
    }


def content_for(
    db: Session, *, day: date, now: datetime, settings: Settings, scope: Scope | None = None
) -> tuple[dict[str, Any], Bulletin | None]:
    """The stored (district's) bulletin of `day`, or one built now (not stored) when the job has
    not made it; an area below the district always gets its own, built now."""
    if scope is not None and scope.level != "district":
        return build(db, day=day, now=now, settings=settings, scope=scope), None
    stored = db.get(Bulletin, day)
    if stored is not None:
        return stored.content, stored
    return build(db, day=day, now=now, settings=settings), None


def reader_scope(db: Session, org_id: int) -> Scope:
    """The bulletin a person homed at `org_id` reads: the district's, or their own area's."""
    row = db.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.kind).where(OrgUnit.id == org_id)
    ).one()
    return Scope(level=row.kind, org_id=row.id, name=row.name)


# --- exports -----------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


_environment = Environment(
    loader=FileSystemLoader(DOCUMENT.parent), autoescape=select_autoescape(["html"])
)
_environment.filters["percent"] = _percent
_environment.filters["number"] = _number


def render_html(content: dict[str, Any]) -> str:
    """A standalone, printable HTML page."""
    return _environment.get_template(DOCUMENT.name).render(b=content)


TOTAL_ROWS = (("新增事件", "new"), ("办结事件", "done"), ("按期办结", "done_on_time"),
              ("超期事件", "overdue"))  # fmt: skip
RANK_HEAD = ("排名", "名称", "所属", "新增", "结案率", "按期结案率", "返工率", "超期数", "综合得分",
             "等级")  # fmt: skip


def _rank_cells(row: dict[str, Any]) -> list[str]:
    return [
        str(row["rank"] or "—"), row["name"], row["area"], str(row["new"]),
        _percent(row["closure_rate"]), _percent(row["on_time_rate"]),
        _percent(row["rework_rate"]), str(row["overdue"]), _number(row["score"]),
        row["grade"] or "—",
    ]  # fmt: skip


RED_HEAD = ("事件编号", "标题", "类别", "镇街", "责任单位", "期限", "超期（小时）")
ORDER_HEAD = ("督办单号", "事件编号", "类型", "责任单位", "镇街", "回复期限", "逾期")
WARNING_HEAD = ("类型", "镇街", "时间", "内容", "已签收")


def _red_cells(row: dict[str, Any]) -> list[str]:
    return [row["code"], row["title"], row["category"], row["town"], row["unit"] or "—",
            row["due_at"], f"{row['overdue_hours']:.1f}"]  # fmt: skip


def _order_cells(row: dict[str, Any]) -> list[str]:
    return [row["code"], row["event_code"], row["kind"], row["unit"], row["town"], row["due_at"],
            "是" if row["late"] else "否"]  # fmt: skip


def _warning_cells(row: dict[str, Any]) -> list[str]:
    return [row["kind"], row["town"], row["at"], row["message"],
            "是" if row["acknowledged"] else "否"]  # fmt: skip


def _title(content: dict[str, Any]) -> str:
    return f"{content['district']}每日通报（{content['day']}）"


def font_missing(path: Path) -> Problem:
    return Problem(
        503, "pdf-font-missing", "PDF font missing", "缺少 PDF 中文字体",
        f"no Chinese font at {path}: install fonts-wqy-microhei or set FENGQIAO_BULLETIN_FONT "
        "to a .ttf/.ttc with CJK glyphs",
        f"未找到中文字体 {path}：请安装 fonts-wqy-microhei，或将 FENGQIAO_BULLETIN_FONT "
        "设为含中文字形的 .ttf/.ttc 字体文件",
    )  # fmt: skip


def render_pdf(content: dict[str, Any], *, font: Path) -> bytes:
    """An A4 PDF with the font embedded (subset), so Chinese renders on any reader."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    if not font.is_file():
        raise font_missing(font)
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("cjk", fname=str(font))
    pdf.set_title(_title(content))
    pdf.add_page()
    pdf.set_font("cjk", size=18)
    pdf.cell(0, 12, _title(content), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.cell(0, 6, f"统计截至 {content['as_of']}（北京时间）；排名按本月综合得分",
             align="C", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    head = FontFace(emphasis=None, fill_color=(232, 238, 247))

    def section(title: str) -> None:
        if pdf.get_y() > pdf.h - 45:  # keep a heading with the start of its table
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font("cjk", size=12)
        pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)

    def table(header: tuple[str, ...], rows: list[list[str]], widths: tuple[int, ...]) -> None:
        if not rows:
            pdf.cell(0, 6, "无", new_x="LMARGIN", new_y="NEXT")
            return
        with pdf.table(col_widths=widths, headings_style=head, line_height=5.5) as grid:
            grid.row(list(header))
            for cells in rows:
                grid.row(cells)

    totals = content["totals"]
    section("一、全区概况")
    table(
        ("指标", "当日", "本月累计"),
        [[label, str(totals["day"][key]), str(totals["month"][key])] for label, key in TOTAL_ROWS]
        + [
            [
                "按期办结率",
                _percent(totals["day"]["on_time_rate"]),
                _percent(totals["month"]["on_time_rate"]),
            ]
        ],
        (2, 1, 1),
    )
    rank_widths = (1, 4, 3, 1, 2, 2, 2, 1, 2, 1)
    section("二、镇街考核排名（本月）")
    table(RANK_HEAD, [_rank_cells(r) for r in content["towns"]], rank_widths)
    section("三、责任单位考核排名（本月）")
    table(RANK_HEAD, [_rank_cells(r) for r in content["units"]], rank_widths)
    red = content["red_list"]
    section(f"四、超期未办结事件（红榜，共 {red['total']} 件）")
    table(RED_HEAD, [_red_cells(r) for r in red["items"]], (3, 5, 2, 2, 3, 2, 1))
    orders = content["orders"]
    section(f"五、待回复督办单（共 {orders['total']} 件）")
    table(ORDER_HEAD, [_order_cells(r) for r in orders["items"]], (4, 3, 1, 3, 2, 2, 1))
    warnings = content["warnings"]
    section(f"六、当日预警（共 {warnings['total']} 条）")
    table(WARNING_HEAD, [_warning_cells(r) for r in warnings["items"]], (1, 2, 2, 8, 1))
    return bytes(pdf.output())


def render_xlsx(content: dict[str, Any]) -> bytes:
    """A workbook: 概况, 镇街排名, 单位排名, 超期事件, 督办单, 预警."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: tuple[str, ...], rows: list[list[Any]], first: bool) -> None:
        ws = book.active if first else book.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append(row)
        for column in ws.columns:
            letter = column[0].column_letter
            widest = max(len(str(c.value or "")) for c in column)
            ws.column_dimensions[letter].width = min(60, 4 + 2 * widest)

    totals = content["totals"]
    summary: list[list[Any]] = [
        [label, totals["day"][key], totals["month"][key]] for label, key in TOTAL_ROWS
    ]
    summary.append(["按期办结率", _percent(totals["day"]["on_time_rate"]),
                    _percent(totals["month"]["on_time_rate"])])  # fmt: skip
    summary += [[], ["通报日期", content["day"]], ["统计截至", content["as_of"]]]
    sheet("概况", ("指标", "当日", "本月累计"), summary, True)
    sheet("镇街排名", RANK_HEAD, [_rank_cells(r) for r in content["towns"]], False)
    sheet("单位排名", RANK_HEAD, [_rank_cells(r) for r in content["units"]], False)
    sheet("超期事件", RED_HEAD, [_red_cells(r) for r in content["red_list"]["items"]], False)
    sheet("督办单", ORDER_HEAD, [_order_cells(r) for r in content["orders"]["items"]], False)
    sheet("预警", WARNING_HEAD, [_warning_cells(r) for r in content["warnings"]["items"]], False)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export(content: dict[str, Any], *, fmt: str, settings: Settings) -> bytes:
    """The bulletin in `fmt` (html, pdf, xlsx)."""
    if fmt == "html":
        return render_html(content).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(content, font=settings.bulletin_font)
    if fmt == "xlsx":
        return render_xlsx(content)
    raise invalid("format", "one of html, pdf, xlsx", "格式应为 html、pdf 或 xlsx 之一")


# --- subscriptions -----------------------------------------------------------------------------

SUBSCRIBERS = ("leader", "operator", "admin")


def check_channels(channels: list[str]) -> list[str]:
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        raise invalid(
            "channels",
            f"one or more of {', '.join(CHANNELS)}",
            "应为 app、sms、email 中的一个或多个",
        )
    return list(dict.fromkeys(channels))


def subscribe(
    db: Session, *, user_id: int, channels: list[str], now: datetime
) -> BulletinSubscription:
    """Subscribe (or change the channels of) a user; the caller commits."""
    row = db.get(BulletinSubscription, user_id)
    if row is None:
        row = BulletinSubscription(user_id=user_id, channels=channels, created_at=now)
        db.add(row)
    else:
        row.channels = channels
    db.flush()
    return row


def unsubscribe(db: Session, *, user_id: int) -> bool:
    """Remove a subscription; False when there was none."""
    row = db.get(BulletinSubscription, user_id)
    if row is None:
        return False
    db.delete(row)
    db.flush()
    return True


# --- the job -----------------------------------------------------------------------------------


def due_days(db: Session, *, now: datetime, settings: Settings) -> list[date]:
    """Days whose bulletin is due and missing: yesterday once the local time has reached
    FENGQIAO_BULLETIN_HOUR, and the days after the last stored one a stopped worker missed
    (at most FENGQIAO_BULLETIN_CATCH_UP_DAYS)."""
    local = now.astimezone(LOCAL_TZ)
    today = local.date()
    due_from = datetime.combine(today, time(settings.bulletin_hour), tzinfo=LOCAL_TZ)
    newest = today - timedelta(days=1 if local >= due_from else 2)
    oldest = newest - timedelta(days=settings.bulletin_catch_up_days - 1)
    last = db.scalar(select(func.max(Bulletin.day)))
    # A new installation starts with the newest due day, not a backlog of empty ones.
    oldest = newest if last is None else max(oldest, last + timedelta(days=1))
    stored = set(
        db.scalars(select(Bulletin.day).where(Bulletin.day >= oldest, Bulletin.day <= newest))
    )
    days = []
    day = oldest
    while day <= newest:
        if day not in stored:
            days.append(day)
        day += timedelta(days=1)
    return days


def _message(content: dict[str, Any], settings: Settings) -> dict[str, Any]:
    day = content["totals"]["day"]
    return {
        "date": content["day"], "district": content["district"], "new": day["new"],
        "done": day["done"], "on_time": _percent(day["on_time_rate"]),
        "red": content["red_list"]["total"], "orders": content["orders"]["total"],
        "link": f"{settings.public_base_url.rstrip('/')}/bulletins?day={content['day']}",
    }  # fmt: skip


def publish(db: Session, *, day: date, now: datetime, settings: Settings) -> Bulletin:
    """Make and store the bulletin of `day` and queue it to every active subscriber, in the
    caller's transaction."""
    content = build(db, day=day, now=now, settings=settings)
    row = Bulletin(day=day, generated_at=now, content=content, recipients=0)
    db.add(row)
    db.flush()
    subscribers = db.execute(
        select(
            User.id, User.name, User.phone, User.email, User.home_org_id,
            BulletinSubscription.channels,
        )
        .join(BulletinSubscription, BulletinSubscription.user_id == User.id)
        .where(User.is_active.is_(True))
        .order_by(User.id)
    ).all()  # fmt: skip
    # Each subscriber is told their own area's figures: the district's staff the stored
    # bulletin's, a town's staff their town's (built once per area).
    payloads: dict[int, dict[str, Any]] = {}
    drafts = []
    for s in subscribers:
        if s.home_org_id not in payloads:
            area = reader_scope(db, s.home_org_id)
            payloads[s.home_org_id] = _message(
                content if area.level == "district"
                else build(db, day=day, now=now, settings=settings, scope=area),
                settings,
            )  # fmt: skip
        drafts += drafts_for(
            [Person(s.id, s.name, s.phone, s.email)], channels=s.channels, template="bulletin",
            payload=payloads[s.home_org_id], key=f"bulletin:{day.isoformat()}",
        )  # fmt: skip
    row.recipients = enqueue(db, drafts, now=now)
    db.flush()
    return row


@dataclass
class RunReport:
    made: int = 0
    messages: int = 0
    skipped: int = 0
    failed: int = 0


def make_due(*, database: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """The job: each missing due day in its own transaction; a day another worker made at the
    same moment is skipped, and one failing day does not stop the others."""
    report = RunReport()
    with database.session() as db:
        days = due_days(db, now=now, settings=settings)
    for day in days:
        try:
            with database.transaction() as db:
                row = publish(db, day=day, now=now, settings=settings)
                report.made += 1
                report.messages += row.recipients
        except IntegrityError:
            report.skipped += 1  # another worker made it first
        except Exception:
            log.exception("bulletin of %s failed; the next run tries again", day)
            report.failed += 1
    return {"made": report.made, "messages": report.messages, "skipped": report.skipped,
            "failed": report.failed}  # fmt: skip
