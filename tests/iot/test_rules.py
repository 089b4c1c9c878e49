"""The pure parts: payload parsing and its refusals, the rules, the flood gate, topic names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fengqiao.iot.rules import (
    OPS,
    READING_ZH,
    REASONS,
    Alarm,
    FloodGate,
    Refusal,
    Rule,
    check_rule,
    evaluate,
    parse_payload,
    readings_zh,
    shipped_rules,
    topic_parts,
)

CATEGORIES = Path(__file__).resolve().parents[2] / "src/fengqiao/taxonomy/categories.json"


def _rules() -> list[Rule]:
    return [
        Rule(id=i, position=r["position"], device_type=r["device_type"], reading=r["reading"],
             op=r["op"], threshold=r.get("threshold"), threshold_high=r.get("threshold_high"),
             category_code=r["category"], auto_close=r["auto_close"], name_zh=r["name_zh"])
        for i, r in enumerate(shipped_rules(), start=1)
    ]  # fmt: skip


def _parse(body: object, **kwargs: object) -> Alarm | Refusal:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_payload(raw, max_bytes=4096, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json at all", "not_json"),
        (b"\xff\xfe", "not_json"),
        ([1, 2], "not_object"),
        ("cod", "not_object"),
        ({"readings": [1, 2]}, "bad_field"),
        ({"readings": {"cod": "high"}}, "bad_reading"),
        ({"readings": {"cod": None}}, "bad_reading"),
        ({"readings": {"cod": [40]}}, "bad_reading"),
        ({"readings": {"x" * 40: 1}}, "bad_reading"),
        ({"alarm": "yes"}, "bad_field"),
        ({"recovered": 1}, "bad_field"),
        ({"readings": {"cod": 1}, "at": "yesterday"}, "bad_field"),
        ({"readings": {"cod": 1}, "at": "2026-11-29T20:00:00"}, "bad_field"),  # no offset
        ({"readings": {"cod": 1}, "at": 5}, "bad_field"),
        ({}, "no_readings"),
        ({"readings": {}}, "no_readings"),
    ],
)
def test_bad_payloads_are_refused_with_a_reason(body: object, reason: str) -> None:
    result = _parse(body)
    assert isinstance(result, Refusal)
    assert result.reason == reason and reason in REASONS
    assert result.detail and result.detail_zh


def test_size_nan_and_good_payloads() -> None:
    big = parse_payload(b"{" + b" " * 5000 + b"}", max_bytes=4096)
    assert isinstance(big, Refusal) and big.reason == "too_large"
    nan = parse_payload(b'{"readings": {"cod": NaN}}', max_bytes=4096)
    assert isinstance(nan, Refusal) and nan.reason == "not_json"  # JSON has no NaN
    good = _parse({"readings": {"cod": 41, "smoke": True}, "at": "2026-11-29T20:00:00+08:00",
                   "id": "m1"})  # fmt: skip
    assert good == Alarm({"cod": 41.0, "smoke": True}, at="2026-11-29T20:00:00+08:00",
                         message_id="m1")  # fmt: skip
    # On a recovery topic an empty object is a recovery; elsewhere it says nothing.
    assert _parse({}, recovery=True) == Alarm({}, recovered=True)
    assert _parse({"alarm": True}) == Alarm({}, alarm=True)


@pytest.mark.parametrize(
    ("device_type", "readings", "category", "name"),
    [
        ("water_quality", {"cod": 40.1}, "0901", "化学需氧量超标"),
        ("water_quality", {"cod": 40}, None, None),  # at the limit is still class V
        ("water_quality", {"ph": 5.9}, "0901", "pH 超出 6-9"),
        ("water_quality", {"ph": 9.2}, "0901", "pH 超出 6-9"),
        ("water_quality", {"ph": 7.0, "do": 1.5}, "0901", "溶解氧过低"),
        ("water_quality", {"ph": 7.0, "do": 6.0, "cod": 12}, None, None),
        ("smoke_detector", {"smoke": True}, "0406", "烟感报警"),
        ("smoke_detector", {"smoke": False}, None, None),
        ("smoke_detector", {"temperature": 60}, "0406", "温感报警"),
        ("fire_alarm", {"fire": True}, "0406", "火灾报警"),
        ("gas_detector", {"gas_lel": 12}, "0404", "可燃气体浓度报警"),
        ("gas_detector", {"gas_lel": 3}, None, None),
        ("manhole_cover", {"open": True}, "1003", "井盖开启"),
        ("manhole_cover", {"tilt_deg": 20}, "1003", "井盖倾斜"),
        ("manhole_cover", {"cod": 99}, None, None),  # another type's reading means nothing
    ],
)
def test_shipped_rules_map_readings_to_classes(
    device_type: str, readings: dict[str, float | bool], category: str | None, name: str | None
) -> None:
    verdict = evaluate(_rules(), device_type=device_type, alarm=Alarm(readings),
                       device_category=None)  # fmt: skip
    assert verdict.refusal is None
    assert verdict.category_code == category
    assert (verdict.rule.name_zh if verdict.rule else None) == name


def test_first_rule_by_position_wins_and_wrong_types_refuse() -> None:
    both = evaluate(_rules(), device_type="water_quality", alarm=Alarm({"cod": 50, "ph": 3}),
                    device_category=None)  # fmt: skip
    assert both.rule is not None and both.rule.reading == "cod"
    wrong = evaluate(_rules(), device_type="smoke_detector", alarm=Alarm({"smoke": 1.0}),
                     device_category=None)  # fmt: skip
    assert wrong.refusal is not None and wrong.refusal.reason == "bad_reading"
    assert "smoke" in wrong.refusal.detail and "true/false" in wrong.refusal.detail
    number = evaluate(_rules(), device_type="water_quality", alarm=Alarm({"cod": True}),
                      device_category=None)  # fmt: skip
    assert number.refusal is not None and "a number" in number.refusal.detail


def test_an_alarm_flag_falls_back_to_the_devices_class() -> None:
    own = evaluate(_rules(), device_type="pump", alarm=Alarm({}, alarm=True),
                   device_category="1003")  # fmt: skip
    assert own.category_code == "1003" and own.rule is None
    none = evaluate(_rules(), device_type="pump", alarm=Alarm({}, alarm=True),
                    device_category=None)  # fmt: skip
    assert none.refusal is not None and none.refusal.reason == "no_class"
    # A rule that fires beats the device's own class.
    fired = evaluate(_rules(), device_type="water_quality",
                     alarm=Alarm({"cod": 99}, alarm=True), device_category="1003")  # fmt: skip
    assert fired.category_code == "0901"


def test_shipped_rules_are_valid_and_name_existing_classes() -> None:
    codes = {c["code"] for c in json.loads(CATEGORIES.read_text(encoding="utf-8"))["categories"]}
    for rule in shipped_rules():
        assert check_rule(rule) == [], rule
        assert rule["category"] in codes
        assert rule["op"] in OPS
    assert check_rule({"op": ">"})[0][0] == "threshold"
    assert (
        check_rule({"op": "outside", "threshold": 9, "threshold_high": 6})[0][0] == "threshold_high"
    )
    assert check_rule({"op": "~"})[0][0] == "op"


def test_every_shipped_reading_and_condition_is_said_in_chinese() -> None:
    """What a user reads of an alarm (the event's description, 最近读数) names readings in
    Chinese: every reading a shipped rule watches has a name, and conditions and values read as
    words (是/否, 高于), not `smoke = true`."""
    rules = {r.reading: r for r in _rules()}
    assert set(rules) <= set(READING_ZH)
    assert rules["smoke"].describe_zh() == "烟雾为是"
    assert rules["cod"].describe_zh() == "化学需氧量高于 40"
    assert rules["ph"].describe_zh() == "pH超出 6～9"
    assert rules["temperature"].describe_zh() == "温度不低于 57"
    assert (
        readings_zh({"smoke": True, "temperature": 30.0, "do": 1.5})
        == "烟雾 是、温度 30、溶解氧 1.5"
    )
    assert readings_zh({"open": False, "vendor_x": 2}) == "井盖开启 否、vendor_x 2"


def test_flood_gate_refuses_beyond_the_burst_and_recovers_with_time() -> None:
    gate = FloodGate(rate=2.0, burst=3.0)
    assert [gate.allow("a", 100.0) for _ in range(4)] == [True, True, True, False]
    assert gate.allow("b", 100.0)  # other devices are not affected
    assert not gate.allow("a", 100.2)
    assert gate.allow("a", 100.6)  # 0.6 s at 2/s refilled one
    assert not gate.allow("a", 100.6)


def test_topics() -> None:
    assert topic_parts("fengqiao/devices/WQ-1/alarm", "fengqiao/devices") == ("WQ-1", "alarm")
    assert topic_parts("fengqiao/devices/WQ-1/recovery", "fengqiao/devices/") == (
        "WQ-1",
        "recovery",
    )
    for bad in ("fengqiao/devices/WQ-1/status", "fengqiao/devices/WQ-1", "other/WQ-1/alarm",
                "fengqiao/devices//alarm", "fengqiao/devices/a/b/alarm"):  # fmt: skip
        assert topic_parts(bad, "fengqiao/devices") is None


def test_the_guide_lists_every_shipped_rule_and_every_reason() -> None:
    guide = (CATEGORIES.parents[3] / "docs" / "iot.md").read_text(encoding="utf-8")
    for rule in _rules():
        row = f"| {rule.position} | `{rule.device_type}` | `{rule.describe()}` | {rule.category_code} "
        assert row in guide, row
        assert rule.name_zh in guide
    for reason in REASONS:
        assert f"| `{reason}` |" in guide, reason
