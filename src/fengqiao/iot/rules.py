"""Pure pieces of alarm handling: reading a payload, the rules that map readings to classes, and
the flood gate. No database here, so each is tested on its own.

A payload is a JSON object:

    {"readings": {"cod": 52.3, "ph": 7.1}, "at": "2026-11-29T20:00:00+08:00",
     "alarm": false, "recovered": false, "id": "msg-1"}

`readings` maps a reading's name to a number or a boolean; `alarm: true` says the device itself
raised an alarm (filed under the device's own class when no rule fires); `recovered: true` (or
the topic `.../recovery`) says the condition is over; `at` and `id` are kept as sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

RULES_FILE = Path(__file__).with_name("rules.json")

# op → (what it means, in English, in Chinese); `outside` needs threshold and threshold_high.
OPS: dict[str, tuple[str, str]] = {
    ">": ("above", "高于"),
    ">=": ("at or above", "不低于"),
    "<": ("below", "低于"),
    "<=": ("at or below", "不高于"),
    "outside": ("outside the range", "超出范围"),
    "true": ("is true", "为真"),
}
# The readings of the rules' device types as a user reads them (a reading a device sends under
# another name is shown by its own name).
READING_ZH: dict[str, str] = {
    "cod": "化学需氧量", "ammonia_n": "氨氮", "tp": "总磷", "do": "溶解氧", "ph": "pH",
    "smoke": "烟雾", "temperature": "温度", "fire": "火警", "gas_lel": "可燃气体浓度",
    "open": "井盖开启", "tilt_deg": "倾斜角度", "battery": "电量", "signal": "信号强度",
}  # fmt: skip
NUMERIC_OPS = frozenset({">", ">=", "<", "<=", "outside"})
MAX_READINGS = 64

# Every reason a message is refused: (English, Chinese) titles. The quarantine stores the code
# and a detail sentence in both languages.
REASONS: dict[str, tuple[str, str]] = {
    "bad_topic": ("topic not of the form {prefix}/{device}/alarm|recovery", "主题格式不正确"),
    "too_large": ("payload too large", "消息体过大"),
    "not_json": ("payload is not JSON", "消息体不是合法的 JSON"),
    "not_object": ("payload is not a JSON object", "消息体不是 JSON 对象"),
    "bad_field": ("a field has the wrong type", "字段类型错误"),
    "bad_reading": ("a reading has the wrong type", "读数类型错误"),
    "no_readings": ("neither readings nor an alarm or recovery flag", "消息中没有读数或告警标志"),
    "unknown_device": ("no registered device with this code", "设备未登记"),
    "bad_key": ("missing or wrong device key", "设备密钥缺失或错误"),
    "retired_device": ("the device is retired", "设备已停用"),
    "no_class": ("an alarm no rule maps and the device names no class", "告警无法对应事件分类"),
    "flood": ("too many messages from one device", "设备消息过于频繁"),
    "filing_refused": ("the event center refused the filing", "事件中心拒绝立案"),
    "error": ("an unexpected error while handling it", "处理时发生意外错误"),
}


@dataclass(frozen=True)
class Refusal:
    """Why a message is refused: a reason code and a detail sentence in English and Chinese."""

    reason: str
    detail: str
    detail_zh: str


@dataclass(frozen=True)
class Alarm:
    """A payload that parsed."""

    readings: dict[str, float | bool]
    alarm: bool = False
    recovered: bool = False
    at: str | None = None
    message_id: str | None = None


def parse_payload(raw: bytes, *, max_bytes: int, recovery: bool = False) -> Alarm | Refusal:
    """The alarm in `raw`, or why it is refused (size, JSON, shape, field types). `recovery`:
    it came on a recovery topic, so an empty object `{}` is enough."""
    if len(raw) > max_bytes:
        return Refusal(
            "too_large",
            f"{len(raw)} bytes; at most {max_bytes}",
            f"{len(raw)} 字节，上限 {max_bytes}",
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Refusal("not_json", f"not valid JSON: {exc}"[:300], "消息体不是合法的 JSON")
    if not isinstance(body, dict):
        return Refusal(
            "not_object",
            f"expected a JSON object, got {type(body).__name__}",
            "消息体应为 JSON 对象",
        )
    for name in ("alarm", "recovered"):
        if name in body and not isinstance(body[name], bool):
            return Refusal(
                "bad_field", f"{name} must be true or false", f"{name} 应为 true 或 false"
            )
    for name in ("at", "id"):
        if name in body and not isinstance(body[name], str | None):
            return Refusal("bad_field", f"{name} must be a string", f"{name} 应为字符串")
    if isinstance(body.get("id"), str) and not 0 < len(body["id"]) <= 64:
        return Refusal("bad_field", "id must be 1 to 64 characters", "id 应为 1 到 64 个字符")
    if isinstance(body.get("at"), str):
        try:
            measured = datetime.fromisoformat(body["at"])
        except ValueError:
            return Refusal("bad_field", "at must be an ISO 8601 time", "at 应为 ISO 8601 时间")
        # A bare local time is ambiguous (the device's clock zone is unknown): refuse, not guess.
        if measured.utcoffset() is None:
            return Refusal(
                "bad_field",
                "at needs a UTC offset (e.g. 2026-11-29T20:00:00+08:00 or …Z)",
                "at 须带时区偏移（如 2026-11-29T20:00:00+08:00 或以 Z 结尾）",
            )
    raw_readings = body.get("readings", {})
    if not isinstance(raw_readings, dict):
        return Refusal(
            "bad_field", "readings must be an object of name → value", "readings 应为对象"
        )
    if len(raw_readings) > MAX_READINGS:
        return Refusal(
            "bad_field", f"at most {MAX_READINGS} readings", f"读数最多 {MAX_READINGS} 项"
        )
    readings: dict[str, float | bool] = {}
    for name, value in raw_readings.items():
        if len(name) > 32:
            return Refusal("bad_reading", "reading names are at most 32 characters", "读数名称过长")
        if isinstance(value, bool):
            readings[name] = value
        elif isinstance(value, int | float) and math.isfinite(value):
            readings[name] = float(value)
        else:
            return Refusal(
                "bad_reading",
                f"reading {name}: expected a number or true/false, got {_shown(value)}",
                f"读数 {name} 应为数字或 true/false，收到 {_shown(value)}",
            )
    alarm, recovered = bool(body.get("alarm", False)), bool(body.get("recovered", False))
    if not readings and not alarm and not recovered and not recovery:
        return Refusal(
            "no_readings",
            "send readings, alarm: true or recovered: true",
            "请发送 readings 读数，或 alarm / recovered 标志",
        )
    return Alarm(
        readings=readings,
        alarm=alarm,
        recovered=recovered or recovery,
        at=body.get("at"),
        message_id=body.get("id"),
    )


def reading_zh(name: str) -> str:
    """A reading's Chinese name (its own name when the table has none)."""
    return READING_ZH.get(name, name)


