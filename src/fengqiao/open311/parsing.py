"""Open311 requests read and checked before anything is looked up: the refusal in the spec's
shape (`Open311Error`, made from the event center's `Problem` in one place, `from_problem`), the
POST requests form field by field, and the filters of GET requests. No database here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import Problem
from fengqiao.taxonomy.snapshot import Rules

# servicerequestupdates: the window (FixMyStreet asks for the last hours), its cap, the page.
UPDATES_DEFAULT_SPAN = timedelta(days=1)
UPDATES_MAX_SPAN = timedelta(days=7)
UPDATES_MAX_PAGE = 5000
# The spec's defaults and caps for GET requests.
DEFAULT_SPAN = timedelta(days=90)
MAX_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
MAX_IDS = 1000

# What a reason of refusal means, for the operator's table (English / Chinese).
REFUSAL_REASONS: dict[str, str] = {
    "invalid_api_key": "wrong, revoked or missing api_key / api_key 无效、已吊销或缺失",
    "forbidden": "the key's account may not file Open311 requests / 该密钥的账号无权提交",
    "unknown_service_code": "unknown or retired service_code / service_code 不存在或已停用",
    "missing_location": "no lat/long / 缺少经纬度",
    "bad_location": "lat/long not numbers or out of range / 经纬度无效",
    "outside_district": "the point lies outside the district / 位置不在辖区内",
    "invalid_attribute": "an attribute answer is missing or malformed / 附加问题回答有误",
    "bad_date": "start_date or end_date is not ISO-8601 / 日期格式有误",
    "bad_date_range": "dates reversed or spanning more than 90 days / 日期范围有误",
    "bad_status": "status is neither open nor closed / status 取值有误",
    "page_beyond_end": "a page after the last one / 页码超出范围",
    "bad_paging": "page or page_size not a positive number / 分页参数有误",
    "not_found": "unknown service_request_id, token, service or path / 未找到",
    "bad_request": "another malformed field / 其他字段有误",
    "unplaced_address": "an address_string or address_id that cannot be placed / 地址无法定位",
    "bad_jurisdiction": "a jurisdiction_id other than the district's / jurisdiction_id 不符",
    "bad_media": "an uploaded file that is not an accepted photo / 上传文件不是可接受的照片",
    "repeated_parameter": "a query parameter given more than once / 查询参数重复",
    "too_large": "a request body over the size limit / 请求体超出大小上限",
    "rate_limited": "too many requests from one address / 同一地址请求过于频繁",
}


@dataclass
class Open311Error(Exception):
    """A refusal in the spec's shape; `reason` is the key it is counted under."""

    code: int
    reason: str
    description: str

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.description}"


def refuse(code: int, reason: str, en: str, zh: str) -> Open311Error:
    """A refusal whose description carries the English and the Chinese sentence."""
    return Open311Error(code, reason, f"{en} / {zh}")


def from_problem(problem: Problem) -> Open311Error:
    """The spec's error for the event center's refusal: 403 for authorisation, 404 for a
    missing thing, 400 for everything the caller sent wrong (422 and 409 included)."""
    fields = [e.field for e in problem.errors]
    if problem.slug in PHOTO_SLUGS:  # a photo refused by events.photos: the spec's 400
        code, reason = 400, "bad_media"
    elif problem.status in (401, 403):
        code, reason = 403, "forbidden"
    elif problem.status == 404:
        code, reason = 404, "not_found"
    elif problem.status in (413, 429):  # refused at the door: its own status and words
        code, reason = problem.status, problem.slug.replace("-", "_")
    elif problem.status >= 500:
        code, reason = problem.status, ""
    else:
        code = 400
        if any(f.startswith("answers.") for f in fields):
            reason = "invalid_attribute"
        elif problem.slug == "outside-district":
            reason = "outside_district"
        elif "category" in fields:
            reason = "unknown_service_code"
        elif {"lat", "lng", "crs"} & set(fields):
            reason = "bad_location"
        else:
            reason = "bad_request"
    if problem.errors:
        en = "; ".join(f"{_spec_field(e.field)}: {e.reason}" for e in problem.errors)
        zh = "；".join(f"{_spec_field(e.field)}：{e.reason_zh}" for e in problem.errors)
        if problem.slug != "invalid-input":  # e.g. "Point outside the district: …"
            en, zh = f"{problem.title}: {en}", f"{problem.title_zh}：{zh}"
    else:
        en, zh = problem.detail or problem.title, problem.detail_zh or problem.title_zh
    return Open311Error(code, reason, f"{en} / {zh}")


