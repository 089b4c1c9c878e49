"""What a warning says, in plain Chinese: the headline people read and are pushed, and a details
line of statistics for analysts (never the headline). Pure functions of a finding and names."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from fengqiao.clock import LOCAL_TZ
from fengqiao.warnings.detectors import Finding

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def day_text(at: datetime) -> str:
    """A day in words: 12月1日 (local)."""
    local = at.astimezone(LOCAL_TZ)
    return f"{local.month}月{local.day}日"


def moment_text(at: datetime) -> str:
    """A moment in words: 12月1日09:00 (local)."""
    local = at.astimezone(LOCAL_TZ)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def span_text(start: datetime, end: datetime) -> str:
    """Days in words: 11月20日至12月1日, or one day."""
    first, last = day_text(start), day_text(end)
    return first if first == last else f"{first}至{last}"


def window_text(start: datetime, end: datetime) -> str:
    """A window's length in words: 24小时 for a day's, 3天 for longer ones."""
    hours = round((end - start).total_seconds() / 3600)
    return f"{hours}小时" if hours <= 24 else f"{math.ceil(hours / 24)}天"


def usual_text(baseline: int, *, window: timedelta, weeks: int) -> str:
    """How many a window of that length usually held in the weeks before, in words:
    "过去8周同期平均不到1起", "过去8周同期平均约2.5起", "过去8周同期没有上报"."""
    if baseline <= 0:
        return f"过去{weeks}周同期没有上报"
    average = baseline * (window / timedelta(weeks=weeks))
    if average < 1:
        return f"过去{weeks}周同期平均不到1起"
    shown = f"{average:.0f}" if average >= 10 else f"{average:.1f}".removesuffix(".0")
    return f"过去{weeks}周同期平均约{shown}起"


def scientific(value: float) -> str:
    """2.1×10⁻⁷ (no Latin letters for a reader of the Chinese UI)."""
    if value <= 0:
        return "0"
    exponent = math.floor(math.log10(value))
    if -3 <= exponent <= 0:
        return f"{value:.3g}"
    mantissa = value / 10**exponent
    return f"{mantissa:.1f}×10{str(exponent).translate(_SUPERSCRIPT)}"


def message(
    finding: Finding,
    *,
    where: str,
    category: str,
    unit: str,
    classes: str,
    weeks: int,
    cluster_days: float,
    radius_m: float,
    backlog_min: int,
) -> str:
    """The warning's headline, as pushed and shown: what happened, against what is usual or the
    line it crossed, and who should act. `classes` names the classes of a cluster's events."""
    if finding.kind == "spike":
        window = finding.window_end - finding.window_start
        usual = usual_text(finding.baseline or 0, window=window, weeks=weeks)
        return (
            f"{where}近{window_text(finding.window_start, finding.window_end)}上报{category}"
            f"{finding.observed}起，{usual}，请研判原因并部署处置。"
        )
    if finding.kind == "cluster":
        return (
            f"{where}{cluster_days:g}天内发生涉稳类事件{finding.observed}起（{classes}，"
            f"{span_text(finding.window_start, finding.window_end)}），"
            f"请综治、信访部门提前介入化解。"
        )
    if finding.kind == "repeat":
        days = (finding.window_end - finding.window_start).days + 1
        return (
            f"{where}同一地点（{radius_m:g}米范围内）{days}天内重复发生{category}"
            f"{finding.observed}起（{span_text(finding.window_start, finding.window_end)}），"
            f"请{unit or '责任单位'}查找根源、长效治理。"
        )
    return (
        f"{unit or where}有{finding.observed}件事件超期未办结，最早一件于"
        f"{day_text(finding.window_start)}到期，已达积压预警线（{backlog_min}件），请督促加快处置。"
    )


def statistics(kind: str, *, expected: float, p_value: float | None) -> str:
    """The details line for analysts: the spike's expectation and tail probability, or the line
    a count crossed."""
    if kind == "spike":
        line = f"按全区同期增减调整后的期望值为{expected:.2f}起"
        if p_value is not None:
            line += f"，按泊松分布偶然达到此数的概率约为{scientific(p_value)}"
        return line + "。"
    unit = "件" if kind == "backlog" else "起"
    return f"预警线为{expected:g}{unit}。"