def readings_zh(readings: Mapping[str, float | bool]) -> str:
    """Readings as a user reads them: `烟雾 是、温度 30`."""
    return "、".join(
        f"{reading_zh(k)} {('是' if v else '否') if isinstance(v, bool) else f'{v:g}'}"
        for k, v in readings.items()
    )


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:40]


@dataclass(frozen=True)
class Rule:
    """One row of the rules table."""

    id: int
    position: int
    device_type: str
    reading: str
    op: str
    threshold: float | None
    threshold_high: float | None
    category_code: str
    auto_close: bool
    name_zh: str

    def fires(self, value: float | bool) -> bool:
        """True when `value` (of the right type, see `type_error`) breaks this rule."""
        if self.op == "true":
            return value is True
        number = float(value)
        low = self.threshold if self.threshold is not None else -math.inf
        if self.op == ">":
            return number > low
        if self.op == ">=":
            return number >= low
        if self.op == "<":
            return number < low
        if self.op == "<=":
            return number <= low
        high = self.threshold_high if self.threshold_high is not None else math.inf
        return number < low or number > high  # outside

    def type_error(self, value: float | bool) -> Refusal | None:
        """A refusal when the reading's type does not fit this rule's comparison."""
        wants_bool = self.op == "true"
        if isinstance(value, bool) != wants_bool:
            want, want_zh = ("true/false", "true/false") if wants_bool else ("a number", "数字")
            return Refusal(
                "bad_reading",
                f"reading {self.reading} of a {self.device_type}: expected {want}, "
                f"got {_shown(value)}",
                f"{self.device_type} 的读数 {self.reading} 应为{want_zh}，收到 {_shown(value)}",
            )
        return None

    def describe(self) -> str:
        """The condition in words, e.g. `cod > 40`."""
        if self.op == "true":
            return f"{self.reading} = true"
        if self.op == "outside":
            return f"{self.reading} outside [{self.threshold:g}, {self.threshold_high:g}]"
        return f"{self.reading} {self.op} {self.threshold:g}"

    def describe_zh(self) -> str:
        """The condition as a user reads it, e.g. `化学需氧量高于 40`, `烟雾为是`."""
        name = reading_zh(self.reading)
        if self.op == "true":
            return f"{name}为是"
        if self.op == "outside":
            return f"{name}超出 {self.threshold:g}～{self.threshold_high:g}"
        return f"{name}{OPS[self.op][1]} {self.threshold:g}"

    def as_payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "condition": self.describe(),
            "category": self.category_code,
            "name_zh": self.name_zh,
            "auto_close": self.auto_close,
        }


