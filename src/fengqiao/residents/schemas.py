"""Request and response bodies of the residents' API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from fengqiao.bounds import RequestModel


class SmsCodeRequest(RequestModel):
    """Ask for a one-time sign-in code by SMS."""

    phone: str = Field(min_length=1, max_length=32, description="A mainland mobile number.")


class SmsCodeSent(BaseModel):
    phone: str = Field(description="The number the code went to, masked (138****0000).")
    expires_in: int = Field(description="Seconds the code stays valid.")
    resend_after: int = Field(description="Seconds before this number may ask again.")


class ReportClass(BaseModel):
    code: str
    name_zh: str
    major_code: str
    major_name: str


class ReportClassMajor(BaseModel):
    code: str
    name_zh: str


class ReportClasses(BaseModel):
    """The classes a resident may report in (the security classes hidden, as in Open311)."""

    majors: list[ReportClassMajor]
    categories: list[ReportClass]


class NearbyReport(BaseModel):
    """An open report near a point, as anyone may see it: no names, no exact point, no text."""

    code: str
    category: str
    category_name: str
    status: str = Field(description="Public status key (events/public.py).")
    status_zh: str
    distance_m: int = Field(description="Metres from the point asked about, to 10 m.")
    reported_on: date = Field(description="Local day it was reported.")
    me_too: int = Field(description="Residents who said 我也遇到.")
    mine: bool = Field(description="The caller reported it or said 我也遇到 already.")


class NearbyReports(BaseModel):
    radius_m: int
    items: list[NearbyReport]


class MeTooOut(BaseModel):
    code: str
    me_too: int = Field(description="Residents who said 我也遇到, the caller included.")
    added: bool = Field(description="False when the caller had said it already.")
