"""The pure writer of GeoReport v2 bodies: the spec's element names, escaping, and times with
their offset."""

from __future__ import annotations

from datetime import UTC, datetime

from defusedxml import ElementTree

from fengqiao.clock import LOCAL_TZ
from fengqiao.open311.render import body, errors_body, iso


def test_lists_use_the_specs_element_names_and_text_is_escaped() -> None:
    rows = [{"service_code": "0701", "metadata": True, "description": "a < b & \x07c",
             "keywords": "", "values": [{"key": "k", "name": "名"}], "lat": 30.1, "zip": None}]  # fmt: skip
    root = ElementTree.fromstring(body("xml", "services", rows))
    (service,) = root.iterfind("service")
    assert service.findtext("metadata") == "true"
    assert service.findtext("description") == "a < b & c"  # XML cannot carry \x07 at all
    assert service.findtext("values/value/name") == "名"
    assert service.find("zip") is not None and service.findtext("lat") == "30.1"
    assert body("json", "services", rows).startswith(b'[{"service_code":"0701","metadata":true')


def test_errors_in_both_formats() -> None:
    assert errors_body("json", 403, "invalid api_key / api_key 无效") == (
        '[{"code":403,"description":"invalid api_key / api_key 无效"}]'.encode()
    )
    root = ElementTree.fromstring(errors_body("xml", 404, "x"))
    assert [(e.findtext("code"), e.findtext("description")) for e in root] == [("404", "x")]


def test_times_carry_the_local_offset() -> None:
    assert iso(datetime(2026, 11, 29, 2, 30, 15, 999, tzinfo=UTC)) == "2026-11-29T10:30:15+08:00"
    assert iso(datetime(2026, 7, 1, 0, 0, tzinfo=LOCAL_TZ)) == "2026-07-01T00:00:00+08:00"
    assert iso(datetime(1990, 7, 1, 12, 0, tzinfo=UTC)) == "1990-07-01T21:00:00+09:00"  # DST then
    assert iso(None) is None
    # SQLite's stored text (UTC), read without SQLAlchemy's DateTime
    assert iso("2026-11-29 18:30:15.999999") == "2026-11-30T02:30:15+08:00"
    assert iso("2026-11-29 02:30:00") == "2026-11-29T10:30:00+08:00"
