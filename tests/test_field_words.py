"""A refusal names the fields a user got wrong in Chinese: every request field (bodies, query
parameters, the fields domain code names in its refusals) has its word in errors.FIELD_ZH, each
field error carries it (`field_zh`), and `detail_zh`, which the pages show on a form, uses it
instead of the field's code ("分类：…", never "category：…")."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.errors import FIELD_ZH, field_zh
from tests.conftest import make_settings
from tests.events.conftest import make_world

SRC = Path(__file__).resolve().parents[1] / "src" / "fengqiao"
LATIN = re.compile(r"[A-Za-z]")
# Functions whose first argument names the field a refusal is about.
REFUSALS = {"invalid", "FieldError", "_invalid"}


def _request_fields(schema: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, name) of every property of every request body, nested models included, and of
    every parameter, in the app's OpenAPI document."""
    components = schema["components"]["schemas"]
    bodies: list[str] = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                yield f"{method.upper()} {path}", parameter["name"]
            for content in operation.get("requestBody", {}).get("content", {}).values():
                bodies += re.findall(r"#/components/schemas/([\w.-]+)", str(content))
    seen: set[str] = set()
    while bodies:
        name = bodies.pop()
        if name in seen:
            continue
        seen.add(name)
        for prop in components[name].get("properties", {}):
            yield name, prop
        bodies += re.findall(r"#/components/schemas/([\w.-]+)", str(components[name]))


def _named_in_refusals() -> Iterator[tuple[str, str]]:
    """(file:line, name) of each field a refusal names by a literal."""
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            if called in REFUSALS and isinstance(first, ast.Constant):
                for name in str(first.value).split(","):
                    yield f"{path.relative_to(SRC)}:{node.lineno}", name


def _last_name(field: str) -> str:
    """`modules[0].checklist[1].category` → category: the part a refusal is named by."""
    return [part for part in re.findall(r"[^.\[\]]+", field) if not part.isdigit()][-1]


def test_every_request_field_has_a_chinese_name(tmp_path: Path) -> None:
    schema = create_app(make_settings("sqlite://", tmp_path)).openapi()
    found = [*_request_fields(schema), *_named_in_refusals()]
    assert len(found) > 150  # the document and the sources were read
    missing = sorted(
        {f"{name} ({where})" for where, name in found if _last_name(name) not in FIELD_ZH}
    )
    assert not missing, "add the field's Chinese name to FIELD_ZH in errors.py:\n" + "\n".join(
        missing
    )
    assert all(not LATIN.search(word) for word in FIELD_ZH.values())


def test_nested_and_unknown_fields_read_as_chinese() -> None:
    assert field_zh("category") == "分类"
    assert field_zh("positions[2].lat") == "纬度（第 3 项）"
    assert field_zh("items.3.note") == "说明（第 4 项）"
    assert field_zh("answers.flood_depth") == "补充信息"
    assert field_zh("lat,lng") == "纬度、经度"
    assert field_zh("a_field_nobody_named") == "此项"


def test_a_refused_report_names_its_fields_in_chinese(
    client: TestClient, auth: Callable[[str], dict[str, str]], db: Session
) -> None:
    worker = auth("demo_grid_worker")
    lat, lng = make_world(db).grid_point
    body: dict[str, Any] = {"source": "grid_worker", "category": "9999", "lat": "北纬", "lng": lng}
    refused = client.post("/api/v1/events", json=body, headers=worker)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["errors"][0]["field"] == "lat"
    assert problem["errors"][0]["field_zh"] == "纬度"
    assert problem["detail_zh"].startswith("纬度：应为数字"), problem["detail_zh"]
    assert not LATIN.search(problem["detail_zh"]), problem["detail_zh"]

    body["lat"] = lat
    unknown = client.post("/api/v1/events", json=body, headers=worker).json()
    # The leak of issue 17: a form showed "category：事件分类 9999 不存在或已停用".
    assert unknown["detail_zh"].startswith("分类："), unknown["detail_zh"]
    assert "category" not in unknown["detail_zh"]


def test_a_refusal_of_several_fields_names_each_in_chinese(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    admin = auth("admin")
    response = client.patch(
        "/api/v1/categories/0101", json={"name_zh": None, "platform": None}, headers=admin
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert {e["field_zh"] for e in problem["errors"]} == {"中文名称", "平台"}
    assert "中文名称：" in problem["detail_zh"] and "平台：" in problem["detail_zh"]
    assert not re.search(r"name_zh|platform", problem["detail_zh"])
