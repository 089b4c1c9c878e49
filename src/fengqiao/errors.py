"""Errors as `application/problem+json` (RFC 9457), each with a Chinese and an English message.

Domain code raises `Problem`; the handlers registered by `install_handlers` turn it, FastAPI's
validation errors and plain HTTP errors into one response shape:

    {"type": "https://fengqiao.dev/problems/outside-district", "title": "...", "status": 422,
     "detail": "...", "title_zh": "...", "detail_zh": "...",
     "errors": [{"field": "lat", "reason": "...", "reason_zh": "..."}], "more": 0}

At most `MAX_ERRORS` field errors are returned and the rest only counted (`more`), and no field
name or reason is longer than a few hundred characters: a request with a million bad list
elements gets a short answer, never one error per element echoed back.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengqiao.db import DatabaseBusy

PROBLEM_BASE = "https://fengqiao.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
# The most field errors one answer lists; the rest are counted in `more`.
MAX_ERRORS = 10
FIELD_MAX = 120  # characters of a field's name (a dict key can be any text the caller sent)
REASON_MAX = 300  # characters of a reason (a validator's message may quote the input)
DETAIL_MAX = 1000  # characters of a detail (it lists the fields and reasons)


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# The Chinese name of every request field a caller can get wrong (bodies, query parameters and
# the fields domain code names in its refusals), so a refusal shown on a page says 分类, never
# `category` (tests/test_field_words.py fails on a field without one).
FIELD_ZH: dict[str, str] = {
    # Video calls (calls/schemas.py).
    "call_id": "通话", "callee_id": "被叫人员", "conn": "通话连接", "sdp": "媒体协商信息",
    "candidate": "网络候选地址", "sdpMid": "网络候选地址", "sdpMLineIndex": "网络候选地址",
    "usernameFragment": "网络候选地址",
    # Meeting rooms (rooms/schemas.py).
    "session_id": "会商", "org_id": "区域", "title": "标题", "invited_org_ids": "邀请的会商室",
    "event_ids": "关联事件", "warning_ids": "关联预警",
    # A resident's own reports (events/resident_views.py).
    "stars": "评分", "comment": "评价留言", "public": "公开给上报人", "photo_id": "照片",
    "notify_sms": "短信通知",
    # Tracked tasks and meetings (tasks/, meetings/schemas.py).
    "owner": "责任单位或责任人", "evidence": "佐证照片", "owner_unit_id": "责任单位",
    "owner_user_id": "责任人", "source_type": "来源类型", "source_id": "来源", "detail": "具体要求",
    "deadline": "办理时限", "scheduled_at": "会商时间", "place": "地点", "attendee_ids": "参会人员",
    "agenda": "议程", "minutes_text": "会议纪要", "decisions": "决定事项", "room_id": "会商室",
    "present_ids": "实到人员", "meeting_id": "会商", "year": "年份", "month": "月份",
    "limit_days": "办理时限（工作日）", "cancel_reason": "取消原因", "evidence_required": "须上传照片",
    "key": "议程栏目", "period_start": "研判时段开始", "period_end": "研判时段结束", "sections": "议程",
    "warning": "预警",
    # The annual assessment and benchmark towns (assessment/annual_schemas.py).
    "weights": "镇街考核项权重", "department_weights": "部门考核项权重",
    "benchmark_weights": "标杆镇街评选权重", "benchmark_count": "标杆镇街个数",
    "score": "评价得分",
    # Notices and leaflets (notices/schemas.py).
    "text": "正文", "valid_from": "有效期开始", "valid_to": "有效期结束", "publish": "立即发布",
    "notice_id": "通知", "copies": "份数", "household": "户（门牌）", "images": "图片",
    "campaign_id": "宣传折页发放", "index": "图片序号",
    # Campaigns (campaigns/schemas.py).
    "town_ids": "镇街", "classes": "事件分类", "measures": "措施", "target": "目标",
    "town_targets": "各镇街目标", "default_quantity": "默认数量", "targets": "目标",
    "measure_id": "措施", "quantities": "数量", "quantity": "数量", "removed": "已移出",
    "accuracy": "定位精度", "action": "操作", "active": "启用", "address": "地址", "enabled": "本区县启用",
    "answers": "补充信息", "area_type": "城乡类型", "at": "时间", "attachment_id": "附件",
    "attachment_ids": "照片", "auto_close": "自动结案", "bbox": "地图范围", "before": "翻页位置",
    "before_id": "翻页位置", "body": "请求内容", "cameras": "摄像头", "categories": "分类",
    "category": "分类", "category_code": "事件分类", "channel": "渠道", "channels": "推送渠道",
    "checklist": "检查清单", "client_id": "客户端编号", "client_secret": "客户端密钥",
    "closed_from": "结案日期（起）", "closed_to": "结案日期（止）",
    "closing_condition": "结案条件", "code": "编码", "confirmed": "现场确认",
    "coordinates": "坐标", "count": "数量", "created_from": "上报日期（起）",
    "created_to": "上报日期（止）", "crs": "坐标系", "current_password": "当前密码",
    "cursor": "翻页位置", "datatype": "数据类型", "date": "日期", "date_from": "开始日期",
    "date_to": "结束日期", "day": "日期", "days": "天数", "default_level": "默认等级",
    "default_unit_type": "默认单位类型", "district_id": "区（县）", "district": "区（县）", "city": "市",
    "depth": "层级深度", "description": "描述",
    "device": "设备", "device_accuracy": "手机定位精度", "device_at": "设备时间",
    "device_id": "设备", "device_lat": "手机定位纬度", "device_lng": "手机定位经度",
    "device_type": "设备类型",
    "dry_run": "试运行", "due_at": "回复期限", "duty_phone": "值班电话", "end_date": "结束日期",
    "event": "事件", "event_id": "事件", "fee": "收费标准",
    "feedback_photo_required": "反馈须附照片", "file": "文件", "filing_condition": "立案条件",
    "fmt": "格式", "format": "格式", "from": "开始", "geometry": "边界", "grant_type": "授权方式",
    "grid": "网格", "grid_codes": "服务网格", "grid_id": "网格", "grid_type": "网格类型",
    "home_org_code": "所属区划", "households": "户数", "id": "编号", "ids": "编号",
    "x-api-key": "接口密钥", "extensions": "扩展信息",
    "idempotency-key": "请求标识", "include_inactive": "含已停用", "install_place": "安装位置",
    "into": "合并到的事件", "is_active": "启用", "is_working": "是否工作日",
    "issued_from": "下发日期（起）", "issued_to": "下发日期（止）", "item": "事项",
    "item_id": "服务事项", "items": "条目", "jurisdiction_id": "辖区", "kind": "类型",
    "last-event-id": "消息位置", "lat": "纬度", "level": "等级", "levels": "办理层级",
    "light": "红黄绿灯", "limit": "条数", "limit_hours": "处置时限（小时）", "limit_unit": "时限单位", "limit_value": "时限",
    "lng": "经度", "major_code": "大类", "materials": "申请材料", "mine": "只看我的",
    "minutes": "分钟数", "module": "业务模块", "modules": "业务模块", "months": "月数",
    "name": "名称", "name_en": "英文名称", "name_zh": "中文名称", "national_code": "国标编码",
    "new_password": "新密码", "note": "说明", "notification_id": "消息", "ok": "核查结果",
    "op": "比较方式", "order": "顺序", "order_id": "督办单", "override_id": "区县分类设置", "org": "区划", "org_code": "所在区划",
    "origin": "照片来源", "outbox_id": "消息", "overdue": "是否超期", "page": "页码",
    "page_size": "每页条数", "password": "密码", "patrol_id": "巡查", "payload": "上报内容",
    "phone": "电话", "photo_position": "拍摄地点", "photos": "照片", "platform": "平台", "policy_id": "时限规则",
    "population": "人口", "position": "顺序", "prefix": "密钥前缀", "proxy": "可代办",
    "proxy_allowed": "可代办", "q": "关键词", "questions": "补充问题", "radius_m": "半径",
    "reason": "原因", "remind_before_hours": "提前提醒小时数", "reply": "回复内容",
    "reporter": "上报人", "request_id": "代办", "required": "必填", "requirement": "督办要求",
    "resident_id_number": "身份证号", "resident_name": "群众姓名",
    "resident_phone": "联系电话", "resident_user_id": "群众账号", "result": "处置结果",
    "role": "角色", "roles": "角色", "root": "起始区划", "row": "行", "rule_id": "规则",
    "rules": "规则", "run_id": "检查记录", "satisfaction": "满意度", "scope": "范围",
    "service_code": "服务编码", "service_request_id": "诉求编号", "since": "起始时间",
    "size": "每页条数", "sort": "排序", "source": "来源", "speed": "速度",
    "start_date": "开始日期", "status": "状态", "steps": "步骤", "stream_url": "视频流地址",
    "subject": "巡查对象", "subject_id": "对象", "table": "数据表", "tags": "标签",
    "taken_at": "拍摄时间", "task": "待办类型", "template": "消息模板", "threshold": "阈值",
    "threshold_high": "阈值上限", "time_limit_days": "办理时限", "to": "结束", "token": "令牌",
    "town": "镇街", "town_code": "镇街", "town_id": "镇街", "type": "类型", "unit": "单位",
    "unit_code": "所属单位", "unit_id": "责任单位", "unit_name": "办理单位",
    "unit_type": "单位类型", "unread": "只看未读", "until": "截止时间", "urgent": "紧急",
    "user_id": "用户", "username": "用户名", "values": "可选值", "version": "版本",
    "village": "村社", "village_type": "村社类型", "warning_id": "预警", "within": "所属区划",
    "x-device-key": "设备密钥", "yellow_ratio": "黄灯比例",
    # The base map (系统管理 · 底图).
    "provider": "底图来源", "url_template": "瓦片地址模板", "api_key": "天地图密钥",
    "attribution": "注记", "max_zoom": "最大级别", "subdomains": "子域轮换",
    # The public map (身边事).
    "zoom": "缩放级别",
    # Co-handling and joint operations (联合执法, issue 20).
    "assist_unit_ids": "协办单位", "assist_unit_types": "协办单位类型", "parts": "协办",
    "unit_ids": "参与单位", "lead_unit_id": "牵头单位",
    "people": "出动人数", "area": "行动区域", "starts_at": "开始时间",
    "ends_at": "结束时间", "results": "行动成效",
    # The standard, supervision rounds and self-assessments (standards/, inspections/).
    "weight": "分值", "aspect": "方面", "member_ids": "督查组成员",
    "scores": "评分", "held_on": "督查日期", "deadline_days": "整改期限", "group_id": "督查组",
    "submit": "提交", "round_id": "督查记录", "sheet_id": "自评", "version_id": "标准版本",
    "operation_id": "联合行动", "value": "数量",
}  # fmt: skip
_FIELD_PART = re.compile(r"[^.\[\]]+")


def field_zh(name: str) -> str:
    """The Chinese name of a (dotted, indexed) field: `positions[2].lat` is 纬度（第 3 项）, a
    question's code under `answers` is 补充信息, `lat,lng` is 纬度、经度; 此项 when unknown."""
    if "," in name:
        return "、".join(field_zh(part.strip()) for part in name.split(","))
    parts = _FIELD_PART.findall(name)
    words = [FIELD_ZH[part] for part in parts if part in FIELD_ZH]
    numbers = [int(part) for part in parts if part.isdecimal()]  # not "²": a digit, no number
    word = words[-1] if words else "此项"
    return f"{word}（第 {numbers[-1] + 1} 项）" if numbers else word