# The refusals of events.photos (inspect_photo) for an uploaded file.
PHOTO_SLUGS = frozenset(
    {"photo-too-large", "unsupported-media-type", "photo-too-many-pixels", "invalid-image"}
)


def _spec_field(name: str) -> str:
    """Our field names as the Open311 client sent them."""
    if name.startswith("answers."):
        return f"attribute[{name.removeprefix('answers.')}]"
    return {
        "category": "service_code",
        "lng": "long",
        "lat,lng": "lat/long",
        "address": "address_string",
        "contact_phone": "phone",
    }.get(name, name)


# --- posting ----------------------------------------------------------------------------------

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Form fields the spec defines for POST requests (anything else is kept in `extra`, not read).
POST_FIELDS = frozenset(
    {
        "api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string",
        "address_id", "email", "device_id", "account_id", "first_name", "last_name", "phone",
        "description", "media_url", "media_url[]",
    }
)  # fmt: skip
_LIMITS = {
    "email": 200, "first_name": 100, "last_name": 100, "phone": 32, "device_id": 200,
    "account_id": 200, "address_id": 200, "address_string": 200, "media_url": 2000,
    "jurisdiction_id": 64, "description": 4000, "service_code": 16, "api_key": 200,
}  # fmt: skip
# Bounds of what is kept without being read: unknown fields and answers to unknown questions.
MAX_EXTRA = 50
EXTRA_VALUE_MAX = 2000
EXTRA_NAME_MAX = 100
MAX_MEDIA_URLS = 9
MAX_ATTRIBUTE_VALUES = 100


@dataclass
class Submission:
    """A POST requests form, read and checked field by field. `lat`/`lng` are None when the
    client sent only `address_string` or `address_id` (geocode.py places it)."""

    api_key: str
    service_code: str
    lat: float | None
    lng: float | None
    fields: dict[str, str]
    attributes: dict[str, list[str]] = field(default_factory=dict)
    # Unknown fields as sent (name → values): kept in the request record, never read.
    extra: dict[str, list[str]] = field(default_factory=dict)
    media_urls: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.fields.get(name) or None

    @property
    def media_url(self) -> str | None:
        return self.media_urls[0] if self.media_urls else None


def _keep(store: dict[str, list[str]], name: str, value: str) -> None:
    """Keep an unread value, bounded (a client cannot make us store megabytes of noise)."""
    if len(name) > EXTRA_NAME_MAX or len(value) > EXTRA_VALUE_MAX:
        raise refuse(
            400, "bad_request",
            f"{name[:EXTRA_NAME_MAX]}: unknown fields take at most {EXTRA_VALUE_MAX} characters "
            f"(names {EXTRA_NAME_MAX})",
            f"{name[:EXTRA_NAME_MAX]}：未知字段最多 {EXTRA_VALUE_MAX} 个字符（字段名 {EXTRA_NAME_MAX}）",
        )  # fmt: skip
    if name not in store and len(store) >= MAX_EXTRA:
        raise refuse(
            400, "bad_request", f"at most {MAX_EXTRA} unknown fields",
            f"未知字段最多 {MAX_EXTRA} 个",
        )  # fmt: skip
    values = store.setdefault(name, [])
    if len(values) >= MAX_ATTRIBUTE_VALUES:
        raise refuse(
            400, "bad_request", f"{name}: at most {MAX_ATTRIBUTE_VALUES} values",
            f"{name}：最多 {MAX_ATTRIBUTE_VALUES} 个值",
        )  # fmt: skip
    values.append(value)


