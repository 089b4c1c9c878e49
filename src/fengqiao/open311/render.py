"""GeoReport v2 bodies in both formats: JSON arrays/objects and the spec's XML, from plain dicts.

Pure: the service builds rows (dicts of str, number, bool, None, lists and dicts, datetimes
already as text) and this module writes them. XML element names are the spec's: a list named
`attributes` holds `<attribute>` elements, and so on (`CHILD`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from xml.sax.saxutils import escape

import orjson

from fengqiao.clock import LOCAL_TZ

Format = Literal["json", "xml"]
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
MEDIA_TYPES: dict[str, str] = {"json": JSON_TYPE, "xml": XML_TYPE}

# The element name of one item of each list, as the spec writes them.
CHILD = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "service_requests_updates": "request_update",
    "timeline": "step",
}
# Characters XML 1.0 cannot carry at all (controls other than tab, newline, carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


# Asia/Shanghai has kept +08:00 all year since 1991; a fixed offset converts several times
# faster than the zone database (three times per request, a thousand requests per page).
_EIGHT_HOURS = timedelta(hours=8)
_LOCAL_OFFSET = timezone(_EIGHT_HOURS)


def iso(at: datetime | str | None) -> str | None:
    """ISO-8601 with the local offset, e.g. 2026-11-29T20:00:00+08:00 (the spec's W3C form);
    text is a UTC time as SQLite stores it (`2026-11-29 12:00:00.000000`)."""
    if at is None:
        return None
    if isinstance(at, str):
        naive = datetime.fromisoformat(at)
        if naive.year >= 1992 and naive.tzinfo is None:  # naive UTC: shift, no zone arithmetic
            return (naive + _EIGHT_HOURS).isoformat(timespec="seconds") + "+08:00"
        at = naive.replace(tzinfo=UTC) if naive.tzinfo is None else naive
    if at.year < 1992:  # before 1991's last summer time, ask the zone database
        return at.astimezone(LOCAL_TZ).isoformat(timespec="seconds")
    return at.astimezone(_LOCAL_OFFSET).isoformat(timespec="seconds")


def _text(value: str) -> str:
    if _SPECIAL.search(value) is None:  # the common case: nothing to escape or drop
        return value
    return escape(_NOT_XML.sub("", value))


def _element(name: str, value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(f"<{name}>{_text(value)}</{name}>" if value else f"<{name}></{name}>")
    elif value is None:
        out.append(f"<{name}/>")
    elif kind is bool:
        out.append(f"<{name}>{'true' if value else 'false'}</{name}>")
    elif kind is int or kind is float:
        out.append(f"<{name}>{value}</{name}>")
    elif isinstance(value, Mapping):
        out.append(f"<{name}>")
        for key, item in value.items():
            # Strings and nulls inline: a page holds 17,000 of them.
            if type(item) is str and _SPECIAL.search(item) is None:
                out.append(f"<{key}>{item}</{key}>")
            elif item is None:
                out.append(f"<{key}/>")
            else:
                _element(key, item, out)
        out.append(f"</{name}>")
    elif isinstance(value, list | tuple):
        child = CHILD.get(name, "item")
        out.append(f"<{name}>")
        for item in value:
            _element(child, item, out)
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{_text(str(value))}</{name}>")


def xml_document(root: str, value: Any) -> bytes:
    """`<?xml ...?><root>…</root>` for a dict (an object) or a list (its items as CHILD[root])."""
    out = ['<?xml version="1.0" encoding="utf-8"?>']
    _element(root, value, out)
    return "".join(out).encode("utf-8")


def body(fmt: Format, root: str, value: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    """The response body of `value` in `fmt`; `root` names the XML root element."""
    if fmt == "xml":
        return xml_document(root, value)
    return orjson.dumps(value)


def errors_body(fmt: Format, code: int, description: str) -> bytes:
    """The spec's error shape: `[{"code", "description"}]` or `<errors><error>…`."""
    return body(fmt, "errors", [{"code": code, "description": description}])