@dataclass
class FieldError:
    """What is wrong with one input field."""

    field: str
    reason: str
    reason_zh: str

    def as_dict(self) -> dict[str, str]:
        return {
            "field": clip(self.field, FIELD_MAX),
            "field_zh": clip(field_zh(self.field), FIELD_MAX),
            "reason": clip(self.reason, REASON_MAX),
            "reason_zh": clip(self.reason_zh, REASON_MAX),
        }


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
    extra: dict[str, Any] | None = None  # RFC 9457 extension members, e.g. a size limit

    def __str__(self) -> str:
        return f"{self.status} {self.slug}: {self.detail or self.title}"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": clip(self.detail or self.title, DETAIL_MAX),
            "title_zh": self.title_zh,
            "detail_zh": clip(self.detail_zh or self.title_zh, DETAIL_MAX),
        }
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors[:MAX_ERRORS]]
            if len(self.errors) > MAX_ERRORS:
                body["more"] = len(self.errors) - MAX_ERRORS
        if self.extra:
            body.update(self.extra)
        return body


def invalid(field_name: str, reason: str, reason_zh: str, *, status: int = 422) -> Problem:
    """A problem with one bad field."""
    return Problem(
        status=status,
        slug="invalid-input",
        title="Invalid input",
        title_zh="输入有误",
        detail=f"{clip(field_name, FIELD_MAX)}: {clip(reason, REASON_MAX)}",
        detail_zh=f"{field_zh(field_name)}：{clip(reason_zh, REASON_MAX)}",
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


# A refusal made before any route runs (a body too large, a rate limit) in the shape the
# callers of a path expect: a surface with its own error format (Open311) registers a renderer
# for its prefix; everything else gets problem+json.
RefusalRenderer = Callable[[Request, Problem], Response]


def add_refusal_renderer(app: FastAPI, prefix: str, render: RefusalRenderer) -> None:
    """Refusals of requests under `prefix` are rendered by `render`."""
    renderers: list[tuple[str, RefusalRenderer]] = getattr(app.state, "refusal_renderers", [])
    app.state.refusal_renderers = [*renderers, (prefix, render)]


def refusal_response(scope: Any, problem: Problem) -> Response:
    """`problem` as the caller of this request's path expects it."""
    state = getattr(scope.get("app"), "state", None)
    path = scope.get("path", "")
    for prefix, render in getattr(state, "refusal_renderers", ()):
        if path.startswith(prefix):
            return render(Request(scope), problem)
    return problem_response(problem)


# Chinese reasons for pydantic's error types; anything else falls back to a generic sentence.
_REASON_ZH = {
    "missing": "缺少此项",
    "float_parsing": "应为数字",
    "int_parsing": "应为整数",
    "finite_number": "应为有限数字（不能是 NaN 或无穷大）",
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
    "too_long": "条目过多",
    "too_short": "条目过少",
    "null_not_allowed": "不能为空值（不修改请省略此项）",
    "string_type": "应为文字",
    "int_type": "应为整数",
    "float_type": "应为数字",
    "bool_type": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "date_parsing": "日期格式不正确",
    "date_from_datetime_parsing": "日期格式不正确",
    "datetime_parsing": "时间格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "timezone_aware": "时间须带时区",
    "int_from_float": "应为整数",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "value_error": "取值无效",
    "json_type": "应为 JSON 文本",
    "tuple_type": "应为列表",
    "list_type_or_tuple": "应为列表",
    "url_parsing": "网址格式不正确",
    "uuid_parsing": "格式不正确",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "")


async def _on_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc)


