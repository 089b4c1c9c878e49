"""The four rules as pure functions: each fires on a constructed case and not on its near miss."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from fengqiao.geo.distance import haversine_m
from fengqiao.warnings import detectors
from fengqiao.warnings.detectors import Seen, UnitLoad

from .conftest import moved

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
LAT, LNG = 30.09, 120.50


def test_poisson_tail_matches_the_direct_sum() -> None:
    for observed, expected in [(0, 1.0), (1, 0.5), (5, 1.2), (12, 3.0), (30, 2.0)]:
        direct = 1 - sum(
            math.exp(-expected) * expected**k / math.factorial(k) for k in range(observed)
        )
        assert detectors.poisson_tail(observed, expected) == pytest.approx(direct, abs=1e-12)
    # Far below the mean the tail is all but certain, not lost to underflow.
    assert detectors.poisson_tail(100, 8961.0) == pytest.approx(1.0)
    # Far in the tail, where 1 - CDF would be lost to rounding, the upward sum stays exact.
    assert detectors.poisson_tail(40, 1.0) == pytest.approx(
        math.exp(-1) / math.factorial(40), rel=1e-3
    )


def _spikes(
    observed: int, before: int, *, rest_now: int = 100, rest_before: int = 5600, p: float = 1e-6
) -> list[detectors.Finding]:
    """Village 7's 0901 count in the window and in the eight weeks before it, beside the rest of
    the district (village 8) in the same spans."""
    return detectors.spikes(
        current=Counter({(7, "0901"): observed, (7, "09"): observed, (8, "1004"): rest_now}),
        baseline=Counter({(7, "0901"): before, (7, "09"): before, (8, "1004"): rest_before}),
        window_start=NOW - timedelta(days=1), window_end=NOW, towns={7: 3}, p=p, minimum=5,
    )  # fmt: skip


def test_a_spike_fires_against_its_own_baseline() -> None:
    found = _spikes(8, 5)
    # The minor class fires; its major, driven by the same events, is not reported twice.
    assert [(f.kind, f.village_id, f.town_id, f.category_code) for f in found] == [
        ("spike", 7, 3, "0901")
    ]
    spike = found[0]
    # Six (five and the prior one) in eight weeks, while the rest of the district files 5,600
    # then and 100 now: 6 x 100 / 5,600 expected today.
    assert spike.observed == 8 and spike.expected == pytest.approx(6 * 100 / 5600, abs=1e-3)
    assert spike.p_value is not None and spike.p_value < 1e-6
    assert spike.score == pytest.approx(-math.log10(spike.p_value), abs=0.01)


def test_no_spike_on_the_near_misses() -> None:
    # Expected 1.0: ten events fire (p ~ 1e-7), nine do not (p ~ 1.1e-6).
    assert len(_spikes(10, 55)) == 1
    assert _spikes(9, 55) == []
    # The same count is ordinary where the class is common.
    assert _spikes(10, 400) == []
    # Too few events, however rare the class.
    assert _spikes(4, 0) == []
    # A busy day everywhere (twice the district's usual volume) is no spike in one village.
    assert _spikes(10, 55, rest_now=200) == []
    # Without any history in the rest of the district there is nothing to judge against.
    assert _spikes(10, 0, rest_before=0) == []


def test_a_spike_is_scaled_by_the_rest_of_its_own_district() -> None:
    # Village 7 (district 1) files 10 of 0901 today against 55 in eight weeks; the rest of its
    # district (village 8) files as usual. District 2 (village 9), in the same database, is
    # twice as busy as usual today: that does not make village 7's day ordinary.
    current = Counter({(7, "0901"): 10, (7, "09"): 10, (8, "1004"): 100, (9, "1004"): 5700})
    baseline = Counter({(7, "0901"): 55, (7, "09"): 55, (8, "1004"): 5600, (9, "1004"): 2800})
    start = NOW - timedelta(days=1)
    found = detectors.spikes(
        current=current, baseline=baseline, window_start=start, window_end=NOW, towns={7: 3},
        p=1e-6, minimum=5, districts={7: 1, 8: 1, 9: 2},
    )  # fmt: skip
    assert [(f.village_id, f.category_code) for f in found] == [(7, "0901")]
    assert found[0].expected == pytest.approx(56 * 100 / 5600, abs=1e-3)
    # Taken as one district, the other district's busy day hides it.
    merged = detectors.spikes(
        current=current, baseline=baseline, window_start=start, window_end=NOW, towns={7: 3},
        p=1e-6, minimum=5,
    )  # fmt: skip
    assert [f for f in merged if f.village_id == 7] == []


def test_a_major_class_spike_is_reported_when_no_minor_one_is() -> None:
    current = Counter({(7, "0901"): 3, (7, "0902"): 3, (7, "09"): 6, (8, "1004"): 100})
    baseline = Counter({(8, "1004"): 5600})
    found = detectors.spikes(
        current=current, baseline=baseline, window_start=NOW - timedelta(days=1), window_end=NOW,
        towns={7: 3}, p=1e-6, minimum=5,
    )  # fmt: skip
    assert [f.category_code for f in found] == ["09"]


def _seen(i: int, hours_ago: float, *, village: int = 7, code: str = "0103", metres: float = 0.0,
          bearing: float = 0.0) -> Seen:  # fmt: skip
    lat, lng = moved(LAT, LNG, metres, bearing)
    return Seen(i, NOW - timedelta(hours=hours_ago), code, village, 3, lat, lng)


def test_a_stability_cluster_needs_three_in_one_village_within_seven_days() -> None:
    since = NOW - timedelta(days=1)
    events = [_seen(1, 6 * 24 + 20), _seen(2, 50), _seen(3, 2)]
    (found,) = detectors.clusters(events, since=since, days=7, minimum=3)
    assert (found.kind, found.village_id, found.observed, found.event_ids) == (
        "cluster",
        7,
        3,
        (1, 2, 3),
    )
    assert found.window_start == events[0].created_at and found.window_end == events[2].created_at
    # Near misses: the first one eight days back; or the third in another village; or only two.
    assert detectors.clusters([_seen(1, 8 * 24), *events[1:]], since=since, days=7, minimum=3) == []
    assert (
        detectors.clusters([*events[:2], _seen(3, 2, village=8)], since=since, days=7, minimum=3)
        == []
    )
    assert detectors.clusters(events[1:], since=since, days=7, minimum=3) == []


def test_a_growing_cluster_is_one_finding() -> None:
    events = [_seen(i, h) for i, h in enumerate([100, 90, 80, 30, 10], start=1)]
    (found,) = detectors.clusters(events, since=NOW - timedelta(days=6), days=7, minimum=3)
    assert found.observed == 5 and found.event_ids == (1, 2, 3, 4, 5)


def test_repeats_at_one_place() -> None:
    since = NOW - timedelta(days=1)
    events = [
        _seen(1, 20 * 24, code="0703", metres=0),
        _seen(2, 9 * 24, code="0703", metres=30, bearing=90),
        _seen(3, 3, code="0703", metres=20, bearing=0),
    ]
    (found,) = detectors.repeats(events, since=since, days=30, radius_m=50, minimum=3)
    assert (found.kind, found.category_code, found.observed) == ("repeat", "0703", 3)
    assert found.event_ids == (1, 2, 3)
    assert found.lat is not None and found.lng is not None
    assert all(haversine_m(found.lat, found.lng, e.lat, e.lng) <= 50 for e in events)


@pytest.mark.parametrize(
    "near_miss",
    [
        _seen(1, 20 * 24, code="0703", metres=60, bearing=180),  # 60 m from the last one
        _seen(1, 31 * 24, code="0703", metres=0),  # more than 30 days before it
        _seen(1, 20 * 24, code="0701", metres=0),  # another class
    ],
)
def test_no_repeat_on_a_near_miss(near_miss: Seen) -> None:
    events = [
        near_miss,
        _seen(2, 9 * 24, code="0703", metres=30, bearing=90),
        _seen(3, 3, code="0703", metres=0),
    ]
    assert (
        detectors.repeats(events, since=NOW - timedelta(days=1), days=30, radius_m=50, minimum=3)
        == []
    )


def test_a_repeat_around_a_middle_event() -> None:
    # The first and last lie 80 m apart, but both within 40 m of the middle one.
    events = [
        _seen(1, 20 * 24, code="0703", metres=40, bearing=180),
        _seen(2, 9 * 24, code="0703", metres=0),
        _seen(3, 3, code="0703", metres=40, bearing=0),
    ]
    (found,) = detectors.repeats(
        events, since=NOW - timedelta(days=1), days=30, radius_m=50, minimum=3
    )
    assert found.event_ids == (1, 2, 3)


def test_repeats_found_before_since_are_left_to_the_run_that_saw_them() -> None:
    events = [_seen(i, 48 + i, code="0703", metres=5 * i) for i in range(3)]
    assert (
        detectors.repeats(events, since=NOW - timedelta(days=1), days=30, radius_m=50, minimum=3)
        == []
    )


def test_backlog_at_the_threshold() -> None:
    oldest = NOW - timedelta(days=4)
    loads = [UnitLoad(11, 3, 3, 40, 5, oldest), UnitLoad(12, 3, 3, 40, 4, oldest)]
    (found,) = detectors.backlogs(loads, now=NOW, minimum=5)
    assert (found.kind, found.unit_id, found.observed, found.window_start) == (
        "backlog",
        11,
        5,
        oldest,
    )
