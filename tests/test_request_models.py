"""Every request model is bounded and no bad input is a server error (issue 15).

- The walk: every model a route takes (bodies, forms and list query parameters, found from the
  routes themselves) and every model the code validates by hand (any pydantic model under
  `fengqiao` that no route returns), down through nested models: every string, bytes, list,
  set, tuple and dict must have a maximum length, and `Any` is refused. A model another engineer
  adds tomorrow is walked too.
- Explicit nulls: every PATCH model refuses `null` by name on a field that cannot be cleared;
  categories, SLA policies and routing rules used to answer a plain-text 500 (NOT NULL).
- Constraint violations from input are a 4xx problem, never a 500.
- The OpenAPI document declares the problem+json answers with a schema.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import AwareDatetime, BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings
from sqlalchemy import select
from sqlalchemy.orm import Session

import fengqiao
from fengqiao.app import create_app
from fengqiao.bounds import BodyBounded, PatchModel
from fengqiao.config import Settings
from fengqiao.org.models import Unit
from fengqiao.sla.models import SlaPolicy
from fengqiao.taxonomy.models import RoutingRule


def _app() -> FastAPI:
    return create_app(Settings(database_url="sqlite://", secret_key="k" * 32))


# --- the walk -----------------------------------------------------------------------------------

SCALARS = (bool, int, float, Decimal, date, datetime, time, timedelta, type(None), AwareDatetime)
# Fields only the body limit of their route class bounds (a whole file to import).
BODY_BOUNDED_USES: set[str] = set()
SEQUENCES = (list, set, frozenset, Sequence, tuple)
MAPPINGS = (dict, Mapping)


def _max_length(metadata: Sequence[Any]) -> int | None:
    for item in metadata:
        if isinstance(item, FieldInfo):
            inner = _max_length(item.metadata)
            if inner is not None:
                return inner
        value = getattr(item, "max_length", None)
        if value is not None:
            return int(value)
    return None


def _walk(
    annotation: Any, metadata: list[Any], where: str, str_max: int | None, seen: set[type]
) -> Iterator[str]:
    """Every unbounded part of `annotation`, as `where: why`."""
    if get_origin(annotation) is typing.Annotated:
        base, *extra = get_args(annotation)
        yield from _walk(base, [*metadata, *extra], where, str_max, seen)
        return
    if any(isinstance(item, BodyBounded) for item in metadata):
        BODY_BOUNDED_USES.add(where)
        return
    origin = get_origin(annotation) or annotation
    if origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _walk(arg, metadata, where, str_max, seen)
        return
    if origin is Literal or annotation in SCALARS:
        return
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return
    if annotation is Any or annotation is object:
        yield f"{where}: Any (unbounded)"
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from _walk_model(annotation, where, seen)
        return
    limit = _max_length(metadata)
    if annotation in (str, bytes):
        if limit is None and not (annotation is str and str_max):
            yield f"{where}: {annotation.__name__} without max_length"
        return
    args = get_args(annotation)
    if origin is tuple and args and args[-1] is not Ellipsis:
        for index, arg in enumerate(args):
            yield from _walk(arg, [], f"{where}[{index}]", str_max, seen)
        return
    if isinstance(origin, type) and issubclass(origin, SEQUENCES + MAPPINGS):
        if limit is None:
            yield f"{where}: {origin.__name__} without max_length"
        for arg in args:
            if arg is not Ellipsis:
                yield from _walk(arg, [], f"{where}[]", str_max, seen)
        return
    yield f"{where}: {annotation!r} is not a type the walk knows"


def _walk_field(
    field: FieldInfo, where: str, str_max: int | None, seen: set[type]
) -> Iterator[str]:
    yield from _walk(field.annotation, list(field.metadata), where, str_max, seen)


def _walk_model(model: type[BaseModel], where: str, seen: set[type]) -> Iterator[str]:
    if model in seen:
        return
    seen.add(model)
    str_max = model.model_config.get("str_max_length")
    for name, field in model.model_fields.items():
        yield from _walk_field(field, f"{model.__module__}.{model.__name__}.{name}", str_max, seen)


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    """Every API route, through included routers (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def _route_inputs(app: FastAPI) -> Iterator[tuple[str, Any, FieldInfo]]:
    for route in api_routes(app.routes):
        dependants = list(_dependants(route.dependant))
        for param in [p for d in dependants for p in d.body_params]:
            yield f"{route.path} body {param.name}", param.field_info.annotation, param.field_info
        for param in [p for d in dependants for p in d.query_params]:
            annotation = param.field_info.annotation
            text = repr(annotation)
            if any(kind in text for kind in ("list", "set", "tuple", "dict", "Sequence")):
                yield f"{route.path} query {param.name}", annotation, param.field_info


def _models_in(annotation: Any, found: set[type[BaseModel]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in found:
            return
        found.add(annotation)
        for field in annotation.model_fields.values():
            _models_in(field.annotation, found)
    for arg in get_args(annotation):
        _models_in(arg, found)


def _response_models(app: FastAPI) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for route in api_routes(app.routes):
        annotations = [route.response_model] + [
            r.get("model") for r in route.responses.values() if isinstance(r, dict)
        ]
        for annotation in annotations:
            _models_in(annotation, found)
    return found


def _all_models() -> set[type[BaseModel]]:
    for module in pkgutil.walk_packages(fengqiao.__path__, "fengqiao."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: set[type[BaseModel]] = set()
    stack: list[type[BaseModel]] = [BaseModel]
    while stack:
        subclasses: list[type[BaseModel]] = stack.pop().__subclasses__()
        for sub in subclasses:
            stack.append(sub)
            # Settings (and the parts it inherits, fengqiao.config_scale) are read from the
            # environment, never from a request.
            if sub.__module__.startswith("fengqiao.") and not issubclass(sub, BaseSettings):
                found.add(sub)
    return found


# Hand-validated models that are not request input: data files the code ships, read at start.
NOT_REQUEST_INPUT: set[str] = set()
OWNED_ELSEWHERE: set[str] = set()


def test_every_request_model_is_bounded() -> None:
    app = _app()
    seen: set[type] = set()
    unbounded: list[str] = []
    for where, annotation, field in _route_inputs(app):
        if where in OWNED_ELSEWHERE:
            continue
        unbounded += list(_walk_field(field, where, None, seen))
        del annotation
    responses = _response_models(app)
    # A model some response model extends is an output shape too (a base or a generic page).
    outputs = {m for m in _all_models() if any(issubclass(r, m) for r in responses)}
    by_hand = sorted(
        (m for m in _all_models() - outputs - seen if m.__name__ not in NOT_REQUEST_INPUT),
        key=lambda m: (m.__module__, m.__name__),
    )
    for model in by_hand:
        unbounded += list(_walk_model(model, model.__name__, seen))
    assert len(seen) > 30  # the walk reached the request models
    assert unbounded == []
    assert {"/org/import body collection"} == BODY_BOUNDED_USES  # the org tree import alone


def test_the_walk_catches_an_unbounded_model() -> None:
    class Loose(BaseModel):
        names: list[str]
        tags: dict[str, str]
        blob: Any

    found = list(_walk_model(Loose, "Loose", set()))
    assert len(found) == 6, found  # the list and its strings, the dict, its keys and values, Any


# --- explicit nulls -----------------------------------------------------------------------------


def _patch_models(app: FastAPI) -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for route in api_routes(app.routes):
        if "PATCH" in (route.methods or set()):
            for dependant in _dependants(route.dependant):
                for param in dependant.body_params:
                    annotation = param.field_info.annotation
                    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                        found[route.path] = annotation
    return found


def test_every_patch_model_refuses_an_explicit_null_by_name() -> None:
    models = _patch_models(_app())
    assert len(models) >= 8
    for path, model in models.items():
        assert issubclass(model, PatchModel), f"PATCH {path}: {model.__name__} is no PatchModel"
        for name in set(model.model_fields) - model.clearable:
            with pytest.raises(ValidationError) as caught:
                model.model_validate({name: None})
            errors = [e for e in caught.value.errors() if e["loc"] == (name,)]
            assert [e["type"] for e in errors] == ["null_not_allowed"], (path, name)


@pytest.fixture
def admin_api(client: TestClient, auth: Any) -> tuple[TestClient, dict[str, str]]:
    return client, auth("admin")


def _null_refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert [e["field"] for e in body["errors"]] == [field]
    assert body["errors"][0]["reason_zh"] == "不能为空值（不修改请省略此项）"


def test_null_on_a_category_is_a_422_naming_the_field(admin_api: Any, db: Session) -> None:
    api, admin = admin_api
    for field in ("name_zh", "name_en", "platform", "default_unit_type", "default_level",
                  "filing_condition", "closing_condition", "active"):  # fmt: skip
        _null_refused(
            api.patch("/api/v1/categories/0101", json={field: None}, headers=admin), field
        )
    cleared = api.patch("/api/v1/categories/0101", json={"national_code": None}, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["national_code"] is None


def test_null_on_an_sla_policy_is_a_422_naming_the_field(admin_api: Any, db: Session) -> None:
    api, admin = admin_api
    policy_id = db.scalars(select(SlaPolicy.id).order_by(SlaPolicy.id)).first()
    path = f"/api/v1/sla/policies/{policy_id}"
    for field in ("urgent", "limit_value", "limit_unit", "yellow_ratio"):
        _null_refused(api.patch(path, json={field: None}, headers=admin), field)
    cleared = api.patch(path, json={"remind_before_hours": None}, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["remind_before_hours"] is None


def test_null_on_a_routing_rule_is_a_422_naming_the_field(admin_api: Any, db: Session) -> None:
    api, admin = admin_api
    rule_id = db.scalars(select(RoutingRule.id).order_by(RoutingRule.id)).first()
    path = f"/api/v1/routing-rules/{rule_id}"
    for field in ("position", "note", "active"):
        _null_refused(api.patch(path, json={field: None}, headers=admin), field)
    created = api.post("/api/v1/routing-rules", json={"position": 5, "note": None}, headers=admin)
    _null_refused(created, "note")
    anything = api.patch(path, json={"category_code": None, "level": None}, headers=admin)
    assert anything.status_code == 200, anything.text


# --- constraints broken by input ----------------------------------------------------------------


def test_a_rule_naming_a_missing_unit_is_a_422_not_a_500(admin_api: Any, db: Session) -> None:
    api, admin = admin_api
    missing = (db.scalar(select(Unit.id).order_by(Unit.id.desc())) or 0) + 1000
    response = api.post("/api/v1/routing-rules", json={"position": 7, "unit_id": missing},
                        headers=admin)  # fmt: skip
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail_zh"]


# --- the OpenAPI document -----------------------------------------------------------------------


def test_the_openapi_document_declares_the_problem_answers() -> None:
    spec = _app().openapi()
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "title_zh", "detail_zh"} <= set(
        problem["required"]
    )
    ours = {p: o for p, o in spec["paths"].items() if not p.startswith("/open311/")}
    assert "HTTPValidationError" not in str(ours)  # FastAPI's own 422 shape is never answered
    checked = 0
    for path, operations in spec["paths"].items():
        if path.startswith("/open311/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"413"} | (
                {"422"} if operation.get("parameters") or operation.get("requestBody") else set()
            )
            if operation.get("security"):
                expected |= {"401", "403"}
            if "{" in path:
                expected.add("404")
            assert expected <= set(responses), (method, path, set(responses))
            for status in expected:
                media = responses[status]["content"]["application/problem+json"]
                assert media["schema"] == {"$ref": "#/components/schemas/Problem"}
            checked += 1
    assert checked > 100


def test_an_id_beyond_the_integer_keys_is_a_422_not_a_broken_export(admin_api: Any) -> None:
    """Found by the fuzz: the CSV export started streaming, then the database refused the id."""
    api, admin = admin_api
    for name in ("town", "village", "grid", "item"):
        for value in ("2872233172", "-4199022326123790"):  # beyond either end of the keys
            response = api.get(f"/api/v1/proxy-requests/export.csv?{name}={value}", headers=admin)
            assert response.status_code == 422, response.text[:300]
            assert response.json()["errors"][0]["field"] == name
