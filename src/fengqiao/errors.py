"""Errors as `application/problem+json` (RFC 9457), each with a Chinese and an English message.

Domain code raises `Problem`; the handlers registered by `install_handlers` turn it, FastAPI's
validation errors and plain HTTP errors into one response shape:

    {"type": "https://fengqiao.dev/problems/outside-district", "title": "...", "status": 422,
     "detail": "...", "title_zh": "...", "detail_zh": "...",
     "errors": [{"field": "lat", "reason": "...", "reason_zh": "..."}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengqiao.db import DatabaseBusy

PROBLEM_BASE = "https://fengqiao.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass
class FieldError:
    """What is wrong with one input field."""

    field: str
    reason: str
    reason_zh: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "reason_zh": self.reason_zh}


@dataclass
class Problem(Exception):
    """A refusal the caller can act on; `slug` is the stable problem type."""

    status: int
    slug: str
    title: str
    title_zh: str
    detail: str = ""
    detail_zh: str = ""
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.slug}: {self.detail or self.title}"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail or self.title,
            "title_zh": self.title_zh,
            "detail_zh": self.detail_zh or self.title_zh,
        }
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


def invalid(field_name: str, reason: str, reason_zh: str, *, status: int = 422) -> Problem:
    """A problem with one bad field."""
    return Problem(
        status=status,
        slug="invalid-input",
        title="Invalid input",
        title_zh="输入有误",
        detail=f"{field_name}: {reason}",
        detail_zh=f"{field_name}:{reason_zh}",
        errors=[FieldError(field_name, reason, reason_zh)],
    )


def not_found(what: str, what_zh: str) -> Problem:
    return Problem(404, "not-found", f"{what} not found", f"未找到{what_zh}")


def forbidden(detail: str, detail_zh: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", "无权操作", detail, detail_zh)


def unauthorized(detail: str, detail_zh: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        "Not authenticated",
        "未登录或登录已失效",
        detail,
        detail_zh,
        headers={"WWW-Authenticate": "Bearer"},
    )


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(
        problem.body(),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


# Chinese reasons for pydantic's error types; anything else falls back to a generic sentence.
_REASON_ZH = {
    "missing": "缺少此项",
    "float_parsing": "应为数字",
    "int_parsing": "应为整数",
    "finite_number": "应为有限数字(不能是 NaN 或无穷大)",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "json_invalid": "不是合法的 JSON",
    "string_pattern_mismatch": "格式不正确",
    "extra_forbidden": "不支持此字段",
    "bool_parsing": "应为 true 或 false",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "")


async def _on_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc)


def invalid_fields(errors: list[FieldError]) -> Problem:
    """A 422 naming every bad field."""
    return Problem(
        422,
        "invalid-input",
        "Invalid input",
        "输入有误",
        "; ".join(f"{e.field}: {e.reason}" for e in errors),
        ";".join(f"{e.field}:{e.reason_zh}" for e in errors),
        errors,
    )


def from_pydantic(errors: Sequence[Any]) -> Problem:
    """The problem for pydantic's validation errors (request models or models validated by hand)."""
    return invalid_fields(
        [
            FieldError(
                _field_name(tuple(err.get("loc", ()))) or "body",
                str(err.get("msg", "invalid")),
                _REASON_ZH.get(str(err.get("type", "")), "取值无效"),
            )
            for err in errors
        ]
    )


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(from_pydantic(exc.errors()))


_HTTP_TITLES = {
    404: ("not-found", "Not found", "未找到"),
    405: ("method-not-allowed", "Method not allowed", "不支持此请求方法"),
    401: ("unauthorized", "Not authenticated", "未登录或登录已失效"),
    403: ("forbidden", "Forbidden", "无权操作"),
}


async def _on_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug, title, title_zh = _HTTP_TITLES.get(exc.status_code, ("http-error", "Error", "请求出错"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(
        Problem(
            exc.status_code,
            slug,
            title,
            title_zh,
            detail,
            title_zh,
            headers=dict(exc.headers or {}),
        )
    )


def database_busy() -> Problem:
    return Problem(
        503,
        "database-busy",
        "Database busy",
        "系统繁忙",
        "the database was busy with other writes for too long; nothing was stored, try again",
        "数据库正忙,本次请求未保存任何内容,请稍后重试",
        headers={"Retry-After": "1"},
    )


async def _on_busy(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, OperationalError) and "database is locked" not in str(exc.orig):
        raise exc
    return problem_response(database_busy())


def out_of_range() -> Problem:
    return Problem(
        422,
        "invalid-input",
        "Invalid input",
        "输入有误",
        "a value in the request does not fit the database (a number too large, a text too "
        "long); nothing was stored",
        "请求中的某个值超出范围(数字过大或文字过长),未保存任何内容",
    )


async def _on_out_of_range(_request: Request, _exc: Exception) -> JSONResponse:
    # Numbers beyond 64 bits pass pydantic's `int` but not SQLite's binding (OverflowError) or
    # PostgreSQL's columns (DataError); the transaction has rolled back, so say it was the input.
    return problem_response(out_of_range())


def install_handlers(app: FastAPI) -> None:
    """Make every error of `app` a problem+json response."""
    app.add_exception_handler(DatabaseBusy, _on_busy)
    app.add_exception_handler(OperationalError, _on_busy)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(OverflowError, _on_out_of_range)
    app.add_exception_handler(DataError, _on_out_of_range)