def invalid_fields(errors: list[FieldError]) -> Problem:
    """A 422 naming the bad fields (the first `MAX_ERRORS`; the body counts the rest)."""
    shown = [e.as_dict() for e in errors[:MAX_ERRORS]]
    more = len(errors) - len(shown)
    tail, tail_zh = (f"; and {more} more", f"；另有 {more} 处") if more > 0 else ("", "")
    return Problem(
        422,
        "invalid-input",
        "Invalid input",
        "输入有误",
        "; ".join(f"{e['field']}: {e['reason']}" for e in shown) + tail,
        "；".join(f"{e['field_zh']}：{e['reason_zh']}" for e in shown) + tail_zh,
        errors,
    )


def from_pydantic(errors: Sequence[Any]) -> Problem:
    """The problem for pydantic's validation errors (request models or models validated by hand);
    only the first `MAX_ERRORS` are turned into field errors, the rest only counted."""
    problem = invalid_fields(
        [
            FieldError(
                clip(_field_name(tuple(err.get("loc", ()))), FIELD_MAX) or "body",
                clip(str(err.get("msg", "invalid")), REASON_MAX),
                _REASON_ZH.get(str(err.get("type", "")), "取值无效"),
            )
            for err in errors[:MAX_ERRORS]
        ]
    )
    if len(errors) > MAX_ERRORS:
        problem.extra = {"more": len(errors) - MAX_ERRORS}
        problem.detail += f"; and {len(errors) - MAX_ERRORS} more"
        problem.detail_zh += f"；另有 {len(errors) - MAX_ERRORS} 处"
    return problem


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(from_pydantic(exc.errors()))


