"""Warnings that speak plainly, name their events by code, and climb when nobody signs: each
detector's headline in plain Chinese, the related events bounded and scoped, a reminder after
N1 days and the district told after N2 days (once each, never for old news)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.events.models import Event
from fengqiao.notify.templates import render, render_for
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.models import Outbox
from fengqiao.warnings import wording
from fengqiao.warnings.detectors import Finding
from fengqiao.warnings.evaluate import replay
from fengqiao.warnings.followups import run_followups
from fengqiao.warnings.models import EarlyWarning
from fengqiao.warnings.service import run_detectors
from fengqiao.worker import jobs

from .conftest import NOW, RULES, AddEvent, Place, hours_before

Auth = Callable[[str], dict[str, str]]
# Half-width punctuation and Latin letters have no place in a Chinese headline.
NOT_CHINESE_TEXT = re.compile(r"[A-Za-z,;:()!?]")
BASE = "https://fq.example.cn"  # the public address the sender writes links on


# --- each detector's headline ---------------------------------------------------------------------


def _finding(kind: str, **fields: Any) -> Finding:
    start = datetime(2026, 11, 28, 9, 0, tzinfo=LOCAL_TZ)
    values: dict[str, Any] = {
        "kind": kind, "org_id": 7, "window_start": start, "window_end": start + timedelta(days=3),
        "observed": 5, "expected": 3.0, "score": 1.0,
    }  # fmt: skip
    values.update(fields)
    return Finding(**values)


WORDS: dict[str, Any] = {
    "where": "柯桥街道湖西村", "category": "占道经营", "unit": "柯桥街道综合行政执法中队",
    "classes": "群体性事件苗头、劳资纠纷", "weeks": 8, "cluster_days": 7.0, "radius_m": 50.0,
    "backlog_min": 5,
}  # fmt: skip


@pytest.mark.parametrize(
    ("finding", "headline"),
    [
        (_finding("spike", baseline=1, expected=0.054, p_value=2.1e-7),
         "柯桥街道湖西村近3天上报占道经营5起，过去8周同期平均不到1起，请研判原因并部署处置。"),
        (_finding("spike", baseline=0, expected=0.018, p_value=1e-9,
                  window_start=datetime(2026, 11, 30, 9, tzinfo=LOCAL_TZ),
                  window_end=datetime(2026, 12, 1, 9, tzinfo=LOCAL_TZ)),
         "柯桥街道湖西村近24小时上报占道经营5起，过去8周同期没有上报，请研判原因并部署处置。"),
        (_finding("spike", observed=14, baseline=140, expected=7.5, p_value=3e-7),
         "柯桥街道湖西村近3天上报占道经营14起，过去8周同期平均约7.5起，请研判原因并部署处置。"),
        (_finding("cluster", observed=3, window_end=datetime(2026, 12, 1, 8, tzinfo=LOCAL_TZ)),
         "柯桥街道湖西村7天内发生涉稳类事件3起（群体性事件苗头、劳资纠纷，11月28日至12月1日），"
         "请综治、信访部门提前介入化解。"),
        (_finding("repeat", observed=3, window_end=datetime(2026, 12, 9, 18, tzinfo=LOCAL_TZ)),
         "柯桥街道湖西村同一地点（50米范围内）12天内重复发生占道经营3起（11月28日至12月9日），"
         "请柯桥街道综合行政执法中队查找根源、长效治理。"),
        (_finding("backlog", observed=7),
         "柯桥街道综合行政执法中队有7件事件超期未办结，最早一件于11月28日到期，"
         "已达积压预警线（5件），请督促加快处置。"),
    ],
)  # fmt: skip
def test_every_detector_speaks_plain_chinese(finding: Finding, headline: str) -> None:
    text = wording.message(finding, **WORDS)
    assert text == headline
    assert not NOT_CHINESE_TEXT.search(text)
    for statistic in ("倍", "泊松", "p=", "/"):
        assert statistic not in text


def test_the_statistics_stay_in_a_details_line() -> None:
    line = wording.statistics("spike", expected=0.054, p_value=2.1e-7)
    assert (
        line == "按全区同期增减调整后的期望值为0.05起，按泊松分布偶然达到此数的概率约为2.1×10⁻⁷。"
    )
    assert wording.statistics("cluster", expected=3.0, p_value=None) == "预警线为3起。"
    assert wording.statistics("backlog", expected=5.0, p_value=None) == "预警线为5件。"
    assert not NOT_CHINESE_TEXT.search(line)


@pytest.mark.usefixtures("background")
def test_a_stored_spike_is_pushed_in_plain_words(
    db: Session, bound: Database, add_event: AddEvent, place: Place
) -> None:
    for i in range(6):
        add_event("0901", hours_before(2 + i))
    assert run_detectors(database=bound, now=NOW, rules=RULES)["spike"] == 1
    (spike,) = db.scalars(select(EarlyWarning).where(EarlyWarning.kind == "spike"))
    assert re.fullmatch(
        r".+(村|社区)近(24小时|3天)上报河道水体污染6起，过去8周同期没有上报，请研判原因并部署处置。",
        spike.message,
    ), spike.message
    assert spike.details["baseline"] == 0
    # The spike's own events are its related events.
    six = list(db.scalars(select(Event.id).where(Event.category_code == "0901")
                          .order_by(Event.created_at, Event.id)))  # fmt: skip
    assert spike.details["event_ids"] == six and spike.details["event_count"] == 6
    row = db.scalars(select(Outbox).where(Outbox.template == "warning")).first()
    assert row is not None
    _subject, text = render("warning", row.payload)
    assert spike.message in text and "泊松" not in text


# --- related events, by code ----------------------------------------------------------------------


def test_the_list_names_related_events_by_code_bounded_and_scoped(
    client: TestClient, auth: Auth, db: Session, bound: Database, add_event: AddEvent
) -> None:
    for i in range(25):  # one stability cluster of 25 events
        add_event("0302", hours_before(28 - i))
    assert run_detectors(database=bound, now=NOW, rules=RULES)["cluster"] == 1
    codes = list(db.scalars(select(Event.code).where(Event.category_code == "0302")
                            .order_by(Event.created_at, Event.id)))  # fmt: skip
    response = client.get("/api/v1/warnings", params={"kind": "cluster"},
                          headers=auth("demo_operator"))  # fmt: skip
    assert response.status_code == 200, response.text
    (warning,) = response.json()["items"]
    assert warning["event_count"] == 25
    assert [e["code"] for e in warning["events"]] == codes[:20]
    assert all(e["name"] == "信访诉求" for e in warning["events"])
    assert warning["statistics"] == "预警线为3起。"
    assert warning["level"] == "town" and warning["level_name"] == "镇街"
    assert warning["remind_at"] and warning["climb_at"] and warning["history"] == []
    csv_text = client.get("/api/v1/warnings/export", headers=auth("demo_operator")).text
    assert codes[0] in csv_text and "预警线为3起" in csv_text
    # A grid worker cannot read the warning at all; a resident's own events stay theirs.
    assert client.get("/api/v1/warnings", headers=auth("demo_grid_worker")).json()["total"] == 0


# --- reminders and the climb ------------------------------------------------------------------


def _cluster(add_event: AddEvent, at: datetime) -> None:
    for hours, code in [(50, "0103"), (20, "0301"), (1, "0302")]:
        add_event(code, at - timedelta(hours=hours))


def _district_people(db: Session) -> set[int]:
    district = db.scalars(select(OrgUnit.id).where(OrgUnit.kind == "district")).one()
    return set(
        db.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.home_org_id == district, UserRole.role.in_(("operator", "leader")))
        )
    )


def _outbox(db: Session, template: str) -> list[Outbox]:
    return list(db.scalars(select(Outbox).where(Outbox.template == template).order_by(Outbox.id)))


def test_an_unacknowledged_warning_is_reminded_then_climbs_once_each(
    db: Session, bound: Database, add_event: AddEvent, place: Place
) -> None:
    rules = replace(RULES, remind_days=1.0, climb_days=3.0)
    _cluster(add_event, NOW)
    assert run_detectors(database=bound, now=NOW, rules=rules)["cluster"] == 1
    (warning,) = db.scalars(select(EarlyWarning))
    assert warning.remind_at == NOW + timedelta(days=1)
    assert warning.climb_at == NOW + timedelta(days=3)
    quiet = {"reminded": 0, "climbed": 0, "lapsed": 0}
    # Not before its moment.
    assert run_followups(database=bound, now=NOW + timedelta(hours=23), rules=rules) == quiet
    assert _outbox(db, "warning_reminder") == []
    # A day on: the people it went to are reminded, once.
    day = NOW + timedelta(days=1, minutes=5)
    assert run_followups(database=bound, now=day, rules=rules)["reminded"] == 1
    reminders = _outbox(db, "warning_reminder")
    db.refresh(warning)
    assert {r.user_id for r in reminders if r.user_id} == set(warning.pushed_to)
    assert {r.channel for r in reminders} == {"sms", "app"}
    # Stored as a path; the sender writes it on the public address.
    assert reminders[0].payload["path"] == f"/warnings?id={warning.id}"
    subject, text, _ = render_for("warning_reminder", reminders[0].payload, base_url=BASE)
    assert "已发布1天仍未签收" in text and warning.message in text
    assert f"{BASE}/warnings?id={warning.id}" in text
    assert warning.remind_at is None and warning.reminded_at == day and warning.level == "town"
    assert run_followups(database=bound, now=day + timedelta(hours=6), rules=rules) == quiet
    assert len(_outbox(db, "warning_reminder")) == len(reminders)
    # Three days on, still unsigned: it climbs to the district, whose people are told, once.
    climb = NOW + timedelta(days=3, minutes=5)
    assert run_followups(database=bound, now=climb, rules=rules)["climbed"] == 1
    climbs = _outbox(db, "warning_climb")
    district = _district_people(db)
    assert district and {r.user_id for r in climbs if r.user_id} == district
    subject, text = render("warning_climb", climbs[0].payload)
    assert "升级至区级指挥中心" in subject and "发布3天未签收" in text
    db.refresh(warning)
    assert warning.level == "district" and warning.climbed_at == climb and warning.climb_at is None
    assert [h["step"] for h in warning.history] == ["reminded", "climbed"]
    assert run_followups(database=bound, now=climb + timedelta(days=5), rules=rules) == quiet
    assert len(_outbox(db, "warning_climb")) == len(climbs)


def test_a_signed_warning_is_neither_reminded_nor_climbs(
    client: TestClient, auth: Auth, db: Session, bound: Database, add_event: AddEvent
) -> None:
    _cluster(add_event, NOW)
    run_detectors(database=bound, now=NOW, rules=RULES)
    (warning,) = db.scalars(select(EarlyWarning))
    signed = client.post(f"/api/v1/warnings/{warning.id}/ack", json={"note": "已入村化解"},
                         headers=auth("demo_operator"))  # fmt: skip
    assert signed.status_code == 200, signed.text
    assert signed.json()["remind_at"] is None and signed.json()["climb_at"] is None
    later = run_followups(database=bound, now=NOW + timedelta(days=10), rules=RULES)
    assert later == {"reminded": 0, "climbed": 0, "lapsed": 0}
    assert _outbox(db, "warning_reminder") == _outbox(db, "warning_climb") == []


def test_a_replayed_year_does_not_flood_reminders_about_old_warnings(
    db: Session, bound: Database, add_event: AddEvent
) -> None:
    """`fengqiao warnings replay` stores old warnings with old due times; the follow-up job then
    lets those older than the catch-up horizon lapse (recorded, nothing sent) and follows up
    only the recent ones."""
    _cluster(add_event, NOW - timedelta(days=40))
    _cluster(add_event, NOW - timedelta(days=2, hours=3))
    replay(database=bound, start=NOW - timedelta(days=45), end=NOW, step=timedelta(days=1),
           rules=RULES)  # fmt: skip
    old, recent = db.scalars(select(EarlyWarning).order_by(EarlyWarning.id)).all()
    assert old.created_at < NOW - timedelta(days=30) < recent.created_at
    counts = run_followups(database=bound, now=NOW, rules=RULES)
    assert counts == {"reminded": 1, "climbed": 0, "lapsed": 1}
    reminded = {r.payload["warning_id"] for r in _outbox(db, "warning_reminder")}
    assert reminded == {recent.id}
    db.refresh(old)
    assert old.remind_at is None and old.climb_at is None and old.level == "town"
    assert [h["step"] for h in old.history] == ["lapsed"]
    # Nothing is left due on the old warning: later runs leave it alone.
    assert run_followups(database=bound, now=NOW + timedelta(hours=1), rules=RULES)["lapsed"] == 0


def test_the_followups_job_runs_after_the_detectors_and_before_the_sender() -> None:
    names = list(jobs())
    assert names.index("warnings") < names.index("warning_followups") < names.index("outbox")
