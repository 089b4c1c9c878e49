"""What the assessment and bulletin APIs return."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from fengqiao.bounds import RequestModel, Text16


class ScorePartOut(BaseModel):
    """One line of the score's formula: why a row got its score."""

    key: str = Field(description="volume, closure, on_time or rework.")
    name: str = Field(description="The part's Chinese name.")
    value: float | None = Field(description="The part, 0-1; None: nothing to judge it by.")
    basis: str = Field(
        description="What the value is made of, in Chinese (numerator ÷ denominator)."
    )
    weight: float = Field(description="The weight set (FENGQIAO_ASSESSMENT_WEIGHTS).")
    share: float | None = Field(
        description="The weight as a share of the weights of the parts counted (None: not counted)."
    )
    points: float | None = Field(
        description="What the part adds to the score; the points of a row add up to its score."
    )


class CapOut(BaseModel):
    grade: str = Field(description="The best grade the rule allows.")
    reason: str = Field(description="The rule, in Chinese: 巡查覆盖率为0%，等级不高于C.")


class PreviousOut(BaseModel):
    """The same row in the compared period (see AssessmentOut.compare_*)."""

    score: float | None
    grade: str | None
    rank: int | None
    new: int = Field(description="Events filed in the compared period (as of compare_as_of).")


class AssessmentRowOut(BaseModel):
    id: int
    name: str
    area: str = Field(description="The town of a village or unit, the home grid of a worker.")
    rank: int | None = Field(
        description="Position by grade, then composite score, 1 = best; None: no score."
    )
    score: float | None = Field(description="Composite score 0-100.")
    grade: str | None = Field(
        description="A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below; lowered by any cap in `caps`."
    )
    score_grade: str | None = Field(description="The grade the score alone gives, before caps.")
    caps: list[CapOut] = Field(description="Rules that held the grade down, and why.")
    breakdown: list[ScorePartOut] = Field(description="The score's formula, part by part.")
    previous: PreviousOut | None = Field(
        description="The row in the compared period; None: it was not assessed then."
    )
    volume: float = Field(
        description="The volume measure: events per 1,000 households (towns, villages), "
        "events received (units), reports (workers)."
    )
    indicators: dict[str, float | None] = Field(
        description="new, handle_rate, closure_rate, on_time_rate, overdue, rework_rate, "
        "return_rate, avg_handle_hours, satisfaction, valid_rate, patrol_coverage "
        "(rates 0-1; None where undefined)."
    )
    components: dict[str, float | None] = Field(
        description="The score's parts, 0-1: volume (relative to the best peer), closure, "
        "on_time, rework (1 - rework rate)."
    )
    counts: dict[str, int]


class AssessmentOut(BaseModel):
    level: str
    scope: dict[str, int | str]
    start: date
    end: date
    summed_start: date = Field(description="First day the counters cover.")
    summed_end: date = Field(description="Last day the counters cover.")
    widened: bool = Field(
        description="True when the counters cover whole months around the period (villages and "
        "workers of a district or town are kept by month)."
    )
    partial: bool = Field(description="True while the period runs (today lies inside it).")
    period_label: str = Field(description="The period in Chinese: 12月1日至5日，本月未结束.")
    compare_start: date = Field(
        description="First day of the compared period: the same days of the month before."
    )
    compare_end: date
    compare_as_of: datetime | None = Field(
        description="While the period runs, the compared period is read as its events stood at "
        "this moment (the same moment a month before), so both have had as long to be handled."
    )
    compare_label: str = Field(description="The compared period in Chinese.")
    weights: dict[str, float]
    grade_floors: dict[str, float] = Field(description="The lowest score of each grade.")
    zero_patrol_cap: str | None = Field(
        description="The best grade a row with patrol coverage 0 % may have."
    )
    best_volume: float = Field(description="The largest volume among the rows.")
    patrol_data: bool = Field(description="False: no patrol in the period, coverage is None.")
    indicator_names: dict[str, str]
    rows: list[AssessmentRowOut]


class TrendPointOut(BaseModel):
    month: str
    start: date
    end: date
    score: float | None
    grade: str | None
    rank: int | None
    peers: int = Field(description="How many were ranked that month.")
    indicators: dict[str, float | None]
    partial: bool = Field(description="True for the month still running.")
    label: str = Field(description="The running month in Chinese (12月1日至5日，本月未结束).")
    compared: PreviousOut | None = Field(
        description="The running month's like-for-like comparison: the same days of the month "
        "before, as they stood at the same moment of that month."
    )
    compare_label: str


class TrendOut(BaseModel):
    level: str
    id: int
    name: str
    points: list[TrendPointOut]


class BulletinDayOut(BaseModel):
    day: date
    generated_at: datetime | None = Field(description="None: not made yet, built on request.")
    recipients: int
    links: dict[str, str]


class SubscriptionIn(RequestModel):
    channels: list[Text16] | None = Field(
        None, max_length=3, description="app, sms, email (default FENGQIAO_BULLETIN_CHANNELS)."
    )


class SubscriptionOut(BaseModel):
    subscribed: bool
    channels: list[str]
    since: datetime | None
