"""What the assessment and bulletin APIs return."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from fengqiao.bounds import RequestModel, Text16


class AssessmentRowOut(BaseModel):
    id: int
    name: str
    area: str = Field(description="The town of a village or unit, the home grid of a worker.")
    rank: int | None = Field(description="Position by composite score, 1 = best; None: no score.")
    score: float | None = Field(description="Composite score 0-100.")
    grade: str | None = Field(description="A ≥ 90, B ≥ 75, C ≥ 60, D ≥ 40, E below.")
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
    weights: dict[str, float]
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
