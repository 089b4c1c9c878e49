"""What makes the daily bulletin read as an official document (公文): the issuing unit, the
document number (文号), dates written in Chinese, the narrative paragraph generated from the
figures, and the top and bottom five of the ranking. Pure functions of the figures, so the
words are tested from known numbers.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fengqiao.analytics.compare import NO_BASE, count_change, rate, rate_change

# An area's command centre when the org tree names none: the district's 综合信息指挥中心, a
# town's 综合信息指挥室 (the names Zhejiang's four-platforms model uses).
COMMAND_SUFFIX = {"district": "综合信息指挥中心", "town": "综合信息指挥室"}
# Endings dropped to make an area's short name (柯桥区 → 柯, 安昌街道 → 安昌).
AREA_SUFFIXES = ("街道", "新区", "区", "县", "市", "镇", "乡")
TOP = 5  # the top five and the bottom five
DRAFT = "草稿，未编号"


def chinese_date(day: date) -> str:
    """2026年12月5日."""
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_time(at: datetime) -> str:
    """A local moment as a document writes it: 12月5日9时30分; the end of a day is 12月4日24时."""
    if (at.hour, at.minute) == (0, 0):
        before = at - timedelta(days=1)
        return f"{before.month}月{before.day}日24时"
    return f"{at.month}月{at.day}日{at.hour}时{at.minute:02d}分"


def fallback_issuer(name: str, level: str) -> str:
    """The issuing unit of an area whose tree names no command centre."""
    return f"{name}{COMMAND_SUFFIX.get(level, '')}"


def short_name(name: str, level: str) -> str:
    """An area's short name in a document number: the district's first character, a town's
    first two (柯桥区 → 柯, 安昌街道 → 安昌, 平水镇 → 平水)."""
    base = name
    for suffix in AREA_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    return base[:1] if level == "district" else base[:2]


def document_number(prefix: str, *, short: str, year: int, serial: int) -> str:
    """柯综指通〔2026〕37号 from the prefix setting ({short} → the area's short name)."""
    return f"{prefix.replace('{short}', short)}〔{year}〕{serial}号"


# --- the narrative -------------------------------------------------------------------------


def _on_time(figures: dict[str, Any]) -> str:
    """The on-time rate of a period's closings in percent (done_on_time / done)."""
    value = rate(figures["done_on_time"], figures["done"])
    return "—" if value is None else f"{value:.1f}%"


def count_words(
    current: int, base: int, *, base_name: str, min_base: int, partial_from: str | None = None
) -> str:
    """增加12件（上升26.7%）, 减少3件（下降5.0%）, 持平, or 无可比数据 with the reason."""
    change = count_change(current, base, min_base=min_base, partial_from=partial_from)
    if change.change is None:
        return f"{NO_BASE}（{change.why_not(base_name)}）"
    difference = current - base
    if difference == 0:
        return "持平"
    if difference > 0:
        return f"增加{difference}件（上升{abs(change.change):.1f}%）"
    return f"减少{-difference}件（下降{abs(change.change):.1f}%）"


def rate_words(
    part: int, whole: int, base_part: int, base_whole: int, *, base_name: str, min_base: int,
    partial_from: str | None = None,
) -> str:  # fmt: skip
    """上升2.1个百分点, 下降0.4个百分点, 持平, or 无可比数据 with the reason."""
    change = rate_change(
        part, whole, base_part, base_whole, min_base=min_base, partial_from=partial_from
    )
    if change.change is None:
        if partial_from is not None:
            return f"{NO_BASE}（{change.why_not(base_name)}）"
        if not whole:
            return f"{NO_BASE}（当日无办结事件）"
        if not base_whole:
            return f"{NO_BASE}（{base_name}无办结事件）"
        return f"{NO_BASE}（{base_name}办结仅{base_whole}件，不足{min_base}件）"
    if change.change == 0:
        return "持平"
    verb = "上升" if change.change > 0 else "下降"
    return f"{verb}{abs(change.change):.1f}个百分点"


def narrative(
    *, area: str, day: date, totals: dict[str, dict[str, Any]], as_of: str, min_base: int,
    history_start: date | None = None,
) -> str:  # fmt: skip
    """The bulletin's opening paragraph from its figures: the day, against the previous day
    and the previous week (无可比数据 for a base below `min_base`, or one that began before the
    area's first event on `history_start`), the month so far and its overdue events."""

    def partial(low: date) -> str | None:
        return history_start.isoformat() if history_start and low < history_start else None

    today, before = totals["day"], totals["previous_day"]
    week, last_week, month = totals["week"], totals["previous_week"], totals["month"]
    parts = [f"{chinese_date(day)}，{area}新增事件{today['new']}件，办结{today['done']}件"]
    if today["done"]:
        parts[0] += f"，其中按期办结{today['done_on_time']}件，按期办结率{_on_time(today)}"
    parts[0] += "。"
    yesterday = partial(day - timedelta(days=1))
    compared = "与前一日相比，新增事件" + count_words(
        today["new"], before["new"], base_name="前一日", min_base=min_base, partial_from=yesterday
    )
    compared += "，按期办结率" + rate_words(
        today["done_on_time"], today["done"], before["done_on_time"], before["done"],
        base_name="前一日", min_base=min_base, partial_from=yesterday,
    )  # fmt: skip
    parts.append(compared + "。")
    week_words = count_words(
        week["new"], last_week["new"], base_name="前7日", min_base=min_base,
        partial_from=partial(day - timedelta(days=13)),
    )  # fmt: skip
    parts.append(f"近7日新增事件{week['new']}件，较前7日{week_words}。")
    first = day.replace(day=1)
    span = f"{day.month}月{first.day}日至{day.day}日" if day != first else f"{day.month}月1日"
    month_text = f"本月（{span}）累计新增事件{month['new']}件、办结{month['done']}件"
    if month["done"]:
        month_text += f"，按期办结率{_on_time(month)}"
    if month["overdue"]:
        month_text += (
            f"；本月超期事件{month['overdue']}件，其中截至{as_of}仍未办结"
            f"{month['overdue_open']}件，详见超期清单。"
        )
    else:
        month_text += "；本月无超期事件。"
    parts.append(month_text)
    return "".join(parts)


# --- the top and bottom five ---------------------------------------------------------------


def top_and_bottom(rows: list[dict[str, Any]], n: int = TOP) -> dict[str, Any]:
    """The best `n` and the worst `n` of ranked rows (best first, as the ranking sorts them);
    with fewer than 2n rows the two halves do not overlap (the top takes the odd one)."""
    ranked = [r for r in rows if r.get("score") is not None]
    top_count = min(n, (len(ranked) + 1) // 2)
    bottom_count = min(n, len(ranked) - top_count)
    pick = ("rank", "name", "score", "grade")
    return {
        "ranked": len(ranked),
        "top": [{k: r[k] for k in pick} for r in ranked[:top_count]],
        "bottom": [{k: r[k] for k in pick} for r in ranked[len(ranked) - bottom_count :]],
    }


def ranking_words(rows: list[dict[str, Any]], ranked: int | None = None) -> str:
    """第1名 柯桥街道（92.3分，A级）、第2名 …; or 无, saying how few were ranked."""
    if not rows:
        return "无" if not ranked else f"无（参与排名的仅{ranked}个）"
    return "、".join(
        f"第{r['rank']}名 {r['name']}（{r['score']:.1f}分{'，' + r['grade'] + '级' if r['grade'] else ''}）"
        for r in rows
    )
