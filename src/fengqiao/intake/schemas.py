"""Request and response shapes of the intake API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.bounds import Answers, Code, RequestModel, Text100

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]


class QuestionIn(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(max_length=32, pattern=r"^[a-z][a-z0-9_]{0,31}$")
    datatype: Datatype
    required: bool = False
    description: str = Field(min_length=1, max_length=200)
    values: list[tuple[Code, Text100]] = Field(
        default_factory=list,
        max_length=100,
        description="[key, name] options for the list types (at most 100).",
    )
    order: int | None = Field(
        None, description="Ignored: the list's order is the order asked (GET's rows go back as-is)."
    )


class QuestionOut(BaseModel):
    code: str
    datatype: str
    required: bool
    description: str
    order: int
    values: list[tuple[str, str]]


class ClassIntakeOut(BaseModel):
    category: str
    name_zh: str
    major_code: str
    questions: list[QuestionOut]
    keywords: list[str]


class ChecklistItemOut(BaseModel):
    code: str
    text: str
    category: str
    category_name: str
    hint: str = ""


class CategoryBrief(BaseModel):
    code: str
    name_zh: str
    major_code: str
    major_name: str


class ModuleOut(BaseModel):
    code: str
    name_zh: str
    description: str
    keywords: list[str]
    categories: list[CategoryBrief]
    checklist_title: str
    subject_label: str
    subject_question: str | None = Field(
        None, description="The class question a run's subject answers (河长通: river)."
    )
    checklist: list[ChecklistItemOut]


class ItemOutcomeIn(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=32)
    ok: bool
    note: str = Field("", max_length=1000, description="What is wrong; required when not ok.")
    answers: Answers = Field(
        default_factory=dict,
        description="A failed item's answers to its class's extra questions (by code).",
    )


class ChecklistIn(RequestModel):
    """One walk through a module's checklist; every failed item becomes an event."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    module: str = Field(min_length=1, max_length=16)
    subject: str = Field(min_length=1, max_length=100, description="e.g. the river reach walked")
    lat: float
    lng: float
    crs: str = Field("wgs84", max_length=16, description="wgs84 (also CGCS2000), gcj02 or bd09.")
    patrol_id: int | None = None
    items: list[ItemOutcomeIn] = Field(min_length=1, max_length=50)


class RunItemOut(BaseModel):
    code: str
    text: str
    ok: bool
    note: str
    event_id: int | None = None


class ChecklistOut(BaseModel):
    id: int
    module: str
    module_name: str
    user_id: int
    patrol_id: int | None
    subject: str
    lat: float
    lng: float
    grid_id: int
    at: datetime
    problems: int
    items: list[RunItemOut]