def read_submission(items: Sequence[tuple[str, str]]) -> Submission:
    """The submission of a form's (name, value) pairs (its api_key checked before); the first
    thing wrong is refused with a 400 before anything is looked up."""
    fields: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    extra: dict[str, list[str]] = {}
    media_urls: list[str] = []
    for name, raw in items:
        if _CONTROL.search(raw):
            raise refuse(
                400, "bad_request", f"{name}: control characters are not allowed",
                f"{name}：不能包含控制字符",
            )  # fmt: skip
        value = raw.strip()
        attribute = _ATTRIBUTE.match(name)
        if attribute:
            _keep(attributes, attribute.group(1), value)
            continue
        if name not in POST_FIELDS:
            _keep(extra, name, value)
            continue
        if name in ("media_url", "media_url[]"):
            media_urls.append(_media_url(value, len(media_urls)))
            continue
        if name in fields:
            raise refuse(
                400, "bad_request", f"{name} is given more than once; send it once",
                f"字段 {name} 重复，只能提交一次",
            )  # fmt: skip
        limit = _LIMITS.get(name)
        if limit is not None and len(value) > limit:
            raise refuse(
                400, "bad_request", f"{name}: at most {limit} characters",
                f"{name}：最多 {limit} 个字符",
            )  # fmt: skip
        fields[name] = value
    api_key = fields.get("api_key", "")
    service_code = fields.get("service_code", "")
    if not service_code:
        raise refuse(400, "unknown_service_code", "service_code is required", "缺少 service_code")
    lat, lng = fields.get("lat", ""), fields.get("long", "")
    lat_value: float | None = None
    lng_value: float | None = None
    if lat or lng:
        try:
            lat_value, lng_value = float(lat), float(lng)
        except ValueError:
            raise refuse(
                400, "bad_location", "lat and long must both be decimal degrees (WGS-84)",
                "lat、long 须同时提供，且为十进制度数（WGS-84）",
            ) from None  # fmt: skip
    elif not fields.get("address_string") and not fields.get("address_id"):
        raise refuse(
            400, "missing_location",
            "a location is required: lat and long, or an address_string or address_id",
            "必须提供位置：经纬度 lat 和 long，或地址 address_string / address_id",
        )  # fmt: skip
    return Submission(
        api_key, service_code, lat_value, lng_value, fields, attributes, extra, media_urls
    )


def _media_url(value: str, count: int) -> str:
    if count >= MAX_MEDIA_URLS:
        raise refuse(
            400, "bad_request", f"at most {MAX_MEDIA_URLS} media_url",
            f"media_url 最多 {MAX_MEDIA_URLS} 个",
        )  # fmt: skip
    if len(value) > _LIMITS["media_url"] or not re.match(r"^https?://[^\s/]+", value):
        raise refuse(
            400, "bad_request",
            f"media_url must be an http(s) URL of at most {_LIMITS['media_url']} characters",
            f"media_url 须为 http(s) 网址，最多 {_LIMITS['media_url']} 个字符",
        )  # fmt: skip
    return value


def answers_of(
    submission: Submission, rules: Rules
) -> tuple[dict[str, str | list[str]], dict[str, list[str]]]:
    """`attribute[CODE]` values as the event's answers (a list for a multivaluelist question
    or when repeated, the single value otherwise), and the answers to questions the class does
    not ask (FixMyStreet sends its own: title, report_url, …), kept apart, not refused."""
    intake = rules.intakes.get(submission.service_code)
    asked = {q.code: q.datatype for q in intake.questions} if intake else {}
    answers: dict[str, str | list[str]] = {}
    unasked: dict[str, list[str]] = {}
    for code, values in submission.attributes.items():
        if code not in asked:
            unasked[code] = values
        elif asked[code] == "multivaluelist" or len(values) > 1:
            answers[code] = values
        else:
            answers[code] = values[0]
    return answers, unasked


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    """The filters of GET requests, checked; `ids` overrides the rest (as the spec says)."""

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = MAX_RESULTS


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for p in (value or "").split(",") if p.strip()))


