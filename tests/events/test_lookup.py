"""A report looked up by its code without login (the TV set-top box, /tv): the class, the public
status and the public steps only; a partial or malformed code refused, an unknown code and a
report of a hidden (security) class the same 404, the input bounded, the door rate-limited."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from fengqiao.events.lookup import normalise_code
from tests.auth.helpers import app_client
from tests.auth.test_auth_api import assert_problem
from tests.conftest import BoundDatabase, Seeded
from tests.events.conftest import Desk

LOOKUP = "/api/v1/public/report-lookup/"
# What never leaves through the door: personal data, staff's words, the trail's integrity data.
PRIVATE_KEYS = {"description", "address", "lat", "lng", "reporter", "reporter_id", "note",
                "hash", "prev_hash", "actor", "actor_id", "contact_phone", "result", "payload",
                "attachments", "due_at", "title"}  # fmt: skip


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_a_code_shows_the_public_status_and_steps_only(api: TestClient, desk: Desk) -> None:
    event = desk.file(description="楼下张三家门口占道经营", address="柯桥街道笛扬路 18 号")
    handled = desk.to_handled(event)
    code = handled["code"]
    digits = code.replace("-", "")
    assert len(digits) == 15

    people = [api.get("/api/v1/users/me", headers=desk.auth(user)).json()["name"]
              for user in ("demo_grid_worker", "demo_handler", "demo_operator")]  # fmt: skip
    for asked in (digits, code):  # the remote types digits; a printed code has dashes
        response = api.get(LOOKUP + asked)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["code"] == code
        assert body["status"] == "in_progress" and body["status_zh"] == "处理中"
        assert body["closed"] is False
        assert body["category"] == handled["category_name"]
        words = [step["words"] for step in body["steps"]]
        unit = desk.get(handled)["owner_unit"]["name"]
        assert words == ["已提交", "已受理", f"交办至{unit}", "处置完成，待核查"]
        assert [s["key"] for s in body["steps"]] == [
            "submitted",
            "accepted",
            "dispatched",
            "handled",
        ]
        assert all(s["at_text"][:4] == "2026" for s in body["steps"])  # local time, to the minute
        assert _keys(body) & PRIVATE_KEYS == set()
        for secret in ("张三", "笛扬路", "已清理占道摊位", *people):
            assert secret not in response.text, secret


def test_a_rejection_reads_as_closed_without_its_reason(api: TestClient, desk: Desk) -> None:
    event = desk.file()
    desk.act(event, "demo_operator", "reject", note="经核实为李四家的私人纠纷")
    body = api.get(LOOKUP + event["code"]).json()
    assert body["status"] == "closed_unfixed" and body["status_zh"] == "不予受理"
    assert body["closed"] is True
    assert [s["words"] for s in body["steps"]] == ["已提交", "不予受理"]
    assert "李四" not in str(body)  # the reason is for the reporter, signed in


def test_a_partial_or_malformed_code_is_refused(api: TestClient, desk: Desk) -> None:
    code = desk.file()["code"].replace("-", "")
    for bad in (code[:-1], code[:3], "00120261201000A", code + "-", "1" * 19, "001 20261201 0001"):
        problem = assert_problem(api.get(LOOKUP + bad), 422, "invalid-input")
        assert problem["errors"][0]["field"] == "code"
        assert "完整的上报编号" in problem["detail_zh"]
    # Bounded before anything reads it: a long path parameter is refused by its length.
    long = assert_problem(api.get(LOOKUP + "1" * 33), 422, "invalid-input")
    assert long["errors"][0]["field"] == "code"
    assert api.get(LOOKUP + "1" * 5000).status_code in (414, 422)


def test_an_unknown_code_and_a_hidden_class_answer_the_same(api: TestClient, desk: Desk) -> None:
    filed = desk.file()
    day = filed["code"].split("-")[1]
    unknown = api.get(f"{LOOKUP}999{day}9999")
    assert_problem(unknown, 404, "not-found")
    # 0203 黄赌毒线索 is of a security class (FENGQIAO_OPEN311_HIDDEN_MAJORS): as if it did not exist.
    hidden = desk.file(category="0203")
    refused = api.get(LOOKUP + hidden["code"])
    assert_problem(refused, 404, "not-found")
    assert refused.json()["detail_zh"] == unknown.json()["detail_zh"]
    assert refused.json()["title"] == unknown.json()["title"]
    assert api.get(LOOKUP + filed["code"]).status_code == 200


def test_normalised_codes() -> None:
    assert normalise_code("001202612050007") == "001-20261205-0007"
    assert normalise_code(" 001-20261205-0007 ") == "001-20261205-0007"
    assert normalise_code("0012026120512345") == "001-20261205-12345"
    assert normalise_code("00120261205000") is None
    assert normalise_code("００１２０２６１２０５０００７") is None  # full-width digits
    assert normalise_code("") is None


def test_lookups_have_their_own_tighter_budget(bound: BoundDatabase, seeded: Seeded) -> None:
    def refused() -> float:
        sample = REGISTRY.get_sample_value("fengqiao_rate_limit_refusals_total", {"rule": "lookup"})
        return sample or 0.0

    before = refused()
    with app_client(
        bound, seeded, rate_limit_lookup="3/minute", rate_limit_public="100/minute"
    ) as client:
        codes = [client.get(f"{LOOKUP}00120261201{n:04d}").status_code for n in range(3)]
        assert codes == [404, 404, 404]
        limited = assert_problem(client.get(LOOKUP + "001202612010001"), 429, "rate-limited")
        assert limited["title_zh"] == "请求过于频繁"
        # The catalogue the box also reads is on the ordinary public budget.
        assert client.get("/api/v1/public/services/categories").status_code == 200
        assert client.get("/tv").status_code == 200
    assert refused() == before + 1