_HTTP_TITLES = {
    404: ("not-found", "Not found", "未找到"),
    405: ("method-not-allowed", "Method not allowed", "不支持此请求方法"),
    401: ("unauthorized", "Not authenticated", "未登录或登录已失效"),
    403: ("forbidden", "Forbidden", "无权操作"),
}


def http_problem(exc: StarletteHTTPException) -> Problem:
    """The problem for a plain HTTP error (no route for the path, a method it does not take)."""
    slug, title, title_zh = _HTTP_TITLES.get(exc.status_code, ("http-error", "Error", "请求出错"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    return Problem(
        exc.status_code, slug, title, title_zh, detail, title_zh, headers=dict(exc.headers or {})
    )


async def _on_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return problem_response(http_problem(exc))


# Public for the web layer, whose handlers answer a browser's page request with a page and hand
# every other request back to these.
on_http = _on_http
on_validation = _on_validation


def database_busy() -> Problem:
    return Problem(
        503,
        "database-busy",
        "Database busy",
        "系统繁忙",
        "the database was busy with other writes for too long; nothing was stored, try again",
        "数据库正忙，本次请求未保存任何内容，请稍后重试",
        headers={"Retry-After": "1"},
    )


def database_unavailable() -> Problem:
    return Problem(
        503,
        "database-unavailable",
        "Database unavailable",
        "数据库暂时不可用",
        "the connection to the database was lost or refused (a restart of PostgreSQL or "
        "PgBouncer); the request's changes were rolled back whole, unless the loss came during "
        "the commit itself: check before repeating a write, or repeat it with its Idempotency-Key",
        "与数据库的连接中断或被拒绝（数据库或连接池重启），本次修改已整体撤销（除非恰在提交时中断）；"
        "重复提交前请先查看，或使用同一 Idempotency-Key 重试",
        headers={"Retry-After": "1"},
    )


def lost_connection(exc: OperationalError) -> bool:
    """Whether a PostgreSQL error is the connection's (dropped, refused, the server or PgBouncer
    shutting down), not the statement's: SQLAlchemy saw a disconnect, or the driver's error has
    no SQLSTATE (raised by the client) or a connection-exception / operator-intervention one."""
    if isinstance(exc.orig, sqlite3.Error):
        return False
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    return not state or str(state).startswith(("08", "57P"))


async def _on_busy(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, OperationalError) and "database is locked" not in str(exc.orig):
        if lost_connection(exc):
            return problem_response(database_unavailable())
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
        "请求中的某个值超出范围（数字过大或文字过长），未保存任何内容",
    )


async def _on_out_of_range(_request: Request, _exc: Exception) -> JSONResponse:
    # Numbers beyond 64 bits pass pydantic's `int` but not SQLite's binding (OverflowError) or
    # PostgreSQL's columns (DataError); the transaction has rolled back, so say it was the input.
    return problem_response(out_of_range())


def conflict(slug: str, title: str, title_zh: str, detail: str, detail_zh: str) -> Problem:
    """409: the request fits, but the record's state does not allow it (slug names the case)."""
    return Problem(409, slug, title, title_zh, detail, detail_zh)


def check_version(sent: int, current: int, *, what: str, what_zh: str) -> None:
    """Refuse a write made against an older version of the record (optimistic locking): 409."""
    if sent != current:
        raise conflict(
            "stale-version", f"The {what} changed meanwhile", f"{what_zh}已被他人更新",
            f"you sent version {sent}, the {what} is at version {current}; reload it and try again",
            f"您提交的版本为 {sent}，{what_zh}当前版本为 {current}，请刷新后重试",
        )  # fmt: skip


def conflict_with_stored() -> Problem:
    return Problem(
        409,
        "conflict",
        "Conflict",
        "与已有数据冲突",
        "the request conflicts with data already stored (a code or name that must be unique is "
        "taken, or a record it names was changed meanwhile); nothing was stored",
        "请求与已有数据冲突（编号或名称已被占用，或所引用的记录已被改动），未保存任何内容",
    )


def refers_to_missing() -> Problem:
    return Problem(
        422,
        "invalid-input",
        "Invalid input",
        "输入有误",
        "a value in the request is missing where one is required, or names a record that does "
        "not exist; nothing was stored",
        "请求中缺少必填的值，或引用了不存在的记录，未保存任何内容",
    )


async def _on_integrity(_request: Request, exc: Exception) -> JSONResponse:
    # The transaction has rolled back: input that breaks a constraint is the caller's to fix.
    # A unique key (PostgreSQL 23505, SQLite "UNIQUE constraint") is a conflict; NOT NULL,
    # foreign keys and checks mean the input itself is wrong.
    assert isinstance(exc, IntegrityError)
    state = getattr(exc.orig, "sqlstate", None)
    unique = state == "23505" or "UNIQUE constraint failed" in str(exc.orig)
    return problem_response(conflict_with_stored() if unique else refers_to_missing())


# --- the problem responses in the OpenAPI document ---------------------------------------------

_FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["field", "field_zh", "reason", "reason_zh"],
    "properties": {
        "field": {"type": "string", "description": "The field, dotted (items.3.note)."},
        "field_zh": {
            "type": "string",
            "description": "The field's name in Chinese (条目（第 4 项）).",
        },
        "reason": {"type": "string"},
        "reason_zh": {"type": "string"},
    },
}
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details, with the title and detail in Chinese too.",
    "required": ["type", "title", "status", "detail", "title_zh", "detail_zh"],
    "properties": {
        "type": {"type": "string", "description": "Stable problem type URI."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "title_zh": {"type": "string"},
        "detail_zh": {"type": "string"},
        "errors": {
            "type": "array",
            "maxItems": MAX_ERRORS,
            "items": {"$ref": "#/components/schemas/FieldError"},
        },
        "more": {"type": "integer", "description": "Field errors beyond those listed."},
        "limit": {"type": "integer", "description": "413: the route class's body limit."},
    },
}
_PROBLEM_TEXT = {
    "400": "Malformed request (请求格式有误)",
    "401": "Not authenticated (未登录或登录已失效)",
    "403": "Forbidden (无权操作)",
    "404": "Not found (未找到)",
    "409": "Conflict: a stale version or data already stored (冲突)",
    "413": "Request body over its route class's limit (请求内容过大)",
    "422": "Invalid input, by field (输入有误)",
    "503": "Database busy, nothing stored: retry (系统繁忙)",
}
_WRITES = {"post", "put", "patch", "delete"}