def parse_datetime(name: str, value: str) -> datetime:
    """An ISO-8601 date-time (a bare date is local midnight; no offset means +08:00)."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), LOCAL_TZ)
        if "T" in text and " " in text:  # an unencoded "+08:00" arrives as " 08:00"
            head, _, tail = text.rpartition(" ")
            text = f"{head}+{tail}"
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise refuse(
            400, "bad_date",
            f"{name} must be an ISO-8601 date-time, e.g. 2026-11-01T00:00:00+08:00",
            f"{name} 须为 ISO-8601 日期时间，如 2026-11-01T00:00:00+08:00",
        ) from None  # fmt: skip
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    if not 2000 <= moment.year <= 2100:
        raise refuse(
            400, "bad_date", f"{name} must lie between 2000 and 2100",
            f"{name} 须在 2000 年至 2100 年之间",
        )  # fmt: skip
    return moment


def _positive(name: str, value: str | None, default: int, most: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= most:
        raise refuse(
            400, "bad_paging", f"{name} must be a whole number from 1 to {most}",
            f"{name} 须为 1 到 {most} 之间的整数",
        )  # fmt: skip
    return number


def parse_query(
    *,
    service_request_id: str | None,
    service_code: str | None,
    status: str | None,
    start_date: str | None,
    end_date: str | None,
    page: str | None,
    page_size: str | None,
    now: datetime,
) -> RequestQuery:
    """The checked filters of GET requests, with the spec's defaults: without dates the last
    90 days; a range may span at most 90 days; at most 1,000 results (per page)."""
    ids = _split(service_request_id)
    if len(ids) > MAX_IDS:
        raise refuse(
            400, "bad_request", f"at most {MAX_IDS} service_request_id at once",
            f"一次最多查询 {MAX_IDS} 个编号",
        )  # fmt: skip
    statuses = _split(status)
    if any(s not in ("open", "closed") for s in statuses):
        raise refuse(
            400, "bad_status", "status must be open or closed (comma-separated)",
            "status 须为 open 或 closed（可用逗号分隔）",
        )  # fmt: skip
    start = parse_datetime("start_date", start_date) if start_date else None
    end = parse_datetime("end_date", end_date) if end_date else None
    if end is None:
        end = start + DEFAULT_SPAN if start is not None else now
    if start is None:
        start = end - DEFAULT_SPAN
    if start > end:
        raise refuse(
            400, "bad_date_range", "start_date is after end_date", "start_date 晚于 end_date"
        )
    if end - start > MAX_SPAN:
        raise refuse(
            400, "bad_date_range", "start_date and end_date may span at most 90 days",
            "start_date 与 end_date 相隔不能超过 90 天",
        )  # fmt: skip
    return RequestQuery(
        ids=ids,
        service_codes=_split(service_code),
        statuses=statuses,
        start=start,
        end=end,
        page=_positive("page", page, 1, 1_000_000),
        page_size=_positive("page_size", page_size, MAX_RESULTS, MAX_RESULTS),
    )


def refuse_repeated(params: Sequence[tuple[str, str]]) -> None:
    """Every query parameter may be given once: a repeated one is refused by name, never
    silently picked or joined (lists are comma-separated in one value, as the spec says)."""
    seen: set[str] = set()
    for name, _value in params:
        if name in seen:
            raise refuse(
                400, "repeated_parameter",
                f"the query parameter {name[:40]} is given more than once; give it once "
                "(several values comma-separated in one)",
                f"查询参数 {name[:40]} 重复；只能提交一次（多个取值用逗号分隔）",
            )  # fmt: skip
        seen.add(name)


@dataclass(frozen=True)
class UpdateQuery:
    start: datetime
    end: datetime
    page: int
    page_size: int


def parse_update_query(
    *,
    start_date: str | None,
    end_date: str | None,
    page: str | None,
    page_size: str | None,
    now: datetime,
) -> UpdateQuery:
    """The window of servicerequestupdates: without dates the last day; at most 7 days."""
    start = parse_datetime("start_date", start_date) if start_date else None
    end = parse_datetime("end_date", end_date) if end_date else None
    if end is None:
        end = start + UPDATES_DEFAULT_SPAN if start is not None else now
    if start is None:
        start = end - UPDATES_DEFAULT_SPAN
    if start > end:
        raise refuse(
            400, "bad_date_range", "start_date is after end_date", "start_date 晚于 end_date"
        )
    if end - start > UPDATES_MAX_SPAN:
        raise refuse(
            400, "bad_date_range", "start_date and end_date may span at most 7 days",
            "start_date 与 end_date 相隔不能超过 7 天",
        )  # fmt: skip
    return UpdateQuery(
        start=start,
        end=end,
        page=_positive("page", page, 1, 1_000_000),
        page_size=_positive("page_size", page_size, UPDATES_MAX_PAGE, UPDATES_MAX_PAGE),
    )