@dataclass(frozen=True)
class Verdict:
    """What the rules say of an alarm: the rule that fired (None: the device's own alarm or a
    normal reading) and the class; or a refusal."""

    rule: Rule | None = None
    category_code: str | None = None
    refusal: Refusal | None = None


def evaluate(
    rules: Sequence[Rule], *, device_type: str, alarm: Alarm, device_category: str | None
) -> Verdict:
    """The first rule (by position) of this device type that fires; readings of a type a rule
    cannot compare refuse the message. No rule: the device's own class for `alarm: true`, else a
    normal reading (Verdict with no class)."""
    fired: Rule | None = None
    for rule in rules:
        if rule.device_type != device_type or rule.reading not in alarm.readings:
            continue
        value = alarm.readings[rule.reading]
        refusal = rule.type_error(value)
        if refusal is not None:
            return Verdict(refusal=refusal)
        if fired is None and rule.fires(value):
            fired = rule
    if fired is not None:
        return Verdict(rule=fired, category_code=fired.category_code)
    if alarm.alarm:
        if device_category is None:
            return Verdict(
                refusal=Refusal(
                    "no_class",
                    f"alarm: true but no rule of {device_type} fired and the device names no class",
                    f"设备上报告警，但没有适用于 {device_type} 的规则，设备也未指定事件分类",
                )
            )
        return Verdict(category_code=device_category)
    return Verdict()


def check_rule(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(field, reason, reason zh) of what is wrong with one rule's data."""
    errors: list[tuple[str, str, str]] = []
    op = data.get("op")
    if op not in OPS:
        errors.append(
            ("op", f"op must be one of {', '.join(OPS)}", f"op 应为 {'、'.join(OPS)} 之一")
        )
    elif op in NUMERIC_OPS and data.get("threshold") is None:
        errors.append(("threshold", f"op {op} needs a threshold", f"op {op} 需要阈值"))
    elif op == "outside":
        low, high = data.get("threshold"), data.get("threshold_high")
        if high is None or low is None or high < low:
            errors.append(
                (
                    "threshold_high",
                    "outside needs threshold ≤ threshold_high (the normal range)",
                    "outside 需要 threshold ≤ threshold_high（正常范围）",
                )
            )
    return errors


def shipped_rules(path: Path = RULES_FILE) -> list[dict[str, Any]]:
    """The rules as shipped in rules.json (what `fengqiao iot rules --import` loads)."""
    data = orjson.loads(path.read_bytes())
    rules: list[dict[str, Any]] = data["rules"]
    return rules


@dataclass
class FloodGate:
    """Per-device token buckets: `rate` messages a second on average, bursts up to `burst`.

    A message that finds its device's bucket empty is refused as `flood`; the bucket refills
    with time, so a device that calms down is heard again by itself.
    """

    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key → (tokens, at)

    def allow(self, key: str, at: float) -> bool:
        tokens, last = self._buckets.get(key, (self.burst, at))
        tokens = min(self.burst, tokens + max(0.0, at - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, at)
            return False
        self._buckets[key] = (tokens - 1.0, at)
        if len(self._buckets) > 200_000:  # forget full buckets of quiet devices
            self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.burst}
        return True


def topic_parts(topic: str, prefix: str) -> tuple[str, str] | None:
    """(device code, kind) of `{prefix}/{code}/alarm|recovery`, or None."""
    head = prefix.rstrip("/") + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) != 2 or not parts[0] or parts[1] not in ("alarm", "recovery"):
        return None
    return parts[0], parts[1]


def rules_table(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """The rules as rows for docs and the CLI."""
    return [
        {"position": r.position, "device_type": r.device_type, "condition": r.describe(),
         "category": r.category_code, "name_zh": r.name_zh, "auto_close": r.auto_close}
        for r in rules
    ]  # fmt: skip
