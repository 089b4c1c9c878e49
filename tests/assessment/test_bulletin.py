"""每日通报: a day's figures against the events, the three exports, the job and subscriptions."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fengqiao.analytics.query import Scope
from fengqiao.assessment import bulletin, bulletin_export
from fengqiao.assessment.models import Bulletin
from fengqiao.auth.models import User
from fengqiao.cli import app as cli_app
from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings, get_settings
from fengqiao.events.models import OPEN_STATES, Event
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.models import Outbox
from fengqiao.supervision.models import SupervisionOrder
from fengqiao.worker import run_once
from tests.assessment.conftest import app_state, local_day
from tests.conftest import BoundDatabase, Seeded, make_settings

Auth = Callable[[str], dict[str, str]]
DAY = date(2027, 1, 5)
AFTER = datetime(2027, 1, 25, 9, 0, tzinfo=LOCAL_TZ)  # the workload is over by then


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def overdue_in(events: list[Event], start: datetime, cutoff: datetime) -> list[Event]:
    """Events past their deadline at some moment of [start, cutoff): open now with the
    deadline before the cutoff, or closed after the deadline and after the start."""
    return [
        e
        for e in events
        if e.due_at is not None
        and _aware(e.due_at) < cutoff
        and (
            e.status in OPEN_STATES
            or (
                e.status == "closed"
                and e.closed_at is not None
                and _aware(e.closed_at) > max(start, _aware(e.due_at))
            )
        )
    ]


def _expected_totals(events: list[Event], first: date, last: date) -> dict[str, int]:
    filed = [e for e in events if first <= local_day(e.created_at) <= last]
    done = [e for e in events if e.status == "closed" and first <= local_day(e.closed_at) <= last]
    start = datetime.combine(first, datetime.min.time(), tzinfo=LOCAL_TZ)
    cutoff = datetime.combine(last, datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(days=1)
    return {
        "new": len(filed),
        "done": len(done),
        "done_on_time": sum(
            1
            for e in done
            if e.due_at is None or (e.closed_at is not None and e.closed_at <= e.due_at)
        ),
        "overdue": len(overdue_in(events, start, cutoff)),
    }


def test_a_days_bulletin_has_its_totals_overdue_list_and_orders(
    workload: list[Event], db: Session, settings: Settings
) -> None:
    now = AFTER.astimezone(LOCAL_TZ)
    content = bulletin.build(db, day=DAY, now=now, settings=settings)
    for span, first in (("day", DAY), ("month", DAY.replace(day=1))):
        expected = _expected_totals(workload, first, DAY)
        got = {k: content["totals"][span][k] for k in expected}
        assert got == expected, span
    assert content["totals"]["month"]["new"] > 0
    # The 超期清单: open events past their deadline at the end of that day first, most overdue
    # first, then the month's events closed after their deadline.
    cutoff = datetime(2027, 1, 6, tzinfo=LOCAL_TZ)
    late = sorted(
        (e for e in workload if e.status in OPEN_STATES and e.due_at and _aware(e.due_at) < cutoff),
        key=lambda e: (e.due_at, e.id),
    )
    assert late
    month = overdue_in(workload, datetime(2027, 1, 1, tzinfo=LOCAL_TZ), cutoff)
    assert content["overdue"]["total"] == len(month) >= len(late)
    assert content["overdue"]["open"] == len(late)
    codes = [r["code"] for r in content["overdue"]["items"]]
    assert codes[: len(late)] == [e.code for e in late][:50]
    assert len(month) <= 50 and sorted(codes) == sorted(e.code for e in month)
    orders = db.scalar(
        select(func.count())
        .select_from(SupervisionOrder)
        .where(SupervisionOrder.status == "open", SupervisionOrder.issued_at < cutoff)
    )
    assert content["orders"]["total"] == orders
    town = db.scalars(select(OrgUnit.name).where(OrgUnit.kind == "town")).first()
    assert [t["name"] for t in content["towns"]] == [town]
    assert content["towns"][0]["rank"] == 1
    assert content["units"] and all(u["score"] is not None for u in content["units"])
    assert content["warnings"]["available"] is True


def test_a_day_without_events_makes_an_empty_bulletin(db: Session, settings: Settings) -> None:
    content = bulletin.build(db, day=date(2028, 2, 29), now=datetime(2028, 3, 1, 8, tzinfo=LOCAL_TZ),
                             settings=settings)  # fmt: skip
    assert content["totals"]["day"] == {
        "new": 0, "done": 0, "done_on_time": 0, "overdue": 0, "overdue_open": 0,
        "on_time_rate": None,
    }  # fmt: skip
    assert content["overdue"]["total"] == 0
    html = bulletin_export.render_html(content)
    assert "2028年2月29日" in html and "本月无超期事件" in html


def test_the_three_exports_carry_the_figures(
    workload: list[Event], api: TestClient, auth: Auth, db: Session
) -> None:
    app_state(api).clock.set(AFTER)
    content = bulletin.build(db, day=DAY, now=AFTER, settings=app_state(api).settings)
    town = content["towns"][0]["name"]
    html = api.get(f"/api/v1/bulletins/{DAY}.html", headers=auth("demo_district_leader"))
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    text = html.text
    day = content["totals"]["day"]
    assert f'<tr data-key="new"><td>新增事件</td><td class="num">{day["new"]}</td>' in text
    assert town in text
    for item in content["overdue"]["items"][:5]:
        assert item["code"] in text

    xlsx = api.get(f"/api/v1/bulletins/{DAY}.xlsx", headers=auth("demo_district_leader"))
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["概况", "镇街排名", "单位排名", "超期清单", "督办单", "预警",
                              "专项整治"]  # fmt: skip
    summary = {row[0]: row[1:] for row in book["概况"].iter_rows(values_only=True) if row[0]}
    assert summary["新增事件"] == (day["new"], content["totals"]["month"]["new"])
    assert book["镇街排名"]["B2"].value == town
    assert book["超期清单"].max_row == 1 + len(content["overdue"]["items"])

    pdf = api.get(f"/api/v1/bulletins/{DAY}.pdf", headers=auth("demo_district_leader"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf.content))
    extracted = "".join(page.extract_text() for page in reader.pages)
    assert town in extracted
    assert "每日通报" in extracted
    assert content["district"] in extracted


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [("/bulletins/2026-02-30.pdf", 422, "day"), ("/bulletins/2026-11-27.docx", 422, "format"),
     ("/bulletins/yesterday.pdf", 422, "day"), ("/bulletins/2099-01-01.html", 422, "day")],
)  # fmt: skip
def test_bad_days_and_formats_are_problems(
    api: TestClient, auth: Auth, path: str, status: int, field: str
) -> None:
    response = api.get("/api/v1" + path, headers=auth("demo_district_leader"))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["field"] == field and error["reason_zh"]


def test_a_missing_font_says_which_setting_to_fix(api: TestClient, auth: Auth) -> None:
    app_state(api).settings = app_state(api).settings.model_copy(
        update={"bulletin_font": Path("/nonexistent/font.ttc")}
    )
    response = api.get("/api/v1/bulletins/2026-11-27.pdf", headers=auth("demo_district_leader"))
    assert response.status_code == 503
    body = response.json()
    assert "FENGQIAO_BULLETIN_FONT" in body["detail"] and "字体" in body["detail_zh"]


def test_only_staff_read_bulletins(api: TestClient, auth: Auth) -> None:
    for user in ("demo_grid_worker", "demo_handler", "demo_resident"):
        assert api.get("/api/v1/bulletins", headers=auth(user)).status_code == 403
        assert api.get("/api/v1/bulletins/2026-11-27.html", headers=auth(user)).status_code == 403


def _outbox(db: Session, day: date) -> list[tuple[str, str]]:
    db.expire_all()
    rows = db.execute(
        select(Outbox.channel, Outbox.recipient).where(
            Outbox.template == "bulletin", Outbox.dedupe_key.like(f"bulletin:{day}:%")
        )
    )
    return sorted((r.channel, r.recipient) for r in rows)


def test_the_job_makes_each_days_bulletin_once_and_queues_it_to_subscribers(
    api: TestClient, auth: Auth, bound: BoundDatabase, db: Session, settings: Settings
) -> None:
    leader = api.put("/api/v1/bulletins/subscription", json={"channels": ["app", "email"]},
                     headers=auth("demo_district_leader"))  # fmt: skip
    assert leader.status_code == 200 and leader.json()["subscribed"]
    operator = api.put("/api/v1/bulletins/subscription", json={}, headers=auth("demo_operator"))
    assert operator.json()["channels"] == settings.bulletin_channels
    assert (
        api.delete("/api/v1/bulletins/subscription", headers=auth("demo_operator")).status_code
        == 204
    )
    mine = api.get("/api/v1/bulletins/subscription", headers=auth("demo_operator")).json()
    assert mine == {"subscribed": False, "channels": [], "since": None}

    def run(at: datetime) -> dict[str, int]:
        return run_once(bound, settings, at, names=["bulletin"])["bulletin"]

    # Before 07:00 yesterday's bulletin is not due; nothing is stored yet, so nothing older is.
    assert run(datetime(2026, 12, 2, 6, 59, tzinfo=LOCAL_TZ))["made"] == 1  # 30 November
    assert run(datetime(2026, 12, 2, 6, 59, tzinfo=LOCAL_TZ))["made"] == 0
    first = run(datetime(2026, 12, 2, 7, 0, tzinfo=LOCAL_TZ))
    assert first["made"] == 1
    assert run(datetime(2026, 12, 2, 7, 5, tzinfo=LOCAL_TZ))["made"] == 0
    days = set(db.scalars(select(Bulletin.day)))
    assert days == {date(2026, 11, 30), date(2026, 12, 1)}
    queued = _outbox(db, date(2026, 12, 1))
    person = db.scalars(select(User).where(User.username == "demo_district_leader")).one()
    assert queued == sorted(
        [("app", str(person.id))] + ([("email", person.email)] if person.email else [])
    )
    assert first["messages"] == len(queued) >= 1
    district = db.scalar(select(OrgUnit.id).where(OrgUnit.kind == "district"))
    stored = db.get(Bulletin, (district, date(2026, 12, 1)))
    assert stored is not None and stored.recipients == len(queued)
    assert leader.json()["since"] is not None
    # Nobody unsubscribed is told.
    op = db.scalars(select(User).where(User.username == "demo_operator")).one()
    assert all(recipient != str(op.id) for _, recipient in queued)
    # A worker stopped for three days makes the days it missed, each once.
    catch_up = run(datetime(2026, 12, 5, 8, 0, tzinfo=LOCAL_TZ))
    assert catch_up["made"] == 3
    assert {date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4)} <= set(
        db.scalars(select(Bulletin.day))
    )
    # The stored day exports what was stored.
    listed = api.get("/api/v1/bulletins?days=3", headers=auth("demo_district_leader"))
    assert listed.status_code == 200


def test_catch_up_is_bounded(bound: BoundDatabase, db: Session, settings: Settings) -> None:
    capped = settings.model_copy(update={"bulletin_catch_up_days": 2})
    assert run_once(bound, capped, datetime(2026, 12, 2, 8, tzinfo=LOCAL_TZ), names=["bulletin"])
    made = run_once(bound, capped, datetime(2026, 12, 20, 8, tzinfo=LOCAL_TZ), names=["bulletin"])
    assert made["bulletin"]["made"] == 2
    db.expire_all()
    assert sorted(set(db.scalars(select(Bulletin.day)))) == [
        date(2026, 12, 1), date(2026, 12, 18), date(2026, 12, 19)
    ]  # fmt: skip


def test_bad_channels_are_refused(api: TestClient, auth: Auth) -> None:
    response = api.put("/api/v1/bulletins/subscription", json={"channels": ["fax"]},
                       headers=auth("demo_district_leader"))  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "channels"
    worker = api.put("/api/v1/bulletins/subscription", json={}, headers=auth("demo_grid_worker"))
    assert worker.status_code == 403


def test_the_cli_writes_a_days_bulletin(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", seeded.url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        out = tmp_path / "b.xlsx"
        result = runner.invoke(cli_app, ["bulletin", "--date", "2026-11-27", "--format", "xlsx",
                                         "--out", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert load_workbook(out).sheetnames[0] == "概况"
        pdf = tmp_path / "b.pdf"
        result = runner.invoke(cli_app, ["bulletin", "--date", "2026-11-27", "--out", str(pdf)])
        assert result.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF")
        bad = runner.invoke(cli_app, ["bulletin", "--date", "2026-11-31", "--out", str(pdf)])
        assert bad.exit_code == 1 and "日期格式" in bad.output
        unknown = runner.invoke(cli_app, ["bulletin", "--date", "2026-11-27", "--format", "doc",
                                          "--out", str(pdf)])  # fmt: skip
        assert unknown.exit_code == 1 and "format" in unknown.output
    finally:
        get_settings.cache_clear()


def _plan(db: Session, statement: Any) -> str:
    compiled = statement.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    if db.get_bind().dialect.name == "sqlite":
        return " ".join(str(row[-1]) for row in db.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    # The seeded tables are small enough for a sequential scan; ask whether the index serves.
    db.execute(text("SET LOCAL enable_seqscan = off"))
    return " ".join(str(row[0]) for row in db.execute(text(f"EXPLAIN {compiled}")))


@pytest.mark.parametrize("level", ["district", "town"])
def test_the_overdue_list_reads_the_open_deadline_index(db: Session, level: str) -> None:
    scope = bulletin.district_scope(db)
    if level == "town":
        town = db.scalars(select(OrgUnit).where(OrgUnit.kind == "town")).first()
        assert town is not None
        scope = Scope(level="town", org_id=town.id, name=town.name)
    dialect = db.get_bind().dialect.name
    still_open, closed_late = bulletin.overdue_during(
        scope, datetime(2026, 11, 1, tzinfo=LOCAL_TZ), datetime(2026, 12, 1, tzinfo=LOCAL_TZ),
        dialect,
    )  # fmt: skip
    # The district's: a partial index of the open events' deadlines (PostgreSQL may pick the one
    # led by town, or the one with the id, migration 0024), walked in order: no sort. A town's: an index led by the town and the
    # deadline (SQLite's planner on the seeded tables may take the event list's full one).
    plan = _plan(db, select(Event.id).where(still_open).order_by(Event.due_at, Event.id).limit(50))
    # On PostgreSQL a town's few seeded open events cost the same through any index of the
    # deadlines (the town's partial or full one, or the district's filtered by town), and runs
    # have picked each: every one is an ordered walk of due_at, which is what is checked.
    by_town = r"ix_event_(open_)?town_(sort_)?due\b"
    pattern = (
        r"ix_event_open_(town_)?due(_id)?\b"
        if level == "district"
        else rf"{by_town}|ix_event_open_due(_id)?\b"
        if dialect == "postgresql"
        else by_town
    )
    assert re.search(pattern, plan), plan
    assert "TEMP B-TREE" not in plan, plan
    # The events closed late: the closings since the period's start, not every closed event.
    late = _plan(db, select(func.count()).select_from(Event).where(closed_late))
    assert ("ix_event_closed_at" in late) if dialect == "sqlite" else ("Seq Scan" not in late), late


def test_a_database_without_a_district_makes_no_bulletin_and_logs_no_failure(
    fresh_db: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fresh install runs its worker before anyone imports the org tree: the bulletin job has
    nothing to make and says nothing, instead of a failure with a traceback every minute."""
    at = datetime(2026, 12, 3, 8, tzinfo=LOCAL_TZ)
    with caplog.at_level("ERROR"):
        result = run_once(fresh_db, make_settings(fresh_db.url, tmp_path), at, names=["bulletin"])[
            "bulletin"
        ]
    assert result == {"made": 0, "messages": 0, "skipped": 0, "failed": 0}
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    with fresh_db.session() as db:
        assert db.scalar(select(func.count()).select_from(Bulletin)) == 0
