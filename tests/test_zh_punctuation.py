"""No half-width punctuation reaches a user next to a Chinese character: every Chinese text in
src (Python string literals, templates, scripts outside vendor, JSON data) uses ，：；！？（）,
and the messages the code assembles at run time (a 422's detail_zh) do too."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi.testclient import TestClient

from fengqiao.open311.service import MEDIA_LINE, resident_description

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "fengqiao"

# Texts that must keep their half-width punctuation, by file and the line's text, each with why.
EXCEPTIONS = {
    # Events filed before the photo line became full-width end in this line: the resident's
    # text is still told apart from it when read back.
    ("open311/service.py", 'LEGACY_MEDIA_LINE = "附图:"'),
}

HALF_BY_ZH = re.compile(
    "[\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e][,:;!?()]|[,:;!?()][\u4e00-\u9fff\u3000-\u303f]"
)


def _tool() -> ModuleType:
    path = ROOT / "scripts" / "zh_punct.py"
    spec = importlib.util.spec_from_file_location("zh_punct", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["zh_punct"] = module
    spec.loader.exec_module(module)
    return module


zh_punct = _tool()


def test_no_user_facing_chinese_text_in_src_has_half_width_punctuation() -> None:
    found = [
        f"{item.path.relative_to(SRC)}:{item.line}: {item.before}  →  {item.after}"
        for item in zh_punct.findings([SRC])
        if (item.path.relative_to(SRC).as_posix(), item.before) not in EXCEPTIONS
    ]
    assert not found, "half-width punctuation in Chinese text:\n" + "\n".join(found)


def test_the_scan_reads_every_kind_of_file_a_user_sees() -> None:
    scanned = {path.suffix for path in zh_punct.files([SRC])}
    assert scanned == {".py", ".html", ".js", ".json"}
    assert not any("vendor" in path.parts for path in zh_punct.files([SRC]))


def test_chinese_text_is_converted_and_code_english_and_numbers_are_not() -> None:
    py = zh_punct.convert_python
    assert py('x = f"日期格式有误:{value},应为 2026-11-27"\n') == (
        'x = f"日期格式有误：{value}，应为 2026-11-27"\n'
    )
    # Format fields keep their code; the punctuation beside them follows the Chinese side.
    assert py("x = f\"缺少列:{'、'.join(m)}(列为:{', '.join(c)})\"\n") == (
        "x = f\"缺少列：{'、'.join(m)}（列为：{', '.join(c)}）\"\n"
    )
    # Times, numbers, URLs and English glosses stay as they are.
    assert py('x = "时间须带时区(如 +08:00 或 Z)"\n') == 'x = "时间须带时区（如 +08:00 或 Z）"\n'
    assert py('x = "共 1,000 件"\n') == 'x = "共 1,000 件"\n'
    assert (
        py('x = "应为 rtsp:// 或 http(s):// 地址"\n') == 'x = "应为 rtsp:// 或 http(s):// 地址"\n'
    )
    english = 'x = "Fengqiao (枫桥) grid governance platform."\n'
    assert py(english) == english
    # " / " separates a Chinese sentence from its English twin: only the Chinese half changes.
    assert py('x = "已有数据,未生成 / the database is not empty, stop"\n') == (
        'x = "已有数据，未生成 / the database is not empty, stop"\n'
    )
    # Docstrings and API documentation are for developers and stay English.
    doc = 'def f(q=Query(description="Only items (代办).")):\n    """A (代办): x."""\n'
    assert py(doc) == doc
    js = 'toast("新消息:" + n.title, `${a}(本辖区)`); const r = /a(b)/;\n'
    assert (
        zh_punct.convert_js(js)
        == 'toast("新消息：" + n.title, `${a}（本辖区）`); const r = /a(b)/;\n'
    )
    html = "<p>{{ n }} 件,共 {{ t }} 件</p><label>地址(选填)</label>"
    assert (
        zh_punct.convert_template(html)
        == "<p>{{ n }} 件，共 {{ t }} 件</p><label>地址（选填）</label>"
    )
    assert zh_punct.convert_json('{"name": "河道(河段)", "url": "a:b"}') == (
        '{"name": "河道（河段）", "url": "a:b"}'
    )


def test_a_refusal_naming_several_fields_reads_as_chinese(client: TestClient, auth: Any) -> None:
    admin = auth("admin")
    response = client.patch(
        "/api/v1/categories/0101", json={"name_zh": None, "platform": None}, headers=admin
    )
    assert response.status_code == 422, response.text
    detail_zh = response.json()["detail_zh"]
    assert "；" in detail_zh and "：" in detail_zh, detail_zh
    assert not HALF_BY_ZH.search(detail_zh), detail_zh


def test_a_photo_line_written_before_the_change_is_still_told_apart() -> None:
    url = "https://photos.example.cn/a/1.jpg"
    assert resident_description(f"路口积水\n{MEDIA_LINE}{url}", url) == "路口积水"
    assert resident_description(f"路口积水\n附图:{url}", url) == "路口积水"


def test_a_refusal_quoting_the_input_reads_as_chinese(client: TestClient, auth: Any) -> None:
    """A detail_zh assembled around the caller's values at run time (an f-string whose literal
    parts hold no Chinese, which the scan of the sources cannot judge) is full-width too."""
    worker = auth("demo_grid_worker")
    body = {"source": "grid_worker", "category": "0101", "lat": 10.0, "lng": 10.0}
    refused = client.post("/api/v1/events", json=body, headers=worker)
    assert refused.status_code == 422, refused.text
    detail_zh = refused.json()["detail_zh"]
    assert not HALF_BY_ZH.search(detail_zh), detail_zh
