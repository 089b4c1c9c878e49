"""The rhythms of the demo year: how many events each local day and hour gets, and which classes.

Pure tables and functions of the calendar, so the seed, its tests and the planted anomalies read
the same rates. A day's volume follows the official working calendar (weekends, holidays and
调休 make-up days), a mild summer high and the Spring Festival dip; a class's share follows its
season (rivers and sanitation in summer, stoves and fire in winter, wage disputes before the
Spring Festival) and the place (urban communities: street order; rural villages: rivers, land).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import chinese_calendar
import numpy as np
import numpy.typing as npt

from fengqiao.sla.calendar import WorkCalendar

FloatArray = npt.NDArray[np.float64]

# Share of events per hour of the local day: working hours dominate, a few at night.
HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 2, 4, 8, 14, 18, 18, 14, 8, 10, 16, 17, 15, 11, 7, 5, 4, 3, 2, 1], dtype=float
)
# Rest days start later and stay flatter: fewer patrols, more residents out in the evening.
REST_HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 1, 2, 4, 8, 11, 12, 11, 8, 9, 11, 12, 12, 11, 9, 7, 5, 3, 2, 1], dtype=float
)
# Monday..Friday on a working day; a rest day (weekend or holiday) and a make-up working day.
WORKDAY_WEIGHTS = (1.1, 1.05, 1.0, 1.0, 1.05)
MAKEUP_DAY_WEIGHT = 0.9
REST_DAY_WEIGHT = 0.55
# The Spring Festival holiday itself, and the days just before it (workers go home early).
SPRING_FESTIVAL_WEIGHT = 0.3
SPRING_FESTIVAL_EVE_DAYS = 5
SPRING_FESTIVAL_EVE_WEIGHT = 0.75
# Overall volume: a little higher in summer (day of year of the peak, amplitude).
VOLUME_SEASON = (200, 0.08)

# Classes grid workers meet most: city management, environment, fire safety in rented rooms.
HEAVY_CLASSES = ("占道经营", "乱堆乱放", "环境卫生", "流动摊贩", "僵尸车及违停", "设施报修",
                 "电动自行车违规充电", "出租房屋消防隐患", "邻里纠纷", "违规广告")  # fmt: skip
HEAVY_WEIGHT = 4.0
# Stability classes (the 信访维稳 major, 劳资纠纷) are rare, which is what makes a cluster of them
# in one village a warning; the planted clusters rely on it.
STABILITY_CODES = ("03", "0103")
STABILITY_WEIGHT = 0.04

# Seasons by class name: (day of year of the peak, amplitude of the yearly cosine).
CLASS_SEASON: dict[str, tuple[int, float]] = {
    "河道水体污染": (200, 0.6), "环境卫生": (210, 0.3), "噪声扰民": (200, 0.3),
    "流动摊贩": (190, 0.3), "食品安全隐患": (200, 0.25), "大气油烟污染": (15, 0.3),
    "燃气及用火安全（含蜂窝煤炉）": (15, 0.7), "出租房屋消防隐患": (15, 0.35),
    "消防通道堵塞": (15, 0.2), "电动自行车违规充电": (15, 0.2), "劳资纠纷": (20, 0.8),
    "土地山林纠纷": (90, 0.3), "渣土泥浆": (110, 0.2),
}  # fmt: skip
# Class mix by the village's area type: (urban community factor, rural village factor).
AREA_MIX: dict[str, tuple[float, float]] = {
    "占道经营": (1.6, 0.4), "流动摊贩": (1.6, 0.4), "违规广告": (1.6, 0.4),
    "僵尸车及违停": (1.6, 0.4), "无证小餐饮": (1.5, 0.5), "噪声扰民": (1.5, 0.5),
    "出租房屋消防隐患": (1.4, 0.7), "电动自行车违规充电": (1.4, 0.7),
    "河道水体污染": (0.5, 2.5), "土地山林纠纷": (0.2, 3.0), "违法用地": (0.3, 2.5),
    "违法建筑": (0.7, 1.8), "工业污染排放": (0.8, 1.6), "乱堆乱放": (1.0, 1.3),
    "民政救助": (0.8, 1.5), "社保事项代办": (0.9, 1.3),
}  # fmt: skip
AREA_TYPES = ("urban", "rural")


def _yearly(day: date, peak: int, amplitude: float) -> float:
    return 1.0 + amplitude * math.cos(2 * math.pi * (day.timetuple().tm_yday - peak) / 365.25)


def _spring_festival(day: date) -> bool:
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:  # beyond the library's years: no festival, weekends still rest
        return False
    return bool(on_holiday) and name == chinese_calendar.Holiday.spring_festival.value


def day_weights(first: date, days: int, calendar: WorkCalendar) -> FloatArray:
    """Relative volume of each local day from `first` on (not normalised)."""
    festival = [_spring_festival(first + timedelta(days=d)) for d in range(days + 30)]
    weights = np.empty(days)
    for d in range(days):
        day = first + timedelta(days=d)
        if festival[d]:
            weight = SPRING_FESTIVAL_WEIGHT
        elif not calendar.is_working_day(day):
            weight = REST_DAY_WEIGHT
        elif day.weekday() >= 5:
            weight = MAKEUP_DAY_WEIGHT
        else:
            weight = WORKDAY_WEIGHTS[day.weekday()]
        if not festival[d] and any(festival[d + 1 : d + 1 + SPRING_FESTIVAL_EVE_DAYS]):
            weight *= SPRING_FESTIVAL_EVE_WEIGHT
        weights[d] = weight * _yearly(day, *VOLUME_SEASON)
    return weights


def rest_days(first: date, days: int, calendar: WorkCalendar) -> npt.NDArray[np.bool_]:
    """Which local days from `first` on are rest days (their hours follow REST_HOUR_WEIGHTS)."""
    return np.array([not calendar.is_working_day(first + timedelta(days=d)) for d in range(days)])


def is_stability(code: str) -> bool:
    return any(code.startswith(prefix) for prefix in STABILITY_CODES)


def class_weights(
    codes: list[str], names: list[str], first: date, days: int
) -> npt.NDArray[np.float64]:
    """Relative weight of each class on each local day in each area type: [day, area, class]."""
    base = np.array(
        [
            STABILITY_WEIGHT if is_stability(code)
            else HEAVY_WEIGHT if name in HEAVY_CLASSES
            else 1.0
            for code, name in zip(codes, names, strict=True)
        ]
    )  # fmt: skip
    area = np.array([[AREA_MIX.get(name, (1.0, 1.0))[a] for name in names] for a in (0, 1)])
    season = np.array(
        [
            [
                _yearly(first + timedelta(days=d), *CLASS_SEASON.get(name, (0, 0.0)))
                for name in names
            ]
            for d in range(days)
        ]
    )
    weights: FloatArray = season[:, None, :] * area[None, :, :] * base[None, None, :]
    return weights
