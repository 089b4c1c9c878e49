"""A year of the annual assessment, computed: every town's, department's and benchmark
standing from the rollups (the monthly composite scores), the other mechanisms' inputs and the
year's scheme. The pages, the export, the demo and the bench all read it from here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Scope
from fengqiao.assessment import annual, annual_service, benchmark, service
from fengqiao.assessment.annual_inputs import gather
from fengqiao.config import Settings
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal


@dataclass
class Year:
    """Everything a year's pages are made of, before the caller's scope is applied."""

    year: int
    partial: bool
    months: int
    inputs: annual.Inputs
    scheme: dict[str, Any]
    towns: list[annual.Report]
    departments: list[annual.Report]
    benchmarks: list[annual.Report]
    counted: str = ""  # which months (and days of the last) the figures count, in words
    district: dict[str, Any] | None = None  # {id, name} of the district assessed


def compute(db: Session, *, principal: Principal, year: int, local_today: date,
            settings: Settings, district_id: int | None = None) -> Year:  # fmt: skip
    """The year's town, department and benchmark reports of one district (all of them, ranked
    within it): the chosen district, else the caller's (`annual_service.district_for`)."""
    district = annual_service.district_for(db, principal, district_id)
    towns = None  # the whole tree: no town filter
    if district.parent_id is not None:
        towns = tuple(db.scalars(select(OrgUnit.id).where(
            OrgUnit.kind == "town", OrgUnit.path.startswith(district.path, autoescape=True))))  # fmt: skip
    scope = Scope(level="district", org_id=district.id, name=district.name, towns=towns,
                  districts=None if towns is None else (district.id,))  # fmt: skip
    cut = min(local_today, date(year, 12, 31))
    monthly = annual.monthly(db, district=scope, year=year, today=cut,
                             weights=service.Weights.from_settings(settings))  # fmt: skip
    inputs = gather(db, year=year)
    stored = annual_service.get_scheme(db, year)
    weights, department, benchmark_weights, _ = annual_service.scheme_weights(stored)
    return Year(
        year=year, partial=cut < date(year, 12, 31), months=len(monthly.months), inputs=inputs,
        scheme=annual_service.scheme_out(db, principal, year, stored),
        towns=annual.town_reports(db, inputs=inputs, monthly=monthly, weights=weights),
        departments=annual.department_reports(db, year=year, monthly=monthly, weights=department,
                                              within=district.path),
        benchmarks=benchmark.benchmark_reports(db, inputs=inputs, monthly=monthly,
                                               weights=benchmark_weights),
        counted=annual.counted_words(monthly.months),
        district={"id": district.id, "name": district.name},
    )  # fmt: skip
