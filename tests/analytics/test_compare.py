"""同比/环比 that do not mislead (issue 17, item 5): an empty or tiny base says 无可比数据, not
"+38,980 %"; a rate chart's headline is a rate, changing in percentage points."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.compare import NO_BASE, count_change, rate_change
from fengqiao.analytics.service import comparison_ranges
from fengqiao.clock import LOCAL_TZ
from fengqiao.events.models import Event
from tests.assessment.conftest import app_state, local_day, workload

__all__ = ["workload"]
Auth = Callable[[str], dict[str, str]]
RANGE = (date(2027, 1, 6), date(2027, 1, 11))  # 环比: 31 December to 5 January


def test_a_tiny_or_empty_base_has_no_percentage() -> None:
    # One event last year and 390 now would read "+38,900.0%": below the smallest base it is
    # 无可比数据, and says why.
    tiny = count_change(390, 1, min_base=5)
    assert tiny.change is None and tiny.words() == NO_BASE
    assert tiny.why_not("去年同期") == "去年同期仅1件，不足5件"
    empty = count_change(12, 0, min_base=5)
    assert empty.words() == NO_BASE and empty.why_not("上期") == "上期无数据"
    enough = count_change(15, 12, min_base=5)
    assert enough.change == 25.0 and enough.words() == "+25.0%"
    assert count_change(9, 12, min_base=5).words() == "-25.0%"
    assert count_change(12, 12, min_base=5).words() == "持平"


def test_a_rate_changes_in_percentage_points() -> None:
    # 45 of 50 on time (90.0 %) against 40 of 50 (80.0 %): +10 points, not +12.5 %.
    change = rate_change(45, 50, 40, 50, min_base=5)
    assert (change.current, change.base, change.change) == (90.0, 80.0, 10.0)
    assert change.words() == "+10.0个百分点"
    # Three closings the day before carry no rate worth comparing with.
    assert rate_change(45, 50, 3, 3, min_base=5).words() == NO_BASE
    assert rate_change(0, 0, 40, 50, min_base=5).why_not("上期") == "本期无可计算的比率"


def _chart(api: TestClient, auth: Auth, name: str) -> dict[str, Any]:
    response = api.get(
        f"/api/v1/analytics/charts/{name}",
        params={"from": RANGE[0].isoformat(), "to": RANGE[1].isoformat()},
        headers=auth("demo_district_leader"),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _filed(events: list[Event], low: date, high: date) -> list[Event]:
    return [e for e in events if low <= local_day(e.created_at) <= high]


def _closed(events: list[Event], low: date, high: date) -> list[Event]:
    return [e for e in events if e.status == "closed" and low <= local_day(e.closed_at) <= high]


def _on_time(events: list[Event]) -> int:
    return sum(e.due_at is None or (e.closed_at is not None and e.closed_at <= e.due_at)
               for e in events)  # fmt: skip


def test_chart_headlines_compare_only_with_a_base_large_enough(
    workload: list[Event], api: TestClient, auth: Auth, db: Session
) -> None:
    state = app_state(api)
    state.clock.set(datetime(2027, 1, 25, 9, 0, tzinfo=LOCAL_TZ))
    events = list(db.scalars(select(Event)))
    # The same range with the smallest base at 1 (every non-empty base compares) and far above
    # any base (nothing compares).
    for min_base in (1, 10_000):
        state.settings = state.settings.model_copy(update={"analytics_min_base": min_base})
        _headlines(api, auth, events, min_base)
    # A base period that began before the first event holds only part of its days: 28 to 30
    # December against the workload that began on the 29th is no base, however small the
    # smallest base.
    response = api.get(
        "/api/v1/analytics/charts/daily_new_closed",
        params={"from": "2026-12-31", "to": "2027-01-02"},
        headers=auth("demo_district_leader"),
    )
    mom = response.json()["headlines"][0]["mom"]
    assert mom["base_size"] > 0 and mom["text"] == "环比 无可比数据"
    assert mom["why_not"] == "上期数据不完整，2026-12-29起才有数据"


def _headlines(api: TestClient, auth: Auth, events: list[Event], min_base: int) -> None:
    ranges = comparison_ranges(*RANGE)

    # A count chart leads with its count: 本期新增 N 件 · 同比 … · 环比 ….
    counts = _chart(api, auth, "daily_new_closed")["headlines"]
    assert len(counts) == 1
    head = counts[0]
    now = len(_filed(events, *RANGE))
    assert head["kind"] == "count" and head["value"] == now > 0
    assert head["text"] == f"本期新增 {now:,} 件"
    # Nothing was filed a year before: 同比 has no base whatever the smallest base is.
    assert head["yoy"]["text"] == "同比 无可比数据" and head["yoy"]["comparable"] is False
    assert head["yoy"]["why_not"] == "去年同期数据不完整，2026-12-29起才有数据"
    base = len(_filed(events, *ranges["mom"]))
    assert base > 0
    if base >= min_base:
        assert head["mom"]["change"] == round((now - base) / base * 100, 1)
        assert head["mom"]["text"].startswith("环比 ") and NO_BASE not in head["mom"]["text"]
    else:
        assert head["mom"]["change"] is None and head["mom"]["text"] == "环比 无可比数据"
        assert head["mom"]["why_not"] == f"上期仅{base}件，不足{min_base}件"

    # A rate chart leads with the rate, and its change is in percentage points.
    rate_head = _chart(api, auth, "on_time_trend")["headlines"][0]
    done = _closed(events, *RANGE)
    base_done = _closed(events, *ranges["mom"])
    assert done and base_done
    rate = round(_on_time(done) / len(done) * 100, 1)
    assert rate_head["kind"] == "rate" and rate_head["label"] == "按期结案率"
    assert rate_head["value"] == rate and rate_head["text"] == f"按期结案率 {rate:.1f}%"
    assert rate_head["mom"]["unit"] == "个百分点"
    if len(base_done) >= min_base:
        base_rate = round(_on_time(base_done) / len(base_done) * 100, 1)
        assert rate_head["mom"]["change"] == round(rate - base_rate, 1)
        assert rate_head["mom"]["text"].endswith("个百分点") or rate_head["mom"]["text"].endswith(
            "持平"
        )
    else:
        assert rate_head["mom"]["text"] == "环比 无可比数据"
    # 回退率 and 返工率 are rates too.
    rework = _chart(api, auth, "return_rework")["headlines"]
    assert [h["label"] for h in rework] == ["回退率", "返工率"]
    assert all(h["kind"] == "rate" and h["text"].endswith(("%", "—")) for h in rework)


def test_the_class_changes_csv_says_no_comparable_data(
    workload: list[Event], api: TestClient, auth: Auth
) -> None:
    app_state(api).clock.set(datetime(2027, 1, 25, 9, 0, tzinfo=LOCAL_TZ))
    response = api.get(
        "/api/v1/analytics/charts/class_changes",
        params={"from": RANGE[0].isoformat(), "to": RANGE[1].isoformat(), "format": "csv"},
        headers=auth("demo_district_leader"),
    )
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "大类,本期,去年同期,同比（%）,上期,环比（%）"
    # No class was filed a year before: every 同比 cell says so instead of a percentage.
    assert len(lines) > 1 and all(line.split(",")[3] == NO_BASE for line in lines[1:])