def _problems_of(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The problem statuses an operation can answer."""
    statuses = ["400", "413"]
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.append("422")
    if operation.get("security"):
        statuses += ["401", "403"]
    if "{" in path:
        statuses.append("404")
    if method in _WRITES:
        statuses += ["409", "503"]
    return statuses


def declare_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare in `schema` (an OpenAPI document) the problem+json answers of every operation."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["FieldError"] = _FIELD_ERROR_SCHEMA
    schemas["Problem"] = _PROBLEM_SCHEMA
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/open311/"):
            continue  # GeoReport v2 answers errors in the specification's own shape
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _problems_of(path, method, operation):
                responses.setdefault(status, {"description": _PROBLEM_TEXT[status]})
            for status, response in responses.items():
                if status[0] in "45" and (status == "422" or "content" not in response):
                    response["content"] = content
                    if response.get("description") == "Validation Error":
                        response["description"] = _PROBLEM_TEXT["422"]
    text = str(schema.get("paths"))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}'" not in text:
            schemas.pop(name, None)
    return schema


def _with_problems(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_handlers(app: FastAPI) -> None:
    """Make every error of `app` a problem+json response, declared in its OpenAPI document."""
    _with_problems(app)
    app.add_exception_handler(DatabaseBusy, _on_busy)
    app.add_exception_handler(OperationalError, _on_busy)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(OverflowError, _on_out_of_range)
    app.add_exception_handler(DataError, _on_out_of_range)
    app.add_exception_handler(IntegrityError, _on_integrity)
