"""The eight-aspect standard as versioned data (issue 20, item 5): the shipped version is in
force; a checklist whose weights do not sum to 100 is refused naming `items` and nothing is
stored; a draft is changed and published, superseding the version before, and is immutable
from then on; only the district's administrators and leaders keep it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.standards.default import ITEMS
from fengqiao.standards.models import ASPECTS, StandardItem, StandardVersion

Auth = Any


def items(*weights: float) -> list[dict[str, Any]]:
    return [{"aspect": ASPECTS[n % 8], "text": f"条目{n + 1}", "weight": w, "evidence": "photo"}
            for n, w in enumerate(weights)]  # fmt: skip


def test_the_shipped_standard_is_in_force_with_eight_aspects_summing_to_100(
    api: TestClient, auth: Auth
) -> None:
    answer = api.get("/api/v1/standards/current", headers=auth("demo_operator"))
    assert answer.status_code == 200, answer.text
    current = answer.json()
    assert current["status"] == "published" and current["weight_total"] == 100
    assert [a["name"] for a in current["aspects"]] == [
        "工作制度", "信息平台", "指挥体系", "全科网格", "属地管理", "便民服务", "标识标牌", "工作台账",
    ]  # fmt: skip
    assert sum(len(a["items"]) for a in current["aspects"]) == len(ITEMS)
    assert {i["evidence"] for a in current["aspects"] for i in a["items"]} == {
        "photo", "document", "none",
    }  # fmt: skip


def test_a_checklist_whose_weights_do_not_sum_to_100_is_refused_and_nothing_stored(
    api: TestClient, auth: Auth, db: Session
) -> None:
    before = db.scalar(select(func.count()).select_from(StandardVersion))
    items_before = db.scalar(select(func.count()).select_from(StandardItem))
    refused = api.post("/api/v1/standards", json={"title": "试行稿", "items": items(60, 30)},
                       headers=auth("demo_district_leader"))  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert [e["field"] for e in problem["errors"]] == ["items"]
    assert "90" in problem["errors"][0]["reason_zh"] and "100" in problem["errors"][0]["reason_zh"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(StandardVersion)) == before
    assert db.scalar(select(func.count()).select_from(StandardItem)) == items_before


def test_a_draft_is_changed_then_published_and_supersedes_the_version_before(
    api: TestClient, auth: Auth
) -> None:
    boss = auth("demo_district_leader")
    old = api.get("/api/v1/standards/current", headers=boss).json()
    draft = api.post("/api/v1/standards", json={"title": "第二版"}, headers=boss)
    assert draft.status_code == 201, draft.text
    made = draft.json()
    assert made["status"] == "draft" and made["number"] == old["number"] + 1
    assert made["weight_total"] == 100  # a copy of the version in force
    bad = api.patch(f"/api/v1/standards/{made['id']}",
                    json={"items": items(50, 40), "version": made["version"]}, headers=boss)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "items"
    changed = api.patch(f"/api/v1/standards/{made['id']}",
                        json={"items": items(40, 35, 25), "version": made["version"]},
                        headers=boss)  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert [len(a["items"]) for a in changed.json()["aspects"]] == [1, 1, 1]
    stale = api.post(f"/api/v1/standards/{made['id']}/publish", json={"version": made["version"]},
                     headers=boss)  # fmt: skip
    assert stale.status_code == 409
    published = api.post(f"/api/v1/standards/{made['id']}/publish",
                         json={"version": changed.json()["version"]}, headers=boss)  # fmt: skip
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert [t["action"] for t in published.json()["trail"]] == ["create", "edit", "publish"]
    current = api.get("/api/v1/standards/current", headers=auth("demo_operator")).json()
    assert current["id"] == made["id"]
    assert api.get(f"/api/v1/standards/{old['id']}", headers=boss).json()["status"] == "superseded"
    frozen = api.patch(f"/api/v1/standards/{made['id']}",
                       json={"title": "改名", "version": published.json()["version"]}, headers=boss)  # fmt: skip
    assert frozen.status_code == 409 and frozen.json()["type"].endswith("standard-published")


def test_only_the_districts_administrators_and_leaders_keep_the_standard(
    api: TestClient, auth: Auth
) -> None:
    for user in ("demo_leader", "demo_operator", "demo_district_operator"):
        refused = api.post("/api/v1/standards", json={"title": "越权"}, headers=auth(user))
        assert refused.status_code == 403, (user, refused.text)
    assert api.post("/api/v1/standards", json={"title": "管理员起草"},
                    headers=auth("admin")).status_code == 201  # fmt: skip
    assert api.get("/api/v1/standards", headers=auth("demo_grid_worker")).status_code == 403
