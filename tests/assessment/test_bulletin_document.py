"""The daily bulletin as an official document (issue 17, item 4): issuing unit and 文号 numbered
per year and per issuer (unique and gap-free, also when two issue at once), the date in
Chinese, a narrative generated from the figures, the top and bottom five, the 超期清单 whose
total is the month's overdue figure, and a town's bulletin headed with the town's name."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Scope
from fengqiao.analytics.rollups import apply_pending
from fengqiao.assessment import bulletin
from fengqiao.assessment.bulletin_document import (
    chinese_date,
    chinese_time,
    document_number,
    narrative,
    short_name,
    top_and_bottom,
)
from fengqiao.assessment.models import Bulletin, BulletinSequence
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.org.models import OrgUnit
from tests.assessment.conftest import add_town
from tests.conftest import BoundDatabase, make_settings
from tests.events.conftest import Desk

Auth = Any
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


# --- the words, from known figures ---------------------------------------------------------


def test_names_numbers_and_dates_read_as_a_document() -> None:
    assert short_name("柯桥区", "district") == "柯"
    assert short_name("安昌街道", "town") == "安昌"
    assert short_name("平水镇", "town") == "平水"
    assert (
        document_number("{short}综指通", short="柯", year=2026, serial=37) == "柯综指通〔2026〕37号"
    )
    assert chinese_date(date(2026, 12, 5)) == "2026年12月5日"
    assert chinese_time(datetime(2026, 12, 5, tzinfo=LOCAL_TZ)) == "12月4日24时"
    assert chinese_time(datetime(2026, 12, 5, 9, 5, tzinfo=LOCAL_TZ)) == "12月5日9时05分"


def _figures(**changes: dict[str, int]) -> dict[str, dict[str, Any]]:
    totals = {
        "day": {"new": 57, "done": 49, "done_on_time": 45, "overdue": 4, "overdue_open": 2},
        "previous_day": {"new": 45, "done": 40, "done_on_time": 34},
        "week": {"new": 380, "done": 300, "done_on_time": 270},
        "previous_week": {"new": 400, "done": 310, "done_on_time": 280},
        "month": {"new": 312, "done": 280, "done_on_time": 252, "overdue": 6, "overdue_open": 4},
    }
    for span, values in changes.items():
        totals[span] = {**totals[span], **values}
    return totals


def test_the_narrative_says_the_figures_in_plain_words() -> None:
    text = narrative(area="柯桥区", day=date(2026, 12, 4), totals=_figures(), as_of="12月4日24时",
                     min_base=5)  # fmt: skip
    assert text == (
        "2026年12月4日，柯桥区新增事件57件，办结49件，其中按期办结45件，按期办结率91.8%。"
        "与前一日相比，新增事件增加12件（上升26.7%），按期办结率上升6.8个百分点。"
        "近7日新增事件380件，较前7日减少20件（下降5.0%）。"
        "本月（12月1日至4日）累计新增事件312件、办结280件，按期办结率90.0%；"
        "本月超期事件6件，其中截至12月4日24时仍未办结4件，详见超期清单。"
    )


def test_a_tiny_or_empty_base_says_no_comparable_data() -> None:
    totals = _figures(
        previous_day={"new": 2, "done": 2, "done_on_time": 1},
        previous_week={"new": 0, "done": 0, "done_on_time": 0},
        month={"overdue": 0, "overdue_open": 0},
    )
    text = narrative(area="柯桥街道", day=date(2026, 12, 1), totals=totals, as_of="12月1日24时",
                     min_base=5)  # fmt: skip
    assert "新增事件无可比数据（前一日仅2件，不足5件）" in text
    assert "按期办结率无可比数据（前一日办结仅2件，不足5件）" in text
    assert "较前7日无可比数据（前7日无数据）" in text
    assert "本月（12月1日）" in text and "本月无超期事件。" in text
    # The seven days before began before the area's first event: no base either.
    started = narrative(area="柯桥区", day=date(2026, 12, 4), totals=_figures(), as_of="12月4日24时",
                        min_base=5, history_start=date(2026, 11, 25))  # fmt: skip
    assert "较前7日无可比数据（前7日数据不完整，2026-11-25起才有数据）" in started
    assert "与前一日相比，新增事件增加12件" in started
    assert "%）" not in text.split("。")[1]  # no percentage against a base of two


def _row(rank: int, score: float | None) -> dict[str, Any]:
    return {"rank": rank if score is not None else None, "name": f"单位{rank}", "score": score,
            "grade": "A" if score and score >= 90 else "C"}  # fmt: skip


def test_the_top_and_bottom_five() -> None:
    rows = [_row(i, 100 - 3 * i) for i in range(1, 13)] + [_row(13, None)]
    picked = top_and_bottom(rows)
    assert [r["rank"] for r in picked["top"]] == [1, 2, 3, 4, 5]
    assert [r["rank"] for r in picked["bottom"]] == [8, 9, 10, 11, 12]  # the unscored is not last
    assert picked["ranked"] == 12
    # Fewer than ten: the halves do not overlap, the top takes the odd one.
    few = top_and_bottom(rows[:3])
    assert [r["rank"] for r in few["top"]] == [1, 2] and [r["rank"] for r in few["bottom"]] == [3]
    assert top_and_bottom(rows[:1])["bottom"] == []


# --- 文号: per issuer, per year, unique and gap-free ----------------------------------------


def _numbers(db: Session) -> dict[str, list[str | None]]:
    names = {row.id: row.name for row in db.execute(select(OrgUnit.id, OrgUnit.name))}
    numbers: dict[str, list[str | None]] = {}
    for org_id, number in db.execute(
        select(Bulletin.org_id, Bulletin.number).order_by(Bulletin.day)
    ):
        numbers.setdefault(names[org_id], []).append(number)
    return numbers


def test_numbers_run_per_issuing_unit_and_restart_each_year(
    db: Session, settings: Settings
) -> None:
    add_town(db)  # a second town, 安昌街道
    for day in (date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)):
        # Issued the next morning: the bulletin of 31 December is the first of 2027.
        now = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ)
        bulletin.publish(db, day=day, now=now + timedelta(hours=7, minutes=30), settings=settings)
    assert _numbers(db) == {
        "柯桥区": ["柯综指通〔2026〕1号", "柯综指通〔2026〕2号", "柯综指通〔2027〕1号"],
        "柯桥街道": ["柯桥综指通〔2026〕1号", "柯桥综指通〔2026〕2号", "柯桥综指通〔2027〕1号"],
        "安昌街道": ["安昌综指通〔2026〕1号", "安昌综指通〔2026〕2号", "安昌综指通〔2027〕1号"],
    }
    district = bulletin.district_scope(db)
    stored = db.get(Bulletin, (district.org_id, date(2026, 12, 31)))
    assert stored is not None
    document = stored.content["document"]
    # The district's command centre as the org tree names it; its number and both dates.
    assert document == {
        "issuer": "柯桥区综合信息指挥中心", "number": "柯综指通〔2027〕1号",
        "title": "柯桥区每日通报", "day_zh": "2026年12月31日", "issued_on": "2027年1月1日",
        "as_of": "12月31日24时",
    }  # fmt: skip
    town = db.scalars(select(Bulletin).where(Bulletin.org_id != district.org_id)).first()
    assert town is not None and town.content["document"]["issuer"].endswith("综合信息指挥室")

    # Issuing a day again fails and gives its number back: the next one follows without a gap.
    db.expunge_all()  # as another worker would: not the session that issued it
    with pytest.raises(IntegrityError), db.begin_nested():
        bulletin.publish(db, day=date(2026, 12, 31),
                         now=datetime(2027, 1, 1, 8, tzinfo=LOCAL_TZ), settings=settings)  # fmt: skip
    db.expire_all()
    bulletin.publish(db, day=date(2027, 1, 1), now=datetime(2027, 1, 2, 7, tzinfo=LOCAL_TZ),
                     settings=settings)  # fmt: skip
    assert _numbers(db)["柯桥区"][-1] == "柯综指通〔2027〕2号"
    serials = db.scalars(
        select(Bulletin.serial).where(Bulletin.org_id == district.org_id, Bulletin.year == 2027)
    ).all()
    assert sorted(s or 0 for s in serials) == [1, 2]


def _district(database: Database) -> Scope:
    with database.transaction() as db:
        org = OrgUnit(code="330603", name="柯桥区", kind="district", path="")
        db.add(org)
        db.flush()
        org.path = f"/{org.id}/"
        return Scope(level="district", org_id=org.id, name="柯桥区")


def test_two_issues_at_once_never_share_a_number(fresh_db: Database, tmp_path: Path) -> None:
    settings = make_settings(fresh_db.url, tmp_path)
    scope = _district(fresh_db)
    now = datetime(2026, 12, 5, 7, tzinfo=LOCAL_TZ)
    start = threading.Barrier(2)

    def issue(day: date) -> str:
        start.wait()
        with fresh_db.transaction() as db:
            content = {"document": {"number": None}}
            row = bulletin.issue(db, scope=scope, day=day, content=content, now=now,
                                 settings=settings)  # fmt: skip
            time.sleep(0.2)  # hold the counter while the other waits for it
            return str(row.number)

    def race(days: list[date]) -> list[Any]:
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(issue, d) for d in days]
        outcomes: list[Any] = []
        for future in futures:
            try:
                outcomes.append(future.result())
            except IntegrityError:
                outcomes.append("refused")
        return outcomes

    # Two days at once: two numbers, one each.
    assert sorted(race([date(2026, 12, 3), date(2026, 12, 4)])) == [
        "柯综指通〔2026〕1号", "柯综指通〔2026〕2号"
    ]  # fmt: skip
    # The same day twice at once: one is issued, the other refused, and its number not spent.
    outcomes = race([date(2026, 12, 5), date(2026, 12, 5)])
    assert sorted(outcomes) == ["refused", "柯综指通〔2026〕3号"]
    with fresh_db.transaction() as db:
        assert db.get(BulletinSequence, (scope.org_id, 2026)).value == 3  # type: ignore[union-attr]
        numbers = db.scalars(select(Bulletin.number).order_by(Bulletin.serial)).all()
    assert numbers == [f"柯综指通〔2026〕{n}号" for n in (1, 2, 3)]


# --- the 超期清单 and the month's overdue figure ----------------------------------------------


def _due(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["due_at"])


def _dispatched(desk: Desk) -> dict[str, Any]:
    event = desk.act(desk.file(), "demo_operator", "accept")
    return desk.act(event, "demo_operator", "dispatch")


def test_the_overdue_list_is_the_months_overdue_figure(
    desk: Desk, clock: FixedClock, bound: BoundDatabase, db: Session, settings: Settings,
    api: TestClient, auth: Auth,
) -> None:  # fmt: skip
    # November: one event left open past its deadline (still overdue in December), one closed
    # after its deadline in November (overdue then, not in December).
    clock.set(datetime(2026, 11, 16, 9, tzinfo=LOCAL_TZ))
    november_open = _dispatched(desk)
    november_late = desk.to_handled(desk.file())
    clock.set(_due(november_late) + timedelta(hours=2))
    desk.verify_ok(november_late)
    # December: one left open, one closed late, one closed in time.
    clock.set(datetime(2026, 12, 1, 9, tzinfo=LOCAL_TZ))
    december_open = _dispatched(desk)
    december_late = desk.to_handled(desk.file())
    desk.verify_ok(desk.to_handled(desk.file()))
    clock.set(max(_due(december_late), _due(december_open)) + timedelta(hours=3))
    desk.verify_ok(december_late)
    apply_pending(bound)
    day, now = date(2026, 12, 15), datetime(2026, 12, 16, 8, tzinfo=LOCAL_TZ)
    clock.set(now)

    content = bulletin.build(db, day=day, now=now, settings=settings)
    overdue = content["overdue"]
    listed = {item["code"]: item["status"] for item in overdue["items"]}
    assert listed == {
        november_open["code"]: "超期未办结",
        december_open["code"]: "超期未办结",
        december_late["code"]: "超期后办结",
    }
    # One definition: the list, its total and the month's figure agree (the rollups' cohort
    # counter would have counted only the events filed in December).
    month = content["totals"]["month"]
    assert overdue["total"] == len(overdue["items"]) == month["overdue"] == 3
    assert overdue["open"] == month["overdue_open"] == 2
    # Open ones first, the longest overdue first.
    assert [i["code"] for i in overdue["items"]][:2] == [
        november_open["code"],
        december_open["code"],
    ]
    late = next(i for i in overdue["items"] if i["code"] == december_late["code"])
    assert late["overdue_hours"] == pytest.approx(3.0, abs=0.1)
    assert "本月超期事件3件，其中截至12月15日24时仍未办结2件" in content["narrative"]

    # Issued, the PDF carries its 文号, the 超期清单 and the figures.
    bulletin.publish(db, day=day, now=now, settings=settings)
    response = api.get(f"/api/v1/bulletins/{day}.pdf", headers=auth("demo_district_leader"))
    assert response.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "bulletin-document.pdf").write_bytes(response.content)
    assert "柯综指通〔2026〕1号" in text and "柯桥区综合信息指挥中心" in text
    assert "超期清单（本月超期3件，其中未办结2件）" in text
    assert november_open["code"] in text and "红榜" not in text
    assert "2026年12月16日" in text and "2026年12月15日" in text
    # The list of days shows the number to the district's staff.
    days = api.get("/api/v1/bulletins?days=2", headers=auth("demo_district_leader")).json()
    assert [d["number"] for d in days] == [None, "柯综指通〔2026〕1号"]


def test_a_towns_bulletin_is_headed_with_its_own_name(
    desk: Desk, api: TestClient, auth: Auth, bound: BoundDatabase
) -> None:
    desk.to_handled(desk.file())
    apply_pending(bound)
    town = api.get("/api/v1/bulletins/2026-12-01.html", headers=auth("demo_leader")).text
    assert "一、柯桥街道概况" in town and "全区" not in town
    assert "柯桥街道综合信息指挥室" in town and "（草稿，未编号）" in town  # today's: a draft
    assert "二、责任单位综合得分前五名与后五名（本月）" in town
    assert "附表一：村社考核排名（本月）" in town
    district = api.get("/api/v1/bulletins/2026-12-01.html", headers=auth("demo_district_leader"))
    assert "一、柯桥区概况" in district.text and "二、镇街综合得分前五名与后五名" in district.text
    assert "全区概况" not in district.text
